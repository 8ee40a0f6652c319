//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// AVX2 dot kernels. The integer kernels compute each block's integer sum
// exactly in vector registers, then apply the float scales and add the
// per-block terms to the running sum one at a time, in block order: the
// same float operations in the same order as the pure-Go kernels, so the
// results are bit-identical.

// SIGNDOT: R = int32x8 partial sums of w·a for 32 signed bytes w (in Y8) and
// a (in Y9), via |w| · (a*sign(w)) as unsigned×signed byte products (ggml's
// mul_sum_i8_pairs). Needs Y14 = 1 in every int16. Clobbers Y9, Y10.
#define SIGNDOT(R) \
	VPSIGNB    Y8, Y8, Y10; \
	VPSIGNB    Y8, Y9, Y9; \
	VPMADDUBSW Y9, Y10, R; \
	VPMADDWD   Y14, R, R

// Q80BLOCK: R = partial sums of the Q8_0 block at SI+o against DI+o.
#define Q80BLOCK(o, R) \
	VMOVDQU o+2(SI), Y8; \
	VMOVDQU o+2(DI), Y9; \
	SIGNDOT(R)

// Q40BLOCK: R = partial sums of the Q4_0 block at SI+wo (nibbles minus 8)
// against the Q8_0 block at DI+ao. Needs Y13 = 0x0f, Y12 = 8 in every byte.
#define Q40BLOCK(wo, ao, R) \
	VMOVDQU     wo+2(SI), X8; \
	VPSRLW      $4, X8, X9; \
	VINSERTI128 $1, X9, Y8, Y8; \
	VPAND       Y13, Y8, Y8; \
	VPSUBB      Y12, Y8, Y8; \
	VMOVDQU     ao+2(DI), Y9; \
	SIGNDOT(R)

// REDUCE8: from Y0 = hadd-tree of blocks 0-3 and Y1 of blocks 4-7 (each
// [b0..b3 low halves | b0..b3 high halves]), Y5 = the eight block sums as
// float32, block 0 in lane 0.
#define REDUCE8 \
	VPERM2I128 $0x20, Y1, Y0, Y5; \
	VPERM2I128 $0x31, Y1, Y0, Y6; \
	VPADDD     Y6, Y5, Y5; \
	VCVTDQ2PS  Y5, Y5

// HALVES: Y = the eight f16 scales at R+0, R+s, ..., R+7s as float32.
#define HALVES(R, s, X, Y) \
	VPINSRW   $0, 0(R), X, X; \
	VPINSRW   $1, (1*s)(R), X, X; \
	VPINSRW   $2, (2*s)(R), X, X; \
	VPINSRW   $3, (3*s)(R), X, X; \
	VPINSRW   $4, (4*s)(R), X, X; \
	VPINSRW   $5, (5*s)(R), X, X; \
	VPINSRW   $6, (6*s)(R), X, X; \
	VPINSRW   $7, (7*s)(R), X, X; \
	VCVTPH2PS X, Y

// FLOATPROLOGUE loads a float kernel's arguments (SI, DI, CX = batches of
// 32) and zeroes its accumulators Y4-Y7.
#define FLOATPROLOGUE \
	MOVQ   a+0(FP), SI; \
	MOVQ   b+8(FP), DI; \
	MOVQ   n+16(FP), CX; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7; \
	SHRQ   $5, CX

// HSUM4: X4 = the float32 sum of the 32 lanes of Y4..Y7.
#define HSUM4 \
	VADDPS       Y5, Y4, Y4; \
	VADDPS       Y7, Y6, Y6; \
	VADDPS       Y6, Y4, Y4; \
	VEXTRACTF128 $1, Y4, X5; \
	VADDPS       X5, X4, X4; \
	VHADDPS      X4, X4, X4; \
	VHADDPS      X4, X4, X4

// func dotQ8_0AVX2(w, a *byte, nb int) float32
// nb: a multiple of 8 blocks.
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $32-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	ONES16(Y14, X14)
	VXORPS X15, X15, X15
	SHRQ   $3, CX
	JZ     q80done

q80loop:
	Q80BLOCK(0, Y0)
	Q80BLOCK(34, Y1)
	VPHADDD Y1, Y0, Y0
	Q80BLOCK(68, Y1)
	Q80BLOCK(102, Y2)
	VPHADDD Y2, Y1, Y1
	VPHADDD Y1, Y0, Y0
	Q80BLOCK(136, Y1)
	Q80BLOCK(170, Y2)
	VPHADDD Y2, Y1, Y1
	Q80BLOCK(204, Y2)
	Q80BLOCK(238, Y3)
	VPHADDD Y3, Y2, Y2
	VPHADDD Y2, Y1, Y1
	REDUCE8
	HALVES(SI, 34, X6, Y6)
	HALVES(DI, 34, X7, Y7)
	VMULPS  Y7, Y6, Y6     // dx*dy
	VMULPS  Y6, Y5, Y5     // sumi*(dx*dy)
	ADD8(Y5, X15)
	ADDQ    $272, SI
	ADDQ    $272, DI
	DECQ    CX
	JNZ     q80loop

q80done:
	VZEROUPPER
	MOVSS X15, ret+24(FP)
	RET

// func dotQ4_0AVX2(w, a *byte, nb int) float32
// nb: a multiple of 8 blocks.
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $32-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	ONES16(Y14, X14)
	BROADCASTB($0x0f0f0f0f, Y13, X13)
	BROADCASTB($0x08080808, Y12, X12)
	VXORPS       X15, X15, X15
	SHRQ         $3, CX
	JZ           q40done

q40loop:
	Q40BLOCK(0, 0, Y0)
	Q40BLOCK(18, 34, Y1)
	VPHADDD Y1, Y0, Y0
	Q40BLOCK(36, 68, Y1)
	Q40BLOCK(54, 102, Y2)
	VPHADDD Y2, Y1, Y1
	VPHADDD Y1, Y0, Y0
	Q40BLOCK(72, 136, Y1)
	Q40BLOCK(90, 170, Y2)
	VPHADDD Y2, Y1, Y1
	Q40BLOCK(108, 204, Y2)
	Q40BLOCK(126, 238, Y3)
	VPHADDD Y3, Y2, Y2
	VPHADDD Y2, Y1, Y1
	REDUCE8
	HALVES(SI, 18, X6, Y6)
	HALVES(DI, 34, X7, Y7)
	VMULPS  Y6, Y5, Y5     // sumi*dx
	VMULPS  Y7, Y5, Y5     // (sumi*dx)*dy
	ADD8(Y5, X15)
	ADDQ    $144, SI
	ADDQ    $272, DI
	DECQ    CX
	JNZ     q40loop

q40done:
	VZEROUPPER
	MOVSS X15, ret+24(FP)
	RET

// func dotF32AVX2(a, b *byte, n int) float32
// n: a multiple of 32. Four FMA accumulators of eight lanes each.
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-28
	FLOATPROLOGUE
	JZ     f32done

f32loop:
	VMOVUPS     0(SI), Y0
	VMOVUPS     32(SI), Y1
	VMOVUPS     64(SI), Y2
	VMOVUPS     96(SI), Y3
	VFMADD231PS 0(DI), Y0, Y4
	VFMADD231PS 32(DI), Y1, Y5
	VFMADD231PS 64(DI), Y2, Y6
	VFMADD231PS 96(DI), Y3, Y7
	ADDQ        $128, SI
	ADDQ        $128, DI
	DECQ        CX
	JNZ         f32loop

f32done:
	HSUM4
	VZEROUPPER
	MOVSS X4, ret+24(FP)
	RET

// func dotF16AVX2(a, b *byte, n int) float32
// n: a multiple of 32 halves.
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	FLOATPROLOGUE
	JZ     f16done

f16loop:
	VCVTPH2PS   0(SI), Y0
	VCVTPH2PS   16(SI), Y1
	VCVTPH2PS   32(SI), Y2
	VCVTPH2PS   48(SI), Y3
	VCVTPH2PS   0(DI), Y8
	VCVTPH2PS   16(DI), Y9
	VCVTPH2PS   32(DI), Y10
	VCVTPH2PS   48(DI), Y11
	VFMADD231PS Y8, Y0, Y4
	VFMADD231PS Y9, Y1, Y5
	VFMADD231PS Y10, Y2, Y6
	VFMADD231PS Y11, Y3, Y7
	ADDQ        $64, SI
	ADDQ        $64, DI
	DECQ        CX
	JNZ         f16loop

f16done:
	HSUM4
	VZEROUPPER
	MOVSS X4, ret+24(FP)
	RET

// func dotBF16AVX2(a, b *byte, n int) float32
// n: a multiple of 32; bf16 widens to float32 by a 16-bit left shift.
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-28
	FLOATPROLOGUE
	JZ     bf16done

bf16loop:
	VPMOVZXWD   0(SI), Y0
	VPMOVZXWD   16(SI), Y1
	VPMOVZXWD   32(SI), Y2
	VPMOVZXWD   48(SI), Y3
	VPMOVZXWD   0(DI), Y8
	VPMOVZXWD   16(DI), Y9
	VPMOVZXWD   32(DI), Y10
	VPMOVZXWD   48(DI), Y11
	VPSLLD      $16, Y0, Y0
	VPSLLD      $16, Y1, Y1
	VPSLLD      $16, Y2, Y2
	VPSLLD      $16, Y3, Y3
	VPSLLD      $16, Y8, Y8
	VPSLLD      $16, Y9, Y9
	VPSLLD      $16, Y10, Y10
	VPSLLD      $16, Y11, Y11
	VFMADD231PS Y8, Y0, Y4
	VFMADD231PS Y9, Y1, Y5
	VFMADD231PS Y10, Y2, Y6
	VFMADD231PS Y11, Y3, Y7
	ADDQ        $64, SI
	ADDQ        $64, DI
	DECQ        CX
	JNZ         bf16loop

bf16done:
	HSUM4
	VZEROUPPER
	MOVSS X4, ret+24(FP)
	RET

// func axpyAVX2(alpha float32, x, y *float32, n int)
// n: a multiple of 8. y += alpha*x with the product rounded before the add,
// as the Go loop does, so the result is bit-identical.
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y0
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX
	SHRQ         $3, CX
	JZ           axpydone

axpyloop:
	VMULPS  0(SI), Y0, Y1
	VADDPS  0(DI), Y1, Y1
	VMOVUPS Y1, 0(DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     axpyloop

axpydone:
	VZEROUPPER
	RET
