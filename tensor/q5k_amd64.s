//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// Q5_K kernels: the Q4_K kernels' plan (kquant_amd64.s, kquantvnni_amd64.s)
// with a fifth bit per quant. A block_q5_K is d, dmin (0-3), the 6-bit
// scales and mins (4-15), qh (16-47) and the nibbles (48-175); the quant of
// element 64g+l is its low nibble of byte 48+32g+l plus 16 if bit 2g of
// qh[l] is set, that of element 64g+32+l the high nibble plus 16 if bit
// 2g+1 is set. qh[l] sits beside nibble byte l, so the permutation that
// orders a nibble chunk's bytes orders qh alike, and a word shift that moves
// bit c to bit 4 of every byte, masked with 0x10, gives each quant its 16.
// The quants (0-31) are unsigned, as VPMADDUBSW and VPDPBUSD take them;
// every lane sum stays exact (at most 4·31·128 before scaling) and the float
// steps are dotK45's, in its order, so results equal dotQ5K bit for bit.

// q5PairPerm: within each 16 bytes, element i next to element i+8.
DATA q5PairPerm<>+0(SB)/8, $0x0b030a0209010800
DATA q5PairPerm<>+8(SB)/8, $0x0f070e060d050c04
DATA q5PairPerm<>+16(SB)/8, $0x0b030a0209010800
DATA q5PairPerm<>+24(SB)/8, $0x0f070e060d050c04
GLOBL q5PairPerm<>(SB), RODATA|NOPTR, $32

// q5LanePerm: VPERMB indices, dword l <- bytes l, l+8, l+16, l+24.
DATA q5LanePerm<>+0(SB)/8, $0x1911090118100800
DATA q5LanePerm<>+8(SB)/8, $0x1b130b031a120a02
DATA q5LanePerm<>+16(SB)/8, $0x1d150d051c140c04
DATA q5LanePerm<>+24(SB)/8, $0x1f170f071e160e06
GLOBL q5LanePerm<>(SB), RODATA|NOPTR, $32

// HSUMD: X's lane 0 = the sum of Y's eight dwords, as float32. Clobbers T.
#define HSUMD(Y, X, T) \
	VEXTRACTI128 $1, Y, T; \
	VPADDD       T, X, X; \
	VPSHUFD      $0x4e, X, T; \
	VPADDD       T, X, X; \
	VPSHUFD      $0xb1, X, T; \
	VPADDD       T, X, X; \
	VCVTDQ2PS    X, X

// MINPAIRS: Y7 = the mins in X8 (words, from Q4KSCALES) each doubled into a
// word pair, so that VPMADDWD against the bsums yields (bsums[2j] +
// bsums[2j+1])·min_j in dword j. Clobbers X8.
#define MINPAIRS \
	VPUNPCKLWD  X8, X8, X7; \
	VPUNPCKHWD  X8, X8, X8; \
	VINSERTI128 $1, X8, Y7, Y7

// K5FINISH: the float steps of one super-block of the row at R against the
// Q8_K block at DI, as dotK45: Ysums += d·(the int32 lane sums in Y9),
// Xsumf -= dmin·Σ_j (bsums[2j]+bsums[2j+1])·min_j (mins in X8). Clobbers
// X2-X5, Y7-Y9, AX.
#define K5FINISH(R, Ysums, Xsumf) \
	MINPAIRS; \
	VPMADDWD     260(DI), Y7, Y7; \
	HSUMD(Y7, X7, X8); \
	VMOVSS       0(DI), X2; \
	MOVL         0(R), AX; \
	VMOVD        AX, X5; \
	VCVTPH2PS    X5, X5; \
	VMULSS       X2, X5, X4; \
	VMOVSHDUP    X5, X3; \
	VMULSS       X2, X3, X3; \
	VMULSS       X7, X3, X3; \
	VSUBSS       X3, Xsumf, Xsumf; \
	VCVTDQ2PS    Y9, Y9; \
	VBROADCASTSS X4, Y4; \
	VMULPS       Y4, Y9, Y9; \
	VADDPS       Y9, Ysums, Ysums

// AVX2. As dotQ4KAVX2: bytes are shuffled so that VPMADDUBSW pairs
// elements i and i+8 (the same lane), and two chunks are interleaved word
// by word so that VPMADDWD applies both chunks' scales and pairs the same
// lane again; Y10 gathers lanes 0-3 (in both 128-bit halves), Y11 lanes
// 4-7.

// Q5KGROUP: chunks 2g and 2g+1 of the block at SI (qh shuffled in Y5, 0x10
// in every byte of Y6) against the Q8_K quants at DI+4+64g, weighted by
// their scales (word pair in dword g of Y9's halves). LOSH $lo and HISH
// $hi move bits 2g and 2g+1 of qh to bit 4.
#define Q5KGROUP(g, LOSH, lo, HISH, hi) \
	VMOVDQU    (48+32*g)(SI), Y0; \
	VPSHUFB    Y12, Y0, Y0; \
	VPSRLW     $4, Y0, Y1; \
	VPAND      Y13, Y0, Y0; \
	VPAND      Y13, Y1, Y1; \
	LOSH       $lo, Y5, Y2; \
	VPAND      Y6, Y2, Y2; \
	VPOR       Y2, Y0, Y0; \
	HISH       $hi, Y5, Y3; \
	VPAND      Y6, Y3, Y3; \
	VPOR       Y3, Y1, Y1; \
	KPAIR(Y0, Y1, (4+64*g)) \
	VPSHUFD    $(0x55*g), Y9, Y4; \
	KSCALE(Y4)

// func dotQ5KAVX2(w, a *byte, nb int) float32
TEXT ·dotQ5KAVX2(SB), NOSPLIT, $32-28
	MOVQ    w+0(FP), SI
	MOVQ    a+8(FP), DI
	MOVQ    nb+16(FP), CX
	VMOVDQU q5PairPerm<>(SB), Y12
	BROADCASTB($0x0f0f0f0f, Y13, X13)
	BROADCASTB($0x10101010, Y6, X6)
	VXORPS  Y15, Y15, Y15
	VXORPS  X14, X14, X14
	TESTQ   CX, CX
	JZ      q5kdone

q5kloop:
	// Scales as words s0..s7 in both halves of Y9; mins in X8.
	Q4KSCALES(SI, 0)
	VPACKUSDW Y5, Y5, Y9
	VPERMQ    $0x88, Y9, Y9
	VMOVDQU   16(SI), Y5
	VPSHUFB   Y12, Y5, Y5
	VPXOR     Y10, Y10, Y10
	VPXOR     Y11, Y11, Y11
	Q5KGROUP(0, VPSLLW, 4, VPSLLW, 3)
	Q5KGROUP(1, VPSLLW, 2, VPSLLW, 1)
	Q5KGROUP(2, VPSLLW, 0, VPSRLW, 1)
	Q5KGROUP(3, VPSRLW, 2, VPSRLW, 3)
	VPERM2I128 $0x20, Y11, Y10, Y9
	VPERM2I128 $0x31, Y11, Y10, Y0
	VPADDD     Y0, Y9, Y9
	K5FINISH(SI, Y15, X14)
	ADDQ       $176, SI
	ADDQ       $292, DI
	DECQ       CX
	JNZ        q5kloop

q5kdone:
	ADD8(Y15, X14)
	VZEROUPPER
	MOVSS X14, ret+24(FP)
	RET

// AVX-512 VNNI + VBMI. As the Q4_K kernels: VPERMB puts a chunk's elements
// l, l+8, l+16, l+24 into dword l, VPDPBUSD yields lane l's sum in dword l
// and VPDPWSSD applies the chunk's scale (word pair (s, 0)).

// Q5KCHUNKS: chunks 2g and 2g+1 of the block at R into Ylo and Yhi, as
// unsigned 5-bit quants in lane order: nibbles at 48+32g, and bits 2g and
// 2g+1 of qh (lane-ordered in Y31) moved to bit 4 by LOSH $lo and HISH $hi
// and merged under Y30 = 0x10 in every byte. Clobbers Y2.
#define Q5KCHUNKS(R, g, Ylo, Yhi, LOSH, lo, HISH, hi) \
	VPERMB     (48+32*g)(R), Y24, Ylo; \
	VPSRLW     $4, Ylo, Yhi; \
	VPANDD     Y25, Ylo, Ylo; \
	VPANDD     Y25, Yhi, Yhi; \
	LOSH       $lo, Y31, Y2; \
	VPTERNLOGD $0xf8, Y30, Y2, Ylo; \
	HISH       $hi, Y31, Y2; \
	VPTERNLOGD $0xf8, Y30, Y2, Yhi

// Q5KGROUP4: Y9 += the scaled lane sums of chunks 2g, 2g+1 of the row at R
// against the permuted activation chunks Ya, Yb (scales at 0(SP)).
#define Q5KGROUP4(R, g, Ya, Yb, LOSH, lo, HISH, hi) \
	Q5KCHUNKS(R, g, Y0, Y1, LOSH, lo, HISH, hi); \
	VPXOR         Y2, Y2, Y2; \
	VPXOR         Y3, Y3, Y3; \
	VPDPBUSD      Ya, Y0, Y2; \
	VPDPBUSD      Yb, Y1, Y3; \
	VPDPWSSD.BCST (8*g)(SP), Y2, Y9; \
	VPDPWSSD.BCST (4+8*g)(SP), Y3, Y9

// Q5KROW: one super-block of the row at R into Ysums and Xsumf.
#define Q5KROW(R, Ysums, Xsumf) \
	Q4KSCALES(R, 0); \
	VPERMB    16(R), Y24, Y31; \
	VPXOR     Y9, Y9, Y9; \
	Q5KGROUP4(R, 0, Y16, Y17, VPSLLW, 4, VPSLLW, 3); \
	Q5KGROUP4(R, 1, Y18, Y19, VPSLLW, 2, VPSLLW, 1); \
	Q5KGROUP4(R, 2, Y20, Y21, VPSLLW, 0, VPSRLW, 1); \
	Q5KGROUP4(R, 3, Y22, Y23, VPSRLW, 2, VPSRLW, 3); \
	K5FINISH(R, Ysums, Xsumf)

// func dotQ5Kx4VNNI(w *byte, stride int, a *byte, nb int, out *[4]float32)
// Rows w, w+stride, w+2·stride, w+3·stride of nb super-blocks.
TEXT ·dotQ5Kx4VNNI(SB), NOSPLIT, $32-40
	MOVQ      w+0(FP), SI
	MOVQ      stride+8(FP), BX
	MOVQ      a+16(FP), DI
	MOVQ      nb+24(FP), CX
	LEAQ      (SI)(BX*1), R9
	LEAQ      (SI)(BX*2), R10
	LEAQ      (R9)(BX*2), R11
	LEAQ      (BX*8), R8
	VMOVDQU32 q5LanePerm<>(SB), Y24
	BROADCASTB($0x0f0f0f0f, Y25, X25)
	BROADCASTB($0x10101010, Y30, X30)
	VPXORD    Y26, Y26, Y26
	VPXORD    Y27, Y27, Y27
	VPXORD    Y28, Y28, Y28
	VPXORD    Y29, Y29, Y29
	VXORPS    X12, X12, X12
	VXORPS    X13, X13, X13
	VXORPS    X14, X14, X14
	VXORPS    X15, X15, X15
	TESTQ     CX, CX
	JZ        q5kx4done

q5kx4loop:
	PREFETCH4(R8, 0)
	PREFETCH4(R8, 64)
	PREFETCH4(R8, 128)
	VPERMB (4+32*0)(DI), Y24, Y16
	VPERMB (4+32*1)(DI), Y24, Y17
	VPERMB (4+32*2)(DI), Y24, Y18
	VPERMB (4+32*3)(DI), Y24, Y19
	VPERMB (4+32*4)(DI), Y24, Y20
	VPERMB (4+32*5)(DI), Y24, Y21
	VPERMB (4+32*6)(DI), Y24, Y22
	VPERMB (4+32*7)(DI), Y24, Y23
	Q5KROW(SI, Y26, X12)
	Q5KROW(R9, Y27, X13)
	Q5KROW(R10, Y28, X14)
	Q5KROW(R11, Y29, X15)
	ADDQ $176, SI
	ADDQ $176, R9
	ADDQ $176, R10
	ADDQ $176, R11
	ADDQ $292, DI
	DECQ CX
	JNZ  q5kx4loop

q5kx4done:
	ADD8(Y26, X12)
	ADD8(Y27, X13)
	ADD8(Y28, X14)
	ADD8(Y29, X15)
	MOVQ   out+32(FP), AX
	VMOVSS X12, 0(AX)
	VMOVSS X13, 4(AX)
	VMOVSS X14, 8(AX)
	VMOVSS X15, 12(AX)
	VZEROUPPER
	RET

// GEMM, on the layout
// gemmLayoutQ5K: per super-block, each of the four rows is unpacked once
// into Y16-Y23 with its scales, then dotted against every vector's
// lane-ordered activations, which stay in L1 across the four rows.

// GEMMQ5KCHUNK: Yacc += scale j × lane sums of chunk j (weights Yw) against
// the vector at R10.
#define GEMMQ5KCHUNK(j, Yw, Yt, Yacc) \
	VPXORD        Yt, Yt, Yt; \
	VPDPBUSD      (32*j)(R10), Yw, Yt; \
	VPDPWSSD.BCST (4*j)(SP), Yt, Yacc

// func gemmQ5KVNNI(w *byte, stride int, a *byte, astride int, nv int, nb int, out *[4][16][16]float32)
// Rows w, w+stride, w+2·stride, w+3·stride (nb super-blocks) against nv
// (1-16) vectors laid out by gemmLayoutQ5K at a, a+astride, ...:
// out[r][i][0:8] += the lane sums d·acc of row r and vector i and
// out[r][i][8] -= its dmin terms, so that laneSum(out[r][i][8],
// out[r][i][0:8]) is dotQ5K's result.
//
// SI = the current row's super-block, DI = the vectors' super-block (R9 =
// astride apart), R10 = the current vector, R11 = its output (64 bytes per
// vector, 1024 per row), R8 = rows left, AX = vectors left, CX =
// super-blocks left; 32(SP) = row 0's super-block, 40(SP) = the current
// row's output.
TEXT ·gemmQ5KVNNI(SB), 0, $48-56
	MOVQ      w+0(FP), SI
	MOVQ      SI, 32(SP)
	MOVQ      a+16(FP), DI
	MOVQ      astride+24(FP), R9
	MOVQ      nb+40(FP), CX
	VMOVDQU32 q5LanePerm<>(SB), Y24
	BROADCASTB($0x0f0f0f0f, Y25, X25)
	BROADCASTB($0x10101010, Y30, X30)
	TESTQ     CX, CX
	JZ        gq5kdone

gq5ksb:
	MOVQ 32(SP), SI
	MOVQ out+48(FP), R11
	MOVQ R11, 40(SP)
	MOVQ $4, R8

gq5krow:
	// The row's scales at 0(SP), mins as word pairs in Y7, chunks in
	// Y16-Y23, d and dmin in X26, X27.
	Q4KSCALES(SI, 0)
	MINPAIRS
	VPERMB    16(SI), Y24, Y31
	Q5KCHUNKS(SI, 0, Y16, Y17, VPSLLW, 4, VPSLLW, 3)
	Q5KCHUNKS(SI, 1, Y18, Y19, VPSLLW, 2, VPSLLW, 1)
	Q5KCHUNKS(SI, 2, Y20, Y21, VPSLLW, 0, VPSRLW, 1)
	Q5KCHUNKS(SI, 3, Y22, Y23, VPSRLW, 2, VPSRLW, 3)
	MOVL      0(SI), BX
	VMOVD     BX, X5
	VCVTPH2PS X5, X26
	VMOVSHDUP X26, X27
	MOVQ      DI, R10
	MOVQ      40(SP), R11
	MOVQ      nv+32(FP), AX

gq5kvec:
	// As dotK45: d·acc lanes into 0(R11), dmin·sumi subtracted from
	// 32(R11); the vector's scale at 256(R10), its bsums at 288(R10).
	VPXOR        Y0, Y0, Y0
	VPXOR        Y1, Y1, Y1
	GEMMQ5KCHUNK(0, Y16, Y10, Y0)
	GEMMQ5KCHUNK(1, Y17, Y11, Y1)
	GEMMQ5KCHUNK(2, Y18, Y12, Y0)
	GEMMQ5KCHUNK(3, Y19, Y13, Y1)
	GEMMQ5KCHUNK(4, Y20, Y10, Y0)
	GEMMQ5KCHUNK(5, Y21, Y11, Y1)
	GEMMQ5KCHUNK(6, Y22, Y12, Y0)
	GEMMQ5KCHUNK(7, Y23, Y13, Y1)
	VPADDD       Y1, Y0, Y0
	VCVTDQ2PS    Y0, Y0
	VMOVSS       256(R10), X6
	VMULSS       X6, X26, X4
	VBROADCASTSS X4, Y4
	VMULPS       Y4, Y0, Y0
	VADDPS       0(R11), Y0, Y0
	VMOVUPS      Y0, 0(R11)
	VPMADDWD     288(R10), Y7, Y2
	HSUMD(Y2, X2, X3)
	VMULSS       X6, X27, X3
	VMULSS       X2, X3, X3
	VMOVSS       32(R11), X2
	VSUBSS       X3, X2, X2
	VMOVSS       X2, 32(R11)
	ADDQ         R9, R10
	ADDQ         $64, R11
	DECQ         AX
	JNZ          gq5kvec

	ADDQ $1024, 40(SP)
	ADDQ stride+8(FP), SI
	DECQ R8
	JNZ  gq5krow
	ADDQ $176, 32(SP)
	ADDQ $320, DI
	DECQ CX
	JNZ  gq5ksb

gq5kdone:
	VZEROUPPER
	RET
