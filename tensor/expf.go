package tensor

import "math"

// llama.cpp's CPU backend computes the feed-forward gate SiLU(g)·u sixteen
// lanes at a time with its own single-precision exp (ggml_v_expf, adapted
// from Arm's optimized routines: at most 1.45 ulp plus rounding from the
// true value) and only the leftover elements with the C library's expf.
// SwiGLU mirrors that split so that its outputs, which ffn_down quantizes
// next, match llama.cpp's bit for bit rather than to an ulp: an ulp can flip
// a rounding of the 8-bit activation quants and move the logits by far more.

// swigluLanes is the vector width whose whole groups take expfVec.
const swigluLanes = 16

// fma32 is a float32 fused multiply-add, a·b+c rounded once (through
// float64: a·b is exact there, and the one further rounding to float32 can
// differ from a true single rounding only on an exact float32 tie, which
// these polynomials do not reach in practice).
func fma32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}

// expfVec is ggml_v_expf in its AVX-512 form, one lane: exp(x) from
// x = n·ln2 + b with n = round(x·log2 e), a degree-5 polynomial in b and a
// scale by 2^n; |n| > 192 saturates to +Inf or 0.
func expfVec(x float32) float32 {
	const r = 0x1.8p23
	z := fma32(x, 0x1.715476p+0, r)
	n := z - r
	b := fma32(-n, 0x1.7f7d1cp-20, fma32(-n, 0x1.62e4p-1, x))
	if n > 192 {
		return float32(math.Inf(1))
	}
	if n < -192 {
		return 0
	}
	u := b * b
	j := fma32(fma32(fma32(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, fma32(0x1.555e66p-3, b, 0x1.fffdb6p-2)), u,
		fma32(0x1.ffffecp-1, b, 1))
	return float32(math.Ldexp(float64(j), int(n)))
}

// siluVec is ggml_v_silu, one lane.
func siluVec(x float32) float32 { return x / (1 + expfVec(0-x)) }

// swigluGo is SwiGLU's pure-Go kernel.
func swigluGo(dst, gate, up []float32) {
	gate, up = gate[:len(dst)], up[:len(dst)]
	n := len(dst) &^ (swigluLanes - 1)
	for i, g := range gate[:n] {
		dst[i] = siluVec(g) * up[i]
	}
	swigluTail(dst, gate, up, n)
}

// swigluTail finishes dst from element n on with the C library's expf, as
// llama.cpp does past its last whole vector.
func swigluTail(dst, gate, up []float32, n int) {
	for i := n; i < len(dst); i++ {
		dst[i] = SiLU(gate[i]) * up[i]
	}
}
