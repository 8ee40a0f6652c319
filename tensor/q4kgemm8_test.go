package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatMulQ4KVectorCounts holds MatMul on Q4_K weights to the pure-Go
// kernel and to MatMul of each vector alone (checkVectorCounts): 768 and
// 2048 columns, a row count that leaves rows outside the GEMMs' groups of
// eight, a Pool splitting the row groups, quantized edge-case weights and
// weights of arbitrary scale, min and nibble bytes (6-bit scales and mins
// up to 63, every nibble).
func TestMatMulQ4KVectorCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 15))
	pool := NewPool(3)
	defer pool.Close()
	for _, tt := range []struct {
		cols      int
		arbitrary bool
	}{{QK_K * 3, false}, {QK_K * 3, true}, {QK_K * 8, false}, {QK_K * 8, true}} {
		m := edgeMatrix(t, rng, Q4_K, 29, tt.cols, true)
		if tt.arbitrary {
			// Random bytes past d and dmin, which stay the quantizer's
			// finite scales.
			for b := 0; b < len(m.Data); b += 144 {
				for i := b + 4; i < b+144; i++ {
					m.Data[i] = byte(rng.IntN(256))
				}
			}
		}
		t.Run(fmt.Sprintf("cols=%d/arbitrary=%v", tt.cols, tt.arbitrary), func(t *testing.T) {
			checkVectorCounts(t, rng, m, pool)
		})
	}
}

// checkVectorCounts runs MatMul of m by every count of vectors from 1 to
// 18 and a few past two groups (each kernel MatMul picks by count), each
// vector Gaussian with one large value (its quants reach ±127), and holds
// the outputs to the pure-Go kernel and to MatMul of each vector alone, the
// decode path, bit for bit.
func checkVectorCounts(t *testing.T, rng *rand.Rand, m *Matrix, pool *Pool) {
	counts := []int{33, 40}
	for n := 1; n <= 18; n++ {
		counts = append(counts, n)
	}
	one := make([]float32, m.Rows)
	for _, n := range counts {
		x := gaussian(rng, n*m.Cols)
		act := make([]byte, n*m.actBytes)
		for i := range n {
			xi := x[i*m.Cols : (i+1)*m.Cols]
			xi[rng.IntN(m.Cols)] *= -300
			m.quant(xi, act[i*m.actBytes:(i+1)*m.actBytes])
		}
		dst := make([]float32, n*m.Rows)
		if err := m.MatMul(dst, x, n, pool); err != nil {
			t.Fatal(err)
		}
		checkOutputs(t, m, act, n, dst)
		for i := range n {
			if err := m.MatMul(one, x[i*m.Cols:(i+1)*m.Cols], 1, pool); err != nil {
				t.Fatal(err)
			}
			for r, want := range one {
				if got := dst[i*m.Rows+r]; math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("n=%d, vector %d row %d: %v with %d vectors, %v alone", n, i, r, got, n, want)
				}
			}
		}
	}
}
