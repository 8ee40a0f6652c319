package eval

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/llmos/llmos/internal/testenv"
)

// TestPerplexityMatchesPrefixScoring recomputes every window's scored
// log-probabilities one prefix at a time through engine sessions — a
// different path through the model (no batched window, fresh prefill per
// prefix) — and requires the same NLL, for every fixture model.
func TestPerplexityMatchesPrefixScoring(t *testing.T) {
	text := readData(t, "tinystories/valid_head.txt", 4000)
	for _, path := range testenv.FixtureFiles(t, "llama", "models", "*.gguf") {
		name := filepath.Base(path)
		if testing.Short() && !strings.HasPrefix(name, "llama2c") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			e := openModel(t, name)
			const nCtx = 16
			res, err := Perplexity(context.Background(), e, text, PPLOptions{Context: nCtx, Chunks: 3})
			if err != nil {
				t.Fatal(err)
			}
			tok := e.Tokenizer
			ids := tok.Encode(text, true, false)
			s, err := e.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			var nll float64
			n := 0
			for c := range 3 {
				w := append([]int32(nil), ids[c*nCtx:(c+1)*nCtx]...)
				if tok.AddBOS() {
					w[0] = tok.BOS()
				}
				for p := nCtx / 2; p < nCtx-1; p++ {
					s.Reset()
					logits, err := s.Logits(w[:p+1])
					if err != nil {
						t.Fatal(err)
					}
					nll -= logSoftmaxAt(logits, w[p+1])
					n++
				}
			}
			if res.Scored != n || res.Chunks != 3 || len(res.Running) != 3 {
				t.Fatalf("scored %d tokens in %d chunks (%d running values), want %d in 3", res.Scored, res.Chunks, len(res.Running), n)
			}
			if got, want := res.NLL, nll/float64(n); math.Abs(got-want) > 1e-4*math.Abs(want) {
				t.Errorf("NLL %.6f, prefix by prefix %.6f", got, want)
			}
			if res.Running[2] != res.PPL || math.Abs(res.PPL-math.Exp(res.NLL)) > 1e-9*res.PPL {
				t.Errorf("running %v, final PPL %v, exp(NLL) %v", res.Running, res.PPL, math.Exp(res.NLL))
			}
			if !(res.BitsPerByte > 0) || !(res.PPLError > 0) {
				t.Errorf("bits per byte %v, PPL error %v: want positive", res.BitsPerByte, res.PPLError)
			}
		})
	}
}

// TestPerplexityBatchInvariant: cutting a window into smaller batches must
// not change the numbers beyond float rounding.
func TestPerplexityBatchInvariant(t *testing.T) {
	e := openModel(t, "llama2c-260K.f32.gguf")
	text := readData(t, "tinystories/valid_head.txt", 6000)
	var ppl []float64
	for _, b := range []int{0, 7, 32} {
		res, err := Perplexity(context.Background(), e, text, PPLOptions{Context: 64, Batch: b})
		if err != nil {
			t.Fatal(err)
		}
		ppl = append(ppl, res.PPL)
	}
	for i, p := range ppl[1:] {
		if math.Abs(p-ppl[0]) > 1e-5*ppl[0] {
			t.Errorf("batch variant %d: PPL %v, whole window %v", i+1, p, ppl[0])
		}
	}
}

func TestPerplexityErrors(t *testing.T) {
	e := openModel(t, "llama2c-260K.f32.gguf")
	cases := []struct {
		name string
		text string
		opts PPLOptions
		want string
	}{
		{"short text", "Once upon a time.", PPLOptions{Context: 64}, "needs at least 128"},
		{"tiny context", strings.Repeat("a b ", 100), PPLOptions{Context: 2}, "too short"},
		{"negative chunks", strings.Repeat("a b ", 100), PPLOptions{Context: 8, Chunks: -1}, "must not be negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Perplexity(context.Background(), e, c.text, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Perplexity(ctx, e, strings.Repeat("a b ", 100), PPLOptions{Context: 8}); err == nil {
		t.Error("cancelled context: no error")
	}
}

func BenchmarkPerplexityWindow(b *testing.B) {
	e := openModel(b, "llama2c-260K.f32.gguf")
	text := readData(b, "tinystories/valid_head.txt", 4000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Perplexity(context.Background(), e, text, PPLOptions{Context: 128, Chunks: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPerplexityMatchesLlamaCpp runs llama.cpp's llama-perplexity, when
// LLMOS_LLAMA_PERPLEXITY names the binary, on the same model, text and
// window, and requires the final estimate within 0.5% (the issue asks
// for 1%).
func TestPerplexityMatchesLlamaCpp(t *testing.T) {
	bin := os.Getenv("LLMOS_LLAMA_PERPLEXITY")
	if bin == "" {
		t.Skip("set LLMOS_LLAMA_PERPLEXITY to a llama-perplexity binary to compare with llama.cpp")
	}
	dataFile := testenv.Data(t, "tinystories", "valid_head.txt")
	text := readData(t, "tinystories/valid_head.txt", 0)
	for _, name := range []string{"llama2c-260K.f32.gguf", "spm512-llama.q8_0.gguf"} {
		t.Run(name, func(t *testing.T) {
			e := openModel(t, name)
			res, err := Perplexity(context.Background(), e, text, PPLOptions{Context: 128, Chunks: 10})
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "-m", testenv.Fixtures(t, "llama", "models", name), "-f", dataFile, "-c", "128", "--chunks", "10", "-t", "2").CombinedOutput()
			if err != nil {
				t.Fatalf("llama-perplexity: %v\n%s", err, out)
			}
			// The running value after the last window is the final
			// estimate; llama.cpp's asynchronous logger has been seen to
			// drop one of the two lines at exit, so either will do.
			m := regexp.MustCompile(`(?:Final estimate: PPL = |\[10\])([0-9.]+)`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("no final estimate in llama-perplexity's output:\n%s", out)
			}
			want, _ := strconv.ParseFloat(string(m[1]), 64)
			// llama2c-260K's perplexity is about 80000: its targets lie
			// deep in the tail, where float32 rounding weighs more.
			if math.Abs(res.PPL-want) > 5e-3*want {
				t.Errorf("PPL %.4f, llama-perplexity %.4f", res.PPL, want)
			}
		})
	}
}
