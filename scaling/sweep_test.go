package scaling

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/llmos/llmos/data"
	"github.com/llmos/llmos/tokenizer"
	"github.com/llmos/llmos/train"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want Size
		err  bool
	}{
		{"64x4", Size{64, 4}, false},
		{" 32X2 ", Size{32, 2}, false},
		{"256x12", Size{256, 12}, false},
		{"64", Size{}, true},
		{"60x4", Size{}, true}, // not a whole number of heads
		{"0x2", Size{}, true},
		{"64x0", Size{}, true},
		{"axb", Size{}, true},
		{"", Size{}, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseSize(c.in)
			if (err != nil) != c.err || got != c.want {
				t.Fatalf("ParseSize(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
			}
			if err == nil && got.String() != strings.ToLower(strings.TrimSpace(c.in)) {
				t.Errorf("String() = %q, want %q", got.String(), c.in)
			}
		})
	}
}

func TestParseTokens(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		err  bool
	}{
		{"200000", 200000, false},
		{"2e5", 200000, false},
		{"200k", 200000, false},
		{"1.6M", 1600000, false},
		{"3G", 3000000000, false},
		{"0", 0, true},
		{"-5k", 0, true},
		{"0.4", 0, true},
		{"12q", 0, true},
		{"k", 0, true},
		{"1e300", 0, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseTokens(c.in)
			if (err != nil) != c.err || got != c.want {
				t.Fatalf("ParseTokens(%q) = %d, %v; want %d, error %v", c.in, got, err, c.want, c.err)
			}
		})
	}
}

// TestNonEmbeddingParams counts the parameters of the model train builds
// for each rung of the ladder and removes the two vocabulary matrices.
func TestNonEmbeddingParams(t *testing.T) {
	const vocab = 300
	for _, z := range Ladder {
		t.Run(z.String(), func(t *testing.T) {
			m, err := train.New(z.Config(vocab, 64), train.LMHead)
			if err != nil {
				t.Fatal(err)
			}
			want := int64(len(m.Params.Data) - len(m.Params.Embed) - len(m.Params.Head))
			if got := z.NonEmbeddingParams(); got != want {
				t.Errorf("NonEmbeddingParams = %d, want %d", got, want)
			}
			if h := z.Hidden(); h%16 != 0 || h < 8*z.Dim/3 || h >= 8*z.Dim/3+16 {
				t.Errorf("Hidden = %d for dim %d: want 8/3·dim rounded up to a multiple of 16", h, z.Dim)
			}
		})
	}
	if lo, hi := Ladder[0].NonEmbeddingParams(), Ladder[len(Ladder)-1].NonEmbeddingParams(); hi < 30*lo {
		t.Errorf("ladder spans N %d..%d, less than 30×", lo, hi)
	}
}

// sweepData is a data directory made once per test binary from a
// generated text: a 300-token tokenizer and a 10% val split.
var sweepData = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "llmos-sweep-data")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	animals := []string{"fox", "owl", "bear", "frog", "duck", "hen", "mole"}
	places := []string{"the pond", "a hill", "the barn", "a garden", "the woods"}
	for i := range 600 {
		a, p := animals[i%len(animals)], places[(i*3)%len(places)]
		fmt.Fprintf(&b, "A little %s went to %s. The %s was happy at %s, and it sang %d songs.\n\n", a, p, a, p, i%9+1)
	}
	corpus := filepath.Join(dir, "corpus.txt")
	if err := os.WriteFile(corpus, []byte(b.String()), 0o644); err != nil {
		return "", err
	}
	v, _, err := tokenizer.Train(context.Background(), strings.NewReader(b.String()), tokenizer.TrainOptions{VocabSize: 300})
	if err != nil {
		return "", err
	}
	tok := filepath.Join(dir, "tok.gguf")
	if err := v.WriteFile(tok); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "data")
	_, err = data.Prepare(context.Background(), []string{corpus}, data.PrepareOptions{Tokenizer: tok, Out: out, ValFraction: 0.1})
	return out, err
})

// tinySweep is a grid of 2 sizes × 2 budgets of a few hundred tokens.
func tinySweep(t *testing.T) Sweep {
	t.Helper()
	dataDir, err := sweepData()
	if err != nil {
		t.Fatalf("test data: %v", err)
	}
	s := DefaultSweep()
	s.Data, s.Dir = dataDir, t.TempDir()
	s.Sizes = []Size{{16, 1}, {32, 1}}
	s.Tokens = []int64{256, 640}
	s.Batch, s.SeqLen, s.EvalBatches, s.CkptEvery = 2, 32, 2, 2
	return s
}

// tinyPlan is the plan of tinySweep.
func tinyPlan(t *testing.T) (Sweep, *Plan) {
	t.Helper()
	s := tinySweep(t)
	p, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

func TestPlan(t *testing.T) {
	s, p := tinyPlan(t)
	names := []string{"16x1-D256", "16x1-D640", "32x1-D256", "32x1-D640"}
	steps := []int{4, 10, 4, 10} // 64 tokens a step, rounded up
	if len(p.Jobs) != len(names) {
		t.Fatalf("%d jobs, want %d", len(p.Jobs), len(names))
	}
	for i, j := range p.Jobs {
		if j.Name != names[i] || j.Steps != steps[i] {
			t.Errorf("job %d: %s with %d steps, want %s with %d", i, j.Name, j.Steps, names[i], steps[i])
		}
		if j.N != j.Size.NonEmbeddingParams() || j.Config.Tokens != j.Tokens {
			t.Errorf("job %s: N %d, tokens %d", j.Name, j.N, j.Config.Tokens)
		}
		if want := filepath.Join(s.Dir, RunsDir, j.Name); j.Config.Dir != want {
			t.Errorf("job %s: run dir %s, want %s", j.Name, j.Config.Dir, want)
		}
	}
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(s.Dir, JobsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != len(p.Jobs) {
		t.Fatalf("jobs.txt has %d lines, want %d", len(lines), len(p.Jobs))
	}
	for i, l := range lines {
		if want := p.Jobs[i].CommandLine("llmos", 0); l != want {
			t.Errorf("jobs.txt line %d = %q, want %q", i+1, l, want)
		}
		if strings.Contains(l, "--threads") {
			t.Errorf("jobs.txt line %d fixes the thread count: %s", i+1, l)
		}
	}
	for _, z := range s.Sizes {
		if _, err := os.Stat(filepath.Join(s.Dir, ModelsDir, z.String()+".gguf")); err != nil {
			t.Errorf("initial model of %s: %v", z, err)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Sweep)
		want   string
	}{
		{"no data", func(s *Sweep) { s.Data = "" }, "data directory"},
		{"missing data", func(s *Sweep) { s.Data = filepath.Join(s.Dir, "nothing") }, "no such file"},
		{"no sizes", func(s *Sweep) { s.Sizes = nil }, "at least one size"},
		{"duplicate job", func(s *Sweep) { s.Tokens = []int64{256, 256} }, "appears twice"},
		{"bad budget", func(s *Sweep) { s.Tokens = []int64{0} }, "must be positive"},
		{"no eval", func(s *Sweep) { s.EvalBatches = 0 }, "val loss is the result"},
		{"lr order", func(s *Sweep) { s.MinLR = 1 }, "min ≤ peak"},
		{"warmup", func(s *Sweep) { s.WarmupFrac = 1 }, "warmup fraction"},
		{"val too small", func(s *Sweep) { s.Batch, s.SeqLen = 512, 512 }, "val tokens"},
		{"bad shape", func(s *Sweep) { s.Sizes = []Size{{0, 1}} }, "size 0x1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := tinySweep(t)
			c.change(&s)
			_, err := s.Plan()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Plan() error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestCommandLineQuoting(t *testing.T) {
	j := Job{Config: train.DefaultRunConfig()}
	j.Config.Model, j.Config.Data, j.Config.Dir = "/m/a.gguf", "my data", "it's"
	j.Config.Tokens, j.Config.LR = 1000, 2e-3
	got := j.CommandLine("llmos", 3)
	for _, want := range []string{"llmos train --model /m/a.gguf --data 'my data' -o 'it'\\''s' --tokens 1000", "--lr 0.002", "--threads 3"} {
		if !strings.Contains(got, want) {
			t.Errorf("CommandLine = %s\nwant it to contain %s", got, want)
		}
	}
}

// inProcess trains jobs in this process with train.Run and train.Resume,
// the library calls behind 'llmos train'; it cancels the sweep after step
// stopAt[name] of a job, as a kill would stop it.
type inProcess struct {
	mu     sync.Mutex
	stopAt map[string]int
	cancel context.CancelFunc
	calls  []string
}

func (r *inProcess) RunJob(ctx context.Context, j Job, resume bool) error {
	r.mu.Lock()
	r.calls = append(r.calls, fmt.Sprintf("%s resume=%v", j.Name, resume))
	stop := r.stopAt[j.Name]
	r.mu.Unlock()
	onStep := func(rec train.Record) {
		if rec.Step == stop {
			r.cancel()
		}
	}
	var err error
	if resume {
		_, err = train.Resume(ctx, j.Config.Dir, 1, onStep, nil)
	} else {
		cfg := j.Config
		cfg.Threads, cfg.OnStep = 1, onStep
		_, err = train.Run(ctx, cfg, nil)
	}
	return err
}

func (r *inProcess) takeCalls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// TestSweepRun runs a 2 × 2 grid through a kill and three restarts: the
// killed job resumes from its checkpoint, recorded jobs are skipped, and
// runs that finished without being recorded are collected without training.
func TestSweepRun(t *testing.T) {
	s, p := tinyPlan(t)
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	killed := p.Jobs[1] // 10 steps, checkpoints every 2
	ctx, cancel := context.WithCancel(context.Background())
	r := &inProcess{stopAt: map[string]int{killed.Name: 5}, cancel: cancel}

	// 1: the sweep dies during job 2, after its checkpoint at step 4.
	sum, err := p.Run(ctx, r, RunOptions{Workers: 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("killed sweep: error %v, want context.Canceled", err)
	}
	if sum.Trained != 1 || sum.Pending != 3 {
		t.Errorf("killed sweep: %+v, want 1 trained, 3 pending", sum)
	}
	if _, ok, _ := killed.Result(); ok {
		t.Fatalf("job %s counts as finished after the kill", killed.Name)
	}

	// 2: the rerun resumes the killed job and trains the other two.
	r.cancel = func() { t.Error("no job should stop now") }
	sum, err = p.Run(context.Background(), r, RunOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum != (Summary{Skipped: 1, Trained: 3, Resumed: 1}) {
		t.Errorf("rerun: %+v, want 1 skipped, 3 trained of which 1 resumed", sum)
	}
	calls := r.takeCalls()
	slices.Sort(calls)
	want := []string{"16x1-D256 resume=false", "16x1-D640 resume=false", "16x1-D640 resume=true", "32x1-D256 resume=false", "32x1-D640 resume=false"}
	if !slices.Equal(calls, want) {
		t.Errorf("runner calls %q, want %q", calls, want)
	}
	log, err := train.ReadLog(filepath.Join(killed.Config.Dir, train.LogFile))
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for _, rec := range log {
		if rec.Kind == "train" {
			steps = append(steps, rec.Step)
		}
	}
	if len(steps) != killed.Steps || steps[0] != 1 || steps[len(steps)-1] != killed.Steps {
		t.Errorf("resumed job's train steps %v, want 1..%d once each", steps, killed.Steps)
	}

	runs, err := ReadResults(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(p.Jobs) {
		t.Fatalf("%d results, want %d", len(runs), len(p.Jobs))
	}
	for _, run := range runs {
		j := p.Jobs[slices.IndexFunc(p.Jobs, func(j Job) bool { return j.Name == run.Name })]
		if run.N != float64(j.N) || run.D != float64(j.Steps*s.Batch*s.SeqLen) || run.C != 6*run.N*run.D || !(run.Loss > 0 && run.Loss < 10) {
			t.Errorf("result %+v for job %s (N %d, %d steps)", run, j.Name, j.N, j.Steps)
		}
	}

	// 3: everything recorded: nothing runs.
	sum, err = p.Run(context.Background(), r, RunOptions{Workers: 2})
	if err != nil || sum != (Summary{Skipped: 4}) || len(r.takeCalls()) != 0 {
		t.Errorf("third run: %+v, %v, want 4 skipped and no training", sum, err)
	}

	// 4: results lost (or runs made elsewhere): collected from the run
	// directories, with the same losses.
	if err := os.Remove(filepath.Join(s.Dir, ResultsFile)); err != nil {
		t.Fatal(err)
	}
	sum, err = p.Run(context.Background(), r, RunOptions{CollectOnly: true})
	if err != nil || sum != (Summary{Collected: 4}) || len(r.takeCalls()) != 0 {
		t.Errorf("collect: %+v, %v, want 4 collected and no training", sum, err)
	}
	again, err := ReadResults(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(runs, func(a, b Run) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(again, func(a, b Run) int { return strings.Compare(a.Name, b.Name) })
	if !slices.Equal(runs, again) {
		t.Errorf("collected %+v\nwant %+v", again, runs)
	}
}

// TestSweepCollectOnlyPending leaves unfinished jobs pending.
func TestSweepCollectOnlyPending(t *testing.T) {
	s, p := tinyPlan(t)
	r := &inProcess{}
	sum, err := p.Run(context.Background(), r, RunOptions{CollectOnly: true})
	if err != nil || sum != (Summary{Pending: 4}) || len(r.calls) != 0 {
		t.Errorf("collect-only on an empty sweep: %+v, %v, want 4 pending", sum, err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, ResultsFile)); err == nil {
		t.Error("collect-only wrote results for jobs that never ran")
	}
}

// TestExecRunnerFailure runs a program that fails: the sweep reports the
// job and the program's last words, and goes on with the other jobs.
func TestExecRunnerFailure(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh:", err)
	}
	script := filepath.Join(t.TempDir(), "fail.sh")
	if err := os.WriteFile(script, []byte("#!"+sh+"\necho \"no luck with $1 $2 $3\" >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, p := tinyPlan(t)
	sum, err := p.Run(context.Background(), ExecRunner{Program: script, Threads: 1}, RunOptions{Workers: 2})
	if err == nil {
		t.Fatal("no error from a failing program")
	}
	for _, want := range []string{"job 16x1-D256", "exit status 3", "no luck with train --model " + p.Jobs[0].Model} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if sum.Pending != 4 {
		t.Errorf("summary %+v, want 4 pending", sum)
	}
}

func TestLRFor(t *testing.T) {
	cases := []struct {
		lrDim       int
		size        Size
		peak, final float64
	}{
		{0, Size{64, 4}, 4e-3, 4e-4},
		{128, Size{128, 5}, 4e-3, 4e-4},
		{128, Size{64, 4}, 8e-3, 8e-4},
		{128, Size{256, 6}, 2e-3, 2e-4},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d/%s", c.lrDim, c.size), func(t *testing.T) {
			s := Sweep{LR: 4e-3, MinLR: 4e-4, LRDim: c.lrDim}
			peak, final := s.LRFor(c.size)
			if math.Abs(peak-c.peak) > 1e-12 || math.Abs(final-c.final) > 1e-12 {
				t.Errorf("LRFor = %g, %g; want %g, %g", peak, final, c.peak, c.final)
			}
		})
	}
	s := tinySweep(t)
	s.LRDim = 32
	p, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Jobs[0].Config.LR; math.Abs(got-2*s.LR) > 1e-12 {
		t.Errorf("job %s has peak rate %g, want %g", p.Jobs[0].Name, got, 2*s.LR)
	}
}

func TestShortJobs(t *testing.T) {
	cases := []struct {
		name  string
		steps []int
		want  []string
	}{
		{"none", []int{MinSteps, 5000}, nil},
		{"mixed", []int{98, MinSteps, MinSteps - 1, 977}, []string{"j0", "j2"}},
		{"all", []int{1, 98}, []string{"j0", "j1"}},
		{"empty plan", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &Plan{}
			for i, s := range c.steps {
				p.Jobs = append(p.Jobs, Job{Name: fmt.Sprintf("j%d", i), Steps: s})
			}
			var got []string
			for _, j := range p.ShortJobs() {
				got = append(got, j.Name)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("short jobs %v, want %v", got, c.want)
			}
		})
	}
}
