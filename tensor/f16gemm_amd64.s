//go:build !purego

#include "textflag.h"

// F16 GEMM (gemmF16x8AVX512, gemmF16x4AVX512): three weight rows against
// eight or four vectors whose activations the group layout holds as
// float32 (layoutF16Gemm). Each 16-element chunk of a weight row is
// converted to float32 once (VCVTPH2PS) for all the vectors, and each
// vector's chunk is loaded once for the three rows, one zmm accumulator per
// row and vector; the accumulators are summed across lanes at the end.
// Zen 4 does one zmm FMA a cycle and one zmm load, and the conversions take
// FMA-pipe time: four rows against four vectors, each FMA reading its
// vector from memory, ran at 0.82 FMA a cycle with the data in L1, bound by
// 16 zmm loads and four conversions per 16 FMAs; here eight vectors take
// 24 FMAs for three conversions and eight loads, and run at 0.94 (about
// 0.88 inside MatMul, the weights streaming from memory).
// Registers: R8 the weight rows (R8, R8+R9, R8+2·R9); AX, DX = AX+3·BX
// and R11 = AX+6·BX address the vectors; Z0-Z2 the converted weights, Z3
// a vector's chunk, Z8 on the accumulators (row r, vector v in Z8+V·r+v).

// GF16WEIGHTS: the three rows' chunks at R8 converted into Z0-Z2.
#define GF16WEIGHTS \
	VCVTPH2PS (R8), Z0; \
	VCVTPH2PS (R8)(R9*1), Z1; \
	VCVTPH2PS (R8)(R9*2), Z2

// GF16VEC: the chunk of the vector at addr against the three converted
// weight chunks into that vector's accumulators.
#define GF16VEC(addr, Zacc0, Zacc1, Zacc2) \
	VMOVUPS     addr, Z3; \
	VFMADD231PS Z3, Z0, Zacc0; \
	VFMADD231PS Z3, Z1, Zacc1; \
	VFMADD231PS Z3, Z2, Zacc2

// GF16SUM: the lanes of Zacc summed into the float32 at off(DI) (only the
// low half of Z4 counts after the first add).
#define GF16SUM(Zacc, off) \
	VEXTRACTF64X4 $1, Zacc, Y4; \
	VADDPS        Zacc, Z4, Z4; \
	VEXTRACTF128  $1, Y4, X5; \
	VADDPS        X5, X4, X4; \
	VMOVHLPS      X4, X4, X5; \
	VADDPS        X5, X4, X4; \
	VMOVSHDUP     X4, X5; \
	VADDSS        X5, X4, X4; \
	VMOVSS        X4, off(DI)

// GF16SUM4: four accumulators' sums into the floats from off(DI) on.
#define GF16SUM4(Za, Zb, Zc, Zd, off) \
	GF16SUM(Za, off); \
	GF16SUM(Zb, off+4); \
	GF16SUM(Zc, off+8); \
	GF16SUM(Zd, off+12)

// GF16ZERO4: four accumulators cleared.
#define GF16ZERO4(Za, Zb, Zc, Zd) \
	VPXORD Za, Za, Za; \
	VPXORD Zb, Zb, Zb; \
	VPXORD Zc, Zc, Zc; \
	VPXORD Zd, Zd, Zd

// GF16ARGS: the arguments into their registers, DX = AX+3·BX, CX the count
// of 16-element chunks.
#define GF16ARGS \
	MOVQ w+0(FP), R8; \
	MOVQ stride+8(FP), R9; \
	MOVQ a+16(FP), AX; \
	MOVQ astride+24(FP), BX; \
	MOVQ n+32(FP), CX; \
	MOVQ out+40(FP), DI; \
	LEAQ (BX)(BX*2), DX; \
	ADDQ AX, DX; \
	SHRQ $4, CX

// func gemmF16x8AVX512(w *byte, stride int, a *byte, astride int, n int, out *[24]float32)
TEXT ·gemmF16x8AVX512(SB), NOSPLIT, $0-48
	GF16ARGS
	LEAQ (DX)(BX*2), R11
	ADDQ BX, R11
	GF16ZERO4(Z8, Z9, Z10, Z11)
	GF16ZERO4(Z12, Z13, Z14, Z15)
	GF16ZERO4(Z16, Z17, Z18, Z19)
	GF16ZERO4(Z20, Z21, Z22, Z23)
	GF16ZERO4(Z24, Z25, Z26, Z27)
	GF16ZERO4(Z28, Z29, Z30, Z31)

loop8:
	GF16WEIGHTS
	GF16VEC((AX), Z8, Z16, Z24)
	GF16VEC((AX)(BX*1), Z9, Z17, Z25)
	GF16VEC((AX)(BX*2), Z10, Z18, Z26)
	GF16VEC((DX), Z11, Z19, Z27)
	GF16VEC((AX)(BX*4), Z12, Z20, Z28)
	GF16VEC((DX)(BX*2), Z13, Z21, Z29)
	GF16VEC((R11), Z14, Z22, Z30)
	GF16VEC((DX)(BX*4), Z15, Z23, Z31)
	ADDQ $32, R8
	ADDQ $64, AX
	ADDQ $64, DX
	ADDQ $64, R11
	DECQ CX
	JNZ  loop8

	GF16SUM4(Z8, Z9, Z10, Z11, 0)
	GF16SUM4(Z12, Z13, Z14, Z15, 16)
	GF16SUM4(Z16, Z17, Z18, Z19, 32)
	GF16SUM4(Z20, Z21, Z22, Z23, 48)
	GF16SUM4(Z24, Z25, Z26, Z27, 64)
	GF16SUM4(Z28, Z29, Z30, Z31, 80)
	VZEROUPPER
	RET

// func gemmF16x4AVX512(w *byte, stride int, a *byte, astride int, n int, out *[12]float32)
TEXT ·gemmF16x4AVX512(SB), NOSPLIT, $0-48
	GF16ARGS
	GF16ZERO4(Z8, Z9, Z10, Z11)
	GF16ZERO4(Z12, Z13, Z14, Z15)
	GF16ZERO4(Z16, Z17, Z18, Z19)

loop4:
	GF16WEIGHTS
	GF16VEC((AX), Z8, Z12, Z16)
	GF16VEC((AX)(BX*1), Z9, Z13, Z17)
	GF16VEC((AX)(BX*2), Z10, Z14, Z18)
	GF16VEC((DX), Z11, Z15, Z19)
	ADDQ $32, R8
	ADDQ $64, AX
	ADDQ $64, DX
	DECQ CX
	JNZ  loop4

	GF16SUM4(Z8, Z9, Z10, Z11, 0)
	GF16SUM4(Z12, Z13, Z14, Z15, 16)
	GF16SUM4(Z16, Z17, Z18, Z19, 32)
	VZEROUPPER
	RET
