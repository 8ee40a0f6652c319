package tensor

import (
	"encoding/binary"
	"math"
)

// The dot-product kernels: one weight row (w, in the weight type) against one
// activation row (a, already quantized to VecDotType of the weight type), n
// elements each. They follow ggml-cpu's generic ggml_vec_dot_* (quants.c,
// vec.cpp) including the order of float accumulation, so results match
// llama.cpp's scalar build exactly and its SIMD builds to rounding.

// vecDotTypes is ggml-cpu's type_traits_cpu[t].vec_dot_type.
var vecDotTypes = map[Type]Type{
	F32:  F32,
	F16:  F16,
	BF16: BF16,
	Q4_0: Q8_0,
	Q5_0: Q8_0,
	Q8_0: Q8_0,
	Q4_1: Q8_1,
	Q5_1: Q8_1,
	Q2_K: Q8_K,
	Q3_K: Q8_K,
	Q4_K: Q8_K,
	Q5_K: Q8_K,
	Q6_K: Q8_K,
}

// VecDotType returns the type activations are quantized to before a dot
// product with weights of type t, and false when t has no dot kernel.
func VecDotType(t Type) (Type, bool) {
	v, ok := vecDotTypes[t]
	return v, ok
}

type vecDotFunc func(w, a []byte, n int) float32

var vecDots = map[Type]vecDotFunc{
	F32:  dotF32,
	F16:  dotF16,
	BF16: dotBF16,
	Q4_0: dotQ4_0,
	Q4_1: dotQ4_1,
	Q5_0: dotQ5_0,
	Q5_1: dotQ5_1,
	Q8_0: dotQ8_0,
	Q2_K: dotQ2K,
	Q3_K: dotQ3K,
	Q4_K: dotQ4K,
	Q5_K: dotQ5K,
	Q6_K: dotQ6K,
}

// The float kernels accumulate float32 products in float64 (ggml_float), as
// ggml's scalar ggml_vec_dot_f32/f16/bf16 do.

func dotF32(w, a []byte, n int) float32 {
	var sum float64
	for i := 0; i < n; i++ {
		x := math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:]))
		y := math.Float32frombits(binary.LittleEndian.Uint32(a[4*i:]))
		sum += float64(x * y)
	}
	return float32(sum)
}

func dotF16(w, a []byte, n int) float32 {
	var sum float64
	for i := 0; i < n; i++ {
		sum += float64(half(w[2*i:]) * half(a[2*i:]))
	}
	return float32(sum)
}

func dotBF16(w, a []byte, n int) float32 {
	var sum float64
	for i := 0; i < n; i++ {
		x := BF16ToF32(binary.LittleEndian.Uint16(w[2*i:]))
		y := BF16ToF32(binary.LittleEndian.Uint16(a[2*i:]))
		sum += float64(x * y)
	}
	return float32(sum)
}

// sumQ4 is the integer dot of a Q4_0/Q4_1 block's nibbles (minus offset)
// with 32 int8 activations.
func sumQ4(qs, qy []byte, offset int32) int32 {
	var s0, s1 int32
	for j, q := range qs[:16] {
		s0 += (int32(q&0xf) - offset) * int32(int8(qy[j]))
		s1 += (int32(q>>4) - offset) * int32(int8(qy[j+16]))
	}
	return s0 + s1
}

// sumQ5 is sumQ4 for the 5-bit quants of Q5_0/Q5_1.
func sumQ5(qs []byte, qh uint32, qy []byte, offset int32) int32 {
	var s0, s1 int32
	for j, q := range qs[:16] {
		q0, q1 := q5(q, qh, j)
		s0 += (q0 - offset) * int32(int8(qy[j]))
		s1 += (q1 - offset) * int32(int8(qy[j+16]))
	}
	return s0 + s1
}

func dotQ4_0(w, a []byte, n int) float32 { return q4_0Blocks(w, a, 0, n/32, 0) }

// q4_0Blocks continues dotQ4_0's running sum sumf over blocks [b0, b1); the
// assembly kernels hand it the blocks that do not fill a whole batch.
func q4_0Blocks(w, a []byte, b0, b1 int, sumf float32) float32 {
	for b := b0; b < b1; b++ {
		x, y := w[b*18:b*18+18], a[b*34:b*34+34]
		sumi := sumQ4(x[2:], y[2:], 8)
		sumf += float32(float32(sumi) * half(x) * half(y))
	}
	return sumf
}

func dotQ4_1(w, a []byte, n int) float32 { return q4_1Blocks(w, a, 0, n/32, 0) }

// q4_1Blocks, q5_0Blocks and q5_1Blocks continue their kernel's running sum
// sumf over blocks [b0, b1), as q4_0Blocks does.
func q4_1Blocks(w, a []byte, b0, b1 int, sumf float32) float32 {
	for b := b0; b < b1; b++ {
		x, y := w[b*20:b*20+20], a[b*36:b*36+36]
		sumi := sumQ4(x[4:], y[4:], 0)
		sumf += float32(float32(half(x)*half(y))*float32(sumi)) + float32(half(x[2:])*half(y[2:]))
	}
	return sumf
}

func dotQ5_0(w, a []byte, n int) float32 { return q5_0Blocks(w, a, 0, n/32, 0) }

func q5_0Blocks(w, a []byte, b0, b1 int, sumf float32) float32 {
	for b := b0; b < b1; b++ {
		x, y := w[b*22:b*22+22], a[b*34:b*34+34]
		sumi := sumQ5(x[6:], binary.LittleEndian.Uint32(x[2:]), y[2:], 16)
		sumf += float32(float32(half(x)*half(y)) * float32(sumi))
	}
	return sumf
}

func dotQ5_1(w, a []byte, n int) float32 { return q5_1Blocks(w, a, 0, n/32, 0) }

func q5_1Blocks(w, a []byte, b0, b1 int, sumf float32) float32 {
	for b := b0; b < b1; b++ {
		x, y := w[b*24:b*24+24], a[b*36:b*36+36]
		sumi := sumQ5(x[8:], binary.LittleEndian.Uint32(x[4:]), y[4:], 0)
		sumf += float32(float32(half(x)*half(y))*float32(sumi)) + float32(half(x[2:])*half(y[2:]))
	}
	return sumf
}

func dotQ8_0(w, a []byte, n int) float32 { return q8_0Blocks(w, a, 0, n/32, 0) }

// q8_0Blocks continues dotQ8_0's running sum sumf over blocks [b0, b1).
func q8_0Blocks(w, a []byte, b0, b1 int, sumf float32) float32 {
	for b := b0; b < b1; b++ {
		x, y := w[b*34:b*34+34], a[b*34:b*34+34]
		qy := y[2:34]
		var s int32
		for j, q := range x[2:34] {
			s += int32(int8(q)) * int32(int8(qy[j]))
		}
		sumf += float32(float32(s) * float32(half(x)*half(y)))
	}
	return sumf
}

// q8KBlock splits a block_q8_K into d, qs and bsums.
func q8KBlock(y []byte) (d float32, qs []byte, bsums []byte) {
	return math.Float32frombits(binary.LittleEndian.Uint32(y)), y[4 : 4+QK_K], y[4+QK_K : 4+QK_K+32]
}

func bsum(bsums []byte, j int) int32 {
	return int32(int16(binary.LittleEndian.Uint16(bsums[2*j:])))
}

func dotQ2K(w, a []byte, n int) float32 {
	const size = 84
	var sumf float32
	for b := 0; b < n/QK_K; b++ {
		x, y := w[b*size:b*size+size], a[b*292:b*292+292]
		yd, q8, bs := q8KBlock(y)
		sc := x[0:16]
		var summs int32
		for j := range 16 {
			summs += bsum(bs, j) * int32(sc[j]>>4)
		}
		dall := yd * half(x[80:])
		dmin := yd * half(x[82:])
		var isum int32
		is := 0
		for k := 0; k < 2; k++ {
			q2 := x[16+32*k : 48+32*k]
			for shift := uint(0); shift < 8; shift += 2 {
				q := q8[:32]
				q8 = q8[32:]
				var lo, hi int32
				for l := 0; l < 16; l++ {
					lo += int32(int8(q[l])) * int32(q2[l]>>shift&3)
					hi += int32(int8(q[l+16])) * int32(q2[l+16]>>shift&3)
				}
				isum += int32(sc[is]&0xf)*lo + int32(sc[is+1]&0xf)*hi
				is += 2
			}
		}
		sumf += float32(dall*float32(isum)) - float32(dmin*float32(summs))
	}
	return sumf
}

// laneDot adds scale*q8[l]*q[l] into acc[l%8], the eight int32 lanes ggml's
// k-quant kernels accumulate before their float reduction.
func laneDot(acc *[8]int32, scale int32, q8 []byte, q []int8) {
	for k := 0; k+8 <= len(q); k += 8 {
		for l := range 8 {
			acc[l] += scale * int32(int8(q8[k+l])) * int32(q[k+l])
		}
	}
}

// laneSum finishes a k-quant dot: ggml reduces the eight per-lane float sums
// into sumf only at the end of the row.
func laneSum(sumf float32, sums *[8]float32) float32 {
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

// The k-quant kernels unpack a block's 256 quants to int8 first, as ggml's
// generic code does; the unpackers are called directly (not through function
// values) so the scratch array stays on the stack.

// dotK16 is the Q3_K/Q6_K kernel: sixteen 16-element groups, each with a
// signed scale, and an f16 super-scale at byte dOff.
func dotK16(w, a []byte, n int, q6 bool) float32 {
	size, dOff := 110, 108
	if q6 {
		size, dOff = 210, 208
	}
	var (
		aux  [QK_K]int8
		sums [8]float32
	)
	for b := 0; b < n/QK_K; b++ {
		x, y := w[b*size:b*size+size], a[b*292:b*292+292]
		yd, q8, _ := q8KBlock(y)
		if q6 {
			q6KQuants(x[0:128], x[128:192], &aux)
		} else {
			unpackQ3K(x, &aux)
		}
		var acc [8]int32
		for j := range QK_K / 16 {
			var scale int32
			if q6 {
				scale = int32(int8(x[192+j]))
			} else {
				scale = q3KScale(x[96:108], j) - 32
			}
			laneDot(&acc, scale, q8[16*j:16*j+16], aux[16*j:16*j+16])
		}
		d := half(x[dOff:]) * yd
		for l := range sums {
			sums[l] += float32(d * float32(acc[l]))
		}
	}
	return laneSum(0, &sums)
}

func dotQ3K(w, a []byte, n int) float32 { return dotK16(w, a, n, false) }

func dotQ6K(w, a []byte, n int) float32 { return dotK16(w, a, n, true) }

// unpackQ3K writes the signed 3-bit quants of a block_q3_K: two bits from qs,
// minus 4 unless the element's hmask bit is set.
func unpackQ3K(x []byte, aux *[QK_K]int8) {
	hm, qs := x[0:32], x[32:96]
	m := byte(1)
	o := 0
	for k := 0; k < 2; k++ {
		q3 := qs[32*k : 32*k+32]
		for shift := uint(0); shift < 8; shift += 2 {
			for l := range 32 {
				v := int8(q3[l] >> shift & 3)
				if hm[l]&m == 0 {
					v -= 4
				}
				aux[o+l] = v
			}
			o += 32
			m <<= 1
		}
	}
}

// dotK45 is the Q4_K/Q5_K kernel: eight 32-element sub-blocks with 6-bit
// scales and mins packed at x[4:16], d and dmin at x[0:4].
func dotK45(w, a []byte, n int, q5 bool) float32 {
	size := 144
	if q5 {
		size = 176
	}
	var (
		aux  [QK_K]int8
		sums [8]float32
		sumf float32
	)
	for b := 0; b < n/QK_K; b++ {
		x, y := w[b*size:b*size+size], a[b*292:b*292+292]
		yd, q8, bs := q8KBlock(y)
		unpackK45(x, &aux, q5)
		var acc [8]int32
		var sumi int32
		for j := range 8 {
			s, m := scaleMinK4(j, x[4:16])
			sumi += (bsum(bs, 2*j) + bsum(bs, 2*j+1)) * int32(m)
			laneDot(&acc, int32(s), q8[32*j:32*j+32], aux[32*j:32*j+32])
		}
		d := half(x) * yd
		for l := range sums {
			sums[l] += float32(d * float32(acc[l]))
		}
		dmin := half(x[2:]) * yd
		sumf -= float32(dmin * float32(sumi))
	}
	return laneSum(sumf, &sums)
}

func dotQ4K(w, a []byte, n int) float32 { return dotK45(w, a, n, false) }

func dotQ5K(w, a []byte, n int) float32 { return dotK45(w, a, n, true) }

// unpackK45 writes the unsigned quants of a block_q4_K (nibbles at x[16:144])
// or, with q5, of a block_q5_K (nibbles at x[48:176] plus fifth bits from
// qh at x[16:48]).
func unpackK45(x []byte, aux *[QK_K]int8, q5 bool) {
	if !q5 {
		for g := 0; g < 4; g++ {
			for l, v := range x[16+32*g : 48+32*g] {
				aux[64*g+l] = int8(v & 0xf)
				aux[64*g+l+32] = int8(v >> 4)
			}
		}
		return
	}
	qh := x[16:48]
	for g := 0; g < 4; g++ {
		u1, u2 := byte(1)<<(2*g), byte(2)<<(2*g)
		for l, v := range x[48+32*g : 80+32*g] {
			lo, hi := int8(v&0xf), int8(v>>4)
			if qh[l]&u1 != 0 {
				lo += 16
			}
			if qh[l]&u2 != 0 {
				hi += 16
			}
			aux[64*g+l], aux[64*g+l+32] = lo, hi
		}
	}
}
