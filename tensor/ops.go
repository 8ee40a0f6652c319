package tensor

import "math"

// Small float32 kernels of a Llama forward pass. Reductions accumulate in
// float64 as ggml's scalar CPU code does (its ggml_float), which keeps
// results close to llama.cpp's regardless of vector width.

// Dot returns a·b over len(a) elements (b at least as long).
func Dot(a, b []float32) float32 { return dotFloats(a, b) }

// Axpy adds alpha*x to y elementwise (len(y) >= len(x)).
func Axpy(alpha float32, x, y []float32) { axpyFloats(alpha, x, y) }

// dotFloats and axpyFloats are Dot's and Axpy's kernels: the pure-Go ones
// below unless assembly replaces them at start-up.
var (
	dotFloats  = dotFloatsGo
	axpyFloats = axpyGo
)

func dotFloatsGo(a, b []float32) float32 {
	b = b[:len(a)]
	var sum float64
	for i, v := range a {
		sum += float64(v * b[i])
	}
	return float32(sum)
}

func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += float32(alpha * v)
	}
}

// Scale multiplies x by s in place.
func Scale(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// Add stores a+b into dst elementwise (a and b at least len(dst) long).
func Add(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Mul stores a*b into dst elementwise (a and b at least len(dst) long).
func Mul(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

// RMSNorm stores x/rms(x)*w into dst, rms(x) = sqrt(mean(x²)+eps), as
// ggml's rms_norm followed by a mul with the norm weight. dst may alias x.
func RMSNorm(dst, x, w []float32, eps float32) {
	x, w = x[:len(dst)], w[:len(dst)]
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		dst[i] = v * scale * w[i]
	}
}

// Softmax replaces x with exp(x-max)/sum in place.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x[1:] {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - mx)))
		x[i] = e
		sum += float64(e)
	}
	Scale(x, float32(1/sum))
}

// SiLU returns x*sigmoid(x) as ggml's ggml_silu_f32.
func SiLU(x float32) float32 { return x / (1 + float32(math.Exp(float64(-x)))) }

// SwiGLU stores SiLU(gate)*up into dst, the Llama feed-forward gate
// (gate and up at least len(dst) long), computed as llama.cpp's CPU backend
// does (expf.go). dst may alias gate or up.
func SwiGLU(dst, gate, up []float32) { swiglu(dst, gate, up) }

// swiglu is SwiGLU's kernel: swigluGo unless assembly replaces it.
var swiglu = swigluGo

// Argmax returns the index of the largest element of x (the first on ties),
// or -1 for an empty x.
func Argmax(x []float32) int {
	best := -1
	for i, v := range x {
		if best < 0 || v > x[best] {
			best = i
		}
	}
	return best
}
