package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llmos/llmos/data"
	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
	"github.com/llmos/llmos/tokenizer"
)

// childEnv, when set, makes the test binary run one training (the JSON
// RunConfig in the variable) instead of the tests: TestResumeAfterKill kills
// such a child with SIGKILL.
const childEnv = "LLMOS_TRAIN_CHILD"

func TestMain(m *testing.M) {
	if js := os.Getenv(childEnv); js != "" {
		var cfg RunConfig
		if err := json.Unmarshal([]byte(js), &cfg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// Slow steps give the parent time to kill the run between
		// checkpoints.
		cfg.OnStep = func(Record) { time.Sleep(40 * time.Millisecond) }
		if _, err := Run(context.Background(), cfg, nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testData prepares a small synthetic corpus (seeded, so the same on every
// run) with a 320-token tokenizer into a data directory, once per test binary.
var testData = func() func(t *testing.T) string {
	var dir string
	return func(t *testing.T) string {
		t.Helper()
		if dir != "" {
			return dir
		}
		tmp, err := os.MkdirTemp("", "llmos-train-data")
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(5, 5))
		names := []string{"Tom", "Lily", "Ben", "Sue", "Max", "Mia"}
		things := []string{"ball", "cat", "tree", "boat", "cake", "dog", "kite", "box"}
		verbs := []string{"saw", "liked", "found", "lost", "made", "wanted"}
		var sb strings.Builder
		for range 400 {
			n := names[r.IntN(len(names))]
			for range 2 + r.IntN(4) {
				fmt.Fprintf(&sb, "%s %s a %s. ", n, verbs[r.IntN(len(verbs))], things[r.IntN(len(things))])
			}
			sb.WriteString("The end.\n\n")
		}
		corpus := filepath.Join(tmp, "corpus.txt")
		if err := os.WriteFile(corpus, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(corpus)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		v, _, err := tokenizer.Train(context.Background(), f, tokenizer.TrainOptions{VocabSize: 320})
		if err != nil {
			t.Fatal(err)
		}
		tok := filepath.Join(tmp, "tok.gguf")
		if err := v.WriteFile(tok); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(tmp, "data")
		if _, err := data.Prepare(context.Background(), []string{corpus}, data.PrepareOptions{Tokenizer: tok, Out: out, ValFraction: 0.1}); err != nil {
			t.Fatal(err)
		}
		dir = out
		return dir
	}
}()

// smallRun is a run of a narrow stories260K on the synthetic data.
func smallRun(t *testing.T, dir string) RunConfig {
	cfg := DefaultRunConfig()
	cfg.Shape, cfg.Data, cfg.Dir = "stories260K", testData(t), dir
	cfg.Batch, cfg.SeqLen, cfg.Steps, cfg.Warmup = 2, 32, 16, 3
	cfg.EvalEvery, cfg.EvalBatches, cfg.CkptEvery = 4, 2, 3
	cfg.LR, cfg.Threads = 3e-3, 2
	return cfg
}

// same reports the first difference between two logs, ignoring timings.
func sameLog(a, b []Record) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d records, want %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		x.TokPerS, x.Elapsed, y.TokPerS, y.Elapsed = 0, 0, 0, 0
		if x != y {
			return fmt.Errorf("record %d: %+v, want %+v", i, x, y)
		}
	}
	return nil
}

// TestResumeAfterKill kills a training process with SIGKILL after a
// checkpoint, resumes it with another thread count, and requires the rest of
// the run to repeat an uninterrupted one bit for bit: losses, gradient
// norms, validation losses and the final parameters.
func TestResumeAfterKill(t *testing.T) {
	ref := smallRun(t, t.TempDir())
	want, err := Run(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want.TrainLoss >= want.Log[0].Loss {
		t.Errorf("training did not lower the loss: %g → %g", want.Log[0].Loss, want.TrainLoss)
	}

	dir := t.TempDir()
	cfg := smallRun(t, dir)
	js, _ := json.Marshal(cfg)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+string(js))
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, CheckpointFile)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(ckpt); err == nil {
			break
		}
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatal("the child wrote no checkpoint in 60 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(60 * time.Millisecond) // into the next checkpoint interval
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err == nil {
		t.Fatal("the child finished before it was killed; slow its steps down")
	}
	s, err := readCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	step := s.opt.Step
	s.close()
	if step >= cfg.Steps {
		t.Fatalf("killed after the last step (%d)", step)
	}
	t.Logf("killed after checkpoint at step %d of %d", step, cfg.Steps)

	got, err := Resume(context.Background(), dir, 1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameLog(got.Log, want.Log); err != nil {
		t.Errorf("resumed log differs from the uninterrupted one: %v", err)
	}
	onDisk, err := ReadLog(filepath.Join(dir, LogFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := sameLog(onDisk, want.Log); err != nil {
		t.Errorf("log.jsonl after the resume: %v", err)
	}
	a, b := loadModelFile(t, want.Model), loadModelFile(t, got.Model)
	for i, v := range a.Params.Data {
		if math.Float32bits(v) != math.Float32bits(b.Params.Data[i]) {
			t.Fatalf("final parameter %d: resumed %g, uninterrupted %g", i, b.Params.Data[i], v)
		}
	}
	for _, f := range []string{"loss.png", "loss.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func loadModelFile(t *testing.T, path string) *Model {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := LoadGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestExportedModelRuns: package model runs the exported file (F32, F16,
// Q8_0) and gives the logits of train's forward pass; the file carries the
// data's tokenizer and a chat template, and loads back for training.
func TestExportedModelRuns(t *testing.T) {
	dir := t.TempDir()
	cfg := smallRun(t, dir)
	cfg.Steps, cfg.CkptEvery, cfg.EvalEvery = 3, 0, 0
	if _, err := Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	const B, T = 2, 16
	tokens := make([]int32, B*T)
	for i := range tokens {
		tokens[i] = int32((i*37 + 11) % 320)
	}
	// Each export is compared with train's forward pass over its own
	// (dequantized) weights; inference rounds activations to F16 or Q8 for
	// those weight types, as llama.cpp does.
	for _, tc := range []struct {
		typ tensor.Type
		tol float64
	}{{tensor.F32, 1e-5}, {tensor.F16, 2e-3}, {tensor.Q8_0, 2e-2}} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			out := filepath.Join(dir, "export-"+tc.typ.String()+".gguf")
			if err := Export(dir, out, tc.typ); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			trained := loadModelFile(t, out)
			ws, err := trained.NewWorkspace(B, T, 2)
			if err != nil {
				t.Fatal(err)
			}
			if err := trained.Forward(ws, tokens); err != nil {
				t.Fatal(err)
			}
			if ti, _ := f.Tensor("blk.0.attn_q.weight"); ti.Type != tc.typ {
				t.Errorf("attn_q stored as %v, want %v", ti.Type, tc.typ)
			}
			if ti, _ := f.Tensor("blk.0.attn_norm.weight"); ti.Type != tensor.F32 {
				t.Errorf("a norm gain stored as %v, want F32", ti.Type)
			}
			if tmpl, _ := f.String("tokenizer.chat_template"); !strings.Contains(tmpl, "<|im_start|>") {
				t.Errorf("chat template %q is not ChatML", tmpl)
			}
			if _, err := tokenizer.FromGGUF(f); err != nil {
				t.Errorf("tokenizer of the export: %v", err)
			}
			logits := inferenceLogits(t, f, tokens, B, T)
			within(t, "inference vs training logits rel_max", relMax(logits, ws.Logits), tc.tol)
		})
	}
}

// TestRunErrors: bad configurations fail with an error before training.
func TestRunErrors(t *testing.T) {
	good := smallRun(t, t.TempDir())
	for _, tc := range []struct {
		name string
		edit func(*RunConfig)
	}{
		{"no model or shape", func(c *RunConfig) { c.Shape = "" }},
		{"both model and shape", func(c *RunConfig) { c.Model = "x.gguf" }},
		{"unknown shape", func(c *RunConfig) { c.Shape = "stories1B" }},
		{"no steps", func(c *RunConfig) { c.Steps = 0 }},
		{"zero lr", func(c *RunConfig) { c.LR = 0 }},
		{"beta1 of 1", func(c *RunConfig) { c.Beta1 = 1 }},
		{"seq past the context", func(c *RunConfig) { c.SeqLen = 4096 }},
		{"missing data", func(c *RunConfig) { c.Data = filepath.Join(c.Dir, "nowhere") }},
		{"missing model", func(c *RunConfig) { c.Shape, c.Model = "", filepath.Join(c.Dir, "nowhere.gguf") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			if _, err := Run(context.Background(), c, nil); err == nil {
				t.Error("no error")
			}
		})
	}
	if _, err := Resume(context.Background(), t.TempDir(), 1, nil, nil); err == nil {
		t.Error("resume without a checkpoint: no error")
	}
}

// TestRunCancel: a cancelled run stops with the context's error after
// writing a checkpoint that resumes.
func TestRunCancel(t *testing.T) {
	cfg := smallRun(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cfg.OnStep = func(r Record) {
		if r.Step == 2 {
			cancel()
		}
	}
	if _, err := Run(ctx, cfg, nil); err != context.Canceled {
		t.Fatalf("cancelled run returned %v, want context.Canceled", err)
	}
	res, err := Resume(context.Background(), cfg.Dir, 2, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != cfg.Steps {
		t.Errorf("resumed run ended at step %d, want %d", res.Steps, cfg.Steps)
	}
}
