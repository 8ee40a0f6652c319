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

// kernelPaths are the matmul implementations this CPU runs: the pure-Go one
// always, the assembly one where the CPU has it.
func kernelPaths() []struct {
	name string
	asm  bool
} {
	paths := []struct {
		name string
		asm  bool
	}{{"go", false}}
	if hasAsm {
		paths = append(paths, struct {
			name string
			asm  bool
		}{"asm", true})
	}
	return paths
}

// eachKernel runs fn as one subtest per matmul implementation.
func eachKernel(t *testing.T, fn func(t *testing.T)) {
	for _, kp := range kernelPaths() {
		t.Run(kp.name, func(t *testing.T) {
			old := useAsm
			useAsm = kp.asm
			defer func() { useAsm = old }()
			fn(t)
		})
	}
}

func TestMatmulNT(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, tc := range []struct{ m, n, k, threads int }{
			{1, 1, 1, 1}, {4, 4, 4, 2}, {5, 7, 3, 2}, {67, 130, 33, 3}, {128, 64, 100, 1}, {3, 200, 17, 4},
			{9, 6, 1100, 2}, {6, 16, 8, 1}, {12, 32, 385, 2}, {50, 129, 769, 2},
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
	})
}

// TestMatmulThreadsBitIdentical: the result does not depend on the number of
// threads, bit for bit — a resumed run must repeat an uninterrupted one.
func TestMatmulThreadsBitIdentical(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		const m, n, k = 97, 150, 800
		a, b := randSlice(r, m*k), randSlice(r, n*k)
		want := make([]float32, m*n)
		matmulNT(newPool(1), want, a, b, m, n, k, false)
		for _, threads := range []int{2, 3, 8} {
			got := make([]float32, m*n)
			matmulNT(newPool(threads), got, a, b, m, n, k, false)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%d threads: c[%d] = %g, 1 thread gave %g", threads, i, got[i], want[i])
				}
			}
		}
	})
}

// TestMicroKernel compares the assembly micro-kernel with the Go reference on
// packed panels, including k = 0 and both store modes.
func TestMicroKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, k := range []int{0, 1, 7, 64, 385} {
		a, b := randSlice(r, mr*max(k, 1)), randSlice(r, nr*max(k, 1))
		const ldc = nr + 3
		c0 := randSlice(r, mr*ldc)
		for _, acc := range []bool{false, true} {
			got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
			microKernel(k, a, b, got, ldc, acc)
			microKernelGo(k, a, b, want, ldc, acc)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("k=%d acc=%v: c[%d] = %g, reference %g", k, acc, i, got[i], want[i])
				}
			}
		}
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
		for _, kp := range kernelPaths() {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", kp.name, s.m, s.n, s.k), func(b *testing.B) {
				old := useAsm
				useAsm = kp.asm
				defer func() { useAsm = old }()
				a, w, c := randSlice(r, s.m*s.k), randSlice(r, s.n*s.k), make([]float32, s.m*s.n)
				p := newPool(0)
				for b.Loop() {
					matmulNT(p, c, a, w, s.m, s.n, s.k, false)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
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

// BenchmarkMicroKernel measures the register tile alone on L1-resident
// panels: the ceiling of the packed matrix multiply on one core.
func BenchmarkMicroKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(11, 12))
	const k = 256
	a, w, c := randSlice(r, mr*k), randSlice(r, nr*k), make([]float32, mr*nr)
	for b.Loop() {
		microKernel(k, a, w, c, nr, false)
	}
	b.ReportMetric(2*float64(mr*nr*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
