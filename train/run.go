package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/llmos/llmos/data"
	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
)

// Shapes are the model shapes --shape names: llama2.c's TinyStories models.
// The vocabulary comes from the dataset.
var Shapes = map[string]Config{
	"stories260K": {Dim: 64, Layers: 5, Heads: 8, KVHeads: 4, HeadDim: 8, Hidden: 172, SeqLen: 512, NormEps: 1e-5, RopeBase: 10000},
	"stories15M":  {Dim: 288, Layers: 6, Heads: 6, KVHeads: 6, HeadDim: 48, Hidden: 768, SeqLen: 256, NormEps: 1e-5, RopeBase: 10000},
	"stories110M": {Dim: 768, Layers: 12, Heads: 12, KVHeads: 12, HeadDim: 64, Hidden: 2048, SeqLen: 1024, NormEps: 1e-5, RopeBase: 10000},
}

// RunConfig describes a pretraining run. A checkpoint stores it, so a
// resumed run repeats it exactly; only Threads and OnStep are the caller's.
type RunConfig struct {
	Model string `json:"model,omitempty"` // initial weights (llama GGUF, any tensor type); or
	Shape string `json:"shape,omitempty"` // a name in Shapes, initialised from Seed
	Data  string `json:"data"`            // data directory (meta.json and shards)
	Dir   string `json:"dir"`             // run directory: log, plots, checkpoint, model

	Batch     int   `json:"batch"`      // sequences per micro-batch
	SeqLen    int   `json:"seq_len"`    // tokens per sequence; 0 means the model's context length
	GradAccum int   `json:"grad_accum"` // micro-batches per optimizer step
	Steps     int   `json:"steps"`      // optimizer steps; 0 means enough for Tokens
	Tokens    int64 `json:"tokens"`     // training tokens, when Steps is 0

	LR          float64 `json:"lr"`     // peak learning rate
	MinLR       float64 `json:"min_lr"` // learning rate at the end of the cosine decay
	Warmup      int     `json:"warmup"` // linear warmup steps
	WeightDecay float64 `json:"weight_decay"`
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Eps         float64 `json:"eps"`
	Clip        float64 `json:"clip"` // global gradient-norm limit; 0 disables clipping

	EvalEvery   int    `json:"eval_every"`   // steps between validation losses (and at the end)
	EvalBatches int    `json:"eval_batches"` // validation micro-batches per evaluation
	CkptEvery   int    `json:"ckpt_every"`   // steps between checkpoints (and at the end)
	Seed        uint64 `json:"seed"`         // initial weights (with Shape) and the train loader's shard order

	// Fine-tuning (finetune.go): with an Objective, Data is a file of
	// conversations (sft) or preference pairs (reward, dpo) and Model the
	// model to start from.
	Objective   string  `json:"objective,omitempty"`    // "" (pretraining on token shards), "sft", "reward" or "dpo"
	ValFraction float64 `json:"val_fraction,omitempty"` // share of the examples held out for validation
	Beta        float64 `json:"beta,omitempty"`         // DPO's β

	Threads int          `json:"-"` // compute goroutines; 0 means GOMAXPROCS
	OnStep  func(Record) `json:"-"` // if set, called after each step (log, evaluation, checkpoint written) with its record
}

// DefaultRunConfig returns llama2.c-like hyperparameters for a small model.
func DefaultRunConfig() RunConfig {
	return RunConfig{
		Batch: 8, GradAccum: 1, LR: 1e-3, MinLR: 1e-4, Warmup: 100, WeightDecay: 0.1,
		Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, Clip: 1, EvalEvery: 100, EvalBatches: 20, CkptEvery: 500, Seed: 1,
	}
}

func (c RunConfig) validate() error {
	switch {
	case (c.Model == "") == (c.Shape == ""):
		return errors.New("train: give exactly one of an initial model and a shape")
	case c.Data == "" || c.Dir == "":
		return errors.New("train: a data directory and a run directory are required")
	case c.Batch <= 0 || c.GradAccum <= 0 || c.SeqLen < 0:
		return fmt.Errorf("train: batch %d, grad accum %d and seq len %d must be positive", c.Batch, c.GradAccum, c.SeqLen)
	case c.Steps < 0 || c.Tokens < 0 || (c.Steps == 0 && c.Tokens == 0):
		return errors.New("train: give a positive number of steps or tokens")
	case !(c.LR > 0) || c.MinLR < 0 || c.MinLR > c.LR || c.Warmup < 0:
		return fmt.Errorf("train: learning rates %g → %g with %d warmup steps: need 0 ≤ min ≤ peak, peak > 0", c.LR, c.MinLR, c.Warmup)
	case c.WeightDecay < 0 || c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 || !(c.Eps > 0) || c.Clip < 0:
		return fmt.Errorf("train: optimizer settings wd %g, betas %g/%g, eps %g, clip %g are out of range", c.WeightDecay, c.Beta1, c.Beta2, c.Eps, c.Clip)
	case c.EvalEvery < 0 || c.EvalBatches < 0 || c.CkptEvery < 0:
		return errors.New("train: eval and checkpoint intervals must not be negative")
	}
	if _, ok := Shapes[c.Shape]; c.Shape != "" && !ok {
		return fmt.Errorf("train: unknown shape %q (known: stories260K, stories15M, stories110M)", c.Shape)
	}
	if c.Objective != "" {
		return c.validateFinetune()
	}
	return nil
}

// Record is one line of RUNDIR/log.jsonl: a training step ("train") or a
// validation loss ("val").
type Record struct {
	Kind     string  `json:"kind"`
	Step     int     `json:"step"`
	Tokens   int64   `json:"tokens"` // training tokens seen after this step
	Loss     float64 `json:"loss"`   // mean cross-entropy per token (train or val)
	LR       float64 `json:"lr,omitempty"`
	GradNorm float64 `json:"grad_norm,omitempty"` // before clipping
	TokPerS  float64 `json:"tok_per_s,omitempty"` // this step's training throughput
	Elapsed  float64 `json:"elapsed_s,omitempty"` // seconds since the run (or resume) started
	Accuracy float64 `json:"accuracy,omitempty"`  // reward, dpo: share of pairs whose chosen side scores higher
	Margin   float64 `json:"margin,omitempty"`    // reward, dpo: mean reward of chosen minus rejected
}

// Result summarises a finished run.
type Result struct {
	Steps     int
	TrainLoss float64 // the last step's
	ValLoss   float64 // the last evaluation's
	// ValAccuracy is the last evaluation's pairwise accuracy (reward, dpo).
	ValAccuracy float64
	Model       string // path of the exported model
	Log         []Record
}

// File names inside a run directory.
const (
	LogFile        = "log.jsonl"
	CheckpointFile = "checkpoint.gguf"
	ModelFile      = "model.gguf"
	InitFile       = "init.gguf" // the initial model of a fresh run
)

// runner is a run in progress.
type runner struct {
	cfg      RunConfig
	ds       *data.Dataset
	tok      []gguf.KV // the tokenizer's metadata, copied into every file written
	m        *Model
	opt      *AdamW
	sched    Schedule
	total    int
	T        int
	train    *data.Loader
	ws       *Workspace
	micro    []Batch
	log      []Record
	logFile  *os.File
	progress io.Writer
	obj      objective // a fine-tuning objective; nil when pretraining on token shards (ds)
}

// Run trains a model as cfg says, writing progress (memory plan, a
// progress bar, validation losses) to progress (nil: nowhere), and the log,
// loss plots, checkpoints and the final model.gguf into cfg.Dir. When ctx
// is cancelled it writes a checkpoint and returns ctx's error.
func Run(ctx context.Context, cfg RunConfig, progress io.Writer) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	r, err := newRunner(cfg, progress)
	if err != nil {
		return nil, err
	}
	defer r.close()
	if err := r.initModel(); err != nil {
		return nil, err
	}
	// The initial weights, so another trainer (docs/train/torch_train.py)
	// can start from the same point.
	if err := r.export(filepath.Join(cfg.Dir, InitFile), tensor.F32); err != nil {
		return nil, err
	}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r.loop(ctx)
}

// Resume continues the run in dir from its checkpoint, with the stored
// configuration, on threads goroutines. The steps after the checkpoint
// repeat those of an uninterrupted run bit for bit: the kernels sum in a
// fixed order whatever the thread count, and the loader continues from the
// stored position (no other random state is consumed during training).
func Resume(ctx context.Context, dir string, threads int, onStep func(Record), progress io.Writer) (*Result, error) {
	ck, err := readCheckpoint(filepath.Join(dir, CheckpointFile))
	if err != nil {
		return nil, err
	}
	defer ck.close()
	cfg := ck.cfg
	cfg.Dir, cfg.Threads, cfg.OnStep = dir, threads, onStep
	r, err := newRunner(cfg, progress)
	if err != nil {
		return nil, err
	}
	defer r.close()
	r.m, r.opt, r.log = ck.model, ck.opt, ck.log
	if r.ds != nil && r.m.Config.Vocab != r.ds.Meta.VocabSize {
		return nil, fmt.Errorf("train: checkpoint has a vocabulary of %d, the data %d", r.m.Config.Vocab, r.ds.Meta.VocabSize)
	}
	if err := r.start(); err != nil {
		return nil, err
	}
	if r.obj != nil {
		err = r.obj.seek(ck.rawPos)
	} else {
		err = r.train.Seek(ck.pos)
	}
	if err != nil {
		return nil, fmt.Errorf("train: resuming: %w", err)
	}
	fmt.Fprintf(r.progressOut(), "resuming %s at step %d of %d\n", dir, r.opt.Step, r.total)
	return r.loop(ctx)
}

func newRunner(cfg RunConfig, progress io.Writer) (*runner, error) {
	if cfg.Objective != "" {
		return newFinetuneRunner(cfg, progress)
	}
	ds, err := data.OpenDataset(cfg.Data)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	r := &runner{cfg: cfg, ds: ds, progress: progress}
	if r.tok, err = tokenizerKV(ds); err != nil {
		ds.Close()
		return nil, err
	}
	return r, nil
}

func (r *runner) close() {
	if r.ds != nil {
		r.ds.Close()
	}
	if r.logFile != nil {
		r.logFile.Close()
	}
}

func (r *runner) progressOut() io.Writer {
	if r.progress == nil {
		return io.Discard
	}
	return r.progress
}

// initModel builds the initial model: loaded from cfg.Model or a shape
// initialised from the seed.
func (r *runner) initModel() error {
	if r.obj != nil {
		return r.initFinetuneModel()
	}
	vocab := r.ds.Meta.VocabSize
	if r.cfg.Shape != "" {
		c := Shapes[r.cfg.Shape]
		c.Vocab = vocab
		m, err := New(c, LMHead)
		if err != nil {
			return err
		}
		m.Init(r.cfg.Seed)
		r.m = m
	} else {
		f, err := gguf.Open(r.cfg.Model)
		if err != nil {
			return fmt.Errorf("train: initial model: %w", err)
		}
		defer f.Close()
		if r.m, err = LoadGGUF(f); err != nil {
			return fmt.Errorf("train: initial model %s: %w", r.cfg.Model, err)
		}
		if r.m.Config.Vocab != vocab {
			return fmt.Errorf("train: initial model %s has a vocabulary of %d tokens, the data %d", r.cfg.Model, r.m.Config.Vocab, vocab)
		}
	}
	c := r.cfg
	r.opt = NewAdamW(r.m.Params, c.Beta1, c.Beta2, c.Eps, c.WeightDecay)
	return nil
}

// start allocates the workspace and the loader, opens the log and prints
// the memory plan.
func (r *runner) start() error {
	c := &r.cfg
	r.T = c.SeqLen
	if r.T == 0 {
		r.T = r.m.Config.SeqLen
	}
	var err error
	if r.obj != nil {
		if r.ws, err = r.obj.start(r.m, r.progressOut()); err != nil {
			return err
		}
	} else if r.ws, err = r.m.NewWorkspace(c.Batch, r.T, c.Threads); err != nil {
		return err
	}
	perStep := r.tokensPerStep()
	r.total = c.Steps
	if r.total == 0 {
		r.total = int((c.Tokens + perStep - 1) / perStep)
	}
	r.sched = Schedule{Peak: c.LR, Min: c.MinLR, Warmup: c.Warmup, Total: r.total}
	if r.obj == nil {
		if r.train, err = r.ds.Loader(data.Train, c.Batch, r.T, c.Seed); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		n := c.Batch * r.T
		r.micro = make([]Batch, c.GradAccum)
		for i := range r.micro {
			r.micro[i] = Batch{Tokens: make([]int32, n), Targets: make([]int32, n)}
		}
	}
	// The log file is rewritten from the records a checkpoint holds, so
	// lines a killed run wrote after its last checkpoint do not repeat.
	var buf bytes.Buffer
	for _, rec := range r.log {
		b, _ := json.Marshal(rec)
		buf.Write(append(b, '\n'))
	}
	path := filepath.Join(c.Dir, LogFile)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if r.logFile, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	mem := r.memory()
	fmt.Fprintf(r.progressOut(), "model: %d parameters (%s); batch %d×%d×%d = %d tokens per step, %d steps\n",
		len(r.m.Params.Data), r.m.Config.shapeString(), c.Batch, r.T, c.GradAccum, perStep, r.total)
	fmt.Fprintf(r.progressOut(), "memory: parameters %s + gradients %s + AdamW state %s + activations %s = %s\n",
		mib(mem.Params), mib(mem.Grads), mib(mem.Optimizer), mib(mem.Activations), mib(mem.Total()))
	return nil
}

// Memory is the memory a run needs, in bytes.
type Memory struct {
	Params, Grads, Optimizer, Activations int64
}

// Total is the sum of the parts.
func (m Memory) Total() int64 { return m.Params + m.Grads + m.Optimizer + m.Activations }

func (r *runner) memory() Memory {
	p := int64(4 * len(r.m.Params.Data))
	return Memory{Params: p, Grads: p, Optimizer: 2 * p, Activations: r.ws.Bytes()}
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func (c Config) shapeString() string {
	return fmt.Sprintf("dim %d, %d layers, %d/%d heads, ffn %d, vocab %d, ctx %d", c.Dim, c.Layers, c.Heads, c.KVHeads, c.Hidden, c.Vocab, c.SeqLen)
}

// loop runs the remaining steps.
func (r *runner) loop(ctx context.Context) (*Result, error) {
	c := r.cfg
	perStep := r.tokensPerStep()
	bar := progressbar.NewOptions(r.total, progressbar.OptionSetWriter(r.progressOut()),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(250*time.Millisecond), progressbar.OptionSetWidth(30))
	bar.Set(r.opt.Step)
	began := time.Now()
	res := &Result{}
	for r.opt.Step < r.total {
		if err := ctx.Err(); err != nil {
			if cerr := r.checkpoint(); cerr != nil {
				return nil, errors.Join(err, cerr)
			}
			return nil, err
		}
		t0 := time.Now()
		stats, err := r.gradients()
		if err != nil {
			return nil, fmt.Errorf("train: step %d: %w", r.opt.Step+1, err)
		}
		loss := stats.Loss
		norm := GradNorm(r.m.Grads)
		coef := 1.0
		if c.Clip > 0 {
			coef = ClipCoef(norm, c.Clip)
		}
		step := r.opt.Step + 1
		lr := r.sched.LR(step)
		if err := r.opt.Update(r.m.Params, r.m.Grads, lr, float32(coef)); err != nil {
			return nil, err
		}
		dt := time.Since(t0).Seconds()
		rec := Record{Kind: "train", Step: step, Tokens: int64(step) * perStep, Loss: loss, LR: lr, GradNorm: norm,
			TokPerS: float64(perStep) / dt, Elapsed: time.Since(began).Seconds(), Accuracy: stats.Accuracy, Margin: stats.Margin}
		if err := r.record(rec); err != nil {
			return nil, err
		}
		res.TrainLoss = loss
		bar.Describe(fmt.Sprintf("loss %.4f lr %.2e %.0f tok/s", loss, lr, rec.TokPerS))
		bar.Set(step)
		last := step == r.total
		if c.EvalBatches > 0 && (last || (c.EvalEvery > 0 && step%c.EvalEvery == 0)) {
			val, err := r.evaluate()
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(r.progressOut(), "\nstep %d: train loss %.4f, val loss %.4f%s\n", step, loss, val.Loss, r.metrics(val))
			val.Kind, val.Step, val.Tokens, val.Elapsed = "val", step, rec.Tokens, rec.Elapsed
			if err := r.record(val); err != nil {
				return nil, err
			}
			if err := WritePlots(c.Dir, r.log); err != nil {
				return nil, err
			}
		}
		if last || (c.CkptEvery > 0 && step%c.CkptEvery == 0) {
			if err := r.checkpoint(); err != nil {
				return nil, err
			}
		}
		if c.OnStep != nil {
			c.OnStep(rec)
		}
	}
	bar.Finish()
	fmt.Fprintln(r.progressOut())
	if err := WritePlots(c.Dir, r.log); err != nil {
		return nil, err
	}
	res.Model = filepath.Join(c.Dir, ModelFile)
	if err := r.export(res.Model, tensor.F32); err != nil {
		return nil, err
	}
	res.Steps, res.Log = r.opt.Step, r.log
	for _, rec := range r.log {
		switch rec.Kind {
		case "val":
			res.ValLoss, res.ValAccuracy = rec.Loss, rec.Accuracy
		case "train":
			res.TrainLoss = rec.Loss
		}
	}
	return res, nil
}

// record appends rec to the log, in memory and on disk.
func (r *runner) record(rec Record) error {
	r.log = append(r.log, rec)
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("train: log: %w", err)
	}
	if _, err := r.logFile.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("train: log: %w", err)
	}
	return nil
}

// gradients sets the model's gradients for the next step and returns its
// loss (and, for pairs, accuracy and margin).
func (r *runner) gradients() (Record, error) {
	if r.obj != nil {
		return r.obj.gradients(r.m)
	}
	for i := range r.micro {
		if err := r.train.Next(r.micro[i].Tokens, r.micro[i].Targets); err != nil {
			return Record{}, err
		}
	}
	loss, err := r.m.LMGradients(r.ws, r.micro)
	return Record{Loss: loss}, err
}

// tokensPerStep is the number of tokens a step trains on.
func (r *runner) tokensPerStep() int64 {
	if r.obj != nil {
		return r.obj.tokensPerStep()
	}
	return int64(r.cfg.Batch * r.T * r.cfg.GradAccum)
}

// evaluate returns the validation loss (and metrics): for pretraining the
// mean cross-entropy per token over the first EvalBatches micro-batches of
// the val split (a fresh loader each time, so every evaluation scores the
// same windows).
func (r *runner) evaluate() (Record, error) {
	if r.obj != nil {
		return r.obj.evaluate(r.m)
	}
	l, err := r.ds.Loader(data.Val, r.cfg.Batch, r.T, 0)
	if err != nil {
		return Record{}, fmt.Errorf("train: validation: %w", err)
	}
	b := r.micro[0]
	var sum float64
	var n int
	for range r.cfg.EvalBatches {
		if err := l.Next(b.Tokens, b.Targets); err != nil {
			return Record{}, fmt.Errorf("train: validation: %w", err)
		}
		if err := r.m.Forward(r.ws, b.Tokens); err != nil {
			return Record{}, err
		}
		s, k, err := r.ws.CrossEntropy(b.Targets, 1)
		if err != nil {
			return Record{}, err
		}
		sum, n = sum+s, n+k
	}
	return Record{Loss: sum / float64(n)}, nil
}
