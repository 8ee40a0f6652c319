package scaling

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/optimize"
)

// DefaultDelta is the Huber δ that Hoffmann et al. 2022 used on log-loss
// residuals.
const DefaultDelta = 1e-3

// Grid is the set of starting points for the optimiser: every combination
// of its values is one start. Log values are natural logs of A, B and E.
type Grid struct {
	Alpha, Beta, LogE, LogA, LogB []float64
}

// ChinchillaGrid returns the grid of Hoffmann et al. 2022: α, β ∈ {0, 0.5,
// …, 2}, log E ∈ {−1, −0.5, …, 1}, log A, log B ∈ {0, 5, …, 25}; 4500
// starts.
func ChinchillaGrid() Grid {
	steps := func(lo, hi, step float64) []float64 {
		var v []float64
		for x := lo; x <= hi+step/2; x += step {
			v = append(v, x)
		}
		return v
	}
	return Grid{
		Alpha: steps(0, 2, 0.5),
		Beta:  steps(0, 2, 0.5),
		LogE:  steps(-1, 1, 0.5),
		LogA:  steps(0, 25, 5),
		LogB:  steps(0, 25, 5),
	}
}

// Size returns the number of starting points in the grid.
func (g Grid) Size() int {
	return len(g.Alpha) * len(g.Beta) * len(g.LogE) * len(g.LogA) * len(g.LogB)
}

// starts lists the grid's points as parameter vectors.
func (g Grid) starts() []theta {
	var out []theta
	for _, a := range g.LogA {
		for _, b := range g.LogB {
			for _, e := range g.LogE {
				for _, al := range g.Alpha {
					for _, be := range g.Beta {
						out = append(out, theta{a, b, e, al, be})
					}
				}
			}
		}
	}
	return out
}

// FitOptions configures [FitLaw]. A nil *FitOptions means the defaults.
type FitOptions struct {
	// Delta is the Huber δ on log-loss residuals; 0 means DefaultDelta.
	Delta float64
	// Grid holds the starting points; nil means ChinchillaGrid.
	Grid *Grid
	// Workers bounds the starts optimised at once; 0 means GOMAXPROCS.
	Workers int
}

// Fit is the outcome of fitting a [Law] to runs.
type Fit struct {
	// Law is the best law found over all starts.
	Law Law
	// Objective is the summed Huber loss of Law's log-loss residuals.
	Objective float64
	// RMSLogResidual is the root mean square of log(predicted/actual).
	RMSLogResidual float64
	// Runs is the number of runs fitted.
	Runs int
	// Starts is the number of starting points tried.
	Starts int
	// Delta is the Huber δ used.
	Delta float64

	// optima are the distinct local optima found, best first; bootstrap
	// refits start from them instead of the whole grid.
	optima []theta
}

// theta is the optimiser's parameter vector: log A, log B, log E, α, β.
type theta [5]float64

func (t theta) law() Law {
	return Law{A: math.Exp(t[0]), B: math.Exp(t[1]), E: math.Exp(t[2]), Alpha: t[3], Beta: t[4]}
}

// distinctOptima is how many local optima a Fit keeps for bootstrap refits.
const distinctOptima = 4

// FitLaw fits L(N, D) = E + A/N^α + B/D^β to runs as Hoffmann et al. 2022
// (Approach 3) did: with a = log A, b = log B, e = log E it minimises
//
//	Σ_runs Huber_δ(LSE(a − α log N, b − β log D, e) − log L)
//
// by L-BFGS with an analytic gradient from every start of the grid, and
// keeps the best. It needs at least five runs.
func FitLaw(ctx context.Context, runs []Run, opts *FitOptions) (*Fit, error) {
	if opts == nil {
		opts = &FitOptions{}
	}
	grid := ChinchillaGrid()
	if opts.Grid != nil {
		grid = *opts.Grid
	}
	starts := grid.starts()
	if len(starts) == 0 {
		return nil, errors.New("scaling: fit: empty grid of starting points")
	}
	return fitFrom(ctx, runs, starts, opts)
}

func fitFrom(ctx context.Context, runs []Run, starts []theta, opts *FitOptions) (*Fit, error) {
	delta := opts.Delta
	if delta == 0 {
		delta = DefaultDelta
	}
	if !(delta > 0) {
		return nil, fmt.Errorf("scaling: fit: Huber delta %g must be positive", delta)
	}
	if len(runs) < 5 {
		return nil, fmt.Errorf("scaling: fit: %d runs cannot determine 5 constants; need at least 5", len(runs))
	}
	data, err := newDataset(runs)
	if err != nil {
		return nil, err
	}
	type outcome struct {
		x theta
		f float64
	}
	results := make([]outcome, len(starts))
	err = forEach(ctx, len(starts), opts.Workers, func() func(int) {
		obj := newObjective(data, delta)
		return func(i int) {
			x, f := obj.minimize(starts[i])
			results[i] = outcome{x, f}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("scaling: fit: %w", err)
	}
	slices.SortStableFunc(results, func(p, q outcome) int { return cmp.Compare(p.f, q.f) })
	if math.IsInf(results[0].f, 1) {
		return nil, fmt.Errorf("scaling: fit: no start of %d converged to a finite loss", len(starts))
	}
	var optima []theta
	for _, r := range results {
		if len(optima) == distinctOptima || math.IsInf(r.f, 1) {
			break
		}
		if !slices.ContainsFunc(optima, func(o theta) bool { return near(o, r.x) }) {
			optima = append(optima, r.x)
		}
	}
	best := results[0].x
	law := best.law()
	var ss float64
	for i := range data.logN {
		r := math.Log(law.Loss(runs[i].N, runs[i].D)) - data.logL[i]
		ss += r * r
	}
	return &Fit{
		Law:            law,
		Objective:      results[0].f,
		RMSLogResidual: math.Sqrt(ss / float64(len(runs))),
		Runs:           len(runs),
		Starts:         len(starts),
		Delta:          delta,
		optima:         optima,
	}, nil
}

// forEach calls work(i) for every i in [0, n) on up to workers goroutines
// (0 means GOMAXPROCS); each goroutine gets its own work function from
// newWorker, so it can keep scratch state. It stops handing out indices
// once ctx is done, and then returns ctx's error.
func forEach(ctx context.Context, n, workers int, newWorker func() func(i int)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work := newWorker()
			for i := range jobs {
				work(i)
			}
		}()
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return ctx.Err()
}

// near reports whether two optima are the same up to the optimiser's slack.
func near(p, q theta) bool {
	for i := range p {
		if math.Abs(p[i]-q[i]) > 1e-3*(1+math.Abs(p[i])) {
			return false
		}
	}
	return true
}

// dataset holds the logs of the runs' N, D and loss.
type dataset struct {
	logN, logD, logL []float64
}

func newDataset(runs []Run) (*dataset, error) {
	d := &dataset{
		logN: make([]float64, len(runs)),
		logD: make([]float64, len(runs)),
		logL: make([]float64, len(runs)),
	}
	for i, r := range runs {
		if !(r.N > 0 && r.D > 0 && r.Loss > 0) || math.IsInf(r.N+r.D+r.Loss, 0) {
			return nil, fmt.Errorf("scaling: fit: run %d (%q): N, D and loss must be positive and finite (got %g, %g, %g)", i+1, r.Name, r.N, r.D, r.Loss)
		}
		d.logN[i], d.logD[i], d.logL[i] = math.Log(r.N), math.Log(r.D), math.Log(r.Loss)
	}
	return d, nil
}

// objective evaluates the summed Huber loss and its gradient. It caches
// the gradient computed alongside the value, since L-BFGS asks for both at
// each point; so it is not safe for concurrent use.
type objective struct {
	data   *dataset
	delta  float64
	lastX  theta
	lastG  theta
	cached bool
}

func newObjective(d *dataset, delta float64) *objective {
	return &objective{data: d, delta: delta}
}

// eval returns the objective at x and stores its gradient in g.
func (o *objective) eval(x theta, g *theta) float64 {
	a, b, e, alpha, beta := x[0], x[1], x[2], x[3], x[4]
	expE := math.Exp(e)
	*g = theta{}
	var f float64
	d := o.data
	for i := range d.logL {
		u1 := a - alpha*d.logN[i]
		u2 := b - beta*d.logD[i]
		w1, w2, w3 := math.Exp(u1), math.Exp(u2), expE
		s := w1 + w2 + w3
		lse := math.Log(s)
		if s == 0 || math.IsInf(s, 0) {
			// Only far from any sensible law do the terms under- or
			// overflow; shifting by the largest exponent keeps them finite.
			m := max(u1, u2, e)
			w1, w2, w3 = math.Exp(u1-m), math.Exp(u2-m), math.Exp(e-m)
			s = w1 + w2 + w3
			lse = m + math.Log(s)
		}
		r := lse - d.logL[i]
		var h, dh float64
		switch {
		case r > o.delta:
			h, dh = o.delta*(r-o.delta/2), o.delta
		case r < -o.delta:
			h, dh = o.delta*(-r-o.delta/2), -o.delta
		default:
			h, dh = r*r/2, r
		}
		f += h
		dh /= s
		g[0] += dh * w1
		g[1] += dh * w2
		g[2] += dh * w3
		g[3] -= dh * w1 * d.logN[i]
		g[4] -= dh * w2 * d.logD[i]
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return math.Inf(1)
	}
	return f
}

func (o *objective) value(x []float64) float64 {
	o.lastX = theta(x)
	o.cached = true
	return o.eval(o.lastX, &o.lastG)
}

func (o *objective) grad(g, x []float64) {
	if !o.cached || theta(x) != o.lastX {
		o.value(x)
	}
	copy(g, o.lastG[:])
}

// minimize runs L-BFGS from start and returns the best point it reached and
// its objective (+Inf when none was finite).
func (o *objective) minimize(start theta) (theta, float64) {
	o.cached = false
	p := optimize.Problem{Func: o.value, Grad: o.grad}
	settings := &optimize.Settings{
		// The summed Huber loss has gradients of order δ·runs·log N far from
		// the optimum; 1e-7 is many orders below that and moves the fitted
		// constants by far less than their bootstrap spread, yet stops the
		// flat final crawl that would otherwise double the cost.
		GradientThreshold: 1e-7,
		MajorIterations:   3000,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-11, Iterations: 10},
	}
	// A line search that can make no more progress ends with an error, but
	// the best point it reached is still a valid candidate, so only a
	// missing or non-finite result disqualifies the start.
	res, _ := optimize.Minimize(p, start[:], settings, &optimize.LBFGS{})
	if res == nil || math.IsNaN(res.F) || math.IsInf(res.F, 0) {
		return start, math.Inf(1)
	}
	return theta(res.X), res.F
}
