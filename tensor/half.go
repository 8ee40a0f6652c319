package tensor

import "math"

// f16Table maps every IEEE half bit pattern to its float32 value; the dot
// and dequantization kernels convert one half per element, and a 256 KiB
// table lookup is cheaper than the bit arithmetic (ggml keeps the same table).
var f16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for h := range t {
		t[h] = f16ToF32Bits(uint16(h))
	}
	return &t
}()

// f16ToF32Bits converts an IEEE 754 half to float32 exactly.
func f16ToF32Bits(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // Inf or NaN: keep the payload
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0: // zero or subnormal: mant * 2^-24, exact in float32
		v := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(v))
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}

// F16ToF32 converts an IEEE 754 half-precision bit pattern to float32
// (exactly; every half is representable).
func F16ToF32(h uint16) float32 { return f16Table[h] }

// F32ToF16 converts f to the nearest IEEE 754 half, ties to even, as ggml's
// GGML_FP32_TO_FP16 does: values past the half range become ±Inf and every
// NaN becomes the quiet NaN 0x7e00 with f's sign.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	abs := b & 0x7fffffff
	switch {
	case abs > 0x7f800000:
		return sign | 0x7e00
	case abs >= 0x477ff000: // at or past 65520, the tie between 65504 and 2^16, which rounds to even (Inf)
		return sign | 0x7c00
	case abs >= 0x38800000: // normal half (>= 2^-14): rebias and round 13 mantissa bits away
		rounded := abs + 0xfff + (abs>>13)&1
		return sign | uint16((rounded-(112<<23))>>13)
	case abs < 0x33000000: // below 2^-25, half the smallest subnormal: rounds to zero
		return sign
	default: // subnormal half: count units of 2^-24
		e := abs >> 23
		m := abs&0x7fffff | 0x800000
		shift := 126 - e
		k := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && k&1 == 1 {
			k++ // may carry into the exponent: that is the smallest normal, correctly encoded
		}
		return sign | uint16(k)
	}
}

// BF16ToF32 converts a bfloat16 bit pattern to float32 (exactly).
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 converts f to bfloat16 as ggml's GGML_FP32_TO_BF16 does: round to
// nearest even, and NaNs keep their top bits with the quiet bit forced on.
func F32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}
