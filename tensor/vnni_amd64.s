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

// Q80ACT: Y16-Y23 = the eight activation blocks' quants at DI; Y24 = 128 ×
// each block's quant sum (the bias correction), block 0 in lane 0.
#define Q80ACT \
	VMOVDQU32 2(DI), Y16; \
	VMOVDQU32 36(DI), Y17; \
	VMOVDQU32 70(DI), Y18; \
	VMOVDQU32 104(DI), Y19; \
	VMOVDQU32 138(DI), Y20; \
	VMOVDQU32 172(DI), Y21; \
	VMOVDQU32 206(DI), Y22; \
	VMOVDQU32 240(DI), Y23; \
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

// The four-row kernels' common frame: SI, R9, R10, R11 = the four rows, DI
// = activations, R8 = activation scales (float32), CX = batches of eight
// blocks; X28 = the rows' running sums, lane r for row r.
#define ROWS4PROLOGUE \
	MOVQ   w+0(FP), SI; \
	MOVQ   stride+8(FP), BX; \
	MOVQ   a+16(FP), DI; \
	MOVQ   ad+24(FP), R8; \
	MOVQ   nb+32(FP), CX; \
	LEAQ   (SI)(BX*1), R9; \
	LEAQ   (SI)(BX*2), R10; \
	LEAQ   (R9)(BX*2), R11; \
	LEAQ   (BX*8), R13; \
	VXORPS X28, X28, X28; \
	SHRQ   $3, CX

#define ROWS4EPILOGUE \
	MOVQ    out+40(FP), AX; \
	VMOVUPS X28, 0(AX); \
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

