//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// Q6_K decode, four rows against one Q8_K activation row. dotK16 sums
// scale_j·q8·(q-32) into eight int32 lanes (lane = element mod 8) over the
// sixteen 16-element groups of each super-block. Here a 512-bit register
// holds 64 quants, two 32-element chunks c, permuted by q6Perm so that
// dword k holds the elements l, l+8 (group 2c) and l+16, l+24 (group 2c+1)
// of chunk c = k>>1 & 1 at lane l = (k>>2)·2 + (k&1). VPMADDUBSW of the
// unsigned quants against the activations, permuted alike, then gives each
// group's pair sum for one lane in a word; subtracting 32 × the same pair
// sums of the activations (computed once per super-block for all four rows)
// makes them Σ (q-32)·q8 exactly (|word| ≤ 8192), and VPDPWSSD against the
// chunk's scale pair adds both groups into the dword. Dwords k and k^2 are
// then the two chunks of one lane and add exactly. The float steps are
// dotK16's, in its order.

// q6Perm: VPERMB indices putting 64 elements in the lane order above.
DATA q6Perm<>+0(SB)/8, $0x1911090118100800
DATA q6Perm<>+8(SB)/8, $0x3931292138302820
DATA q6Perm<>+16(SB)/8, $0x1b130b031a120a02
DATA q6Perm<>+24(SB)/8, $0x3b332b233a322a22
DATA q6Perm<>+32(SB)/8, $0x1d150d051c140c04
DATA q6Perm<>+40(SB)/8, $0x3d352d253c342c24
DATA q6Perm<>+48(SB)/8, $0x1f170f071e160e06
DATA q6Perm<>+56(SB)/8, $0x3f372f273e362e26
GLOBL q6Perm<>(SB), RODATA|NOPTR, $64

// q6HighBits: VGF2P8AFFINEQB bit matrices (qword pairs, one per chunk as
// q6Perm alternates them) moving an element's two qh bits to bits 4-5 and
// clearing the rest: for the quants of ql's low nibbles (qh bits 0-1 in
// chunk 0, 2-3 in chunk 1), then for its high ones (bits 4-5, 6-7).
DATA q6HighBits<>+0(SB)/8, $0x0000000001020000
DATA q6HighBits<>+8(SB)/8, $0x0000000004080000
DATA q6HighBits<>+16(SB)/8, $0x0000000010200000
DATA q6HighBits<>+24(SB)/8, $0x0000000040800000
GLOBL q6HighBits<>(SB), RODATA|NOPTR, $32

// q6ScaleSel: VPERMD indices (per 128 bits) giving each dword of quant
// register 0 the scale pair (s[2c], s[2c+1]) of its chunk c from the sixteen
// sign-extended scales (dword i = s[2i], s[2i+1]); register m adds 2m.
DATA q6ScaleSel<>+0(SB)/8, $0x0000000000000000
DATA q6ScaleSel<>+8(SB)/8, $0x0000000100000001
GLOBL q6ScaleSel<>(SB), RODATA|NOPTR, $16

// q6LaneSel: the dwords holding lanes 0-7 of a pair's first row; the
// second row's are two further on.
DATA q6LaneSel<>+0(SB)/8, $0x0d0c090805040100
GLOBL q6LaneSel<>(SB), RODATA|NOPTR, $8

// Registers across the loop: Z8-Z11 the activation quants of the current
// super-block (register m = elements 64m..64m+63, permuted), Z12-Z15 their
// corrections 32·(pair sums), Z16 q6Perm, Z17/Z18 the VPERMB indices that
// take each element's qh byte in q6Perm's order (element e of a 64-quant
// half uses qh byte e mod 32) from the 64 qh bytes, for half 0 and half 1,
// Z19/Z20 q6HighBits, Z21 0x0f in every byte, Z22 0x20 in every byte,
// Z23-Z26 q6ScaleSel for registers 0-3, Z27 the activation scale, Z28/Z29
// the float lane sums of rows 0, 1 and 2, 3, Z30/Z31 a pair of rows'
// integer lanes.

// Q6KQUANTS: ACC op= register m of a row's quants against the activations:
// Zq holds the quants' unsigned 6-bit values, Zs the row's scales.
#define Q6KQUANTS(OP, Zq, Za, Zc, Zsel, Zs, ACC) \
	VPMADDUBSW Za, Zq, Zq; \
	VPSUBW     Zc, Zq, Zq; \
	VPERMD     Zs, Zsel, Z5; \
	OP         Z5, Zq, ACC

// Q6KLOW, Q6KHIGH: the quants of ql's low or high nibbles in Zl (permuted
// ql bytes) with their qh bits from Zh (permuted qh bytes) into Z4.
#define Q6KLOW(Zl, Zh) \
	VGF2P8AFFINEQB $0, Z19, Zh, Z4; \
	VPTERNLOGD     $0xd8, Z21, Zl, Z4

#define Q6KHIGH(Zl, Zh) \
	VPSRLW         $4, Zl, Z6; \
	VGF2P8AFFINEQB $0, Z20, Zh, Z4; \
	VPTERNLOGD     $0xd8, Z21, Z6, Z4

// Q6KROW: ACC = the integer lanes of one super-block of the row at R
// (lanes as in the layout above, each in two dwords).
#define Q6KROW(R, ACC) \
	VPMOVSXBW 192(R), Y7; \
	VPERMB    0(R), Z16, Z0; \
	VPERMB    64(R), Z16, Z1; \
	VMOVDQU64 128(R), Z2; \
	VPERMB    Z2, Z17, Z3; \
	VPERMB    Z2, Z18, Z2; \
	Q6KLOW(Z0, Z3); \
	Q6KQUANTS(VPMADDWD, Z4, Z8, Z12, Z23, Z7, ACC); \
	Q6KHIGH(Z0, Z3); \
	Q6KQUANTS(VPDPWSSD, Z4, Z9, Z13, Z24, Z7, ACC); \
	Q6KLOW(Z1, Z2); \
	Q6KQUANTS(VPDPWSSD, Z4, Z10, Z14, Z25, Z7, ACC); \
	Q6KHIGH(Z1, Z2); \
	Q6KQUANTS(VPDPWSSD, Z4, Z11, Z15, Z26, Z7, ACC)

// Q6KPAIR: SUM += d·(lane sums) for the rows at RA (integer lanes in Z30)
// and RB (Z31), as dotK16 adds them into sums: row RA's lanes land in the
// dwords of chunk 0, row RB's in those of chunk 1 (K1), each with its own
// d = half(x[208])·yd.
#define Q6KPAIR(RA, RB, SUM) \
	VPBLENDMD    Z31, Z30, K1, Z0; \
	VPBLENDMD    Z30, Z31, K1, Z1; \
	VPSHUFD      $0x4e, Z1, Z1; \
	VPADDD       Z1, Z0, Z0; \
	VCVTDQ2PS    Z0, Z0; \
	VPBROADCASTW 208(RA), Y1; \
	VPBROADCASTW 208(RB), K1, Y1; \
	VCVTPH2PS    Y1, Z1; \
	VMULPS       Z27, Z1, Z1; \
	VMULPS       Z1, Z0, Z0; \
	VADDPS       Z0, SUM, SUM

// Q6KOUT: o(AX) = laneSum(0, the lanes of SUM at dwords SEL).
#define Q6KOUT(SUM, SEL, o) \
	VPERMD SUM, SEL, Z0; \
	VXORPS X1, X1, X1; \
	ADD8(Y0, X1); \
	VMOVSS X1, o(AX)

// func dotQ6Kx4VNNI(w *byte, stride int, a *byte, nb int, out *[4]float32)
// Rows w, w+stride, w+2·stride, w+3·stride of nb super-blocks.
TEXT ·dotQ6Kx4VNNI(SB), NOSPLIT, $32-40
	ROWS4ARGS
	VMOVDQU64      q6Perm<>(SB), Z16
	BROADCASTB($0x1f1f1f1f, Z17, X17)
	VPANDD         Z16, Z17, Z17
	BROADCASTB($0x20202020, Z22, X22)
	VPORD          Z22, Z17, Z18
	VBROADCASTI32X4 q6HighBits<>+0(SB), Z19
	VBROADCASTI32X4 q6HighBits<>+16(SB), Z20
	BROADCASTB($0x0f0f0f0f, Z21, X21)
	VBROADCASTI32X4 q6ScaleSel<>(SB), Z23
	BROADCASTB($2, Z0, X0)
	VPADDD         Z0, Z23, Z24
	VPADDD         Z0, Z24, Z25
	VPADDD         Z0, Z25, Z26
	MOVL           $0xcccc, AX
	KMOVW          AX, K1
	VPXORD         Z28, Z28, Z28
	VPXORD         Z29, Z29, Z29
	TESTQ          CX, CX
	JZ             q6kx4done

q6kx4loop:
	PREFETCH4(R8, 0)
	PREFETCH4(R8, 64)
	PREFETCH4(R8, 128)
	PREFETCH4(R8, 192)
	VBROADCASTSS 0(DI), Z27
	VPERMB       4(DI), Z16, Z8
	VPERMB       68(DI), Z16, Z9
	VPERMB       132(DI), Z16, Z10
	VPERMB       196(DI), Z16, Z11
	VPMADDUBSW   Z8, Z22, Z12
	VPMADDUBSW   Z9, Z22, Z13
	VPMADDUBSW   Z10, Z22, Z14
	VPMADDUBSW   Z11, Z22, Z15
	Q6KROW(SI, Z30)
	Q6KROW(R9, Z31)
	Q6KPAIR(SI, R9, Z28)
	Q6KROW(R10, Z30)
	Q6KROW(R11, Z31)
	Q6KPAIR(R10, R11, Z29)
	ROWS4NEXT(210, q6kx4loop)

q6kx4done:
	// Each row's eight lanes in lane order into Y0, then added up from 0 in
	// that order, as laneSum does.
	VPMOVZXBD q6LaneSel<>(SB), Y2
	BROADCASTB($2, Y3, X3)
	VPADDD    Y3, Y2, Y3
	MOVQ      out+32(FP), AX
	Q6KOUT(Z28, Z2, 0)
	Q6KOUT(Z28, Z3, 4)
	Q6KOUT(Z29, Z2, 8)
	Q6KOUT(Z29, Z3, 12)
	VZEROUPPER
	RET
