package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatMulQ6KVectorCounts holds MatMul on Q6_K weights, for every count
// of vectors from 1 to 18 and a few past two groups (each kernel MatMul
// picks by count), to MatMul of each vector alone, the decode path, and to
// the pure-Go kernel, bit for bit: several super-blocks per row, a row
// count that leaves rows outside the GEMM's groups of eight, a Pool
// splitting the row groups, edge-case weights and activations.
func TestMatMulQ6KVectorCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	pool := NewPool(3)
	defer pool.Close()
	counts := []int{33, 40}
	for n := 1; n <= 18; n++ {
		counts = append(counts, n)
	}
	for _, cols := range []int{QK_K * 3, QK_K * 8} {
		m := edgeMatrix(t, rng, Q6_K, 29, cols, true)
		for _, n := range counts {
			t.Run(fmt.Sprintf("cols=%d/n=%d", cols, n), func(t *testing.T) {
				x := gaussian(rng, n*cols)
				act := make([]byte, n*m.actBytes)
				one := make([]float32, m.Rows)
				dst := make([]float32, n*m.Rows)
				for i := range n {
					xi := x[i*cols : (i+1)*cols]
					xi[rng.IntN(cols)] *= -300 // one large value: the quants reach ±127
					m.quant(xi, act[i*m.actBytes:(i+1)*m.actBytes])
				}
				if err := m.MatMul(dst, x, n, pool); err != nil {
					t.Fatal(err)
				}
				checkOutputs(t, m, act, n, dst)
				for i := range n {
					if err := m.MatMul(one, x[i*cols:(i+1)*cols], 1, pool); err != nil {
						t.Fatal(err)
					}
					for r, want := range one {
						if got := dst[i*m.Rows+r]; math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("vector %d row %d: %v with %d vectors, %v alone", i, r, got, n, want)
						}
					}
				}
			})
		}
	}
}
