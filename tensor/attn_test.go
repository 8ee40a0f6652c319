package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// attendRef is Attend in float64, straight from the definition, with the
// bound each output's rounding error is measured against: Σ_p w_p·|v_p|
// times 1 + the largest score magnitude scale·Σ|q_c·k_c| of its query (an
// error in a score moves its weight by that much relative).
func attendRef(q, keys, values []float32, hd, stride, n int, scale float64) (out, bound []float64) {
	g := len(q) / hd
	out, bound = make([]float64, g*hd), make([]float64, g*hd)
	s := make([]float64, n)
	for i := range g {
		mx, mag := math.Inf(-1), 0.0
		for p := range s {
			var d, m float64
			for c := range hd {
				d += float64(q[i*hd+c]) * float64(keys[p*stride+c])
				m += math.Abs(float64(q[i*hd+c]) * float64(keys[p*stride+c]))
			}
			s[p] = d * scale
			mx, mag = max(mx, s[p]), max(mag, m*scale)
		}
		var sum float64
		for p := range s {
			s[p] = math.Exp(s[p] - mx)
			sum += s[p]
		}
		for p := range s {
			for c := range hd {
				v := float64(values[p*stride+c])
				out[i*hd+c] += s[p] / sum * v
				bound[i*hd+c] += s[p] / sum * math.Abs(v) * (1 + mag)
			}
		}
	}
	return out, bound
}

func TestAttend(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	cases := []struct {
		hd, group, heads int // heads: key/value heads interleaved in a row
		spread           float32
	}{
		{64, 8, 4, 1},
		{64, 7, 2, 1},
		{64, 1, 1, 1},
		{64, 2, 3, 4},
		{64, 3, 1, 1},
		{64, 4, 1, 8},
		{64, 4, 2, 100}, // scores hundreds apart: exponentials underflow
		{64, 5, 2, 1},
		{128, 4, 8, 1},
		{128, 6, 2, 3},
		{128, 1, 2, 1},
		{256, 8, 1, 1},
		{80, 8, 1, 1},  // five vectors of 16
		{96, 1, 2, 1},  // three blocks of 32 for one query
		{112, 1, 1, 1}, // blocks of 32 and a rest of 16
		{48, 5, 2, 1},  // an odd count of 16
		{40, 4, 1, 1},  // a multiple of 8, not of 16: AVX-512 scores in Go
		{40, 1, 3, 1},
		{32, 3, 2, 1},
		{16, 2, 2, 1},
		{100, 4, 1, 1}, // not a multiple of 8: the Go kernels
		{8, 2, 4, 1},
	}
	sets := attnSets
	defer func() { attnSets = sets }()
	positions := []int{1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 48, 63, 64, 65, 100, 129, 255, 300}
	for _, tc := range cases {
		stride := tc.hd * tc.heads
		maxN := positions[len(positions)-1]
		keys, values := gaussian(rng, maxN*stride), gaussian(rng, maxN*stride)
		q := gaussian(rng, tc.group*tc.hd)
		for i := range q {
			q[i] *= tc.spread // larger scores: a peaked softmax
		}
		head := rng.IntN(tc.heads) * tc.hd // a key/value head other than the first
		scale := 1 / math.Sqrt(float64(tc.hd))
		out := make([]float32, tc.group*tc.hd)
		scores := make([]float32, tc.group*maxN)
		for i, k := range sets {
			attnSets = sets[:i+1] // Attend runs on the last
			for _, n := range positions {
				t.Run(fmt.Sprintf("%s/hd=%d/group=%d/n=%d", k.name, tc.hd, tc.group, n), func(t *testing.T) {
					for i := range out {
						out[i] = float32(math.NaN()) // Attend must write every output
					}
					Attend(out, q, keys[head:], values[head:], tc.hd, stride, n, float32(scale), scores)
					want, bound := attendRef(q, keys[head:], values[head:], tc.hd, stride, n, scale)
					for i, w := range want {
						if d := math.Abs(float64(out[i]) - w); !(d <= 2e-7*bound[i]) {
							t.Fatalf("out[%d] = %g, want %g (error %.3g of bound %.3g)", i, out[i], w, d, bound[i])
						}
					}
				})
			}
		}
	}
}

// TestAttendNoPositions: with nothing to attend over, the output is zero.
func TestAttendNoPositions(t *testing.T) {
	out := []float32{1, 2, 3, 4}
	Attend(out, make([]float32, 4), nil, nil, 2, 2, 0, 1, nil)
	for i, v := range out {
		if v != 0 {
			t.Errorf("out[%d] = %g, want 0", i, v)
		}
	}
}

// BenchmarkAttend times one decode token's attention in TinyLlama's shape
// (32 query heads over 4 key/value heads of 64) at several context lengths,
// on each kernel set and with the per-position Dot, Softmax and Axpy calls
// Attend replaces.
func BenchmarkAttend(b *testing.B) {
	const hd, kvHeads, group = 64, 4, 8
	rng := rand.New(rand.NewPCG(1, 2))
	stride := kvHeads * hd
	sets := attnSets
	defer func() { attnSets = sets }()
	for _, n := range []int{48, 300} {
		keys, values := gaussian(rng, n*stride), gaussian(rng, n*stride)
		q, out := gaussian(rng, kvHeads*group*hd), make([]float32, kvHeads*group*hd)
		scores := make([]float32, group*n)
		scale := float32(1 / math.Sqrt(hd))
		bench := func(name string, step func()) {
			b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
				cpu0 := processCPU()
				for b.Loop() {
					step()
				}
				if cpu := processCPU() - cpu0; cpu > 0 {
					b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
				}
			})
		}
		for i, k := range sets {
			attnSets = sets[:i+1]
			bench(k.name, func() {
				for h := range kvHeads {
					Attend(out[h*group*hd:(h+1)*group*hd], q[h*group*hd:(h+1)*group*hd], keys[h*hd:], values[h*hd:], hd, stride, n, scale, scores)
				}
			})
		}
		bench("dot-axpy", func() {
			for h := range kvHeads * group {
				qh, o, base := q[h*hd:(h+1)*hd], out[h*hd:(h+1)*hd], (h/group)*hd
				for p := range n {
					scores[p] = Dot(qh, keys[base+p*stride:base+p*stride+hd]) * scale
				}
				Softmax(scores[:n])
				clear(o)
				for p := range n {
					Axpy(scores[p], values[base+p*stride:base+p*stride+hd], o)
				}
			}
		})
	}
}
