package recipe

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/convert"
	"github.com/llmos/llmos/data"
	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
	"github.com/llmos/llmos/tokenizer"
	"github.com/llmos/llmos/train"
)

// Options configure Run.
type Options struct {
	Dir   string // output directory: every stage's files, assistant.gguf and report.json
	Scale Scale
	// TinyStories is the directory with TinyStories' train_head_2mib.txt,
	// train_ext_recased.txt and valid_head.txt (../shared/data/tinystories).
	TinyStories string
	Seed        uint64
	Threads     int       // compute threads; 0 means one per core
	Progress    io.Writer // stage headings and each stage's progress; nil: nowhere
}

// Files of a recipe directory.
const (
	GenDir        = "gen"            // generated data
	PretrainText  = "pretrain.jsonl" // generated stories and dialogues, {"text": ...}
	SFTFile       = "sft.jsonl"      // generated conversations, OpenAI messages
	PairsFile     = "pairs.jsonl"    // generated preference pairs
	HeldOutFile   = "heldout.jsonl"  // held-out arithmetic problems
	WinRateFile   = "winrate.jsonl"  // prompts for the DPO-versus-SFT win rate
	TokenizerFile = "tokenizer.gguf" // the trained vocabulary
	DataDir       = "data"           // pretraining token shards
	InitFile      = "init.gguf"      // the randomly initialised model
	PretrainDir   = "pretrain"       // pretraining run
	SFTDir        = "sft"            // supervised fine-tuning run
	RewardDir     = "reward"         // reward-model run
	DPODir        = "dpo"            // DPO run
	AssistantFile = "assistant.gguf" // the quantized result
	ReportFile    = "report.json"    // the evaluation
	QuantType     = "Q8_0"           // the type of assistant.gguf
	tinyTrain1    = "train_head_2mib.txt"
	tinyTrain2    = "train_ext_recased.txt"
	tinyVal       = "valid_head.txt"
	storySep      = "<|endoftext|>"
)

// stage is one step of the pipeline: it is skipped when its output exists,
// so an interrupted recipe continues where it stopped.
type stage struct {
	name string
	out  string // relative to Dir
	run  func(ctx context.Context) error
}

// pipeline is a recipe run in progress.
type pipeline struct {
	opts Options
	sc   Scale
	out  io.Writer
}

// Run executes the recipe: generate data, train a tokenizer, prepare
// shards, pretrain, fine-tune, train a reward model, align with DPO,
// quantize to Q8_0 and evaluate. Every stage whose output already exists is
// skipped, and an interrupted training stage resumes from its checkpoint.
// It returns the report also written to Dir/report.json.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Dir == "" {
		return nil, errors.New("recipe: no output directory")
	}
	if opts.Scale.Name == "" {
		return nil, errors.New("recipe: no scale")
	}
	for _, f := range []string{tinyTrain1, tinyTrain2, tinyVal} {
		if _, err := os.Stat(filepath.Join(opts.TinyStories, f)); err != nil {
			return nil, fmt.Errorf("recipe: TinyStories: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, GenDir), 0o755); err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	p := &pipeline{opts: opts, sc: opts.Scale, out: opts.Progress}
	if p.out == nil {
		p.out = io.Discard
	}
	stages := []stage{
		{"generate data", filepath.Join(GenDir, HeldOutFile), p.generate},
		{"train the tokenizer", TokenizerFile, p.tokenizer},
		{"prepare pretraining shards", filepath.Join(DataDir, data.MetaFile), p.prepare},
		{"pretrain", filepath.Join(PretrainDir, train.ModelFile), p.pretrain},
		{"supervised fine-tuning", filepath.Join(SFTDir, train.ModelFile), p.finetune(train.SFT, SFTDir, SFTFile, p.sc.SFT)},
		{"train the reward model", filepath.Join(RewardDir, train.ModelFile), p.finetune(train.Reward, RewardDir, PairsFile, p.sc.Reward)},
		{"DPO", filepath.Join(DPODir, train.ModelFile), p.finetune(train.DPO, DPODir, PairsFile, p.sc.DPO)},
		{"quantize to " + QuantType, AssistantFile, p.quantize},
		{"evaluate", ReportFile, p.evaluate},
	}
	for i, s := range stages {
		if _, err := os.Stat(p.path(s.out)); err == nil {
			fmt.Fprintf(p.out, "[%d/%d] %s: done before (%s exists)\n", i+1, len(stages), s.name, s.out)
			continue
		}
		fmt.Fprintf(p.out, "[%d/%d] %s\n", i+1, len(stages), s.name)
		t0 := time.Now()
		if err := s.run(ctx); err != nil {
			return nil, fmt.Errorf("recipe: %s: %w", s.name, err)
		}
		fmt.Fprintf(p.out, "  %s in %s\n", s.name, time.Since(t0).Round(time.Second))
	}
	return ReadReport(p.path(ReportFile))
}

func (p *pipeline) path(rel ...string) string {
	return filepath.Join(append([]string{p.opts.Dir}, rel...)...)
}

// generate writes the generated data sets. The held-out problems are
// written last: they are the stage's output.
func (p *pipeline) generate(context.Context) error {
	held := HeldOut(p.opts.Seed+1, p.sc.HeldOut)
	exclude := Expressions(held)
	tmpl, err := chat.NewTemplate(chat.ChatML)
	if err != nil {
		return err
	}

	// Pretraining text: stories, and conversations written as plain
	// dialogue (data preparation does not parse special tokens).
	rng := rand.New(rand.NewPCG(p.opts.Seed, 0x5707))
	var docs []any
	for _, s := range Stories(rng, p.sc.Stories) {
		docs = append(docs, map[string]string{"text": s})
	}
	dialogues := NewGenerator(p.opts.Seed+2, exclude)
	for range p.sc.Dialogues {
		text, err := Dialogue(tmpl, dialogues.Conversation().Messages)
		if err != nil {
			return err
		}
		docs = append(docs, map[string]string{"text": text})
	}
	rng.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })

	g := NewGenerator(p.opts.Seed+3, exclude)
	convs := make([]any, p.sc.Conversations)
	for i := range convs {
		convs[i] = g.Conversation()
	}
	pairs := make([]any, p.sc.Pairs)
	for i := range pairs {
		pairs[i] = g.Pair()
	}
	// Win-rate prompts: first turns the fine-tuning data did not draw,
	// arithmetic from the held-out problems.
	w := NewGenerator(p.opts.Seed+4, nil)
	prompts := make([]any, p.sc.WinRatePrompts)
	for i := range prompts {
		ex := w.Exchange(true)
		if ex.Kind == "arithmetic" {
			ex.Messages[0].Content = held[i%len(held)].Question
		}
		prompts[i] = map[string]string{"prompt": ex.Messages[0].Content}
	}
	heldOut := make([]any, len(held))
	for i := range held {
		heldOut[i] = held[i]
	}
	for _, f := range []struct {
		name string
		recs []any
	}{{PretrainText, docs}, {SFTFile, convs}, {PairsFile, pairs}, {WinRateFile, prompts}, {HeldOutFile, heldOut}} {
		if err := writeJSONL(p.path(GenDir, f.name), f.recs); err != nil {
			return err
		}
	}
	fmt.Fprintf(p.out, "  %d stories and %d dialogues for pretraining, %d conversations, %d preference pairs, %d held-out arithmetic problems, %d win-rate prompts\n",
		p.sc.Stories, p.sc.Dialogues, len(convs), len(pairs), len(held), len(prompts))
	return nil
}

// Dialogue writes a conversation as plain text for pretraining: rendered
// with the ChatML template, each turn's markers replaced by its role
// ("User: ", "Assistant: ", "Tool: "), so the words and the tool-call
// syntax are those of the chat format.
func Dialogue(tmpl *chat.Template, msgs []chat.Message) (string, error) {
	text, err := tmpl.Render(msgs, chat.RenderOptions{})
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(dialogueRoles.Replace(text)), nil
}

var dialogueRoles = strings.NewReplacer(
	"<|im_start|>system\n", "System: ", "<|im_start|>user\n", "User: ",
	"<|im_start|>assistant\n", "Assistant: ", "<|im_start|>tool\n", "Tool: ", "<|im_end|>", "")

// tinyStories returns the TinyStories train and val files, cut to the
// scale's size (copies in gen/) when it has one.
func (p *pipeline) tinyStories() (trainFiles, valFiles []string, err error) {
	src := func(f string) string { return filepath.Join(p.opts.TinyStories, f) }
	trainFiles = []string{src(tinyTrain1), src(tinyTrain2)}
	valFiles = []string{src(tinyVal)}
	if p.sc.TinyStoriesBytes == 0 {
		return trainFiles, valFiles, nil
	}
	cut := func(files []string, n int64) ([]string, error) {
		var out []string
		for _, f := range files {
			dst := p.path(GenDir, "head_"+filepath.Base(f))
			if err := copyHead(f, dst, n); err != nil {
				return nil, err
			}
			out = append(out, dst)
		}
		return out, nil
	}
	if trainFiles, err = cut(trainFiles, p.sc.TinyStoriesBytes); err != nil {
		return nil, nil, err
	}
	if valFiles, err = cut(valFiles, p.sc.TinyStoriesBytes/4); err != nil {
		return nil, nil, err
	}
	return trainFiles, valFiles, nil
}

// copyHead copies the first n bytes of src to dst, ending at a line break
// so no story is cut inside a line.
func copyHead(src, dst string, n int64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, n)
	k, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	b = b[:k]
	if i := strings.LastIndexByte(string(b), '\n'); i >= 0 {
		b = b[:i+1]
	}
	return writeAtomic(dst, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// tokenizer trains the vocabulary on TinyStories, the pretraining text and
// the conversations rendered in the chat format, so the template's markup
// and the tool-call syntax get tokens of their own.
func (p *pipeline) tokenizer(ctx context.Context) error {
	tr, err := tokenizer.NewTrainer(tokenizer.TrainOptions{VocabSize: p.sc.Vocab, Reserved: 0, Ignore: []string{storySep}})
	if err != nil {
		return err
	}
	trainFiles, _, err := p.tinyStories()
	if err != nil {
		return err
	}
	for _, f := range trainFiles {
		if err := readInto(tr, f); err != nil {
			return err
		}
	}
	docs, err := readJSONL[struct{ Text string }](p.path(GenDir, PretrainText))
	if err != nil {
		return err
	}
	for _, d := range docs {
		tr.AddText(d.Text)
	}
	tmpl, err := chat.NewTemplate(chat.ChatML)
	if err != nil {
		return err
	}
	err = eachJSONL(p.path(GenDir, SFTFile), func(raw []byte) error {
		var c struct{ Messages []chat.Message }
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		text, err := tmpl.Render(c.Messages, chat.RenderOptions{})
		tr.AddText(text)
		return err
	})
	if err != nil {
		return err
	}
	v, st, err := tr.Train(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(p.out, "  %d tokens, %.2f bytes per token on %d bytes of training text\n", len(v.Tokens), st.BytesPerToken(), st.Bytes)
	return v.WriteFile(p.path(TokenizerFile))
}

func readInto(tr *tokenizer.Trainer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := tr.ReadFrom(bufio.NewReader(f)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// shardBatches is the size of a pretraining shard in batches.
const shardBatches = 4

// prepare tokenizes TinyStories and the generated text into shards; the
// TinyStories validation text is the val split.
func (p *pipeline) prepare(ctx context.Context) error {
	trainFiles, valFiles, err := p.tinyStories()
	if err != nil {
		return err
	}
	m, err := data.Prepare(ctx, append(trainFiles, p.path(GenDir, PretrainText)), data.PrepareOptions{
		Tokenizer: p.path(TokenizerFile), Out: p.path(DataDir), ValFiles: valFiles, Workers: p.opts.Threads,
		// The loader reads a shard's windows in order and shuffles only
		// the shards, so small shards mix TinyStories with the generated
		// text within every stretch of training.
		ShardTokens: int64(shardBatches * p.sc.Pretrain.Batch * p.sc.Pretrain.SeqLen),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(p.out, "  %d train and %d val tokens\n", m.TrainTokens, m.ValTokens)
	return nil
}

// pretrain initialises the model with the trained tokenizer and trains it
// on the shards, or resumes an interrupted run.
func (p *pipeline) pretrain(ctx context.Context) error {
	dir := p.path(PretrainDir)
	if _, err := os.Stat(filepath.Join(dir, train.CheckpointFile)); err == nil {
		_, err := train.Resume(ctx, dir, p.opts.Threads, nil, p.out)
		return err
	}
	tf, err := gguf.Open(p.path(TokenizerFile))
	if err != nil {
		return err
	}
	defer tf.Close()
	tok, err := tokenizer.FromGGUF(tf)
	if err != nil {
		return err
	}
	shape := p.sc.Shape
	shape.Vocab = tok.VocabSize()
	if err := convert.Init(p.path(InitFile), convert.InitOptions{Shape: shape, Type: tensor.F32, Tokenizer: tf, Seed: p.opts.Seed, Name: "llmos-assistant"}); err != nil {
		return err
	}
	cfg := p.runConfig(p.sc.Pretrain)
	cfg.Model, cfg.Data, cfg.Dir = p.path(InitFile), p.path(DataDir), dir
	_, err = train.Run(ctx, cfg, p.out)
	return err
}

// runConfig is the training configuration of a stage.
func (p *pipeline) runConfig(s StageConfig) train.RunConfig {
	c := train.DefaultRunConfig()
	c.Batch, c.SeqLen, c.Steps, c.LR, c.MinLR, c.Warmup = s.Batch, s.SeqLen, s.Steps, s.LR, s.LR/10, s.Warmup
	c.EvalEvery = max(1, s.Steps/4)
	c.EvalBatches = 4
	c.CkptEvery = max(1, s.Steps/5)
	c.Seed = p.opts.Seed
	c.Threads = p.opts.Threads
	return c
}

// finetune returns the stage that runs objective on the generated file
// from the SFT model (or, for SFT, the pretrained one), or resumes it.
func (p *pipeline) finetune(objective, dir, file string, s StageConfig) func(context.Context) error {
	return func(ctx context.Context) error {
		dir := p.path(dir)
		if _, err := os.Stat(filepath.Join(dir, train.CheckpointFile)); err == nil {
			_, err := train.Resume(ctx, dir, p.opts.Threads, nil, p.out)
			return err
		}
		cfg := p.runConfig(s)
		cfg.Objective, cfg.Data, cfg.Dir = objective, p.path(GenDir, file), dir
		cfg.Model = p.path(SFTDir, train.ModelFile)
		if objective == train.SFT {
			cfg.Model = p.path(PretrainDir, train.ModelFile)
		}
		cfg.ValFraction = 0.05
		cfg.Beta = p.sc.DPOBeta
		cfg.WeightDecay = 0
		_, err := train.Run(ctx, cfg, p.out)
		return err
	}
}

// quantize writes the DPO model as assistant.gguf.
func (p *pipeline) quantize(context.Context) error {
	ft, err := convert.ParseFileType(QuantType)
	if err != nil {
		return err
	}
	f, err := gguf.Open(p.path(DPODir, train.ModelFile))
	if err != nil {
		return err
	}
	defer f.Close()
	return convert.Quantize(f, p.path(AssistantFile), ft)
}

// writeJSONL writes one JSON line per record, atomically.
func writeJSONL(path string, recs []any) error {
	return writeAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// eachJSONL calls fn with every line of a JSON Lines file.
func eachJSONL(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}

// readJSONL decodes every line of a JSON Lines file.
func readJSONL[T any](path string) ([]T, error) {
	var out []T
	err := eachJSONL(path, func(b []byte) error {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// writeAtomic writes a file through a temporary file and a rename, so a
// stage's output exists only once it is complete.
func writeAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	bw := bufio.NewWriter(tmp)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
