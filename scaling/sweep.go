package scaling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llmos/llmos/data"
	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/train"
)

// Size is one rung of a sweep's ladder of model sizes: a Llama shape fixed by
// its width and depth. The rest follows from those two, so that N grows
// smoothly along the ladder: heads of SweepHeadDim channels, an FFN of 8/3
// the width rounded up to a multiple of 16 (Llama's rule), no grouped-query
// attention.
type Size struct {
	Dim, Layers int
}

// SweepHeadDim is the width of one attention head in every sweep model.
const SweepHeadDim = 16

// Ladder is a ladder of sizes from 6.7k to 4.7M non-embedding parameters
// (700×), the default of 'llmos scaling sweep'; a CPU affords its lower half.
var Ladder = []Size{{16, 2}, {32, 2}, {48, 3}, {64, 4}, {96, 4}, {128, 5}, {192, 6}, {256, 6}}

// ParseSize reads a size written DIMxLAYERS, such as "64x4".
func ParseSize(s string) (Size, error) {
	d, l, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "x")
	dim, err1 := strconv.Atoi(d)
	layers, err2 := strconv.Atoi(l)
	if !ok || err1 != nil || err2 != nil {
		return Size{}, fmt.Errorf("scaling: size %q: want DIMxLAYERS, such as 64x4", s)
	}
	z := Size{Dim: dim, Layers: layers}
	if dim <= 0 || layers <= 0 || dim%SweepHeadDim != 0 {
		return Size{}, fmt.Errorf("scaling: size %q: width and depth must be positive, the width a multiple of %d", s, SweepHeadDim)
	}
	return z, nil
}

// String writes the size as DIMxLAYERS.
func (z Size) String() string { return fmt.Sprintf("%dx%d", z.Dim, z.Layers) }

// Hidden is the FFN width: 8/3 of Dim rounded up to a multiple of 16.
func (z Size) Hidden() int { return (8*z.Dim/3 + 15) / 16 * 16 }

// Config is the training shape of the size for a vocabulary and context.
func (z Size) Config(vocab, seqLen int) train.Config {
	h := z.Dim / SweepHeadDim
	return train.Config{Dim: z.Dim, Layers: z.Layers, Heads: h, KVHeads: h, HeadDim: SweepHeadDim,
		Hidden: z.Hidden(), Vocab: vocab, SeqLen: seqLen, NormEps: 1e-5, RopeBase: 10000}
}

// NonEmbeddingParams is the N a sweep reports: every parameter except the
// two vocabulary-sized matrices (token_embd and output), following Kaplan
// et al. 2020. Per block that is the attention projections 4·Dim², the SwiGLU
// FFN 3·Dim·Hidden and two norm gains; plus the final norm. Counting the
// embeddings would make N depend on the tokenizer and, for models this
// small, be dominated by it.
func (z Size) NonEmbeddingParams() int64 {
	d, h := int64(z.Dim), int64(z.Hidden())
	return int64(z.Layers)*(4*d*d+3*d*h+2*d) + d
}

// ParseTokens reads a token count: an integer, a float such as 2e5, or a
// number with a suffix k, M or G (thousands, millions, billions), such as
// 200k or 1.6M.
func ParseTokens(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k', 'K':
			mult, t = 1e3, t[:n-1]
		case 'm', 'M':
			mult, t = 1e6, t[:n-1]
		case 'g', 'G', 'b', 'B':
			mult, t = 1e9, t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	v = math.Round(v * mult)
	if err != nil || !(v >= 1) || v > 1<<53 {
		return 0, fmt.Errorf("scaling: token count %q: want a positive number such as 200000, 2e5, 200k or 1.6M", s)
	}
	return int64(v), nil
}

// formatTokens writes a count compactly for run names: 200k, 2M, 123456.
func formatTokens(n int64) string {
	switch {
	case n >= 1e6 && n%1e6 == 0:
		return strconv.FormatInt(n/1e6, 10) + "M"
	case n >= 1e3 && n%1e3 == 0:
		return strconv.FormatInt(n/1e3, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}

// Sweep is a grid of pretraining runs: every size trained on every token
// budget, all with the same data, batch, context and learning-rate schedule.
type Sweep struct {
	Data   string  // data directory made by 'llmos data prepare'
	Dir    string  // sweep directory: jobs.txt, models/, runs/, results.jsonl
	Sizes  []Size  // model sizes
	Tokens []int64 // training token budgets D

	Batch       int     // sequences per step
	SeqLen      int     // tokens per sequence (and the models' context)
	LR, MinLR   float64 // peak and final learning rate of the cosine schedule
	LRDim       int     // if > 0, each size's rates are scaled by LRDim/Dim (see [Sweep.LRFor])
	WarmupFrac  float64 // share of each run's steps spent in linear warmup
	EvalBatches int     // validation micro-batches of the final loss
	CkptEvery   int     // steps between checkpoints, the work a kill can lose
	Seed        uint64  // initial weights and shard order
}

// DefaultSweep returns the settings of docs/scaling.md's second sweep,
// without data, directory, sizes or budgets: 256 tokens per step, so that a
// budget of 128k tokens is already [MinSteps] steps, a peak rate of 2e-3 at
// width 128 (probed for that batch on TinyStories), and a final val loss over
// 65,536 tokens.
func DefaultSweep() Sweep {
	return Sweep{Batch: 2, SeqLen: 128, LR: 2e-3, MinLR: 2e-4, LRDim: 128, WarmupFrac: 0.05, EvalBatches: 256, CkptEvery: 500, Seed: 1}
}

// MinSteps is the fewest optimizer steps a sweep run should take. Shorter
// runs are limited by their steps rather than by N or D: in docs/scaling.md's
// first sweep the 98-step runs got worse as N grew, which L(N, D) cannot
// express, and the fit missed a held-out run by 8.8 %.
const MinSteps = 500

// ShortJobs returns the plan's jobs of fewer than [MinSteps] steps, in plan
// order.
func (p *Plan) ShortJobs() []Job {
	var short []Job
	for _, j := range p.Jobs {
		if j.Steps < MinSteps {
			short = append(short, j)
		}
	}
	return short
}

// LRFor returns the peak and final learning rate of the size's runs. With
// LRDim set they fall as 1/width, LR at width LRDim: Adam's best rate for
// hidden weights scales so (Yang et al. 2022, μP), and one rate for all
// widths would favour some sizes over others and bend the fitted law.
func (s Sweep) LRFor(z Size) (peak, final float64) {
	if s.LRDim <= 0 {
		return s.LR, s.MinLR
	}
	f := float64(s.LRDim) / float64(z.Dim)
	return s.LR * f, s.MinLR * f
}

// Files and folders inside a sweep directory.
const (
	JobsFile  = "jobs.txt"  // one 'llmos train' command line per job, in plan order
	ModelsDir = "models"    // the initial model of each size, SIZE.gguf
	RunsDir   = "runs"      // one training run directory per job
	JobLog    = "sweep.log" // in a run directory: what 'llmos train' printed when the sweep ran it
)

// Job is one run of a sweep.
type Job struct {
	Name   string // SIZE-DTOKENS, such as 64x4-D200k; the key in results.jsonl
	Size   Size
	N      int64 // non-embedding parameters
	Tokens int64 // training tokens asked for; the run rounds up to whole steps
	Steps  int
	Model  string // initial weights, shared by the size's jobs
	Config train.RunConfig
}

// Plan is a sweep laid out as jobs.
type Plan struct {
	Sweep       Sweep
	Vocab       int   // the data's vocabulary
	TrainTokens int64 // tokens in the data's train split
	Jobs        []Job
}

// Plan checks the sweep's settings and data and lays out its jobs, sizes in
// the outer loop. It writes nothing; see [Plan.Prepare].
func (s Sweep) Plan() (*Plan, error) {
	switch {
	case s.Data == "" || s.Dir == "":
		return nil, errors.New("scaling: sweep: a data directory and a sweep directory are required")
	case len(s.Sizes) == 0 || len(s.Tokens) == 0:
		return nil, errors.New("scaling: sweep: give at least one size and one token budget")
	case s.Batch <= 0 || s.SeqLen <= 0:
		return nil, fmt.Errorf("scaling: sweep: batch %d and sequence length %d must be positive", s.Batch, s.SeqLen)
	case !(s.LR > 0) || s.MinLR < 0 || s.MinLR > s.LR:
		return nil, fmt.Errorf("scaling: sweep: learning rates %g → %g: need 0 ≤ min ≤ peak, peak > 0", s.LR, s.MinLR)
	case !(s.WarmupFrac >= 0 && s.WarmupFrac < 1):
		return nil, fmt.Errorf("scaling: sweep: warmup fraction %g: want 0 ≤ f < 1", s.WarmupFrac)
	case s.EvalBatches <= 0:
		return nil, fmt.Errorf("scaling: sweep: %d eval batches: the final val loss is the result, so at least 1", s.EvalBatches)
	case s.LRDim < 0:
		return nil, fmt.Errorf("scaling: sweep: learning-rate reference width %d is negative", s.LRDim)
	case s.CkptEvery < 0:
		return nil, fmt.Errorf("scaling: sweep: checkpoint interval %d is negative", s.CkptEvery)
	}
	ds, err := data.OpenDataset(s.Data)
	if err != nil {
		return nil, fmt.Errorf("scaling: sweep: %w", err)
	}
	meta := ds.Meta
	ds.Close()
	if window := int64(s.Batch*s.SeqLen + 1); meta.ValTokens < window {
		return nil, fmt.Errorf("scaling: sweep: data %s has %d val tokens, fewer than one batch (%d): prepare it with a val split", s.Data, meta.ValTokens, window)
	}
	p := &Plan{Sweep: s, Vocab: meta.VocabSize, TrainTokens: meta.TrainTokens}
	seen := map[string]bool{}
	perStep := int64(s.Batch * s.SeqLen)
	for _, z := range s.Sizes {
		if err := z.Config(meta.VocabSize, s.SeqLen).Validate(); err != nil {
			return nil, fmt.Errorf("scaling: sweep: size %s: %w", z, err)
		}
		for _, d := range s.Tokens {
			if d <= 0 {
				return nil, fmt.Errorf("scaling: sweep: token budget %d must be positive", d)
			}
			name := z.String() + "-D" + formatTokens(d)
			if seen[name] {
				return nil, fmt.Errorf("scaling: sweep: job %s appears twice: sizes and budgets must be distinct", name)
			}
			seen[name] = true
			steps := int((d + perStep - 1) / perStep)
			cfg := train.DefaultRunConfig()
			cfg.Model = filepath.Join(s.Dir, ModelsDir, z.String()+".gguf")
			cfg.Data, cfg.Dir = s.Data, filepath.Join(s.Dir, RunsDir, name)
			cfg.Batch, cfg.SeqLen, cfg.Tokens = s.Batch, s.SeqLen, d
			cfg.LR, cfg.MinLR = s.LRFor(z)
			cfg.Warmup = int(math.Round(s.WarmupFrac * float64(steps)))
			cfg.EvalEvery, cfg.EvalBatches, cfg.CkptEvery, cfg.Seed = 0, s.EvalBatches, s.CkptEvery, s.Seed
			p.Jobs = append(p.Jobs, Job{Name: name, Size: z, N: z.NonEmbeddingParams(), Tokens: d, Steps: steps, Model: cfg.Model, Config: cfg})
		}
	}
	return p, nil
}

// Prepare writes what the jobs need before any of them runs: the initial
// model of each size (seeded, so the same bytes every time) and the jobs
// file, whose line i is job i's command line (without --threads: a machine
// that runs one job uses all its cores).
func (p *Plan) Prepare() error {
	dir := p.Sweep.Dir
	if err := os.MkdirAll(filepath.Join(dir, ModelsDir), 0o755); err != nil {
		return fmt.Errorf("scaling: sweep: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, RunsDir), 0o755); err != nil {
		return fmt.Errorf("scaling: sweep: %w", err)
	}
	written := map[string]bool{}
	for _, j := range p.Jobs {
		if written[j.Model] {
			continue
		}
		written[j.Model] = true
		m, err := train.New(j.Size.Config(p.Vocab, p.Sweep.SeqLen), train.LMHead)
		if err != nil {
			return fmt.Errorf("scaling: sweep: size %s: %w", j.Size, err)
		}
		m.Init(p.Sweep.Seed)
		w := gguf.NewWriter()
		m.AddTo(w)
		w.Set("general.name", "sweep-"+j.Size.String())
		if err := w.WriteFile(j.Model); err != nil {
			return fmt.Errorf("scaling: sweep: initial model: %w", err)
		}
	}
	var b strings.Builder
	for _, j := range p.Jobs {
		b.WriteString(j.CommandLine("llmos", 0))
		b.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, JobsFile), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("scaling: sweep: %w", err)
	}
	return nil
}

// Args is the job's 'llmos train' command line after the program name;
// threads > 0 adds --threads.
func (j Job) Args(threads int) []string {
	c := j.Config
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	args := []string{"train", "--model", c.Model, "--data", c.Data, "-o", c.Dir,
		"--tokens", strconv.FormatInt(c.Tokens, 10), "--batch", strconv.Itoa(c.Batch), "--seq", strconv.Itoa(c.SeqLen),
		"--lr", g(c.LR), "--min-lr", g(c.MinLR), "--warmup", strconv.Itoa(c.Warmup),
		"--eval-every", strconv.Itoa(c.EvalEvery), "--eval-batches", strconv.Itoa(c.EvalBatches),
		"--ckpt-every", strconv.Itoa(c.CkptEvery), "--seed", strconv.FormatUint(c.Seed, 10)}
	return withThreads(args, threads)
}

// ResumeArgs is the command line that continues the job from its checkpoint.
func (j Job) ResumeArgs(threads int) []string {
	return withThreads([]string{"train", "--resume", j.Config.Dir}, threads)
}

func withThreads(args []string, threads int) []string {
	if threads > 0 {
		args = append(args, "--threads", strconv.Itoa(threads))
	}
	return args
}

// CommandLine is the job's command line for a POSIX shell, starting with
// program.
func (j Job) CommandLine(program string, threads int) string {
	words := append([]string{program}, j.Args(threads)...)
	for i, w := range words {
		words[i] = shellQuote(w)
	}
	return strings.Join(words, " ")
}

// shellQuote quotes s for a POSIX shell when it holds anything but plainly
// safe characters.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Result reads the job's outcome from its run directory: ok is true once
// the run has finished (its model.gguf is written and its log holds the
// validation loss of the last step); the Run then holds N, the tokens
// actually trained and that loss.
func (j Job) Result() (run Run, ok bool, err error) {
	dir := j.Config.Dir
	if _, err := os.Stat(filepath.Join(dir, train.ModelFile)); errors.Is(err, fs.ErrNotExist) {
		return Run{}, false, nil
	} else if err != nil {
		return Run{}, false, fmt.Errorf("scaling: job %s: %w", j.Name, err)
	}
	log, err := train.ReadLog(filepath.Join(dir, train.LogFile))
	if err != nil {
		return Run{}, false, fmt.Errorf("scaling: job %s: %w", j.Name, err)
	}
	for i := len(log) - 1; i >= 0; i-- {
		if r := log[i]; r.Kind == "val" && r.Step == j.Steps {
			run := Run{Name: j.Name, N: float64(j.N), D: float64(r.Tokens), Loss: r.Loss}
			run.C = 6 * run.N * run.D
			return run, true, nil
		}
	}
	return Run{}, false, nil
}

// resumable reports whether the job has a checkpoint to continue from.
func (j Job) resumable() bool {
	_, err := os.Stat(filepath.Join(j.Config.Dir, train.CheckpointFile))
	return err == nil
}

// Runner trains one job to its end, from scratch or from its checkpoint.
type Runner interface {
	RunJob(ctx context.Context, job Job, resume bool) error
}

// ExecRunner runs each job as a child process, the job's own 'llmos train'
// command line with Program in place of llmos. Its output goes to the run
// directory's sweep.log. Cancelling the context interrupts the child (as
// Ctrl-C does), so it writes a checkpoint before it exits.
type ExecRunner struct {
	Program string // the llmos binary
	Threads int    // compute threads per job; 0 leaves train's default (all cores)
}

// RunJob runs the job's command line and waits for it.
func (e ExecRunner) RunJob(ctx context.Context, job Job, resume bool) error {
	args := job.Args(e.Threads)
	if resume {
		args = job.ResumeArgs(e.Threads)
	}
	if err := os.MkdirAll(job.Config.Dir, 0o755); err != nil {
		return fmt.Errorf("scaling: job %s: %w", job.Name, err)
	}
	logPath := filepath.Join(job.Config.Dir, JobLog)
	out, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("scaling: job %s: %w", job.Name, err)
	}
	defer out.Close()
	fmt.Fprintf(out, "$ %s %s\n", e.Program, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, e.Program, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("scaling: job %s: %w", job.Name, ctx.Err())
		}
		return fmt.Errorf("scaling: job %s: %s: %w%s", job.Name, e.Program, err, tail(logPath, 5))
	}
	return nil
}

// tail returns the last n lines of the file at path, indented, for an error.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	// Progress bars redraw with carriage returns; keep the last drawing.
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(b), "\r", "\n"), "\n"), "\n")
	lines = lines[max(0, len(lines)-n):]
	return "\n\t" + strings.Join(lines, "\n\t")
}

// RunOptions says how to run a plan.
type RunOptions struct {
	Workers     int       // jobs at once (at least 1)
	CollectOnly bool      // record runs that finished elsewhere; train nothing
	Progress    io.Writer // one line as each job starts and ends; nil: nowhere
}

// Summary counts what a sweep run did with its jobs.
type Summary struct {
	Skipped   int // already in results.jsonl
	Collected int // finished earlier (by another machine, or before a crash), recorded now
	Trained   int // trained (or resumed) to the end now
	Resumed   int // of Trained, continued from a checkpoint
	Pending   int // not finished: with CollectOnly, or stopped by an error or cancellation
}

// Run runs the plan's jobs not yet in DIR/results.jsonl, Workers at a time,
// and appends each finished job's result to it. A job whose run directory
// holds a finished run is recorded without training, one with a checkpoint
// resumes from it, any other starts afresh. A failing job does not stop the
// others; the errors come back joined. Cancelling ctx stops the sweep: the
// jobs running are interrupted (and checkpoint), the rest never start.
func (p *Plan) Run(ctx context.Context, runner Runner, opts RunOptions) (Summary, error) {
	var sum Summary
	done := map[string]bool{}
	prev, err := ReadResults(p.Sweep.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return sum, err
	}
	for _, r := range prev {
		done[r.Name] = true
	}
	var todo []int
	for i, j := range p.Jobs {
		if done[j.Name] {
			sum.Skipped++
		} else {
			todo = append(todo, i)
		}
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(progress, format+"\n", args...)
	}
	queue := make(chan int)
	for range max(1, opts.Workers) {
		wg.Go(func() {
			for i := range queue {
				j := p.Jobs[i]
				tag := fmt.Sprintf("[%d/%d] %s", i+1, len(p.Jobs), j.Name)
				outcome, err := p.runJob(ctx, runner, j, opts.CollectOnly, tag, say)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
					sum.Pending++
				case outcome == jobPending:
					sum.Pending++
				case outcome == jobCollected:
					sum.Collected++
				default:
					sum.Trained++
					if outcome == jobResumed {
						sum.Resumed++
					}
				}
				mu.Unlock()
			}
		})
	}
	unstarted := 0
feed:
	for k, i := range todo {
		if ctx.Err() == nil {
			select {
			case queue <- i:
				continue
			case <-ctx.Done():
			}
		}
		unstarted = len(todo) - k
		break feed
	}
	close(queue)
	wg.Wait()
	sum.Pending += unstarted
	if err := ctx.Err(); err != nil {
		errs = append(errs, fmt.Errorf("scaling: sweep stopped: %w", err))
	}
	return sum, errors.Join(errs...)
}

type jobOutcome int

const (
	jobPending jobOutcome = iota
	jobCollected
	jobTrained
	jobResumed
)

// runJob brings one job to its result and records it.
func (p *Plan) runJob(ctx context.Context, runner Runner, j Job, collectOnly bool, tag string, say func(string, ...any)) (jobOutcome, error) {
	run, ok, err := j.Result()
	if err != nil {
		return jobPending, err
	}
	outcome := jobCollected
	if !ok {
		if collectOnly {
			say("%s: not finished", tag)
			return jobPending, nil
		}
		outcome = jobTrained
		resume := j.resumable()
		how := "training"
		if resume {
			outcome, how = jobResumed, "resuming"
		}
		say("%s: %s (N = %d, D = %d, %d steps)", tag, how, j.N, j.Tokens, j.Steps)
		began := time.Now()
		if err := runner.RunJob(ctx, j, resume); err != nil {
			return jobPending, err
		}
		if run, ok, err = j.Result(); err != nil {
			return jobPending, err
		} else if !ok {
			return jobPending, fmt.Errorf("scaling: job %s: training ended without a val loss at step %d", j.Name, j.Steps)
		}
		say("%s: val loss %.4f in %.0f s", tag, run.Loss, time.Since(began).Seconds())
	} else {
		say("%s: finished earlier, val loss %.4f", tag, run.Loss)
	}
	if err := AppendResult(p.Sweep.Dir, run); err != nil {
		return jobPending, err
	}
	return outcome, nil
}
