package convert

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/internal/testenv"
	"github.com/llmos/llmos/model"
	"github.com/llmos/llmos/tensor"
)

func open(t *testing.T, path string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestQuantizeMatchesLlamaQuantize converts each <stem>.f16.gguf fixture to
// the type of every sibling <stem>.<type>.gguf that llama-quantize made from
// it and requires the same tensor types and bytes.
func TestQuantizeMatchesLlamaQuantize(t *testing.T) {
	models := testenv.Fixtures(t, "llama", "models")
	sources, _ := filepath.Glob(filepath.Join(models, "*.f16.gguf"))
	if len(sources) == 0 {
		t.Skipf("no *.f16.gguf in %s", models)
	}
	for _, srcPath := range sources {
		stem := strings.TrimSuffix(filepath.Base(srcPath), "f16.gguf")
		siblings, _ := filepath.Glob(filepath.Join(models, stem+"*.gguf"))
		src := open(t, srcPath)
		for _, want := range siblings {
			if want == srcPath {
				continue
			}
			name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(want), stem), ".gguf")
			t.Run(filepath.Base(want), func(t *testing.T) {
				ft, err := ParseFileType(name)
				if err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(t.TempDir(), "out.gguf")
				if err := Quantize(src, out, ft); err != nil {
					t.Fatal(err)
				}
				got, ref := open(t, out), open(t, want)
				if len(got.Tensors) != len(ref.Tensors) {
					t.Fatalf("%d tensors, llama-quantize wrote %d", len(got.Tensors), len(ref.Tensors))
				}
				for _, rt := range ref.Tensors {
					gt, ok := got.Tensor(rt.Name)
					if !ok {
						t.Errorf("%s missing", rt.Name)
						continue
					}
					if gt.Type != rt.Type {
						t.Errorf("%s: type %s, llama-quantize %s", rt.Name, gt.Type, rt.Type)
						continue
					}
					if !bytes.Equal(gt.Data, rt.Data) {
						t.Errorf("%s (%s): bytes differ", gt.Name, gt.Type)
					}
				}
				if v, _ := got.Uint("general.file_type"); uint32(v) != ft.ID {
					t.Errorf("general.file_type = %d, want %d", v, ft.ID)
				}
			})
		}
	}
}

func TestParseFileType(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"q4_k_m", "Q4_K_M", false}, {"Q4_K", "Q4_K_M", false}, {"Q8_0", "Q8_0", false},
		{"bf16", "BF16", false}, {"Q3_K", "Q3_K_M", false}, {"Q7_0", "", true}, {"", "", true},
	}
	for _, tt := range tests {
		got, err := ParseFileType(tt.in)
		if (err != nil) != tt.wantErr || got.Name != tt.want {
			t.Errorf("ParseFileType(%q) = %q, %v; want %q, error %v", tt.in, got.Name, err, tt.want, tt.wantErr)
		}
	}
}

func TestUseMoreBitsAndFallback(t *testing.T) {
	// 22 layers (TinyLlama): llama-quantize gives layers 0, 1, 4, 7, 10, 13,
	// 16, 19, 20, 21 more bits.
	var more []int
	for i := range 22 {
		if useMoreBits(i, 22) {
			more = append(more, i)
		}
	}
	if want := []int{0, 1, 4, 7, 10, 13, 16, 19, 20, 21}; !slices.Equal(more, want) {
		t.Errorf("useMoreBits over 22 layers = %v, want %v", more, want)
	}
	tests := []struct {
		typ  tensor.Type
		cols int64
		want tensor.Type
	}{
		{tensor.Q4_K, 256, tensor.Q4_K}, {tensor.Q4_K, 288, tensor.Q5_0}, {tensor.Q6_K, 172, tensor.F16},
		{tensor.Q5_K, 96, tensor.Q5_1}, {tensor.Q2_K, 64, tensor.Q4_0}, {tensor.Q8_0, 172, tensor.F16},
	}
	for _, tt := range tests {
		if got := fallback(tt.typ, tt.cols); got != tt.want {
			t.Errorf("fallback(%s, %d) = %s, want %s", tt.typ, tt.cols, got, tt.want)
		}
	}
}

// TestInit builds small models of several types and checks that they load,
// carry the shape in llama.cpp's keys, are reproducible from the seed and
// have weights of standard deviation 0.02 and norms of 1.
func TestInit(t *testing.T) {
	shape := Shapes["stories260K"]
	for _, typ := range []tensor.Type{tensor.F32, tensor.F16, tensor.Q8_0, tensor.Q4_K} {
		t.Run(typ.String(), func(t *testing.T) {
			dir := t.TempDir()
			a, b := filepath.Join(dir, "a.gguf"), filepath.Join(dir, "b.gguf")
			for _, p := range []string{a, b} {
				if err := Init(p, InitOptions{Shape: shape, Type: typ, Seed: 3}); err != nil {
					t.Fatal(err)
				}
			}
			ab, _ := os.ReadFile(a)
			bb, _ := os.ReadFile(b)
			if !bytes.Equal(ab, bb) {
				t.Error("two inits with the same seed differ")
			}
			f := open(t, a)
			m, err := model.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			c := m.Config
			if c.Dim != 64 || c.Layers != 5 || c.Heads != 8 || c.KVHeads != 4 || c.FFN != 172 || c.Vocab != 512 || c.ContextLen != 512 {
				t.Errorf("config %+v does not match stories260K", c)
			}
			q, _ := f.Tensor("blk.0.attn_q.weight")
			if want := fallback(typ, 64); q.Type != want {
				t.Errorf("attn_q type %s, want %s", q.Type, want)
			}
			if down, _ := f.Tensor("blk.0.ffn_down.weight"); typ.BlockSize() > 1 && down.Type != tensor.F16 {
				t.Errorf("ffn_down (172 columns) type %s, want the F16 fallback", down.Type)
			}
			x := make([]float32, q.Elements())
			if err := tensor.Dequantize(q.Type, q.Data, x); err != nil {
				t.Fatal(err)
			}
			var ss float64
			for _, v := range x {
				ss += float64(v) * float64(v)
			}
			if sd := math.Sqrt(ss / float64(len(x))); math.Abs(sd-0.02) > 0.002 {
				t.Errorf("attn_q standard deviation %.4f, want 0.02", sd)
			}
			norm, _ := f.Tensor("blk.2.ffn_norm.weight")
			n := make([]float32, norm.Elements())
			if err := tensor.Dequantize(norm.Type, norm.Data, n); err != nil {
				t.Fatal(err)
			}
			for _, v := range n {
				if v != 1 {
					t.Fatalf("norm weight %v, want 1", v)
				}
			}
		})
	}
}

func TestInitTokenizer(t *testing.T) {
	tok := open(t, testenv.Fixtures(t, "llama", "tokenizer", "ggml-vocab-llama-spm.gguf"))
	out := filepath.Join(t.TempDir(), "m.gguf")
	s := Shape{Dim: 64, Layers: 1, Heads: 4, KVHeads: 2, FFN: 128, Vocab: 32000, Context: 64}
	if err := Init(out, InitOptions{Shape: s, Type: tensor.F16, Tokenizer: tok}); err != nil {
		t.Fatal(err)
	}
	f := open(t, out)
	got, _ := f.Strings("tokenizer.ggml.tokens")
	want, _ := tok.Strings("tokenizer.ggml.tokens")
	if len(got) != 32000 || got[1000] != want[1000] {
		t.Errorf("tokens not copied: %d tokens", len(got))
	}
	s.Vocab = 512
	if err := Init(out, InitOptions{Shape: s, Type: tensor.F16, Tokenizer: tok}); err == nil {
		t.Error("a 32000-token tokenizer for a 512-token shape was accepted")
	}
}

func TestShapeValidate(t *testing.T) {
	for name, s := range Shapes {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := []Shape{
		{Dim: 64, Layers: 1, Heads: 6, KVHeads: 6, FFN: 8, Vocab: 300, Context: 8},
		{Dim: 64, Layers: 1, Heads: 8, KVHeads: 3, FFN: 8, Vocab: 300, Context: 8},
		{Dim: 64, Layers: 0, Heads: 8, KVHeads: 8, FFN: 8, Vocab: 300, Context: 8},
	}
	for _, s := range bad {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

func TestSyntheticVocab(t *testing.T) {
	tokens, scores, types := SyntheticVocab(1000)
	if len(tokens) != 1000 || len(scores) != 1000 || len(types) != 1000 {
		t.Fatalf("lengths %d %d %d", len(tokens), len(scores), len(types))
	}
	seen := map[string]bool{}
	for _, tok := range tokens {
		if seen[tok] {
			t.Fatalf("duplicate token %q", tok)
		}
		seen[tok] = true
	}
	if tokens[3] != "<0x00>" || tokens[258] != "<0xFF>" || tokens[259] != "▁a" || tokens[285] != "▁aa" {
		t.Errorf("layout: %q %q %q %q", tokens[3], tokens[258], tokens[259], tokens[285])
	}
	if tok, _, _ := SyntheticVocab(259); tok != nil {
		t.Error("a vocabulary with no room for pieces was built")
	}
}
