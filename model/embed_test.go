package model

import (
	"math"
	"testing"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/internal/testenv"
	"github.com/llmos/llmos/tensor"
)

// TestHiddenFeedsLogits checks Hidden against Forward: the LM head applied
// to the hidden state of the last token must give Forward's logits.
func TestHiddenFeedsLogits(t *testing.T) {
	path := testenv.Fixtures(t, "llama", "models", "llama2c-260K.f32.gguf")
	var m *Model
	f, err := gguf.Open(path)
	if err == nil {
		defer f.Close()
		m, err = Load(f)
	}
	if err != nil {
		t.Fatal(err)
	}
	pool := tensor.NewPool(1)
	defer pool.Close()
	r := m.NewRunner(pool)
	tokens := []int32{1, 403, 407, 261, 300}
	run := func(last bool) (*Batch, *Cache) {
		c, err := m.NewCache(1, 16)
		if err != nil {
			t.Fatal(err)
		}
		b := &Batch{}
		for i, tok := range tokens {
			b.Add(tok, i, 0, last && i == len(tokens)-1)
		}
		return b, c
	}
	b, c := run(true)
	want := make([]float32, m.Config.Vocab)
	if err := r.Forward(b, c, want); err != nil {
		t.Fatal(err)
	}
	b, c = run(false)
	dim := m.Config.Dim
	hidden := make([]float32, len(tokens)*dim)
	if err := r.Hidden(b, c, hidden); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, m.Config.Vocab)
	if err := m.output.MatMul(got, hidden[(len(tokens)-1)*dim:], 1, pool); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > 1e-4 {
			t.Fatalf("logit %d: from hidden %v, Forward %v", i, got[i], want[i])
		}
	}
	b.Logits[0] = true
	if err := r.Hidden(b, c, hidden); err == nil {
		t.Error("a batch asking for logits was accepted")
	}
	if err := r.Hidden(b, c, hidden[:1]); err == nil {
		t.Error("a short buffer was accepted")
	}
}
