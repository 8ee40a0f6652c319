//go:build !purego

#include "textflag.h"

// q8LanesAVX512: q8Lanes.put in AVX-512, byte for byte. Each step is one
// VPERMD of the block's 32 quants (Y0) by its lane indices (Z8 + s·step,
// in Z8-Z15) and one store masked to the vector's lanes (K1); the scale
// is f16Table's entry, as half() reads it, so that every f16 pattern
// (signalling NaNs too) gives Go's float32 bits; the correction is the
// quants' sum, VPSADBW of the bytes biased to unsigned, times -bias.

// QLSTEP: step s of the block, at o in its laid-out block.
#define QLSTEP(Zidx, o) \
	VPERMD    Z0, Zidx, Z1; \
	VMOVDQU32 Z1, K1, o(DI)

// QLSTEPS8, QLSTEPS4, QLSTEPS2: a block's eight, four or two steps.
#define QLSTEPS4(Za, Zb, Zc, Zd, o) \
	QLSTEP(Za, o); \
	QLSTEP(Zb, o+64); \
	QLSTEP(Zc, o+128); \
	QLSTEP(Zd, o+192)

#define QLSTEPS8 \
	QLSTEPS4(Z8, Z9, Z10, Z11, 0); \
	QLSTEPS4(Z12, Z13, Z14, Z15, 256)

#define QLSTEPS2 \
	QLSTEP(Z8, 0); \
	QLSTEP(Z9, 64)

// QLLOOP: the blocks, each's quants into Y0, then STEPS and QLTAIL.
#define QLLOOP(STEPS, o, size, again) \
	VMOVDQU (2)(SI), Y0; \
	STEPS; \
	QLTAIL(o, size, again); \
	VZEROUPPER; \
	RET

// QLTAIL: the block's scale at o and its correction at o+64, then on to
// the next block of size bytes; loops to again while blocks remain.
#define QLTAIL(o, size, again) \
	MOVWLZX          (SI), AX; \
	VPBROADCASTD     (R10)(AX*4), Z2; \
	VMOVDQU32        Z2, K1, o(DI); \
	VPXORD           Y30, Y0, Y3; \
	VPSADBW          Y31, Y3, Y3; \
	VEXTRACTI128     $1, Y3, X4; \
	VPADDQ           X4, X3, X3; \
	VPSHUFD          $0x4e, X3, X4; \
	VPADDQ           X4, X3, X3; \
	VMOVD            X3, AX; \
	SUBL             $4096, AX; \
	IMULL            R8, AX; \
	VPBROADCASTD.Z   AX, K2, Z3; \
	VMOVDQU32        Z3, K1, (o+64)(DI); \
	ADDQ             $34, SI; \
	ADDQ             $size, DI; \
	DECQ             CX; \
	JNZ              again

// func q8LanesAVX512(dst, a *byte, nb int, idx *[16]uint32, step, vmask, cmask, steps, bias int)
TEXT ·q8LanesAVX512(SB), NOSPLIT, $0-72
	MOVQ         dst+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         nb+16(FP), CX
	MOVQ         idx+24(FP), AX
	VMOVDQU32    (AX), Z8
	VPBROADCASTD step+32(FP), Z16
	VPADDD       Z16, Z8, Z9
	VPADDD       Z16, Z9, Z10
	VPADDD       Z16, Z10, Z11
	VPADDD       Z16, Z11, Z12
	VPADDD       Z16, Z12, Z13
	VPADDD       Z16, Z13, Z14
	VPADDD       Z16, Z14, Z15
	MOVQ         vmask+40(FP), AX
	KMOVW        AX, K1
	MOVQ         cmask+48(FP), AX
	KMOVW        AX, K2
	MOVQ         steps+56(FP), DX
	MOVQ         bias+64(FP), R8
	NEGL         R8
	MOVQ         ·f16Table(SB), R10
	MOVL         $0x80808080, AX
	VPBROADCASTD AX, Y30
	VPXORD       Y31, Y31, Y31
	CMPQ         DX, $4
	JEQ          four
	JLT          two

eight:
	QLLOOP(QLSTEPS8, 512, 640, eight)

four:
	QLLOOP(QLSTEPS4(Z8, Z9, Z10, Z11, 0), 256, 384, four)

two:
	QLLOOP(QLSTEPS2, 128, 256, two)
