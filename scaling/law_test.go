package scaling

import (
	"math"
	"testing"
)

var chinchillaPaper = Law{E: 1.69, A: 406.4, B: 410.7, Alpha: 0.34, Beta: 0.28}

func TestLawLoss(t *testing.T) {
	tests := []struct {
		name string
		law  Law
		n, d float64
		want float64
	}{
		{"unit exponents", Law{E: 1, A: 100, B: 1000, Alpha: 1, Beta: 1}, 10, 100, 1 + 10 + 10},
		{"square roots", Law{E: 0.5, A: 2, B: 3, Alpha: 0.5, Beta: 0.5}, 4, 9, 0.5 + 1 + 1},
		// Hoffmann et al. 2022 quote about 1.94 for Chinchilla (70B, 1.4T).
		{"chinchilla 70B", chinchillaPaper, 70e9, 1.4e12, 1.69 + 406.4/math.Pow(70e9, 0.34) + 410.7/math.Pow(1.4e12, 0.28)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.law.Loss(tt.n, tt.d); math.Abs(got-tt.want) > 1e-12*tt.want {
				t.Errorf("Loss(%g, %g) = %.15g, want %.15g", tt.n, tt.d, got, tt.want)
			}
		})
	}
	if got := chinchillaPaper.Loss(70e9, 1.4e12); math.Abs(got-1.94) > 0.01 {
		t.Errorf("Chinchilla 70B on 1.4T tokens: loss %.4f, paper reports about 1.94", got)
	}
}

func TestLawOptimal(t *testing.T) {
	tests := []struct {
		name         string
		law          Law
		c            float64
		wantN, wantD float64
	}{
		// α = β = 1/2, A = B: G = 1, N = D = sqrt(C/6).
		{"symmetric", Law{E: 1, A: 5, B: 5, Alpha: 0.5, Beta: 0.5}, 6e20, 1e10, 1e10},
		// α = β = 1, A = 4B: G = 2, a = b = 1/2: N = 2·sqrt(C/6), D = sqrt(C/6)/2.
		{"A four times B", Law{E: 0, A: 4, B: 1, Alpha: 1, Beta: 1}, 6e4, 200, 50},
		// The paper's constants at C = 6e23, by hand: G = (0.34·406.4 /
		// (0.28·410.7))^(1/0.62) = 1.34471, N = G·(1e23)^(0.28/0.62), D = 1e23/N.
		{"chinchilla paper", chinchillaPaper, 6e23, 3.27888e10, 3.04982e12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, d := tt.law.Optimal(tt.c)
			if math.Abs(n-tt.wantN) > 1e-5*tt.wantN || math.Abs(d-tt.wantD) > 1e-5*tt.wantD {
				t.Errorf("Optimal(%g) = (%g, %g), want (%g, %g)", tt.c, n, d, tt.wantN, tt.wantD)
			}
			if got := 6 * n * d; math.Abs(got-tt.c) > 1e-9*tt.c {
				t.Errorf("6ND = %g, want the budget %g", got, tt.c)
			}
			// The optimum beats its neighbours on the same budget.
			best := tt.law.Loss(n, d)
			for _, f := range []float64{0.9, 1.1} {
				if l := tt.law.Loss(n*f, d/f); l < best {
					t.Errorf("N×%g on the same budget has lower loss %g < %g", f, l, best)
				}
			}
		})
	}
	t.Run("chinchilla paper magnitude", func(t *testing.T) {
		// Hoffmann et al. Table 3 (Approach 3) puts ~1e24 FLOPs at tens of
		// billions of parameters.
		n, _ := chinchillaPaper.Optimal(5.76e23)
		if n < 2e10 || n > 1.5e11 {
			t.Errorf("N_opt(5.76e23) = %g, want tens of billions", n)
		}
	})
	t.Run("no interior optimum", func(t *testing.T) {
		n, d := Law{E: 1, A: 1, B: 1, Alpha: 0, Beta: 0.3}.Optimal(1e20)
		if !math.IsNaN(n) || !math.IsNaN(d) {
			t.Errorf("alpha = 0: Optimal = (%g, %g), want NaN", n, d)
		}
	})
}

func TestLawExponents(t *testing.T) {
	a, b := chinchillaPaper.Exponents()
	if math.Abs(a-0.28/0.62) > 1e-15 || math.Abs(b-0.34/0.62) > 1e-15 || math.Abs(a+b-1) > 1e-15 {
		t.Errorf("Exponents = %g, %g; want %g, %g", a, b, 0.28/0.62, 0.34/0.62)
	}
}
