package scaling

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// BootstrapOptions configures [Fit.Bootstrap]. A nil *BootstrapOptions
// means the defaults.
type BootstrapOptions struct {
	// Resamples is the number of refits; 0 means 200.
	Resamples int
	// Seed makes the resampling reproducible.
	Seed uint64
	// Workers bounds the refits run at once; 0 means GOMAXPROCS.
	Workers int
}

// Bootstrap holds the laws refitted to runs resampled with replacement; its
// percentiles are confidence intervals for anything computed from a law.
type Bootstrap struct {
	// Laws are the refits, one per resample that converged.
	Laws []Law
	// Failed counts resamples whose refit found no finite optimum.
	Failed int
}

// Bootstrap refits the law to runs resampled with replacement. runs must
// be the runs f was fitted to. Each refit starts from the distinct local
// optima of the full fit rather than the whole grid: a resample moves the
// optimum only a little, and the grid would cost thousands of starts per
// resample.
func (f *Fit) Bootstrap(ctx context.Context, runs []Run, opts *BootstrapOptions) (*Bootstrap, error) {
	if opts == nil {
		opts = &BootstrapOptions{}
	}
	if len(runs) != f.Runs {
		return nil, fmt.Errorf("scaling: bootstrap: %d runs given, but the fit used %d", len(runs), f.Runs)
	}
	n := opts.Resamples
	if n == 0 {
		n = 200
	}
	if n < 0 {
		return nil, fmt.Errorf("scaling: bootstrap: %d resamples", n)
	}
	laws := make([]Law, n)
	ok := make([]bool, n)
	errs := make([]error, n)
	fitOpts := &FitOptions{Delta: f.Delta, Workers: 1}
	err := forEach(ctx, n, opts.Workers, func() func(int) {
		sample := make([]Run, len(runs))
		return func(i int) {
			// One generator per resample keeps the draw independent of
			// which worker runs it, so a seed gives the same intervals at
			// any parallelism.
			rng := rand.New(rand.NewPCG(opts.Seed, uint64(i)))
			for j := range sample {
				sample[j] = runs[rng.IntN(len(runs))]
			}
			refit, err := fitFrom(ctx, sample, f.optima, fitOpts)
			if err != nil {
				errs[i] = err
				return
			}
			laws[i], ok[i] = refit.Law, true
		}
	})
	if err != nil {
		return nil, fmt.Errorf("scaling: bootstrap: %w", err)
	}
	b := &Bootstrap{}
	for i := range n {
		if ok[i] {
			b.Laws = append(b.Laws, laws[i])
		} else {
			b.Failed++
		}
	}
	if n > 0 && len(b.Laws) == 0 {
		return nil, fmt.Errorf("scaling: bootstrap: every refit failed: %w", errs[0])
	}
	return b, nil
}

// Interval returns the equal-tailed percentile interval of stat over the
// refits at confidence level (0.95 for a 95% interval); NaN values of stat
// are left out. Both ends are NaN when there is nothing to rank.
func (b *Bootstrap) Interval(level float64, stat func(Law) float64) (lo, hi float64) {
	var v []float64
	if b != nil {
		for _, l := range b.Laws {
			if x := stat(l); !math.IsNaN(x) {
				v = append(v, x)
			}
		}
	}
	if len(v) == 0 || !(level > 0 && level < 1) {
		return math.NaN(), math.NaN()
	}
	slices.Sort(v)
	tail := (1 - level) / 2
	return quantile(v, tail), quantile(v, 1-tail)
}

// quantile interpolates linearly between the order statistics of sorted.
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(i)
	return sorted[i] + frac*(sorted[i+1]-sorted[i])
}
