package train

import (
	"fmt"
	"math"
)

// Pairs is a batch of preference pairs: for each of P pairs a chosen and a
// rejected sequence of T tokens (right-padded; attention is causal, so the
// padding never reaches a real position).
type Pairs struct {
	// Chosen and Rejected hold P·T tokens each. Their targets mark what DPO
	// scores (the response: targets[j] = tokens[j+1] inside it, −1 elsewhere);
	// the reward model does not read them.
	Chosen, Rejected Batch
	// ChosenLen and RejectedLen are the real lengths; the reward model reads
	// its reward at position length−1.
	ChosenLen, RejectedLen []int
}

// join lays the pairs out as one batch of 2P sequences, chosen ones first,
// for a workspace of B = 2P: one forward pass scores both sides.
func (p Pairs) join(ws *Workspace) (Batch, int, error) {
	T := ws.T
	if ws.B%2 != 0 {
		return Batch{}, 0, fmt.Errorf("train: pairs need a workspace of an even batch size, not %d", ws.B)
	}
	pairs := ws.B / 2
	for _, s := range []struct {
		name string
		n    int
	}{{"chosen tokens", len(p.Chosen.Tokens)}, {"rejected tokens", len(p.Rejected.Tokens)}} {
		if s.n != pairs*T {
			return Batch{}, 0, fmt.Errorf("train: %d %s, want %d pairs × %d", s.n, s.name, pairs, T)
		}
	}
	joined := Batch{
		Tokens:  append(append(make([]int32, 0, 2*pairs*T), p.Chosen.Tokens...), p.Rejected.Tokens...),
		Targets: append(append(make([]int32, 0, 2*pairs*T), p.Chosen.Targets...), p.Rejected.Targets...),
	}
	return joined, pairs, nil
}

// DPOResult is what one DPO step computed, per pair.
type DPOResult struct {
	Loss                           float64
	PolicyChosen, PolicyRejected   []float64 // Σ log p(response) under the policy
	RefChosen, RefRejected         []float64 // the same under the frozen reference model
	ChosenRewards, RejectedRewards []float64 // β·(policy − reference): the implicit rewards
}

// DPOGradients sets policy.Grads to the gradient of the DPO loss (Rafailov
// et al. 2023) over the pairs,
//
//	loss = mean over pairs of −log σ(β·[(π_c − ref_c) − (π_r − ref_r)])
//
// where π and ref are the summed log-probabilities of the scored (response)
// tokens under the policy and the frozen reference model. ws (batch size
// 2·pairs) serves both models, which must have the same shape.
func DPOGradients(policy, ref *Model, ws *Workspace, pairs Pairs, beta float64) (*DPOResult, error) {
	refChosen, refRejected, err := ref.ResponseLogProbs(ws, pairs)
	if err != nil {
		return nil, fmt.Errorf("train: dpo: reference model: %w", err)
	}
	return policy.DPOGradientsRef(ws, pairs, refChosen, refRejected, beta)
}

// ResponseLogProbs runs m on both sides of the pairs and returns, per pair,
// the summed log-probability of the scored (response) tokens of the chosen
// and of the rejected sequence. ws has batch size 2·pairs.
func (m *Model) ResponseLogProbs(ws *Workspace, pairs Pairs) (chosen, rejected []float64, err error) {
	joined, P, err := pairs.join(ws)
	if err != nil {
		return nil, nil, err
	}
	if joined.Scored() == 0 {
		return nil, nil, fmt.Errorf("train: dpo: no scored response tokens")
	}
	if err := m.Forward(ws, joined.Tokens); err != nil {
		return nil, nil, err
	}
	logps, err := ws.SequenceLogProbs(joined.Targets)
	if err != nil {
		return nil, nil, err
	}
	return logps[:P], logps[P:], nil
}

// DPOGradientsRef is DPOGradients with the reference model's log-probabilities
// given, as ResponseLogProbs computed them: the reference is frozen, so a run
// computes them once for its whole data set.
func (m *Model) DPOGradientsRef(ws *Workspace, pairs Pairs, refChosen, refRejected []float64, beta float64) (*DPOResult, error) {
	chosen, rejected, err := m.ResponseLogProbs(ws, pairs)
	if err != nil {
		return nil, fmt.Errorf("train: dpo: policy: %w", err)
	}
	P := len(chosen)
	if len(refChosen) != P || len(refRejected) != P {
		return nil, fmt.Errorf("train: dpo: %d and %d reference log-probs for %d pairs", len(refChosen), len(refRejected), P)
	}
	res := &DPOResult{
		PolicyChosen: chosen, PolicyRejected: rejected,
		RefChosen: refChosen, RefRejected: refRejected,
		ChosenRewards: make([]float64, P), RejectedRewards: make([]float64, P),
	}
	// d loss / d π_c = −β·σ(−z)/P and d loss / d π_r = +β·σ(−z)/P, with z the margin.
	coef := make([]float32, 2*P*ws.T)
	for i := range P {
		res.ChosenRewards[i] = beta * (res.PolicyChosen[i] - res.RefChosen[i])
		res.RejectedRewards[i] = beta * (res.PolicyRejected[i] - res.RefRejected[i])
		z := res.ChosenRewards[i] - res.RejectedRewards[i]
		res.Loss += softplus(-z) / float64(P)
		g := beta * sigmoid(-z) / float64(P)
		// LogProbGrad differentiates Σ coef·log p, so coef = d loss / d log p.
		fill(coef[i*ws.T:(i+1)*ws.T], float32(-g))
		fill(coef[(P+i)*ws.T:(P+i+1)*ws.T], float32(g))
	}
	targets := append(append(make([]int32, 0, 2*P*ws.T), pairs.Chosen.Targets...), pairs.Rejected.Targets...)
	if err := ws.LogProbGrad(targets, coef); err != nil {
		return nil, err
	}
	m.Grads.Zero()
	if err := m.Backward(ws); err != nil {
		return nil, err
	}
	return res, nil
}

// RewardResult is what one reward-model step computed, per pair.
type RewardResult struct {
	Loss             float64
	Chosen, Rejected []float64 // the rewards
}

// RewardGradients sets m.Grads to the gradient of the Bradley–Terry loss of
// a reward model (m has a RewardHead) over the pairs: the reward of a
// sequence is the head's output at its last real token, and
//
//	loss = mean over pairs of −log σ(r_chosen − r_rejected).
//
// ws has batch size 2·pairs.
func (m *Model) RewardGradients(ws *Workspace, pairs Pairs) (*RewardResult, error) {
	res, last, err := m.rewards(ws, pairs)
	if err != nil {
		return nil, err
	}
	P := len(res.Chosen)
	clear(ws.DLogits)
	for i := range P {
		rc, rr := res.Chosen[i], res.Rejected[i]
		res.Loss += softplus(rr-rc) / float64(P)
		g := sigmoid(rr-rc) / float64(P)
		ws.DLogits[last[i]] = float32(-g)
		ws.DLogits[last[P+i]] = float32(g)
	}
	m.Grads.Zero()
	if err := m.Backward(ws); err != nil {
		return nil, err
	}
	return res, nil
}

// Rewards runs the reward model m on the pairs and returns the reward of
// each chosen and rejected sequence and the Bradley–Terry loss, without
// gradients.
func (m *Model) Rewards(ws *Workspace, pairs Pairs) (*RewardResult, error) {
	res, _, err := m.rewards(ws, pairs)
	if err != nil {
		return nil, err
	}
	for i, rc := range res.Chosen {
		res.Loss += softplus(res.Rejected[i]-rc) / float64(len(res.Chosen))
	}
	return res, nil
}

// rewards runs the forward pass and reads the rewards, returning also the
// row of each sequence's reward (chosen ones first).
func (m *Model) rewards(ws *Workspace, pairs Pairs) (*RewardResult, []int, error) {
	if ws.rows != 1 {
		return nil, nil, fmt.Errorf("train: reward: the model's head has %d outputs, want a scalar reward head", ws.rows)
	}
	joined, P, err := pairs.join(ws)
	if err != nil {
		return nil, nil, err
	}
	if len(pairs.ChosenLen) != P || len(pairs.RejectedLen) != P {
		return nil, nil, fmt.Errorf("train: reward: %d chosen and %d rejected lengths for %d pairs", len(pairs.ChosenLen), len(pairs.RejectedLen), P)
	}
	last := make([]int, 2*P) // the row holding each sequence's reward
	for i, n := range append(append([]int(nil), pairs.ChosenLen...), pairs.RejectedLen...) {
		if n < 1 || n > ws.T {
			return nil, nil, fmt.Errorf("train: reward: sequence length %d outside [1, %d]", n, ws.T)
		}
		last[i] = i*ws.T + n - 1
	}
	if err := m.Forward(ws, joined.Tokens); err != nil {
		return nil, nil, fmt.Errorf("train: reward: %w", err)
	}
	res := &RewardResult{Chosen: make([]float64, P), Rejected: make([]float64, P)}
	for i := range P {
		res.Chosen[i], res.Rejected[i] = float64(ws.Logits[last[i]]), float64(ws.Logits[last[P+i]])
	}
	return res, last, nil
}

// SequenceLogProbs returns, for each sequence of the last Forward, the sum of
// log p(target) over its scored positions.
func (ws *Workspace) SequenceLogProbs(targets []int32) ([]float64, error) {
	tok, err := ws.TokenLogProbs(targets)
	if err != nil {
		return nil, err
	}
	out := make([]float64, ws.B)
	for i, v := range tok {
		out[i/ws.T] += v
	}
	return out, nil
}

// softplus returns log(1 + e^x) without overflow; −log σ(z) = softplus(−z).
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func fill(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}
