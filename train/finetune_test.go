package train

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmos/llmos/arena"
	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/convo"
	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tokenizer"
)

// tinyBase writes a freshly initialised small llama model with a trained
// byte-level BPE vocabulary (which has <|im_start|> and <|im_end|>) and no
// chat template, so fine-tuning falls back to ChatML.
func tinyBase(t *testing.T) string {
	t.Helper()
	text := strings.Repeat("The red apple. The blue sky. user assistant system Hello there! ", 20)
	v, _, err := tokenizer.Train(context.Background(), strings.NewReader(text), tokenizer.TrainOptions{VocabSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Dim: 32, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 8, Hidden: 64, Vocab: len(v.Tokens),
		SeqLen: 64, NormEps: 1e-5, RopeBase: 10000}, LMHead)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	w := gguf.NewWriter()
	m.AddTo(w)
	if err := v.AddTo(w); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "base.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	things = []string{"apple", "sky", "grass", "sun", "snow", "coal", "rose", "sea"}
	colors = []string{"red", "blue", "green", "yellow", "white", "black", "pink", "blue"}
)

// writeJSONL writes one JSON value per line.
func writeJSONL(t *testing.T, name string, recs []any) string {
	t.Helper()
	var sb strings.Builder
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		sb.Write(append(b, '\n'))
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// colorConversations: "What colour is the X?" answered "The X is C." — the
// answer is a function of the question, so the assistant loss can fall far.
func colorConversations(t *testing.T, n int) string {
	r := rand.New(rand.NewPCG(1, 1))
	var recs []any
	for range n {
		i := r.IntN(len(things))
		recs = append(recs, convo.Conversation{Messages: []chat.Message{
			{Role: "user", Content: "What colour is the " + things[i] + "?"},
			{Role: "assistant", Content: "The " + things[i] + " is " + colors[i] + "."},
		}})
	}
	return writeJSONL(t, "convs.jsonl", recs)
}

// colorPairs: the chosen answer names the right colour, the rejected one a
// wrong colour; the prompt comes as a string, as messages or as ShareGPT.
func colorPairs(t *testing.T, n int) string {
	r := rand.New(rand.NewPCG(2, 2))
	var recs []any
	for k := range n {
		i := r.IntN(len(things))
		j := (i + 1 + r.IntN(len(things)-2)) % len(things)
		if colors[j] == colors[i] {
			j = (j + 1) % len(things)
		}
		q := "What colour is the " + things[i] + "?"
		good, bad := "The "+things[i]+" is "+colors[i]+".", "The "+things[i]+" is "+colors[j]+"."
		switch k % 3 {
		case 0:
			recs = append(recs, map[string]any{"prompt": q, "chosen": good, "rejected": bad})
		case 1:
			recs = append(recs, map[string]any{"messages": []chat.Message{{Role: "user", Content: q}},
				"chosen": []chat.Message{{Role: "assistant", Content: good}}, "rejected": bad})
		default:
			recs = append(recs, map[string]any{"conversations": []map[string]string{{"from": "human", "value": q}},
				"chosen": map[string]string{"from": "gpt", "value": good}, "rejected": map[string]string{"from": "gpt", "value": bad}})
		}
	}
	return writeJSONL(t, "pairs.jsonl", recs)
}

func finetuneRun(objective, model, data, dir string) RunConfig {
	cfg := DefaultRunConfig()
	cfg.Objective, cfg.Model, cfg.Data, cfg.Dir = objective, model, data, dir
	cfg.Batch, cfg.Steps, cfg.Warmup, cfg.LR, cfg.MinLR = 8, 40, 4, 1e-2, 1e-3
	cfg.EvalEvery, cfg.EvalBatches, cfg.CkptEvery, cfg.ValFraction = 10, 4, 10, 0.2
	cfg.Threads, cfg.Beta, cfg.WeightDecay = 2, 0.1, 0
	return cfg
}

func valRecords(log []Record) []Record {
	var out []Record
	for _, r := range log {
		if r.Kind == "val" {
			out = append(out, r)
		}
	}
	return out
}

// TestSFTRun fine-tunes a fresh tiny model on conversations: the
// validation loss on assistant tokens falls, the exported model carries the
// ChatML template, and a run cancelled after a checkpoint resumes onto the
// uninterrupted run's log bit for bit.
func TestSFTRun(t *testing.T) {
	base, data := tinyBase(t), colorConversations(t, 200)
	cfg := finetuneRun(SFT, base, data, t.TempDir())
	cfg.SeqLen = 64
	want, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	val := valRecords(want.Log)
	if len(val) != 4 {
		t.Fatalf("%d evaluations, want 4", len(val))
	}
	t.Logf("sft val loss %.3f → %.3f over %d steps", val[0].Loss, val[len(val)-1].Loss, want.Steps)
	if first, last := val[0].Loss, val[len(val)-1].Loss; !(last < 0.6*first) {
		t.Errorf("val loss %.3f → %.3f: did not fall by 40%%", first, last)
	}
	f, err := gguf.Open(want.Model)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, _ := f.String("tokenizer.chat_template")
	f.Close()
	if tmpl != chat.ChatML {
		t.Errorf("exported chat template is not ChatML: %.60q", tmpl)
	}

	cancelAndResume(t, cfg, 13, want.Log)
}

// cancelAndResume runs cfg in a new directory, cancels it after step stop
// (a checkpoint is written), resumes it on one thread and compares the log
// with want.
func cancelAndResume(t *testing.T, cfg RunConfig, stop int, want []Record) {
	t.Helper()
	cfg.Dir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cfg.OnStep = func(r Record) {
		if r.Step == stop {
			cancel()
		}
	}
	if _, err := Run(ctx, cfg, nil); err != context.Canceled {
		t.Fatalf("cancelled run: %v", err)
	}
	got, err := Resume(context.Background(), cfg.Dir, 1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameLog(got.Log, want); err != nil {
		t.Errorf("resumed %s run differs: %v", cfg.Objective, err)
	}
}

// TestRewardRun trains a reward model on pairs that need the question and
// the answer together: held-out pairwise accuracy rises well above chance.
// The exported file is a trunk with reward_head.weight, no output.weight,
// marked as a reward model, and arena's reward judge reads the same rewards
// from it as training computes.
func TestRewardRun(t *testing.T) {
	base, data := tinyBase(t), colorPairs(t, 240)
	cfg := finetuneRun(Reward, base, data, t.TempDir())
	cfg.Steps, cfg.EvalEvery = 60, 15
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	val := valRecords(res.Log)
	t.Logf("reward val accuracy %.3f → %.3f, loss %.3f → %.3f", val[0].Accuracy, res.ValAccuracy, val[0].Loss, res.ValLoss)
	if res.ValAccuracy < 0.8 {
		t.Errorf("held-out pairwise accuracy %.3f, want ≥ 0.8", res.ValAccuracy)
	}
	f, err := gguf.Open(res.Model)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := f.Tensor("output.weight"); ok {
		t.Error("the reward model has output.weight")
	}
	if ti, ok := f.Tensor(rewardHeadName); !ok || ti.Elements() != 32 {
		t.Errorf("%s missing or mis-shaped", rewardHeadName)
	}
	if !hasTrue(f, KeyRewardModel) {
		t.Errorf("%s is not set", KeyRewardModel)
	}

	// The judge scores prompt + answer with the model's template, as
	// training does; compare on one pair of the data.
	e, err := engine.Open(res.Model, engine.Options{Threads: 2, Context: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rm, err := arena.NewRewardModel(e)
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := convo.ReadPairs(data)
	if err != nil {
		t.Fatal(err)
	}
	m := loadRewardFile(t, res.Model)
	enc, err := convo.EncoderFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	c, r, err := enc.EncodePair(pairs[0])
	if err != nil {
		t.Fatal(err)
	}
	o := &pairObjective{cfg: RunConfig{Batch: 1}, T: 64}
	if _, err := o.start(m, nil); err != nil {
		t.Fatal(err)
	}
	o.fill([]pair{{c, r}}, 0)
	want, err := m.Rewards(o.ws, o.batch)
	if err != nil {
		t.Fatal(err)
	}
	for side, msgs := range map[int][]chat.Message{0: pairs[0].Chosen, 1: pairs[0].Rejected} {
		got, err := rm.Score(context.Background(), pairs[0].Prompt[0].Content, msgs[0].Content)
		if err != nil {
			t.Fatal(err)
		}
		w := want.Chosen[0]
		if side == 1 {
			w = want.Rejected[0]
		}
		if math.Abs(got-w) > 1e-3*math.Max(1, math.Abs(w)) {
			t.Errorf("side %d: arena judge reward %.6f, training %.6f", side, got, w)
		}
	}
}

func hasTrue(f *gguf.File, key string) bool {
	for _, kv := range f.KV {
		if kv.Key == key {
			v, ok := kv.Value.(bool)
			return ok && v
		}
	}
	return false
}

func loadRewardFile(t *testing.T, path string) *Model {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := ConfigFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(f, c, RewardHead, "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDPORun runs DPO from an SFT'd model: the implicit reward margin on
// held-out pairs grows and ends positive, and a resumed run (reference
// log-probabilities recomputed from the starting model) repeats the log.
func TestDPORun(t *testing.T) {
	base := tinyBase(t)
	sftCfg := finetuneRun(SFT, base, colorConversations(t, 120), t.TempDir())
	sftCfg.Steps, sftCfg.EvalBatches = 15, 0
	sftRes, err := Run(context.Background(), sftCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := colorPairs(t, 160)
	cfg := finetuneRun(DPO, sftRes.Model, data, t.TempDir())
	cfg.Steps = 30
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	val := valRecords(res.Log)
	first, last := val[0], val[len(val)-1]
	t.Logf("dpo val margin %.4f → %.4f, accuracy %.3f → %.3f, loss %.4f → %.4f", first.Margin, last.Margin, first.Accuracy, last.Accuracy, first.Loss, last.Loss)
	if !(last.Margin > first.Margin && last.Margin > 0 && last.Loss < math.Ln2) {
		t.Errorf("held-out implicit reward margin %.4f → %.4f (loss %.4f): did not grow past 0", first.Margin, last.Margin, last.Loss)
	}
	if last.Accuracy <= 0.5 {
		t.Errorf("held-out DPO accuracy %.3f, want above chance", last.Accuracy)
	}

	cancelAndResume(t, cfg, 11, res.Log)
}

// TestFinetuneErrors: bad fine-tuning configurations and data fail with an
// error before training.
func TestFinetuneErrors(t *testing.T) {
	base := tinyBase(t)
	convs := colorConversations(t, 20)
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte(`{"messages":[{"role":"user","content":"hi"}]}`+"\n"), 0o644)
	for _, tc := range []struct {
		name string
		edit func(*RunConfig)
	}{
		{"unknown objective", func(c *RunConfig) { c.Objective = "rlhf" }},
		{"shape instead of model", func(c *RunConfig) { c.Model, c.Shape = "", "stories260K" }},
		{"dpo without beta", func(c *RunConfig) { c.Objective, c.Beta = DPO, 0 }},
		{"val fraction 1", func(c *RunConfig) { c.ValFraction = 1 }},
		{"no validation data", func(c *RunConfig) { c.ValFraction = 0 }},
		{"conversation without answer", func(c *RunConfig) { c.Data = bad }},
		{"pairs file with conversations", func(c *RunConfig) { c.Objective = Reward }},
		{"missing data", func(c *RunConfig) { c.Data = filepath.Join(c.Dir, "none.jsonl") }},
		{"missing model", func(c *RunConfig) { c.Model = filepath.Join(c.Dir, "none.gguf") }},
		{"seq past the context", func(c *RunConfig) { c.SeqLen = 65 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := finetuneRun(SFT, base, convs, t.TempDir())
			tc.edit(&c)
			if _, err := Run(context.Background(), c, nil); err == nil {
				t.Error("no error")
			}
		})
	}
}

// TestPairCursor: the training order is a permutation per epoch, and a
// cursor moved to a saved position continues identically.
func TestPairCursor(t *testing.T) {
	a := newCursor(5, 9)
	var seq []int
	for range 12 {
		seq = append(seq, a.take())
	}
	for e := range 2 {
		seen := map[int]bool{}
		for _, v := range seq[5*e : 5*e+5] {
			seen[v] = true
		}
		if len(seen) != 5 {
			t.Errorf("epoch %d visits %v, not a permutation", e, seq[5*e:5*e+5])
		}
	}
	b := newCursor(5, 9)
	for range 7 {
		b.take()
	}
	pos, _ := json.Marshal(b)
	c := newCursor(5, 9)
	if err := c.seek(string(pos)); err != nil {
		t.Fatal(err)
	}
	for i := 7; i < 12; i++ {
		if v := c.take(); v != seq[i] {
			t.Fatalf("after seek to %s: take %d = %d, want %d", pos, i, v, seq[i])
		}
	}
	if err := c.seek(`{"epoch":0,"next":9}`); err == nil {
		t.Error("seek past the data: no error")
	}
}
