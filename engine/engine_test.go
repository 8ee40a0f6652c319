package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/llmos/llmos/internal/testenv"
)

// openFixture opens the F32 llama2.c model of the fixtures, whose logits
// match llama.cpp's to 1e-4, so greedy decoding must agree token for token.
func openFixture(t testing.TB) *Engine {
	e, err := Open(testenv.Fixtures(t, "llama", "models", "llama2c-260K.f32.gguf"), Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestGreedyMatchesLlamaCpp tokenizes each fixture prompt and generates
// greedily; ids and text must equal llama.cpp's (this model's greedy margins
// are far above its 4e-5 logit error).
func TestGreedyMatchesLlamaCpp(t *testing.T) {
	e := openFixture(t)
	for _, refPath := range testenv.FixtureFiles(t, "llama", "refs", "llama2c-260K.f32", "*.json") {
		t.Run(filepath.Base(refPath), func(t *testing.T) {
			var ref struct {
				PromptHex string  `json:"prompt_hex"`
				Tokens    []int32 `json:"tokens_add_special"`
				Greedy    []int32 `json:"greedy_ids"`
				EOGAt     int     `json:"greedy_eog_at"`
			}
			data, _ := os.ReadFile(refPath)
			if err := json.Unmarshal(data, &ref); err != nil {
				t.Fatal(err)
			}
			prompt, _ := os.ReadFile(filepath.Join(testenv.FixturesDir(), "llama", "prompts", strings.TrimSuffix(filepath.Base(refPath), ".json")+".txt"))
			ids := e.Tokenizer.Encode(string(prompt), true, false)
			if !slices.Equal(ids, ref.Tokens) {
				t.Fatalf("prompt ids %v, llama.cpp %v", ids, ref.Tokens)
			}
			s, err := e.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Generate(context.Background(), Request{Prompt: ids, MaxTokens: len(ref.Greedy), IgnoreEOS: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Tokens, ref.Greedy) {
				t.Fatalf("greedy ids %v, llama.cpp %v", res.Tokens, ref.Greedy)
			}
			var want []byte
			for _, id := range ref.Greedy {
				if !e.Tokenizer.IsControl(id) {
					want = append(want, e.Tokenizer.Piece(id)...)
				}
			}
			if res.Text != strings.ToValidUTF8(string(want), "\uFFFD") || res.StopReason != "length" {
				t.Errorf("text %q reason %s", res.Text, res.StopReason)
			}
		})
	}
}

func TestStops(t *testing.T) {
	e := openFixture(t)
	s, _ := e.NewSession()
	prompt := e.Tokenizer.Encode("Once upon a time", true, false)
	full, err := s.Generate(context.Background(), Request{Prompt: prompt, MaxTokens: 24, IgnoreEOS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Text) < 8 {
		t.Fatalf("too little text to cut: %q", full.Text)
	}
	stop := full.Text[4:7]
	var streamed strings.Builder
	res, err := s.Generate(context.Background(), Request{Prompt: prompt, MaxTokens: 24, IgnoreEOS: true, Stop: []string{stop}},
		func(p string) error { streamed.WriteString(p); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := full.Text[:strings.Index(full.Text, stop)]
	if res.Text != want || streamed.String() != want || res.StopReason != "stop" {
		t.Errorf("with stop %q: text %q streamed %q reason %s, want %q", stop, res.Text, streamed.String(), res.StopReason, want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	res, err = s.Generate(ctx, Request{Prompt: prompt, IgnoreEOS: true, OnToken: func(int32) {
		if n++; n == 3 {
			cancel()
		}
	}}, nil)
	if err != nil || res.StopReason != "cancelled" || len(res.Tokens) != 3 {
		t.Errorf("cancel: %v, reason %s after %d tokens", err, res.StopReason, len(res.Tokens))
	}
}

func TestPromptPastContext(t *testing.T) {
	e := openFixture(t)
	e.Context = 8
	s, err := e.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Generate(context.Background(), Request{Prompt: make([]int32, 9)}, nil)
	if !errors.Is(err, ErrContext) || !strings.Contains(err.Error(), "9 tokens") {
		t.Fatalf("err = %v", err)
	}
	res, err := s.Generate(context.Background(), Request{Prompt: []int32{1, 2, 3, 4, 5}, IgnoreEOS: true}, nil)
	if err != nil || len(res.Tokens) != 3 || res.StopReason != "length" {
		t.Fatalf("fill to the context: %v, %d tokens, %s", err, len(res.Tokens), res.StopReason)
	}
}

// TestDecodeAllocatesNothing checks the decode step in steady state.
func TestDecodeAllocatesNothing(t *testing.T) {
	e := openFixture(t)
	s, _ := e.NewSession()
	if _, err := s.Logits([]int32{1, 403, 407}); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if len(s.tokens) > 200 {
			s.tokens = s.tokens[:3]
		}
		if err := s.step(261); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("decode step allocates %v times", allocs)
	}
}

func BenchmarkDecode(b *testing.B) {
	e := openFixture(b)
	s, _ := e.NewSession()
	s.Logits([]int32{1})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(s.tokens) >= e.Context-1 {
			s.tokens = s.tokens[:1]
		}
		s.step(261)
	}
}
