package eval

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/internal/testenv"
)

func TestWilson(t *testing.T) {
	cases := []struct {
		k, n   int
		lo, hi float64
	}{
		{5, 10, 0.2366, 0.7634},
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
		{81, 100, 0.7222, 0.8749},
		{0, 0, 0, 1},
	}
	for _, c := range cases {
		lo, hi := Wilson(c.k, c.n)
		if math.Abs(lo-c.lo) > 1e-4 || math.Abs(hi-c.hi) > 1e-4 {
			t.Errorf("Wilson(%d, %d) = [%.4f, %.4f], want [%.4f, %.4f]", c.k, c.n, lo, hi, c.lo, c.hi)
		}
	}
}

func TestExtractAnswer(t *testing.T) {
	cases := []struct{ text, want string }{
		{"She sells 9 eggs for $2 each.\n#### 18", "18"},
		{"#### 1,000 and then 5", "1,000"},
		{"The answer is 42.", "42"},
		{"It costs -3.5 dollars, not 7", "7"},
		{"no number here", ""},
		{"#### none, but 12 earlier", "12"},
	}
	for _, c := range cases {
		if got := ExtractAnswer(c.text); got != c.want {
			t.Errorf("ExtractAnswer(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestNumbersEqual(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"1,000", "1000", true},
		{"18.", "18", true},
		{"$5", "5.00", true},
		{"0.5", "1/2", true},
		{"18", "81", false},
		{"", "0", false},
		{"abc", "abc", false},
	}
	for _, c := range cases {
		if got := NumbersEqual(c.a, c.b); got != c.want {
			t.Errorf("NumbersEqual(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestLoadJSONL(t *testing.T) {
	cases := []struct {
		name, body string
		kind       Kind
		items      int
		err        string
	}{
		{"mc", `{"context": "2+2=", "choices": ["4", "5"], "answer": 0}` + "\n\n" + `{"choices": ["a", "b", "c"], "answer": 2}`, MultipleChoice, 2, ""},
		{"exact", `{"prompt": "2+2=", "answer": "4"}` + "\n" + `{"prompt": "3+3=", "answer": 6}`, ExactMatch, 2, ""},
		{"mixed", `{"prompt": "x", "answer": "4"}` + "\n" + `{"choices": ["a", "b"], "answer": 0}`, "", 0, "line 2: a multiple_choice item in a exact_match task"},
		{"bad index", `{"choices": ["a", "b"], "answer": 2}`, "", 0, "not an index"},
		{"one choice", `{"choices": ["a"], "answer": 0}`, "", 0, "at least 2"},
		{"no answer", `{"prompt": "x"}`, "", 0, `missing "answer"`},
		{"neither", `{"question": "x", "answer": 1}`, "", 0, "want {"},
		{"object answer", `{"prompt": "x", "answer": {}}`, "", 0, "string or a number"},
		{"not json", `{"prompt": `, "", 0, "line 1"},
		{"empty", "\n\n", "", 0, "no items"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), c.name+".jsonl")
			if err := os.WriteFile(path, []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			task, err := LoadJSONL(path)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if task.Kind != c.kind || len(task.Items) != c.items || task.Name != c.name {
				t.Fatalf("got %s task %q of %d items, want %s %q of %d", task.Kind, task.Name, len(task.Items), c.kind, c.name, c.items)
			}
		})
	}
}

func TestLoadBuiltins(t *testing.T) {
	testenv.Data(t, "blimp", "blimp.zip")
	dir := testenv.DataDir()
	opts := LoadOptions{DataDir: dir}
	tasks, err := LoadTasks("blimp:anaphor_gender_agreement", opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || len(tasks[0].Items) != 1000 || tasks[0].Items[0].Choices[0] != "Katherine can't help herself." {
		t.Fatalf("blimp:anaphor_gender_agreement: %d tasks, first %+v", len(tasks), tasks[0].Items[0])
	}
	if !testing.Short() {
		all, err := LoadTasks("blimp", opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 67 {
			t.Errorf("blimp: %d paradigms, want 67", len(all))
		}
	}
	if _, err := LoadTasks("blimp:no_such_paradigm", opts); err == nil || !strings.Contains(err.Error(), "anaphor_gender_agreement") {
		t.Errorf("unknown paradigm: err = %v, want the list of paradigms", err)
	}
	g, err := LoadTasks("gsm8k", LoadOptions{DataDir: dir, Shots: 2})
	if err != nil {
		t.Fatal(err)
	}
	it := g[0].Items[0]
	if len(g[0].Items) != 1319 || it.Target != "18" || strings.Count(it.Prompt, "Question: ") != 3 || !strings.HasSuffix(it.Prompt, "\nAnswer:") {
		t.Errorf("gsm8k: %d items, first target %q, prompt %q", len(g[0].Items), it.Target, it.Prompt)
	}
	for _, spec := range []string{"hellaswag", "tasks.json"} {
		if _, err := LoadTasks(spec, opts); err == nil {
			t.Errorf("LoadTasks(%q): no error", spec)
		}
	}
}

// TestLogLikelihoodMatchesSession scores continuations with the batched
// scorer and, independently, token by token from session logits.
func TestLogLikelihoodMatchesSession(t *testing.T) {
	for _, name := range []string{"llama2c-260K.f32.gguf", "qwen2-gpt2vocab.q8_0.gguf"} {
		t.Run(name, func(t *testing.T) {
			e := openModel(t, name)
			sc, err := NewScorer(e)
			if err != nil {
				t.Fatal(err)
			}
			s, err := e.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct{ ctx, cont string }{
				{"Once upon a time", " there was a cat."},
				{"", "The dog ran."},
				{"Tom said", "hello"},
			} {
				got, n, err := sc.LogLikelihood(context.Background(), c.ctx, c.cont)
				if err != nil {
					t.Fatal(err)
				}
				want, wn := sessionLogLikelihood(t, e, s, c.ctx, c.cont)
				if n != wn || math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
					t.Errorf("%q + %q: %.5f over %d tokens, session %.5f over %d", c.ctx, c.cont, got, n, want, wn)
				}
			}
			if _, _, err := sc.LogLikelihood(context.Background(), "x", ""); err == nil {
				t.Error("empty continuation: no error")
			}
		})
	}
}

// sessionLogLikelihood sums next-token log-probabilities of the tokens of
// ctx+cont past the context's own tokens, one prefill per token.
func sessionLogLikelihood(t *testing.T, e *engine.Engine, s *engine.Session, ctx, cont string) (float64, int) {
	tok := e.Tokenizer
	full := tok.Encode(ctx+cont, true, false)
	k := len(tok.Encode(ctx, true, false))
	if k == 0 {
		start := tok.BOS()
		if start < 0 {
			start = tok.EOS()
		}
		full = append([]int32{start}, full...)
		k = 1
	}
	var sum float64
	for p := k; p < len(full); p++ {
		s.Reset()
		logits, err := s.Logits(full[:p])
		if err != nil {
			t.Fatal(err)
		}
		sum += logSoftmaxAt(logits, full[p])
	}
	return sum, len(full) - k
}

// TestRunTasksAgainstModel builds tasks whose answer key comes from the
// model itself (its preferred choice, its own greedy continuation): the
// runner must then score 100%, and 0% with the key turned around.
func TestRunTasksAgainstModel(t *testing.T) {
	e := openModel(t, "llama2c-260K.f32.gguf")
	s, err := e.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	pairs := [][2]string{{"The cat sat.", "The cats sat."}, {"Lily was happy.", "Lily were happy."}, {"He ran home.", "He run home."}}
	right, wrong := &Task{Name: "right", Kind: MultipleChoice}, &Task{Name: "wrong", Kind: MultipleChoice}
	for _, p := range pairs {
		a, _ := sessionLogLikelihood(t, e, s, "", p[0])
		b, _ := sessionLogLikelihood(t, e, s, "", p[1])
		best := 0
		if b > a {
			best = 1
		}
		right.Items = append(right.Items, Item{Choices: p[:], Answer: best})
		wrong.Items = append(wrong.Items, Item{Choices: p[:], Answer: 1 - best})
	}
	prompts := []string{"Once upon a time", "The little dog"}
	same, other := &Task{Name: "same", Kind: ExactMatch}, &Task{Name: "other", Kind: ExactMatch}
	for _, p := range prompts {
		res, err := s.Generate(context.Background(), engine.Request{Prompt: e.Tokenizer.Encode(p, true, false), MaxTokens: 8}, nil)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(strings.TrimSpace(res.Text), "\n")
		if strings.TrimSpace(first) == "" {
			t.Fatalf("greedy continuation of %q has an empty first line: %q", p, res.Text)
		}
		same.Items = append(same.Items, Item{Prompt: p, Target: first})
		other.Items = append(other.Items, Item{Prompt: p, Target: first + " and more"})
	}
	results, err := RunTasks(context.Background(), e, []*Task{right, wrong, same, other}, RunOptions{MaxTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"right": 1, "wrong": 0, "same": 1, "other": 0}
	if len(results) != 4 {
		t.Fatalf("%d results, want 4 (no pooled line for mixed kinds)", len(results))
	}
	for _, r := range results {
		if r.Acc != want[r.Task] {
			t.Errorf("%s: accuracy %v, want %v", r.Task, r.Acc, want[r.Task])
		}
		if r.AccLow > r.Acc || r.AccHigh < r.Acc {
			t.Errorf("%s: interval [%v, %v] misses the accuracy %v", r.Task, r.AccLow, r.AccHigh, r.Acc)
		}
		if (r.AccNorm != nil) != (r.Kind == MultipleChoice) {
			t.Errorf("%s: acc_norm set %v for a %s task", r.Task, r.AccNorm != nil, r.Kind)
		}
	}
}

// TestRunBuiltins runs a few items of the built-in tasks end to end.
func TestRunBuiltins(t *testing.T) {
	e := openModel(t, "llama2c-260K.f32.gguf")
	testenv.Data(t, "gsm8k", "test.jsonl")
	dir := testenv.DataDir()
	var tasks []*Task
	for _, spec := range []string{"blimp:determiner_noun_agreement_1", "blimp:anaphor_gender_agreement"} {
		ts, err := LoadTasks(spec, LoadOptions{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, ts...)
	}
	results, err := RunTasks(context.Background(), e, tasks, RunOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 || results[2].Task != "blimp" || results[2].N != 20 || results[2].Correct != results[0].Correct+results[1].Correct {
		t.Fatalf("results %+v: want two paradigms of 10 and a pooled blimp line of 20", results)
	}
	g, err := LoadTasks("gsm8k", LoadOptions{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	gr, err := RunTasks(context.Background(), e, g, RunOptions{Limit: 2, MaxTokens: 16})
	if err != nil {
		t.Fatal(err)
	}
	if len(gr) != 1 || gr[0].N != 2 || gr[0].Kind != ExactMatch {
		t.Fatalf("gsm8k results %+v", gr)
	}
	var b strings.Builder
	if err := WriteTable(&b, append(results, gr...)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "blimp:anaphor_gender_agreement") || !strings.Contains(b.String(), "gsm8k") {
		t.Errorf("table lacks a task:\n%s", b.String())
	}
}

func BenchmarkLogLikelihood(b *testing.B) {
	e := openModel(b, "llama2c-260K.f32.gguf")
	sc, err := NewScorer(e)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := sc.LogLikelihood(context.Background(), "Once upon a time", " there was a little girl named Lily."); err != nil {
			b.Fatal(err)
		}
	}
}
