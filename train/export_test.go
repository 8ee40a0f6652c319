package train

import (
	"path/filepath"
	"testing"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/model"
	"github.com/llmos/llmos/tensor"
)

// writeTiny writes a tiny random model to a GGUF file and opens it.
func writeTiny(t *testing.T) (*Model, *gguf.File) {
	t.Helper()
	m := tinyModel(t, 11)
	w := gguf.NewWriter()
	m.AddTo(w)
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return m, f
}

// TestExportRoundTrip: the exported file gives back the same config and
// parameters.
func TestExportRoundTrip(t *testing.T) {
	m, f := writeTiny(t)
	c, err := ConfigFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if c != m.Config {
		t.Fatalf("config read back %+v, want %+v", c, m.Config)
	}
	back, err := Load(f, c, LMHead, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range back.Params.Data {
		if v != m.Params.Data[i] {
			t.Fatalf("parameter %d read back as %g, want %g", i, v, m.Params.Data[i])
		}
	}
	if _, err := Load(f, c, RewardHead, ""); err == nil {
		t.Error("loading an LM as a reward model (no reward_head.weight): no error")
	}
	wrong := c
	wrong.Hidden++
	if _, err := Load(f, wrong, LMHead, ""); err == nil {
		t.Error("loading with the wrong FFN width: no error")
	}
}

// TestInferenceForwardAgrees pins the training forward pass to the inference
// forward pass of package model: the same weights give the same logits at
// every position of every sequence.
func TestInferenceForwardAgrees(t *testing.T) {
	m, f := writeTiny(t)
	const B = 2
	T := tiny.SeqLen
	batch := tinyBatch(B, 12)
	ws, err := m.NewWorkspace(B, T, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Forward(ws, batch.Tokens); err != nil {
		t.Fatal(err)
	}

	logits := inferenceLogits(t, f, batch.Tokens, B, T)
	within(t, "inference vs training logits rel_max", relMax(logits, ws.Logits), 1e-5)
}

// inferenceLogits runs package model's forward pass over B sequences of T
// tokens of the model in f and returns the logits of every position.
func inferenceLogits(t *testing.T, f *gguf.File, tokens []int32, B, T int) []float32 {
	t.Helper()
	im, err := model.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	pool := tensor.NewPool(2)
	defer pool.Close()
	cache, err := im.NewCache(B, T)
	if err != nil {
		t.Fatal(err)
	}
	var ib model.Batch
	for i, tok := range tokens {
		ib.Add(tok, i%T, i/T, true)
	}
	vocab := 0
	if ti, ok := f.Tensor("output.weight"); ok {
		vocab = int(ti.Dims[1])
	}
	logits := make([]float32, B*T*vocab)
	if err := im.NewRunner(pool).Forward(&ib, cache, logits); err != nil {
		t.Fatal(err)
	}
	return logits
}
