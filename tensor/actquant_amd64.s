//go:build !purego

#include "textflag.h"

// Activation quantizers in AVX-512 and AVX2: quantQ8_0Act, quantQ8_1Act and
// quantQ8K (actquant.go, quant.go), byte for byte, for every float32 input,
// NaNs and infinities included. They take the Go code's float operations one for
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
//     overflow; byte(int8(q)) is its low byte (VPMOVDB truncates; the
//     saturating packs agree but on 0x80000000, which the AVX2 code mends)
//     and the Q8_1 sum adds the int32s with wrap-around, as Go's does.
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

// REDUCEY folds the 8 lanes of Y (X: its lower half) with OP, as a tree,
// into every lane of X. EXT2 extracts the upper 128 bits, PERM shuffles
// dwords; clobbers XT.
#define REDUCEY(EXT2, PERM, OP, Y, X, XT) \
	EXT2 $1, Y, XT; \
	OP   XT, X, X; \
	PERM $0x4e, X, XT; \
	OP   XT, X, X; \
	PERM $0xb1, X, XT; \
	OP   XT, X, X

// REDUCE1 is REDUCEY for the 16 lanes of Z (Y, X: its lower halves), EXT4
// extracting the upper 256 bits; clobbers YT, XT.
#define REDUCE1(EXT4, EXT2, PERM, OP, Z, Y, X, YT, XT) \
	EXT4 $1, Z, YT; \
	OP   YT, Y, Y; \
	REDUCEY(EXT2, PERM, OP, Y, X, XT)

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

// actInterleave undoes the lane interleaving of PACK4's packs and SUM4X4's
// unpacks in 256-bit registers: dword 2v+l of the result is dword 4l+v of
// the source.
DATA actInterleave<>+0(SB)/4, $0
DATA actInterleave<>+4(SB)/4, $4
DATA actInterleave<>+8(SB)/4, $1
DATA actInterleave<>+12(SB)/4, $5
DATA actInterleave<>+16(SB)/4, $2
DATA actInterleave<>+20(SB)/4, $6
DATA actInterleave<>+24(SB)/4, $3
DATA actInterleave<>+28(SB)/4, $7
GLOBL actInterleave<>(SB), RODATA|NOPTR, $32

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

// PACK4: A = the int32 lanes of A-D as bytes in order, through PACKD
// (dwords to words) and PACKW (words to bytes). The packs interleave 32-bit
// groups across the four sources by 128-bit lane; VPERMD by IDX
// (actInterleave) puts them back in order. Clobbers C.
#define PACK4(PACKD, PACKW, IDX, A, B, C, D) \
	PACKD  B, A, A; \
	PACKD  D, C, C; \
	PACKW  C, A, A; \
	VPERMD A, IDX, A

// SUM4X4: A = in each 128-bit lane the four sums of the four dwords in that
// lane of A, B, C and D (a 4×4 transpose within the lane adds them), put
// in order by VPERMD by IDX as PACK4 does. Clobbers C, T.
#define SUM4X4(IDX, A, B, C, D, T) \
	VPUNPCKLDQ  B, A, T; \
	VPUNPCKHDQ  B, A, A; \
	VPADDD      A, T, A; \
	VPUNPCKLDQ  D, C, T; \
	VPUNPCKHDQ  D, C, C; \
	VPADDD      C, T, C; \
	VPUNPCKLQDQ C, A, T; \
	VPUNPCKHQDQ C, A, A; \
	VPADDD      A, T, A; \
	VPERMD      A, IDX, A

// The AVX2 quantizers: Q8_0 and Q8_1 for CPUs without AVX-512, the same
// arithmetic in 256-bit registers block by block, and Q8_K for all.

// Q8BLOCKY quantizes the 32 floats at SI as quant8Act does: X8 = d =
// amax/127 in every lane, Y0-Y3 = the quants as int32s. Needs Y15 = the
// abs mask, Y14 = 0, X13 = 127 in every lane; clobbers Y4-Y7, X9, X10.
#define Q8BLOCKY \
	VMOVUPS      0(SI), Y0; \
	VMOVUPS      32(SI), Y1; \
	VMOVUPS      64(SI), Y2; \
	VMOVUPS      96(SI), Y3; \
	VANDPS       Y15, Y0, Y4; \
	VANDPS       Y15, Y1, Y5; \
	VANDPS       Y15, Y2, Y6; \
	VANDPS       Y15, Y3, Y7; \
	VMAXPS       Y14, Y4, Y4; \
	VMAXPS       Y14, Y6, Y6; \
	VMAXPS       Y4, Y5, Y4; \
	VMAXPS       Y6, Y7, Y6; \
	VMAXPS       Y6, Y4, Y4; \
	REDUCEY(VEXTRACTF128, VPERMILPS, VMAXPS, Y4, X4, X5); \
	VDIVPS       X13, X4, X8; \
	VDIVPS       X4, X13, X9; \
	VCMPPS       $4, X14, X4, X10; \
	VANDPS       X10, X9, X9; \
	VBROADCASTSS X9, Y9; \
	VMULPS       Y9, Y0, Y0; \
	VMULPS       Y9, Y1, Y1; \
	VMULPS       Y9, Y2, Y2; \
	VMULPS       Y9, Y3, Y3; \
	VCVTPS2DQ    Y0, Y0; \
	VCVTPS2DQ    Y1, Y1; \
	VCVTPS2DQ    Y2, Y2; \
	VCVTPS2DQ    Y3, Y3

// Q8BYTESY stores Y0-Y3's quants as bytes at o(DI). The packs saturate
// where Go truncates: the two differ only on 0x80000000 (NaN, ±Inf), which
// saturates to -128 and truncates to 0, and no other quant is -128. Needs
// Y11 = actInterleave, Y12 = -128 in every byte; clobbers Y1, Y2.
#define Q8BYTESY(o) \
	PACK4(VPACKSSDW, VPACKSSWB, Y11, Y0, Y1, Y2, Y3); \
	VPCMPEQB Y12, Y0, Y1; \
	VPANDN   Y0, Y1, Y0; \
	VMOVDQU  Y0, o(DI)

// Q8STARTY loads the arguments and Q8BLOCKY's and Q8BYTESY's constants.
#define Q8STARTY \
	MOVQ         x+0(FP), SI; \
	MOVQ         y+8(FP), DI; \
	MOVQ         nb+16(FP), CX; \
	VPBROADCASTD actAbs<>(SB), Y15; \
	VXORPS       Y14, Y14, Y14; \
	VBROADCASTSS act127<>(SB), X13; \
	VPBROADCASTD actMinus128<>(SB), Y12; \
	VMOVDQU      actInterleave<>(SB), Y11

// func quantQ8_0AVX2(x *float32, y *byte, nb int)
// nb ≥ 1 blocks of 32 floats at x into nb blocks of 34 bytes at y.
TEXT ·quantQ8_0AVX2(SB), NOSPLIT, $0-24
	Q8STARTY

q80yloop:
	Q8BLOCKY
	Q8BYTESY(2)
	VCVTPS2PH $0, X8, X8
	VPEXTRW   $0, X8, 0(DI)
	ADDQ      $128, SI
	ADDQ      $34, DI
	DECQ      CX
	JNZ       q80yloop
	VZEROUPPER
	RET

// func quantQ8_1AVX2(x *float32, y *byte, nb int)
// nb ≥ 1 blocks of 32 floats at x into nb blocks of 36 bytes at y.
TEXT ·quantQ8_1AVX2(SB), NOSPLIT, $0-24
	Q8STARTY

q81yloop:
	Q8BLOCKY
	VPADDD    Y1, Y0, Y4
	VPADDD    Y3, Y2, Y5
	VPADDD    Y5, Y4, Y4
	REDUCEY(VEXTRACTI128, VPSHUFD, VPADDD, Y4, X4, X5)
	VCVTDQ2PS X4, X4
	VMULSS    X8, X4, X4
	VUNPCKLPS X4, X8, X8
	VCVTPS2PH $0, X8, X8
	VMOVD     X8, 0(DI)
	Q8BYTESY(4)
	ADDQ      $128, SI
	ADDQ      $36, DI
	DECQ      CX
	JNZ       q81yloop
	VZEROUPPER
	RET

// Q8KMAX: Y0, Y1 = the larger of themselves and each of the four vectors
// at o(SI), Y2, Y3 the smaller, lane by lane; a NaN is passed over.
// Clobbers Y4-Y7.
#define Q8KMAX(o) \
	VMOVUPS o(SI), Y4; \
	VMOVUPS o+32(SI), Y5; \
	VMOVUPS o+64(SI), Y6; \
	VMOVUPS o+96(SI), Y7; \
	VMAXPS  Y0, Y4, Y0; \
	VMINPS  Y2, Y4, Y2; \
	VMAXPS  Y1, Y5, Y1; \
	VMINPS  Y3, Y5, Y3; \
	VMAXPS  Y0, Y6, Y0; \
	VMINPS  Y2, Y6, Y2; \
	VMAXPS  Y1, Y7, Y1; \
	VMINPS  Y3, Y7, Y3

// Q8KMUL: Y0-Y3 = the four vectors at o(SI) times iscale (Y13).
#define Q8KMUL(o) \
	VMULPS o(SI), Y13, Y0; \
	VMULPS o+32(SI), Y13, Y1; \
	VMULPS o+64(SI), Y13, Y2; \
	VMULPS o+96(SI), Y13, Y3

// Q8KFAST quantizes the 32 floats at o(SI) into bytes at 4+o/4(DI) with
// VCVTPS2DQ, which rounds as nearestInt does below 2^22. Every finite
// product is within 127·(1+2^-23) of 0, so the two agree on all of them;
// the others (NaN, ±Inf, from such inputs or an iscale that overflows)
// convert to 0x80000000 and saturate to -128, a quant no finite product
// gives: Y12 gathers those bytes (Y14 = -128 in every byte), for q8kexact
// to redo the super-block. Clobbers Y0-Y3.
#define Q8KFAST(o) \
	Q8KMUL(o); \
	VCVTPS2DQ Y0, Y0; \
	VCVTPS2DQ Y1, Y1; \
	VCVTPS2DQ Y2, Y2; \
	VCVTPS2DQ Y3, Y3; \
	PACK4(VPACKSSDW, VPACKSSWB, Y15, Y0, Y1, Y2, Y3); \
	VPCMPEQB  Y14, Y0, Y1; \
	VPOR      Y1, Y12, Y12; \
	VMOVDQU   Y0, 4+o/4(DI)

// Q8KQUANT: Y = the low byte of nearestInt(Y) capped at 127, as int32s:
// Y8-Y11 nearestInt's constants, Y12 the byte mask.
#define Q8KQUANT(Y) \
	VADDPS  Y8, Y, Y; \
	VPAND   Y9, Y, Y; \
	VPSUBD  Y10, Y, Y; \
	VPMINSD Y11, Y, Y; \
	VPAND   Y12, Y, Y

// Q8KEXACT quantizes the 32 floats at o(SI) into bytes at 4+o/4(DI)
// nearestInt's way: the quants' low bytes pack unchanged through unsigned
// saturation. Clobbers Y0-Y3.
#define Q8KEXACT(o) \
	Q8KMUL(o); \
	Q8KQUANT(Y0); \
	Q8KQUANT(Y1); \
	Q8KQUANT(Y2); \
	Q8KQUANT(Y3); \
	PACK4(VPACKUSDW, VPACKUSWB, Y15, Y0, Y1, Y2, Y3); \
	VMOVDQU Y0, 4+o/4(DI)

// Q8KSUMS: R = the partial sums of the 32 quants at o(DI), four dwords
// for each 16 in each 128-bit lane. Needs Y13 = 1 in every byte, Y14 = 1
// in every word.
#define Q8KSUMS(o, R) \
	VPMADDUBSW o(DI), Y13, R; \
	VPMADDWD   Y14, R, R

// func quantQ8KAVX2(x *float32, y *byte, nb int)
// nb ≥ 1 super-blocks of 256 floats at x into nb blocks of 292 bytes at y.
//
// The largest element and the smallest, each against 0, give amax and,
// unless both reach it (or both are 0), the sign of signedMax's choice
// without a search, which would cost a mispredicted branch per
// super-block; otherwise a scan finds the first element of magnitude amax.
// On Zen 4 this runs faster than the same in 512-bit registers.
TEXT ·quantQ8KAVX2(SB), NOSPLIT, $0-24
	MOVQ    x+0(FP), SI
	MOVQ    y+8(FP), DI
	MOVQ    nb+16(FP), CX
	VMOVDQU actInterleave<>(SB), Y15

q8kloop:
	VXORPS    Y0, Y0, Y0
	VXORPS    Y1, Y1, Y1
	VXORPS    Y2, Y2, Y2
	VXORPS    Y3, Y3, Y3
	Q8KMAX(0)
	Q8KMAX(128)
	Q8KMAX(256)
	Q8KMAX(384)
	Q8KMAX(512)
	Q8KMAX(640)
	Q8KMAX(768)
	Q8KMAX(896)
	VMAXPS    Y1, Y0, Y0
	VMINPS    Y3, Y2, Y2
	REDUCEY(VEXTRACTF128, VPERMILPS, VMAXPS, Y0, X0, X4)
	REDUCEY(VEXTRACTF128, VPERMILPS, VMINPS, Y2, X2, X4)
	VBROADCASTSS actSign<>(SB), X6
	VXORPS    X6, X2, X2

	// X0 = the largest element, X2 = minus the smallest, X1 = amax, negated
	// unless the largest element reaches it. The test for a tie branches
	// beside that, off the path to the divisions.
	VMAXPS    X2, X0, X1
	VCMPPS    $0, X1, X0, X4
	VCMPPS    $0, X1, X2, X5
	VANDPS    X4, X5, X5
	VMOVMSKPS X5, AX
	TESTL     $1, AX
	JNZ       q8ktie
	VANDNPS   X6, X4, X4
	VXORPS    X4, X1, X1

q8kscale:
	VMOVSS       actNeg127<>(SB), X4
	VDIVSS       X1, X4, X4
	VMOVSS       actOne<>(SB), X5
	VDIVSS       X4, X5, X5
	VMOVSS       X5, 0(DI)
	VBROADCASTSS X4, Y13
	VPBROADCASTD actMinus128<>(SB), Y14
	VPXOR        Y12, Y12, Y12
	Q8KFAST(0)
	Q8KFAST(128)
	Q8KFAST(256)
	Q8KFAST(384)
	Q8KFAST(512)
	Q8KFAST(640)
	Q8KFAST(768)
	Q8KFAST(896)
	VPTEST       Y12, Y12
	JNZ          q8kexact

q8ksums:
	// bsums: lane l of Y0-Y3 (Y4-Y7) holds the partial sums of groups
	// 2v+l (8+2v+l) for register v; SUM4X4 gives groups 0-7 in Y0 and
	// 8-15 in Y4, and their pack to words comes out 64-bit lane by lane
	// (0-3, 8-11, 4-7, 12-15) for VPERMQ to put in order.
	VPBROADCASTD actOnes8<>(SB), Y13
	VPBROADCASTD actOnes16<>(SB), Y14
	Q8KSUMS(4, Y0)
	Q8KSUMS(36, Y1)
	Q8KSUMS(68, Y2)
	Q8KSUMS(100, Y3)
	Q8KSUMS(132, Y4)
	Q8KSUMS(164, Y5)
	Q8KSUMS(196, Y6)
	Q8KSUMS(228, Y7)
	SUM4X4(Y15, Y0, Y1, Y2, Y3, Y8)
	SUM4X4(Y15, Y4, Y5, Y6, Y7, Y8)
	VPACKSSDW Y4, Y0, Y0
	VPERMQ    $0xd8, Y0, Y0
	VMOVDQU   Y0, 260(DI)

q8knext:
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q8kloop
	VZEROUPPER
	RET

q8kexact:
	VPBROADCASTD actMagic<>(SB), Y8
	VPBROADCASTD actMant<>(SB), Y9
	VPBROADCASTD actHalf<>(SB), Y10
	VPBROADCASTD actI127<>(SB), Y11
	VPBROADCASTD actLowByte<>(SB), Y12
	Q8KEXACT(0)
	Q8KEXACT(128)
	Q8KEXACT(256)
	Q8KEXACT(384)
	Q8KEXACT(512)
	Q8KEXACT(640)
	Q8KEXACT(768)
	Q8KEXACT(896)
	JMP          q8ksums

q8ktie:
	// amax is 0, or both signs reach it: signedMax takes the first.
	VXORPS       X4, X4, X4
	VUCOMISS     X4, X1
	JEQ          q8kzero
	VBROADCASTSS X1, Y1
	VPBROADCASTD actAbs<>(SB), Y5
	MOVQ         SI, R8

q8kscan:
	VANDPS    (R8), Y5, Y4
	VCMPPS    $0, Y1, Y4, Y4
	VMOVMSKPS Y4, AX
	TESTL     AX, AX
	JNZ       q8kfound
	ADDQ      $32, R8
	JMP       q8kscan

q8kfound:
	BSFL   AX, AX
	VMOVSS (R8)(AX*4), X1
	JMP    q8kscale

q8kzero:
	VPXOR   Y4, Y4, Y4
	VMOVDQU Y4, 0(DI)
	VMOVDQU Y4, 32(DI)
	VMOVDQU Y4, 64(DI)
	VMOVDQU Y4, 96(DI)
	VMOVDQU Y4, 128(DI)
	VMOVDQU Y4, 160(DI)
	VMOVDQU Y4, 192(DI)
	VMOVDQU Y4, 224(DI)
	VMOVDQU Y4, 256(DI)
	VMOVDQU Y4, 260(DI)
	JMP     q8knext
