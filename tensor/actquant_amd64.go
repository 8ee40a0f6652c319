//go:build !purego

package tensor

import "golang.org/x/sys/cpu"

// Assembly activation quantizers (actquant_amd64.s): MatMul quantizes every
// input vector before its integer dot products, and on a decode step those
// conversions cost a few percent of the time the pure-Go loops take. They
// write the bytes of quantQ8_0Act, quantQ8_1Act and quantQ8K exactly: Q8_0
// and Q8_1 in AVX-512 where the CPU has it, else AVX2; Q8_K in AVX2, which
// on Zen 4 beat the same algorithm in 512-bit registers.

//go:noescape
func quantQ8_0AVX2(x *float32, y *byte, nb int)

//go:noescape
func quantQ8_1AVX2(x *float32, y *byte, nb int)

//go:noescape
func quantQ8KAVX2(x *float32, y *byte, nb int)

//go:noescape
func quantQ8_0AVX512(x *float32, y *byte, nb int)

//go:noescape
func quantQ8_1AVX512(x *float32, y *byte, nb int)

// avx2Quant reports whether the CPU runs the AVX2 quantizers, under
// vecdot_amd64.go's condition for its AVX2 kernels.
func avx2Quant() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C }

// avx512Quant reports whether the CPU runs the AVX-512 quantizers (which
// also use a few VEX-encoded AVX2 and F16C instructions).
func avx512Quant() bool {
	return avx2Quant() && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL
}

func init() {
	if noAsm || !avx2Quant() {
		return
	}
	activationQuantizers[Q8_0] = blockQuantizer(quantQ8_0AVX2, 32, 34)
	activationQuantizers[Q8_1] = blockQuantizer(quantQ8_1AVX2, 32, 36)
	activationQuantizers[Q8_K] = blockQuantizer(quantQ8KAVX2, QK_K, 292)
	if avx512Quant() {
		activationQuantizers[Q8_0] = blockQuantizer(quantQ8_0AVX512, 32, 34)
		activationQuantizers[Q8_1] = blockQuantizer(quantQ8_1AVX512, 32, 36)
	}
}

// blockQuantizer wraps a kernel that converts nb whole blocks of size
// floats into blocks of ysize bytes.
func blockQuantizer(kernel func(x *float32, y *byte, nb int), size, ysize int) func(src []float32, dst []byte) {
	return func(src []float32, dst []byte) {
		nb := len(src) / size
		if nb == 0 {
			return
		}
		_ = dst[nb*ysize-1] // the kernel writes nb blocks: panic here rather than past dst
		kernel(&src[0], &dst[0], nb)
	}
}
