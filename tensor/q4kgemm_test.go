package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestQ4KGemmArbitraryBytes holds the sixteen-vector Q4_K kernel to dotQ4K
// bit for bit on weights whose scale bytes and nibbles take every value,
// against activations with arbitrary quants (-128 included), for every
// count of vectors in a group and widths of one to 43 super-blocks; the
// group buffer starts with random bytes, as a reused one holds stale
// vectors in the lanes past nv.
func TestQ4KGemmArbitraryBytes(t *testing.T) {
	if fastGemm[Q4_K] == nil {
		t.Skipf("no sixteen-vector Q4_K kernel on this CPU/build (kernels %q)", Kernels())
	}
	g := fastGemm[Q4_K]
	rng := rand.New(rand.NewPCG(14, 14))
	for _, cols := range []int{256, 2048, 11008} {
		const rows = 8
		m, err := NewMatrix(Q4_K, rows, cols, randomQ4KRows(rng, rows, cols))
		if err != nil {
			t.Fatal(err)
		}
		for _, nv := range []int{1, 7, 8, 15, 16} {
			t.Run(fmt.Sprintf("cols=%d/nv=%d", cols, nv), func(t *testing.T) {
				grp := make([]byte, g.groupBytes(cols))
				for i := range grp {
					grp[i] = byte(rng.IntN(256))
				}
				act := make([]byte, 0, nv*m.actBytes)
				for i := range nv {
					act = append(act, randomQ8KRow(rng, cols)...)
					g.layout(grp, act[i*m.actBytes:], i, cols)
				}
				dst := make([]float32, nv*rows)
				for r := 0; r < rows; r += g.rows {
					g.run(m, r, grp, act, nv, dst)
				}
				checkOutputs(t, m, act, nv, dst)
			})
		}
	}
}
