package model

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
)

// tinyModel writes a random F32 llama model; edit adds or changes keys and
// tensors before it is parsed.
func tinyModel(t testing.TB, edit func(w *gguf.Writer)) *gguf.File {
	const dim, layers, heads, kvHeads, ffn, vocab = 32, 2, 4, 2, 48, 40
	rng := rand.New(rand.NewPCG(1, 2))
	w := gguf.NewWriter()
	w.Set("general.architecture", "llama")
	w.Set("llama.embedding_length", uint32(dim))
	w.Set("llama.block_count", uint32(layers))
	w.Set("llama.attention.head_count", uint32(heads))
	w.Set("llama.attention.head_count_kv", uint32(kvHeads))
	w.Set("llama.feed_forward_length", uint32(ffn))
	w.Set("llama.context_length", uint32(64))
	add := func(name string, dims ...int64) {
		n := int64(1)
		for _, d := range dims {
			n *= d
		}
		buf := make([]byte, 4*n)
		for i := int64(0); i < n; i++ {
			v := float32(rng.NormFloat64() * 0.3)
			if len(dims) == 1 {
				v += 1
			}
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		w.AddTensor(name, tensor.F32, dims, buf)
	}
	add("token_embd.weight", dim, vocab)
	add("output_norm.weight", dim)
	for l := 0; l < layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		add(p+"attn_norm.weight", dim)
		add(p+"attn_q.weight", dim, dim)
		add(p+"attn_k.weight", dim, dim/heads*kvHeads)
		add(p+"attn_v.weight", dim, dim/heads*kvHeads)
		add(p+"attn_output.weight", dim, dim)
		add(p+"ffn_norm.weight", dim)
		add(p+"ffn_gate.weight", dim, ffn)
		add(p+"ffn_up.weight", dim, ffn)
		add(p+"ffn_down.weight", ffn, dim)
	}
	if edit != nil {
		edit(w)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// lastLogits runs tokens 0..n-1 and returns the last position's logits.
func lastLogits(t *testing.T, f *gguf.File, n int) []float32 {
	m, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	pool := tensor.NewPool(1)
	defer pool.Close()
	c, _ := m.NewCache(1, n)
	var b Batch
	for i := 0; i < n; i++ {
		b.Add(int32(i*7%m.Config.Vocab), i, 0, i == n-1)
	}
	out := make([]float32, m.Config.Vocab)
	if err := m.NewRunner(pool).Forward(&b, c, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func f32Bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// TestRopeScaling checks that rope_freqs factors divide the angles and that
// linear scaling multiplies them: factors of 2 and a linear factor of 2
// give the same model, and both differ from plain rope.
func TestRopeScaling(t *testing.T) {
	const n = 12
	plain := lastLogits(t, tinyModel(t, nil), n)
	freqs := lastLogits(t, tinyModel(t, func(w *gguf.Writer) {
		w.AddTensor("rope_freqs.weight", tensor.F32, []int64{4}, f32Bytes(2, 2, 2, 2))
	}), n)
	linear := lastLogits(t, tinyModel(t, func(w *gguf.Writer) {
		w.Set("llama.rope.scaling.type", "linear")
		w.Set("llama.rope.scaling.factor", float32(2))
	}), n)
	ones := lastLogits(t, tinyModel(t, func(w *gguf.Writer) {
		w.AddTensor("rope_freqs.weight", tensor.F32, []int64{4}, f32Bytes(1, 1, 1, 1))
	}), n)
	if d, _ := maxDiff(plain, ones); d != 0 {
		t.Errorf("rope_freqs of ones changed the logits by %g", d)
	}
	if d, _ := maxDiff(freqs, linear); d > 1e-5 {
		t.Errorf("rope_freqs 2 and linear factor 2 differ by %g", d)
	}
	if d, _ := maxDiff(plain, freqs); d < 1e-4 {
		t.Errorf("scaling did not change the logits (%g)", d)
	}
}

// TestBatchEqualsSequential checks that prefill in one batch, token by
// token, and two interleaved sequences give the same logits.
func TestBatchEqualsSequential(t *testing.T) {
	m, err := Load(tinyModel(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	pool := tensor.NewPool(2)
	defer pool.Close()
	V, n := m.Config.Vocab, 9
	tok := func(i int) int32 { return int32((i*5 + 3) % V) }

	c1, _ := m.NewCache(1, n)
	var b Batch
	for i := 0; i < n; i++ {
		b.Add(tok(i), i, 0, true)
	}
	batched := make([]float32, n*V)
	if err := m.NewRunner(pool).Forward(&b, c1, batched); err != nil {
		t.Fatal(err)
	}

	c2, _ := m.NewCache(2, n)
	r := m.NewRunner(pool)
	step := make([]float32, 2*V)
	for i := 0; i < n; i++ {
		b.Reset()
		b.Add(tok(i), i, 1, true) // the same sequence in slot 1 …
		b.Add(tok(n-1-i), i, 0, false)
		if err := r.Forward(&b, c2, step); err != nil {
			t.Fatal(err)
		}
		if d, _ := maxDiff(step[:V], batched[i*V:(i+1)*V]); d > 1e-5 {
			t.Fatalf("position %d: token-by-token logits differ from the batch by %g", i, d)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(w *gguf.Writer)
		want string
	}{
		{"unsupported architecture", func(w *gguf.Writer) { w.Set("general.architecture", "mamba") }, `unsupported architecture "mamba" (supported: llama, qwen2)`},
		{"missing key", func(w *gguf.Writer) { w.Set("general.architecture", "qwen2") }, `"qwen2.embedding_length" missing`},
		{"bad heads", func(w *gguf.Writer) { w.Set("llama.attention.head_count_kv", uint32(3)) }, "cannot share"},
		{"yarn", func(w *gguf.Writer) { w.Set("llama.rope.scaling.type", "yarn") }, `rope scaling "yarn" is not supported`},
		{"wrong type", func(w *gguf.Writer) { w.Set("llama.block_count", "two") }, "not a non-negative integer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(tinyModel(t, c.edit))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	// A file without one of the block tensors names it.
	w := gguf.NewWriter()
	f := tinyModel(t, nil)
	w.CopyKV(f)
	for _, ti := range f.Tensors {
		if ti.Name != "blk.1.ffn_up.weight" {
			w.AddTensor(ti.Name, ti.Type, ti.Dims, ti.Data)
		}
	}
	var buf bytes.Buffer
	w.WriteTo(&buf)
	g, _ := gguf.Parse(buf.Bytes())
	if _, err := Load(g); err == nil || !strings.Contains(err.Error(), `tensor "blk.1.ffn_up.weight" missing`) {
		t.Fatalf("missing tensor: err = %v", err)
	}
}

func TestForwardErrors(t *testing.T) {
	m, _ := Load(tinyModel(t, nil))
	pool := tensor.NewPool(1)
	defer pool.Close()
	c, _ := m.NewCache(1, 4)
	r := m.NewRunner(pool)
	out := make([]float32, m.Config.Vocab)
	for _, b := range []Batch{
		{Tokens: []int32{99}, Pos: []int32{0}, Seq: []int32{0}, Logits: []bool{true}},
		{Tokens: []int32{1}, Pos: []int32{4}, Seq: []int32{0}, Logits: []bool{true}},
		{Tokens: []int32{1}, Pos: []int32{0}, Seq: []int32{1}, Logits: []bool{true}},
		{Tokens: []int32{1, 2}, Pos: []int32{0, 1}, Seq: []int32{0, 0}, Logits: []bool{true, true}},
	} {
		if err := r.Forward(&b, c, out); err == nil {
			t.Errorf("batch %+v: no error", b)
		}
	}
}
