//go:build !purego

#include "textflag.h"

// AVX-512 BF16 dot kernel: 64 elements per iteration into 16-lane float32
// accumulators, summed at the end. Like the AVX2 float kernels it rounds
// differently from the pure-Go float64 sum; the tests hold it to a
// tolerance. (An AVX-512 float16 kernel, VCVTPH2PS on zmm, measured no
// faster than the AVX2 one on Zen 4, so float16 keeps that.)

// ZSUM4: X0 = the float32 sum of the 64 lanes of Z0..Z3.
#define ZSUM4 \
	VADDPS        Z1, Z0, Z0; \
	VADDPS        Z3, Z2, Z2; \
	VADDPS        Z2, Z0, Z0; \
	VEXTRACTF32X8 $1, Z0, Y1; \
	VADDPS        Y1, Y0, Y0; \
	VEXTRACTF128  $1, Y0, X1; \
	VADDPS        X1, X0, X0; \
	VHADDPS       X0, X0, X0; \
	VHADDPS       X0, X0, X0

// The Go assembler has no AVX512_BF16 mnemonics: these are the EVEX
// encodings (EVEX.512.F3.0F38.W0 52 /r) of vdpbf16ps zmm0, zmm4, zmm6 and
// vdpbf16ps zmm1, zmm5, zmm7 (Intel operand order: dest, src1, src2).
#define VDPBF16PS_Z0_Z4_Z6 BYTE $0x62; BYTE $0xF2; BYTE $0x5E; BYTE $0x48; BYTE $0x52; BYTE $0xC6
#define VDPBF16PS_Z1_Z5_Z7 BYTE $0x62; BYTE $0xF2; BYTE $0x56; BYTE $0x48; BYTE $0x52; BYTE $0xCF

// func dotBF16AVX512BF16(a, b *byte, n int) float32
// n: a multiple of 64; both rows are bfloat16. VDPBF16PS adds each lane's
// two bf16 products to its float32 accumulator, as ggml's AVX512BF16 path.
TEXT ·dotBF16AVX512BF16(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	SHRQ   $6, CX
	JZ     bf16done

bf16loop:
	VMOVDQU16 0(SI), Z4
	VMOVDQU16 64(SI), Z5
	VMOVDQU16 0(DI), Z6
	VMOVDQU16 64(DI), Z7
	VDPBF16PS_Z0_Z4_Z6
	VDPBF16PS_Z1_Z5_Z7
	ADDQ      $128, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       bf16loop

bf16done:
	ZSUM4
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
