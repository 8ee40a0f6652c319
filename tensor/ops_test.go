package tensor

import (
	"bytes"
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestFloatOps(t *testing.T) {
	x := []float32{1, -2, 3, 0.5}
	w := []float32{2, 1, 0.5, 4}

	if got := Dot(x, w); got != 2-2+1.5+2 {
		t.Errorf("Dot = %g, want 3.5", got)
	}

	y := []float32{1, 1, 1, 1}
	Axpy(2, x, y)
	if want := []float32{3, -3, 7, 2}; !equal32(y, want) {
		t.Errorf("Axpy = %v, want %v", y, want)
	}

	s := []float32{1, -2}
	Scale(s, -1.5)
	if want := []float32{-1.5, 3}; !equal32(s, want) {
		t.Errorf("Scale = %v, want %v", s, want)
	}

	sum, prod := make([]float32, 4), make([]float32, 4)
	Add(sum, x, w)
	Mul(prod, x, w)
	if want := []float32{3, -1, 3.5, 4.5}; !equal32(sum, want) {
		t.Errorf("Add = %v, want %v", sum, want)
	}
	if want := []float32{2, -2, 1.5, 2}; !equal32(prod, want) {
		t.Errorf("Mul = %v, want %v", prod, want)
	}

	// mean(x²) = (1+4+9+0.25)/4 = 3.5625, rms = 1.8875 (eps 0)
	norm := make([]float32, 4)
	RMSNorm(norm, x, w, 0)
	for i, v := range norm {
		want := float64(x[i]) / math.Sqrt(3.5625) * float64(w[i])
		if !near(float64(v), want, 1e-6) {
			t.Errorf("RMSNorm[%d] = %g, want %g", i, v, want)
		}
	}
	RMSNorm(x, x, []float32{1, 1, 1, 1}, 1e6) // in place; eps dominates
	if !near(float64(x[2]), 3/math.Sqrt(1e6+3.5625), 1e-7) {
		t.Errorf("RMSNorm in place with eps = %g", x[2])
	}

	p := []float32{1, 2, 3, 1000}
	Softmax(p[:3])
	e := []float64{math.Exp(-2), math.Exp(-1), 1}
	for i := range 3 {
		if want := e[i] / (e[0] + e[1] + e[2]); !near(float64(p[i]), want, 1e-7) {
			t.Errorf("Softmax[%d] = %g, want %g", i, p[i], want)
		}
	}
	if p[3] != 1000 {
		t.Errorf("Softmax wrote past its slice")
	}
	big := []float32{1000, 1000}
	Softmax(big) // exp(1000) overflows unless the max is subtracted
	if big[0] != 0.5 || big[1] != 0.5 {
		t.Errorf("Softmax of equal large values = %v", big)
	}
	Softmax(nil)

	for _, tt := range []struct{ x, want float64 }{{0, 0}, {1, 1 / (1 + math.Exp(-1))}, {-20, -20 / (1 + math.Exp(20))}, {30, 30}} {
		if got := SiLU(float32(tt.x)); !near(float64(got), tt.want, 1e-6*math.Max(1, math.Abs(tt.want))) {
			t.Errorf("SiLU(%g) = %g, want %g", tt.x, got, tt.want)
		}
	}
	glu := make([]float32, 2)
	SwiGLU(glu, []float32{0, 1}, []float32{5, 2})
	if !near(float64(glu[0]), 0, 0) || !near(float64(glu[1]), 2/(1+math.Exp(-1)), 1e-6) {
		t.Errorf("SwiGLU = %v", glu)
	}

	for _, tt := range []struct {
		x    []float32
		want int
	}{{nil, -1}, {[]float32{1}, 0}, {[]float32{1, 3, 3, 2}, 1}, {[]float32{-5, -1, -9}, 1}} {
		if got := Argmax(tt.x); got != tt.want {
			t.Errorf("Argmax(%v) = %d, want %d", tt.x, got, tt.want)
		}
	}
}

func equal32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestActivationQuantizers checks the x86 flavour of Q8_0/Q8_1 activation
// quantization that MatMul uses: ties round to even (the reference weight
// quantizer rounds them away from zero).
func TestActivationQuantizers(t *testing.T) {
	x := make([]float32, 32)
	copy(x, []float32{127, 2.5, -0.5, 1.5, -3.5})
	// amax 127: id = 1, so the quants are x rounded half to even.
	q80 := append([]byte{0x00, 0x3c, 0x7f, 0x02, 0x00, 0x02, 0xfc}, make([]byte, 27)...)
	// sum = 127+2+0+2-4 = 127, s = 127 = 0x57f0 in f16.
	q81 := append([]byte{0x00, 0x3c, 0xf0, 0x57, 0x7f, 0x02, 0x00, 0x02, 0xfc}, make([]byte, 27)...)
	for _, tt := range []struct {
		typ  Type
		want []byte
	}{{Q8_0, q80}, {Q8_1, q81}} {
		got := make([]byte, len(tt.want))
		actQuantizer(tt.typ)(x, got)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s activations:\n got %x\nwant %x", tt.typ, got, tt.want)
		}
	}
}
