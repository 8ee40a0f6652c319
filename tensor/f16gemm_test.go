package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestF16GemmMatchesOracle holds MatMul on F16 weights, through the GEMM
// kernel wherever the CPU has one, to the float64 product of the weights and
// the activations as MatMul rounds them to F16, within float32 rounding of
// the summed magnitudes: rows short of the kernel's row group, columns short
// of and past whole 16-element chunks, and every vector count from 1 to 40
// (partial groups of vectors, partial quads within them).
func TestF16GemmMatchesOracle(t *testing.T) {
	if fastGemm[F16] == nil {
		t.Skipf("no F16 GEMM kernel on this CPU/build (kernels %q, LLMOS_NOASM=%v)", Kernels(), noAsm)
	}
	rng := rand.New(rand.NewPCG(16, 16))
	pool := NewPool(2)
	defer pool.Close()
	for _, tc := range []struct {
		rows, cols int
		edge       bool
	}{
		{4, 16, false},
		{1, 64, false},
		{5, 15, false},
		{7, 17, false},
		{8, 100, true},
		{13, 256, true},
		{9, 2048 + 7, false},
		{4, 33, true},
	} {
		t.Run(fmt.Sprintf("rows=%d/cols=%d/edge=%v", tc.rows, tc.cols, tc.edge), func(t *testing.T) {
			w := gaussian(rng, tc.rows*tc.cols)
			if tc.edge {
				spread(rng, w)
			}
			data := make([]byte, 2*len(w))
			if err := Quantize(F16, w, data); err != nil {
				t.Fatal(err)
			}
			m, err := NewMatrix(F16, tc.rows, tc.cols, data)
			if err != nil {
				t.Fatal(err)
			}
			for n := 1; n <= 40; n++ {
				x := gaussian(rng, n*tc.cols)
				if tc.edge {
					spread(rng, x)
				}
				dst := make([]float32, n*tc.rows+1)
				dst[len(dst)-1] = 42
				if err := m.MatMul(dst, x, n, pool); err != nil {
					t.Fatal(err)
				}
				want, mag := matMulOracle(t, m, x, n)
				for i, got := range dst[:n*tc.rows] {
					if d := math.Abs(float64(got) - want[i]); !(d <= 1e-5*mag[i]) {
						t.Fatalf("n=%d vector %d row %d: got %v, want %v (|w·a| %v)", n, i/tc.rows, i%tc.rows, got, want[i], mag[i])
					}
				}
				if dst[len(dst)-1] != 42 {
					t.Fatalf("n=%d: MatMul wrote past its outputs", n)
				}
			}
		})
	}
}

// spread gives x F16's edge cases: zeros, values up to a third of the
// largest F16, subnormal ones, and sign flips, so that sums cancel.
func spread(rng *rand.Rand, x []float32) {
	for i := range x {
		switch rng.IntN(8) {
		case 0:
			x[i] = 0
		case 1:
			x[i] *= 5e3
		case 2:
			x[i] *= 3e-6
		case 3:
			x[i] = -x[i]
		}
	}
}
