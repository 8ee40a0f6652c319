//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// Q4_K GEMM, sixteen vectors per group (gemmQ4K16VNNI). The old GEMM paid
// per row and vector for a chunk-by-chunk VPDPBUSD into a zeroed register,
// a horizontal sum of the mins term and scalar float steps; here that
// bookkeeping is done once per row and super-block for all sixteen
// vectors. The group layout (layoutQ4KGemm) interleaves what the kernel
// needs across vectors: per super-block the sixteen vectors' quants in
// lane order (256 bytes each), then per bsum pair j the sixteen vectors'
// pairs (bs[2j], bs[2j+1]) as one 64-byte row at 4096+64j, then the
// sixteen scales d at 4608; q4kGemmBlock (4672) bytes in all.
//
// Per row and super-block: the eight scales as word pairs (s, s)
// broadcast into Y8-Y15, the nibbles in lane order into Y16-Y23, d·yd of
// every vector (one multiply) at 64(SP), and the mins term of every vector
// at once: the mins as pairs (m, m) against the bsum rows by VPDPWSSD, so
// that dword v is vector v's sumi, then dmin·yd·sumi subtracted from the
// vectors' sumf in one zmm. Per vector only the chunks remain: VPMADDUBSW
// leaves words 2l, 2l+1 with halves of lane l's sum (at most 2·15·128),
// VPMADDWD or VPDPWSSD against (s, s) adds s·(lane sum) into dword l in
// four accumulators, then d·yd·(lane sums) as dotK45 adds it.

// GQ4KFIRST, GQ4KNEXT: chunk j of the vector at R10 (weights Yw, scale
// pair Ys) into accumulator Yacc, which the first sets and the next adds to.
#define GQ4KFIRST(j, Yw, Ys, Yt, Yacc) \
	VPMADDUBSW (32*j)(R10), Yw, Yt; \
	VPMADDWD   Ys, Yt, Yacc

#define GQ4KNEXT(j, Yw, Ys, Yt, Yacc) \
	VPMADDUBSW (32*j)(R10), Yw, Yt; \
	VPDPWSSD   Ys, Yt, Yacc

// GQ4KUNPACK: chunks 2g and 2g+1 of the row at SI into Ylo and Yhi.
#define GQ4KUNPACK(g, Ylo, Yhi) \
	VPERMB (16+32*g)(SI), Y24, Ylo; \
	VPSRLW $4, Ylo, Yhi; \
	VPANDD Y25, Ylo, Ylo; \
	VPANDD Y25, Yhi, Yhi

// GQ4KMIN: Zacc += min pair j (at 32+4j(SP)) times the sixteen vectors'
// bsum pairs j of the super-block at R11; OP is VPMADDWD to set Zacc.
#define GQ4KMIN(OP, j, Zt, Zacc) \
	VPBROADCASTD (32+4*j)(SP), Zt; \
	OP           (4096+64*j)(R11), Zt, Zacc

// GQ4KHEADER: the header work of the row super-block at R10 (activations
// at R11): its scale pairs to 0(SP), min pairs to 32(SP), d·yd of every
// vector to 64(SP), and its mins term subtracted from the sumf at
// 208(SP). Clobbers AX, BX, DX, R12, R13, Y5-Y7, Z26-Z31.
#define GQ4KHEADER \
	Q4KSCALES(R10, 0); \
	VPSLLD       $16, Y5, Y6; \
	VPORD        Y6, Y5, Y5; \
	VMOVDQU      Y5, 0(SP); \
	VPMOVZXWD    X8, Y6; \
	VPSLLD       $16, Y6, Y7; \
	VPORD        Y7, Y6, Y6; \
	VMOVDQU      Y6, 32(SP); \
	MOVL         0(R10), BX; \
	VMOVD        BX, X5; \
	VCVTPH2PS    X5, X26; \
	VMOVSHDUP    X26, X27; \
	VMOVUPS      4608(R11), Z29; \
	VBROADCASTSS X26, Z28; \
	VMULPS       Z28, Z29, Z28; \
	VMOVUPS      Z28, 64(SP); \
	VBROADCASTSS X27, Z27; \
	VMULPS       Z27, Z29, Z29; \
	GQ4KMIN(VPMADDWD, 0, Z27, Z26); \
	GQ4KMIN(VPMADDWD, 1, Z31, Z30); \
	GQ4KMIN(VPDPWSSD, 2, Z27, Z26); \
	GQ4KMIN(VPDPWSSD, 3, Z31, Z30); \
	GQ4KMIN(VPDPWSSD, 4, Z27, Z26); \
	GQ4KMIN(VPDPWSSD, 5, Z31, Z30); \
	GQ4KMIN(VPDPWSSD, 6, Z27, Z26); \
	GQ4KMIN(VPDPWSSD, 7, Z31, Z30); \
	VPADDD       Z30, Z26, Z26; \
	VCVTDQ2PS    Z26, Z26; \
	VMULPS       Z29, Z26, Z26; \
	MOVQ         208(SP), BX; \
	VMOVUPS      (BX), Z27; \
	VSUBPS       Z26, Z27, Z27; \
	VMOVUPS      Z27, (BX)

// lanePermG: VPERMB indices, dword l <- bytes l, l+8, l+16, l+24 (as
// kquantvnni_amd64.s's lanePerm).
DATA lanePermG<>+0(SB)/8, $0x1911090118100800
DATA lanePermG<>+8(SB)/8, $0x1b130b031a120a02
DATA lanePermG<>+16(SB)/8, $0x1d150d051c140c04
DATA lanePermG<>+24(SB)/8, $0x1f170f071e160e06
GLOBL lanePermG<>(SB), RODATA|NOPTR, $32

// func gemmQ4K16VNNI(w *byte, stride int, a *byte, nv int, nb int, out *q4kGemmOut)
// Rows w + r·stride (r < 4, nb ≥ 1 super-blocks) against the nv (1-16)
// vectors of the group at a, laid out by layoutQ4KGemm: out.sums[r][v]
// += the lane sums d·acc of row r and vector v, out.sumf[r][v] -= its
// dmin terms (for every v < 16: lanes past nv hold whatever the group
// buffer held, and are not read). The header work of each row super-block
// is done one row ahead, before the previous row's vectors, so that its
// latency (a chain through the scale bytes, a store and the broadcasts)
// overlaps their multiplies. Frame: the next row's header at 0-127
// (GQ4KHEADER), the current row's d·yd at 128, row 0's super-block at 192,
// the current row's sums at 200, the next row's sumf at 208, the current row's first scale pair at 216
// (GQ4KHEADER clobbers Y8).
TEXT ·gemmQ4K16VNNI(SB), NOSPLIT, $224-48
	MOVQ      w+0(FP), SI
	MOVQ      SI, 192(SP)
	MOVQ      a+16(FP), DI
	MOVQ      nv+24(FP), R9
	SHLQ      $2, R9
	MOVQ      nb+32(FP), CX
	VMOVDQU32 lanePermG<>(SB), Y24
	BROADCASTB($0x0f0f0f0f, Y25, X25)
	TESTQ     CX, CX
	JZ        gq4kdone
	MOVQ      out+40(FP), R11
	ADDQ      $2048, R11
	MOVQ      R11, 208(SP)
	MOVQ      SI, R10
	MOVQ      DI, R11
	GQ4KHEADER

gq4ksb:
	MOVQ 192(SP), SI
	MOVQ out+40(FP), R11
	MOVQ R11, 200(SP)
	MOVQ $4, R8

gq4krow:
	MOVL         0(SP), BX
	MOVL         BX, 216(SP)
	VPBROADCASTD 4(SP), Y9
	VPBROADCASTD 8(SP), Y10
	VPBROADCASTD 12(SP), Y11
	VPBROADCASTD 16(SP), Y12
	VPBROADCASTD 20(SP), Y13
	VPBROADCASTD 24(SP), Y14
	VPBROADCASTD 28(SP), Y15
	VMOVUPS      64(SP), Z28
	VMOVUPS      Z28, 128(SP)
	GQ4KUNPACK(0, Y16, Y17)
	GQ4KUNPACK(1, Y18, Y19)
	GQ4KUNPACK(2, Y20, Y21)
	GQ4KUNPACK(3, Y22, Y23)

	// The next row's header: the next row of this super-block, row 0 of
	// the next, or none after the last.
	CMPQ R8, $1
	JEQ  gq4knextsb
	LEAQ (SI), R10
	ADDQ stride+8(FP), R10
	MOVQ DI, R11
	ADDQ $64, 208(SP)
	JMP  gq4kheader

gq4knextsb:
	CMPQ CX, $1
	JEQ  gq4kvecs
	MOVQ 192(SP), R10
	ADDQ $144, R10
	LEAQ 4672(DI), R11
	MOVQ out+40(FP), BX
	ADDQ $2048, BX
	MOVQ BX, 208(SP)

gq4kheader:
	GQ4KHEADER

gq4kvecs:
	VPBROADCASTD 216(SP), Y8
	MOVQ DI, R10
	MOVQ 200(SP), R11
	XORL AX, AX

gq4kvec:
	GQ4KFIRST(0, Y16, Y8, Y4, Y0)
	GQ4KFIRST(1, Y17, Y9, Y5, Y1)
	GQ4KFIRST(2, Y18, Y10, Y6, Y2)
	GQ4KFIRST(3, Y19, Y11, Y7, Y3)
	GQ4KNEXT(4, Y20, Y12, Y4, Y0)
	GQ4KNEXT(5, Y21, Y13, Y5, Y1)
	GQ4KNEXT(6, Y22, Y14, Y6, Y2)
	GQ4KNEXT(7, Y23, Y15, Y7, Y3)
	VPADDD       Y1, Y0, Y0
	VPADDD       Y3, Y2, Y2
	VPADDD       Y2, Y0, Y0
	VCVTDQ2PS    Y0, Y0
	VBROADCASTSS 128(SP)(AX*1), Y1
	VMULPS       Y1, Y0, Y0
	VADDPS       (R11), Y0, Y0
	VMOVUPS      Y0, (R11)
	ADDQ         $256, R10
	ADDQ         $32, R11
	ADDQ         $4, AX
	CMPQ         AX, R9
	JNE          gq4kvec

	ADDQ stride+8(FP), SI
	ADDQ $512, 200(SP)
	DECQ R8
	JNZ  gq4krow
	ADDQ $144, 192(SP)
	ADDQ $4672, DI
	DECQ CX
	JNZ  gq4ksb

gq4kdone:
	VZEROUPPER
	RET
