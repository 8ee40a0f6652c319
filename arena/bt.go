package arena

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Regularization is the weight λ of the Gaussian prior (λ/2)·Σθ² that the
// Bradley–Terry fit adds to the negative log-likelihood, θ being a model's
// strength in natural log-odds (θ = ln(EloBase)·(rating − EloInit)/EloScale).
// It is tiny — a prior standard deviation of about 5,500 Elo points — so it
// moves ratings of well-compared models by far less than a rating point, but
// it keeps the maximum finite when a model won (or lost) every battle, and
// unique when the comparison graph falls apart into pieces; plain maximum
// likelihood has no optimum then, and FastChat's L-BFGS simply stops after
// 100 iterations wherever it is.
const Regularization = 1e-3

// eloPerLogit converts natural log-odds to Elo points.
var eloPerLogit = EloScale / math.Log(EloBase)

// pairs indexes battles for fitting: models by sorted name, and each battle
// as the unordered pair it was fought in and the score of that pair's first
// model.
type pairs struct {
	models []string
	first  []int     // pair -> index of its first model
	second []int     // pair -> index of its second model
	pair   []int     // battle -> pair
	score  []float64 // battle -> score of the pair's first model
}

func indexBattles(battles []Battle) (*pairs, error) {
	if len(battles) == 0 {
		return nil, errors.New("arena: no battles")
	}
	id := map[string]int{}
	for i, b := range battles {
		if err := b.Validate(); err != nil {
			return nil, fmt.Errorf("arena: battle %d: %w", i, err)
		}
		id[b.ModelA], id[b.ModelB] = 0, 0
	}
	p := &pairs{models: make([]string, 0, len(id))}
	for m := range id {
		p.models = append(p.models, m)
	}
	slices.Sort(p.models)
	for i, m := range p.models {
		id[m] = i
	}
	pairID := map[[2]int]int{}
	p.pair = make([]int, len(battles))
	p.score = make([]float64, len(battles))
	for k, b := range battles {
		i, j := id[b.ModelA], id[b.ModelB]
		s, _ := b.score()
		if i > j {
			i, j, s = j, i, 1-s
		}
		pid, ok := pairID[[2]int{i, j}]
		if !ok {
			pid = len(p.first)
			pairID[[2]int{i, j}] = pid
			p.first = append(p.first, i)
			p.second = append(p.second, j)
		}
		p.pair[k], p.score[k] = pid, s
	}
	return p, nil
}

// tally holds, per pair, how many battles were fought and the first model's
// total score; bootstrap resamples are tallies with other counts.
type tally struct {
	games, score []float64
}

func newTally(p *pairs) tally {
	return tally{games: make([]float64, len(p.first)), score: make([]float64, len(p.first))}
}

// count sets t to the battles weighted by times, battle k counted times[k]
// times.
func (t tally) count(p *pairs, times []int32) {
	clear(t.games)
	clear(t.score)
	for k, c := range times {
		if c != 0 {
			t.games[p.pair[k]] += float64(c)
			t.score[p.pair[k]] += float64(c) * p.score[k]
		}
	}
}

// btSolver fits Bradley–Terry strengths by Newton's method with a
// backtracking line search. The regularized objective is strictly convex,
// so this converges from any start; its Hessian is dense n×n, fine for the
// tens to hundreds of models an arena holds.
type btSolver struct {
	p           *pairs
	grad, step  []float64
	trial       []float64
	hess        *mat.SymDense
	chol        mat.Cholesky
	gradV, desc *mat.VecDense
}

func newBTSolver(p *pairs) *btSolver {
	n := len(p.models)
	s := &btSolver{
		p:     p,
		grad:  make([]float64, n),
		step:  make([]float64, n),
		trial: make([]float64, n),
		hess:  mat.NewSymDense(n, nil),
	}
	s.gradV = mat.NewVecDense(n, s.grad)
	s.desc = mat.NewVecDense(n, s.step)
	return s
}

// logSigmoid is log(1/(1+e^−x)) without overflow for large |x|.
func logSigmoid(x float64) float64 {
	if x >= 0 {
		return -math.Log1p(math.Exp(-x))
	}
	return x - math.Log1p(math.Exp(x))
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// objective is the regularized negative log-likelihood of t at theta; a tie
// (score 0.5) counts as half a win and half a loss.
func (s *btSolver) objective(t tally, theta []float64) float64 {
	f := 0.0
	for k, g := range t.games {
		if g == 0 {
			continue
		}
		d := theta[s.p.first[k]] - theta[s.p.second[k]]
		// log σ(−d) = log σ(d) − d saves a logarithm per pair.
		f -= g*logSigmoid(d) - (g-t.score[k])*d
	}
	for _, th := range theta {
		f += 0.5 * Regularization * th * th
	}
	return f
}

// derivatives fills s.grad and s.hess at theta.
func (s *btSolver) derivatives(t tally, theta []float64) {
	n := len(theta)
	for i := range n {
		s.grad[i] = Regularization * theta[i]
		for j := i; j < n; j++ {
			s.hess.SetSym(i, j, 0)
		}
		s.hess.SetSym(i, i, Regularization)
	}
	for k, g := range t.games {
		if g == 0 {
			continue
		}
		i, j := s.p.first[k], s.p.second[k]
		p := sigmoid(theta[i] - theta[j])
		r := g*p - t.score[k]
		s.grad[i] += r
		s.grad[j] -= r
		w := g * p * (1 - p)
		s.hess.SetSym(i, i, s.hess.At(i, i)+w)
		s.hess.SetSym(j, j, s.hess.At(j, j)+w)
		s.hess.SetSym(i, j, s.hess.At(i, j)-w)
	}
}

// gradTol is the largest gradient entry accepted as converged, per battle
// in the tally: relative, because rounding in sums over many battles puts a
// floor under an absolute tolerance. Newton's quadratic convergence gets
// there a step or two after the ratings stop moving in any printed digit.
const gradTol = 1e-10

// maxNewton bounds the iterations; convergence takes fewer than 30 even
// when a model won every battle.
const maxNewton = 200

// fullStepDecrement is the predicted decrease of the negative
// log-likelihood (g·H⁻¹g, in nats) below which Newton steps skip the line
// search.
const fullStepDecrement = 1e-6

// fit minimises the objective for t, starting from and overwriting theta
// (natural log-odds), and centres the result on zero.
func (s *btSolver) fit(t tally, theta []float64) error {
	f0 := math.NaN() // objective at theta, when known
	tol := 0.0
	for _, g := range t.games {
		tol += g
	}
	tol = gradTol * (1 + tol)
	for iter := 0; iter < maxNewton; iter++ {
		s.derivatives(t, theta)
		gmax := 0.0
		for _, g := range s.grad {
			gmax = max(gmax, math.Abs(g))
		}
		if gmax < tol {
			center(theta)
			return nil
		}
		if !s.chol.Factorize(s.hess) {
			return errors.New("arena: Bradley–Terry Hessian is not positive definite")
		}
		if err := s.chol.SolveVecTo(s.desc, s.gradV); err != nil {
			return fmt.Errorf("arena: Bradley–Terry Newton step: %w", err)
		}
		slope := 0.0 // directional derivative along the Newton step, negative
		for i := range s.step {
			s.step[i] = -s.step[i]
			slope += s.grad[i] * s.step[i]
		}
		if -slope < fullStepDecrement {
			// Within rounding of the optimum the objective cannot tell
			// a better point from a worse one, so a line search would
			// stall; there a full Newton step is safe and converges
			// quadratically.
			for i := range theta {
				theta[i] += s.step[i]
			}
			f0 = math.NaN()
			continue
		}
		if math.IsNaN(f0) {
			f0 = s.objective(t, theta)
		}
		accepted := false
		for a := 1.0; a > 1e-12; a /= 2 {
			for i := range theta {
				s.trial[i] = theta[i] + a*s.step[i]
			}
			if f := s.objective(t, s.trial); f <= f0+1e-4*a*slope {
				f0, accepted = f, true
				break
			}
		}
		if !accepted {
			return fmt.Errorf("arena: Bradley–Terry line search failed (gradient %.3g)", gmax)
		}
		copy(theta, s.trial)
	}
	return fmt.Errorf("arena: Bradley–Terry fit did not converge in %d Newton steps", maxNewton)
}

// center shifts theta to mean zero, so the mean rating is EloInit. At the
// optimum the mean is already zero (every battle adds as much to one
// model's gradient as it takes from the other's, so λ·Σθ = 0); this only
// removes solver residue.
func center(theta []float64) {
	m := 0.0
	for _, th := range theta {
		m += th
	}
	m /= float64(len(theta))
	for i := range theta {
		theta[i] -= m
	}
}

// FitBT fits Bradley–Terry ratings by (very lightly regularized) maximum
// likelihood, as FastChat's compute_mle_elo does: P(A beats B) =
// 1/(1+EloBase^((R_B−R_A)/EloScale)), a tie counting as half a win for each
// side. Ratings are anchored so that their mean is EloInit, which is what
// FastChat's fit yields when its baseline model is absent. The map holds
// every model that appears in battles.
func FitBT(battles []Battle) (map[string]float64, error) {
	p, theta, err := fitBattles(battles)
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(p.models))
	for i, m := range p.models {
		out[m] = EloInit + eloPerLogit*theta[i]
	}
	return out, nil
}

// fitBattles indexes battles and fits strengths to all of them.
func fitBattles(battles []Battle) (*pairs, []float64, error) {
	p, err := indexBattles(battles)
	if err != nil {
		return nil, nil, err
	}
	t := newTally(p)
	once := make([]int32, len(p.pair))
	for k := range once {
		once[k] = 1
	}
	t.count(p, once)
	theta := make([]float64, len(p.models))
	if err := newBTSolver(p).fit(t, theta); err != nil {
		return nil, nil, err
	}
	return p, theta, nil
}
