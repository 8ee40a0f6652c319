package arena

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
)

func TestLeaderboardRecoversStrengths(t *testing.T) {
	truth := centered([]float64{1300, 1180, 1100, 1000, 920, 800})
	bs := simulate(newRand(11), truth, 6000, 0.3)
	lb, err := ComputeLeaderboard(context.Background(), bs, &Options{Bootstrap: 200, Seed: 1, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(lb.Ratings) != len(truth) {
		t.Fatalf("%d models, want %d", len(lb.Ratings), len(truth))
	}
	total := 0
	for r, rt := range lb.Ratings {
		// The true order comes back: the simulated models are named
		// best first.
		if rt.Model != modelName(r) {
			t.Errorf("rank %d is %s, want %s", r+1, rt.Model, modelName(r))
		}
		if d := rt.Rating - truth[r]; math.Abs(d) > 30 {
			t.Errorf("%s: rating %.1f, truth %.1f", rt.Model, rt.Rating, truth[r])
		}
		if !(rt.CILower < rt.Rating && rt.Rating < rt.CIUpper) {
			t.Errorf("%s: rating %.1f outside its interval [%.1f, %.1f]", rt.Model, rt.Rating, rt.CILower, rt.CIUpper)
		}
		if w := rt.CIUpper - rt.CILower; w < 10 || w > 120 {
			t.Errorf("%s: interval width %.1f implausible for 2000 battles", rt.Model, w)
		}
		// Online Elo is noisy and, with K = 4 and 2000 battles per
		// model, still on its way; it must at least be on the right side
		// of the mean for the clearly strong and weak models.
		if (truth[r] > 1050 && rt.Elo <= EloInit) || (truth[r] < 950 && rt.Elo >= EloInit) {
			t.Errorf("%s: Elo %.1f on the wrong side of %d (truth %.1f)", rt.Model, rt.Elo, EloInit, truth[r])
		}
		total += rt.Battles
	}
	if total != 2*len(bs) {
		t.Errorf("battle counts sum to %d, want %d", total, 2*len(bs))
	}
	if lb.Ratings[0].Rank != 1 || lb.Ratings[len(truth)-1].Rank != len(truth) {
		t.Errorf("ranks of best and worst: %d, %d", lb.Ratings[0].Rank, lb.Ratings[len(truth)-1].Rank)
	}
}

// TestLeaderboardCoverage checks that the 95% bootstrap intervals contain
// the true strengths about 95% of the time over repeated simulations.
func TestLeaderboardCoverage(t *testing.T) {
	reps := 40
	if testing.Short() {
		reps = 12
	}
	truth := centered([]float64{1150, 1080, 1000, 990, 900})
	covered, total := 0, 0
	for rep := range reps {
		bs := simulate(newRand(uint64(100+rep)), truth, 1200, 0.3)
		lb, err := ComputeLeaderboard(context.Background(), bs, &Options{Bootstrap: 300, Seed: uint64(rep), Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range lb.Ratings {
			var i int
			for i = range truth {
				if modelName(i) == rt.Model {
					break
				}
			}
			if rt.CILower <= truth[i] && truth[i] <= rt.CIUpper {
				covered++
			}
			total++
		}
	}
	rate := float64(covered) / float64(total)
	t.Logf("coverage %.3f over %d intervals", rate, total)
	// 200 intervals (correlated within a repetition) at a true rate of
	// 0.95 land in this band with overwhelming probability; intervals
	// that are systematically too narrow or too wide do not.
	lo := 0.88
	if testing.Short() {
		lo = 0.83
	}
	if rate < lo || rate > 0.995 {
		t.Errorf("coverage %.3f, want about 0.95", rate)
	}
}

func TestLeaderboardMatrices(t *testing.T) {
	bs := []Battle{
		{"a", "b", WinnerA},
		{"b", "a", WinnerA},
		{"a", "b", WinnerA},
		{"a", "b", WinnerTie},
		{"c", "a", WinnerB},
		{"b", "c", WinnerBothBad},
	}
	lb, err := ComputeLeaderboard(context.Background(), bs, &Options{Bootstrap: 50})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range lb.Ratings {
		order = append(order, r.Model)
	}
	if !reflect.DeepEqual(order, []string{"a", "b", "c"}) {
		t.Fatalf("order %v", order)
	}
	nan := math.NaN()
	wantRate := [][]float64{
		{nan, 2.0 / 3, 1},
		{1.0 / 3, nan, nan},
		{0, nan, nan},
	}
	wantGames := [][]int{{0, 4, 1}, {4, 0, 1}, {1, 1, 0}}
	for i := range wantRate {
		for j := range wantRate[i] {
			g, w := lb.WinRate[i][j], wantRate[i][j]
			if math.IsNaN(w) != math.IsNaN(g) || (!math.IsNaN(w) && math.Abs(g-w) > 1e-12) {
				t.Errorf("WinRate[%s][%s] = %v, want %v", order[i], order[j], g, w)
			}
		}
	}
	if !reflect.DeepEqual(lb.Battles, wantGames) {
		t.Errorf("Battles = %v, want %v", lb.Battles, wantGames)
	}
	for i, want := range []int{5, 5, 2} {
		if lb.Ratings[i].Battles != want {
			t.Errorf("%s fought %d battles, want %d", order[i], lb.Ratings[i].Battles, want)
		}
	}
}

func TestLeaderboardDeterministic(t *testing.T) {
	bs := simulate(newRand(4), []float64{1100, 1000, 900, 950}, 500, 0.3)
	run := func(seed uint64, workers int) *Leaderboard {
		lb, err := ComputeLeaderboard(context.Background(), bs, &Options{Bootstrap: 100, Seed: seed, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		return lb
	}
	one, two := run(9, 1), run(9, 2)
	if !reflect.DeepEqual(one.Ratings, two.Ratings) {
		t.Errorf("seed 9 gives different intervals with 1 and 2 workers:\n%v\n%v", one.Ratings, two.Ratings)
	}
	other := run(10, 2)
	if reflect.DeepEqual(one.Ratings, other.Ratings) {
		t.Error("seeds 9 and 10 give identical intervals")
	}
	if one.Ratings[0].Rating != other.Ratings[0].Rating {
		t.Error("the point estimate depends on the seed")
	}
}

func TestLeaderboardErrors(t *testing.T) {
	bs := []Battle{{"a", "b", WinnerA}, {"a", "b", WinnerB}}
	if _, err := ComputeLeaderboard(context.Background(), bs, &Options{Bootstrap: -1}); err == nil {
		t.Error("negative bootstrap: no error")
	}
	if _, err := ComputeLeaderboard(context.Background(), nil, nil); err == nil {
		t.Error("no battles: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ComputeLeaderboard(ctx, bs, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v", err)
	}
	lb, err := ComputeLeaderboard(context.Background(), bs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lb.Bootstrap != DefaultBootstrap {
		t.Errorf("default bootstrap %d, want %d", lb.Bootstrap, DefaultBootstrap)
	}
}

func BenchmarkComputeLeaderboard(b *testing.B) {
	bs := ladderBattles(20, 20, 10000)
	for b.Loop() {
		if _, err := ComputeLeaderboard(context.Background(), bs, &Options{Bootstrap: 100, Workers: 2}); err != nil {
			b.Fatal(err)
		}
	}
}
