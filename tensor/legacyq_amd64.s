//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// Kernels for the legacy 32-element types Q4_1, Q5_0 and Q5_1. Blocks:
//
//	Q4_1: d f16, m f16, qs[16]          20 bytes
//	Q5_0: d f16, qh u32, qs[16]         22 bytes
//	Q5_1: d f16, m f16, qh u32, qs[16]  24 bytes
//	Q8_0: d f16, qs[32]                 34 bytes (Q5_0's activations)
//	Q8_1: d f16, s f16, qs[32]          36 bytes (Q4_1's and Q5_1's)
//
// Byte j of qs holds element j in its low nibble and element j+16 in its
// high nibble; bit j of qh is element j's fifth bit. All the quants are
// unsigned, so they are the unsigned operand of VPMADDUBSW and VPDPBUSD as
// they stand; only Q5_0 subtracts 16, as 16 × the activation block's quant
// sum. Every block's integer sum is exact, and the float steps are those
// of q4_1Blocks, q5_0Blocks and q5_1Blocks, block after block, so the
// results are bit-identical.

// --- AVX2, one row ---------------------------------------------------------

// NIBBLES: Y8 = the block's 32 quants 0-15 from its nibbles at m, in
// element order. Needs Y13 = 0x0f in every byte.
#define NIBBLES(m) \
	VMOVDQU     m, X8; \
	VPSRLW      $4, X8, X9; \
	VINSERTI128 $1, X9, Y8, Y8; \
	VPAND       Y13, Y8, Y8

// FIFTHBITS: Y8 |= 16 in the bytes whose bit is set in the dword at m:
// each byte picks its qh byte, then tests its own bit. Needs Y12 = 0x10 in
// every byte. Clobbers Y9.
#define FIFTHBITS(m) \
	VPBROADCASTD m, Y9; \
	VPSHUFB      bitByte<>(SB), Y9, Y9; \
	VPAND        bitMask<>(SB), Y9, Y9; \
	VPCMPEQB     bitMask<>(SB), Y9, Y9; \
	VPAND        Y12, Y9, Y9; \
	VPOR         Y9, Y8, Y8

// The block macros: R = the int16 sums of the byte pair products of the
// weight block at SI+wo and the activation block at DI+ao, at most 2·31·128
// in size. Need Y12 = 0x10 and Y13 = 0x0f in every byte.
#define Q41AVX2(wo, ao, R) \
	NIBBLES(wo+4(SI)); \
	VPMADDUBSW ao+4(DI), Y8, R

#define Q51AVX2(wo, ao, R) \
	NIBBLES(wo+8(SI)); \
	FIFTHBITS(wo+4(SI)); \
	VPMADDUBSW ao+4(DI), Y8, R

// Q50AVX2 subtracts the bias 16 per byte pair as 16 × the pair's
// activations, which leaves at most 2·16·128.
#define Q50AVX2(wo, ao, R) \
	NIBBLES(wo+6(SI)); \
	FIFTHBITS(wo+2(SI)); \
	VMOVDQU    ao+2(DI), Y10; \
	VPMADDUBSW Y10, Y8, Y8; \
	VPMADDUBSW Y10, Y12, Y9; \
	VPSUBW     Y9, Y8, R

// BLKPAIR: R = blocks b and b+1 of BLK reduced to four dwords per 128-bit
// half, b's two then b+1's: a horizontal word add of the two blocks (at
// most 4·31·128, still an int16), then a widening add (Y14 = 1 in every
// int16). Clobbers Y11.
#define BLKPAIR(BLK, b, ws, as, R) \
	BLK(b*ws, b*as, R); \
	BLK(b*ws+ws, b*as+as, Y11); \
	VPHADDW  Y11, R, R; \
	VPMADDWD Y14, R, R

// BATCHSUMS: Y0 = BLK's integer sums of the batch's eight blocks, block b
// in lane b; weight blocks ws bytes apart, activation blocks as.
#define BATCHSUMS(BLK, ws, as) \
	BLKPAIR(BLK, 0, ws, as, Y0); \
	BLKPAIR(BLK, 2, ws, as, Y1); \
	BLKPAIR(BLK, 4, ws, as, Y2); \
	BLKPAIR(BLK, 6, ws, as, Y3); \
	VPHADDD    Y1, Y0, Y0; \
	VPHADDD    Y3, Y2, Y2; \
	VPERM2I128 $0x20, Y2, Y0, Y1; \
	VPERM2I128 $0x31, Y2, Y0, Y3; \
	VPADDD     Y3, Y1, Y0

// DWORDS8: Y = the dwords at R, R+s, ..., R+7s (the block heads). Clobbers
// Xt.
#define DWORDS8(R, s, Y, X, Xt) \
	VMOVD       (R), X; \
	VPINSRD     $1, s(R), X, X; \
	VPINSRD     $2, 2*s(R), X, X; \
	VPINSRD     $3, 3*s(R), X, X; \
	VMOVD       4*s(R), Xt; \
	VPINSRD     $1, 5*s(R), Xt, Xt; \
	VPINSRD     $2, 6*s(R), Xt, Xt; \
	VPINSRD     $3, 7*s(R), Xt, Xt; \
	VINSERTI128 $1, Xt, Y, Y

// WORDS2F: Fa, Fb = the f16 low words of Ya's and Yb's eight dwords (whose
// high words are zero) as float32. Clobbers Ya, Yb.
#define WORDS2F(Ya, Xa, Yb, Xb, Fa, Fb) \
	VPACKUSDW    Yb, Ya, Ya; \
	VPERMQ       $0xd8, Ya, Ya; \
	VCVTPH2PS    Xa, Fa; \
	VEXTRACTI128 $1, Ya, Xb; \
	VCVTPH2PS    Xb, Fb

// HEADS: Flo, Fhi = the two f16 fields that start each of the eight blocks
// s bytes apart at R (d and m, or d and s), as float32. Clobbers Y8, Y9.
#define HEADS(R, s, Flo, Fhi) \
	DWORDS8(R, s, Y8, X8, X9); \
	VPSRLD  $16, Y8, Y9; \
	VPAND   lowWords<>(SB), Y8, Y8; \
	WORDS2F(Y8, X8, Y9, X9, Flo, Fhi)

// MINTERMS: T = float32(dx*dy)*sumi + mx*sy per block, sumi in Ysum as
// float32, in q4_1Blocks's order of roundings. Clobbers Ydx, Ymx, Ysum.
#define MINTERMS(Ydx, Ydy, Ymx, Ysy, Ysum, T) \
	VMULPS Ydy, Ydx, Ydx; \
	VMULPS Ydx, Ysum, Ysum; \
	VMULPS Ysy, Ymx, Ymx; \
	VADDPS Ymx, Ysum, T

// The per-batch float steps of the AVX2 kernels: Y0 (the block sums as
// float32) becomes the eight block terms.
#define Q41FLOAT \
	HEADS(SI, 20, Y1, Y2); \
	HEADS(DI, 36, Y3, Y4); \
	MINTERMS(Y1, Y3, Y2, Y4, Y0, Y0)

#define Q51FLOAT \
	HEADS(SI, 24, Y1, Y2); \
	HEADS(DI, 36, Y3, Y4); \
	MINTERMS(Y1, Y3, Y2, Y4, Y0, Y0)

#define Q50FLOAT \
	DWORDS8(SI, 22, Y8, X8, X10); \
	DWORDS8(DI, 34, Y9, X9, X10); \
	VPAND   lowWords<>(SB), Y8, Y8; \
	VPAND   lowWords<>(SB), Y9, Y9; \
	WORDS2F(Y8, X8, Y9, X9, Y1, Y2); \
	VMULPS  Y2, Y1, Y1; \
	VMULPS  Y1, Y0, Y0

// AVX2KERNEL: a whole one-row kernel func(w, a *byte, nb int) float32 over
// weight blocks of ws bytes and activation blocks of as bytes; nb is a
// multiple of 8. X15 = the running sum.
#define AVX2KERNEL(BLK, FLOAT, ws, as, loop, done) \
	MOVQ   w+0(FP), SI; \
	MOVQ   a+8(FP), DI; \
	MOVQ   nb+16(FP), CX; \
	ONES16(Y14, X14); \
	BROADCASTB($0x0f0f0f0f, Y13, X13); \
	BROADCASTB($0x10101010, Y12, X12); \
	VXORPS X15, X15, X15; \
	SHRQ   $3, CX; \
	JZ     done; \
loop: \
	BATCHSUMS(BLK, ws, as); \
	VCVTDQ2PS Y0, Y0; \
	FLOAT; \
	ADD8(Y0, X15); \
	ADDQ   $(8*ws), SI; \
	ADDQ   $(8*as), DI; \
	DECQ   CX; \
	JNZ    loop; \
done: \
	VZEROUPPER; \
	MOVSS  X15, ret+24(FP); \
	RET

// func dotQ4_1AVX2(w, a *byte, nb int) float32
TEXT ·dotQ4_1AVX2(SB), NOSPLIT, $32-28
	AVX2KERNEL(Q41AVX2, Q41FLOAT, 20, 36, q41loop, q41done)

// func dotQ5_0AVX2(w, a *byte, nb int) float32
TEXT ·dotQ5_0AVX2(SB), NOSPLIT, $32-28
	AVX2KERNEL(Q50AVX2, Q50FLOAT, 22, 34, q50loop, q50done)

// func dotQ5_1AVX2(w, a *byte, nb int) float32
TEXT ·dotQ5_1AVX2(SB), NOSPLIT, $32-28
	AVX2KERNEL(Q51AVX2, Q51FLOAT, 24, 36, q51loop, q51done)

// bitByte: VPSHUFB indices, byte j <- qh byte j/8 (qh in every dword).
DATA bitByte<>+0(SB)/8, $0x0000000000000000
DATA bitByte<>+8(SB)/8, $0x0101010101010101
DATA bitByte<>+16(SB)/8, $0x0202020202020202
DATA bitByte<>+24(SB)/8, $0x0303030303030303
GLOBL bitByte<>(SB), RODATA|NOPTR, $32

// bitMask: byte j = 1 << (j mod 8).
DATA bitMask<>+0(SB)/8, $0x8040201008040201
DATA bitMask<>+8(SB)/8, $0x8040201008040201
DATA bitMask<>+16(SB)/8, $0x8040201008040201
DATA bitMask<>+24(SB)/8, $0x8040201008040201
GLOBL bitMask<>(SB), RODATA|NOPTR, $32

// lowWords: the low word of every dword.
DATA lowWords<>+0(SB)/8, $0x0000ffff0000ffff
DATA lowWords<>+8(SB)/8, $0x0000ffff0000ffff
DATA lowWords<>+16(SB)/8, $0x0000ffff0000ffff
DATA lowWords<>+24(SB)/8, $0x0000ffff0000ffff
GLOBL lowWords<>(SB), RODATA|NOPTR, $32

// --- AVX-512 VNNI, four rows -----------------------------------------------
//
// Rows w, w+stride, w+2·stride, w+3·stride against one activation row, each
// activation block loaded once for the four (EVEX encoding: Y16-Y31 hold
// what the rows share). Registers as ROWS4ARGS sets them: SI, R9, R10, R11
// = the rows, DI = the activations, CX = nb, R8 = 8·stride (PREFETCH4);
// X28 = the rows' running sums, lane r for row r.
//
// Blocks pair up, p with p+4, in the two 128-bit halves: Y16-Y19 hold the
// pairs' activation quants 0-15, Y20-Y23 quants 16-31, which meet the
// weights' low and high nibbles. Three horizontal adds then leave the dword
// sums in block order. Each row's scales, and a Q5 row's qh, come out of
// one word permute per batch (SCALEWORDS); a pair's fifth bits are then
// moved to bit 4 of their bytes by one VPMULTISHIFTQB per half.

// X4CONST: the batch count and the constants: Y25 = 0x0f and Y26 = 0x10 in
// every byte, Z29 = the row's word indices at idx (SCALEWORDS) and K2 =
// where they come from the second window, K3 the same for the activations'
// scales, Y30 and Y31 = the VPMULTISHIFTQB shifts of Q5PAIR.
#define X4CONST(idx, k2, k3) \
	BROADCASTB($0x0f0f0f0f, Y25, X25); \
	BROADCASTB($0x10101010, Y26, X26); \
	VMOVDQU32 idx, Z29; \
	VMOVDQU32 fifthLo<>(SB), Y30; \
	VMOVDQU32 fifthHi<>(SB), Y31; \
	MOVL      k2, AX; \
	KMOVD     AX, K2; \
	MOVL      k3, AX; \
	KMOVD     AX, K3; \
	MOVQ      out+32(FP), AX; \
	VXORPS    X28, X28, X28; \
	SHRQ      $3, CX

// SCALEWORDS: Z8's words 0-15 = the f16 words of the batch at R that the
// indices in Zidx pick, from the 128-byte windows at R+a (where Kb is
// clear) and R+b (where it is set): two-table word permutes that read only
// inside the batch. Clobbers Z9.
#define SCALEWORDS(R, a, b, Zidx, Kb) \
	VMOVDQU64 a(R), Z8; \
	VPERMT2W  a+64(R), Zidx, Z8; \
	VMOVDQU64 b(R), Z9; \
	VPERMT2W  b+64(R), Zidx, Z9; \
	VMOVDQU16 Z9, Kb, Z8

// ACTHALVES: Ylo, Yhi = the quant halves of activation blocks p | p+4,
// blocks as bytes apart with their 32 quants last.
#define ACTHALVES(p, as, Ylo, Xlo, Yhi, Xhi) \
	VMOVDQU32    (as*p+as-32)(DI), Xlo; \
	VINSERTI32X4 $1, (as*p+5*as-32)(DI), Ylo, Ylo; \
	VMOVDQU32    (as*p+as-16)(DI), Xhi; \
	VINSERTI32X4 $1, (as*p+5*as-16)(DI), Yhi, Yhi

#define ACTPAIRS(as) \
	ACTHALVES(0, as, Y16, X16, Y20, X20); \
	ACTHALVES(1, as, Y17, X17, Y21, X21); \
	ACTHALVES(2, as, Y18, X18, Y22, X22); \
	ACTHALVES(3, as, Y19, X19, Y23, X23)

// Q81ACT: the Q8_1 activations; Y24, Y27 = the blocks' d and s as float32.
#define Q81ACT \
	ACTPAIRS(36); \
	VMOVDQU32 q81Scales<>(SB), Y14; \
	SCALEWORDS(DI, 0, 128, Z14, K3); \
	VCVTPH2PS    X8, Y24; \
	VEXTRACTI128 $1, Y8, X8; \
	VCVTPH2PS    X8, Y27

// DOTPAIR: Yacc = the dword partials of unsigned Ulo, Uhi against signed
// Slo, Shi.
#define DOTPAIR(Ulo, Uhi, Slo, Shi, Yacc) \
	VPXOR    Yacc, Yacc, Yacc; \
	VPDPBUSD Slo, Ulo, Yacc; \
	VPDPBUSD Shi, Uhi, Yacc

// HADD3: Y0 = the sums of blocks 0-7 from the pair partials in Y0-Y3.
// Clobbers Y1-Y3.
#define HADD3 \
	VPHADDD Y1, Y0, Y0; \
	VPHADDD Y3, Y2, Y2; \
	VPHADDD Y2, Y0, Y0

// Q50ACT: the Q8_0 activations; Y24 = the blocks' d as float32, Y27 = 16 ×
// each block's quant sum (Q5_0's bias).
#define Q50ACT \
	ACTPAIRS(34); \
	DOTPAIR(Y26, Y26, Y16, Y20, Y0); \
	DOTPAIR(Y26, Y26, Y17, Y21, Y1); \
	DOTPAIR(Y26, Y26, Y18, Y22, Y2); \
	DOTPAIR(Y26, Y26, Y19, Y23, Y3); \
	HADD3; \
	VMOVDQA32 Y0, Y27; \
	VMOVDQU32 q80Scales<>(SB), Y14; \
	SCALEWORDS(DI, 0, 128, Z14, K3); \
	VCVTPH2PS X8, Y24

// NIBPAIR: Y9, Y8 = the low and high nibbles of blocks p | p+4 of the row
// at R, blocks ws bytes apart with their 16 bytes of nibbles last.
#define NIBPAIR(R, p, ws) \
	VMOVDQU     (ws*p+ws-16)(R), X8; \
	VINSERTI128 $1, (ws*p+5*ws-16)(R), Y8, Y8; \
	VPANDD      Y25, Y8, Y9; \
	VPSRLW      $4, Y8, Y8; \
	VPANDD      Y25, Y8, Y8

// Q4PAIR, Q5PAIR: Yacc = the dword partials of blocks p | p+4 of the row
// at R. Q5PAIR takes the pair's qh from qword p of Y5 (qh_p low, qh_p+4
// high): every qword of Y7 a copy, byte i of Y6 (Y7) gets in bit 4 the qh
// bit of the element that byte i of Y9 (Y8) holds, which VPTERNLOGD ORs in
// as 16 (Y26).
#define Q4PAIR(R, p, ws, Ylo, Yhi, Yacc) \
	NIBPAIR(R, p, ws); \
	DOTPAIR(Y9, Y8, Ylo, Yhi, Yacc)

#define Q5PAIR(R, p, ws, Ylo, Yhi, Yacc) \
	NIBPAIR(R, p, ws); \
	VPERMQ         $(0x55*p), Y5, Y7; \
	VPMULTISHIFTQB Y7, Y30, Y6; \
	VPMULTISHIFTQB Y7, Y31, Y7; \
	VPTERNLOGD     $0xf8, Y26, Y6, Y9; \
	VPTERNLOGD     $0xf8, Y26, Y7, Y8; \
	DOTPAIR(Y9, Y8, Ylo, Yhi, Yacc)

// ROWSUMS: Y0 = the integer sums of the row at R's eight blocks.
#define ROWSUMS(PAIR, R, ws) \
	PAIR(R, 0, ws, Y16, Y20, Y0); \
	PAIR(R, 1, ws, Y17, Y21, Y1); \
	PAIR(R, 2, ws, Y18, Y22, Y2); \
	PAIR(R, 3, ws, Y19, Y23, Y3); \
	HADD3

// ROWWORDS: Y4 = the row at R's scale words (d in 0-7, m in 8-15) and, for
// Q5, Y5 = its qh words, from SCALEWORDS with window b.
#define ROWWORDS(R, b) \
	SCALEWORDS(R, 0, b, Z29, K2); \
	VMOVDQA Y8, Y4

#define Q5WORDS(R, b) \
	ROWWORDS(R, b); \
	VEXTRACTI64X4 $1, Z8, Y5

// MINROW: T = the row's eight block terms, as q4_1Blocks and q5_1Blocks,
// from its block sums in Y0 and scale words in Y4.
#define MINROW(T) \
	VCVTDQ2PS    Y0, Y0; \
	VCVTPH2PS    X4, Y1; \
	VEXTRACTI128 $1, Y4, X4; \
	VCVTPH2PS    X4, Y2; \
	MINTERMS(Y1, Y24, Y2, Y27, Y0, T)

#define Q41ROW(R, T) \
	ROWWORDS(R, 32); \
	ROWSUMS(Q4PAIR, R, 20); \
	MINROW(T)

#define Q51ROW(R, T) \
	Q5WORDS(R, 64); \
	ROWSUMS(Q5PAIR, R, 24); \
	MINROW(T)

// Q50ROW: T = float32(dx*dy)*float32(sumi) per block, as q5_0Blocks, with
// sumi = the block sum less the bias.
#define Q50ROW(R, T) \
	Q5WORDS(R, 48); \
	ROWSUMS(Q5PAIR, R, 22); \
	VPSUBD    Y27, Y0, Y0; \
	VCVTDQ2PS Y0, Y0; \
	VCVTPH2PS X4, Y1; \
	VMULPS    Y24, Y1, Y1; \
	VMULPS    Y1, Y0, T

// ADDROWS: X28 += the block terms of the four rows in Y10-Y13 (row r in
// Y1r, block b in lane b), block after block: two permutes gather the
// rows' terms of each block into one lane quartet, so one packed add per
// block serves the four rows. Clobbers Z10, Z12, Z14, Z15.
#define ADDROWS \
	VINSERTF64X4 $1, Y11, Z10, Z10; \
	VINSERTF64X4 $1, Y13, Z12, Z12; \
	VMOVDQU32    rowOrder<>+0(SB), Z14; \
	VPERMI2PS    Z12, Z10, Z14; \
	VMOVDQU32    rowOrder<>+64(SB), Z15; \
	VPERMI2PS    Z12, Z10, Z15; \
	ADDQUARTETS(Z14, X14); \
	ADDQUARTETS(Z15, X15)

#define ADDQUARTETS(Z, X) \
	VADDPS        X, X28, X28; \
	VEXTRACTF32X4 $1, Z, X10; \
	VADDPS        X10, X28, X28; \
	VEXTRACTF32X4 $2, Z, X10; \
	VADDPS        X10, X28, X28; \
	VEXTRACTF32X4 $3, Z, X10; \
	VADDPS        X10, X28, X28

// X4KERNEL: a whole four-row kernel func(w *byte, stride int, a *byte, nb
// int, out *[4]float32): ACT reads a batch of activations, ROW(R, T) a
// row's terms; weight batches take 8·ws bytes, activation batches 8·as.
// The constants as X4CONST takes them.
#define X4KERNEL(ACT, ROW, ws, as, idx, k2, k3, loop, done) \
	ROWS4ARGS; \
	X4CONST(idx, k2, k3); \
	JZ done; \
loop: \
	PREFETCH4(R8, 0); \
	PREFETCH4(R8, 64); \
	PREFETCH4(R8, 128); \
	ACT; \
	ROW(SI, Y10); \
	ROW(R9, Y11); \
	ROW(R10, Y12); \
	ROW(R11, Y13); \
	ADDROWS; \
	ADDQ $(8*ws), SI; \
	ADDQ $(8*ws), R9; \
	ADDQ $(8*ws), R10; \
	ADDQ $(8*ws), R11; \
	ADDQ $(8*as), DI; \
	DECQ CX; \
	JNZ  loop; \
done: \
	VMOVUPS X28, (AX); \
	VZEROUPPER; \
	RET

// func dotQ4_1x4VNNI(w *byte, stride int, a *byte, nb int, out *[4]float32)
// nb: a multiple of 8 blocks.
TEXT ·dotQ4_1x4VNNI(SB), NOSPLIT, $0-40
	X4KERNEL(Q81ACT, Q41ROW, 20, 36, q41Words<>(SB), $0x8080, $0xf0f0, q41x4loop, q41x4done)

// func dotQ5_0x4VNNI(w *byte, stride int, a *byte, nb int, out *[4]float32)
// nb: a multiple of 8 blocks.
TEXT ·dotQ5_0x4VNNI(SB), NOSPLIT, $0-40
	X4KERNEL(Q50ACT, Q50ROW, 22, 34, q50Words<>(SB), $0xcc0000c0, $0xf0, q50x4loop, q50x4done)

// func dotQ5_1x4VNNI(w *byte, stride int, a *byte, nb int, out *[4]float32)
// nb: a multiple of 8 blocks.
TEXT ·dotQ5_1x4VNNI(SB), NOSPLIT, $0-40
	X4KERNEL(Q81ACT, Q51ROW, 24, 36, q51Words<>(SB), $0xcc00c0c0, $0xf0f0, q51x4loop, q51x4done)

// --- AVX-512 VNNI GEMM, four rows × sixteen vectors ------------------------
//
// For MatMul with several vectors: the activations come laid out by
// gemmLayoutQ8 (Q5_0, bias 0) or gemmLayoutQ81 (Q4_1, Q5_1), 640 bytes per
// block for sixteen vectors: eight 64-byte steps (dword i of step k =
// vector i's quants 4k..4k+3), then the vectors' d and, for Q8_1, their s
// as float32. Each batch of eight weight blocks of the four rows is
// unpacked once per call onto the stack as signed bytes (Q5_0: q-16), so
// that VPDPBUSD can take each weight dword by embedded broadcast against
// the step's activations made unsigned (q+128, a sign-bit flip); the bias
// 128·Σw of each row's block goes in first, negated, as the accumulator's
// start. Stack: unpacked blocks at 256r+32b, d at 1024+32r, m at 1152+32r
// and the starts at 1280+32r (row r, block b), as float32 and int32. Row
// r's sums for the sixteen vectors: Z27, Z28, Z30, Z31.

// GEMMSTARTS: the accumulator starts of blocks b, b+1 of row r from Y4, Y5
// = the blocks' VPSADBW sums of their unsigned quants: 4096·bias - 128·Σq,
// which is -128·Σw for the stored w = q - bias (Y6 = 4096·bias).
#define GEMMSTARTS(r, b) \
	VPSLLQ       $32, Y5, Y5; \
	VPOR         Y5, Y4, Y4; \
	VEXTRACTI128 $1, Y4, X5; \
	VPADDD       X5, X4, X4; \
	VPSHUFD      $0x4e, X4, X5; \
	VPADDD       X5, X4, X4; \
	VPSLLD       $7, X4, X4; \
	VPSUBD       X4, X6, X4; \
	VMOVQ        X4, (1280+32*r+4*b)(SP)

// GEMMPREP: row r at R: GETQ(R, o) unpacks the 32 unsigned quants of the
// block at R+o into Y8, element order; they are stored less bias (Y7 =
// bias bytes), their sums taken by VPSADBW against Y11 = 0.
#define GEMMQ(GETQ, R, r, ws, b, Ysad) \
	GETQ(R, ws*b); \
	VPSADBW Y11, Y8, Ysad; \
	VPSUBB  Y7, Y8, Y8; \
	VMOVDQU Y8, (256*r+32*b)(SP)

#define GEMMPAIR(GETQ, R, r, ws, b, b1) \
	GEMMQ(GETQ, R, r, ws, b, Y4); \
	GEMMQ(GETQ, R, r, ws, b1, Y5); \
	GEMMSTARTS(r, b)

#define GEMMPREP(GETQ, R, r, ws, b2) \
	GEMMPAIR(GETQ, R, r, ws, 0, 1); \
	GEMMPAIR(GETQ, R, r, ws, 2, 3); \
	GEMMPAIR(GETQ, R, r, ws, 4, 5); \
	GEMMPAIR(GETQ, R, r, ws, 6, 7); \
	SCALEWORDS(R, 0, b2, Z29, K2); \
	VCVTPH2PS    X8, Y4; \
	VMOVUPS      Y4, (1024+32*r)(SP); \
	VEXTRACTI128 $1, Y8, X8; \
	VCVTPH2PS    X8, Y4; \
	VMOVUPS      Y4, (1152+32*r)(SP)

// The GETQ macros: Y8 = the quants of the block at R+o (NIBBLES needs Y13
// = 0x0f, FIFTHBITS Y12 = 0x10 in every byte).
#define Q41GETQ(R, o) \
	NIBBLES(o+4(R))

#define Q50GETQ(R, o) \
	NIBBLES(o+6(R)); \
	FIFTHBITS(o+2(R))

#define Q51GETQ(R, o) \
	NIBBLES(o+8(R)); \
	FIFTHBITS(o+4(R))

// GEMMSUMS: Z0 = row r's exact integer sums of block b (DX = 4b) against
// the sixteen vectors, as float32.
#define GEMMSUMS(r) \
	VPBROADCASTD  (1280+32*r)(SP)(DX*1), Z0; \
	VPXORD        Z1, Z1, Z1; \
	VPXORD        Z2, Z2, Z2; \
	VPXORD        Z3, Z3, Z3; \
	VPDPBUSD.BCST (256*r+0)(SP)(DX*8), Z16, Z0; \
	VPDPBUSD.BCST (256*r+4)(SP)(DX*8), Z17, Z1; \
	VPDPBUSD.BCST (256*r+8)(SP)(DX*8), Z18, Z2; \
	VPDPBUSD.BCST (256*r+12)(SP)(DX*8), Z19, Z3; \
	VPDPBUSD.BCST (256*r+16)(SP)(DX*8), Z20, Z0; \
	VPDPBUSD.BCST (256*r+20)(SP)(DX*8), Z21, Z1; \
	VPDPBUSD.BCST (256*r+24)(SP)(DX*8), Z22, Z2; \
	VPDPBUSD.BCST (256*r+28)(SP)(DX*8), Z23, Z3; \
	VPADDD        Z1, Z0, Z0; \
	VPADDD        Z3, Z2, Z2; \
	VPADDD        Z2, Z0, Z0; \
	VCVTDQ2PS     Z0, Z0

// GEMMD: Zsum += float32(dx*dy)*sumi, as q5_0Blocks; GEMMMIN: Zsum +=
// float32(dx*dy)*sumi + mx*sy, as q4_1Blocks and q5_1Blocks (Z24 = dy, Z25
// = sy).
#define GEMMDSUMI(r) \
	GEMMSUMS(r); \
	VMULPS.BCST (1024+32*r)(SP)(DX*1), Z24, Z1; \
	VMULPS      Z1, Z0, Z0

#define GEMMD(r, Zsum) \
	GEMMDSUMI(r); \
	VADDPS Z0, Zsum, Zsum

#define GEMMMIN(r, Zsum) \
	GEMMDSUMI(r); \
	VMULPS.BCST (1152+32*r)(SP)(DX*1), Z25, Z2; \
	VADDPS      Z2, Z0, Z0; \
	VADDPS      Z0, Zsum, Zsum

// GEMMBLOCK: block b (DX = 4b) of the batch against the sixteen vectors'
// block at DI: their quants flipped to unsigned in Z16-Z23, d in Z24, s in
// Z25; TERMS adds each row's terms to its sums.
#define GEMMBLOCK(TERMS) \
	VPXORD  (DI), Z26, Z16; \
	VPXORD  64(DI), Z26, Z17; \
	VPXORD  128(DI), Z26, Z18; \
	VPXORD  192(DI), Z26, Z19; \
	VPXORD  256(DI), Z26, Z20; \
	VPXORD  320(DI), Z26, Z21; \
	VPXORD  384(DI), Z26, Z22; \
	VPXORD  448(DI), Z26, Z23; \
	VMOVUPS 512(DI), Z24; \
	VMOVUPS 576(DI), Z25; \
	TERMS(0, Z27); \
	TERMS(1, Z28); \
	TERMS(2, Z30); \
	TERMS(3, Z31)

// GEMMKERNEL: a whole GEMM kernel func(w *byte, stride int, a *byte, nb
// int, out *[64]float32) over weight blocks of ws bytes unpacked by GETQ
// less bias, the scales gathered with the word indices idx (mask k2, second
// window at b2), the terms summed by TERMS.
#define GEMMKERNEL(GETQ, TERMS, ws, bias, idx, k2, b2, batch, blk, done) \
	ROWS4ARGS; \
	BROADCASTB($0x0f0f0f0f, Y13, X13); \
	BROADCASTB($0x10101010, Y12, X12); \
	BROADCASTB($(bias*0x01010101), Y7, X7); \
	BROADCASTB($(bias*4096), Y6, X6); \
	MOVL      $0x80808080, AX; \
	VPBROADCASTD AX, Z26; \
	VPXOR     Y11, Y11, Y11; \
	VMOVDQU32 idx, Z29; \
	MOVL      k2, AX; \
	KMOVD     AX, K2; \
	VPXORD    Z27, Z27, Z27; \
	VPXORD    Z28, Z28, Z28; \
	VPXORD    Z30, Z30, Z30; \
	VPXORD    Z31, Z31, Z31; \
	SHRQ      $3, CX; \
	JZ        done; \
batch: \
	GEMMPREP(GETQ, SI, 0, ws, b2); \
	GEMMPREP(GETQ, R9, 1, ws, b2); \
	GEMMPREP(GETQ, R10, 2, ws, b2); \
	GEMMPREP(GETQ, R11, 3, ws, b2); \
	XORQ      DX, DX; \
blk: \
	GEMMBLOCK(TERMS); \
	ADDQ      $640, DI; \
	ADDQ      $4, DX; \
	CMPQ      DX, $32; \
	JNE       blk; \
	LEAQ      (8*ws)(SI), SI; \
	LEAQ      (8*ws)(R9), R9; \
	LEAQ      (8*ws)(R10), R10; \
	LEAQ      (8*ws)(R11), R11; \
	DECQ      CX; \
	JNZ       batch; \
done: \
	MOVQ      out+32(FP), AX; \
	VMOVUPS   Z27, (AX); \
	VMOVUPS   Z28, 64(AX); \
	VMOVUPS   Z30, 128(AX); \
	VMOVUPS   Z31, 192(AX); \
	VZEROUPPER; \
	RET

// func gemmQ4_1VNNI(w *byte, stride int, a *byte, nb int, out *[64]float32)
// Rows w, w+stride, w+2·stride, w+3·stride against sixteen vectors laid out
// by gemmLayoutQ81; out[16r+i] = row r · vector i. nb: a multiple of 8.
TEXT ·gemmQ4_1VNNI(SB), 0, $1408-40
	GEMMKERNEL(Q41GETQ, GEMMMIN, 20, 0, q41Words<>(SB), $0x8080, 32, gq41batch, gq41blk, gq41done)

// func gemmQ5_0VNNI(w *byte, stride int, a *byte, nb int, out *[64]float32)
// As gemmQ4_1VNNI, for Q5_0 rows and vectors laid out by gemmLayoutQ8(0).
TEXT ·gemmQ5_0VNNI(SB), 0, $1408-40
	GEMMKERNEL(Q50GETQ, GEMMD, 22, 16, q50Words<>(SB), $0xcc0000c0, 48, gq50batch, gq50blk, gq50done)

// func gemmQ5_1VNNI(w *byte, stride int, a *byte, nb int, out *[64]float32)
// As gemmQ4_1VNNI, for Q5_1 rows.
TEXT ·gemmQ5_1VNNI(SB), 0, $1408-40
	GEMMKERNEL(Q51GETQ, GEMMMIN, 24, 0, q51Words<>(SB), $0xcc00c0c0, 64, gq51batch, gq51blk, gq51done)

// The row word indices for SCALEWORDS: the d of blocks 0-7 in words 0-7,
// m in 8-15 (Q4_1, Q5_1), and for Q5 qh in 16-31, qword p = qh of blocks p
// and p+4; from the window at +0 or, where K2 is set, the second window:
// Q4_1 at +32, Q5_0 at +48, Q5_1 at +64. (GLOBL zero-fills the words no
// DATA sets.)
DATA q41Words<>+0(SB)/8, $0x001e0014000a0000
DATA q41Words<>+8(SB)/8, $0x0036003c00320028
DATA q41Words<>+16(SB)/8, $0x001f0015000b0001
DATA q41Words<>+24(SB)/8, $0x0037003d00330029
GLOBL q41Words<>(SB), RODATA|NOPTR, $64
DATA q50Words<>+0(SB)/8, $0x00210016000b0000
DATA q50Words<>+8(SB)/8, $0x0035002a0037002c
DATA q50Words<>+32(SB)/8, $0x002e002d00020001
DATA q50Words<>+40(SB)/8, $0x00390038000d000c
DATA q50Words<>+48(SB)/8, $0x002c002b00180017
DATA q50Words<>+56(SB)/8, $0x0037003600230022
GLOBL q50Words<>(SB), RODATA|NOPTR, $64
DATA q51Words<>+0(SB)/8, $0x00240018000c0000
DATA q51Words<>+8(SB)/8, $0x00340028003c0030
DATA q51Words<>+16(SB)/8, $0x00250019000d0001
DATA q51Words<>+24(SB)/8, $0x00350029003d0031
DATA q51Words<>+32(SB)/8, $0x0033003200030002
DATA q51Words<>+40(SB)/8, $0x003f003e000f000e
DATA q51Words<>+48(SB)/8, $0x002b002a001b001a
DATA q51Words<>+56(SB)/8, $0x0037003600270026
GLOBL q51Words<>(SB), RODATA|NOPTR, $64

// The activation scale indices: d of blocks 0-7, then s (Q8_1), the
// second window (K3) at +128.
DATA q80Scales<>+0(SB)/8, $0x0033002200110000
DATA q80Scales<>+8(SB)/8, $0x0037002600150004
GLOBL q80Scales<>(SB), RODATA|NOPTR, $32
DATA q81Scales<>+0(SB)/8, $0x0036002400120000
DATA q81Scales<>+8(SB)/8, $0x003e002c001a0008
DATA q81Scales<>+16(SB)/8, $0x0037002500130001
DATA q81Scales<>+24(SB)/8, $0x003f002d001b0009
GLOBL q81Scales<>(SB), RODATA|NOPTR, $32

// fifthLo, fifthHi: VPMULTISHIFTQB shifts that put in bit 4 of byte i the
// qh bit of the element byte i holds in a pair's low (high) nibbles: from
// a qword qh_p | qh_p+4<<32, bits i and 32+i-16 (16+i and 32+i).
DATA fifthLo<>+0(SB)/8, $0x030201003f3e3d3c
DATA fifthLo<>+8(SB)/8, $0x0b0a090807060504
DATA fifthLo<>+16(SB)/8, $0x232221201f1e1d1c
DATA fifthLo<>+24(SB)/8, $0x2b2a292827262524
GLOBL fifthLo<>(SB), RODATA|NOPTR, $32
DATA fifthHi<>+0(SB)/8, $0x131211100f0e0d0c
DATA fifthHi<>+8(SB)/8, $0x1b1a191817161514
DATA fifthHi<>+16(SB)/8, $0x333231302f2e2d2c
DATA fifthHi<>+24(SB)/8, $0x3b3a393837363534
GLOBL fifthHi<>(SB), RODATA|NOPTR, $32

// rowOrder: VPERMI2PS indices over [row 0 | row 1] and [row 2 | row 3]:
// lanes 4b..4b+3 = the four rows' terms of block b, blocks 0-3 at +0 and
// 4-7 at +64.
DATA rowOrder<>+0(SB)/8, $0x0000000800000000
DATA rowOrder<>+8(SB)/8, $0x0000001800000010
DATA rowOrder<>+16(SB)/8, $0x0000000900000001
DATA rowOrder<>+24(SB)/8, $0x0000001900000011
DATA rowOrder<>+32(SB)/8, $0x0000000a00000002
DATA rowOrder<>+40(SB)/8, $0x0000001a00000012
DATA rowOrder<>+48(SB)/8, $0x0000000b00000003
DATA rowOrder<>+56(SB)/8, $0x0000001b00000013
DATA rowOrder<>+64(SB)/8, $0x0000000c00000004
DATA rowOrder<>+72(SB)/8, $0x0000001c00000014
DATA rowOrder<>+80(SB)/8, $0x0000000d00000005
DATA rowOrder<>+88(SB)/8, $0x0000001d00000015
DATA rowOrder<>+96(SB)/8, $0x0000000e00000006
DATA rowOrder<>+104(SB)/8, $0x0000001e00000016
DATA rowOrder<>+112(SB)/8, $0x0000000f00000007
DATA rowOrder<>+120(SB)/8, $0x0000001f00000017
GLOBL rowOrder<>(SB), RODATA|NOPTR, $128
