package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func TestMatmulNT(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ m, n, k, threads int }{
		{1, 1, 1, 1}, {4, 4, 4, 2}, {5, 7, 3, 2}, {67, 130, 33, 3}, {128, 64, 100, 1}, {3, 200, 17, 4}, {9, 6, 1100, 2},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d", tc.m, tc.n, tc.k), func(t *testing.T) {
			a, b := randSlice(r, tc.m*tc.k), randSlice(r, tc.n*tc.k)
			c0 := randSlice(r, tc.m*tc.n)
			for _, acc := range []bool{false, true} {
				c := append([]float32(nil), c0...)
				matmulNT(newPool(tc.threads), c, a, b, tc.m, tc.n, tc.k, acc)
				for i := range tc.m {
					for j := range tc.n {
						var want float64
						if acc {
							want = float64(c0[i*tc.n+j])
						}
						for l := range tc.k {
							want += float64(a[i*tc.k+l]) * float64(b[j*tc.k+l])
						}
						if got := float64(c[i*tc.n+j]); math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
							t.Fatalf("acc=%v c[%d,%d] = %g, want %g", acc, i, j, got, want)
						}
					}
				}
			}
		})
	}
}

func TestTranspose(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ rows, cols int }{{1, 1}, {3, 70}, {33, 65}, {64, 32}} {
		src := randSlice(r, tc.rows*tc.cols)
		dst := make([]float32, len(src))
		transpose(newPool(2), dst, src, tc.rows, tc.cols)
		for i := range tc.rows {
			for j := range tc.cols {
				if dst[j*tc.rows+i] != src[i*tc.cols+j] {
					t.Fatalf("%dx%d: dst[%d,%d] != src[%d,%d]", tc.rows, tc.cols, j, i, i, j)
				}
			}
		}
	}
}

// BenchmarkMatmulNT measures the kernel on the shapes of a stories15M step
// (2048 tokens): attention/FFN projections and the LM head.
func BenchmarkMatmulNT(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, s := range []struct{ m, n, k int }{{2048, 288, 288}, {2048, 768, 288}, {2048, 288, 768}, {256, 32000, 288}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) {
			a, w, c := randSlice(r, s.m*s.k), randSlice(r, s.n*s.k), make([]float32, s.m*s.n)
			p := newPool(0)
			for b.Loop() {
				matmulNT(p, c, a, w, s.m, s.n, s.k, false)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func TestExp32(t *testing.T) {
	worst := 0.0
	for x := -87.0; x <= 88.7; x += 0.0137 {
		got := float64(exp32(float32(x)))
		want := math.Exp(float64(float32(x)))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 3e-7 {
		t.Errorf("exp32: worst relative error %.3g, want ≤ 3e-7", worst)
	}
	for _, tc := range []struct{ x, want float32 }{{-100, 0}, {0, 1}, {float32(math.Inf(-1)), 0}} {
		if got := exp32(tc.x); got != tc.want {
			t.Errorf("exp32(%g) = %g, want %g", tc.x, got, tc.want)
		}
	}
	if got := exp32(89); !math.IsInf(float64(got), 1) {
		t.Errorf("exp32(89) = %g, want +Inf", got)
	}
}
