package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// ulps is the distance between a and b in float32 units in the last place.
func ulps(a, b float32) int64 {
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if ia < 0x80000000 != (ib < 0x80000000) {
		return math.MaxInt64
	}
	if d := ia - ib; d >= 0 {
		return d
	}
	return ib - ia
}

// TestExpfVec holds the mirror of ggml_v_expf to its documented accuracy
// (1.45 ulp plus rounding, so at most 2 ulp from the float64 exp rounded
// to float32) and its saturation: exp of large arguments is +Inf, of very
// negative ones 0.
func TestExpfVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for range 200000 {
		x := float32(rng.Float64()*190 - 100) // [-100, 90): normal results and the overflow edge
		want := float32(math.Exp(float64(x)))
		if got := expfVec(x); ulps(got, want) > 2 {
			t.Fatalf("expfVec(%v) = %v, want %v (%d ulp)", x, got, want, ulps(got, want))
		}
	}
	tests := []struct{ x, want float32 }{
		{0, 1}, {1, float32(math.E)}, {-1, float32(1 / math.E)},
		{89, float32(math.Inf(1))}, {200, float32(math.Inf(1))}, {1e30, float32(math.Inf(1))},
		{-150, 0}, {-300, 0}, {-1e30, 0},
	}
	for _, tt := range tests {
		if got := expfVec(tt.x); ulps(got, tt.want) > 1 {
			t.Errorf("expfVec(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
}

// swigluInputs returns gate and up rows of n elements: Gaussian values
// with some lanes at the extremes where exp saturates or underflows.
func swigluInputs(rng *rand.Rand, n int) (gate, up []float32) {
	gate, up = gaussian(rng, n), gaussian(rng, n)
	extremes := []float32{0, -0.0, 30, -30, 88.5, -88.5, 104, -104, 150, -150, 300, -300, 1e20, -1e20}
	for i := range gate {
		gate[i] *= 4
		if rng.IntN(8) == 0 {
			gate[i] = extremes[rng.IntN(len(extremes))]
		}
	}
	return gate, up
}

// TestSwiGLUKernels holds every SwiGLU kernel to swigluGo bit for bit, over
// lengths with and without a tail, in place and out of place, and checks
// swigluGo against SiLU(g)·u computed with float64 exp.
func TestSwiGLUKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{0, 1, 15, 16, 17, 64, 100, 5632} {
		for _, inPlace := range []bool{false, true} {
			t.Run(fmt.Sprintf("n=%d/inplace=%v", n, inPlace), func(t *testing.T) {
				gate, up := swigluInputs(rng, n)
				want := make([]float32, n)
				swigluGo(want, gate, up)
				for i, g := range gate {
					ref := g / (1 + float32(math.Exp(-float64(g)))) * up[i]
					if d := math.Abs(float64(want[i] - ref)); d > 4e-7*math.Abs(float64(ref))+1e-30 {
						t.Fatalf("element %d: swigluGo %v, float64 exp %v", i, want[i], ref)
					}
				}
				got := make([]float32, n)
				if inPlace {
					copy(got, gate)
					SwiGLU(got, got, up)
				} else {
					SwiGLU(got, gate, up)
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("kernels %q, element %d (gate %v): got %v, pure Go %v", Kernels(), i, gate[i], got[i], want[i])
					}
				}
			})
		}
	}
}

// BenchmarkSwiGLU is one TinyLlama feed-forward gate (5632 elements).
func BenchmarkSwiGLU(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	gate, up := swigluInputs(rng, 5632)
	dst := make([]float32, len(gate))
	for _, k := range []struct {
		name string
		f    func(dst, gate, up []float32)
	}{{"go", swigluGo}, {"chosen", SwiGLU}} {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(8 * len(gate)))
			for b.Loop() {
				k.f(dst, gate, up)
			}
		})
	}
}
