package eval

import (
	"context"
	"fmt"

	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/model"
)

// Scorer computes log-likelihoods of continuations with one model. It holds
// a KV cache of the engine's context and is not safe for concurrent use.
type Scorer struct {
	e      *engine.Engine
	runner *model.Runner
	cache  *model.Cache
	batch  model.Batch
	logits []float32
}

// NewScorer allocates a scorer over e.
func NewScorer(e *engine.Engine) (*Scorer, error) {
	c, err := e.Model.NewCache(1, e.Context)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	return &Scorer{e: e, runner: e.Model.NewRunner(e.Pool), cache: c}, nil
}

// LogLikelihood returns the sum of the log-probabilities of the tokens of
// continuation given context, and how many tokens that is. Like
// lm-evaluation-harness, it tokenizes context and context+continuation
// (BOS added as the vocabulary wants) and scores the tokens the second has
// beyond their common prefix, so a token that straddles the boundary is
// scored as part of the continuation. An empty context is conditioned on
// BOS alone (EOS for vocabularies without one).
func (s *Scorer) LogLikelihood(ctx context.Context, context, continuation string) (float64, int, error) {
	if continuation == "" {
		return 0, 0, fmt.Errorf("eval: empty continuation")
	}
	tok := s.e.Tokenizer
	ctxIDs := tok.Encode(context, true, false)
	full := tok.Encode(context+continuation, true, false)
	if len(ctxIDs) == 0 {
		start := tok.BOS()
		if start < 0 {
			start = tok.EOS()
		}
		ctxIDs = []int32{start}
		full = append([]int32{start}, full...)
	}
	k := 0
	for k < len(ctxIDs) && k < len(full)-1 && ctxIDs[k] == full[k] {
		k++
	}
	k = max(k, 1)
	if len(full) > s.cache.Context {
		return 0, 0, fmt.Errorf("eval: %w: %d tokens, context of %d", engine.ErrContext, len(full), s.cache.Context)
	}
	vocab := s.e.Model.Config.Vocab
	nOut := len(full) - k
	if need := nOut * vocab; len(s.logits) < need {
		s.logits = make([]float32, need)
	}
	const batchSize = 512
	out := 0
	for start := 0; start < len(full); start += batchSize {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		s.batch.Reset()
		for p := start; p < min(start+batchSize, len(full)); p++ {
			// Position p's logits predict token p+1.
			s.batch.Add(full[p], p, 0, p >= k-1 && p < len(full)-1)
		}
		if err := s.runner.Forward(&s.batch, s.cache, s.logits[out*vocab:]); err != nil {
			return 0, 0, fmt.Errorf("eval: %w", err)
		}
		out += s.batch.Outputs()
	}
	var sum float64
	for i := range nOut {
		sum += logSoftmaxAt(s.logits[i*vocab:(i+1)*vocab], full[k+i])
	}
	return sum, nOut, nil
}
