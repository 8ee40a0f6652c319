//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// Narrow GEMM kernels: eight Q8_0 or Q4_0 weight rows against up to eight
// activation vectors per call, for MatMul with a handful of vectors (the
// server's batched decode).
//
// A 512-bit register holds two weight rows side by side: dword lane l
// belongs to row l%2 of a pair. The weights are taken as unsigned bytes
// (Q8_0: w+128; Q4_0: the raw nibble, w+8), the dwords of the pair's two
// rows interleaved, so that each step gives g dwords of both rows to every
// lane group. The activations come laid out by q8Lanes{16, 2, g}: vector v
// takes lanes 2(gv+j)+ρ (j < g, both rows ρ), which hold its quants
// 4(gs+j)..4(gs+j)+3 at step s, so that one VPDPBUSD per step adds 4g
// products of both rows and every vector at once, and 8/g steps cover a
// block: eight vectors (g = 1), four (g = 2) or two (g = 4) per call, the
// wider steps keeping the lanes busy when the vectors are few. The
// weights' bias is cancelled by a per-vector correction set at layout
// time, so each block's integer sum is exact; for g > 1 the g partial sums
// of each vector and row are added across the four pairs at once, packing
// the eight rows densely (Z8BLOCK2, Z8BLOCK4). The float steps are
// q8_0Blocks' and q4_0Blocks', lane by lane in block order, so every output
// equals the pure-Go kernel's bit for bit.
//
// For g = 1 and 2, each batch of eight blocks is first unpacked onto the
// stack, interleaved, once per call, and each step is one broadcast load
// of 8g bytes (VPBROADCASTQ, VBROADCASTI32X4). Two rows per register halve
// those loads per product against one row per 256-bit register, which the
// load ports otherwise bound; eight rows per block step share each
// activation load four ways. For g = 4 the two steps of a block are built
// in registers straight from the weights (Z8UNITS*), which costs less than
// storing them and loading them back as 32-byte broadcasts.
//
// Registers: SI, R9, R10, R11 = rows 0-3 (rows 4-7 at R8 = 4·stride
// further, the next call's rows 8-15 at R13 = 8·stride), each at the
// current block, DI = the activations, CX = batches
// of eight blocks, DX = 8 × the block within its batch; Z16-Z23 the
// block's activation steps, Z24 the vectors' scales, Z25 their
// corrections, Z26-Z29 the running sums; Z0-Z7 the pairs' integer sums,
// Z8-Z15 the weight steps. Stack buffer (R12): pair p's unpacked batch at
// 512p, block b at +64b, rows interleaved (g = 1, 2); the batch's scales
// as float32 at 2048, block b's eight rows at +32b.

// Z8PROLOGUE sets up the frame above, with the running sums zero.
#define Z8PROLOGUE \
	ROWS4ARGS; \
	LEAQ   (BX*8), R13; \
	LEAQ   (BX*4), R8; \
	VPXORD Z26, Z26, Z26; \
	VPXORD Z27, Z27, Z27; \
	VPXORD Z28, Z28, Z28; \
	VPXORD Z29, Z29, Z29; \
	SHRQ   $3, CX

// Z8PAIRS: M(Ra, Rb, p) for the four pairs of rows.
#define Z8PAIRS(M) \
	M((SI), (R9), 0); \
	M((R10), (R11), 1); \
	M((SI)(R8*1), (R9)(R8*1), 2); \
	M((R10)(R8*1), (R11)(R8*1), 3)

// Z8BLOCKS: M(Ra, Rb, p, b) for the batch's eight blocks.
#define Z8BLOCKS(M, Ra, Rb, p) \
	M(Ra, Rb, p, 0); \
	M(Ra, Rb, p, 1); \
	M(Ra, Rb, p, 2); \
	M(Ra, Rb, p, 3); \
	M(Ra, Rb, p, 4); \
	M(Ra, Rb, p, 5); \
	M(Ra, Rb, p, 6); \
	M(Ra, Rb, p, 7)

// Z8SCALESQ80: Ydst = the eight f16 scales of the Q8_0 batch at R, as
// float32 (two windows of four, 34 bytes apart). Clobbers Z8, Z9.
#define Z8SCALESQ80(R, Ydst) \
	VMOVDQU64   R, Z8; \
	VPERMT2W    64 R, Z31, Z8; \
	VMOVDQU64   136 R, Z9; \
	VPERMT2W    200 R, Z31, Z9; \
	VPUNPCKLQDQ X9, X8, X8; \
	VCVTPH2PS   X8, Ydst

// Z8SCALESQ40: the same for a Q4_0 batch (one window of eight, 18 bytes
// apart).
#define Z8SCALESQ40(R, Ydst) \
	VMOVDQU64 R, Z8; \
	VPERMT2W  64 R, Z31, Z8; \
	VCVTPH2PS X8, Ydst

// Z8PERM2: O0 and O1 = two VPERMI2Q permutes of the tables A and B (A
// the first), by the indices at idx+0 and idx+64. Clobbers Z14, Z15.
#define Z8PERM2(idx, A, B, O0, O1) \
	VMOVDQU64 idx+0(SB), Z14; \
	VMOVDQU64 idx+64(SB), Z15; \
	VMOVDQA64 Z14, O0; \
	VPERMI2Q  B, A, O0; \
	VMOVDQA64 Z15, O1; \
	VPERMI2Q  B, A, O1

// Z8SCALES: the batch's scales as float32 at 2048(R12), block b's eight
// rows in order at +32b: each row's eight, transposed through pairs of
// rows (Z10-Z13, Z16 = interleave) and quads (Z18-Z21, qwordIdx) into two
// blocks per store (Z22-Z25, blockIdx). Clobbers Z8-Z15, Z17-Z25.
#define Z8SCALES(SCALES) \
	SCALES((SI), Y10); \
	SCALES((R9), Y18); \
	SCALES((R10), Y11); \
	SCALES((R11), Y19); \
	SCALES((SI)(R8*1), Y12); \
	SCALES((R9)(R8*1), Y20); \
	SCALES((R10)(R8*1), Y13); \
	SCALES((R11)(R8*1), Y21); \
	VPERMT2D  Z18, Z16, Z10; \
	VPERMT2D  Z19, Z16, Z11; \
	VPERMT2D  Z20, Z16, Z12; \
	VPERMT2D  Z21, Z16, Z13; \
	Z8PERM2(qwordIdx<>, Z10, Z11, Z18, Z19); \
	Z8PERM2(qwordIdx<>, Z12, Z13, Z20, Z21); \
	Z8PERM2(blockIdx<>, Z18, Z20, Z22, Z23); \
	Z8PERM2(blockIdx<>, Z19, Z21, Z24, Z25); \
	VMOVDQU32 Z22, 2048(R12); \
	VMOVDQU32 Z23, 2112(R12); \
	VMOVDQU32 Z24, 2176(R12); \
	VMOVDQU32 Z25, 2240(R12)

// Z8Q80BLK: block b of the pair's rows as bytes w+128, dwords interleaved.
#define Z8Q80BLK(Ra, Rb, p, b) \
	VPXORD    (34*b+2) Ra, Y30, Y8; \
	VPXORD    (34*b+2) Rb, Y30, Y9; \
	VPERMT2D  Z9, Z16, Z8; \
	VMOVDQU32 Z8, (512*p+64*b)(R12)

// Z8Q40BLK: block b of the pair's Q4_0 rows: their sixteen bytes, dwords
// interleaved (Y17 = nibIdx), low nibbles (elements 0-15) then high
// nibbles (elements 16-31).
#define Z8Q40BLK(Ra, Rb, p, b) \
	VMOVDQU  (18*b+2) Ra, X8; \
	VMOVDQU  (18*b+2) Rb, X9; \
	VPERMT2D Y9, Y17, Y8; \
	VPSRLW   $4, Y8, Y9; \
	VPANDD   Y30, Y8, Y8; \
	VPANDD   Y30, Y9, Y9; \
	VMOVDQU  Y8, (512*p+64*b)(R12); \
	VMOVDQU  Y9, (512*p+64*b+32)(R12)

// Z8PREPQ80, Z8PREPQ40: the batch's eight rows onto the stack buffer at
// R12: their scales (all that g = 4 takes, Z8SCALESONLY*), then their
// blocks. Z16 = the interleaving indices (kept by Z8SCALES), Y17 Q4_0's.
#define Z8SCALESONLYQ80 \
	VMOVDQU32 interleave<>(SB), Z16; \
	Z8SCALES(Z8SCALESQ80)

#define Z8SCALESONLYQ40 \
	VMOVDQU32 interleave<>(SB), Z16; \
	Z8SCALES(Z8SCALESQ40)

#define Z8Q80PAIR(Ra, Rb, p) Z8BLOCKS(Z8Q80BLK, Ra, Rb, p)
#define Z8Q40PAIR(Ra, Rb, p) Z8BLOCKS(Z8Q40BLK, Ra, Rb, p)

#define Z8PREPQ80 \
	Z8SCALESONLYQ80; \
	Z8PAIRS(Z8Q80PAIR)

#define Z8PREPQ40 \
	Z8SCALESONLYQ40; \
	VMOVDQU32 nibIdx<>(SB), Y17; \
	Z8PAIRS(Z8Q40PAIR)

// Z8ACTg: the block's activations at DI for g lanes per vector and row:
// 8/g steps of 64 bytes (Z8LOAD4: four of them from o), then the scales
// and the corrections (Z8TAIL, from o).
#define Z8LOAD4(o, Q0, Q1, Q2, Q3) \
	VMOVDQU32 o(DI), Q0; \
	VMOVDQU32 (o+64)(DI), Q1; \
	VMOVDQU32 (o+128)(DI), Q2; \
	VMOVDQU32 (o+192)(DI), Q3

#define Z8TAIL(o) \
	VMOVUPS   o(DI), Z24; \
	VMOVDQU32 (o+64)(DI), Z25

#define Z8ACT1 \
	Z8LOAD4(0, Z16, Z17, Z18, Z19); \
	Z8LOAD4(256, Z20, Z21, Z22, Z23); \
	Z8TAIL(512)

#define Z8ACT2 \
	Z8LOAD4(0, Z16, Z17, Z18, Z19); \
	Z8TAIL(256)

#define Z8ACT4 \
	VMOVDQU32 0(DI), Z16; \
	VMOVDQU32 64(DI), Z17; \
	Z8TAIL(128)

// Z8STEP4: one step of block DX/8 for g = 1, 2, all four pairs at once:
// pair p's unit of 8g bytes at 512p+o in the stack buffer, broadcast by
// BCAST into W0-W3, against the vectors' quants in Q, into pair p's sums
// Z0, Z2, Z4, Z6 (lane 2(gv+j)+ρ, started from the corrections by
// Z8CORR4). The pairs' steps alternate, so that four independent chains
// hide the VPDPBUSD latency without a second chain per pair to add up
// (Z8STEPS4: four steps at o, o+u, o+2u, o+3u).
#define Z8STEP4(BCAST, o, Q, W0, W1, W2, W3) \
	BCAST    (o)(R12)(DX*8), W0; \
	VPDPBUSD Q, W0, Z0; \
	BCAST    (512+o)(R12)(DX*8), W1; \
	VPDPBUSD Q, W1, Z2; \
	BCAST    (1024+o)(R12)(DX*8), W2; \
	VPDPBUSD Q, W2, Z4; \
	BCAST    (1536+o)(R12)(DX*8), W3; \
	VPDPBUSD Q, W3, Z6

#define Z8CORR4 \
	VMOVDQA32 Z25, Z0; \
	VMOVDQA32 Z25, Z2; \
	VMOVDQA32 Z25, Z4; \
	VMOVDQA32 Z25, Z6

#define Z8STEPS4(BCAST, o, u, Q0, Q1, Q2, Q3) \
	Z8STEP4(BCAST, o, Q0, Z8, Z9, Z10, Z11); \
	Z8STEP4(BCAST, o+u, Q1, Z12, Z13, Z14, Z15); \
	Z8STEP4(BCAST, o+2*u, Q2, Z8, Z9, Z10, Z11); \
	Z8STEP4(BCAST, o+3*u, Q3, Z12, Z13, Z14, Z15)

// Z8UNITSQ80, Z8UNITSQ40: g = 4's two steps of the block at Ra, Rb (a pair
// of rows) straight from the weights, in registers: Z8 = dwords 0-3 of both
// rows, interleaved, in both 256-bit halves; Z9 = dwords 4-7. Q8_0's bytes
// are flipped to w+128; Q4_0's sixteen bytes, interleaved and doubled, are
// split into low nibbles (dwords 0-3) and high (4-7). Clobbers Z11.
#define Z8UNITSQ80(Ra, Rb) \
	VPXORD    2 Ra, Y30, Y9; \
	VPXORD    2 Rb, Y30, Y11; \
	VMOVDQA64 Z9, Z8; \
	VPERMT2D  Z11, Z27, Z8; \
	VPERMT2D  Z11, Z28, Z9

#define Z8UNITSQ40(Ra, Rb) \
	VMOVDQU  2 Ra, X8; \
	VMOVDQU  2 Rb, X11; \
	VPERMT2D Z11, Z27, Z8; \
	VPSRLW   $4, Z8, Z9; \
	VPANDD   Z30, Z8, Z8; \
	VPANDD   Z30, Z9, Z9

// Z8DOT4: A = the exact integer sums of block DX/8 of the pair at Ra, Rb
// against the vectors (g = 4: lane 2(4v+j)+ρ), from the corrections.
// Clobbers Z8, Z9, Z11.
#define Z8DOT4(UNITS, Ra, Rb, A) \
	UNITS(Ra, Rb); \
	VMOVDQA32 Z25, A; \
	VPDPBUSD  Z16, Z8, A; \
	VPDPBUSD  Z17, Z9, A

// Z8Q80: S += float32(A) * (dx*dy), as q8_0Blocks, with the rows' scales
// dx loaded by BCAST from the block's at off. Clobbers B.
#define Z8Q80(BCAST, off, A, B, S) \
	VCVTDQ2PS A, A; \
	BCAST     off(R12)(DX*4), B; \
	VMULPS    Z24, B, B; \
	VMULPS    B, A, A; \
	VADDPS    A, S, S

// Z8Q40: S += float32(A) * dx * dy, as q4_0Blocks.
#define Z8Q40(BCAST, off, A, B, S) \
	VCVTDQ2PS A, A; \
	BCAST     off(R12)(DX*4), B; \
	VMULPS    B, A, A; \
	VMULPS    Z24, A, A; \
	VADDPS    A, S, S

// Z8BLOCKg: block DX/8 against the vectors, all four pairs. With g = 1
// every lane is a row and vector of its own, and each pair's sums add into
// Z26-Z29 (lane 2v+ρ: row 2p+ρ, vector v). With g = 2 and 4 a vector's g
// lanes are first added up across the pairs, packing the eight rows'
// sums densely before the float steps, which then take two registers
// (Z26: rows 0-3, Z27: rows 4-7, at lane 4v+r) and one (Z26: rows 0-7 at
// lane 8v+r).
#define Z8BLOCK1(SUM) \
	Z8CORR4; \
	Z8STEPS4(VPBROADCASTQ, 0, 8, Z16, Z17, Z18, Z19); \
	Z8STEPS4(VPBROADCASTQ, 32, 8, Z20, Z21, Z22, Z23); \
	SUM(VPBROADCASTQ, 2048, Z0, Z1, Z26); \
	SUM(VPBROADCASTQ, 2056, Z2, Z3, Z27); \
	SUM(VPBROADCASTQ, 2064, Z4, Z5, Z28); \
	SUM(VPBROADCASTQ, 2072, Z6, Z7, Z29)

#define Z8BLOCK2(SUM) \
	Z8CORR4; \
	Z8STEPS4(VBROADCASTI32X4, 0, 16, Z16, Z17, Z18, Z19); \
	VPUNPCKLQDQ Z2, Z0, Z12; \
	VPUNPCKHQDQ Z2, Z0, Z13; \
	VPADDD      Z13, Z12, Z0; \
	VPUNPCKLQDQ Z6, Z4, Z14; \
	VPUNPCKHQDQ Z6, Z4, Z15; \
	VPADDD      Z15, Z14, Z4; \
	SUM(VBROADCASTF32X4, 2048, Z0, Z1, Z26); \
	SUM(VBROADCASTF32X4, 2064, Z4, Z5, Z27)

#define Z8BLOCK4(UNITS, SUM) \
	Z8DOT4(UNITS, (SI), (R9), Z0); \
	Z8DOT4(UNITS, (R10), (R11), Z1); \
	Z8DOT4(UNITS, (SI)(R8*1), (R9)(R8*1), Z2); \
	Z8DOT4(UNITS, (R10)(R8*1), (R11)(R8*1), Z3); \
	VPUNPCKLQDQ Z1, Z0, Z12; \
	VPUNPCKHQDQ Z1, Z0, Z14; \
	VPADDD      Z14, Z12, Z12; \
	VPUNPCKLQDQ Z3, Z2, Z13; \
	VPUNPCKHQDQ Z3, Z2, Z15; \
	VPADDD      Z15, Z13, Z13; \
	VMOVDQA64   Z20, Z0; \
	VPERMI2Q    Z13, Z12, Z0; \
	VMOVDQA64   Z21, Z1; \
	VPERMI2Q    Z13, Z12, Z1; \
	VPADDD      Z1, Z0, Z0; \
	SUM(VBROADCASTF64X4, 2048, Z0, Z1, Z26)

#define Z8BLOCK4Q80(SUM) Z8BLOCK4(Z8UNITSQ80, SUM)
#define Z8BLOCK4Q40(SUM) Z8BLOCK4(Z8UNITSQ40, SUM)

// Z8NEXT: on to the next vector's outputs, or out when all nv are stored.
#define Z8NEXT(out) \
	DECQ CX; \
	JZ   out; \
	ADDQ BX, AX

// Z8STOREg writes the eight row sums of vectors v < nv to dst +
// v·dstride, each as eight consecutive floats. Z8STORE1 first gathers
// them, qword v of the four pairs' sums: Z4 holds vectors 0 and 2, Z5 1
// and 3, Z6 4 and 6, Z7 5 and 7.
#define Z8OUTARGS \
	MOVQ dst+32(FP), AX; \
	MOVQ dstride+40(FP), BX; \
	MOVQ nv+48(FP), CX

#define Z8STORE1(out) \
	Z8OUTARGS; \
	VPUNPCKLQDQ   Z27, Z26, Z0; \
	VPUNPCKHQDQ   Z27, Z26, Z1; \
	VPUNPCKLQDQ   Z29, Z28, Z2; \
	VPUNPCKHQDQ   Z29, Z28, Z3; \
	VSHUFI64X2    $0x44, Z2, Z0, Z4; \
	VSHUFI64X2    $0x44, Z3, Z1, Z5; \
	VSHUFI64X2    $0xee, Z2, Z0, Z6; \
	VSHUFI64X2    $0xee, Z3, Z1, Z7; \
	VSHUFI64X2    $0xd8, Z4, Z4, Z4; \
	VSHUFI64X2    $0xd8, Z5, Z5, Z5; \
	VSHUFI64X2    $0xd8, Z6, Z6, Z6; \
	VSHUFI64X2    $0xd8, Z7, Z7, Z7; \
	VMOVUPS       Y4, (AX); \
	Z8NEXT(out); \
	VMOVUPS       Y5, (AX); \
	Z8NEXT(out); \
	VEXTRACTF64X4 $1, Z4, (AX); \
	Z8NEXT(out); \
	VEXTRACTF64X4 $1, Z5, (AX); \
	Z8NEXT(out); \
	VMOVUPS       Y6, (AX); \
	Z8NEXT(out); \
	VMOVUPS       Y7, (AX); \
	Z8NEXT(out); \
	VEXTRACTF64X4 $1, Z6, (AX); \
	Z8NEXT(out); \
	VEXTRACTF64X4 $1, Z7, (AX); \
out: \
	VZEROUPPER; \
	RET

// Z8STORE2: vector v's rows 0-3 are 128-bit lane v of Z26, rows 4-7 that
// of Z27; Z4 gathers vectors 0 and 1, Z5 2 and 3.
#define Z8STORE2(out) \
	Z8OUTARGS; \
	VSHUFI64X2    $0x44, Z27, Z26, Z4; \
	VSHUFI64X2    $0xee, Z27, Z26, Z5; \
	VSHUFI64X2    $0xd8, Z4, Z4, Z4; \
	VSHUFI64X2    $0xd8, Z5, Z5, Z5; \
	VMOVUPS       Y4, (AX); \
	Z8NEXT(out); \
	VEXTRACTF64X4 $1, Z4, (AX); \
	Z8NEXT(out); \
	VMOVUPS       Y5, (AX); \
	Z8NEXT(out); \
	VEXTRACTF64X4 $1, Z5, (AX); \
out: \
	VZEROUPPER; \
	RET

// Z8STORE4: vector v's rows are the 256-bit half v of Z26.
#define Z8STORE4(out) \
	Z8OUTARGS; \
	VMOVUPS       Y26, (AX); \
	Z8NEXT(out); \
	VEXTRACTF64X4 $1, Z26, (AX); \
out: \
	VZEROUPPER; \
	RET

// Z8PF(o): prefetch into L2 the bytes o past the current batch of the
// next call's eight rows (R13 = 8·stride further; AX and DX point at its
// rows 12 and 14, set by Z8PFROWS): eight rows of a few KiB are streams
// too short for the hardware prefetcher, and without it the kernels ran
// about 1.5× slower on DRAM-resident weights than in cache.
#define Z8PF(o) \
	PREFETCHT1 o(SI)(R13*1); \
	PREFETCHT1 o(R9)(R13*1); \
	PREFETCHT1 o(R10)(R13*1); \
	PREFETCHT1 o(R11)(R13*1); \
	PREFETCHT1 o(AX); \
	PREFETCHT1 o(AX)(BX*1); \
	PREFETCHT1 o(DX); \
	PREFETCHT1 o(DX)(BX*1)

// Z8PFROWS: AX, DX = the next call's rows 12 and 14 at the current batch
// (DX is free until the block loop starts).
#define Z8PFROWS \
	LEAQ (SI)(R8*1), AX; \
	ADDQ R13, AX; \
	LEAQ (R10)(R8*1), DX; \
	ADDQ R13, DX

// Z8PFQ40, Z8PFQ80: a batch of eight blocks, 144 or 272 bytes a row.
#define Z8PFQ40 \
	Z8PFROWS; \
	Z8PF(0); \
	Z8PF(64); \
	Z8PF(128)

#define Z8PFQ80 \
	Z8PFROWS; \
	Z8PF(0); \
	Z8PF(64); \
	Z8PF(128); \
	Z8PF(192); \
	Z8PF(256)

// Z8BODY: a whole kernel over batches of eight blocks of wsize bytes,
// the next call's rows prefetched by PF, prepared by PREP into the 64-byte aligned stack buffer at R12, with Y30
// = mask in every dword, Z31 the scale gather indices at scaleIdx+idx and
// whatever INIT sets up; each block's activations (ablk bytes) loaded by
// ACT and met by BLOCK(SUM), the row pointers at the block; then the sums
// go out through STORE. Z20 and Z21 hold the lane indices for g = 4's
// packing (the other kernels' activations take those registers).
#define Z8BODY(mask, idx, INIT, PF, PREP, ACT, BLOCK, SUM, ablk, wsize, STORE, batch, blk, done, out) \
	Z8PROLOGUE; \
	JZ done; \
	MOVL         mask, AX; \
	VMOVD        AX, X30; \
	VPBROADCASTD X30, Z30; \
	VMOVDQU32    scaleIdx<>+idx(SB), X31; \
	LEAQ         63(SP), R12; \
	ANDQ         $~63, R12; \
	INIT; \
batch: \
	PF; \
	PREP; \
	VMOVDQU64 packIdx<>+0(SB), Z20; \
	VMOVDQU64 packIdx<>+64(SB), Z21; \
	XORQ      DX, DX; \
blk: \
	ACT; \
	BLOCK(SUM); \
	ADDQ $wsize, SI; \
	ADDQ $wsize, R9; \
	ADDQ $wsize, R10; \
	ADDQ $wsize, R11; \
	ADDQ $ablk, DI; \
	ADDQ $8, DX; \
	CMPQ DX, $64; \
	JNE  blk; \
	DECQ CX; \
	JNZ  batch; \
done: \
	STORE(out)

// Z8NONE: no set-up of one's own (g = 1, 2).
#define Z8NONE

// Z8INIT4: g = 4's unit indices, a0, b0, ..., a3, b3 (Z27) and a4, b4,
// ..., a7, b7 (Z28) of two tables, each twice.
#define Z8INIT4 \
	VMOVDQU64 unitIdx<>+0(SB), Z27; \
	VMOVDQU64 unitIdx<>+64(SB), Z28

// scaleIdx: VPERMT2W word indices of the f16 block scales within 128
// bytes of weights: four Q8_0 blocks (bytes 0, 34, 68, 102) at +0, eight
// Q4_0 blocks (bytes 0, 18, ..., 126) at +16. Loaded as 16 bytes, which
// zeroes the rest of the index register.
DATA scaleIdx<>+0(SB)/8, $0x0033002200110000
DATA scaleIdx<>+8(SB)/8, $0
DATA scaleIdx<>+16(SB)/8, $0x001b001200090000
DATA scaleIdx<>+24(SB)/8, $0x003f0036002d0024
GLOBL scaleIdx<>(SB), RODATA|NOPTR, $32

// interleave: VPERMT2D indices a0, b0, a1, b1, ..., a7, b7 of two tables.
DATA interleave<>+0(SB)/8, $0x0000001000000000
DATA interleave<>+8(SB)/8, $0x0000001100000001
DATA interleave<>+16(SB)/8, $0x0000001200000002
DATA interleave<>+24(SB)/8, $0x0000001300000003
DATA interleave<>+32(SB)/8, $0x0000001400000004
DATA interleave<>+40(SB)/8, $0x0000001500000005
DATA interleave<>+48(SB)/8, $0x0000001600000006
DATA interleave<>+56(SB)/8, $0x0000001700000007
GLOBL interleave<>(SB), RODATA|NOPTR, $64

// nibIdx: VPERMT2D indices a0, b0, ..., a3, b3 of two 256-bit tables.
DATA nibIdx<>+0(SB)/8, $0x0000000800000000
DATA nibIdx<>+8(SB)/8, $0x0000000900000001
DATA nibIdx<>+16(SB)/8, $0x0000000a00000002
DATA nibIdx<>+24(SB)/8, $0x0000000b00000003
GLOBL nibIdx<>(SB), RODATA|NOPTR, $32

// qwordIdx: VPERMI2Q indices interleaving the qwords 0-3 (at +0) and 4-7
// (at +64) of two tables: a0, b0, a1, b1, ...
DATA qwordIdx<>+0(SB)/8, $0
DATA qwordIdx<>+8(SB)/8, $8
DATA qwordIdx<>+16(SB)/8, $1
DATA qwordIdx<>+24(SB)/8, $9
DATA qwordIdx<>+32(SB)/8, $2
DATA qwordIdx<>+40(SB)/8, $10
DATA qwordIdx<>+48(SB)/8, $3
DATA qwordIdx<>+56(SB)/8, $11
DATA qwordIdx<>+64(SB)/8, $4
DATA qwordIdx<>+72(SB)/8, $12
DATA qwordIdx<>+80(SB)/8, $5
DATA qwordIdx<>+88(SB)/8, $13
DATA qwordIdx<>+96(SB)/8, $6
DATA qwordIdx<>+104(SB)/8, $14
DATA qwordIdx<>+112(SB)/8, $7
DATA qwordIdx<>+120(SB)/8, $15
GLOBL qwordIdx<>(SB), RODATA|NOPTR, $128

// blockIdx: VPERMI2Q indices interleaving 128-bit lanes 0-1 (at +0) and
// 2-3 (at +64) of two tables: a0, b0, a1, b1.
DATA blockIdx<>+0(SB)/8, $0
DATA blockIdx<>+8(SB)/8, $1
DATA blockIdx<>+16(SB)/8, $8
DATA blockIdx<>+24(SB)/8, $9
DATA blockIdx<>+32(SB)/8, $2
DATA blockIdx<>+40(SB)/8, $3
DATA blockIdx<>+48(SB)/8, $10
DATA blockIdx<>+56(SB)/8, $11
DATA blockIdx<>+64(SB)/8, $4
DATA blockIdx<>+72(SB)/8, $5
DATA blockIdx<>+80(SB)/8, $12
DATA blockIdx<>+88(SB)/8, $13
DATA blockIdx<>+96(SB)/8, $6
DATA blockIdx<>+104(SB)/8, $7
DATA blockIdx<>+112(SB)/8, $14
DATA blockIdx<>+120(SB)/8, $15
GLOBL blockIdx<>(SB), RODATA|NOPTR, $128

// unitIdx: VPERMT2D indices a0, b0, ..., a3, b3 (at +0) and a4, b4, ...,
// a7, b7 (at +64) of two tables, each twice.
DATA unitIdx<>+0(SB)/8, $0x0000001000000000
DATA unitIdx<>+8(SB)/8, $0x0000001100000001
DATA unitIdx<>+16(SB)/8, $0x0000001200000002
DATA unitIdx<>+24(SB)/8, $0x0000001300000003
DATA unitIdx<>+32(SB)/8, $0x0000001000000000
DATA unitIdx<>+40(SB)/8, $0x0000001100000001
DATA unitIdx<>+48(SB)/8, $0x0000001200000002
DATA unitIdx<>+56(SB)/8, $0x0000001300000003
DATA unitIdx<>+64(SB)/8, $0x0000001400000004
DATA unitIdx<>+72(SB)/8, $0x0000001500000005
DATA unitIdx<>+80(SB)/8, $0x0000001600000006
DATA unitIdx<>+88(SB)/8, $0x0000001700000007
DATA unitIdx<>+96(SB)/8, $0x0000001400000004
DATA unitIdx<>+104(SB)/8, $0x0000001500000005
DATA unitIdx<>+112(SB)/8, $0x0000001600000006
DATA unitIdx<>+120(SB)/8, $0x0000001700000007
GLOBL unitIdx<>(SB), RODATA|NOPTR, $128

// packIdx: g = 4's VPERMI2Q indices, 128-bit lanes 0, 0, 2, 2 (at +0) and
// 1, 1, 3, 3 (at +64) of two tables, alternately: summed, lane v0 of
// rows 0-3, rows 4-7, then v1's.
DATA packIdx<>+0(SB)/8, $0
DATA packIdx<>+8(SB)/8, $1
DATA packIdx<>+16(SB)/8, $8
DATA packIdx<>+24(SB)/8, $9
DATA packIdx<>+32(SB)/8, $4
DATA packIdx<>+40(SB)/8, $5
DATA packIdx<>+48(SB)/8, $12
DATA packIdx<>+56(SB)/8, $13
DATA packIdx<>+64(SB)/8, $2
DATA packIdx<>+72(SB)/8, $3
DATA packIdx<>+80(SB)/8, $10
DATA packIdx<>+88(SB)/8, $11
DATA packIdx<>+96(SB)/8, $6
DATA packIdx<>+104(SB)/8, $7
DATA packIdx<>+112(SB)/8, $14
DATA packIdx<>+120(SB)/8, $15
GLOBL packIdx<>(SB), RODATA|NOPTR, $128

// func gemmQ8_0x8VNNI(w *byte, stride int, a *byte, nb int, dst *float32, dstride int, nv int)
// Rows w + i·stride (i < 8) against nv ≤ 8 vectors laid out by
// q8Lanes{16, 2, 1}; row i · vector v goes to dst[i + v·dstride/4]. nb: a
// multiple of 8 blocks.
TEXT ·gemmQ8_0x8VNNI(SB), 0, $2368-56
	Z8BODY($0x80808080, 0, Z8NONE, Z8PFQ80, Z8PREPQ80, Z8ACT1, Z8BLOCK1, Z8Q80, 640, 34, Z8STORE1, q80x8batch, q80x8blk, q80x8done, q80x8out)

// func gemmQ8_0x4VNNI(w *byte, stride int, a *byte, nb int, dst *float32, dstride int, nv int)
// As gemmQ8_0x8VNNI for nv ≤ 4 vectors laid out by q8Lanes{16, 2, 2}.
TEXT ·gemmQ8_0x4VNNI(SB), 0, $2368-56
	Z8BODY($0x80808080, 0, Z8NONE, Z8PFQ80, Z8PREPQ80, Z8ACT2, Z8BLOCK2, Z8Q80, 384, 34, Z8STORE2, q80x4batch, q80x4blk, q80x4done, q80x4out)

// func gemmQ8_0x2VNNI(w *byte, stride int, a *byte, nb int, dst *float32, dstride int, nv int)
// As gemmQ8_0x8VNNI for nv ≤ 2 vectors laid out by q8Lanes{16, 2, 4}.
TEXT ·gemmQ8_0x2VNNI(SB), 0, $2368-56
	Z8BODY($0x80808080, 0, Z8INIT4, Z8PFQ80, Z8SCALESONLYQ80, Z8ACT4, Z8BLOCK4Q80, Z8Q80, 256, 34, Z8STORE4, q80x2batch, q80x2blk, q80x2done, q80x2out)

// func gemmQ4_0x8VNNI(w *byte, stride int, a *byte, nb int, dst *float32, dstride int, nv int)
// As gemmQ8_0x8VNNI, for Q4_0 rows.
TEXT ·gemmQ4_0x8VNNI(SB), 0, $2368-56
	Z8BODY($0x0f0f0f0f, 16, Z8NONE, Z8PFQ40, Z8PREPQ40, Z8ACT1, Z8BLOCK1, Z8Q40, 640, 18, Z8STORE1, q40x8batch, q40x8blk, q40x8done, q40x8out)

// func gemmQ4_0x4VNNI(w *byte, stride int, a *byte, nb int, dst *float32, dstride int, nv int)
// As gemmQ8_0x4VNNI, for Q4_0 rows.
TEXT ·gemmQ4_0x4VNNI(SB), 0, $2368-56
	Z8BODY($0x0f0f0f0f, 16, Z8NONE, Z8PFQ40, Z8PREPQ40, Z8ACT2, Z8BLOCK2, Z8Q40, 384, 18, Z8STORE2, q40x4batch, q40x4blk, q40x4done, q40x4out)

// func gemmQ4_0x2VNNI(w *byte, stride int, a *byte, nb int, dst *float32, dstride int, nv int)
// As gemmQ8_0x2VNNI, for Q4_0 rows.
TEXT ·gemmQ4_0x2VNNI(SB), 0, $2368-56
	Z8BODY($0x0f0f0f0f, 16, Z8INIT4, Z8PFQ40, Z8SCALESONLYQ40, Z8ACT4, Z8BLOCK4Q40, Z8Q40, 256, 18, Z8STORE4, q40x2batch, q40x2blk, q40x2done, q40x2out)
