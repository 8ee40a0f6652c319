package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// randomQ4KRows fills rows Q4_K rows of n elements, stride bytes apart,
// with arbitrary scale bytes and nibbles (every 6-bit scale and min, which
// the quantizer rarely writes) and finite super-scales of either sign.
func randomQ4KRows(rng *rand.Rand, rows, stride, n int) []byte {
	w := make([]byte, (rows-1)*stride+n/QK_K*144)
	for r := range rows {
		for b := range n / QK_K {
			x := w[r*stride+b*144 : r*stride+(b+1)*144]
			for i := range x {
				x[i] = byte(rng.IntN(256))
			}
			putHalf(x, float32(rng.NormFloat64()*1e-2))
			putHalf(x[2:], float32(rng.NormFloat64()*1e-3))
		}
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

// TestQ4KRows4ArbitraryBytes holds the four-row Q4_K kernel to dotQ4K bit
// for bit on weights whose scale bytes and nibbles take every value.
func TestQ4KRows4ArbitraryBytes(t *testing.T) {
	fast, ok := fastDots4[Q4_K]
	if !ok {
		t.Skipf("no four-row Q4_K kernel on this CPU/build (kernels %q)", Kernels())
	}
	rng := rand.New(rand.NewPCG(12, 12))
	for _, tc := range []struct{ n, pad int }{{256, 0}, {512, 144}, {2048, 0}, {4096, 288}, {11008, 16}} {
		t.Run(fmt.Sprintf("n=%d/pad=%d", tc.n, tc.pad), func(t *testing.T) {
			stride := tc.n/QK_K*144 + tc.pad
			for range 8 {
				w, a := randomQ4KRows(rng, 4, stride, tc.n), randomQ8KRow(rng, tc.n)
				var got [4]float32
				fast(w, stride, a, nil, tc.n, got[:])
				for r := range 4 {
					want := dotQ4K(w[r*stride:r*stride+tc.n/QK_K*144], a, tc.n)
					if math.Float32bits(got[r]) != math.Float32bits(want) {
						t.Fatalf("row %d: got %v (%#x), pure Go %v (%#x)", r, got[r], math.Float32bits(got[r]), want, math.Float32bits(want))
					}
				}
			}
		})
	}
}

// BenchmarkQ4KRows4 runs the four-row Q4_K kernel alone over 2048-element
// rows: the same four rows again and again (L1, pure compute), 256 rows
// (L2) and 64 MiB of rows (DRAM). MB/s is weight bytes read; cpu-ns/op the CPU time, which
// background load disturbs less.
func BenchmarkQ4KRows4(b *testing.B) {
	fast, ok := fastDots4[Q4_K]
	if !ok {
		b.Skipf("no four-row Q4_K kernel on this CPU/build (kernels %q)", Kernels())
	}
	const n = 2048
	rb := n / QK_K * 144
	rng := rand.New(rand.NewPCG(13, 13))
	a := randomQ8KRow(rng, n)
	for _, tc := range []struct {
		name string
		rows int
	}{{"L1", 4}, {"L2", 256}, {"DRAM", 64 << 20 / rb &^ 3}} {
		w := randomQ4KRows(rng, tc.rows, rb, n)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(4 * rb))
			var out [4]float32
			r := 0
			cpu0 := processCPU()
			for b.Loop() {
				fast(w[r*rb:], rb, a, nil, n, out[:])
				if r += 4; r == tc.rows {
					r = 0
				}
			}
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
