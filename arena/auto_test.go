package arena

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/internal/testenv"
	"github.com/llmos/llmos/internal/testmodel"
	"github.com/llmos/llmos/model"
	"github.com/llmos/llmos/tensor"
	"github.com/llmos/llmos/train"
)

// comparerFunc adapts a function to Comparer.
type comparerFunc func(prompt, first, second string) (bool, error)

func (f comparerFunc) PreferFirst(_ context.Context, prompt, first, second string) (bool, error) {
	return f(prompt, first, second)
}

func TestSwapJudge(t *testing.T) {
	longer := comparerFunc(func(_, a, b string) (bool, error) { return len(a) > len(b), nil })
	cases := []struct {
		name     string
		c        Comparer
		a, b     string
		want     string
		wantsErr bool
	}{
		{"always first: position bias cancels", comparerFunc(func(_, _, _ string) (bool, error) { return true, nil }), "x", "yy", WinnerTie, false},
		{"always second: position bias cancels", comparerFunc(func(_, _, _ string) (bool, error) { return false, nil }), "x", "yy", WinnerTie, false},
		{"consistent for A", longer, "a long answer", "short", WinnerA, false},
		{"consistent for B", longer, "short", "a long answer", WinnerB, false},
		{"no preference", longer, "same", "size", WinnerTie, false},
		{"error", comparerFunc(func(_, _, _ string) (bool, error) { return false, errors.New("judge died") }), "a", "b", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := SwapJudge{c.c}.Judge(context.Background(), "q", c.a, c.b)
			if (err != nil) != c.wantsErr || got != c.want {
				t.Fatalf("Judge = %q, %v; want %q (error %v)", got, err, c.want, c.wantsErr)
			}
		})
	}
}

// TestPlayAutoRecoversQuality plays stub models of known quality before a
// judge that prefers the better answer but, when unsure, the first one
// shown: the leaderboard must come back in the order of quality, and every
// pair must be played in both seatings.
func TestPlayAutoRecoversQuality(t *testing.T) {
	quality := map[string]int{"strong-7b": 3, "middle-3b": 2, "weak-1b": 1}
	var cs []Contestant
	for name, q := range quality {
		cs = append(cs, &stubContestant{name: name, answer: func(p string) string { return "quality " + strconv.Itoa(q) + " answer to " + p }})
	}
	rng := rand.New(rand.NewPCG(3, 4))
	judge := SwapJudge{comparerFunc(func(_, first, second string) (bool, error) {
		qa, qb := first[8]-'0', second[8]-'0'
		if rng.Float64() < 0.3 { // a noisy, position-biased judge
			return true, nil
		}
		return qa > qb, nil
	})}
	store, err := OpenStore(filepath.Join(t.TempDir(), "votes.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	prompts := []string{"p1", "p2", "p3", "p4", "p5"}
	progress := 0
	votes, err := PlayAuto(context.Background(), cs, prompts, judge, store, &AutoOptions{Rounds: 4, Seed: 9, Progress: func(done, total int, _ Vote) {
		progress++
		if done != progress || total != 4*5*3 {
			t.Errorf("progress %d/%d at call %d", done, total, progress)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(votes) != 60 {
		t.Fatalf("%d votes, want 4 rounds × 5 prompts × 3 pairs = 60", len(votes))
	}
	seats := map[string]bool{}
	for _, v := range votes {
		seats[v.ModelA+">"+v.ModelB] = true
		if !strings.HasSuffix(v.AnswerA, v.Prompt) || !strings.HasSuffix(v.AnswerB, v.Prompt) {
			t.Fatalf("vote %+v: answers to another prompt", v)
		}
	}
	if len(seats) != 6 {
		t.Errorf("seatings played: %v, want all 6", seats)
	}
	battles, err := store.Battles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lb, err := ComputeLeaderboard(context.Background(), battles, &Options{Bootstrap: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"strong-7b", "middle-3b", "weak-1b"} {
		if lb.Ratings[i].Model != want {
			t.Fatalf("leaderboard %v, want strong, middle, weak", lb.Ratings)
		}
	}
}

func TestPlayAutoErrors(t *testing.T) {
	store, err := OpenStore(filepath.Join(t.TempDir(), "votes.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tie := comparerFunc(func(_, _, _ string) (bool, error) { return true, nil })
	broken := &stubContestant{name: "broken-1b", fail: true}
	cases := []struct {
		name    string
		cs      []Contestant
		prompts []string
		opts    *AutoOptions
		want    string
	}{
		{"one model", stubs("a-1b"), []string{"p"}, nil, "at least two"},
		{"no prompts", stubs("a-1b", "b-1b"), nil, nil, "no prompts"},
		{"negative rounds", stubs("a-1b", "b-1b"), []string{"p"}, &AutoOptions{Rounds: -1}, "rounds"},
		{"failing model", append(stubs("a-1b"), broken), []string{"p"}, nil, "broken-1b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := PlayAuto(context.Background(), c.cs, c.prompts, SwapJudge{tie}, store, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestLoadPrompts(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		file, body string
		want       []string
		err        string
	}{
		{"p.txt", "Tell me a joke.\n\n  Why is the sky blue?  \n", []string{"Tell me a joke.", "Why is the sky blue?"}, ""},
		{"p.jsonl", `{"prompt": "line one\nline two"}` + "\n" + `{"prompt": "b", "id": 2}`, []string{"line one\nline two", "b"}, ""},
		{"bad.jsonl", `{"question": "x"}`, nil, `no "prompt"`},
		{"empty.txt", "\n \n", nil, "no prompts"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join(dir, c.file)
			os.WriteFile(path, []byte(c.body), 0o644)
			got, err := LoadPrompts(path)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Fatalf("LoadPrompts = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// TestRewardModelMatchesPyTorch scores the reward fixture's sequences (a
// llama trunk with reward_head.weight, computed by PyTorch in float64) after
// exporting it as a GGUF model.
func TestRewardModelMatchesPyTorch(t *testing.T) {
	f, err := gguf.Open(testenv.Fixtures(t, "train", "reward.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := func(key string) int {
		v, ok := f.Uint(key)
		if !ok {
			t.Fatalf("fixture lacks %s", key)
		}
		return int(v)
	}
	fl := func(key string) float64 {
		v, _ := f.Float(key)
		d, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', -1, 32), 64)
		return d
	}
	cfg := train.Config{Dim: u("cfg.dim"), Layers: u("cfg.n_layers"), Heads: u("cfg.n_heads"), KVHeads: u("cfg.n_kv_heads"),
		HeadDim: u("cfg.head_dim"), Hidden: u("cfg.hidden_dim"), Vocab: u("cfg.vocab_size"), SeqLen: u("cfg.seq_len"),
		NormEps: fl("cfg.norm_eps"), RopeBase: fl("cfg.rope_base")}
	tm, err := train.Load(f, cfg, train.RewardHead, "param.")
	if err != nil {
		t.Fatal(err)
	}
	w := gguf.NewWriter()
	tm.AddTo(w)
	path := filepath.Join(t.TempDir(), "reward.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	rf, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	m, err := model.Load(rf)
	if err != nil {
		t.Fatal(err)
	}
	pool := tensor.NewPool(2)
	defer pool.Close()
	// The fixture has no tokenizer; ScoreTokens needs none.
	rm, err := NewRewardModel(&engine.Engine{File: rf, Model: m, Pool: pool, Context: cfg.SeqLen})
	if err != nil {
		t.Fatal(err)
	}
	i32 := func(name string) []int32 {
		ti, _ := f.Tensor(name)
		out := make([]int32, len(ti.Data)/4)
		for i := range out {
			out[i] = int32(binary.LittleEndian.Uint32(ti.Data[4*i:]))
		}
		return out
	}
	for _, side := range []string{"chosen", "rejected"} {
		toks, lens := i32("input."+side+".tokens"), i32("input."+side+".len")
		ti, _ := f.Tensor("ref." + side + "_rewards")
		for k, n := range lens {
			want := float64(math.Float32frombits(binary.LittleEndian.Uint32(ti.Data[4*k:])))
			got, err := rm.ScoreTokens(context.Background(), toks[k*cfg.SeqLen:k*cfg.SeqLen+int(n)])
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-want) > 1e-5 {
				t.Errorf("%s %d: reward %.7f, PyTorch %.7f", side, k, got, want)
			}
		}
	}
	if _, err := rm.ScoreTokens(context.Background(), make([]int32, cfg.SeqLen+1)); err == nil {
		t.Error("a sequence past the context: no error")
	}
}

// TestAutoWithFixtureModels is one real run: two fixture models answer,
// judged once by a model comparing them and once by a reward model made
// from a fixture trunk with a random head.
func TestAutoWithFixtureModels(t *testing.T) {
	open := func(name string) *engine.Engine {
		e, err := engine.Open(testenv.Fixtures(t, "llama", "models", name), engine.Options{Threads: 2, Context: 512})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	}
	var cs []Contestant
	var lm *engine.Engine
	for _, name := range []string{"llama2c-260K.f32.gguf", "spm512-llama.q8_0.gguf"} {
		lm = open(name)
		c, err := NewEngineContestant(ModelName(name), lm, engine.Request{MaxTokens: 12})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	cmp, err := NewModelComparer(open("llama2c-260K.f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	rewardPath := withRewardHead(t, testenv.Fixtures(t, "llama", "models", "llama2c-260K.f32.gguf"))
	re, err := engine.Open(rewardPath, engine.Options{Threads: 2, Context: 512})
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	if !HasRewardHead(re) || HasRewardHead(lm) {
		t.Fatal("HasRewardHead does not tell the reward model from the language model")
	}
	rm, err := NewRewardModel(re)
	if err != nil {
		t.Fatal(err)
	}
	prompts := []string{"Once upon a time", "Tell me about a cat."}
	for _, judge := range []Judge{SwapJudge{cmp}, RewardJudge{Model: rm}} {
		store, err := OpenStore(filepath.Join(t.TempDir(), "votes.db"))
		if err != nil {
			t.Fatal(err)
		}
		votes, err := PlayAuto(context.Background(), cs, prompts, judge, store, nil)
		store.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(votes) != 2 {
			t.Fatalf("%d votes, want 2", len(votes))
		}
		for _, v := range votes {
			if err := v.Battle().Validate(); err != nil || v.AnswerA == "" && v.AnswerB == "" {
				t.Errorf("vote %+v: %v", v, err)
			}
		}
	}
	// The reward judge must follow the rewards it computes.
	ra, _ := rm.Score(context.Background(), "Hi", "Once upon a time there was a cat.")
	rb, _ := rm.Score(context.Background(), "Hi", "zzz")
	want := WinnerA
	if rb > ra {
		want = WinnerB
	}
	if ra == rb {
		t.Fatalf("two different answers got the same reward %v", ra)
	}
	if got, _ := (RewardJudge{Model: rm}).Judge(context.Background(), "Hi", "Once upon a time there was a cat.", "zzz"); got != want {
		t.Errorf("reward judge says %s for rewards %v and %v", got, ra, rb)
	}
	if got, _ := (RewardJudge{Model: rm, Margin: math.Abs(ra-rb) + 1}).Judge(context.Background(), "Hi", "Once upon a time there was a cat.", "zzz"); got != WinnerTie {
		t.Errorf("rewards within the margin: %s, want a tie", got)
	}
}

// withRewardHead copies a model file and adds a random reward head.
func withRewardHead(t *testing.T, src string) string {
	rng := rand.New(rand.NewPCG(1, 2))
	return testmodel.WithRewardHead(t, src, RewardHeadName, func(int) float32 { return float32(rng.NormFloat64()) })
}
