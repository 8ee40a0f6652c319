//go:build !purego

#include "textflag.h"

// AVX-512 activation quantizers: quantQ8_0Act, quantQ8_1Act and quantQ8K
// (actquant.go, quant.go), byte for byte, for every float32 input, NaNs and
// infinities included. They take the Go code's float operations one for
// one (a float32 product, sum or quotient is the same correctly rounded
// IEEE operation in both), and its conversions as the instructions Go
// compiles them to:
//
//   - amax: Go's strict "amax < |v|" never takes a NaN. VMAXPS a, b is
//     "a > b ? a : b", so with the running maximum as b a NaN |v| leaves it
//     unchanged; starting from +0, the maximum of the rest does not depend
//     on the order, so a tree of VMAXPS gives Go's amax (VMINPS likewise).
//   - int32(math.RoundToEven(float64(f))): VCVTPS2DQ rounding to nearest
//     even, which like Go's CVTTSD2SL gives 0x80000000 for NaN, ±Inf and
//     overflow; byte(int8(q)) is its low byte (VPMOVDB truncates) and the
//     Q8_1 sum adds the int32s with wrap-around, as Go's int32 sum does.
//   - nearestInt: VCVTPS2DQ too, which rounds the same way below 2^22; the
//     few super-blocks with a product beyond (NaN, ±Inf) are redone with
//     nearestInt's own float addition and bit operations, so that NaN
//     payloads come out as Go's do.
//   - F32ToF16: VCVTPS2PH rounding to nearest even; the scales it converts
//     are never NaN (amax never is), the one case where the two differ.

DATA actAbs<>+0(SB)/4, $0x7fffffff
GLOBL actAbs<>(SB), RODATA|NOPTR, $4

DATA actSign<>+0(SB)/4, $0x80000000
GLOBL actSign<>(SB), RODATA|NOPTR, $4

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

DATA actMinus128<>+0(SB)/4, $0x80808080
GLOBL actMinus128<>(SB), RODATA|NOPTR, $4

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

// REDUCE1 folds the 16 lanes of Z (Y, X: its lower halves) with OP, as a
// tree, into every lane of X. EXT4 and EXT2 extract the upper 256 and 128
// bits, PERM shuffles dwords; clobbers YT, XT.
#define REDUCE1(EXT4, EXT2, PERM, OP, Z, Y, X, YT, XT) \
	EXT4 $1, Z, YT; \
	OP   YT, Y, Y; \
	EXT2 $1, Y, XT; \
	OP   XT, X, X; \
	PERM $0x4e, X, XT; \
	OP   XT, X, X; \
	PERM $0xb1, X, XT; \
	OP   XT, X, X

// REDUCE4 folds four 16-lane vectors A-D with OP, as a tree: 128-bit lane
// k of A = the fold of the k-th vector in each of its four lanes. The
// 128-bit lanes are transposed (SHUF) as they are folded, then PERM
// shuffles dwords within them. Clobbers B-D and T.
#define REDUCE4(SHUF, PERM, OP, A, B, C, D, T) \
	SHUF $0x44, B, A, T; \
	SHUF $0xee, B, A, B; \
	OP   B, T, A; \
	SHUF $0x44, D, C, T; \
	SHUF $0xee, D, C, D; \
	OP   D, T, C; \
	SHUF $0x88, C, A, T; \
	SHUF $0xdd, C, A, B; \
	OP   B, T, A; \
	PERM $0x4e, A, T; \
	OP   T, A, A; \
	PERM $0xb1, A, T; \
	OP   T, A, A

// Q8BLOCK quantizes the 32 floats at SI as quant8Act does: X4 = d = amax/127
// in every lane, Z0, Z1 = the quants as int32s. Needs Z31 = the abs mask,
// Z30 = 0, Z29 = 127 in every lane; clobbers X2, X3, X5, K1.
#define Q8BLOCK \
	VPANDD        0(SI), Z31, Z2; \
	VPANDD        64(SI), Z31, Z3; \
	VMAXPS        Z30, Z2, Z2; \
	VMAXPS        Z2, Z3, Z2; \
	REDUCE1(VEXTRACTF64X4, VEXTRACTF128, VPERMILPS, VMAXPS, Z2, Y2, X2, Y3, X3); \
	VDIVPS        X29, X2, X4; \
	VCMPPS        $4, X30, X2, K1; \
	VDIVPS.Z      X2, X29, K1, X5; \
	VBROADCASTSS  X5, Z5; \
	VMULPS        0(SI), Z5, Z0; \
	VMULPS        64(SI), Z5, Z1; \
	VCVTPS2DQ     Z0, Z0; \
	VCVTPS2DQ     Z1, Z1

// Q8AMAX2: X, Y = the 32 floats at o(SI), D = the larger of their
// magnitudes lane by lane, a NaN passed over. Clobbers A, B.
#define Q8AMAX2(o, X, Y, A, B, D) \
	VMOVUPS o(SI), X; \
	VMOVUPS o+64(SI), Y; \
	VPANDD  X, Z31, A; \
	VPANDD  Y, Z31, B; \
	VMAXPS  Z30, A, D; \
	VMAXPS  D, B, D

// Q8SCALE: A, B = the quants of X, Y, their inverse scale in every lane
// of Z14 after VSHUFF32X4 imm from Z13.
#define Q8SCALE(imm, X, Y, A, B) \
	VSHUFF32X4 imm, Z13, Z13, Z14; \
	VMULPS     X, Z14, A; \
	VMULPS     Y, Z14, B; \
	VCVTPS2DQ  A, A; \
	VCVTPS2DQ  B, B

// Q8BATCH quantizes the four blocks at SI: block b's amax in the four
// lanes of 128-bit lane b of Z8, its d in the same lanes of Z12, its quants
// as int32s in Z(2b), Z(2b+1). The four blocks' maxima are reduced
// together, so that one division serves the four. Clobbers Z9-Z11, Z13,
// Z14, Z16-Z23, K1.
#define Q8BATCH \
	Q8AMAX2(0, Z16, Z17, Z0, Z1, Z8); \
	Q8AMAX2(128, Z18, Z19, Z2, Z3, Z9); \
	Q8AMAX2(256, Z20, Z21, Z4, Z5, Z10); \
	Q8AMAX2(384, Z22, Z23, Z6, Z7, Z11); \
	REDUCE4(VSHUFF64X2, VPERMILPS, VMAXPS, Z8, Z9, Z10, Z11, Z0); \
	VDIVPS     Z29, Z8, Z12; \
	VCMPPS     $4, Z30, Z8, K1; \
	VDIVPS.Z   Z8, Z29, K1, Z13; \
	Q8SCALE($0x00, Z16, Z17, Z0, Z1); \
	Q8SCALE($0x55, Z18, Z19, Z2, Z3); \
	Q8SCALE($0xaa, Z20, Z21, Z4, Z5); \
	Q8SCALE($0xff, Z22, Z23, Z6, Z7)

// Q8START loads the arguments and Q8BLOCK's and Q8BATCH's constants, and
// sets DX = batches of four blocks, CX = the blocks after them.
#define Q8START \
	MOVQ         x+0(FP), SI; \
	MOVQ         y+8(FP), DI; \
	MOVQ         nb+16(FP), CX; \
	MOVQ         CX, DX; \
	SHRQ         $2, DX; \
	ANDQ         $3, CX; \
	VPBROADCASTD actAbs<>(SB), Z31; \
	VPXORD       Z30, Z30, Z30; \
	VBROADCASTSS act127<>(SB), Z29

// func quantQ8_0AVX512(x *float32, y *byte, nb int)
// nb ≥ 1 blocks of 32 floats at x into nb blocks of 34 bytes at y.
TEXT ·quantQ8_0AVX512(SB), NOSPLIT, $0-24
	Q8START
	TESTQ DX, DX
	JZ    q80tail

q80batch:
	Q8BATCH
	VPMOVDB      Z0, 2(DI)
	VPMOVDB      Z1, 18(DI)
	VPMOVDB      Z2, 36(DI)
	VPMOVDB      Z3, 52(DI)
	VPMOVDB      Z4, 70(DI)
	VPMOVDB      Z5, 86(DI)
	VPMOVDB      Z6, 104(DI)
	VPMOVDB      Z7, 120(DI)
	VCVTPS2PH    $0, Z12, Y12
	VPEXTRW      $0, X12, 0(DI)
	VPEXTRW      $4, X12, 34(DI)
	VEXTRACTI128 $1, Y12, X12
	VPEXTRW      $0, X12, 68(DI)
	VPEXTRW      $4, X12, 102(DI)
	ADDQ         $512, SI
	ADDQ         $136, DI
	DECQ         DX
	JNZ          q80batch

q80tail:
	TESTQ CX, CX
	JZ    q80done

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

q80done:
	VZEROUPPER
	RET

// Q8SUMS: Z8 = the four blocks' sums of quants from Z0-Z7, as floats
// times d (Z12): ggml's s. Then Z12 = d, s, d, s in each 128-bit lane.
// Clobbers Z9-Z11, Z14.
#define Q8SUMS \
	VPADDD      Z1, Z0, Z8; \
	VPADDD      Z3, Z2, Z9; \
	VPADDD      Z5, Z4, Z10; \
	VPADDD      Z7, Z6, Z11; \
	REDUCE4(VSHUFI64X2, VPSHUFD, VPADDD, Z8, Z9, Z10, Z11, Z14); \
	VCVTDQ2PS   Z8, Z8; \
	VMULPS      Z12, Z8, Z8; \
	VUNPCKLPS   Z8, Z12, Z12

// func quantQ8_1AVX512(x *float32, y *byte, nb int)
// nb ≥ 1 blocks of 32 floats at x into nb blocks of 36 bytes at y.
TEXT ·quantQ8_1AVX512(SB), NOSPLIT, $0-24
	Q8START
	TESTQ DX, DX
	JZ    q81tail

q81batch:
	Q8BATCH
	VPMOVDB      Z0, 4(DI)
	VPMOVDB      Z1, 20(DI)
	VPMOVDB      Z2, 40(DI)
	VPMOVDB      Z3, 56(DI)
	VPMOVDB      Z4, 76(DI)
	VPMOVDB      Z5, 92(DI)
	VPMOVDB      Z6, 112(DI)
	VPMOVDB      Z7, 128(DI)
	Q8SUMS
	VCVTPS2PH    $0, Z12, Y12
	VMOVD        X12, 0(DI)
	VPEXTRD      $2, X12, 36(DI)
	VEXTRACTI128 $1, Y12, X12
	VMOVD        X12, 72(DI)
	VPEXTRD      $2, X12, 108(DI)
	ADDQ         $512, SI
	ADDQ         $144, DI
	DECQ         DX
	JNZ          q81batch

q81tail:
	TESTQ CX, CX
	JZ    q81done

q81loop:
	Q8BLOCK
	VPMOVDB       Z0, 4(DI)
	VPMOVDB       Z1, 20(DI)
	VPADDD        Z1, Z0, Z6
	REDUCE1(VEXTRACTI64X4, VEXTRACTI128, VPSHUFD, VPADDD, Z6, Y6, X6, Y7, X7)
	VCVTDQ2PS     X6, X6
	VMULSS        X4, X6, X6
	VUNPCKLPS     X6, X4, X4
	VCVTPS2PH     $0, X4, X4
	VMOVD         X4, 0(DI)
	ADDQ          $128, SI
	ADDQ          $36, DI
	DECQ          CX
	JNZ           q81loop

q81done:
	VZEROUPPER
	RET

// Q8KQUANT: Z = the low bytes of nearestInt(iscale·Z) capped at 127, as
// int32s: Z18 = iscale, Z25-Z29 nearestInt's constants and the byte mask.
#define Q8KQUANT(Z) \
	VMULPS  Z, Z18, Z; \
	VADDPS  Z29, Z, Z; \
	VPANDD  Z28, Z, Z; \
	VPSUBD  Z27, Z, Z; \
	VPMINSD Z26, Z, Z; \
	VPANDD  Z25, Z, Z

// PACK4: A = the int32 lanes of A-D as bytes in order, through PACKD
// (dwords to words) and PACKW (words to bytes). The packs interleave 32-bit
// groups across the four sources by lane; actInterleave (Z24) puts them
// back in order. Clobbers C.
#define PACK4(PACKD, PACKW, A, B, C, D) \
	PACKD  B, A, A; \
	PACKD  D, C, C; \
	PACKW  C, A, A; \
	VPERMD A, Z24, A

// Q8KEXACT quantizes four vectors nearestInt's way: A = their 64 quants as
// bytes in order. The quants' low bytes pack unchanged through unsigned
// saturation. Clobbers B, C, D.
#define Q8KEXACT(A, B, C, D) \
	Q8KQUANT(A); \
	Q8KQUANT(B); \
	Q8KQUANT(C); \
	Q8KQUANT(D); \
	PACK4(VPACKUSDW, VPACKUSWB, A, B, C, D)

// Q8KFAST quantizes four vectors into Q8KEXACT's A with VCVTPS2DQ, which
// rounds as nearestInt does below 2^22. Every finite product is within
// 127·(1+2^-23) of 0, so the two agree on all of them; the others (NaN,
// ±Inf, from such inputs or an iscale that overflows) convert to
// 0x80000000 and saturate to -128, a quant no finite product gives: K3
// gathers those bytes (Z21 = -128 in every byte), for q8kexact to redo the
// super-block. Clobbers B, C, D, K2.
#define Q8KFAST(A, B, C, D) \
	VMULPS    A, Z18, A; \
	VMULPS    B, Z18, B; \
	VMULPS    C, Z18, C; \
	VMULPS    D, Z18, D; \
	VCVTPS2DQ A, A; \
	VCVTPS2DQ B, B; \
	VCVTPS2DQ C, C; \
	VCVTPS2DQ D, D; \
	PACK4(VPACKSSDW, VPACKSSWB, A, B, C, D); \
	VPCMPEQB  Z21, A, K2; \
	KORQ      K2, K3, K3

// Q8KSUMS: B = the four sums of 16 of the 64 quants in A, one per 128-bit
// lane, as four partial dwords each.
#define Q8KSUMS(A, B) \
	VPMADDUBSW A, Z23, B; \
	VPMADDWD   Z22, B, B

// Q8KLOAD: Z0-Z15 = the super-block at SI.
#define Q8KLOAD \
	VMOVUPS 0(SI), Z0; \
	VMOVUPS 64(SI), Z1; \
	VMOVUPS 128(SI), Z2; \
	VMOVUPS 192(SI), Z3; \
	VMOVUPS 256(SI), Z4; \
	VMOVUPS 320(SI), Z5; \
	VMOVUPS 384(SI), Z6; \
	VMOVUPS 448(SI), Z7; \
	VMOVUPS 512(SI), Z8; \
	VMOVUPS 576(SI), Z9; \
	VMOVUPS 640(SI), Z10; \
	VMOVUPS 704(SI), Z11; \
	VMOVUPS 768(SI), Z12; \
	VMOVUPS 832(SI), Z13; \
	VMOVUPS 896(SI), Z14; \
	VMOVUPS 960(SI), Z15

// Q8KMAX: Z16, Z17 = the larger of themselves and each of the four
// vectors, Z19, Z20 the smaller, lane by lane; a NaN is passed over.
#define Q8KMAX(A, B, C, D) \
	VMAXPS Z16, A, Z16; \
	VMINPS Z19, A, Z19; \
	VMAXPS Z17, B, Z17; \
	VMINPS Z20, B, Z20; \
	VMAXPS Z16, C, Z16; \
	VMINPS Z19, C, Z19; \
	VMAXPS Z17, D, Z17; \
	VMINPS Z20, D, Z20

// func quantQ8KAVX512(x *float32, y *byte, nb int)
// nb ≥ 1 super-blocks of 256 floats at x into nb blocks of 292 bytes at y.
//
// The largest element and the smallest, each against 0, give amax and,
// unless both reach it (or both are 0), the sign of signedMax's choice
// without a search, which would cost a mispredicted branch per
// super-block; otherwise a scan finds the first element of magnitude amax.
TEXT ·quantQ8KAVX512(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         nb+16(FP), CX
	VPBROADCASTD actSign<>(SB), Z31
	VPXORD       Z30, Z30, Z30
	VPBROADCASTD actMagic<>(SB), Z29
	VPBROADCASTD actMant<>(SB), Z28
	VPBROADCASTD actHalf<>(SB), Z27
	VPBROADCASTD actI127<>(SB), Z26
	VPBROADCASTD actLowByte<>(SB), Z25
	VMOVDQU32    actInterleave<>(SB), Z24
	VPBROADCASTD actOnes8<>(SB), Z23
	VPBROADCASTD actOnes16<>(SB), Z22
	VPBROADCASTD actMinus128<>(SB), Z21

q8kloop:
	Q8KLOAD
	VMOVAPS       Z30, Z16
	VMOVAPS       Z30, Z17
	VMOVAPS       Z30, Z19
	VMOVAPS       Z30, Z20
	Q8KMAX(Z0, Z1, Z2, Z3)
	Q8KMAX(Z4, Z5, Z6, Z7)
	Q8KMAX(Z8, Z9, Z10, Z11)
	Q8KMAX(Z12, Z13, Z14, Z15)
	VMAXPS        Z17, Z16, Z16
	VMINPS        Z20, Z19, Z19
	VEXTRACTF64X4 $1, Z16, Y17
	VMAXPS        Y17, Y16, Y16
	VEXTRACTF64X4 $1, Z19, Y20
	VMINPS        Y20, Y19, Y19
	VPXORD        Y31, Y19, Y19
	VINSERTF64X4  $1, Y19, Z16, Z16
	VSHUFF64X2    $0xb1, Z16, Z16, Z17
	VMAXPS        Z17, Z16, Z16
	VPERMILPS     $0x4e, Z16, Z17
	VMAXPS        Z17, Z16, Z16
	VPERMILPS     $0xb1, Z16, Z17
	VMAXPS        Z17, Z16, Z16

	// Z16 = the largest element in lanes 0-7, minus the smallest in lanes
	// 8-15; Z17 = amax, the larger of the two.
	VSHUFF64X2 $0x4e, Z16, Z16, Z17
	VMAXPS     Z17, Z16, Z17
	VCMPPS     $0, Z17, Z16, K1
	KMOVW      K1, AX
	CMPL       AX, $0xffff
	JEQ        q8ktie
	NOTL       AX
	SHLL       $31, AX
	VMOVD      AX, X18
	VPXORD     X18, X17, X17

q8kscale:
	VMOVSS       actNeg127<>(SB), X18
	VDIVSS       X17, X18, X18
	VMOVSS       actOne<>(SB), X19
	VDIVSS       X18, X19, X19
	VMOVSS       X19, 0(DI)
	VBROADCASTSS X18, Z18

	KXORQ    K3, K3, K3
	Q8KFAST(Z0, Z1, Z2, Z3)
	Q8KFAST(Z4, Z5, Z6, Z7)
	Q8KFAST(Z8, Z9, Z10, Z11)
	Q8KFAST(Z12, Z13, Z14, Z15)
	KORTESTQ K3, K3
	JNZ      q8kexact

q8kstore:
	VMOVDQU8 Z0, 4(DI)
	VMOVDQU8 Z4, 68(DI)
	VMOVDQU8 Z8, 132(DI)
	VMOVDQU8 Z12, 196(DI)
	Q8KSUMS(Z0, Z1)
	Q8KSUMS(Z4, Z5)
	Q8KSUMS(Z8, Z9)
	Q8KSUMS(Z12, Z13)

	// bsums: lane l of Z1, Z5, Z9, Z13 holds the four partial sums of
	// groups l, 4+l, 8+l, 12+l; a 4×4 transpose within each lane adds them.
	VPUNPCKLDQ  Z5, Z1, Z16
	VPUNPCKHDQ  Z5, Z1, Z17
	VPADDD      Z17, Z16, Z16
	VPUNPCKLDQ  Z13, Z9, Z19
	VPUNPCKHDQ  Z13, Z9, Z20
	VPADDD      Z20, Z19, Z19
	VPUNPCKLQDQ Z19, Z16, Z17
	VPUNPCKHQDQ Z19, Z16, Z20
	VPADDD      Z20, Z17, Z17
	VPERMD      Z17, Z24, Z17
	VPMOVDW     Z17, 260(DI)

q8knext:
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q8kloop
	VZEROUPPER
	RET

q8kexact:
	Q8KLOAD
	Q8KEXACT(Z0, Z1, Z2, Z3)
	Q8KEXACT(Z4, Z5, Z6, Z7)
	Q8KEXACT(Z8, Z9, Z10, Z11)
	Q8KEXACT(Z12, Z13, Z14, Z15)
	JMP      q8kstore

q8ktie:
	// amax is 0, or both signs reach it: signedMax takes the first.
	VUCOMISS X30, X17
	JEQ      q8kzero
	MOVQ     SI, R8

q8kscan:
	VPANDND  (R8), Z31, Z18
	VCMPPS   $0, Z17, Z18, K1
	KORTESTW K1, K1
	JNZ      q8kfound
	ADDQ     $64, R8
	JMP      q8kscan

q8kfound:
	KMOVW  K1, AX
	BSFL   AX, AX
	VMOVSS (R8)(AX*4), X17
	JMP    q8kscale

q8kzero:
	// All zeros (or NaNs): quantQ8K clears the block.
	VMOVDQU8 Z30, 0(DI)
	VMOVDQU8 Z30, 64(DI)
	VMOVDQU8 Z30, 128(DI)
	VMOVDQU8 Z30, 192(DI)
	VMOVDQU8 Z30, 228(DI)
	JMP      q8knext
