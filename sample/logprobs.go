package sample

import (
	"fmt"
	"math"
)

// TokenLogprob is a token id with its natural-log probability.
type TokenLogprob struct {
	ID      int32
	Logprob float32
}

// logSumExp returns log(sum(exp(l))), computed stably in float64.
func logSumExp(l []float32) float64 {
	best := math.Inf(-1)
	for _, v := range l {
		best = max(best, float64(v))
	}
	if math.IsInf(best, 0) {
		return best
	}
	sum := 0.0
	for _, v := range l {
		sum += math.Exp(float64(v) - best)
	}
	return best + math.Log(sum)
}

// LogSoftmax writes log(softmax(logits)) into dst, which it grows when
// shorter than logits, and returns it.
func LogSoftmax(dst, logits []float32) []float32 {
	if cap(dst) < len(logits) {
		dst = make([]float32, len(logits))
	}
	dst = dst[:len(logits)]
	lse := logSumExp(logits)
	for i, v := range logits {
		dst[i] = float32(float64(v) - lse)
	}
	return dst
}

// Logprobs returns the log-probability of token chosen under the model's
// distribution softmax(logits), as the OpenAI API reports it (before
// temperature or any filter), and the n most likely tokens with theirs,
// most likely first, lower id first among equals.
func Logprobs(logits []float32, chosen int32, n int) (TokenLogprob, []TokenLogprob, error) {
	if chosen < 0 || int(chosen) >= len(logits) {
		return TokenLogprob{}, nil, fmt.Errorf("sample: logprobs: token %d outside vocabulary of %d", chosen, len(logits))
	}
	if n < 0 {
		return TokenLogprob{}, nil, fmt.Errorf("sample: logprobs: negative top count %d", n)
	}
	lse := logSumExp(logits)
	lp := func(id int32) TokenLogprob {
		return TokenLogprob{ID: id, Logprob: float32(float64(logits[id]) - lse)}
	}
	n = min(n, len(logits))
	if n == 0 {
		return lp(chosen), nil, nil
	}
	c := topK(make([]candidate, 0, n), logits, n)
	top := make([]TokenLogprob, len(c))
	for i, x := range c {
		top[i] = lp(x.id)
	}
	return lp(chosen), top, nil
}
