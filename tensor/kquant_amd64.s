//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// AVX2 k-quant dot kernels. ggml's generic k-quant dots accumulate int32 in
// eight lanes (lane = element index mod 8), scale each lane to float per
// super-block and add the lanes in order at the end. These kernels keep the
// lanes apart: bytes are shuffled so that VPMADDUBSW pairs elements i and i+8
// (the same lane), and two 32-element chunks are interleaved word by word
// so that VPMADDWD pairs the same lane again while applying both chunks'
// scales. The integer lane sums are therefore exact, and the float steps are
// the Go kernel's, in its order.

// pairPerm: within each 16 bytes, element i next to element i+8.
DATA pairPerm<>+0(SB)/8, $0x0b030a0209010800
DATA pairPerm<>+8(SB)/8, $0x0f070e060d050c04
DATA pairPerm<>+16(SB)/8, $0x0b030a0209010800
DATA pairPerm<>+24(SB)/8, $0x0f070e060d050c04
GLOBL pairPerm<>(SB), RODATA|NOPTR, $32

// q6ScalePerm orders Q6_K's sixteen group scales as (0,2,1,3, 4,6,5,7, ...):
// after sign extension, dword 2p holds the first-half scales of chunk pair p
// and dword 2p+1 the second-half ones.
DATA q6ScalePerm<>+0(SB)/8, $0x0705060403010200
DATA q6ScalePerm<>+8(SB)/8, $0x0f0d0e0c0b090a08
GLOBL q6ScalePerm<>(SB), RODATA|NOPTR, $16

// q6ScaleIdx: VPERMD indices broadcasting dword 2p to the low 128 bits and
// 2p+1 to the high 128 bits, for p = 0..3 (32 bytes each).
DATA q6ScaleIdx<>+0(SB)/8, $0x0000000000000000
DATA q6ScaleIdx<>+8(SB)/8, $0x0000000000000000
DATA q6ScaleIdx<>+16(SB)/8, $0x0000000100000001
DATA q6ScaleIdx<>+24(SB)/8, $0x0000000100000001
DATA q6ScaleIdx<>+32(SB)/8, $0x0000000200000002
DATA q6ScaleIdx<>+40(SB)/8, $0x0000000200000002
DATA q6ScaleIdx<>+48(SB)/8, $0x0000000300000003
DATA q6ScaleIdx<>+56(SB)/8, $0x0000000300000003
DATA q6ScaleIdx<>+64(SB)/8, $0x0000000400000004
DATA q6ScaleIdx<>+72(SB)/8, $0x0000000400000004
DATA q6ScaleIdx<>+80(SB)/8, $0x0000000500000005
DATA q6ScaleIdx<>+88(SB)/8, $0x0000000500000005
DATA q6ScaleIdx<>+96(SB)/8, $0x0000000600000006
DATA q6ScaleIdx<>+104(SB)/8, $0x0000000600000006
DATA q6ScaleIdx<>+112(SB)/8, $0x0000000700000007
DATA q6ScaleIdx<>+120(SB)/8, $0x0000000700000007
GLOBL q6ScaleIdx<>(SB), RODATA|NOPTR, $128

// LANES: from accLo (lanes 0-3 in both 128-bit halves) and accHi (lanes
// 4-7), R = the eight lane sums as float32. Clobbers T.
#define LANES(accLo, accHi, R, T) \
	VPERM2I128 $0x20, accHi, accLo, R; \
	VPERM2I128 $0x31, accHi, accLo, T; \
	VPADDD     T, R, R; \
	VCVTDQ2PS  R, R

// Q4KGROUP: nibbles 16+32g of the Q4_K block at SI (sub-blocks 2g and 2g+1)
// against the Q8_K quants at DI+4+64g, scales (s2g, s2g+1) in dword g of
// Y9; lanes into Y10 (0-3) and Y11 (4-7).
#define Q4KGROUP(g) \
	VMOVDQU    (16+32*g)(SI), Y0; \
	VPSHUFB    Y12, Y0, Y0; \
	VPSRLW     $4, Y0, Y1; \
	VPAND      Y13, Y0, Y0; \
	VPAND      Y13, Y1, Y1; \
	KPAIR(Y0, Y1, (4+64*g)) \
	VPSHUFD    $(0x55*g), Y9, Y4; \
	KSCALE(Y4)

// func dotQ4KAVX2(w, a *byte, nb int) float32
TEXT ·dotQ4KAVX2(SB), NOSPLIT, $32-28
	MOVQ    w+0(FP), SI
	MOVQ    a+8(FP), DI
	MOVQ    nb+16(FP), CX
	VMOVDQU pairPerm<>(SB), Y12
	BROADCASTB($0x0f0f0f0f, Y13, X13)
	VXORPS  Y15, Y15, Y15
	VXORPS  X14, X14, X14
	TESTQ   CX, CX
	JZ      q4kdone

q4kloop:
	// Unpack the 6-bit scales (bytes 0-7 at 0(SP)) and mins (8-15), as
	// ggml's utmp shuffle does.
	MOVL 4(SI), AX
	MOVL 8(SI), BX
	MOVL 12(SI), DX
	MOVL AX, R8
	ANDL $0x3f3f3f3f, R8
	MOVL R8, 0(SP)
	MOVL DX, R8
	ANDL $0x0f0f0f0f, R8
	MOVL AX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, R8
	MOVL R8, 4(SP)
	MOVL BX, R8
	ANDL $0x3f3f3f3f, R8
	MOVL R8, 8(SP)
	MOVL DX, R8
	SHRL $4, R8
	ANDL $0x0f0f0f0f, R8
	MOVL BX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, R8
	MOVL R8, 12(SP)

	VPMOVZXBW   0(SP), X9
	VINSERTI128 $1, X9, Y9, Y9

	// sumi = Σ_j (bsums[2j]+bsums[2j+1]) * min_j, in X7 as float32.
	VPMOVZXBW   8(SP), X8
	VPUNPCKLWD  X8, X8, X7
	VPUNPCKHWD  X8, X8, X8
	VINSERTI128 $1, X8, Y7, Y7
	VPMADDWD    260(DI), Y7, Y7
	VEXTRACTI128 $1, Y7, X8
	VPADDD      X8, X7, X7
	VPSHUFD     $0x4e, X7, X8
	VPADDD      X8, X7, X7
	VPSHUFD     $0xb1, X7, X8
	VPADDD      X8, X7, X7
	VCVTDQ2PS   X7, X7

	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	Q4KGROUP(0)
	Q4KGROUP(1)
	Q4KGROUP(2)
	Q4KGROUP(3)

	// d = half(x)*yd and dmin = half(x+2)*yd; sums += d*acc lanes;
	// sumf -= dmin*sumi.
	VMOVSS    0(DI), X6
	MOVL      0(SI), AX
	VMOVD     AX, X5
	VCVTPH2PS X5, X5
	VMULSS    X6, X5, X4
	VMOVSHDUP X5, X3
	VMULSS    X6, X3, X3
	VMULSS    X7, X3, X3
	VSUBSS    X3, X14, X14
	LANES(Y10, Y11, Y0, Y1)
	VBROADCASTSS X4, Y4
	VMULPS    Y4, Y0, Y0
	VADDPS    Y0, Y15, Y15

	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q4kloop

q4kdone:
	ADD8(Y15, X14)
	VZEROUPPER
	MOVSS X14, ret+24(FP)
	RET

// Q6KPAIR: chunks qa and qb of a Q6_K half (6-bit quants, shuffled) against
// the Q8_K chunks at DI+o, DI+o+32, minus 32 per quant (through Y10 = 32 in
// every byte), weighted by the scales of chunk pair p (VPERMD indices at R10);
// lanes into Y8/Y14.
#define Q6KPAIR(qa, qb, o, p) \
	VMOVDQU    o(DI), Y5; \
	VMOVDQU    (o+32)(DI), Y6; \
	VPSHUFB    Y12, Y5, Y5; \
	VPSHUFB    Y12, Y6, Y6; \
	VPMADDUBSW Y5, qa, qa; \
	VPMADDUBSW Y5, Y10, Y7; \
	VPSUBW     Y7, qa, qa; \
	VPMADDUBSW Y6, qb, qb; \
	VPMADDUBSW Y6, Y10, Y7; \
	VPSUBW     Y7, qb, qb; \
	VPUNPCKLWD qb, qa, Y5; \
	VPUNPCKHWD qb, qa, Y6; \
	VMOVDQU    (32*p)(R10), Y7; \
	VPERMD     Y9, Y7, Y7; \
	VPMADDWD   Y7, Y5, Y5; \
	VPMADDWD   Y7, Y6, Y6; \
	VPADDD     Y5, Y8, Y8; \
	VPADDD     Y6, Y14, Y14

// Q6KHALF: the 128 quants of half h of the Q6_K block at SI.
#define Q6KHALF(h) \
	VMOVDQU (64*h)(SI), Y0; \
	VMOVDQU (64*h+32)(SI), Y1; \
	VMOVDQU (128+32*h)(SI), Y2; \
	VPSHUFB Y12, Y0, Y0; \
	VPSHUFB Y12, Y1, Y1; \
	VPSHUFB Y12, Y2, Y2; \
	VPAND   Y13, Y0, Y3; \
	VPSLLW  $4, Y2, Y4; \
	VPAND   Y11, Y4, Y4; \
	VPOR    Y4, Y3, Y3; \
	VPAND   Y13, Y1, Y4; \
	VPSLLW  $2, Y2, Y5; \
	VPAND   Y11, Y5, Y5; \
	VPOR    Y5, Y4, Y4; \
	Q6KPAIR(Y3, Y4, (4+128*h), (2*h)); \
	VPSRLW  $4, Y0, Y0; \
	VPAND   Y13, Y0, Y0; \
	VPAND   Y11, Y2, Y3; \
	VPOR    Y3, Y0, Y0; \
	VPSRLW  $4, Y1, Y1; \
	VPAND   Y13, Y1, Y1; \
	VPSRLW  $2, Y2, Y3; \
	VPAND   Y11, Y3, Y3; \
	VPOR    Y3, Y1, Y1; \
	Q6KPAIR(Y0, Y1, (4+128*h+64), (2*h+1))

// func dotQ6KAVX2(w, a *byte, nb int) float32
TEXT ·dotQ6KAVX2(SB), NOSPLIT, $32-28
	MOVQ    w+0(FP), SI
	MOVQ    a+8(FP), DI
	MOVQ    nb+16(FP), CX
	VMOVDQU pairPerm<>(SB), Y12
	BROADCASTB($0x0f0f0f0f, Y13, X13)
	BROADCASTB($0x30303030, Y11, X11)
	BROADCASTB($0x20202020, Y10, X10)
	LEAQ    q6ScaleIdx<>(SB), R10
	VXORPS  Y15, Y15, Y15
	TESTQ   CX, CX
	JZ      q6kdone

q6kloop:
	VMOVDQU   192(SI), X9
	VPSHUFB   q6ScalePerm<>(SB), X9, X9
	VPMOVSXBW X9, Y9
	VPXOR     Y8, Y8, Y8
	VPXOR     Y14, Y14, Y14
	Q6KHALF(0)
	Q6KHALF(1)

	// sums += (half(x+208)*yd) * acc lanes.
	MOVWLZX   208(SI), AX
	VMOVD     AX, X5
	VCVTPH2PS X5, X5
	VMULSS    0(DI), X5, X5
	LANES(Y8, Y14, Y0, Y1)
	VBROADCASTSS X5, Y5
	VMULPS    Y5, Y0, Y0
	VADDPS    Y0, Y15, Y15

	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q6kloop

q6kdone:
	VXORPS X0, X0, X0
	ADD8(Y15, X0)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
