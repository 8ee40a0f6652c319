//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// Q6_K decode, four rows against one Q8_K activation row. dotK16 sums
// scale_j·q8·(q-32) into eight int32 lanes (lane = element mod 8) over the
// sixteen 16-element groups of each super-block. A 512-bit register holds
// 64 quants, four groups: they are unpacked in element order (a run of ql
// nibbles, each quant's two qh bits moved to bits 4-5 by VGF2P8AFFINEQB and
// merged by VPTERNLOGD), then transposed by VPERMB so that qword l holds
// the register's eight lane-l elements, two per group. VPMADDUBSW against
// the activations, transposed alike, gives each group's lane-l pair sum in
// a word; subtracting 32 × the same pair sums of the activations (computed
// once per super-block for all four rows) makes them Σ (q-32)·q8 exactly
// (|word| ≤ 8192), and VPDPWSSD against the four groups' scales (the same
// four words in every qword) adds them into dwords 2l and 2l+1, which then
// add exactly into lane l. The float steps are dotK16's, in its order.

// q6Perm: VPERMB indices that transpose 64 quants as an 8×8 byte matrix:
// element e to byte e>>3 of qword e&7, so that qword l holds lane l.
DATA q6Perm<>+0(SB)/8, $0x3830282018100800
DATA q6Perm<>+8(SB)/8, $0x3931292119110901
DATA q6Perm<>+16(SB)/8, $0x3a322a221a120a02
DATA q6Perm<>+24(SB)/8, $0x3b332b231b130b03
DATA q6Perm<>+32(SB)/8, $0x3c342c241c140c04
DATA q6Perm<>+40(SB)/8, $0x3d352d251d150d05
DATA q6Perm<>+48(SB)/8, $0x3e362e261e160e06
DATA q6Perm<>+56(SB)/8, $0x3f372f271f170f07
GLOBL q6Perm<>(SB), RODATA|NOPTR, $64

// q6HighBits: VGF2P8AFFINEQB bit matrices that move two bits of a qh byte
// to bits 4-5 and clear the rest: bits 0-1, 2-3, 4-5 and 6-7, the high
// bits of the four 32-quant runs that a qh byte serves.
DATA q6HighBits<>+0(SB)/8, $0x0000000001020000
DATA q6HighBits<>+8(SB)/8, $0x0000000004080000
DATA q6HighBits<>+16(SB)/8, $0x0000000010200000
DATA q6HighBits<>+24(SB)/8, $0x0000000040800000
GLOBL q6HighBits<>(SB), RODATA|NOPTR, $32

// q6LaneSel: the dwords holding lanes 0-7 of a pair's first row; the
// second row's are one further on.
DATA q6LaneSel<>+0(SB)/8, $0x0e0c0a0806040200
GLOBL q6LaneSel<>(SB), RODATA|NOPTR, $8

// q6PairSel: VPERMI2D indices that put the second dword of each lane of a
// row (Z30 or Z24) next to the first dword of the same lane of the pair's
// other row (Z31 or Z25).
DATA q6PairSel<>+0(SB)/8, $0x1607140512031001
DATA q6PairSel<>+8(SB)/8, $0x1e0f1c0d1a0b1809
GLOBL q6PairSel<>(SB), RODATA|NOPTR, $16

// Registers across the loop: Z8-Z11 the activation quants of the current
// super-block (register m = elements 64m..64m+63, transposed), Z12-Z15
// their corrections 32·(pair sums), Z16 q6Perm, Z19/Z20 q6HighBits for the
// low and the high nibbles (matrix 0 or 2 for the first 32 quants of a
// register, 1 or 3 for the last), Z21 0x0f in every byte, Z22 0x20 in every
// byte, Z23 q6PairSel, Z27 the activation scale, Z28/Z29 the float lane
// sums of rows 0, 1 and 2, 3, Z30/Z31/Z24/Z25 the integer lanes of rows
// 0-3, K1 the odd dwords. The frame holds ADD8's scratch at 0(SP) and each
// row's sign-extended scales at 32(SP) + 32·row.

// Q6KQUANTS: ACC op= quant register m of a row (Z4, unsigned 6-bit values
// in element order) against the activations Za, corrections Zc, with the
// row's scales 4m..4m+3 as words at so(SP).
#define Q6KQUANTS(OP, Za, Zc, so, ACC) \
	VPERMB       Z4, Z16, Z4; \
	VPMADDUBSW   Za, Z4, Z4; \
	VPSUBW       Zc, Z4, Z4; \
	VPBROADCASTQ so(SP), Z5; \
	OP           Z5, Z4, ACC

// Q6KLOW, Q6KHIGH: into Z4 the quants of the low or high nibbles of the 64
// ql bytes at o(R) with their qh bits from Zh (the half's 32 qh bytes,
// twice).
#define Q6KLOW(R, o, Zh) \
	VGF2P8AFFINEQB $0, Z19, Zh, Z4; \
	VPTERNLOGD     $0xb8, o(R), Z21, Z4

#define Q6KHIGH(R, o, Zh) \
	VPSRLW         $4, o(R), Z6; \
	VGF2P8AFFINEQB $0, Z20, Zh, Z4; \
	VPTERNLOGD     $0xb8, Z6, Z21, Z4

// Q6KROW: ACC = the integer lanes of one super-block of the row at R, lane
// l in dwords 2l and 2l+1; its scales pass through so(SP).
#define Q6KROW(R, ACC, so) \
	VPMOVSXBW       192(R), Y7; \
	VMOVDQU         Y7, so(SP); \
	VBROADCASTI64X4 128(R), Z2; \
	VBROADCASTI64X4 160(R), Z3; \
	Q6KLOW(R, 0, Z2); \
	Q6KQUANTS(VPMADDWD, Z8, Z12, so, ACC); \
	Q6KHIGH(R, 0, Z2); \
	Q6KQUANTS(VPDPWSSD, Z9, Z13, so+8, ACC); \
	Q6KLOW(R, 64, Z3); \
	Q6KQUANTS(VPDPWSSD, Z10, Z14, so+16, ACC); \
	Q6KHIGH(R, 64, Z3); \
	Q6KQUANTS(VPDPWSSD, Z11, Z15, so+24, ACC)

// Q6KDS: Z2 = (dA, dB) and Z1 = (dC, dD) repeated, the d = half(x[208])·yd
// of the four rows, converted together. Clobbers AX, DX.
#define Q6KDS \
	MOVWLZX      208(SI), AX; \
	MOVWLZX      208(R9), DX; \
	SHLL         $16, DX; \
	ORL          DX, AX; \
	MOVWLZX      208(R10), DX; \
	SHLQ         $32, DX; \
	ORQ          DX, AX; \
	MOVWLZX      208(R11), DX; \
	SHLQ         $48, DX; \
	ORQ          DX, AX; \
	VPBROADCASTQ AX, Y1; \
	VCVTPH2PS    Y1, Z1; \
	VMULPS       Z27, Z1, Z1; \
	VPSHUFD      $0x44, Z1, Z2; \
	VPSHUFD      $0xee, Z1, Z1

// Q6KPAIR: SUM += d·(lane sums) for a pair of rows with integer lanes in
// ZA and ZB and d in Zd, as dotK16 adds them into sums: the first row's
// lane l lands in dword 2l, the second's in dword 2l+1.
#define Q6KPAIR(ZA, ZB, Zd, SUM) \
	VPBLENDMD ZB, ZA, K1, Z0; \
	VMOVDQA64 Z23, Z3; \
	VPERMI2D  ZB, ZA, Z3; \
	VPADDD    Z3, Z0, Z0; \
	VCVTDQ2PS Z0, Z0; \
	VMULPS    Zd, Z0, Z0; \
	VADDPS    Z0, SUM, SUM

// Q6KOUT: o(AX) = laneSum(0, the lanes of SUM at dwords SEL).
#define Q6KOUT(SUM, SEL, o) \
	VPERMD SUM, SEL, Z0; \
	VXORPS X1, X1, X1; \
	ADD8(Y0, X1); \
	VMOVSS X1, o(AX)

// func dotQ6Kx4VNNI(w *byte, stride int, a *byte, nb int, out *[4]float32)
// Rows w, w+stride, w+2·stride, w+3·stride of nb super-blocks.
TEXT ·dotQ6Kx4VNNI(SB), NOSPLIT, $160-40
	ROWS4ARGS
	VMOVDQU64       q6Perm<>(SB), Z16
	MOVL            $0xf0, AX
	KMOVW           AX, K2
	VPBROADCASTQ    q6HighBits<>+0(SB), Z19
	VPBROADCASTQ    q6HighBits<>+8(SB), K2, Z19
	VPBROADCASTQ    q6HighBits<>+16(SB), Z20
	VPBROADCASTQ    q6HighBits<>+24(SB), K2, Z20
	BROADCASTB($0x0f0f0f0f, Z21, X21)
	BROADCASTB($0x20202020, Z22, X22)
	VPMOVZXBD       q6PairSel<>(SB), Z23
	MOVL            $0xaaaa, AX
	KMOVW           AX, K1
	VPXORD          Z28, Z28, Z28
	VPXORD          Z29, Z29, Z29
	TESTQ           CX, CX
	JZ              q6kx4done

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
	Q6KROW(SI, Z30, 32)
	Q6KROW(R9, Z31, 64)
	Q6KROW(R10, Z24, 96)
	Q6KROW(R11, Z25, 128)
	Q6KDS
	Q6KPAIR(Z30, Z31, Z2, Z28)
	Q6KPAIR(Z24, Z25, Z1, Z29)
	ROWS4NEXT(210, q6kx4loop)

q6kx4done:
	// Each row's eight lanes in lane order into Y0, then added up from 0 in
	// that order, as laneSum does.
	VPMOVZXBD q6LaneSel<>(SB), Y2
	BROADCASTB($1, Y3, X3)
	VPADDD    Y3, Y2, Y3
	MOVQ      out+32(FP), AX
	Q6KOUT(Z28, Z2, 0)
	Q6KOUT(Z28, Z3, 4)
	Q6KOUT(Z29, Z2, 8)
	Q6KOUT(Z29, Z3, 12)
	VZEROUPPER
	RET
