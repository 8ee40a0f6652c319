package train

import (
	"fmt"
	"math"
)

// Batch is a (micro-)batch for language modelling: B sequences of T tokens,
// sequence after sequence, and for each position the id of the token that
// should follow it. A negative target (the fixtures and PyTorch use −1) marks
// a position that is not scored: a masked prompt, padding.
type Batch struct {
	Tokens  []int32
	Targets []int32
}

// Scored returns the number of positions with a target.
func (b Batch) Scored() int {
	n := 0
	for _, t := range b.Targets {
		if t >= 0 {
			n++
		}
	}
	return n
}

// LMGradients sets m.Grads to the gradient of the token-level mean
// cross-entropy over all scored positions of all micro-batches, and returns
// that mean. Each micro-batch's gradient is scaled by 1/(scored positions in
// all of them), so accumulating several micro-batches gives exactly the
// gradient of the one big batch they make up.
func (m *Model) LMGradients(ws *Workspace, micro []Batch) (float64, error) {
	total := 0
	for _, b := range micro {
		total += b.Scored()
	}
	if total == 0 {
		return 0, fmt.Errorf("train: no scored positions in %d micro-batches", len(micro))
	}
	m.Grads.Zero()
	var sum float64
	for i, b := range micro {
		if err := m.Forward(ws, b.Tokens); err != nil {
			return 0, fmt.Errorf("micro-batch %d: %w", i, err)
		}
		s, _, err := ws.CrossEntropy(b.Targets, float32(1/float64(total)))
		if err != nil {
			return 0, fmt.Errorf("micro-batch %d: %w", i, err)
		}
		sum += s
		if err := m.Backward(ws); err != nil {
			return 0, fmt.Errorf("micro-batch %d: %w", i, err)
		}
	}
	return sum / float64(total), nil
}

// CrossEntropy scores the logits of the last Forward against targets (one
// per position, negative = not scored): it returns the sum over scored
// positions of −log softmax(logits)[target] and their count, and sets
// ws.DLogits to scale times the gradient of that sum (softmax − one-hot on
// scored rows, 0 elsewhere).
func (ws *Workspace) CrossEntropy(targets []int32, scale float32) (sum float64, n int, err error) {
	if err := ws.checkTargets(targets); err != nil {
		return 0, 0, err
	}
	V := ws.rows
	losses := ws.rowValues()
	ws.pool.rows(len(targets), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			x, dx := ws.Logits[r*V:(r+1)*V], ws.DLogits[r*V:(r+1)*V]
			t := targets[r]
			if t < 0 {
				clear(dx)
				continue
			}
			losses[r] = softmaxCE(dx, x, int(t), scale)
		}
	})
	for r, t := range targets {
		if t >= 0 {
			sum += losses[r]
			n++
		}
	}
	return sum, n, nil
}

// TokenLogProbs returns, for each position of the last Forward with a target,
// log softmax(logits)[target] (0 for positions without one).
func (ws *Workspace) TokenLogProbs(targets []int32) ([]float64, error) {
	if err := ws.checkTargets(targets); err != nil {
		return nil, err
	}
	V := ws.rows
	out := make([]float64, len(targets))
	ws.pool.rows(len(targets), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			if t := targets[r]; t >= 0 {
				x := ws.Logits[r*V : (r+1)*V]
				out[r] = float64(x[t]) - logSumExp(x)
			}
		}
	})
	return out, nil
}

// LogProbGrad sets ws.DLogits to the gradient of Σ_r coef[r]·log p(target_r)
// (rows without a target, or with coef 0, get zeros): coef·(one-hot − softmax).
func (ws *Workspace) LogProbGrad(targets []int32, coef []float32) error {
	if err := ws.checkTargets(targets); err != nil {
		return err
	}
	if len(coef) != len(targets) {
		return fmt.Errorf("train: %d coefficients for %d positions", len(coef), len(targets))
	}
	V := ws.rows
	ws.pool.rows(len(targets), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			x, dx := ws.Logits[r*V:(r+1)*V], ws.DLogits[r*V:(r+1)*V]
			t := targets[r]
			if t < 0 || coef[r] == 0 {
				clear(dx)
				continue
			}
			softmaxGrad(dx, x, logSumExp(x), int(t), -coef[r])
		}
	})
	return nil
}

func (ws *Workspace) checkTargets(targets []int32) error {
	if len(targets) != ws.B*ws.T {
		return fmt.Errorf("train: %d targets, want B·T = %d", len(targets), ws.B*ws.T)
	}
	for i, t := range targets {
		if int(t) >= ws.rows {
			return fmt.Errorf("train: target %d at position %d is outside the vocabulary [0, %d)", t, i, ws.rows)
		}
	}
	return nil
}

// rowValues returns a per-position float64 scratch slice.
func (ws *Workspace) rowValues() []float64 {
	if ws.perRow == nil {
		ws.perRow = make([]float64, ws.B*ws.T)
	}
	return ws.perRow
}

// logSumExp returns log Σ exp(x), shifted by the maximum so nothing overflows.
func logSumExp(x []float32) float64 {
	peak := x[0]
	for _, v := range x {
		peak = max(peak, v)
	}
	var s float64
	for _, v := range x {
		s += float64(exp32(v - peak))
	}
	return float64(peak) + math.Log(s)
}

// softmaxCE sets dx = scale·(softmax(x) − onehot(t)) and returns the
// cross-entropy −log softmax(x)[t], with one exponential per element (the
// LM head's softmax is the costliest elementwise step of a large-vocabulary
// model). The sum is in float64, as in logSumExp.
func softmaxCE(dx, x []float32, t int, scale float32) float64 {
	peak := x[0]
	for _, v := range x {
		peak = max(peak, v)
	}
	var s float64
	for i, v := range x {
		e := exp32(v - peak)
		dx[i] = e
		s += float64(e)
	}
	k := scale / float32(s)
	for i := range dx {
		dx[i] *= k
	}
	dx[t] -= scale
	return float64(peak) + math.Log(s) - float64(x[t])
}

// softmaxGrad sets dx = scale·(softmax(x) − onehot(t)), softmax(x) = exp(x − lse).
func softmaxGrad(dx, x []float32, lse float64, t int, scale float32) {
	shift := float32(lse)
	for i, v := range x {
		dx[i] = scale * exp32(v-shift)
	}
	dx[t] -= scale
}
