package arena

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/optimize"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

func modelName(i int) string { return fmt.Sprintf("m%d", i) }

// simulate draws n battles between random pairs of models m0, m1 … whose
// true Elo-scale strengths are ratings. A tie happens with probability
// tieShare·2·min(p, 1−p) and takes its half point from each side's win
// probability, so A's expected score is still the Bradley–Terry p and the
// half-win fit has the true ratings as its target.
func simulate(rng *rand.Rand, ratings []float64, n int, tieShare float64) []Battle {
	bs := make([]Battle, n)
	for k := range bs {
		i := rng.IntN(len(ratings))
		j := rng.IntN(len(ratings) - 1)
		if j >= i {
			j++
		}
		p := 1 / (1 + math.Pow(10, (ratings[j]-ratings[i])/400))
		tie := tieShare * 2 * min(p, 1-p)
		b := Battle{ModelA: modelName(i), ModelB: modelName(j)}
		switch u := rng.Float64(); {
		case u < tie && rng.IntN(2) == 0:
			b.Winner = WinnerTie
		case u < tie:
			b.Winner = WinnerBothBad
		case u < tie+p-tie/2:
			b.Winner = WinnerA
		default:
			b.Winner = WinnerB
		}
		bs[k] = b
	}
	return bs
}

// centered shifts ratings to mean EloInit, the anchoring FitBT uses.
func centered(ratings []float64) []float64 {
	m := 0.0
	for _, r := range ratings {
		m += r
	}
	m /= float64(len(ratings))
	out := make([]float64, len(ratings))
	for i, r := range ratings {
		out[i] = r - m + EloInit
	}
	return out
}

func TestFitBTClosedForms(t *testing.T) {
	rep := func(b Battle, n int) []Battle {
		out := make([]Battle, n)
		for i := range out {
			out[i] = b
		}
		return out
	}
	join := func(parts ...[]Battle) []Battle {
		var out []Battle
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name    string
		battles []Battle
		diff    float64 // R_x − R_y
	}{
		// With two models the MLE solves p = score/games exactly; the
		// prior shrinks that by well under 0.1% on so few battles.
		{"3 of 4", join(rep(Battle{"x", "y", WinnerA}, 3), rep(Battle{"y", "x", WinnerA}, 1)), 400 * math.Log10(3)},
		{"9 of 10, as model_b", join(rep(Battle{"y", "x", WinnerB}, 9), rep(Battle{"x", "y", WinnerB}, 1)), 400 * math.Log10(9)},
		{"ties are half wins", join(rep(Battle{"x", "y", WinnerA}, 2), rep(Battle{"x", "y", WinnerTie}, 2), rep(Battle{"x", "y", WinnerBothBad}, 2)), 400 * math.Log10(2)},
		{"even", join(rep(Battle{"x", "y", WinnerA}, 5), rep(Battle{"x", "y", WinnerB}, 5), rep(Battle{"x", "y", WinnerTie}, 3)), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := FitBT(tt.battles)
			if err != nil {
				t.Fatal(err)
			}
			if got := r["x"] - r["y"]; math.Abs(got-tt.diff) > 1e-3*math.Abs(tt.diff)+1e-6 {
				t.Errorf("R_x − R_y = %.4f, want %.4f", got, tt.diff)
			}
			if mean := (r["x"] + r["y"]) / 2; math.Abs(mean-EloInit) > 1e-9 {
				t.Errorf("mean rating %.12f, want %d", mean, EloInit)
			}
		})
	}
}

// TestFitBTDegenerate: maximum likelihood alone has no optimum here; the
// regularized fit must still converge to finite, ordered ratings.
func TestFitBTDegenerate(t *testing.T) {
	tests := []struct {
		name    string
		battles []Battle
		order   []string // every model, best first
	}{
		{"one model wins all", []Battle{{"a", "b", WinnerA}, {"c", "a", WinnerB}, {"b", "c", WinnerTie}, {"b", "c", WinnerA}}, []string{"a", "b", "c"}},
		{"one model loses all", []Battle{{"a", "b", WinnerB}, {"a", "c", WinnerB}, {"b", "c", WinnerA}}, []string{"b", "c", "a"}},
		{"strict chain", []Battle{{"a", "b", WinnerA}, {"b", "c", WinnerA}, {"c", "d", WinnerA}}, []string{"a", "b", "c", "d"}},
		{"disconnected", []Battle{{"a", "b", WinnerA}, {"a", "b", WinnerB}, {"a", "b", WinnerA}, {"c", "d", WinnerA}}, []string{"c", "a", "b", "d"}},
		{"single battle", []Battle{{"a", "b", WinnerA}}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := FitBT(tt.battles)
			if err != nil {
				t.Fatal(err)
			}
			sum := 0.0
			for m, v := range r {
				if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v-EloInit) > 10000 {
					t.Errorf("%s: rating %v", m, v)
				}
				sum += v
			}
			if mean := sum / float64(len(r)); math.Abs(mean-EloInit) > 1e-6 {
				t.Errorf("mean %v", mean)
			}
			for i := 1; i < len(tt.order); i++ {
				if r[tt.order[i-1]] <= r[tt.order[i]] {
					t.Errorf("%s (%.1f) not above %s (%.1f)", tt.order[i-1], r[tt.order[i-1]], tt.order[i], r[tt.order[i]])
				}
			}
		})
	}
}

func TestFitBTErrors(t *testing.T) {
	if _, err := FitBT(nil); err == nil {
		t.Error("no battles: no error")
	}
	if _, err := FitBT([]Battle{{"a", "b", "win"}}); err == nil {
		t.Error("bad winner: no error")
	}
}

// TestFitBTMatchesFastChatObjective fits FastChat's unregularized per-battle
// objective with gonum's L-BFGS, an independent optimizer on an
// independently written loss, and expects the same ratings.
func TestFitBTMatchesFastChatObjective(t *testing.T) {
	truth := []float64{1250, 1100, 1040, 1000, 930, 800, 760}
	bs := simulate(newRand(3), truth, 4000, 0.3)
	got, err := FitBT(bs)
	if err != nil {
		t.Fatal(err)
	}
	n := len(truth)
	alpha := math.Log(10) / 400
	is, js, ss := make([]int, len(bs)), make([]int, len(bs)), make([]float64, len(bs))
	for k, b := range bs {
		fmt.Sscanf(b.ModelA, "m%d", &is[k])
		fmt.Sscanf(b.ModelB, "m%d", &js[k])
		ss[k], _ = b.score()
	}
	prob := optimize.Problem{
		Func: func(x []float64) float64 {
			f := 0.0
			for k := range bs {
				p := 1 / (1 + math.Exp(-alpha*(x[is[k]]-x[js[k]])))
				f -= ss[k]*math.Log(p) + (1-ss[k])*math.Log(1-p)
			}
			return f
		},
		Grad: func(grad, x []float64) {
			clear(grad)
			for k := range bs {
				p := 1 / (1 + math.Exp(-alpha*(x[is[k]]-x[js[k]])))
				grad[is[k]] -= alpha * (ss[k] - p)
				grad[js[k]] += alpha * (ss[k] - p)
			}
		},
	}
	res, err := optimize.Minimize(prob, make([]float64, n), &optimize.Settings{GradientThreshold: 1e-9}, &optimize.LBFGS{})
	if err != nil {
		t.Fatal(err)
	}
	want := centered(res.X)
	for i := range n {
		if d := got[modelName(i)] - want[i]; math.Abs(d) > 0.01 {
			t.Errorf("%s: %.4f, L-BFGS reference %.4f", modelName(i), got[modelName(i)], want[i])
		}
	}
}

// ladderBattles simulates n battles between models evenly spaced by step
// Elo points, for benchmarks.
func ladderBattles(models int, step float64, n int) []Battle {
	truth := make([]float64, models)
	for i := range truth {
		truth[i] = 800 + step*float64(i)
	}
	return simulate(newRand(5), truth, n, 0.3)
}

func BenchmarkFitBT(b *testing.B) {
	bs := ladderBattles(40, 12, 50000)
	for b.Loop() {
		if _, err := FitBT(bs); err != nil {
			b.Fatal(err)
		}
	}
}
