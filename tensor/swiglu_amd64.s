//go:build !purego

#include "textflag.h"

// swigluAVX512 is swigluGo's sixteen-lane part with the float operations
// of ggml_v_silu / ggml_v_expf (AVX-512 form) in 512-bit registers, so each
// lane's result equals siluVec(g)·u bit for bit.

// Broadcast constants, one float32 each (expf.go names them).
DATA swigluK<>+0(SB)/4, $0x4b400000  // r = 0x1.8p23 (round to integer)
DATA swigluK<>+4(SB)/4, $0x3fb8aa3b  // log2(e)
DATA swigluK<>+8(SB)/4, $0x3f317200  // ln2, high part
DATA swigluK<>+12(SB)/4, $0x35bfbe8e // ln2, low part
DATA swigluK<>+16(SB)/4, $0x3c072010 // polynomial coefficients, highest first
DATA swigluK<>+20(SB)/4, $0x3d2b9f17
DATA swigluK<>+24(SB)/4, $0x3e2aaf33
DATA swigluK<>+28(SB)/4, $0x3efffedb
DATA swigluK<>+32(SB)/4, $0x3f7ffff6
DATA swigluK<>+36(SB)/4, $0x3f800000 // 1
DATA swigluK<>+40(SB)/4, $0x43400000 // 192, the saturation bound of |n|
DATA swigluK<>+44(SB)/4, $0x7f800000 // +Inf
DATA swigluK<>+48(SB)/4, $0x7fffffff // |x| mask
GLOBL swigluK<>(SB), RODATA|NOPTR, $52

// func swigluAVX512(dst, gate, up *float32, n int)
// n: a multiple of 16.
TEXT ·swigluAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $4, CX
	JZ   done
	VBROADCASTSS swigluK<>+0(SB), Z16
	VBROADCASTSS swigluK<>+4(SB), Z17
	VBROADCASTSS swigluK<>+8(SB), Z18
	VBROADCASTSS swigluK<>+12(SB), Z19
	VBROADCASTSS swigluK<>+16(SB), Z20
	VBROADCASTSS swigluK<>+20(SB), Z21
	VBROADCASTSS swigluK<>+24(SB), Z22
	VBROADCASTSS swigluK<>+28(SB), Z23
	VBROADCASTSS swigluK<>+32(SB), Z24
	VBROADCASTSS swigluK<>+36(SB), Z25
	VBROADCASTSS swigluK<>+40(SB), Z26
	VBROADCASTSS swigluK<>+44(SB), Z27
	VBROADCASTSS swigluK<>+48(SB), Z28
	VPXORD       Z31, Z31, Z31

loop:
	VMOVUPS      (SI), Z0
	VSUBPS       Z0, Z31, Z2      // x = 0 - g
	VMOVAPS      Z16, Z3
	VFMADD231PS  Z17, Z2, Z3      // z = x·log2e + r
	VSUBPS       Z16, Z3, Z4      // n = z - r
	VMOVAPS      Z2, Z5
	VFNMADD231PS Z18, Z4, Z5      // x - n·ln2hi
	VFNMADD231PS Z19, Z4, Z5      // b = … - n·ln2lo
	VANDPS       Z28, Z4, Z6
	VCMPPS       $30, Z26, Z6, K1 // |n| > 192 (GT_OQ)
	VMULPS       Z5, Z5, Z7       // u = b·b
	VMOVAPS      Z21, Z8
	VFMADD231PS  Z20, Z5, Z8      // p5·b + p4
	VMOVAPS      Z23, Z9
	VFMADD231PS  Z22, Z5, Z9      // p3·b + p2
	VFMADD231PS  Z7, Z8, Z9       // (p5·b + p4)·u + (p3·b + p2)
	VMOVAPS      Z25, Z10
	VFMADD231PS  Z24, Z5, Z10     // p1·b + 1
	VFMADD231PS  Z7, Z9, Z10      // j
	VSCALEFPS    Z4, Z10, Z11     // j·2^n
	VCMPPS       $18, Z31, Z4, K2 // n ≤ 0 (LE_OQ)
	VBLENDMPS    Z31, Z27, K2, Z12
	VMOVAPS      Z12, K1, Z11     // saturated lanes: 0 or +Inf
	VADDPS       Z25, Z11, Z11    // 1 + exp(-g)
	VDIVPS       Z11, Z0, Z13     // g / (1 + exp(-g))
	VMULPS       (DX), Z13, Z13
	VMOVUPS      Z13, (DI)
	ADDQ         $64, SI
	ADDQ         $64, DX
	ADDQ         $64, DI
	DECQ         CX
	JNZ          loop

done:
	VZEROUPPER
	RET
