package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// randomQ4KRows fills rows Q4_K rows of n elements with arbitrary scale
// bytes and nibbles (every 6-bit scale and min, which the quantizer rarely
// writes) and finite super-scales of either sign.
func randomQ4KRows(rng *rand.Rand, rows, n int) []byte {
	w := make([]byte, rows*n/QK_K*144)
	for b := 0; b < len(w); b += 144 {
		x := w[b : b+144]
		for i := range x {
			x[i] = byte(rng.IntN(256))
		}
		putHalf(x, float32(rng.NormFloat64()*1e-2))
		putHalf(x[2:], float32(rng.NormFloat64()*1e-3))
	}
	return w
}

// randomQ8KRow builds a Q8_K activation row of n elements with arbitrary
// quants (-128 included) and their true bsums.
func randomQ8KRow(rng *rand.Rand, n int) []byte {
	a := make([]byte, n/QK_K*q8KBytes)
	for b := range n / QK_K {
		y := a[b*q8KBytes : (b+1)*q8KBytes]
		binary.LittleEndian.PutUint32(y, math.Float32bits(float32(rng.ExpFloat64())))
		for g := range QK_K / 16 {
			var s int16
			for i := range 16 {
				q := int8(rng.IntN(256) - 128)
				y[4+16*g+i] = byte(q)
				s += int16(q)
			}
			binary.LittleEndian.PutUint16(y[4+QK_K+2*g:], uint16(s))
		}
	}
	return a
}

// q4kDecodeKernel returns the GEMM kernel MatMul takes for one vector of
// Q4_K weights, skipping the test when the CPU has none.
func q4kDecodeKernel(tb testing.TB, m *Matrix) *gemmKernel {
	tb.Helper()
	g := m.gemmFor(1)
	if g == nil {
		tb.Skipf("no one-vector Q4_K kernel on this CPU/build (kernels %q)", Kernels())
	}
	return g
}

// TestQ4KDecodeArbitraryBytes holds MatMul's one-vector Q4_K kernel to
// dotQ4K bit for bit on weights whose scale bytes and nibbles take every
// value, against activations with arbitrary quants, over widths of one to
// 43 super-blocks and two calls' worth of rows.
func TestQ4KDecodeArbitraryBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	for _, cols := range []int{256, 512, 2048, 4096, 11008} {
		const rows = 32
		m, err := NewMatrix(Q4_K, rows, cols, randomQ4KRows(rng, rows, cols))
		if err != nil {
			t.Fatal(err)
		}
		g := q4kDecodeKernel(t, m)
		t.Run(fmt.Sprintf("cols=%d", cols), func(t *testing.T) {
			grp := make([]byte, g.groupBytes(cols))
			for range 8 {
				a := randomQ8KRow(rng, cols)
				g.layout(grp, a, 0, cols)
				dst := make([]float32, rows)
				for r := 0; r < rows; r += g.rows {
					g.run(m, r, grp, a, 1, dst)
				}
				checkOutputs(t, m, a, 1, dst)
			}
		})
	}
}

// BenchmarkQ4KDecode runs the one-vector Q4_K kernel alone over
// 2048-element rows, four at a time: the same four rows again and again
// (L1, pure compute), 256 rows (L2) and 64 MiB of rows (DRAM). MB/s is
// weight bytes read; cpu-ns/op the CPU time, which background load
// disturbs less.
func BenchmarkQ4KDecode(b *testing.B) {
	const cols = 2048
	rng := rand.New(rand.NewPCG(13, 13))
	a := randomQ8KRow(rng, cols)
	for _, tc := range []struct {
		name string
		rows int
	}{{"L1", 16}, {"L2", 256}, {"DRAM", 64 << 20 / (cols / QK_K * 144) &^ 15}} {
		m, err := NewMatrix(Q4_K, tc.rows, cols, randomQ4KRows(rng, tc.rows, cols))
		if err != nil {
			b.Fatal(err)
		}
		g := q4kDecodeKernel(b, m)
		grp := make([]byte, g.groupBytes(cols))
		g.layout(grp, a, 0, cols)
		dst := make([]float32, tc.rows)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(g.rows * m.rowBytes))
			r := 0
			cpu0 := processCPU()
			for b.Loop() {
				g.run(m, r, grp, a, 1, dst)
				if r += g.rows; r == tc.rows {
					r = 0
				}
			}
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
