//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// Narrow Q4_K GEMM: eight weight rows against up to sixteen Q8_K vectors
// per call, for batched decode, built as the narrow Q6_K GEMM is. A
// 512-bit register holds one 32-element chunk c of two rows, A in its low
// half and B in its high one, each in lane order (dword l holds elements
// l, l+8, l+16, l+24: dotK45's lane l) as the nibbles w. The vectors are
// laid out (by layoutQ4KNarrowVNNI) in the same order, each chunk repeated
// in both halves, so one VPDPBUSD takes a chunk of both rows: dword l
// gains lane l's Σ w·q8 (|sum| ≤ 4·15·128). Chunks 2k and 2k+1 share one
// register: the first's sums are shifted into the high words, then the
// second's added into the low ones, and one VPMADDWD or VPDPWSSD against
// the pair (s_2k+1, s_2k) of their scales adds both into acc: twelve
// multiplies per vector, pair of rows and super-block rather than sixteen.
// A negative low word would borrow from the high one, so the odd chunks
// are laid out as q8+128 (VPDPBUSD then takes them as the unsigned
// operand and the nibbles as the signed one): their sums, at most
// 4·255·15, are never negative. The bias's share, 128 × Σ s_2k+1·w per
// lane, depends on the rows alone: it is computed once per super-block
// and subtracted from each vector's acc, exactly. The mins term sumi of
// the eight rows is one ymm per vector: dword r sums, over the pairs of
// sub-blocks (2k, 2k+1), row r's mins (m_2k, m_2k+1) against the vector's
// (t_2k, t_2k+1), t_j = bs[2j] + bs[2j+1] (four VPDPWSSD). The float steps
// are dotK45's, in its order: d·yd times acc into each lane sum, dmin·yd
// times sumi off a running sumf, and at the end sumf plus the eight lanes.

// q4nPerm: VPERMB indices. At +0 the first 32 of 64 quants in lane order
// (dword l <- bytes l, l+8, l+16, l+24) in both halves, at +64 the last 32
// in both; at +32 each half's own 32 bytes in lane order.
DATA q4nPerm<>+0(SB)/8, $0x1911090118100800
DATA q4nPerm<>+8(SB)/8, $0x1b130b031a120a02
DATA q4nPerm<>+16(SB)/8, $0x1d150d051c140c04
DATA q4nPerm<>+24(SB)/8, $0x1f170f071e160e06
DATA q4nPerm<>+32(SB)/8, $0x1911090118100800
DATA q4nPerm<>+40(SB)/8, $0x1b130b031a120a02
DATA q4nPerm<>+48(SB)/8, $0x1d150d051c140c04
DATA q4nPerm<>+56(SB)/8, $0x1f170f071e160e06
DATA q4nPerm<>+64(SB)/8, $0x3931292138302820
DATA q4nPerm<>+72(SB)/8, $0x3b332b233a322a22
DATA q4nPerm<>+80(SB)/8, $0x3d352d253c342c24
DATA q4nPerm<>+88(SB)/8, $0x3f372f273e362e26
DATA q4nPerm<>+96(SB)/8, $0x3931292138302820
DATA q4nPerm<>+104(SB)/8, $0x3b332b233a322a22
DATA q4nPerm<>+112(SB)/8, $0x3d352d253c342c24
DATA q4nPerm<>+120(SB)/8, $0x3f372f273e362e26
GLOBL q4nPerm<>(SB), RODATA|NOPTR, $128

// q4nMinIdx: VPERMB indices taking, from the eight rows' mins (byte 8r+j),
// sub-blocks 0 and 1's mins of row r into bytes 4r and 4r+2; adding 2k
// takes sub-blocks 2k and 2k+1's.
DATA q4nMinIdx<>+0(SB)/8, $0x0009000800010000
DATA q4nMinIdx<>+8(SB)/8, $0x0019001800110010
DATA q4nMinIdx<>+16(SB)/8, $0x0029002800210020
DATA q4nMinIdx<>+24(SB)/8, $0x0039003800310030
GLOBL q4nMinIdx<>(SB), RODATA|NOPTR, $32

// Q4NDUP: the 64 quants at o(SI) as chunks 2k and 2k+1 at d(DI) and
// d+64(DI), each repeated in both halves (indices Z0 and Z1), the second
// biased by 128 (Z2).
#define Q4NDUP(o, d) \
	VPERMB    o(SI), Z0, Z3; \
	VPERMB    o(SI), Z1, Z4; \
	VPXORD    Z2, Z4, Z4; \
	VMOVDQU64 Z3, d(DI); \
	VMOVDQU64 Z4, (d+64)(DI)

// func layoutQ4KNarrowVNNI(dst, y *byte, nb int)
// nb block_q8_K at y to 576-byte blocks at dst: chunk c at 64c in lane
// order, twice, as q8 for even c and q8+128 for odd c; the scale d at 512;
// at 544 the eight sums of bsum pairs, bs[2j] + bs[2j+1], as int16 (at
// most 32·128 in size).
TEXT ·layoutQ4KNarrowVNNI(SB), NOSPLIT, $0-24
	MOVQ      dst+0(FP), DI
	MOVQ      y+8(FP), SI
	MOVQ      nb+16(FP), CX
	VMOVDQU64 q4nPerm<>+0(SB), Z0
	VMOVDQU64 q4nPerm<>+64(SB), Z1
	BROADCASTB($0x80808080, Z2, X2)
	BROADCASTB($0x00010001, Y6, X6)

q4nlayout:
	Q4NDUP(4, 0)
	Q4NDUP(68, 128)
	Q4NDUP(132, 256)
	Q4NDUP(196, 384)
	MOVL    0(SI), AX
	MOVL    AX, 512(DI)
	VPMADDWD 260(SI), Y6, Y5
	VPMOVDW  Y5, 544(DI)
	ADDQ    $292, SI
	ADDQ    $576, DI
	DECQ    CX
	JNZ     q4nlayout
	VZEROUPPER
	RET

// Q4NSM: the scales (T2) and mins (T1) of a super-block whose three scale
// dwords are M0, M1, M2, eight bytes each, as ggml's utmp shuffle (and
// Q4KSCALES) unpacks them. Clobbers T0, T3.
#define Q4NSM(M0, M1, M2, T0, T1, T2, T3) \
	MOVL M0, T0; \
	MOVL M2, T1; \
	MOVL T1, T2; \
	ANDL $0x0f0f0f0f, T2; \
	MOVL T0, T3; \
	SHRL $6, T3; \
	ANDL $0x03030303, T3; \
	SHLL $4, T3; \
	ORL  T3, T2; \
	SHLQ $32, T2; \
	ANDL $0x3f3f3f3f, T0; \
	ORQ  T0, T2; \
	MOVL M1, T0; \
	SHRL $4, T1; \
	ANDL $0x0f0f0f0f, T1; \
	MOVL T0, T3; \
	SHRL $6, T3; \
	ANDL $0x03030303, T3; \
	SHLL $4, T3; \
	ORL  T3, T1; \
	SHLQ $32, T1; \
	ANDL $0x3f3f3f3f, T0; \
	ORQ  T0, T1

// Q4NUNPACK: chunks 2g and 2g+1 of the pair (row A at SI, row B stride R8
// on) into Zlo and Zhi, through Z17; Z24 holds q4nPerm+32, Z25 0x0f in
// every byte.
#define Q4NUNPACK(g, Zlo, Zhi) \
	VMOVDQU64    (16+32*g)(SI), Y17; \
	VINSERTI64X4 $1, (16+32*g)(SI)(R8*1), Z17, Z17; \
	VPERMB       Z17, Z24, Z17; \
	VPSRLW       $4, Z17, Zhi; \
	VPANDD       Z25, Z17, Zlo; \
	VPANDD       Z25, Zhi, Zhi

// Q4NVEC: ACC op= chunks 2k and 2k+1 (nibbles Ha, Hb, scale pairs S) of
// the pair against the vector at R10, through Zt and Z19: one VPDPBUSD
// per chunk, the first's lane sums shifted into the high words of Zt, the
// second's (biased) added into the low ones, then both times their scales
// at once.
#define Q4NVEC(OP, k, Ha, Hb, S, Zt, ACC) \
	VPXORD    Zt, Zt, Zt; \
	VPDPBUSD  (128*k)(R10), Ha, Zt; \
	VMOVDQU64 (128*k+64)(R10), Z19; \
	VPSLLD    $16, Zt, Zt; \
	VPDPBUSD  Hb, Z19, Zt; \
	OP        S, Zt, ACC

// Q4NBIAS: Z17 op= the bias's share of chunk 2k+1 (nibbles Hb, scale
// pairs S) in the pair's lane sums, through Zt; Z29 holds 0x80 in every
// byte.
#define Q4NBIAS(OP, Hb, S, Zt) \
	VPXORD   Zt, Zt, Zt; \
	VPDPBUSD Hb, Z29, Zt; \
	OP       S, Zt, Z17

// Q4NMIN: Ym = sub-blocks 2k and 2k+1's mins (m_2k, m_2k+1) as words of
// the eight rows, dword r for row r, from their mins at Z30; Z28 holds the
// index for k (and goes on to k+1), Z27 2 in every byte, Z26 0x00ff00ff
// in every dword.
#define Q4NMIN(Zm, Ym) \
	VPERMB Z30, Z28, Zm; \
	VPANDD Y26, Ym, Ym; \
	VPADDB Y27, Y28, Y28

// Q4NLANES: o(AX) = laneSum(the float at s(SI), the eight floats in Y0),
// as dotK45 ends.
#define Q4NLANES(s, o) \
	VMOVSS s(SI), X1; \
	ADD8(Y0, X1); \
	VMOVSS X1, o(AX)

// func gemmQ4KNarrowVNNI(w *byte, stride int, a *byte, nb int, nv int, dst *float32, dstride int)
// Rows w + i·stride (i < 8) of nb ≥ 1 super-blocks against nv (1-16)
// vectors laid out by layoutQ4KNarrow at a, nb·576 bytes apart: row i ·
// vector v to dst + v·dstride + 4i.
//
// Super-block by super-block, pair of rows by pair: the pair is unpacked
// into Z0-Z7 (chunk c in Zc), its scale pairs into Z8-Z11 (chunks 2k and
// 2k+1's in Z8+k: row A's in the low eight dwords, row B's in the high
// ones), d of A and B into Z16 (eight times each), the bias's share into
// Z17, their mins and dmin to the frame; then each vector adds d·yd·acc
// into its float lanes for the pair, kept 64-byte aligned in the frame at
// R12 + 1024·pair + 64·vector (past ADD8's scratch at 0(SP)). After the
// four pairs the mins term: the eight rows' (m_2k, m_2k+1) into Y0-Y3,
// their dmin into Y9, and each vector's sumi scaled off its eight sumf at
// R12 + 4096 + 32·vector. The frame holds
// the rows' mins at R12 + 4608 (byte 8r+j) and dmin at R12 + 4672 (word
// r). The rows eight on (the next call's) are prefetched into L2
// meanwhile. Registers: R13 row 0's super-block, SI row A's, R8 stride,
// DI the vectors' super-block, R9 nb·576, CX the super-blocks left, R10
// and BX the vector and the vectors left, AX its float lanes, R11 the
// pair's; Z29 0x80 in every byte.
TEXT ·gemmQ4KNarrowVNNI(SB), 0, $4800-56
	MOVQ      w+0(FP), R13
	MOVQ      stride+8(FP), R8
	MOVQ      a+16(FP), DI
	MOVQ      nb+24(FP), CX
	IMUL3Q    $576, CX, R9
	LEAQ      95(SP), R12
	ANDQ      $~63, R12
	VMOVDQU64 q4nPerm<>+32(SB), Z24
	BROADCASTB($0x0f0f0f0f, Z25, X25)
	BROADCASTB($0x00ff00ff, Z26, X26)
	BROADCASTB($0x02020202, Z27, X27)
	BROADCASTB($0x80808080, Z29, X29)

	// Zero the float lanes and sumf of the vectors in use.
	VPXORD Z0, Z0, Z0
	MOVQ   R12, R11

q4nzpair:
	MOVQ nv+32(FP), BX
	MOVQ R11, R10

q4nzvec:
	VMOVDQA64 Z0, 0(R10)
	ADDQ      $64, R10
	DECQ      BX
	JNZ       q4nzvec
	ADDQ      $1024, R11
	LEAQ      4096(R12), BX
	CMPQ      R11, BX
	JNE       q4nzpair
	MOVQ      nv+32(FP), BX

q4nzsumf:
	VMOVDQA Y0, 0(R11)
	ADDQ    $32, R11
	DECQ    BX
	JNZ     q4nzsumf

q4nsb:
	MOVQ R13, SI
	MOVQ R12, R11

q4npair:
	Q4NSM(4(SI), 8(SI), 12(SI), AX, BX, DX, R10)
	VMOVQ DX, X0
	VMOVQ BX, X1
	Q4NSM(4(SI)(R8*1), 8(SI)(R8*1), 12(SI)(R8*1), AX, BX, DX, R10)
	VPINSRQ $1, DX, X0, X0
	VPINSRQ $1, BX, X1, X1

	// The pair's mins to byte 16·pair, dmin to word 2·pair.
	MOVQ    R11, BX
	SUBQ    R12, BX
	SHRQ    $6, BX
	VMOVDQU X1, 4608(R12)(BX*1)
	SHRQ    $2, BX
	MOVWLZX 2(SI), AX
	MOVW    AX, 4672(R12)(BX*1)
	MOVWLZX 2(SI)(R8*1), AX
	MOVW    AX, 4674(R12)(BX*1)

	// Scale pairs: from A's eight scales and B's in X0, Y30 = (A's, B's)
	// by 128-bit lane as (s_2k+1, s_2k) words, spread to (A, A, B, B),
	// then each pair k to its whole lane.
	VPMOVZXBW  X0, Y30
	VPROLD     $16, Y30, Y30
	VSHUFI64X2 $0x50, Z30, Z30, Z30
	VPSHUFD    $0x00, Z30, Z8
	VPSHUFD    $0x55, Z30, Z9
	VPSHUFD    $0xaa, Z30, Z10
	VPSHUFD    $0xff, Z30, Z11

	VPBROADCASTW 0(SI), X30
	VPBROADCASTW 0(SI)(R8*1), X31
	VINSERTI32X4 $1, X31, Y30, Y30
	VCVTPH2PS    Y30, Z16

	Q4NUNPACK(0, Z0, Z1)
	Q4NUNPACK(1, Z2, Z3)
	Q4NUNPACK(2, Z4, Z5)
	Q4NUNPACK(3, Z6, Z7)

	// The next call's rows, eight on.
	LEAQ       (SI)(R8*8), BX
	PREFETCHT1 0(BX)
	PREFETCHT1 64(BX)
	PREFETCHT1 128(BX)
	ADDQ       R8, BX
	PREFETCHT1 0(BX)
	PREFETCHT1 64(BX)
	PREFETCHT1 128(BX)

	// The bias's share of the pair's lane sums, 128 × Σ s_2k+1·w.
	Q4NBIAS(VPMADDWD, Z1, Z8, Z12)
	Q4NBIAS(VPDPWSSD, Z3, Z9, Z13)
	Q4NBIAS(VPDPWSSD, Z5, Z10, Z14)
	Q4NBIAS(VPDPWSSD, Z7, Z11, Z15)

	MOVQ DI, R10
	MOVQ nv+32(FP), BX
	MOVQ R11, AX

q4nvec:
	Q4NVEC(VPMADDWD, 0, Z0, Z1, Z8, Z12, Z20)
	Q4NVEC(VPMADDWD, 1, Z2, Z3, Z9, Z13, Z21)
	Q4NVEC(VPDPWSSD, 2, Z4, Z5, Z10, Z14, Z20)
	Q4NVEC(VPDPWSSD, 3, Z6, Z7, Z11, Z15, Z21)
	VPADDD      Z21, Z20, Z20
	VPSUBD      Z17, Z20, Z20
	VCVTDQ2PS   Z20, Z20
	VMULPS.BCST 512(R10), Z16, Z22
	VMULPS      Z22, Z20, Z20
	VADDPS      0(AX), Z20, Z20
	VMOVAPS     Z20, 0(AX)
	ADDQ        R9, R10
	ADDQ        $64, AX
	DECQ        BX
	JNZ         q4nvec

	LEAQ (SI)(R8*2), SI
	ADDQ $1024, R11
	LEAQ 4096(R12), BX
	CMPQ R11, BX
	JNE  q4npair

	// The mins term of the eight rows.
	VMOVDQU64 4608(R12), Z30
	VMOVDQU64 q4nMinIdx<>(SB), Y28
	Q4NMIN(Z0, Y0)
	Q4NMIN(Z1, Y1)
	Q4NMIN(Z2, Y2)
	Q4NMIN(Z3, Y3)
	VCVTPH2PS 4672(R12), Y9
	MOVQ      DI, R10
	MOVQ      nv+32(FP), BX

q4nmins:
	VPBROADCASTD  544(R10), Y10
	VPBROADCASTD  548(R10), Y11
	VPMADDWD      Y10, Y0, Y12
	VPMADDWD      Y11, Y1, Y13
	VPDPWSSD.BCST 552(R10), Y2, Y12
	VPDPWSSD.BCST 556(R10), Y3, Y13
	VPADDD        Y13, Y12, Y12
	VCVTDQ2PS     Y12, Y12
	VMULPS.BCST   512(R10), Y9, Y13
	VMULPS        Y13, Y12, Y12
	VMOVAPS       0(R11), Y13
	VSUBPS        Y12, Y13, Y13
	VMOVAPS       Y13, 0(R11)
	ADDQ          R9, R10
	ADDQ          $32, R11
	DECQ          BX
	JNZ           q4nmins

	ADDQ $144, R13
	ADDQ $576, DI
	DECQ CX
	JNZ  q4nsb

	// Each row's sumf plus its eight lanes in lane order, as laneSum.
	MOVQ dst+40(FP), DI
	MOVQ dstride+48(FP), R9
	MOVQ R12, R11
	LEAQ 4096(R12), R13

q4noutpair:
	MOVQ DI, AX
	MOVQ R11, R10
	MOVQ R13, SI
	MOVQ nv+32(FP), BX

q4noutvec:
	VMOVAPS       0(R10), Z0
	Q4NLANES(0, 0)
	VEXTRACTF64X4 $1, Z0, Y0
	Q4NLANES(4, 4)
	ADDQ $64, R10
	ADDQ $32, SI
	ADDQ R9, AX
	DECQ BX
	JNZ  q4noutvec
	ADDQ $8, R13
	ADDQ $8, DI
	ADDQ $1024, R11
	LEAQ 4096(R12), BX
	CMPQ R11, BX
	JNE  q4noutpair
	VZEROUPPER
	RET
