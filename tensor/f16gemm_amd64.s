//go:build !purego

#include "textflag.h"

// F16 GEMM (gemmF16AVX512): four weight rows against four vectors whose
// activations the group layout holds as float32 (layoutF16Gemm). Each
// 16-element chunk of a weight row is converted to float32 once
// (VCVTPH2PS) and meets the four vectors' chunks by FMAs with memory
// operands, one zmm accumulator per row and vector; the sixteen
// accumulators are summed across lanes at the end. The loop runs at the
// FMA rate on Zen 4 (one zmm FMA a cycle): three rows against eight
// vectors, which shares each conversion among more vectors, was no
// quicker for sixteen vectors and slower for fewer. Registers: R8 the
// weight rows (R8, R8+R9, R8+2·R9, R10), AX the vectors (AX, AX+BX,
// AX+2·BX, DX), Z0-Z3 the converted weights, Z16-Z31 the accumulators.

// GF16ROW: converted weight row Zw against the four vectors' chunks into
// the row's accumulators.
#define GF16ROW(Zw, Za0, Za1, Za2, Za3) \
	VFMADD231PS (AX), Zw, Za0; \
	VFMADD231PS (AX)(BX*1), Zw, Za1; \
	VFMADD231PS (AX)(BX*2), Zw, Za2; \
	VFMADD231PS (DX), Zw, Za3

// GF16SUM: the lanes of Zacc summed into the float32 at off(DI).
#define GF16SUM(Zacc, Yacc, off) \
	VEXTRACTF64X4 $1, Zacc, Y4; \
	VADDPS        Y4, Yacc, Y4; \
	VEXTRACTF128  $1, Y4, X5; \
	VADDPS        X5, X4, X4; \
	VMOVHLPS      X4, X4, X5; \
	VADDPS        X5, X4, X4; \
	VMOVSHDUP     X4, X5; \
	VADDSS        X5, X4, X4; \
	VMOVSS        X4, off(DI)

// func gemmF16AVX512(w *byte, stride int, a *byte, astride int, n int, out *[16]float32)
TEXT ·gemmF16AVX512(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), R8
	MOVQ stride+8(FP), R9
	MOVQ a+16(FP), AX
	MOVQ astride+24(FP), BX
	MOVQ n+32(FP), CX
	MOVQ out+40(FP), DI
	LEAQ (R9)(R9*2), R10
	ADDQ R8, R10
	LEAQ (BX)(BX*2), DX
	ADDQ AX, DX
	SHRQ $4, CX
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31

loop:
	VCVTPH2PS (R8), Z0
	VCVTPH2PS (R8)(R9*1), Z1
	VCVTPH2PS (R8)(R9*2), Z2
	VCVTPH2PS (R10), Z3
	GF16ROW(Z0, Z16, Z17, Z18, Z19)
	GF16ROW(Z1, Z20, Z21, Z22, Z23)
	GF16ROW(Z2, Z24, Z25, Z26, Z27)
	GF16ROW(Z3, Z28, Z29, Z30, Z31)
	ADDQ $32, R8
	ADDQ $32, R10
	ADDQ $64, AX
	ADDQ $64, DX
	DECQ CX
	JNZ  loop

	GF16SUM(Z16, Y16, 0)
	GF16SUM(Z17, Y17, 4)
	GF16SUM(Z18, Y18, 8)
	GF16SUM(Z19, Y19, 12)
	GF16SUM(Z20, Y20, 16)
	GF16SUM(Z21, Y21, 20)
	GF16SUM(Z22, Y22, 24)
	GF16SUM(Z23, Y23, 28)
	GF16SUM(Z24, Y24, 32)
	GF16SUM(Z25, Y25, 36)
	GF16SUM(Z26, Y26, 40)
	GF16SUM(Z27, Y27, 44)
	GF16SUM(Z28, Y28, 48)
	GF16SUM(Z29, Y29, 52)
	GF16SUM(Z30, Y30, 56)
	GF16SUM(Z31, Y31, 60)
	VZEROUPPER
	RET
