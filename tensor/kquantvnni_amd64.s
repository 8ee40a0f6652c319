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
	VEXTRACTI128 $1, Y7, X8; \
	VPADDD       X8, X7, X7; \
	VPSHUFD      $0x4e, X7, X8; \
	VPADDD       X8, X7, X7; \
	VPSHUFD      $0xb1, X7, X8; \
	VPADDD       X8, X7, X7; \
	VCVTDQ2PS    X7, X7; \
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

// Q4_K GEMM: one weight row against up to sixteen activation vectors per
// call. Each super-block's nibbles are unpacked once into Y16-Y23 (chunk j,
// lanes as above) and its scales and mins once, then dotted against every
// vector's activations, which gemmLayoutQ4K has already permuted into lane
// order (so they are plain memory operands). Per vector the integer and
// float steps are those of the four-row kernel, hence of dotK45.

// GEMMQ4KCHUNK: Yacc += scale j × lane sums of chunk j (weights Yw) against
// the vector at R10.
#define GEMMQ4KCHUNK(j, Yw, Yt, Yacc) \
	VPXORD        Yt, Yt, Yt; \
	VPDPBUSD      (4+32*j)(R10), Yw, Yt; \
	VPDPWSSD.BCST (4*j)(SP), Yt, Yacc

// GEMMQ4KUNPACK: chunks 2g and 2g+1 of the row at SI into Ylo and Yhi.
#define GEMMQ4KUNPACK(g, Ylo, Yhi) \
	VPERMB (16+32*g)(SI), Y24, Ylo; \
	VPSRLW $4, Ylo, Yhi; \
	VPANDD Y25, Ylo, Ylo; \
	VPANDD Y25, Yhi, Yhi

// func gemmQ4KVNNI(w *byte, a *byte, astride int, nv int, nb int, out *[16][16]float32)
// The row at w (nb super-blocks) against nv (1-16) vectors at a, a+astride,
// ...; out[i][0:8] += the lane sums d·acc of vector i, out[i][8] -= its
// dmin terms, so that laneSum(out[i][8], out[i][0:8]) is dotQ4K's result.
TEXT ·gemmQ4KVNNI(SB), 0, $32-48
	MOVQ      w+0(FP), SI
	MOVQ      a+8(FP), DI
	MOVQ      astride+16(FP), R9
	MOVQ      nb+32(FP), CX
	VMOVDQU32 lanePerm<>(SB), Y24
	BROADCASTB($0x0f0f0f0f, Y25, X25)
	TESTQ     CX, CX
	JZ        gq4kdone

gq4ksb:
	Q4KSCALES(SI, 0)
	VPUNPCKLWD   X8, X8, X7
	VPUNPCKHWD   X8, X8, X8
	VINSERTI128  $1, X8, Y7, Y7
	GEMMQ4KUNPACK(0, Y16, Y17)
	GEMMQ4KUNPACK(1, Y18, Y19)
	GEMMQ4KUNPACK(2, Y20, Y21)
	GEMMQ4KUNPACK(3, Y22, Y23)
	MOVL         0(SI), AX
	VMOVD        AX, X5
	VCVTPH2PS    X5, X26
	VMOVSHDUP    X26, X27
	MOVQ         DI, R10
	MOVQ         out+40(FP), R11
	MOVQ         nv+24(FP), AX

gq4kvec:
	VPXOR        Y0, Y0, Y0
	VPXOR        Y1, Y1, Y1
	GEMMQ4KCHUNK(0, Y16, Y10, Y0)
	GEMMQ4KCHUNK(1, Y17, Y11, Y1)
	GEMMQ4KCHUNK(2, Y18, Y12, Y0)
	GEMMQ4KCHUNK(3, Y19, Y13, Y1)
	GEMMQ4KCHUNK(4, Y20, Y10, Y0)
	GEMMQ4KCHUNK(5, Y21, Y11, Y1)
	GEMMQ4KCHUNK(6, Y22, Y12, Y0)
	GEMMQ4KCHUNK(7, Y23, Y13, Y1)
	VPADDD       Y1, Y0, Y0
	VCVTDQ2PS    Y0, Y0
	VMOVSS       0(R10), X6
	VMULSS       X6, X26, X4
	VBROADCASTSS X4, Y4
	VMULPS       Y4, Y0, Y0
	VADDPS       0(R11), Y0, Y0
	VMOVUPS      Y0, 0(R11)
	VPMADDWD     260(R10), Y7, Y2
	VEXTRACTI128 $1, Y2, X3
	VPADDD       X3, X2, X2
	VPSHUFD      $0x4e, X2, X3
	VPADDD       X3, X2, X2
	VPSHUFD      $0xb1, X2, X3
	VPADDD       X3, X2, X2
	VCVTDQ2PS    X2, X2
	VMULSS       X6, X27, X3
	VMULSS       X2, X3, X3
	VMOVSS       32(R11), X2
	VSUBSS       X3, X2, X2
	VMOVSS       X2, 32(R11)
	ADDQ         R9, R10
	ADDQ         $64, R11
	DECQ         AX
	JNZ          gq4kvec
	ADDQ         $144, SI
	ADDQ         $292, DI
	DECQ         CX
	JNZ          gq4ksb

gq4kdone:
	VZEROUPPER
	RET
