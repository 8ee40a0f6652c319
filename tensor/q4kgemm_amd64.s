//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// Q4_K GEMM, sixteen vectors per group (gemmQ4K16VNNI). The kernel it
// replaced (like Q5_K's and the old sixteen-vector Q6_K GEMM) paid per row and vector for a
// chunk-by-chunk VPDPBUSD into a zeroed register, a horizontal sum of the
// mins term and scalar float steps; here that bookkeeping is done once per
// row and super-block for all sixteen vectors, and the chunks take two
// vectors per 512-bit instruction. The
// group layout (layoutQ4KGemm) interleaves what the kernel needs across
// vectors: per super-block, for each pair of vectors (2P, 2P+1) at 512P,
// chunk j of both in lane order at 64j and 64j+32; then per bsum pair j
// the sixteen vectors' pairs (bs[2j], bs[2j+1]) as one 64-byte row at
// 4096+64j; then the sixteen scales yd at 4608; then each vector pair's
// scales, yd of vector 2P in eight floats and of 2P+1 in eight more, at
// 4672+64P; q4kGemmBlock (5184) bytes in all.
//
// Per row and super-block: the eight scales as word pairs (s, s)
// broadcast into Z8-Z15, the nibbles in lane order into Z16-Z23 (each
// chunk in both halves), d into Z2, and the mins term of every vector at
// once: the mins as pairs (m, m) against the bsum rows by VPDPWSSD, so
// that dword v is vector v's sumi, then dmin·yd·sumi subtracted from the
// vectors' sumf in one zmm. Per pair of vectors only the chunks remain:
// VPMADDUBSW leaves words 2l, 2l+1 with halves of lane l's sum (at most
// 2·15·128), VPMADDWD or VPDPWSSD against (s, s) adds s·(lane sum) into
// dword l, then d·yd (one multiply by the pair's spread scales) times the
// lane sums as dotK45 adds it. (Tried on Zen 4 and slower: VPDPBUSD lane
// sums of two chunks packed as word pairs, one VPDPWSSD per pair; lane
// sums converted and scaled in float32, exact below 2^24; four
// accumulators instead of two.)

// GQ4KFIRST, GQ4KNEXT: chunk j of the vector pair at R10 + 8·AX (weights
// Zw, scale pair Zs) into accumulator Zacc, which the first sets and the
// next adds to.
#define GQ4KFIRST(j, Zw, Zs, Zt, Zacc) \
	VPMADDUBSW (64*j)(R10)(AX*8), Zw, Zt; \
	VPMADDWD   Zs, Zt, Zacc

#define GQ4KNEXT(j, Zw, Zs, Zt, Zacc) \
	VPMADDUBSW (64*j)(R10)(AX*8), Zw, Zt; \
	VPDPWSSD   Zs, Zt, Zacc

// GQ4KUNPACK: chunks 2g and 2g+1 of the row at SI into Zlo and Zhi, each
// in both halves.
#define GQ4KUNPACK(g, Zlo, Zhi) \
	VBROADCASTI64X4 (16+32*g)(SI), Zlo; \
	VPERMB          Zlo, Z24, Zlo; \
	VPSRLW          $4, Zlo, Zhi; \
	VPANDD          Z25, Zlo, Zlo; \
	VPANDD          Z25, Zhi, Zhi

// GQ4KMIN: Zacc += min pair j (at 32+4j(SP)) times the sixteen vectors'
// bsum pairs j of the super-block at R11; OP is VPMADDWD to set Zacc.
#define GQ4KMIN(OP, j, Zt, Zacc) \
	VPBROADCASTD (32+4*j)(SP), Zt; \
	OP           (4096+64*j)(R11), Zt, Zacc

// GQ4KHEADER: the header work of the row super-block at R10 (activations
// at R11): its scale pairs to 0(SP), min pairs to 32(SP), d to 64(SP),
// and its mins term subtracted from the sumf at 144(SP). Clobbers AX, BX,
// DX, R12, R13, Y5-Y8, Z26-Z31.
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
	VMOVSS       X26, 64(SP); \
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
	MOVQ         144(SP), BX; \
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
// dmin terms (for every v < 16 in sumf and every v < nv rounded up to
// even in sums: lanes past nv hold whatever the group buffer held, and
// are not read). The header work of each row super-block is done one row
// ahead, before the previous row's vectors, so that its latency (a chain
// through the scale bytes, a store and the broadcasts) overlaps their
// multiplies. Frame: the next row's header at 0-127 (GQ4KHEADER), row 0's
// super-block at 128, the current row's sums at 136, the next row's sumf
// at 144, the current row's first scale pair at 152 (GQ4KHEADER clobbers
// Y8).
TEXT ·gemmQ4K16VNNI(SB), NOSPLIT, $160-48
	MOVQ            w+0(FP), SI
	MOVQ            SI, 128(SP)
	MOVQ            a+16(FP), DI
	MOVQ            nv+24(FP), R9
	INCQ            R9
	SHRQ            $1, R9
	SHLQ            $6, R9
	MOVQ            nb+32(FP), CX
	VBROADCASTI64X4 lanePermG<>(SB), Z24
	BROADCASTB($0x0f0f0f0f, Z25, X25)
	TESTQ           CX, CX
	JZ              gq4kdone
	MOVQ            out+40(FP), R11
	ADDQ            $2048, R11
	MOVQ            R11, 144(SP)
	MOVQ            SI, R10
	MOVQ            DI, R11
	GQ4KHEADER

gq4ksb:
	MOVQ 128(SP), SI
	MOVQ out+40(FP), R11
	MOVQ R11, 136(SP)
	MOVQ $4, R8

gq4krow:
	MOVL         0(SP), BX
	MOVL         BX, 152(SP)
	VPBROADCASTD 4(SP), Z9
	VPBROADCASTD 8(SP), Z10
	VPBROADCASTD 12(SP), Z11
	VPBROADCASTD 16(SP), Z12
	VPBROADCASTD 20(SP), Z13
	VPBROADCASTD 24(SP), Z14
	VPBROADCASTD 28(SP), Z15
	VBROADCASTSS 64(SP), Z2
	GQ4KUNPACK(0, Z16, Z17)
	GQ4KUNPACK(1, Z18, Z19)
	GQ4KUNPACK(2, Z20, Z21)
	GQ4KUNPACK(3, Z22, Z23)

	// The next row's header: the next row of this super-block, row 0 of
	// the next, or none after the last.
	CMPQ R8, $1
	JEQ  gq4knextsb
	LEAQ (SI), R10
	ADDQ stride+8(FP), R10
	MOVQ DI, R11
	ADDQ $64, 144(SP)
	JMP  gq4kheader

gq4knextsb:
	CMPQ CX, $1
	JEQ  gq4kvecs
	MOVQ 128(SP), R10
	ADDQ $144, R10
	LEAQ 5184(DI), R11
	MOVQ out+40(FP), BX
	ADDQ $2048, BX
	MOVQ BX, 144(SP)

gq4kheader:
	GQ4KHEADER

gq4kvecs:
	VPBROADCASTD 152(SP), Z8
	MOVQ         DI, R10
	MOVQ         136(SP), R11
	XORL         AX, AX

gq4kvec:
	GQ4KFIRST(0, Z16, Z8, Z4, Z0)
	GQ4KFIRST(1, Z17, Z9, Z5, Z1)
	GQ4KNEXT(2, Z18, Z10, Z6, Z0)
	GQ4KNEXT(3, Z19, Z11, Z7, Z1)
	GQ4KNEXT(4, Z20, Z12, Z4, Z0)
	GQ4KNEXT(5, Z21, Z13, Z5, Z1)
	GQ4KNEXT(6, Z22, Z14, Z6, Z0)
	GQ4KNEXT(7, Z23, Z15, Z7, Z1)
	VPADDD    Z1, Z0, Z0
	VCVTDQ2PS Z0, Z0
	VMULPS    4672(R10)(AX*1), Z2, Z3
	VMULPS    Z3, Z0, Z0
	VADDPS    (R11)(AX*1), Z0, Z0
	VMOVUPS   Z0, (R11)(AX*1)
	ADDQ      $64, AX
	CMPQ      AX, R9
	JNE       gq4kvec

	ADDQ stride+8(FP), SI
	ADDQ $512, 136(SP)
	DECQ R8
	JNZ  gq4krow
	ADDQ $144, 128(SP)
	ADDQ $5184, DI
	DECQ CX
	JNZ  gq4ksb

gq4kdone:
	VZEROUPPER
	RET
