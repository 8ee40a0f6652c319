package tensor

import "math"

// Activation quantizers: what ggml's CPU backend runs (its x86 SIMD path)
// when it quantizes activations for a dot product, which differs from the
// reference weight quantizers in two roundings: the inverse scale is
// 127/amax rather than 1/(amax/127), and values round half to even. Matching
// it keeps llmos's logits bit-for-bit with llama.cpp's on most prompts,
// where one flipped activation quantum would otherwise perturb every logit.
var activationQuantizers = map[Type]func(src []float32, dst []byte){
	Q8_0: quantQ8_0Act,
	Q8_1: quantQ8_1Act,
}

// actQuantizer returns the activation quantizer for type t.
func actQuantizer(t Type) func(src []float32, dst []byte) {
	if q, ok := activationQuantizers[t]; ok {
		return q
	}
	return quantizers[t]
}

// quant8Act quantizes one 32-value block as ggml's AVX quantize_row_q8_0
// does and returns the scale and the sum of the quants.
func quant8Act(x []float32, qs []byte) (d float32, sum int32) {
	_, amax := signedMax(x)
	d = amax / 127
	var id float32
	if amax != 0 {
		id = 127 / amax
	}
	for j, v := range x {
		q := int32(math.RoundToEven(float64(v * id)))
		qs[j] = byte(int8(q))
		sum += q
	}
	return d, sum
}

func quantQ8_0Act(src []float32, dst []byte) {
	for b := 0; b < len(src)/32; b++ {
		y := dst[b*34 : b*34+34]
		d, _ := quant8Act(src[b*32:b*32+32], y[2:34])
		putHalf(y, d)
	}
}

func quantQ8_1Act(src []float32, dst []byte) {
	for b := 0; b < len(src)/32; b++ {
		y := dst[b*36 : b*36+36]
		d, sum := quant8Act(src[b*32:b*32+32], y[4:36])
		putHalf(y, d)
		putHalf(y[2:], float32(sum)*d)
	}
}
