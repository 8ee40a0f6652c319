package arena

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// DefaultBootstrap is the number of bootstrap resamples used when Options
// leaves it zero.
const DefaultBootstrap = 1000

// Options tune ComputeLeaderboard; a nil *Options means the defaults.
type Options struct {
	// Bootstrap is the number of resamples for the 95% intervals; zero
	// means DefaultBootstrap.
	Bootstrap int
	// Seed makes the resamples reproducible; equal seeds give equal
	// intervals whatever the number of workers.
	Seed uint64
	// Workers fit resamples in parallel; zero means GOMAXPROCS.
	Workers int
}

// Rating is one model's line on the leaderboard. The JSON keys are those of
// `llmos arena ratings --json`.
type Rating struct {
	Model string `json:"model"`
	// Rating is the Bradley–Terry maximum-likelihood rating on the Elo
	// scale, fitted to all battles.
	Rating float64 `json:"rating"`
	// CILower and CIUpper are the 2.5% and 97.5% quantiles of the rating
	// over bootstrap resamples of the battles.
	CILower float64 `json:"ci_lower"`
	CIUpper float64 `json:"ci_upper"`
	// Elo is the online Elo rating after all battles in their given order.
	Elo float64 `json:"elo"`
	// Battles counts the battles the model fought, ties included.
	Battles int `json:"battles"`
	// Rank is FastChat's rank by intervals: one plus the number of models
	// whose lower bound lies above this model's upper bound, so models
	// that cannot be told apart share a rank.
	Rank int `json:"-"`
}

// Leaderboard is the ranking computed from a set of battles.
type Leaderboard struct {
	// Ratings are ordered best first by Bradley–Terry rating.
	Ratings []Rating
	// WinRate[i][j] is FastChat's pairwise win fraction: of the battles
	// between Ratings[i] and Ratings[j] that were not ties, the fraction
	// model i won. It is NaN where they had no decisive battle.
	WinRate [][]float64
	// Battles[i][j] counts the battles between Ratings[i] and Ratings[j],
	// ties included.
	Battles [][]int
	// Bootstrap is the number of resamples behind the intervals.
	Bootstrap int
}

// ComputeLeaderboard rates the models in battles: Bradley–Terry ratings with
// bootstrap 95% intervals, online Elo in the order of battles, battle counts
// and the win-rate matrix.
func ComputeLeaderboard(ctx context.Context, battles []Battle, opts *Options) (*Leaderboard, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Bootstrap == 0 {
		o.Bootstrap = DefaultBootstrap
	}
	if o.Bootstrap < 0 {
		return nil, fmt.Errorf("arena: bootstrap resamples must be positive, got %d", o.Bootstrap)
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	p, theta, err := fitBattles(battles)
	if err != nil {
		return nil, err
	}
	samples, err := bootstrap(ctx, p, theta, o)
	if err != nil {
		return nil, err
	}
	elo, err := OnlineElo(battles)
	if err != nil {
		return nil, err
	}

	n := len(p.models)
	ratings := make([]Rating, n)
	col := make([]float64, o.Bootstrap)
	for i, m := range p.models {
		for r := range col {
			col[r] = samples[r*n+i]
		}
		slices.Sort(col)
		ratings[i] = Rating{
			Model:   m,
			Rating:  EloInit + eloPerLogit*theta[i],
			CILower: EloInit + eloPerLogit*quantile(col, 0.025),
			CIUpper: EloInit + eloPerLogit*quantile(col, 0.975),
			Elo:     elo[m],
		}
	}
	wins, games := pairCounts(p, battles)
	for i := range ratings {
		for j := range n {
			ratings[i].Battles += games[i][j]
		}
	}
	for i := range ratings {
		ratings[i].Rank = 1
		for j := range ratings {
			if ratings[j].CILower > ratings[i].CIUpper {
				ratings[i].Rank++
			}
		}
	}

	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmpDesc(ratings[a].Rating, ratings[b].Rating)
	})
	lb := &Leaderboard{Bootstrap: o.Bootstrap, Ratings: make([]Rating, n), WinRate: make([][]float64, n), Battles: make([][]int, n)}
	for r, i := range order {
		lb.Ratings[r] = ratings[i]
		lb.WinRate[r] = make([]float64, n)
		lb.Battles[r] = make([]int, n)
		for c, j := range order {
			lb.Battles[r][c] = games[i][j]
			if d := wins[i][j] + wins[j][i]; d > 0 {
				lb.WinRate[r][c] = float64(wins[i][j]) / float64(d)
			} else {
				lb.WinRate[r][c] = math.NaN()
			}
		}
	}
	return lb, nil
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// pairCounts returns, indexed like p.models, decisive wins of i over j and
// battles between i and j.
func pairCounts(p *pairs, battles []Battle) (wins, games [][]int) {
	n := len(p.models)
	wins, games = make([][]int, n), make([][]int, n)
	for i := range n {
		wins[i], games[i] = make([]int, n), make([]int, n)
	}
	for k := range battles {
		i, j := p.first[p.pair[k]], p.second[p.pair[k]]
		games[i][j]++
		games[j][i]++
		switch p.score[k] {
		case 1:
			wins[i][j]++
		case 0:
			wins[j][i]++
		}
	}
	return wins, games
}

// bootstrap refits the strengths on o.Bootstrap resamples of the battles,
// drawn with replacement, and returns them row-major: resample r, model i
// at r*n+i. Resample r draws from its own generator seeded by (o.Seed, r),
// so the result does not depend on how resamples are spread over workers.
// A model absent from a resample gets strength zero (the mean), as in
// FastChat, where its weights are all zero.
func bootstrap(ctx context.Context, p *pairs, start []float64, o Options) ([]float64, error) {
	n := len(p.models)
	out := make([]float64, o.Bootstrap*n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, o.Workers)
	for w := range min(o.Workers, o.Bootstrap) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newBTSolver(p)
			t := newTally(p)
			// Drawing into per-battle counts first keeps the random
			// writes to one small array and the tally a sequential sweep.
			times := make([]int32, len(p.pair))
			for {
				r := int(next.Add(1) - 1)
				if r >= o.Bootstrap {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				clear(times)
				rng := rand.New(rand.NewPCG(o.Seed, uint64(r)))
				for range times {
					times[rng.IntN(len(times))]++
				}
				t.count(p, times)
				theta := out[r*n : (r+1)*n]
				copy(theta, start)
				if err := s.fit(t, theta); err != nil {
					errs[w] = fmt.Errorf("bootstrap resample %d: %w", r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("arena: bootstrap: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// quantile interpolates linearly between order statistics of sorted, like
// numpy's and pandas' default.
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}
