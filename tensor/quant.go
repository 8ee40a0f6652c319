package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The quantizers follow ggml-quants.c's quantize_row_*_ref, the reference
// algorithms llama-quantize runs when no importance matrix is given, so a
// tensor quantized here is byte-identical to llama.cpp's. Every float
// expression keeps ggml's operation order, and products that feed an addition
// are wrapped in float32(...) so that no Go port may fuse them into an FMA
// (ggml-base is built without FMA contraction).

// quantizers maps each type to its row kernel; len(src) is a whole number of
// blocks and dst holds exactly those blocks.
var quantizers = map[Type]func(src []float32, dst []byte){
	F32:  quantF32,
	F16:  quantF16,
	BF16: quantBF16,
	Q4_0: quantQ4_0,
	Q4_1: quantQ4_1,
	Q5_0: quantQ5_0,
	Q5_1: quantQ5_1,
	Q8_0: quantQ8_0,
	Q8_1: quantQ8_1,
	Q8_K: quantQ8K,
	Q2_K: quantQ2K,
	Q3_K: quantQ3K,
	Q4_K: quantQ4K,
	Q5_K: quantQ5K,
	Q6_K: quantQ6K,
}

// Quantize converts src to type t, writing exactly RowBytes(t, len(src))
// bytes to dst. len(src) must be a whole number of t's blocks.
func Quantize(t Type, src []float32, dst []byte) error {
	fn, ok := quantizers[t]
	if !ok {
		return fmt.Errorf("tensor: quantize: no kernel for type %s", t)
	}
	if err := checkLen(t, len(src), len(dst)); err != nil {
		return fmt.Errorf("tensor: quantize: %w", err)
	}
	fn(src, dst)
	return nil
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// putHalf stores f as a little-endian ggml_half at b[0:2].
func putHalf(b []byte, f float32) { binary.LittleEndian.PutUint16(b, F32ToF16(f)) }

// roundAway rounds half away from zero, as C's roundf.
func roundAway(x float32) float32 { return float32(math.Round(float64(x))) }

func quantF32(src []float32, dst []byte) {
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

func quantF16(src []float32, dst []byte) {
	for i, v := range src {
		putHalf(dst[2*i:], v)
	}
}

func quantBF16(src []float32, dst []byte) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
	}
}

// signedMax returns the element of largest magnitude (the first on ties) and
// that magnitude.
func signedMax(x []float32) (max, amax float32) {
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, max = a, v
		}
	}
	return max, amax
}

// minMax returns the smallest and largest elements of x.
func minMax(x []float32) (min, max float32) {
	min, max = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	return min, max
}

func inverse(d float32) float32 {
	if d != 0 {
		return 1 / d
	}
	return 0
}

// symmetricScale sets the Q4_0/Q5_0 block scale d = max/levels (levels
// negative, so the largest-magnitude element maps to the lowest quant),
// stores it at y[0:2] and returns 1/d.
func symmetricScale(x []float32, y []byte, levels float32) float32 {
	max, _ := signedMax(x)
	d := max / levels
	putHalf(y, d)
	return inverse(d)
}

// affineScale sets the Q4_1/Q5_1 block scale d = (max-min)/levels, stores d
// and min at y[0:4] and returns min and 1/d.
func affineScale(x []float32, y []byte, levels float32) (lo, id float32) {
	lo, hi := minMax(x)
	d := (hi - lo) / levels
	putHalf(y, d)
	putHalf(y[2:], lo)
	return lo, inverse(d)
}

func quantQ4_0(src []float32, dst []byte) {
	for b := 0; b < len(src)/32; b++ {
		x, y := src[b*32:b*32+32], dst[b*18:b*18+18]
		id := symmetricScale(x, y, -8)
		for j := 0; j < 16; j++ {
			q0 := min(15, int32(float32(x[j]*id)+8.5))
			q1 := min(15, int32(float32(x[j+16]*id)+8.5))
			y[2+j] = byte(q0) | byte(q1)<<4
		}
	}
}

func quantQ4_1(src []float32, dst []byte) {
	for b := 0; b < len(src)/32; b++ {
		x, y := src[b*32:b*32+32], dst[b*20:b*20+20]
		lo, id := affineScale(x, y, 15)
		for j := 0; j < 16; j++ {
			q0 := min(15, int32(float32((x[j]-lo)*id)+0.5))
			q1 := min(15, int32(float32((x[j+16]-lo)*id)+0.5))
			y[4+j] = byte(q0) | byte(q1)<<4
		}
	}
}

func quantQ5_0(src []float32, dst []byte) {
	for b := 0; b < len(src)/32; b++ {
		x, y := src[b*32:b*32+32], dst[b*22:b*22+22]
		id := symmetricScale(x, y, -16)
		var qh uint32
		for j := 0; j < 16; j++ {
			q0 := byte(min(31, int32(float32(x[j]*id)+16.5)))
			q1 := byte(min(31, int32(float32(x[j+16]*id)+16.5)))
			y[6+j] = q0&0xf | (q1&0xf)<<4
			qh |= uint32(q0>>4) << j
			qh |= uint32(q1>>4) << (j + 16)
		}
		binary.LittleEndian.PutUint32(y[2:], qh)
	}
}

func quantQ5_1(src []float32, dst []byte) {
	for b := 0; b < len(src)/32; b++ {
		x, y := src[b*32:b*32+32], dst[b*24:b*24+24]
		lo, id := affineScale(x, y, 31)
		var qh uint32
		for j := 0; j < 16; j++ {
			q0 := byte(int32(float32((x[j]-lo)*id) + 0.5))
			q1 := byte(int32(float32((x[j+16]-lo)*id) + 0.5))
			y[8+j] = q0&0xf | (q1&0xf)<<4
			qh |= uint32(q0&0x10>>4) << j
			qh |= uint32(q1&0x10>>4) << (j + 16)
		}
		binary.LittleEndian.PutUint32(y[4:], qh)
	}
}

// quant8 writes round(x/d) for d = amax/127 into qs and returns d.
func quant8(x []float32, qs []byte) float32 {
	_, amax := signedMax(x)
	d := amax / 127
	id := inverse(d)
	for j, v := range x {
		qs[j] = byte(int8(roundAway(v * id)))
	}
	return d
}

func quantQ8_0(src []float32, dst []byte) {
	for b := 0; b < len(src)/32; b++ {
		x, y := src[b*32:b*32+32], dst[b*34:b*34+34]
		putHalf(y, quant8(x, y[2:34]))
	}
}

// quantQ8_1 is Q8_0 plus s = d*sum(qs), which lets the Q4_1/Q5_1 dot
// products apply the weight block's min in one multiplication.
func quantQ8_1(src []float32, dst []byte) {
	for b := 0; b < len(src)/32; b++ {
		x, y := src[b*32:b*32+32], dst[b*36:b*36+36]
		d := quant8(x, y[4:36])
		var sum int32
		for _, q := range y[4:36] {
			sum += int32(int8(q))
		}
		putHalf(y, d)
		putHalf(y[2:], float32(sum)*d)
	}
}

// quantQ8K quantizes to block_q8_K (d float32, qs[256], bsums[16]), the
// activation type of the k-quant dot products.
func quantQ8K(src []float32, dst []byte) {
	const size = 292
	for b := 0; b < len(src)/QK_K; b++ {
		x, y := src[b*QK_K:b*QK_K+QK_K], dst[b*size:b*size+size]
		max, amax := signedMax(x)
		if amax == 0 {
			clear(y)
			continue
		}
		iscale := -127 / max
		qs := y[4 : 4+QK_K]
		for j, v := range x {
			qs[j] = byte(int8(min(127, nearestInt(iscale*v))))
		}
		for j := 0; j < QK_K/16; j++ {
			var sum int16
			for _, q := range qs[16*j : 16*j+16] {
				sum += int16(int8(q))
			}
			binary.LittleEndian.PutUint16(y[4+QK_K+2*j:], uint16(sum))
		}
		binary.LittleEndian.PutUint32(y, math.Float32bits(1/iscale))
	}
}
