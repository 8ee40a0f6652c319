package train

import (
	"context"
	"github.com/llmos/llmos/internal/testenv"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/llmos/llmos/data"
	"github.com/llmos/llmos/tokenizer"
)

// TestTinyStoriesCapped is the real run (docs/train-bench.md) cut to
// seconds: a 512-token BPE learned from the TinyStories training slice, its
// shards, and 60 steps of a stories260K on sequences of 64 tokens. The val
// loss must fall well below the uniform ln 512 ≈ 6.24 (it reaches ≈ 4.95).
func TestTinyStoriesCapped(t *testing.T) {
	src := testenv.Data(t, "tinystories")
	trainText, valText := filepath.Join(src, "train_head_2mib.txt"), filepath.Join(src, "valid_head.txt")
	for _, p := range []string{trainText, valText} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("TinyStories slice absent: %v", err)
		}
	}
	dir := t.TempDir()
	f, err := os.Open(trainText)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, _, err := tokenizer.Train(context.Background(), f, tokenizer.TrainOptions{VocabSize: 512, Ignore: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(dir, "tok.gguf")
	if err := v.WriteFile(tok); err != nil {
		t.Fatal(err)
	}
	shards := filepath.Join(dir, "data")
	if _, err := data.Prepare(context.Background(), []string{trainText}, data.PrepareOptions{
		Tokenizer: tok, Out: shards, ValFiles: []string{valText}, Separators: []string{"<|endoftext|>"},
	}); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultRunConfig()
	cfg.Shape, cfg.Data, cfg.Dir = "stories260K", shards, filepath.Join(dir, "run")
	cfg.Batch, cfg.SeqLen, cfg.Steps, cfg.Warmup, cfg.LR, cfg.MinLR = 8, 64, 60, 5, 4e-3, 4e-4
	cfg.EvalEvery, cfg.EvalBatches, cfg.CkptEvery = 30, 4, 0
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("60 steps: train loss %.4f, val loss %.4f", res.TrainLoss, res.ValLoss)
	if res.ValLoss > 5.4 || math.IsNaN(res.ValLoss) {
		t.Errorf("val loss %.4f after 60 steps, want < 5.4 (uniform: %.2f)", res.ValLoss, math.Log(512))
	}
}
