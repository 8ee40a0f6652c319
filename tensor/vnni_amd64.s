//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// AVX-512 VNNI kernels over four weight rows at once (256-bit vectors, EVEX
// encoded: the upper sixteen registers hold the activations shared by the
// four rows). Each activation block is loaded once per four rows, and the
// rows' float sums are four independent chains.
//
// VPDPBUSD multiplies unsigned by signed bytes, so the weights are biased
// into unsigned range (Q8_0: w+128, by flipping the sign bit; Q4_0: the raw
// nibble, w+8) and the bias times the activation block's sum, computed once
// for all four rows, is subtracted again. Every block's integer sum is
// therefore exact, and the float steps are the pure-Go kernel's, in its
// order (per row, block after block), so results are bit-identical.

// SUM4: X28 (lane r: row r's running sum) += the terms of the four rows in
// Y10-Y13 (lane b: block b), block after block. Transposed so that one
// packed add serves four rows, each lane still adding in block order.
// Clobbers Y10-Y15.
#define SUM4 \
	VUNPCKLPS    Y11, Y10, Y14; \
	VUNPCKHPS    Y11, Y10, Y15; \
	VUNPCKLPS    Y13, Y12, Y10; \
	VUNPCKHPS    Y13, Y12, Y11; \
	VUNPCKLPD    Y10, Y14, Y12; \
	VUNPCKHPD    Y10, Y14, Y13; \
	VUNPCKLPD    Y11, Y15, Y10; \
	VUNPCKHPD    Y11, Y15, Y11; \
	VADDPS       X12, X28, X28; \
	VADDPS       X13, X28, X28; \
	VADDPS       X10, X28, X28; \
	VADDPS       X11, X28, X28; \
	VEXTRACTF128 $1, Y12, X12; \
	VEXTRACTF128 $1, Y13, X13; \
	VEXTRACTF128 $1, Y10, X10; \
	VEXTRACTF128 $1, Y11, X11; \
	VADDPS       X12, X28, X28; \
	VADDPS       X13, X28, X28; \
	VADDPS       X10, X28, X28; \
	VADDPS       X11, X28, X28

// GATHER4: the low four words of Z = the f16 words at R+o, R+o+s, R+o+2s,
// R+o+3s (s = 34 or 18; Z29 holds the word indices), through a two-table
// word permute of the 128 bytes at R+o.
#define GATHER4(R, o, Z) \
	VMOVDQU64 o(R), Z; \
	VPERMT2W  (o+64)(R), Z29, Z

// TREE8: from Y0-Y7 (eight blocks, eight dword partials each), Y0 = the
// eight block sums, block 0 in lane 0. Clobbers Y1-Y7.
#define TREE8 \
	VPHADDD    Y1, Y0, Y0; \
	VPHADDD    Y3, Y2, Y2; \
	VPHADDD    Y2, Y0, Y0; \
	VPHADDD    Y5, Y4, Y4; \
	VPHADDD    Y7, Y6, Y6; \
	VPHADDD    Y6, Y4, Y4; \
	VPERM2I128 $0x20, Y4, Y0, Y1; \
	VPERM2I128 $0x31, Y4, Y0, Y2; \
	VPADDD     Y2, Y1, Y0

// LOAD8: V0-V7 = the vectors at o, o+s, ..., o+7s past DI.
#define LOAD8(V0, V1, V2, V3, V4, V5, V6, V7, o, s) \
	VMOVDQU32 (o)(DI), V0; \
	VMOVDQU32 (o+s)(DI), V1; \
	VMOVDQU32 (o+2*s)(DI), V2; \
	VMOVDQU32 (o+3*s)(DI), V3; \
	VMOVDQU32 (o+4*s)(DI), V4; \
	VMOVDQU32 (o+5*s)(DI), V5; \
	VMOVDQU32 (o+6*s)(DI), V6; \
	VMOVDQU32 (o+7*s)(DI), V7

// Q80ACT: Y16-Y23 = the eight activation blocks' quants at DI; Y24 = 128 ×
// each block's quant sum (the bias correction), block 0 in lane 0.
#define Q80ACT \
	LOAD8(Y16, Y17, Y18, Y19, Y20, Y21, Y22, Y23, 2, 34); \
	VPXOR     Y0, Y0, Y0; \
	VPXOR     Y1, Y1, Y1; \
	VPXOR     Y2, Y2, Y2; \
	VPXOR     Y3, Y3, Y3; \
	VPXOR     Y4, Y4, Y4; \
	VPXOR     Y5, Y5, Y5; \
	VPXOR     Y6, Y6, Y6; \
	VPXOR     Y7, Y7, Y7; \
	VPDPBUSD  Y16, Y26, Y0; \
	VPDPBUSD  Y17, Y26, Y1; \
	VPDPBUSD  Y18, Y26, Y2; \
	VPDPBUSD  Y19, Y26, Y3; \
	VPDPBUSD  Y20, Y26, Y4; \
	VPDPBUSD  Y21, Y26, Y5; \
	VPDPBUSD  Y22, Y26, Y6; \
	VPDPBUSD  Y23, Y26, Y7; \
	TREE8; \
	VMOVDQA32 Y0, Y24

// Q80BLK: Yacc = dword partials of weight block b at R (sign bit flipped,
// so w+128) against activation block Yact.
#define Q80BLK(R, b, Yact, Yacc) \
	VPXORD   (34*b+2)(R), Y26, Y8; \
	VPXOR    Yacc, Yacc, Yacc; \
	VPDPBUSD Yact, Y8, Yacc

// Q80ROW: T = the eight block terms of the Q8_0 row at R, float steps as
// q8_0Blocks: float32(sumi) * (dx*dy).
#define Q80ROW(R, T) \
	Q80BLK(R, 0, Y16, Y0); \
	Q80BLK(R, 1, Y17, Y1); \
	Q80BLK(R, 2, Y18, Y2); \
	Q80BLK(R, 3, Y19, Y3); \
	Q80BLK(R, 4, Y20, Y4); \
	Q80BLK(R, 5, Y21, Y5); \
	Q80BLK(R, 6, Y22, Y6); \
	Q80BLK(R, 7, Y23, Y7); \
	TREE8; \
	VPSUBD       Y24, Y0, Y0; \
	VCVTDQ2PS    Y0, Y0; \
	GATHER4(R, 0, Z9); \
	GATHER4(R, 136, Z8); \
	VPUNPCKLQDQ  X8, X9, X9; \
	VCVTPH2PS    X9, Y9; \
	VMULPS       (R8), Y9, Y9; \
	VMULPS       Y9, Y0, T

// ROWPTRS4: SI, R9, R10, R11 = rows w, w+stride, w+2·stride, w+3·stride;
// DI = a.
#define ROWPTRS4 \
	MOVQ w+0(FP), SI; \
	MOVQ stride+8(FP), BX; \
	MOVQ a+16(FP), DI; \
	LEAQ (SI)(BX*1), R9; \
	LEAQ (SI)(BX*2), R10; \
	LEAQ (R9)(BX*2), R11

// The four-row kernels' common frame: SI, R9, R10, R11 = the four rows, DI
// = activations, R8 = activation scales (float32), CX = batches of eight
// blocks; X28 = the rows' running sums, lane r for row r.
#define ROWS4PROLOGUE \
	MOVQ   ad+24(FP), R8; \
	MOVQ   nb+32(FP), CX; \
	ROWPTRS4; \
	LEAQ   (BX*8), R13; \
	VXORPS X28, X28, X28; \
	SHRQ   $3, CX

#define ROWS4EPILOGUE \
	MOVQ    out+40(FP), AX; \
	VMOVUPS X28, 0(AX); \
	VZEROUPPER; \
	RET

// The GEMM frame: SI, R9, R10, R11 = the four rows, DI = the laid-out
// activations, CX = batches of eight blocks, Z12-Z15 = the rows' sums
// (lane i: vector i).
#define GEMMPROLOGUE \
	MOVQ   nb+24(FP), CX; \
	ROWPTRS4; \
	VXORPS Y12, Y12, Y12; \
	VXORPS Y13, Y13, Y13; \
	VXORPS Y14, Y14, Y14; \
	VXORPS Y15, Y15, Y15; \
	SHRQ   $3, CX

#define GEMMEPILOGUE \
	MOVQ    out+32(FP), AX; \
	VMOVUPS Z12, 0(AX); \
	VMOVUPS Z13, 64(AX); \
	VMOVUPS Z14, 128(AX); \
	VMOVUPS Z15, 192(AX); \
	VZEROUPPER; \
	RET

// func dotQ8_0x4VNNI(w *byte, stride int, a *byte, ad *float32, nb int, out *[4]float32)
// Rows w, w+stride, w+2·stride, w+3·stride; nb: a multiple of 8 blocks.
TEXT ·dotQ8_0x4VNNI(SB), NOSPLIT, $0-48
	ROWS4PROLOGUE
	JZ  q80x4done
	BROADCASTB($0x80808080, Y26, X26)
	VMOVDQU32 scaleIdx<>+0(SB), X29

q80x4loop:
	PREFETCH4(R13, 0)
	PREFETCH4(R13, 64)
	PREFETCH4(R13, 128)
	PREFETCH4(R13, 192)
	PREFETCH4(R13, 256)
	Q80ACT
	Q80ROW(SI, Y10)
	Q80ROW(R9, Y11)
	Q80ROW(R10, Y12)
	Q80ROW(R11, Y13)
	SUM4
	ADDQ $272, SI
	ADDQ $272, R9
	ADDQ $272, R10
	ADDQ $272, R11
	ADDQ $272, DI
	ADDQ $32, R8
	DECQ CX
	JNZ  q80x4loop

q80x4done:
	ROWS4EPILOGUE

// Q4_0 pairs blocks 2p and 2p+1 in the two 128-bit halves: Y16-Y19 hold the
// pairs' activation quants 0-15, Y20-Y23 quants 16-31, which meet the low
// and high nibbles of the weights' 16 bytes.

// Q40ACTPAIR: activation halves of blocks 2p and 2p+1 into Ylo and Yhi.
#define Q40ACTPAIR(p, Ylo, Xlo, Yhi, Xhi) \
	VMOVDQU32    (68*p+2)(DI), Xlo; \
	VINSERTI32X4 $1, (68*p+36)(DI), Ylo, Ylo; \
	VMOVDQU32    (68*p+18)(DI), Xhi; \
	VINSERTI32X4 $1, (68*p+52)(DI), Yhi, Yhi

// Q40TREE: from Y0-Y3 (block pairs, four dword partials per block), Y0 =
// the eight block sums, block 0 in lane 0. Clobbers Y1-Y3.
#define Q40TREE \
	VPHADDD Y1, Y0, Y0; \
	VPHADDD Y3, Y2, Y2; \
	VPHADDD Y2, Y0, Y0; \
	VPERMD  Y0, Y27, Y0

// Q40ACT loads the activations and sets Y24 = 8 × each block's quant sum.
#define Q40ACT \
	Q40ACTPAIR(0, Y16, X16, Y20, X20); \
	Q40ACTPAIR(1, Y17, X17, Y21, X21); \
	Q40ACTPAIR(2, Y18, X18, Y22, X22); \
	Q40ACTPAIR(3, Y19, X19, Y23, X23); \
	VPXOR    Y0, Y0, Y0; \
	VPXOR    Y1, Y1, Y1; \
	VPXOR    Y2, Y2, Y2; \
	VPXOR    Y3, Y3, Y3; \
	VPDPBUSD Y16, Y26, Y0; \
	VPDPBUSD Y20, Y26, Y0; \
	VPDPBUSD Y17, Y26, Y1; \
	VPDPBUSD Y21, Y26, Y1; \
	VPDPBUSD Y18, Y26, Y2; \
	VPDPBUSD Y22, Y26, Y2; \
	VPDPBUSD Y19, Y26, Y3; \
	VPDPBUSD Y23, Y26, Y3; \
	Q40TREE; \
	VMOVDQA32 Y0, Y24

// Q40PAIR: Yacc = dword partials of weight blocks 2p, 2p+1 at R.
#define Q40PAIR(R, p, Ylo, Yhi, Yacc) \
	VMOVDQU     (36*p+2)(R), X8; \
	VINSERTI128 $1, (36*p+20)(R), Y8, Y8; \
	VPSRLW      $4, Y8, Y9; \
	VPANDD      Y25, Y8, Y8; \
	VPANDD      Y25, Y9, Y9; \
	VPXOR       Yacc, Yacc, Yacc; \
	VPDPBUSD    Ylo, Y8, Yacc; \
	VPDPBUSD    Yhi, Y9, Yacc

// Q40ROW: T = the eight block terms of the Q4_0 row at R, float steps as
// q4_0Blocks: float32(sumi) * dx * dy.
#define Q40ROW(R, T) \
	Q40PAIR(R, 0, Y16, Y20, Y0); \
	Q40PAIR(R, 1, Y17, Y21, Y1); \
	Q40PAIR(R, 2, Y18, Y22, Y2); \
	Q40PAIR(R, 3, Y19, Y23, Y3); \
	Q40TREE; \
	VPSUBD    Y24, Y0, Y0; \
	VCVTDQ2PS Y0, Y0; \
	GATHER4(R, 0, Z9); \
	VCVTPH2PS X9, Y9; \
	VMULPS    Y9, Y0, Y0; \
	VMULPS    (R8), Y0, T

// scaleIdx: VPERMT2W word indices of the f16 block scales within 128 bytes
// of weights: four Q8_0 blocks (bytes 0, 34, 68, 102) at +0, eight Q4_0
// blocks (bytes 0, 18, ..., 126) at +16. Loaded as 16 bytes, which zeroes
// the rest of the index register.
DATA scaleIdx<>+0(SB)/8, $0x0033002200110000
DATA scaleIdx<>+8(SB)/8, $0
DATA scaleIdx<>+16(SB)/8, $0x001b001200090000
DATA scaleIdx<>+24(SB)/8, $0x003f0036002d0024
GLOBL scaleIdx<>(SB), RODATA|NOPTR, $32

// q40Perm: VPERMD indices from the tree's (0,2,4,6 | 1,3,5,7) to block order.
DATA q40Perm<>+0(SB)/8, $0x0000000400000000
DATA q40Perm<>+8(SB)/8, $0x0000000500000001
DATA q40Perm<>+16(SB)/8, $0x0000000600000002
DATA q40Perm<>+24(SB)/8, $0x0000000700000003
GLOBL q40Perm<>(SB), RODATA|NOPTR, $32

// func dotQ4_0x4VNNI(w *byte, stride int, a *byte, ad *float32, nb int, out *[4]float32)
// Rows w, w+stride, w+2·stride, w+3·stride; nb: a multiple of 8 blocks.
TEXT ·dotQ4_0x4VNNI(SB), NOSPLIT, $0-48
	ROWS4PROLOGUE
	JZ  q40x4done
	BROADCASTB($0x0f0f0f0f, Y25, X25)
	BROADCASTB($0x08080808, Y26, X26)
	VMOVDQU32 q40Perm<>(SB), Y27
	VMOVDQU32 scaleIdx<>+16(SB), X29

q40x4loop:
	PREFETCH4(R13, 0)
	PREFETCH4(R13, 64)
	PREFETCH4(R13, 128)
	Q40ACT
	Q40ROW(SI, Y10)
	Q40ROW(R9, Y11)
	Q40ROW(R10, Y12)
	Q40ROW(R11, Y13)
	SUM4
	ADDQ $144, SI
	ADDQ $144, R9
	ADDQ $144, R10
	ADDQ $144, R11
	ADDQ $272, DI
	ADDQ $32, R8
	DECQ CX
	JNZ  q40x4loop

q40x4done:
	ROWS4EPILOGUE

// GEMM kernels: four weight rows against sixteen activation vectors per
// call, for MatMul with several vectors (prompt prefill, batched decode).
// The activations come re-laid out by gemmLayoutQ8 so that the lanes of a
// 512-bit register are the sixteen vectors: for block b, 640 bytes of
//
//	k = 0..7: 64 bytes, dword i = quants 4k..4k+3 of vector i
//	512: the vectors' scales as float32
//	576: the vectors' bias corrections, -bias × Σ quants, as int32
//
// so that eight VPDPBUSDs, each against one weight dword broadcast to all
// lanes, leave block b's exact integer sum for vector i in lane i: no
// horizontal reduction, and no transposition of the float sums, which add
// lane by lane in block order as the Go kernels do. Each batch of eight
// weight blocks is unpacked once per call onto the stack as unsigned bytes
// (Q8_0: w+128; Q4_0: the raw nibble, w+8; the bias sits in the
// correction) with its scales as float32, and is then shared by the sixteen
// vectors. 512-bit registers halve the instructions per product; at sixteen
// vectors this ran 1.3× faster than eight-lane 256-bit code.

// GEMMPREP8: BLK(R, r, b) for the batch's eight blocks b.
#define GEMMPREP8(BLK, R, r) \
	BLK(R, r, 0); \
	BLK(R, r, 1); \
	BLK(R, r, 2); \
	BLK(R, r, 3); \
	BLK(R, r, 4); \
	BLK(R, r, 5); \
	BLK(R, r, 6); \
	BLK(R, r, 7)

// GEMMPREPQ80: row R's weight blocks 0-7 as bytes w+128 at 256r(SP), its
// scales as float32 at 1024+32r(SP). Clobbers Y8, Y9.
#define GEMMPREPQ80BLK(R, r, b) \
	VPXORD  (34*b+2)(R), Y26, Y8; \
	VMOVDQU Y8, (256*r+32*b)(SP)

#define GEMMPREPQ80(R, r) \
	PREFETCHT0 272(R); \
	PREFETCHT0 336(R); \
	PREFETCHT0 400(R); \
	PREFETCHT0 464(R); \
	PREFETCHT0 528(R); \
	GEMMPREP8(GEMMPREPQ80BLK, R, r); \
	GATHER4(R, 0, Z9); \
	GATHER4(R, 136, Z8); \
	VPUNPCKLQDQ X8, X9, X9; \
	VCVTPH2PS   X9, Y9; \
	VMOVUPS     Y9, (1024+32*r)(SP)

// GEMMPREPQ40: the same for a Q4_0 row: the nibbles in element order.
#define GEMMPREPQ40BLK(R, r, b) \
	VMOVDQU (18*b+2)(R), X8; \
	VPSRLW  $4, X8, X9; \
	VPANDD  X26, X8, X8; \
	VPANDD  X26, X9, X9; \
	VMOVDQU X8, (256*r+32*b)(SP); \
	VMOVDQU X9, (256*r+32*b+16)(SP)

#define GEMMPREPQ40(R, r) \
	PREFETCHT0 144(R); \
	PREFETCHT0 208(R); \
	PREFETCHT0 272(R); \
	GEMMPREP8(GEMMPREPQ40BLK, R, r); \
	GATHER4(R, 0, Z9); \
	VCVTPH2PS X9, Y9; \
	VMOVUPS   Y9, (1024+32*r)(SP)

// GEMMDOT: Z0 = the exact integer sums of block b (DX = 4b) of row r
// against the sixteen vectors' activations in Z16-Z23, converted to float32;
// Ydx = row r's scale for block b in every lane. Four accumulators keep the
// VPDPBUSD chains short enough for their latency to overlap.
#define GEMMDOT(r, Ydx) \
	VMOVDQA32    Z25, Z0; \
	VPXORD       Z1, Z1, Z1; \
	VPXORD       Z2, Z2, Z2; \
	VPXORD       Z3, Z3, Z3; \
	VPBROADCASTD (256*r+0)(SP)(DX*8), Z4; \
	VPBROADCASTD (256*r+4)(SP)(DX*8), Z5; \
	VPBROADCASTD (256*r+8)(SP)(DX*8), Z6; \
	VPBROADCASTD (256*r+12)(SP)(DX*8), Z7; \
	VPBROADCASTD (256*r+16)(SP)(DX*8), Z8; \
	VPBROADCASTD (256*r+20)(SP)(DX*8), Z9; \
	VPBROADCASTD (256*r+24)(SP)(DX*8), Z10; \
	VPBROADCASTD (256*r+28)(SP)(DX*8), Z11; \
	VPDPBUSD     Z16, Z4, Z0; \
	VPDPBUSD     Z17, Z5, Z1; \
	VPDPBUSD     Z18, Z6, Z2; \
	VPDPBUSD     Z19, Z7, Z3; \
	VPDPBUSD     Z20, Z8, Z0; \
	VPDPBUSD     Z21, Z9, Z1; \
	VPDPBUSD     Z22, Z10, Z2; \
	VPDPBUSD     Z23, Z11, Z3; \
	VPADDD       Z1, Z0, Z0; \
	VPADDD       Z3, Z2, Z2; \
	VPADDD       Z2, Z0, Z0; \
	VCVTDQ2PS    Z0, Z0; \
	VBROADCASTSS (1024+32*r)(SP)(DX*1), Ydx

// GEMMQ80: Ysum += float32(sumi) * (dx*dy), as q8_0Blocks.
#define GEMMQ80(r, Ysum) \
	GEMMDOT(r, Z27); \
	VMULPS Z24, Z27, Z27; \
	VMULPS Z27, Z0, Z0; \
	VADDPS Z0, Ysum, Ysum

// GEMMQ40: Ysum += float32(sumi) * dx * dy, as q4_0Blocks.
#define GEMMQ40(r, Ysum) \
	GEMMDOT(r, Z27); \
	VMULPS Z27, Z0, Z0; \
	VMULPS Z24, Z0, Z0; \
	VADDPS Z0, Ysum, Ysum

// GEMMACT: the sixteen vectors' block at DI: quants in Z16-Z23, scales in
// Z24, corrections in Z25.
#define GEMMACT \
	LOAD8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, 0, 64); \
	VMOVUPS   512(DI), Z24; \
	VMOVDQU32 576(DI), Z25

// GEMMLOOP: the batches of eight blocks, each prepared by PREP (weight
// blocks of wsize bytes) and summed by SUM; batch and blk name the loops.
#define GEMMLOOP(PREP, SUM, wsize, batch, blk) \
batch: \
	PREP(SI, 0); \
	PREP(R9, 1); \
	PREP(R10, 2); \
	PREP(R11, 3); \
	XORQ DX, DX; \
blk: \
	GEMMACT; \
	SUM(0, Z12); \
	SUM(1, Z13); \
	SUM(2, Z14); \
	SUM(3, Z15); \
	ADDQ $640, DI; \
	ADDQ $4, DX; \
	CMPQ DX, $32; \
	JNE  blk; \
	ADDQ $(8*wsize), SI; \
	ADDQ $(8*wsize), R9; \
	ADDQ $(8*wsize), R10; \
	ADDQ $(8*wsize), R11; \
	DECQ CX; \
	JNZ  batch

// GEMMBODY: a whole GEMM kernel over weight blocks of wsize bytes, with
// Y26 = mask in every dword and the scale gather indices at scaleIdx+idx.
#define GEMMBODY(mask, idx, PREP, SUM, wsize, batch, blk, done) \
	GEMMPROLOGUE; \
	JZ done; \
	BROADCASTB(mask, Y26, X26); \
	VMOVDQU32 scaleIdx<>+idx(SB), X29; \
	GEMMLOOP(PREP, SUM, wsize, batch, blk); \
done: \
	GEMMEPILOGUE

// func gemmQ8_0VNNI(w *byte, stride int, a *byte, nb int, out *[64]float32)
// Rows w, w+stride, w+2·stride, w+3·stride against sixteen vectors laid out
// by gemmLayoutQ8; out[16r+i] = row r · vector i. nb: a multiple of 8 blocks.
TEXT ·gemmQ8_0VNNI(SB), 0, $1152-40
	GEMMBODY($0x80808080, 0, GEMMPREPQ80, GEMMQ80, 34, gq80batch, gq80blk, gq80done)

// func gemmQ4_0VNNI(w *byte, stride int, a *byte, nb int, out *[64]float32)
// As gemmQ8_0VNNI, for Q4_0 rows.
TEXT ·gemmQ4_0VNNI(SB), 0, $1152-40
	GEMMBODY($0x0f0f0f0f, 16, GEMMPREPQ40, GEMMQ40, 18, gq40batch, gq40blk, gq40done)
