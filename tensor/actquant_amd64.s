//go:build !purego

#include "textflag.h"

// AVX-512 activation quantizers: quantQ8_0Act, quantQ8_1Act and quantQ8K
// (actquant.go, quant.go) block by block, byte for byte, for every float32
// input, NaNs and infinities included. They take the Go code's float
// operations one for one (a float32 product, sum or quotient is the same
// correctly rounded IEEE operation in both), and its conversions as the
// instructions Go compiles them to:
//
//   - amax: Go's strict "amax < |v|" never takes a NaN. VMAXPS a, b is
//     "a > b ? a : b", so with the running maximum as b a NaN |v| leaves it
//     unchanged; starting from +0, the maximum of the rest does not depend
//     on the order, so a tree of VMAXPS gives Go's amax.
//   - int32(math.RoundToEven(float64(f))): VCVTPS2DQ rounding to nearest
//     even, which like Go's CVTTSD2SL gives 0x80000000 for NaN, ±Inf and
//     overflow; byte(int8(q)) is its low byte (VPMOVDB truncates) and the
//     Q8_1 sum adds the int32s with wrap-around, as Go's int32 sum does.
//   - nearestInt: the same float32 addition of 1.5·2^23 and the same integer
//     operations on its bits, so NaN payloads come out as Go's do.
//   - F32ToF16: VCVTPS2PH rounding to nearest even; the scales it converts
//     are never NaN (amax never is), the one case where the two differ.

DATA actAbs<>+0(SB)/4, $0x7fffffff
GLOBL actAbs<>(SB), RODATA|NOPTR, $4

DATA act127<>+0(SB)/4, $127.0
GLOBL act127<>(SB), RODATA|NOPTR, $4

DATA actNeg127<>+0(SB)/4, $-127.0
GLOBL actNeg127<>(SB), RODATA|NOPTR, $4

DATA actOne<>+0(SB)/4, $1.0
GLOBL actOne<>(SB), RODATA|NOPTR, $4

// nearestInt's 1.5·2^23, its mantissa mask and its offset 2^22.
DATA actMagic<>+0(SB)/4, $0x4b400000
GLOBL actMagic<>(SB), RODATA|NOPTR, $4

DATA actMant<>+0(SB)/4, $0x007fffff
GLOBL actMant<>(SB), RODATA|NOPTR, $4

DATA actHalf<>+0(SB)/4, $0x00400000
GLOBL actHalf<>(SB), RODATA|NOPTR, $4

DATA actI127<>+0(SB)/4, $127
GLOBL actI127<>(SB), RODATA|NOPTR, $4

DATA actLowByte<>+0(SB)/4, $0xff
GLOBL actLowByte<>(SB), RODATA|NOPTR, $4

DATA actOnes8<>+0(SB)/4, $0x01010101
GLOBL actOnes8<>(SB), RODATA|NOPTR, $4

DATA actOnes16<>+0(SB)/4, $0x00010001
GLOBL actOnes16<>(SB), RODATA|NOPTR, $4

// actInterleave undoes the lane interleaving of the 128-bit-lane packs and
// unpacks: dword 4v+l of the result is dword 4l+v of the source.
DATA actInterleave<>+0(SB)/4, $0
DATA actInterleave<>+4(SB)/4, $4
DATA actInterleave<>+8(SB)/4, $8
DATA actInterleave<>+12(SB)/4, $12
DATA actInterleave<>+16(SB)/4, $1
DATA actInterleave<>+20(SB)/4, $5
DATA actInterleave<>+24(SB)/4, $9
DATA actInterleave<>+28(SB)/4, $13
DATA actInterleave<>+32(SB)/4, $2
DATA actInterleave<>+36(SB)/4, $6
DATA actInterleave<>+40(SB)/4, $10
DATA actInterleave<>+44(SB)/4, $14
DATA actInterleave<>+48(SB)/4, $3
DATA actInterleave<>+52(SB)/4, $7
DATA actInterleave<>+56(SB)/4, $11
DATA actInterleave<>+60(SB)/4, $15
GLOBL actInterleave<>(SB), RODATA|NOPTR, $64

// Q8BLOCK quantizes the 32 floats at SI as quant8Act does: X4 = d = amax/127
// in every lane, Z0, Z1 = the quants as int32s. Needs Z31 = the abs mask,
// Z30 = 0, X29 = 127 in every lane; clobbers X2, X3, X5, K1.
#define Q8BLOCK \
	VANDPS        0(SI), Z31, Z2; \
	VANDPS        64(SI), Z31, Z3; \
	VMAXPS        Z30, Z2, Z2; \
	VMAXPS        Z2, Z3, Z2; \
	VEXTRACTF64X4 $1, Z2, Y3; \
	VMAXPS        Y3, Y2, Y2; \
	VEXTRACTF128  $1, Y2, X3; \
	VMAXPS        X3, X2, X2; \
	VPERMILPS     $0x4e, X2, X3; \
	VMAXPS        X3, X2, X2; \
	VPERMILPS     $0xb1, X2, X3; \
	VMAXPS        X3, X2, X2; \
	VDIVPS        X29, X2, X4; \
	VCMPPS        $4, X30, X2, K1; \
	VDIVPS.Z      X2, X29, K1, X5; \
	VBROADCASTSS  X5, Z5; \
	VMULPS        0(SI), Z5, Z0; \
	VMULPS        64(SI), Z5, Z1; \
	VCVTPS2DQ     Z0, Z0; \
	VCVTPS2DQ     Z1, Z1

// Q8START loads the arguments and Q8BLOCK's constants.
#define Q8START \
	MOVQ         x+0(FP), SI; \
	MOVQ         y+8(FP), DI; \
	MOVQ         nb+16(FP), CX; \
	VPBROADCASTD actAbs<>(SB), Z31; \
	VPXORD       Z30, Z30, Z30; \
	VBROADCASTSS act127<>(SB), X29

// func quantQ8_0AVX512(x *float32, y *byte, nb int)
// nb ≥ 1 blocks of 32 floats at x into nb blocks of 34 bytes at y.
TEXT ·quantQ8_0AVX512(SB), NOSPLIT, $0-24
	Q8START

q80loop:
	Q8BLOCK
	VPMOVDB   Z0, 2(DI)
	VPMOVDB   Z1, 18(DI)
	VCVTPS2PH $0, X4, X4
	VPEXTRW   $0, X4, 0(DI)
	ADDQ      $128, SI
	ADDQ      $34, DI
	DECQ      CX
	JNZ       q80loop
	VZEROUPPER
	RET

// func quantQ8_1AVX512(x *float32, y *byte, nb int)
// nb ≥ 1 blocks of 32 floats at x into nb blocks of 36 bytes at y.
TEXT ·quantQ8_1AVX512(SB), NOSPLIT, $0-24
	Q8START

q81loop:
	Q8BLOCK
	VPMOVDB       Z0, 4(DI)
	VPMOVDB       Z1, 20(DI)
	VPADDD        Z1, Z0, Z6
	VEXTRACTI64X4 $1, Z6, Y7
	VPADDD        Y7, Y6, Y6
	VEXTRACTI128  $1, Y6, X7
	VPADDD        X7, X6, X6
	VPSHUFD       $0x4e, X6, X7
	VPADDD        X7, X6, X6
	VPSHUFD       $0xb1, X6, X7
	VPADDD        X7, X6, X6
	VCVTDQ2PS     X6, X6
	VMULSS        X4, X6, X6
	VUNPCKLPS     X6, X4, X4
	VCVTPS2PH     $0, X4, X4
	VMOVD         X4, 0(DI)
	ADDQ          $128, SI
	ADDQ          $36, DI
	DECQ          CX
	JNZ           q81loop
	VZEROUPPER
	RET

// Q8KQUANT: Z = the bytes of the 16 quants at o(SI) as int32s, nearestInt's
// way: Z18 = iscale, Z25-Z29 nearestInt's constants and the byte mask.
#define Q8KQUANT(o, Z) \
	VMULPS  o(SI), Z18, Z; \
	VADDPS  Z29, Z, Z; \
	VPANDD  Z28, Z, Z; \
	VPSUBD  Z27, Z, Z; \
	VPMINSD Z26, Z, Z; \
	VPANDD  Z25, Z, Z

// Q8KPACK: Q = the 64 quants at o(SI) as bytes in order, and S = their
// four sums of 16 in its four 128-bit lanes, four dwords each.
// The packs interleave 32-bit groups across the four sources by lane;
// actInterleave (Z24) puts them back in order. Clobbers Z2, Z3.
#define Q8KPACK(o, Q, S) \
	Q8KQUANT(o, Q); \
	Q8KQUANT(o+64, S); \
	Q8KQUANT(o+128, Z2); \
	Q8KQUANT(o+192, Z3); \
	VPACKUSDW  S, Q, Q; \
	VPACKUSDW  Z3, Z2, Z2; \
	VPACKUSWB  Z2, Q, Q; \
	VPERMD     Q, Z24, Q; \
	VPMADDUBSW Q, Z23, S; \
	VPMADDWD   Z22, S, S

// func quantQ8KAVX512(x *float32, y *byte, nb int)
// nb ≥ 1 super-blocks of 256 floats at x into nb blocks of 292 bytes at y.
//
// amax is found over the 16 vectors of a super-block at once; the signed
// max, the first element of that magnitude, by scanning the vectors in
// order for the first lane equal to amax.
TEXT ·quantQ8KAVX512(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         nb+16(FP), CX
	VPBROADCASTD actAbs<>(SB), Z31
	VPXORD       Z30, Z30, Z30
	VPBROADCASTD actMagic<>(SB), Z29
	VPBROADCASTD actMant<>(SB), Z28
	VPBROADCASTD actHalf<>(SB), Z27
	VPBROADCASTD actI127<>(SB), Z26
	VPBROADCASTD actLowByte<>(SB), Z25
	VMOVDQU32    actInterleave<>(SB), Z24
	VPBROADCASTD actOnes8<>(SB), Z23
	VPBROADCASTD actOnes16<>(SB), Z22

q8kloop:
	VANDPS     0(SI), Z31, Z0
	VANDPS     64(SI), Z31, Z1
	VANDPS     128(SI), Z31, Z2
	VANDPS     192(SI), Z31, Z3
	VANDPS     256(SI), Z31, Z4
	VANDPS     320(SI), Z31, Z5
	VANDPS     384(SI), Z31, Z6
	VANDPS     448(SI), Z31, Z7
	VANDPS     512(SI), Z31, Z8
	VANDPS     576(SI), Z31, Z9
	VANDPS     640(SI), Z31, Z10
	VANDPS     704(SI), Z31, Z11
	VANDPS     768(SI), Z31, Z12
	VANDPS     832(SI), Z31, Z13
	VANDPS     896(SI), Z31, Z14
	VANDPS     960(SI), Z31, Z15
	VMAXPS     Z30, Z0, Z16
	VMAXPS     Z30, Z1, Z17
	VMAXPS     Z30, Z2, Z18
	VMAXPS     Z30, Z3, Z19
	VMAXPS     Z16, Z4, Z16
	VMAXPS     Z17, Z5, Z17
	VMAXPS     Z18, Z6, Z18
	VMAXPS     Z19, Z7, Z19
	VMAXPS     Z16, Z8, Z16
	VMAXPS     Z17, Z9, Z17
	VMAXPS     Z18, Z10, Z18
	VMAXPS     Z19, Z11, Z19
	VMAXPS     Z16, Z12, Z16
	VMAXPS     Z17, Z13, Z17
	VMAXPS     Z18, Z14, Z18
	VMAXPS     Z19, Z15, Z19
	VMAXPS     Z17, Z16, Z16
	VMAXPS     Z19, Z18, Z18
	VMAXPS     Z18, Z16, Z16
	VSHUFF64X2 $0x4e, Z16, Z16, Z17
	VMAXPS     Z17, Z16, Z16
	VSHUFF64X2 $0xb1, Z16, Z16, Z17
	VMAXPS     Z17, Z16, Z16
	VPERMILPS  $0x4e, Z16, Z17
	VMAXPS     Z17, Z16, Z16
	VPERMILPS  $0xb1, Z16, Z17
	VMAXPS     Z17, Z16, Z16
	VUCOMISS   X30, X16
	JEQ        q8kzero

	// The first element whose magnitude is amax: some vector has one.
	MOVQ     SI, R8
	VCMPPS   $0, Z16, Z0, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z1, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z2, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z3, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z4, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z5, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z6, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z7, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z8, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z9, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z10, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z11, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z12, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z13, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z14, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	VCMPPS   $0, Z16, Z15, K1

q8kfound:
	KMOVW        K1, AX
	BSFL         AX, AX
	VMOVSS       (R8)(AX*4), X17
	VMOVSS       actNeg127<>(SB), X18
	VDIVSS       X17, X18, X18
	VMOVSS       actOne<>(SB), X19
	VDIVSS       X18, X19, X19
	VMOVSS       X19, 0(DI)
	VBROADCASTSS X18, Z18

	Q8KPACK(0, Z4, Z5)
	Q8KPACK(256, Z6, Z7)
	Q8KPACK(512, Z8, Z9)
	Q8KPACK(768, Z10, Z11)
	VMOVDQU8 Z4, 4(DI)
	VMOVDQU8 Z6, 68(DI)
	VMOVDQU8 Z8, 132(DI)
	VMOVDQU8 Z10, 196(DI)

	// bsums: lane l of Z5, Z7, Z9, Z11 holds the four partial sums of
	// groups l, 4+l, 8+l, 12+l; a 4×4 transpose within each lane adds them.
	VPUNPCKLDQ  Z7, Z5, Z12
	VPUNPCKHDQ  Z7, Z5, Z13
	VPADDD      Z13, Z12, Z12
	VPUNPCKLDQ  Z11, Z9, Z14
	VPUNPCKHDQ  Z11, Z9, Z15
	VPADDD      Z15, Z14, Z14
	VPUNPCKLQDQ Z14, Z12, Z13
	VPUNPCKHQDQ Z14, Z12, Z15
	VPADDD      Z15, Z13, Z13
	VPERMD      Z13, Z24, Z13
	VPMOVDW     Z13, 260(DI)

q8knext:
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q8kloop
	VZEROUPPER
	RET

q8kzero:
	// All zeros (or NaNs): quantQ8K clears the block.
	VMOVDQU8 Z30, 0(DI)
	VMOVDQU8 Z30, 64(DI)
	VMOVDQU8 Z30, 128(DI)
	VMOVDQU8 Z30, 192(DI)
	VMOVDQU8 Z30, 228(DI)
	JMP      q8knext
