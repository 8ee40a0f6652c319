package model

import (
	"fmt"
	"os"
	"testing"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
)

// BenchmarkDecodeStep measures one decode step of n sequences at once (the
// server's batched decode): each sequence holds a 48-token prompt, and
// every step runs one new token per sequence at position 48. It runs the
// GGUF file named by LLMOS_BENCH_GGUF (BENCHMARKS.md, "Serving") on one
// thread per physical core, or a tiny random model without it.
func BenchmarkDecodeStep(b *testing.B) {
	const prompt, seqs = 48, 16
	var f *gguf.File
	if path := os.Getenv("LLMOS_BENCH_GGUF"); path != "" {
		var err error
		if f, err = gguf.Open(path); err != nil {
			b.Fatal(err)
		}
		defer f.Close()
	} else {
		f = tinyModel(b, nil)
	}
	m, err := Load(f)
	if err != nil {
		b.Fatal(err)
	}
	c, err := m.NewCache(seqs, prompt+1)
	if err != nil {
		b.Fatal(err)
	}
	r := m.NewRunner(tensor.NewPool(0))
	logits := make([]float32, seqs*m.Config.Vocab)
	var batch Batch
	for s := range seqs {
		batch.Reset()
		for p := range prompt {
			batch.Add(int32((7*s+p)%m.Config.Vocab), p, s, p == prompt-1)
		}
		if err := r.Forward(&batch, c, logits); err != nil {
			b.Fatal(err)
		}
	}
	for _, n := range []int{1, 2, 4, 8, 16} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for range b.N {
				batch.Reset()
				for s := range n {
					batch.Add(int32((3*s+1)%m.Config.Vocab), prompt, s, true)
				}
				if err := r.Forward(&batch, c, logits); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
