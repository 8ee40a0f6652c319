package model

import "fmt"

// Hidden runs batch b through the model like Forward, writing keys and
// values to c, and writes each token's final hidden state, after the output
// norm (what the LM head reads), to dst in batch order (len(b.Tokens) × Dim
// values). Embeddings pool these. b must mark no logits.
func (r *Runner) Hidden(b *Batch, c *Cache, dst []float32) error {
	dim := r.m.Config.Dim
	n := len(b.Tokens)
	if b.Outputs() != 0 {
		return fmt.Errorf("model: hidden states of a batch that asks for logits")
	}
	if len(dst) < n*dim {
		return fmt.Errorf("model: hidden-state buffer holds %d values, need %d", len(dst), n*dim)
	}
	if err := r.Forward(b, c, nil); err != nil || n == 0 {
		return err
	}
	// With no logits wanted, Forward leaves the last layer's residual
	// stream in the scratch activations.
	rmsNorm(dst[:n*dim], r.s.x[:n*dim], r.m.outputNorm, dim, r.m.Config.NormEps)
	return nil
}
