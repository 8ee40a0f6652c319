//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// Narrow Q6_K GEMM: eight weight rows against up to sixteen Q8_K vectors
// per call, for batched decode. dotK16 sums scale_j·q8·(q-32) into eight
// int32 lanes (element mod 8). A 512-bit register holds one 32-element
// chunk c of two rows, A in its low half and B in its high one, each in
// lane order: dword l holds elements l, l+8 (group 2c) and l+16, l+24
// (group 2c+1) as the signed bytes q-32. The vectors are laid out (by
// layoutQ6KNarrowVNNI) as the unsigned bytes q8+128 in the same order, the
// chunk repeated in both halves, so one VPMADDUBSW takes a chunk of both
// rows: word 2l is group 2c's lane-l pair sum of (q-32)·(q8+128), word
// 2l+1 group 2c+1's (|word| ≤ 2·32·255). VPDPWSSD against the scale pair
// (s_2c, s_2c+1) adds both into dword l of its row's half. Over the eight
// chunks that is row A's and row B's lane sums side by side, plus 128 ×
// Σ scale·(q-32) per lane, which depends on the row alone: it is computed
// once per super-block (the same sums against q8 = 0) and subtracted from
// each vector's, exactly. A vector then costs sixteen multiplies per pair
// of rows and super-block, as in the four-row decode kernel, while the
// unpacking, the scales and the correction (sixteen multiplies more) are
// paid once for all the vectors of a call. The multiplies bound it: at
// one 512-bit multiply a cycle that is 8 cycles a row, super-block and
// vector. The float steps are dotK16's, in its order.

// q6nDup: VPERMB indices that put chunk 0 (first 64 bytes) or chunk 1
// (last 64) of 64 quants in lane order, in both halves of a register.
DATA q6nDup<>+0(SB)/8, $0x1911090118100800
DATA q6nDup<>+8(SB)/8, $0x1b130b031a120a02
DATA q6nDup<>+16(SB)/8, $0x1d150d051c140c04
DATA q6nDup<>+24(SB)/8, $0x1f170f071e160e06
DATA q6nDup<>+32(SB)/8, $0x1911090118100800
DATA q6nDup<>+40(SB)/8, $0x1b130b031a120a02
DATA q6nDup<>+48(SB)/8, $0x1d150d051c140c04
DATA q6nDup<>+56(SB)/8, $0x1f170f071e160e06
DATA q6nDup<>+64(SB)/8, $0x3931292138302820
DATA q6nDup<>+72(SB)/8, $0x3b332b233a322a22
DATA q6nDup<>+80(SB)/8, $0x3d352d253c342c24
DATA q6nDup<>+88(SB)/8, $0x3f372f273e362e26
DATA q6nDup<>+96(SB)/8, $0x3931292138302820
DATA q6nDup<>+104(SB)/8, $0x3b332b233a322a22
DATA q6nDup<>+112(SB)/8, $0x3d352d253c342c24
DATA q6nDup<>+120(SB)/8, $0x3f372f273e362e26
GLOBL q6nDup<>(SB), RODATA|NOPTR, $128

// q6nPair: the same two-source (VPERMI2B, VPERMT2B) indices taking the low
// half from row A's 64 quants and the high half from row B's.
DATA q6nPair<>+0(SB)/8, $0x1911090118100800
DATA q6nPair<>+8(SB)/8, $0x1b130b031a120a02
DATA q6nPair<>+16(SB)/8, $0x1d150d051c140c04
DATA q6nPair<>+24(SB)/8, $0x1f170f071e160e06
DATA q6nPair<>+32(SB)/8, $0x5951494158504840
DATA q6nPair<>+40(SB)/8, $0x5b534b435a524a42
DATA q6nPair<>+48(SB)/8, $0x5d554d455c544c44
DATA q6nPair<>+56(SB)/8, $0x5f574f475e564e46
DATA q6nPair<>+64(SB)/8, $0x3931292138302820
DATA q6nPair<>+72(SB)/8, $0x3b332b233a322a22
DATA q6nPair<>+80(SB)/8, $0x3d352d253c342c24
DATA q6nPair<>+88(SB)/8, $0x3f372f273e362e26
DATA q6nPair<>+96(SB)/8, $0x7971696178706860
DATA q6nPair<>+104(SB)/8, $0x7b736b637a726a62
DATA q6nPair<>+112(SB)/8, $0x7d756d657c746c64
DATA q6nPair<>+120(SB)/8, $0x7f776f677e766e66
GLOBL q6nPair<>(SB), RODATA|NOPTR, $128

// q6nSigned: VGF2P8AFFINEQB bit matrices (with the constant 0xe0) that turn
// two bits h of a qh byte into the top nibble of q-32, h-2 in four bits:
// bit 4 = h0, bits 5-7 = not h1. The first 32 bytes take bits 0-1, the
// last 32 bits 2-3; at +64 bits 4-5 and 6-7.
DATA q6nSigned<>+0(SB)/8, $0x0000000001020202
DATA q6nSigned<>+8(SB)/8, $0x0000000001020202
DATA q6nSigned<>+16(SB)/8, $0x0000000001020202
DATA q6nSigned<>+24(SB)/8, $0x0000000001020202
DATA q6nSigned<>+32(SB)/8, $0x0000000004080808
DATA q6nSigned<>+40(SB)/8, $0x0000000004080808
DATA q6nSigned<>+48(SB)/8, $0x0000000004080808
DATA q6nSigned<>+56(SB)/8, $0x0000000004080808
DATA q6nSigned<>+64(SB)/8, $0x0000000010202020
DATA q6nSigned<>+72(SB)/8, $0x0000000010202020
DATA q6nSigned<>+80(SB)/8, $0x0000000010202020
DATA q6nSigned<>+88(SB)/8, $0x0000000010202020
DATA q6nSigned<>+96(SB)/8, $0x0000000040808080
DATA q6nSigned<>+104(SB)/8, $0x0000000040808080
DATA q6nSigned<>+112(SB)/8, $0x0000000040808080
DATA q6nSigned<>+120(SB)/8, $0x0000000040808080
GLOBL q6nSigned<>(SB), RODATA|NOPTR, $128

// Q6NDUP: the 64 quants at o(SI) as chunks 2k and 2k+1 at d(DI) and
// d+64(DI), each biased by 128 (Z2) and repeated in both halves (indices
// Z0 and Z1).
#define Q6NDUP(o, d) \
	VPERMB    o(SI), Z0, Z3; \
	VPERMB    o(SI), Z1, Z4; \
	VPXORD    Z2, Z3, Z3; \
	VPXORD    Z2, Z4, Z4; \
	VMOVDQU64 Z3, d(DI); \
	VMOVDQU64 Z4, (d+64)(DI)

// func layoutQ6KNarrowVNNI(dst, y *byte, nb int)
// nb block_q8_K at y to 576-byte blocks at dst: chunk c at 64c as q8+128
// in lane order, twice; the scale d at 512.
TEXT ·layoutQ6KNarrowVNNI(SB), NOSPLIT, $0-24
	MOVQ      dst+0(FP), DI
	MOVQ      y+8(FP), SI
	MOVQ      nb+16(FP), CX
	VMOVDQU64 q6nDup<>+0(SB), Z0
	VMOVDQU64 q6nDup<>+64(SB), Z1
	BROADCASTB($0x80808080, Z2, X2)

q6nlayout:
	Q6NDUP(4, 0)
	Q6NDUP(68, 128)
	Q6NDUP(132, 256)
	Q6NDUP(196, 384)
	MOVL      0(SI), AX
	MOVL      AX, 512(DI)
	ADDQ      $292, SI
	ADDQ      $576, DI
	DECQ      CX
	JNZ       q6nlayout
	VZEROUPPER
	RET

// Q6NROW: the row at R as E registers of signed quants q-32 in element
// order, 64 to a register: E0 chunks 0-1, E1 2-3, E2 4-5, E3 6-7. Low
// nibbles of ql merged (VPTERNLOGD, mask Z24) with the top nibble made
// from qh by q6nSigned. Clobbers Z22, Z30, Z31.
#define Q6NROW(R, E0, E1, E2, E3) \
	VBROADCASTI64X4 128(R), Z30; \
	VBROADCASTI64X4 160(R), Z31; \
	VGF2P8AFFINEQB  $0xe0, q6nSigned<>+0(SB), Z30, E0; \
	VPTERNLOGD      $0xb8, 0(R), Z24, E0; \
	VPSRLW          $4, 0(R), Z22; \
	VGF2P8AFFINEQB  $0xe0, q6nSigned<>+64(SB), Z30, E1; \
	VPTERNLOGD      $0xb8, Z22, Z24, E1; \
	VGF2P8AFFINEQB  $0xe0, q6nSigned<>+0(SB), Z31, E2; \
	VPTERNLOGD      $0xb8, 64(R), Z24, E2; \
	VPSRLW          $4, 64(R), Z22; \
	VGF2P8AFFINEQB  $0xe0, q6nSigned<>+64(SB), Z31, E3; \
	VPTERNLOGD      $0xb8, Z22, Z24, E3

// Q6NPAIR: Hlo, Hhi = chunks 2k, 2k+1 of the pair from row A's Ea (which
// becomes Hhi) and row B's Eb; Z23 holds q6nPair+64.
#define Q6NPAIR(Ea, Eb, Hlo) \
	VMOVDQU64 q6nPair<>+0(SB), Hlo; \
	VPERMI2B  Eb, Ea, Hlo; \
	VPERMT2B  Eb, Z23, Ea

// Q6NCHUNK: ACC op= chunk c (quants H, scale pairs S) of the pair against
// the vector at R10, through Zt.
#define Q6NCHUNK(OP, c, H, S, Zt, ACC) \
	VMOVDQU64  (64*c)(R10), Zt; \
	VPMADDUBSW H, Zt, Zt; \
	OP         S, Zt, ACC

// Q6NCORR: ACC op= chunk c of the pair against q8 = 0 (Z29, 128 in every
// byte).
#define Q6NCORR(OP, H, S, Zt, ACC) \
	VPMADDUBSW H, Z29, Zt; \
	OP         S, Zt, ACC

// Q6NLANES: o(AX) = laneSum(0, the eight floats in Y0), as dotK16 ends.
#define Q6NLANES(o) \
	VXORPS X1, X1, X1; \
	ADD8(Y0, X1); \
	VMOVSS X1, o(AX)

// func gemmQ6KNarrowVNNI(w *byte, stride int, a *byte, nb int, nv int, dst *float32, dstride int)
// Rows w + i·stride (i < 8) of nb ≥ 1 super-blocks against nv (1-16)
// vectors laid out by layoutQ6KNarrowVNNI at a, nb·576 bytes apart:
// row i · vector v to dst + v·dstride + 4i.
//
// Super-block by super-block, pair of rows by pair: the pair is unpacked
// into Z0-Z7 (chunk c in Zc), its scale pairs into Z8-Z15 (chunk c's in
// Z8+c: row A's pair in the low eight dwords, row B's in the high ones),
// d of A and B into Z16 (eight times each), the rows' correction into Z17;
// then each vector adds d·(lane sums) into its float lanes for the pair,
// kept 64-byte aligned in the frame at R12 + 1024·pair + 64·vector (past
// ADD8's scratch at 0(SP)). The rows eight on (the next call's) are
// prefetched into L2 meanwhile. Registers: R13 row 0's super-block, SI
// row A's, R8 stride, DI the vectors' super-block, R9 nb·576, CX the
// super-blocks left, DX the pairs left, R10 and BX the vector and the
// vectors left, AX its float lanes, R11 the pair's; Z23 q6nPair+64, Z24
// 0x0f in every byte, Z29 0x80 in every byte.
TEXT ·gemmQ6KNarrowVNNI(SB), 0, $4192-56
	MOVQ      w+0(FP), R13
	MOVQ      stride+8(FP), R8
	MOVQ      a+16(FP), DI
	MOVQ      nb+24(FP), CX
	IMUL3Q    $576, CX, R9
	LEAQ      95(SP), R12
	ANDQ      $~63, R12
	VMOVDQU64 q6nPair<>+64(SB), Z23
	BROADCASTB($0x0f0f0f0f, Z24, X24)
	BROADCASTB($0x80808080, Z29, X29)

	// Zero the float lanes of the vectors in use.
	VPXORD Z0, Z0, Z0
	MOVQ   R12, R11
	MOVQ   $4, DX

q6nzpair:
	MOVQ nv+32(FP), BX
	MOVQ R11, R10

q6nzvec:
	VMOVDQA64 Z0, 0(R10)
	ADDQ      $64, R10
	DECQ      BX
	JNZ       q6nzvec
	ADDQ      $1024, R11
	DECQ      DX
	JNZ       q6nzpair

q6nsb:
	MOVQ R13, SI
	MOVQ R12, R11
	MOVQ $4, DX

q6npair:
	LEAQ (SI)(R8*1), AX
	Q6NROW(SI, Z1, Z3, Z5, Z7)
	Q6NROW(AX, Z18, Z19, Z20, Z21)
	Q6NPAIR(Z1, Z18, Z0)
	Q6NPAIR(Z3, Z19, Z2)
	Q6NPAIR(Z5, Z20, Z4)
	Q6NPAIR(Z7, Z21, Z6)

	// Scale pairs: Z30 = (A's pairs 0-3, 4-7, B's 0-3, 4-7) by 128-bit
	// lane, spread to (A 0-3, A 0-3, B 0-3, B 0-3) and the same for 4-7,
	// then each pair to its whole lane.
	VPMOVSXBW    192(SI), Y30
	VPMOVSXBW    192(AX), Y31
	VINSERTI64X4 $1, Y31, Z30, Z30
	VSHUFI64X2   $0xa0, Z30, Z30, Z31
	VSHUFI64X2   $0xf5, Z30, Z30, Z30
	VPSHUFD      $0x00, Z31, Z8
	VPSHUFD      $0x55, Z31, Z9
	VPSHUFD      $0xaa, Z31, Z10
	VPSHUFD      $0xff, Z31, Z11
	VPSHUFD      $0x00, Z30, Z12
	VPSHUFD      $0x55, Z30, Z13
	VPSHUFD      $0xaa, Z30, Z14
	VPSHUFD      $0xff, Z30, Z15

	VPBROADCASTW 208(SI), X30
	VPBROADCASTW 208(AX), X31
	VINSERTI32X4 $1, X31, Y30, Y30
	VCVTPH2PS    Y30, Z16

	// The next call's rows, eight on.
	LEAQ       (SI)(R8*8), BX
	PREFETCHT1 0(BX)
	PREFETCHT1 64(BX)
	PREFETCHT1 128(BX)
	PREFETCHT1 192(BX)
	ADDQ       R8, BX
	PREFETCHT1 0(BX)
	PREFETCHT1 64(BX)
	PREFETCHT1 128(BX)
	PREFETCHT1 192(BX)

	Q6NCORR(VPMADDWD, Z0, Z8, Z18, Z17)
	Q6NCORR(VPMADDWD, Z1, Z9, Z19, Z20)
	Q6NCORR(VPDPWSSD, Z2, Z10, Z18, Z17)
	Q6NCORR(VPDPWSSD, Z3, Z11, Z19, Z20)
	Q6NCORR(VPDPWSSD, Z4, Z12, Z18, Z17)
	Q6NCORR(VPDPWSSD, Z5, Z13, Z19, Z20)
	Q6NCORR(VPDPWSSD, Z6, Z14, Z18, Z17)
	Q6NCORR(VPDPWSSD, Z7, Z15, Z19, Z20)
	VPADDD Z20, Z17, Z17

	MOVQ DI, R10
	MOVQ nv+32(FP), BX
	MOVQ R11, AX

q6nvec:
	Q6NCHUNK(VPMADDWD, 0, Z0, Z8, Z18, Z20)
	Q6NCHUNK(VPMADDWD, 1, Z1, Z9, Z19, Z21)
	Q6NCHUNK(VPDPWSSD, 2, Z2, Z10, Z18, Z20)
	Q6NCHUNK(VPDPWSSD, 3, Z3, Z11, Z19, Z21)
	Q6NCHUNK(VPDPWSSD, 4, Z4, Z12, Z18, Z20)
	Q6NCHUNK(VPDPWSSD, 5, Z5, Z13, Z19, Z21)
	Q6NCHUNK(VPDPWSSD, 6, Z6, Z14, Z18, Z20)
	Q6NCHUNK(VPDPWSSD, 7, Z7, Z15, Z19, Z21)
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
	JNZ         q6nvec

	LEAQ (SI)(R8*2), SI
	ADDQ $1024, R11
	DECQ DX
	JNZ  q6npair
	ADDQ $210, R13
	ADDQ $576, DI
	DECQ CX
	JNZ  q6nsb

	// Each row's eight lanes added up from 0 in lane order, as laneSum.
	MOVQ dst+40(FP), DI
	MOVQ dstride+48(FP), R9
	MOVQ R12, R11
	MOVQ $4, DX

q6noutpair:
	MOVQ DI, AX
	MOVQ R11, R10
	MOVQ nv+32(FP), BX

q6noutvec:
	VMOVAPS       0(R10), Z0
	Q6NLANES(0)
	VEXTRACTF64X4 $1, Z0, Y0
	Q6NLANES(4)
	ADDQ $64, R10
	ADDQ R9, AX
	DECQ BX
	JNZ  q6noutvec
	ADDQ $8, DI
	ADDQ $1024, R11
	DECQ DX
	JNZ  q6noutpair
	VZEROUPPER
	RET
