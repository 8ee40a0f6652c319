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

// The decode kernel dotQ4Kx4VNNI (MatMul with one vector) takes four rows
// per super-block and does the per-row bookkeeping for all four at once:
// one zmm holds the four rows' 16-byte headers (d, dmin, twelve scale
// bytes), one lane each, and a few byte shuffles unpack all 32 scales and
// 32 mins together. Each chunk then costs two multiplies: VPMADDUBSW of the
// lane-ordered nibbles and activations leaves words 2l and 2l+1 holding
// halves of lane l's sum (each at most 2·15·128, no saturation), and
// VPDPWSSD against the scale as the word pair (s, s) adds s·(lane sum)
// into dword l. The mins term and the f16 super-scales of the four rows go
// through one vector each.
//
// What depends on the activations alone is done once per MatMul by
// layoutQ4KDecodeVNNI, into q4kDecodeBlock (448) bytes per super-block:
// the 256 quants in lane order (as permuteQ8K), the bsum pairs (bs[2j],
// bs[2j+1]) each in four dwords against q4kMinIdx's mins (j = 0-3 at 256,
// 4-7 at 320), and the scale d at 384.
//
// The loop is software-pipelined: while it multiplies super-block i it
// unpacks the headers of super-block i+1 into the other of two scratch
// areas, its pieces placed between the rows' so that the shuffle-heavy
// header work and the multiply-heavy row work issue side by side rather
// than one waiting for the other. Registers across the loop: SI, R9, R10,
// R11 the rows, DI the activations, CX the super-blocks left in the
// group, DX and BX the next header's offset from the rows and from the
// activations, R12 and R13 this and the next super-block's scratch, R8
// 16·stride for PREFETCH4 (the next call's rows: DRAM-resident weights
// stream fastest from that far ahead); Y0, Y1 and Z2-Z6 temporaries of
// the rows and of the headers, X7 the next super-block's mins term of each
// row, Y8, Y9, Y30, Y31 the rows' integer lanes, Z10-Z14 the index tables
// below, X15 the running sumf of each row, Y16-Y23 the activation chunks,
// Y24 lanePerm, Y25 0x0f in every byte, Y26-Y29 the rows' float lane sums.

// q4kShufA, q4kShufC: VPSHUFB indices that gather, per row lane, the scale
// bytes q[0:12] (at header offset 4) that scaleMinK4 takes scales and mins
// from: A = q0-q3, q8-q11, q4-q7, q8-q11 (low six bits or a nibble), C =
// the bytes whose top two bits become bits 4-5 of scales 4-7 and mins 4-7.
DATA q4kShufA<>+0(SB)/8, $0x0f0e0d0c07060504
DATA q4kShufA<>+8(SB)/8, $0x0f0e0d0c0b0a0908
DATA q4kShufA<>+16(SB)/8, $0x0f0e0d0c07060504
DATA q4kShufA<>+24(SB)/8, $0x0f0e0d0c0b0a0908
DATA q4kShufA<>+32(SB)/8, $0x0f0e0d0c07060504
DATA q4kShufA<>+40(SB)/8, $0x0f0e0d0c0b0a0908
DATA q4kShufA<>+48(SB)/8, $0x0f0e0d0c07060504
DATA q4kShufA<>+56(SB)/8, $0x0f0e0d0c0b0a0908
GLOBL q4kShufA<>(SB), RODATA|NOPTR, $64

DATA q4kShufC<>+0(SB)/8, $0x0706050480808080
DATA q4kShufC<>+8(SB)/8, $0x0b0a090880808080
DATA q4kShufC<>+16(SB)/8, $0x0706050480808080
DATA q4kShufC<>+24(SB)/8, $0x0b0a090880808080
DATA q4kShufC<>+32(SB)/8, $0x0706050480808080
DATA q4kShufC<>+40(SB)/8, $0x0b0a090880808080
DATA q4kShufC<>+48(SB)/8, $0x0706050480808080
DATA q4kShufC<>+56(SB)/8, $0x0b0a090880808080
GLOBL q4kShufC<>(SB), RODATA|NOPTR, $64

// q4kMask6: per row lane, which bits of A are scale or min bits.
DATA q4kMask6<>+0(SB)/8, $0x0f0f0f0f3f3f3f3f
GLOBL q4kMask6<>(SB), RODATA|NOPTR, $8

// q4kHigh2: bits 4-5 of every byte.
DATA q4kHigh2<>+0(SB)/4, $0x30303030
GLOBL q4kHigh2<>(SB), RODATA|NOPTR, $4

// q4kScaleIdx: VPERMB indices (even bytes; odd ones are zeroed) from the
// unpacked headers (row r's scales at byte 16r, mins at 16r+8) to the word
// pairs (s, s) of row r, chunk j at dword 8r+j.
DATA q4kScaleIdx<>+0(SB)/8, $0x0001000100000000
DATA q4kScaleIdx<>+8(SB)/8, $0x0003000300020002
DATA q4kScaleIdx<>+16(SB)/8, $0x0005000500040004
DATA q4kScaleIdx<>+24(SB)/8, $0x0007000700060006
DATA q4kScaleIdx<>+32(SB)/8, $0x0011001100100010
DATA q4kScaleIdx<>+40(SB)/8, $0x0013001300120012
DATA q4kScaleIdx<>+48(SB)/8, $0x0015001500140014
DATA q4kScaleIdx<>+56(SB)/8, $0x0017001700160016
DATA q4kScaleIdx<>+64(SB)/8, $0x0021002100200020
DATA q4kScaleIdx<>+72(SB)/8, $0x0023002300220022
DATA q4kScaleIdx<>+80(SB)/8, $0x0025002500240024
DATA q4kScaleIdx<>+88(SB)/8, $0x0027002700260026
DATA q4kScaleIdx<>+96(SB)/8, $0x0031003100300030
DATA q4kScaleIdx<>+104(SB)/8, $0x0033003300320032
DATA q4kScaleIdx<>+112(SB)/8, $0x0035003500340034
DATA q4kScaleIdx<>+120(SB)/8, $0x0037003700360036
GLOBL q4kScaleIdx<>(SB), RODATA|NOPTR, $128

// q4kMinIdx: likewise, the word pairs (m, m) of row r, chunk j at dword
// 4j+r (chunks 0-3, then 4-7 in the second 64 bytes).
DATA q4kMinIdx<>+0(SB)/8, $0x0018001800080008
DATA q4kMinIdx<>+8(SB)/8, $0x0038003800280028
DATA q4kMinIdx<>+16(SB)/8, $0x0019001900090009
DATA q4kMinIdx<>+24(SB)/8, $0x0039003900290029
DATA q4kMinIdx<>+32(SB)/8, $0x001a001a000a000a
DATA q4kMinIdx<>+40(SB)/8, $0x003a003a002a002a
DATA q4kMinIdx<>+48(SB)/8, $0x001b001b000b000b
DATA q4kMinIdx<>+56(SB)/8, $0x003b003b002b002b
DATA q4kMinIdx<>+64(SB)/8, $0x001c001c000c000c
DATA q4kMinIdx<>+72(SB)/8, $0x003c003c002c002c
DATA q4kMinIdx<>+80(SB)/8, $0x001d001d000d000d
DATA q4kMinIdx<>+88(SB)/8, $0x003d003d002d002d
DATA q4kMinIdx<>+96(SB)/8, $0x001e001e000e000e
DATA q4kMinIdx<>+104(SB)/8, $0x003e003e002e002e
DATA q4kMinIdx<>+112(SB)/8, $0x001f001f000f000f
DATA q4kMinIdx<>+120(SB)/8, $0x003f003f002f002f
GLOBL q4kMinIdx<>(SB), RODATA|NOPTR, $128

// q4kBsumIdx: VPERMD indices that put the activation's bsum pair j (dword j
// of its bsums) at dwords 4j..4j+3, for the decode layout.
DATA q4kBsumIdx<>+0(SB)/8, $0x0000000000000000
DATA q4kBsumIdx<>+8(SB)/8, $0x0000000000000000
DATA q4kBsumIdx<>+16(SB)/8, $0x0000000100000001
DATA q4kBsumIdx<>+24(SB)/8, $0x0000000100000001
DATA q4kBsumIdx<>+32(SB)/8, $0x0000000200000002
DATA q4kBsumIdx<>+40(SB)/8, $0x0000000200000002
DATA q4kBsumIdx<>+48(SB)/8, $0x0000000300000003
DATA q4kBsumIdx<>+56(SB)/8, $0x0000000300000003
DATA q4kBsumIdx<>+64(SB)/8, $0x0000000400000004
DATA q4kBsumIdx<>+72(SB)/8, $0x0000000400000004
DATA q4kBsumIdx<>+80(SB)/8, $0x0000000500000005
DATA q4kBsumIdx<>+88(SB)/8, $0x0000000500000005
DATA q4kBsumIdx<>+96(SB)/8, $0x0000000600000006
DATA q4kBsumIdx<>+104(SB)/8, $0x0000000600000006
DATA q4kBsumIdx<>+112(SB)/8, $0x0000000700000007
DATA q4kBsumIdx<>+120(SB)/8, $0x0000000700000007
GLOBL q4kBsumIdx<>(SB), RODATA|NOPTR, $128

// q4kHdrIdx: VPERMD indices of the four rows' (d, dmin) dwords.
DATA q4kHdrIdx<>+0(SB)/8, $0x0000000400000000
DATA q4kHdrIdx<>+8(SB)/8, $0x0000000c00000008
GLOBL q4kHdrIdx<>(SB), RODATA|NOPTR, $16

// The header pieces, in order, for the super-block at DX past the rows and
// BX past the activations, into the scratch at R13.

// Q4KHLOAD: Z2 = the four rows' headers, row r in 128-bit lane r.
#define Q4KHLOAD \
	VMOVDQU      (SI)(DX*1), X2; \
	VINSERTI32X4 $1, (R9)(DX*1), Z2, Z2; \
	VINSERTI32X4 $2, (R10)(DX*1), Z2, Z2; \
	VINSERTI32X4 $3, (R11)(DX*1), Z2, Z2

// Q4KHUNPACK1, Q4KHUNPACK2: Z4 = per row lane its eight scales, then its
// eight mins, as scaleMinK4 unpacks them: the low bits from A (the high
// nibble in bytes 12-15, blend mask K1), bits 4-5 from C.
#define Q4KHUNPACK1 \
	VPSHUFB   q4kShufA<>(SB), Z2, Z3; \
	VPSRLW    $4, Z3, Z4; \
	VPBLENDMB Z4, Z3, K1, Z3

#define Q4KHUNPACK2 \
	VPSHUFB         q4kShufC<>(SB), Z2, Z4; \
	VPSRLW          $2, Z4, Z4; \
	VPANDD.BCST     q4kHigh2<>(SB), Z4, Z4; \
	VPTERNLOGQ.BCST $0xf8, q4kMask6<>(SB), Z3, Z4

// Q4KHSCALES: the scale word pairs to 0(R13), row r chunk j at 32r+4j (K2
// zeroes the odd bytes).
#define Q4KHSCALES \
	VPERMB.Z  Z4, Z10, K2, Z3; \
	VMOVDQU64 Z3, 0(R13); \
	VPERMB.Z  Z4, Z11, K2, Z5; \
	VMOVDQU64 Z5, 64(R13)

// Q4KHMINS1-3: X3 = each row's Σ mins·(bsum pairs), exact: the mins as
// word pairs (m, m), row r chunk j at dword 4j+r, against the layout's bsum
// pairs, and the four chunks of each row in a dword folded together.
#define Q4KHMINS1 \
	VPERMB.Z Z4, Z12, K2, Z3; \
	VPERMB.Z Z4, Z13, K2, Z4; \
	VMOVDQU64 256(DI)(BX*1), Z6

#define Q4KHMINS2 \
	VPMADDWD  Z6, Z3, Z3; \
	VMOVDQU64 320(DI)(BX*1), Z5; \
	VPDPWSSD  Z5, Z4, Z3

#define Q4KHMINS3 \
	VEXTRACTI64X4 $1, Z3, Y4; \
	VPADDD        Y4, Y3, Y3; \
	VEXTRACTI128  $1, Y3, X4; \
	VPADDD        X4, X3, X3

// Q4KHSUPER1, Q4KHSUPER2: d·yd of row r to 128+8r(R13) and X7 = dmin·yd ·
// (X3 as float) per row, dotK45's roundings.
#define Q4KHSUPER1 \
	VPERMD      Z2, Z14, Z4; \
	VCVTPH2PS   X4, Y4; \
	VMULPS.BCST 384(DI)(BX*1), Y4, Y4; \
	VMOVUPS     Y4, 128(R13)

#define Q4KHSUPER2 \
	VEXTRACTF128 $1, Y4, X5; \
	VSHUFPS      $0xdd, X5, X4, X5; \
	VCVTDQ2PS    X3, X3; \
	VMULPS       X5, X3, X7

// Q4KACT: Ya, Yb = the activation chunks 2g, 2g+1 of this super-block, in
// lane order in the layout.
#define Q4KACT(g, Ya, Yb) \
	VMOVDQU32 (64*g)(DI), Ya; \
	VMOVDQU32 (32+64*g)(DI), Yb

// Q4KQUAD: ACC += the scaled lane sums of chunks 2g, 2g+1 of row r at R
// (nibble bytes 16+32g) against the activations Ya, Yb.
#define Q4KQUAD(R, r, g, Ya, Yb, ACC) \
	VPERMB        (16+32*g)(R), Y24, Y0; \
	VPSRLW        $4, Y0, Y1; \
	VPANDD        Y25, Y0, Y0; \
	VPANDD        Y25, Y1, Y1; \
	VPMADDUBSW    Ya, Y0, Y0; \
	VPMADDUBSW    Yb, Y1, Y1; \
	VPDPWSSD.BCST (32*r+8*g)(R12), Y0, ACC; \
	VPDPWSSD.BCST (32*r+8*g+4)(R12), Y1, ACC

// Q4KGROUP: chunks 2g, 2g+1 (activations Ya, Yb) of the four rows, with
// the other work of the loop body (the next activations, the next
// super-block's header pieces H1, H2, prefetches) in between.
#define Q4KGROUP(g, Ya, Yb, NEXT, H1, H2, AFTER) \
	Q4KQUAD(SI, 0, g, Ya, Yb, Y8); \
	NEXT; \
	H1; \
	Q4KQUAD(R9, 1, g, Ya, Yb, Y9); \
	Q4KQUAD(R10, 2, g, Ya, Yb, Y30); \
	H2; \
	Q4KQUAD(R11, 3, g, Ya, Yb, Y31); \
	AFTER

#define Q4KNONE

// Q4KSUMS: Ysums += d·(lane sums ACC) for row r, as dotK45 adds them.
#define Q4KSUMS(r, ACC, Ysums) \
	VCVTDQ2PS   ACC, ACC; \
	VMULPS.BCST (128+8*r)(R12), ACC, ACC; \
	VADDPS      ACC, Ysums, Ysums

// func dotQ4Kx4VNNI(w *byte, stride int, a *byte, nb int, groups int, out *float32)
// groups groups of four rows (row i at w + i·stride, nb ≥ 1 super-blocks
// each) against the activations at a, laid out by layoutQ4KDecodeVNNI:
// out[i] = row i's dot. The pipeline runs on from one group into the
// next: the last super-block of a group unpacks the next group's first
// header. The frame holds nb, the groups left, the offsets from a group's
// last super-block to the next group's first (rows, activations), the
// output pointer, and the two 160-byte scratch areas, 64-byte aligned so
// that the scale loads forward from the stores that wrote them.
TEXT ·dotQ4Kx4VNNI(SB), NOSPLIT, $464-48
	ROWS4ARGS
	SHLQ      $1, R8
	LEAQ      103(SP), R12
	ANDQ      $-64, R12
	LEAQ      192(R12), R13
	MOVQ      CX, 0(SP)
	MOVQ      groups+32(FP), AX
	MOVQ      AX, 8(SP)
	MOVQ      out+40(FP), AX
	MOVQ      AX, 32(SP)
	LEAQ      -1(CX), AX
	IMULQ     $144, AX
	LEAQ      (BX*4), DX
	SUBQ      AX, DX
	MOVQ      DX, 16(SP)
	LEAQ      -1(CX), AX
	IMULQ     $-448, AX
	MOVQ      AX, 24(SP)
	VMOVDQU32 lanePerm<>(SB), Y24
	BROADCASTB($0x0f0f0f0f, Y25, X25)
	VMOVDQU64 q4kScaleIdx<>+0(SB), Z10
	VMOVDQU64 q4kScaleIdx<>+64(SB), Z11
	VMOVDQU64 q4kMinIdx<>+0(SB), Z12
	VMOVDQU64 q4kMinIdx<>+64(SB), Z13
	VMOVDQU32 q4kHdrIdx<>(SB), X14
	MOVQ      $0xf000f000f000f000, AX
	KMOVQ     AX, K1
	MOVQ      $0x5555555555555555, AX
	KMOVQ     AX, K2
	XORL      DX, DX
	XORL      BX, BX
	Q4KHLOAD
	Q4KHUNPACK1
	Q4KHUNPACK2
	Q4KHSCALES
	Q4KHMINS1
	Q4KHMINS2
	Q4KHMINS3
	Q4KHSUPER1
	Q4KHSUPER2
	XCHGQ     R12, R13

q4kx4group:
	VPXORD Y26, Y26, Y26
	VPXORD Y27, Y27, Y27
	VPXORD Y28, Y28, Y28
	VPXORD Y29, Y29, Y29
	VXORPS X15, X15, X15

q4kx4loop:
	// The next super-block's header: the next one in the rows, the next
	// group's first after a group's last, this one again after the last.
	MOVL $144, DX
	MOVL $448, BX
	CMPQ CX, $1
	JNE  q4kx4body
	MOVQ 16(SP), DX
	MOVQ 24(SP), BX
	CMPQ 8(SP), $1
	JNE  q4kx4body
	XORL DX, DX
	XORL BX, BX

q4kx4body:
	VSUBPS X7, X15, X15
	PREFETCH4(R8, 0)
	Q4KACT(0, Y16, Y17)
	VPXOR  Y8, Y8, Y8
	VPXOR  Y9, Y9, Y9
	VPXORD Y30, Y30, Y30
	VPXORD Y31, Y31, Y31
	Q4KGROUP(0, Y16, Y17, Q4KACT(1, Y18, Y19), Q4KHLOAD, Q4KHUNPACK1, PREFETCH4(R8, 64))
	Q4KGROUP(1, Y18, Y19, Q4KACT(2, Y20, Y21), Q4KHUNPACK2, Q4KHSCALES, PREFETCH4(R8, 128))
	Q4KGROUP(2, Y20, Y21, Q4KACT(3, Y22, Y23), Q4KHMINS1, Q4KHMINS2, Q4KNONE)
	Q4KGROUP(3, Y22, Y23, Q4KNONE, Q4KHMINS3, Q4KHSUPER1, Q4KNONE)
	Q4KSUMS(0, Y8, Y26)
	Q4KSUMS(1, Y9, Y27)
	Q4KHSUPER2
	Q4KSUMS(2, Y30, Y28)
	Q4KSUMS(3, Y31, Y29)
	XCHGQ  R12, R13
	ADDQ   $144, SI
	ADDQ   $144, R9
	ADDQ   $144, R10
	ADDQ   $144, R11
	ADDQ   $448, DI
	DECQ   CX
	JNZ    q4kx4loop

	// laneSum for the group's four rows at once: transpose the lane sums
	// so that lane l of every row is one xmm, and add them into sumf in
	// order. X7 (the next group's first mins term) stays.
	VUNPCKLPS    Y27, Y26, Y0
	VUNPCKHPS    Y27, Y26, Y1
	VUNPCKLPS    Y29, Y28, Y2
	VUNPCKHPS    Y29, Y28, Y3
	VUNPCKLPD    Y2, Y0, Y8
	VUNPCKHPD    Y2, Y0, Y9
	VUNPCKLPD    Y3, Y1, Y30
	VUNPCKHPD    Y3, Y1, Y31
	VADDPS       X8, X15, X15
	VADDPS       X9, X15, X15
	VADDPS       X30, X15, X15
	VADDPS       X31, X15, X15
	VEXTRACTF128 $1, Y8, X8
	VEXTRACTF128 $1, Y9, X9
	VEXTRACTF32X4 $1, Y30, X30
	VEXTRACTF32X4 $1, Y31, X31
	VADDPS       X8, X15, X15
	VADDPS       X9, X15, X15
	VADDPS       X30, X15, X15
	VADDPS       X31, X15, X15
	MOVQ         32(SP), AX
	VMOVUPS      X15, (AX)
	ADDQ         $16, 32(SP)
	DECQ         8(SP)
	JZ           q4kx4done
	MOVQ         16(SP), AX
	SUBQ         $144, AX
	ADDQ         AX, SI
	ADDQ         AX, R9
	ADDQ         AX, R10
	ADDQ         AX, R11
	MOVQ         24(SP), AX
	SUBQ         $448, AX
	ADDQ         AX, DI
	MOVQ         0(SP), CX
	JMP          q4kx4group

q4kx4done:
	VZEROUPPER
	RET

// func layoutQ4KDecodeVNNI(dst, a *byte, nb int)
// The decode layout (see dotQ4Kx4VNNI) of the nb super-blocks of the Q8_K
// row at a, into dst.
TEXT ·layoutQ4KDecodeVNNI(SB), NOSPLIT, $0-24
	MOVQ      dst+0(FP), DI
	MOVQ      a+8(FP), SI
	MOVQ      nb+16(FP), CX
	VMOVDQU32 lanePerm<>(SB), Y24
	VMOVDQU64 q4kBsumIdx<>+0(SB), Z14
	VMOVDQU64 q4kBsumIdx<>+64(SB), Z15
	TESTQ     CX, CX
	JZ        q4klaydone

q4klayloop:
	VPERMB    4(SI), Y24, Y0
	VPERMB    36(SI), Y24, Y1
	VPERMB    68(SI), Y24, Y2
	VPERMB    100(SI), Y24, Y3
	VPERMB    132(SI), Y24, Y4
	VPERMB    164(SI), Y24, Y5
	VPERMB    196(SI), Y24, Y6
	VPERMB    228(SI), Y24, Y7
	VMOVDQU   Y0, 0(DI)
	VMOVDQU   Y1, 32(DI)
	VMOVDQU   Y2, 64(DI)
	VMOVDQU   Y3, 96(DI)
	VMOVDQU   Y4, 128(DI)
	VMOVDQU   Y5, 160(DI)
	VMOVDQU   Y6, 192(DI)
	VMOVDQU   Y7, 224(DI)
	VMOVDQU   260(SI), Y8
	VPERMD    Z8, Z14, Z9
	VPERMD    Z8, Z15, Z8
	VMOVDQU64 Z9, 256(DI)
	VMOVDQU64 Z8, 320(DI)
	MOVL      (SI), AX
	MOVL      AX, 384(DI)
	ADDQ      $292, SI
	ADDQ      $448, DI
	DECQ      CX
	JNZ       q4klayloop

q4klaydone:
	VZEROUPPER
	RET
