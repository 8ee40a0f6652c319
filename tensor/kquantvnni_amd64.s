//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// Q4_K with VNNI. The Go kernel (dotK45) sums q8·q in eight int32 lanes,
// lane = element index mod 8. VPERMB (AVX-512 VBMI) reorders each
// 32-element chunk so that the four bytes of dword l are its elements l,
// l+8, l+16, l+24; VPDPBUSD then yields lane l's sum for the chunk in dword
// l, at most 4·15·127 in size, and VPDPWSSD applies the chunk's 6-bit scale
// to it (the scale as a word pair (s, 0)). Lane sums stay exact; the float
// steps are dotK45's.

// lanePerm: VPERMB indices, dword l <- bytes l, l+8, l+16, l+24.
DATA lanePerm<>+0(SB)/8, $0x1911090118100800
DATA lanePerm<>+8(SB)/8, $0x1b130b031a120a02
DATA lanePerm<>+16(SB)/8, $0x1d150d051c140c04
DATA lanePerm<>+24(SB)/8, $0x1f170f071e160e06
GLOBL lanePerm<>(SB), RODATA|NOPTR, $32

// HSUMF: X's lane 0 = the sum of Y's eight dwords, as float32. Clobbers T.
#define HSUMF(Y, X, T) \
	VEXTRACTI128 $1, Y, T; \
	VPADDD       T, X, X; \
	VPSHUFD      $0x4e, X, T; \
	VPADDD       T, X, X; \
	VPSHUFD      $0xb1, X, T; \
	VPADDD       T, X, X; \
	VCVTDQ2PS    X, X

// Q4KGROUP4: Y9 += the scaled lane sums of nibble bytes 16+32g of the row
// at R (chunks 2g, 2g+1) against the permuted activation chunks Ya, Yb.
#define Q4KGROUP4(R, g, Ya, Yb) \
	VPERMB        (16+32*g)(R), Y24, Y0; \
	VPSRLW        $4, Y0, Y1; \
	VPANDD        Y25, Y0, Y0; \
	VPANDD        Y25, Y1, Y1; \
	VPXOR         Y2, Y2, Y2; \
	VPXOR         Y3, Y3, Y3; \
	VPDPBUSD      Ya, Y0, Y2; \
	VPDPBUSD      Yb, Y1, Y3; \
	VPDPWSSD.BCST (16+8*g)(SP), Y2, Y9; \
	VPDPWSSD.BCST (20+8*g)(SP), Y3, Y9

// Q4KROW: one super-block of the row at R: Ysums += d·(lane sums), Xsumf
// -= dmin·Σ mins·bsums, as dotK45 does.
#define Q4KROW(R, Ysums, Xsumf) \
	Q4KSCALES(R, 16); \
	VPXOR        Y9, Y9, Y9; \
	Q4KGROUP4(R, 0, Y16, Y17); \
	Q4KGROUP4(R, 1, Y18, Y19); \
	Q4KGROUP4(R, 2, Y20, Y21); \
	Q4KGROUP4(R, 3, Y22, Y23); \
	VPUNPCKLWD   X8, X8, X7; \
	VPUNPCKHWD   X8, X8, X8; \
	VINSERTI128  $1, X8, Y7, Y7; \
	VPMADDWD     260(DI), Y7, Y7; \
	HSUMF(Y7, X7, X8); \
	VMOVSS       0(DI), X6; \
	MOVL         0(R), AX; \
	VMOVD        AX, X5; \
	VCVTPH2PS    X5, X5; \
	VMULSS       X6, X5, X4; \
	VMOVSHDUP    X5, X3; \
	VMULSS       X6, X3, X3; \
	VMULSS       X7, X3, X3; \
	VSUBSS       X3, Xsumf, Xsumf; \
	VCVTDQ2PS    Y9, Y9; \
	VBROADCASTSS X4, Y4; \
	VMULPS       Y4, Y9, Y9; \
	VADDPS       Y9, Ysums, Ysums

// LANESUM: X += Y's eight lanes in order, through off(SP).
#define LANESUM(Y, X, off) \
	VMOVUPS Y, off(SP); \
	VADDSS  (off+0)(SP), X, X; \
	VADDSS  (off+4)(SP), X, X; \
	VADDSS  (off+8)(SP), X, X; \
	VADDSS  (off+12)(SP), X, X; \
	VADDSS  (off+16)(SP), X, X; \
	VADDSS  (off+20)(SP), X, X; \
	VADDSS  (off+24)(SP), X, X; \
	VADDSS  (off+28)(SP), X, X

// k-quant GEMM: four weight rows against up to sixteen activation vectors
// per call, super-block by super-block: each row's super-block is unpacked
// once into Y16-Y23 (chunk j, lanes as above) with its scales, then dotted
// against every vector's activations, which the layout functions have
// already permuted into lane order (so they are plain memory operands) and
// which stay in L1 across the four rows. Per vector the integer and float
// steps are the Go kernel's.
//
// GEMMKBODY is the loop: SI = the current row's super-block, DI = the
// vectors' super-block (R9 = astride apart), R10 = the current vector,
// R11 = its output (64 bytes per vector, 1024 per row), CX = super-blocks
// left; 32(SP) = row 0's super-block, 40(SP) = the current row's output.
// UNPACK prepares the row at SI, VEC adds vector R10 into R11; wsize and
// ablock are the bytes of a weight and of a laid-out activation
// super-block.
#define GEMMKBODY(UNPACK, VEC, wsize, ablock, sb, row, vec, done) \
	MOVQ      w+0(FP), SI; \
	MOVQ      SI, 32(SP); \
	MOVQ      a+16(FP), DI; \
	MOVQ      astride+24(FP), R9; \
	MOVQ      nb+40(FP), CX; \
	VMOVDQU32 lanePerm<>(SB), Y24; \
	BROADCASTB($0x0f0f0f0f, Y25, X25); \
	BROADCASTB($0x30303030, Y27, X27); \
	TESTQ     CX, CX; \
	JZ        done; \
sb: \
	MOVQ      32(SP), SI; \
	MOVQ      out+48(FP), R11; \
	MOVQ      R11, 40(SP); \
	MOVQ      $4, R8; \
row: \
	UNPACK; \
	MOVQ      DI, R10; \
	MOVQ      40(SP), R11; \
	MOVQ      nv+32(FP), AX; \
vec: \
	VEC; \
	ADDQ      R9, R10; \
	ADDQ      $64, R11; \
	DECQ      AX; \
	JNZ       vec; \
	ADDQ      $1024, 40(SP); \
	ADDQ      stride+8(FP), SI; \
	DECQ      R8; \
	JNZ       row; \
	ADDQ      $wsize, 32(SP); \
	ADDQ      $ablock, DI; \
	DECQ      CX; \
	JNZ       sb; \
done: \
	VZEROUPPER; \
	RET



// GEMMQ4KCHUNK: Yacc += scale j × lane sums of chunk j (weights Yw) against
// the vector at R10.
#define GEMMQ4KCHUNK(j, Yw, Yt, Yacc) \
	VPXORD        Yt, Yt, Yt; \
	VPDPBUSD      (32*j)(R10), Yw, Yt; \
	VPDPWSSD.BCST (4*j)(SP), Yt, Yacc

// GEMMQ4KUNPACK: chunks 2g and 2g+1 of the row at SI into Ylo and Yhi.
#define GEMMQ4KUNPACK(g, Ylo, Yhi) \
	VPERMB (16+32*g)(SI), Y24, Ylo; \
	VPSRLW $4, Ylo, Yhi; \
	VPANDD Y25, Ylo, Ylo; \
	VPANDD Y25, Yhi, Yhi

// GEMMQ4KUNPACKROW: the Q4_K super-block at SI: scales at 0(SP), mins
// doubled into word pairs in Y7, chunks in Y16-Y23, d and dmin in X26, X27.
#define GEMMQ4KUNPACKROW \
	Q4KSCALES(SI, 0); \
	VPUNPCKLWD  X8, X8, X7; \
	VPUNPCKHWD  X8, X8, X8; \
	VINSERTI128 $1, X8, Y7, Y7; \
	GEMMQ4KUNPACK(0, Y16, Y17); \
	GEMMQ4KUNPACK(1, Y18, Y19); \
	GEMMQ4KUNPACK(2, Y20, Y21); \
	GEMMQ4KUNPACK(3, Y22, Y23); \
	MOVL        0(SI), BX; \
	VMOVD       BX, X5; \
	VCVTPH2PS   X5, X26; \
	VMOVSHDUP   X26, X27

// GEMMKLANES: the lane sums of vector R10 against the unpacked row, chunk
// by chunk through CHUNK, scaled by d = X26 × the vector's scale and added
// into 0(R11), as dotK45 and dotK16 add them into sums.
#define GEMMKLANES(CHUNK, doff) \
	VPXOR        Y0, Y0, Y0; \
	VPXOR        Y1, Y1, Y1; \
	CHUNK(0, Y16, Y10, Y0); \
	CHUNK(1, Y17, Y11, Y1); \
	CHUNK(2, Y18, Y12, Y0); \
	CHUNK(3, Y19, Y13, Y1); \
	CHUNK(4, Y20, Y10, Y0); \
	CHUNK(5, Y21, Y11, Y1); \
	CHUNK(6, Y22, Y12, Y0); \
	CHUNK(7, Y23, Y13, Y1); \
	VPADDD       Y1, Y0, Y0; \
	VCVTDQ2PS    Y0, Y0; \
	VMULSS       doff(R10), X26, X4; \
	VBROADCASTSS X4, Y4; \
	VMULPS       Y4, Y0, Y0; \
	VADDPS       0(R11), Y0, Y0; \
	VMOVUPS      Y0, 0(R11)

// GEMMQ4KVEC: vector R10 against the unpacked row, as dotK45: lane sums
// d·acc into 0(R11), dmin·sumi subtracted from 32(R11).
#define GEMMQ4KVEC \
	GEMMKLANES(GEMMQ4KCHUNK, 256); \
	VMOVSS       256(R10), X6; \
	VPMADDWD     288(R10), Y7, Y2; \
	HSUMF(Y2, X2, X3); \
	VMULSS       X6, X27, X3; \
	VMULSS       X2, X3, X3; \
	VMOVSS       32(R11), X2; \
	VSUBSS       X3, X2, X2; \
	VMOVSS       X2, 32(R11)

// Q6_K GEMM. dotK16 sums scale_j · q8 · (q-32) in eight lanes (element mod 8)
// over sixteen 16-element groups; a 32-element chunk c holds groups 2c and
// 2c+1. In lane order (dword l = elements l, l+8, l+16, l+24) VPMADDUBSW
// leaves word 2l = group 2c's lane-l sum of q·q8 and word 2l+1 group
// 2c+1's; subtracting 32 × the same pair sums of q8 (laid out by
// gemmLayoutQ6K) makes them Σ (q-32)·q8 exactly (|sum| ≤ 8192), and
// VPDPWSSD against the word pair (scale 2c, scale 2c+1) adds both groups
// into lane l. The float steps are dotK16's.

// GEMMQ6KCHUNK: chunk c = 4n+qq of the row at SI as unsigned 6-bit quants
// in lane order into Yq: low nibbles (qq < 2) or high ones of ql, bits
// 2qq, 2qq+1 of qh as bits 4 and 5. HSHIFT moves those bits into place.
#define GEMMQ6KCHUNK(n, qq, LSHIFT, HSHIFT, Yq) \
	VMOVDQU (64*n+32*(qq&1))(SI), Y0; \
	LSHIFT; \
	VPANDD  Y25, Y0, Y0; \
	VMOVDQU (128+32*n)(SI), Y1; \
	HSHIFT; \
	VPANDD  Y27, Y1, Y1; \
	VPORD   Y1, Y0, Y0; \
	VPERMB  Y0, Y24, Yq

#define Q6KNONE
#define Q6KLO4 VPSRLW $4, Y0, Y0
#define Q6KH0 VPSLLW $4, Y1, Y1
#define Q6KH1 VPSLLW $2, Y1, Y1
#define Q6KH2
#define Q6KH3 VPSRLW $2, Y1, Y1

// GEMMQ6KPAIR: Yacc += the two groups of chunk c (quants Yq) against the
// vector at R10, weighted by their scales.
#define GEMMQ6KPAIR(c, Yq, Yt, Yacc) \
	VPMADDUBSW    (32*c)(R10), Yq, Yt; \
	VPSUBW        (256+32*c)(R10), Yt, Yt; \
	VPDPWSSD.BCST (4*c)(SP), Yt, Yacc

// GEMMQ6KUNPACKROW: the Q6_K super-block at SI: chunks in Y16-Y23, scale
// word pairs at 0(SP), d in X26.
#define GEMMQ6KUNPACKROW \
	GEMMQ6KCHUNK(0, 0, Q6KNONE, Q6KH0, Y16); \
	GEMMQ6KCHUNK(0, 1, Q6KNONE, Q6KH1, Y17); \
	GEMMQ6KCHUNK(0, 2, Q6KLO4, Q6KH2, Y18); \
	GEMMQ6KCHUNK(0, 3, Q6KLO4, Q6KH3, Y19); \
	GEMMQ6KCHUNK(1, 0, Q6KNONE, Q6KH0, Y20); \
	GEMMQ6KCHUNK(1, 1, Q6KNONE, Q6KH1, Y21); \
	GEMMQ6KCHUNK(1, 2, Q6KLO4, Q6KH2, Y22); \
	GEMMQ6KCHUNK(1, 3, Q6KLO4, Q6KH3, Y23); \
	VPMOVSXBW 192(SI), Y8; \
	VMOVDQU   Y8, 0(SP); \
	MOVWLZX   208(SI), BX; \
	VMOVD     BX, X5; \
	VCVTPH2PS X5, X26

// GEMMQ6KVEC: vector R10 against the unpacked row, as dotK16: lane sums
// d·acc into 0(R11).
#define GEMMQ6KVEC GEMMKLANES(GEMMQ6KPAIR, 512)

// func dotQ4Kx4VNNI(w *byte, stride int, a *byte, nb int, out *[4]float32)
// Rows w, w+stride, w+2·stride, w+3·stride of nb super-blocks.
TEXT ·dotQ4Kx4VNNI(SB), NOSPLIT, $64-40
	MOVQ      w+0(FP), SI
	MOVQ      stride+8(FP), BX
	MOVQ      a+16(FP), DI
	MOVQ      nb+24(FP), CX
	LEAQ      (SI)(BX*1), R9
	LEAQ      (SI)(BX*2), R10
	LEAQ      (R9)(BX*2), R11
	LEAQ      (BX*8), R8
	VMOVDQU32 lanePerm<>(SB), Y24
	BROADCASTB($0x0f0f0f0f, Y25, X25)
	VPXORD    Y26, Y26, Y26
	VPXORD    Y27, Y27, Y27
	VPXORD    Y28, Y28, Y28
	VPXORD    Y29, Y29, Y29
	VXORPS    X12, X12, X12
	VXORPS    X13, X13, X13
	VXORPS    X14, X14, X14
	VXORPS    X15, X15, X15
	TESTQ     CX, CX
	JZ        q4kx4done

q4kx4loop:
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
	Q4KROW(SI, Y26, X12)
	Q4KROW(R9, Y27, X13)
	Q4KROW(R10, Y28, X14)
	Q4KROW(R11, Y29, X15)
	ADDQ $144, SI
	ADDQ $144, R9
	ADDQ $144, R10
	ADDQ $144, R11
	ADDQ $292, DI
	DECQ CX
	JNZ  q4kx4loop

q4kx4done:
	LANESUM(Y26, X12, 0)
	LANESUM(Y27, X13, 32)
	VMOVUPS Y28, Y10
	LANESUM(Y10, X14, 0)
	VMOVUPS Y29, Y11
	LANESUM(Y11, X15, 32)
	MOVQ   out+32(FP), AX
	VMOVSS X12, 0(AX)
	VMOVSS X13, 4(AX)
	VMOVSS X14, 8(AX)
	VMOVSS X15, 12(AX)
	VZEROUPPER
	RET

// func gemmQ4KVNNI(w *byte, stride int, a *byte, astride int, nv int, nb int, out *[4][16][16]float32)
// Rows w, w+stride, w+2·stride, w+3·stride (nb super-blocks) against nv
// (1-16) vectors laid out by gemmLayoutQ4K at a, a+astride, ...:
// out[r][i][0:8] += the lane sums d·acc of row r and vector i and
// out[r][i][8] -= its dmin terms, so that laneSum(out[r][i][8],
// out[r][i][0:8]) is dotQ4K's result.
TEXT ·gemmQ4KVNNI(SB), 0, $48-56
	GEMMKBODY(GEMMQ4KUNPACKROW, GEMMQ4KVEC, 144, 320, gq4ksb, gq4krow, gq4kvec, gq4kdone)

// func gemmQ6KVNNI(w *byte, stride int, a *byte, astride int, nv int, nb int, out *[4][16][16]float32)
// As gemmQ4KVNNI for Q6_K rows and vectors laid out by gemmLayoutQ6K;
// laneSum(0, out[r][i][0:8]) is dotQ6K's result.
TEXT ·gemmQ6KVNNI(SB), 0, $48-56
	GEMMKBODY(GEMMQ6KUNPACKROW, GEMMQ6KVEC, 210, 576, gq6ksb, gq6krow, gq6kvec, gq6kdone)
