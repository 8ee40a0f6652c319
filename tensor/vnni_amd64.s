//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// ROWPTRS4: SI, R9, R10, R11 = rows w, w+stride, w+2·stride, w+3·stride;
// DI = a.
#define ROWPTRS4 \
	MOVQ w+0(FP), SI; \
	MOVQ stride+8(FP), BX; \
	MOVQ a+16(FP), DI; \
	LEAQ (SI)(BX*1), R9; \
	LEAQ (SI)(BX*2), R10; \
	LEAQ (R9)(BX*2), R11

// Decode kernels: AVX-512 VNNI over four weight rows at once, against one
// Q8_0 activation vector, in batches of eight blocks.
//
// VPDPBUSD multiplies unsigned by signed bytes, so the weights are biased
// into unsigned range (Q8_0: w+128, by flipping the sign bit; Q4_0: the raw
// nibble, w+8), and each row's accumulator starts from minus the bias times
// the activation block's sums, computed once for the four rows. Every
// block's integer sum is therefore exact, and the float steps are the
// pure-Go kernel's, in its order (per row, block after block), so results
// are bit-identical.
//
// Each row's batch is gathered by two-table byte permutes (VPERMT2B) into
// two 512-bit registers of four blocks each, block j in 128-bit lane j: for
// Q4_0 one register of the blocks' sixteen bytes of nibbles, for Q8_0 one of
// their quants 0-15 and one of 16-31; the activations are gathered the same
// way, once per batch for the four rows. A block's products thus land in
// the four dwords of one lane, and a tree of shuffles and adds across the
// four rows (no horizontal adds, which Zen 4 runs slowly) leaves lane j of
// the result with block j's sums of rows 0-3. Those are the lanes the rows'
// running float sums need: the four sums advance together, block after
// block, without a transposition. The block scales are gathered by word
// permutes into the same layout.
//
// On Zen 4 these kernels are bound by the vector pipes, the permutes above
// all, rather than by loads: where a result can go through memory instead
// of a shuffle (Q4_0's block terms and upper scales through a scratch line)
// or a second load can be saved (Q8_0's tables), that is the faster way.

// Registers of the decode kernels:
//
//	Z0-Z11   per-row work, accumulators and the reduction tree
//	Z12, Z13 activation scales dy of blocks 0-3, 4-7 (lane j: block j)
//	Z14      weight scales as f16, word 4j+r: row r, block j (Q8_0: blocks 0-3)
//	Z15, Z16 accumulator starts (minus the bias sums) of blocks 4-7, 0-3
//	Z17-Z20  activations: quants 16-31 and 0-15 of blocks 4-7, then 0-3
//	X21      the four rows' running sums, lane r: row r
//	Z23      VPERMPS indices spreading four dy over the rows
//	Z24      bias bytes (Q8_0: 0x80, also the sign flip; Q4_0: 0x08)
//	Z25, Z26 byte permutes of quants 16-31, 0-15 from 34-byte blocks
//	Z27      scale word permute
//	Z28      Q8_0: weight scales of blocks 4-7; Q4_0: the high-nibble matrix
//	Z29, Z30 Q8_0: weight bytes 64-127, 200-263 of the row at hand
//	Z29      Q4_0: 0x0f bytes
//	Z30, Z31 Q4_0: byte permutes of blocks 4-7, 0-3 from 18-byte blocks
//	K1-K4    scale word lanes of rows 0-3
//	DX       Q4_0: a 64-byte aligned scratch of 192 bytes in the frame

// ROWS4PROLOGUE: SI, R9, R10, R11 = the four rows, DI = activations, R8 =
// activation scales (float32), CX = batches of eight blocks, R13 =
// 16·stride for PREFETCH4 (four groups on: these kernels run through a
// group fast enough that two groups ahead measured slower from DRAM), the
// registers shared by both kernels set up with the bias bytes v. Flags:
// CX == 0.
#define ROWS4PROLOGUE(v) \
	MOVQ         ad+24(FP), R8; \
	ROWPTRS4; \
	MOVQ         BX, R13; \
	SHLQ         $4, R13; \
	VXORPS       X21, X21, X21; \
	MOVL         v, CX; \
	VPBROADCASTD CX, Z24; \
	VMOVDQU64    rows4ActIdx<>+0(SB), Z26; \
	VMOVDQU64    rows4ActIdx<>+64(SB), Z25; \
	VMOVDQU64    rows4DyIdx<>+0(SB), Z23; \
	MOVL         $0x11111111, CX; \
	KMOVD        CX, K1; \
	SHLL         $1, CX; \
	KMOVD        CX, K2; \
	SHLL         $1, CX; \
	KMOVD        CX, K3; \
	SHLL         $1, CX; \
	KMOVD        CX, K4; \
	MOVQ         nb+32(FP), CX; \
	SHRQ         $3, CX

#define ROWS4EPILOGUE \
	MOVQ    out+40(FP), AX; \
	VMOVUPS X21, 0(AX); \
	VZEROUPPER; \
	RET

// ROWS4ACT: the batch's activations at DI permuted into Z17-Z20, the
// accumulator starts into Z15 and Z16, dy from R8 into Z12 and Z13.
// Windows of 128 bytes at 0 and 8 hold blocks 0-3's quants 0-15 and
// 16-31; those at 136 and 144, blocks 4-7's.
#define ROWS4ACT \
	VMOVDQU64 (DI), Z20; \
	VPERMT2B  64(DI), Z26, Z20; \
	VMOVDQU64 8(DI), Z19; \
	VPERMT2B  72(DI), Z25, Z19; \
	VMOVDQU64 136(DI), Z18; \
	VPERMT2B  200(DI), Z26, Z18; \
	VMOVDQU64 144(DI), Z17; \
	VPERMT2B  208(DI), Z25, Z17; \
	VPXORD    Z15, Z15, Z15; \
	VPDPBUSD  Z20, Z24, Z15; \
	VPDPBUSD  Z19, Z24, Z15; \
	VPXORD    Z16, Z16, Z16; \
	VPSUBD    Z15, Z16, Z16; \
	VPXORD    Z13, Z13, Z13; \
	VPDPBUSD  Z18, Z24, Z13; \
	VPDPBUSD  Z17, Z24, Z13; \
	VPXORD    Z15, Z15, Z15; \
	VPSUBD    Z13, Z15, Z15; \
	VMOVUPS   (R8), X12; \
	VPERMPS   Z12, Z23, Z12; \
	VMOVUPS   16(R8), X13; \
	VPERMPS   Z13, Z23, Z13; \
	VMOVDQA64 Z27, Z14

// PAIR: U = (X, Y) summed pairwise within each lane: dwords 0, 1 of U =
// X's dwords 0+1, 2+3; dwords 2, 3 = Y's. Clobbers X.
#define PAIR(X, Y, U) \
	VSHUFPS $0x88, Y, X, U; \
	VSHUFPS $0xdd, Y, X, X; \
	VPADDD  X, U, U

// ROWS4TREE: rows 0-3's accumulators, lane j of Z4, Z6 / Z8, Z10 (rows 0,
// 1 / 2, 3) holding block j's dword partials and of Z5, Z7 / Z9, Z11 those
// of block 4+j, reduced to Z4 (blocks 0-3) and Z5 (blocks 4-7), lane j,
// dword r: row r's block sum.
#define ROWS4TREE \
	PAIR(Z4, Z6, Z0); \
	PAIR(Z5, Z7, Z1); \
	PAIR(Z8, Z10, Z2); \
	PAIR(Z9, Z11, Z3); \
	PAIR(Z0, Z2, Z4); \
	PAIR(Z1, Z3, Z5); \
	VCVTDQ2PS Z4, Z4; \
	VCVTDQ2PS Z5, Z5

// ROWS4SUM: X21 += the block terms in Z4 (blocks 0-3) and Z5 (4-7), lane j
// dword r: row r's term of block j, block after block. Clobbers Z6.
#define ROWS4SUM \
	VADDPS        X4, X21, X21; \
	VEXTRACTF32X4 $1, Z4, X6; \
	VADDPS        X6, X21, X21; \
	VEXTRACTF32X4 $2, Z4, X6; \
	VADDPS        X6, X21, X21; \
	VEXTRACTF32X4 $3, Z4, X6; \
	VADDPS        X6, X21, X21; \
	VADDPS        X5, X21, X21; \
	VEXTRACTF32X4 $1, Z5, X6; \
	VADDPS        X6, X21, X21; \
	VEXTRACTF32X4 $2, Z5, X6; \
	VADDPS        X6, X21, X21; \
	VEXTRACTF32X4 $3, Z5, X6; \
	VADDPS        X6, X21, X21

// ROWS4SUMMEM: the same through the 64-byte aligned scratch at DX: a store
// and loads cost less than the extracts where the loads have room (Q4_0;
// Q8_0 runs faster with the extracts).
#define ROWS4SUMMEM \
	VMOVAPS Z4, (DX); \
	VMOVAPS Z5, 64(DX); \
	VADDPS  X4, X21, X21; \
	VADDPS  16(DX), X21, X21; \
	VADDPS  32(DX), X21, X21; \
	VADDPS  48(DX), X21, X21; \
	VADDPS  X5, X21, X21; \
	VADDPS  80(DX), X21, X21; \
	VADDPS  96(DX), X21, X21; \
	VADDPS  112(DX), X21, X21

// ROWS4NEXTBATCH: on to the next batch of eight blocks of wsize bytes.
#define ROWS4NEXTBATCH(wsize, loop) \
	ADDQ $wsize, SI; \
	ADDQ $wsize, R9; \
	ADDQ $wsize, R10; \
	ADDQ $wsize, R11; \
	ADDQ $272, DI; \
	ADDQ $32, R8; \
	DECQ CX; \
	JNZ  loop

// ROWS4DOT: accumulators A (blocks 0-3) and B (4-7) of one row from its
// unsigned weight bytes against the activations' quants: L1, H1 meet quants
// 0-15, 16-31 of blocks 0-3; L2, H2 those of blocks 4-7.
#define ROWS4DOT(L1, H1, L2, H2, A, B) \
	VMOVDQA64 Z16, A; \
	VPDPBUSD  Z20, L1, A; \
	VPDPBUSD  Z19, H1, A; \
	VMOVDQA64 Z15, B; \
	VPDPBUSD  Z18, L2, B; \
	VPDPBUSD  Z17, H2, B

// Q80ROW: accumulators A (blocks 0-3) and B (4-7) of the Q8_0 row at R,
// its scales into the lanes of mask K of Z14 (blocks 0-3) and Z28 (4-7).
// The tables shared by a scale and a byte permute are loaded once.
#define Q80ROW(R, K, A, B) \
	VMOVDQU64 (R), Z0; \
	VMOVDQU64 64(R), Z29; \
	VPERMI2W  Z29, Z0, K, Z14; \
	VPERMT2B  Z29, Z26, Z0; \
	VMOVDQU64 8(R), Z1; \
	VPERMT2B  72(R), Z25, Z1; \
	VMOVDQU64 136(R), Z2; \
	VMOVDQU64 200(R), Z30; \
	VPERMI2W  Z30, Z2, K, Z28; \
	VPERMT2B  Z30, Z26, Z2; \
	VMOVDQU64 144(R), Z3; \
	VPERMT2B  208(R), Z25, Z3; \
	VPXORD    Z0, Z24, Z0; \
	VPXORD    Z1, Z24, Z1; \
	VPXORD    Z2, Z24, Z2; \
	VPXORD    Z3, Z24, Z3; \
	ROWS4DOT(Z0, Z1, Z2, Z3, A, B)

// func dotQ8_0x4VNNI(w *byte, stride int, a *byte, ad *float32, nb int, out *[4]float32)
// Rows w, w+stride, w+2·stride, w+3·stride; nb: a multiple of 8 blocks.
TEXT ·dotQ8_0x4VNNI(SB), NOSPLIT, $0-48
	ROWS4PROLOGUE($0x80808080)
	JZ        q80x4done
	VMOVDQU64 rows4ScaleIdx<>+0(SB), Z27

q80x4loop:
	PREFETCH4(R13, 0)
	PREFETCH4(R13, 64)
	PREFETCH4(R13, 128)
	PREFETCH4(R13, 192)
	PREFETCH4(R13, 256)
	ROWS4ACT
	VMOVDQA64 Z27, Z28
	Q80ROW(SI, K1, Z4, Z5)
	Q80ROW(R9, K2, Z6, Z7)
	Q80ROW(R10, K3, Z8, Z9)
	Q80ROW(R11, K4, Z10, Z11)
	ROWS4TREE

	// float32(sumi) * (dx*dy), as q8_0Blocks.
	VCVTPH2PS Y14, Z6
	VMULPS    Z12, Z6, Z6
	VMULPS    Z6, Z4, Z4
	VCVTPH2PS Y28, Z7
	VMULPS    Z13, Z7, Z7
	VMULPS    Z7, Z5, Z5
	ROWS4SUM
	ROWS4NEXTBATCH(272, q80x4loop)

q80x4done:
	ROWS4EPILOGUE

// Q40ROW: accumulators A (blocks 0-3) and B (4-7) of the Q4_0 row at R, its
// scales into the lanes of mask K of Z14. Blocks 0-3 come from bytes
// 0-127, blocks 4-7 from 64-127 and 80-143 (the batch's last byte is 143).
// The low nibbles meet quants 0-15, the high ones (shifted down by a GF(2)
// affine map) quants 16-31.
#define Q40ROW(R, K, A, B) \
	VMOVDQU64      (R), Z0; \
	VMOVDQU64      64(R), Z1; \
	VPERMI2W       Z1, Z0, K, Z14; \
	VPERMT2B       Z1, Z31, Z0; \
	VPERMT2B       80(R), Z30, Z1; \
	VPANDD         Z0, Z29, Z2; \
	VGF2P8AFFINEQB $0, Z28, Z0, Z0; \
	VPANDD         Z1, Z29, Z3; \
	VGF2P8AFFINEQB $0, Z28, Z1, Z1; \
	ROWS4DOT(Z2, Z0, Z3, Z1, A, B)

// func dotQ4_0x4VNNI(w *byte, stride int, a *byte, ad *float32, nb int, out *[4]float32)
// Rows w, w+stride, w+2·stride, w+3·stride; nb: a multiple of 8 blocks.
TEXT ·dotQ4_0x4VNNI(SB), NOSPLIT, $256-48
	ROWS4PROLOGUE($0x08080808)
	JZ           q40x4done
	LEAQ         63(SP), DX
	ANDQ         $~63, DX
	VMOVDQU64    rows4ScaleIdx<>+64(SB), Z27
	VPBROADCASTQ rows4Q40Bits<>+0(SB), Z28
	VPBROADCASTD rows4Q40Bits<>+8(SB), Z29
	VMOVDQU64    rows4Q40Idx<>+64(SB), Z30
	VMOVDQU64    rows4Q40Idx<>+0(SB), Z31

q40x4loop:
	PREFETCH4(R13, 0)
	PREFETCH4(R13, 64)
	PREFETCH4(R13, 128)
	ROWS4ACT
	Q40ROW(SI, K1, Z4, Z5)
	Q40ROW(R9, K2, Z6, Z7)
	Q40ROW(R10, K3, Z8, Z9)
	Q40ROW(R11, K4, Z10, Z11)
	ROWS4TREE

	// float32(sumi) * dx * dy, as q4_0Blocks; the upper scales converted
	// from the scratch rather than extracted.
	VMOVDQA64     Z14, 128(DX)
	VCVTPH2PS     Y14, Z6
	VCVTPH2PS     160(DX), Z7
	VMULPS        Z6, Z4, Z4
	VMULPS        Z12, Z4, Z4
	VMULPS        Z7, Z5, Z5
	VMULPS        Z13, Z5, Z5
	ROWS4SUMMEM
	ROWS4NEXTBATCH(144, q40x4loop)

q40x4done:
	ROWS4EPILOGUE

// rows4ActIdx: VPERMT2B byte indices of the quants of four 34-byte blocks
// in block order, sixteen bytes per block: quants 0-15 within the 128
// bytes from the first block's start (+0), quants 16-31 within the 128
// bytes from 8 bytes in (+64).
DATA rows4ActIdx<>+0(SB)/8, $0x0908070605040302
DATA rows4ActIdx<>+8(SB)/8, $0x11100f0e0d0c0b0a
DATA rows4ActIdx<>+16(SB)/8, $0x2b2a292827262524
DATA rows4ActIdx<>+24(SB)/8, $0x333231302f2e2d2c
DATA rows4ActIdx<>+32(SB)/8, $0x4d4c4b4a49484746
DATA rows4ActIdx<>+40(SB)/8, $0x5554535251504f4e
DATA rows4ActIdx<>+48(SB)/8, $0x6f6e6d6c6b6a6968
DATA rows4ActIdx<>+56(SB)/8, $0x7776757473727170
DATA rows4ActIdx<>+64(SB)/8, $0x11100f0e0d0c0b0a
DATA rows4ActIdx<>+72(SB)/8, $0x1918171615141312
DATA rows4ActIdx<>+80(SB)/8, $0x333231302f2e2d2c
DATA rows4ActIdx<>+88(SB)/8, $0x3b3a393837363534
DATA rows4ActIdx<>+96(SB)/8, $0x5554535251504f4e
DATA rows4ActIdx<>+104(SB)/8, $0x5d5c5b5a59585756
DATA rows4ActIdx<>+112(SB)/8, $0x7776757473727170
DATA rows4ActIdx<>+120(SB)/8, $0x7f7e7d7c7b7a7978
GLOBL rows4ActIdx<>(SB), RODATA|NOPTR, $128

// rows4Q40Idx: VPERMT2B byte indices of the nibbles of eight 18-byte Q4_0
// blocks, sixteen bytes per block: blocks 0-3 within the batch's bytes
// 0-127 (+0), blocks 4-7 within bytes 64-127 then 80-143 (+64).
DATA rows4Q40Idx<>+0(SB)/8, $0x0908070605040302
DATA rows4Q40Idx<>+8(SB)/8, $0x11100f0e0d0c0b0a
DATA rows4Q40Idx<>+16(SB)/8, $0x1b1a191817161514
DATA rows4Q40Idx<>+24(SB)/8, $0x232221201f1e1d1c
DATA rows4Q40Idx<>+32(SB)/8, $0x2d2c2b2a29282726
DATA rows4Q40Idx<>+40(SB)/8, $0x3534333231302f2e
DATA rows4Q40Idx<>+48(SB)/8, $0x3f3e3d3c3b3a3938
DATA rows4Q40Idx<>+56(SB)/8, $0x4746454443424140
DATA rows4Q40Idx<>+64(SB)/8, $0x11100f0e0d0c0b0a
DATA rows4Q40Idx<>+72(SB)/8, $0x1918171615141312
DATA rows4Q40Idx<>+80(SB)/8, $0x232221201f1e1d1c
DATA rows4Q40Idx<>+88(SB)/8, $0x2b2a292827262524
DATA rows4Q40Idx<>+96(SB)/8, $0x3534333231302f2e
DATA rows4Q40Idx<>+104(SB)/8, $0x3d3c3b3a39383736
DATA rows4Q40Idx<>+112(SB)/8, $0x7776757473727170
DATA rows4Q40Idx<>+120(SB)/8, $0x7f7e7d7c7b7a7978
GLOBL rows4Q40Idx<>(SB), RODATA|NOPTR, $128

// rows4ScaleIdx: VPERMI2W word indices of the f16 block scales, word 4j+r
// (row r, block j) for block j's scale: Q8_0 (+0), blocks 0-3 within 128
// bytes (bytes 0, 34, 68, 102); Q4_0 (+64), blocks 0-7 (bytes 0, 18, ...,
// 126).
DATA rows4ScaleIdx<>+0(SB)/8, $0x0000000000000000
DATA rows4ScaleIdx<>+8(SB)/8, $0x0011001100110011
DATA rows4ScaleIdx<>+16(SB)/8, $0x0022002200220022
DATA rows4ScaleIdx<>+24(SB)/8, $0x0033003300330033
DATA rows4ScaleIdx<>+32(SB)/8, $0x0000000000000000
DATA rows4ScaleIdx<>+40(SB)/8, $0x0000000000000000
DATA rows4ScaleIdx<>+48(SB)/8, $0x0000000000000000
DATA rows4ScaleIdx<>+56(SB)/8, $0x0000000000000000
DATA rows4ScaleIdx<>+64(SB)/8, $0x0000000000000000
DATA rows4ScaleIdx<>+72(SB)/8, $0x0009000900090009
DATA rows4ScaleIdx<>+80(SB)/8, $0x0012001200120012
DATA rows4ScaleIdx<>+88(SB)/8, $0x001b001b001b001b
DATA rows4ScaleIdx<>+96(SB)/8, $0x0024002400240024
DATA rows4ScaleIdx<>+104(SB)/8, $0x002d002d002d002d
DATA rows4ScaleIdx<>+112(SB)/8, $0x0036003600360036
DATA rows4ScaleIdx<>+120(SB)/8, $0x003f003f003f003f
GLOBL rows4ScaleIdx<>(SB), RODATA|NOPTR, $128

// rows4Q40Bits: the GF(2) matrix of x >> 4 for VGF2P8AFFINEQB (output bit
// i, i < 4, from byte 7-i: input bit i+4), then the low-nibble mask.
DATA rows4Q40Bits<>+0(SB)/8, $0x1020408000000000
DATA rows4Q40Bits<>+8(SB)/4, $0x0f0f0f0f
GLOBL rows4Q40Bits<>(SB), RODATA|NOPTR, $12

// rows4DyIdx: VPERMPS indices spreading four activation scales over the
// four rows: dword 4j+r = scale j.
DATA rows4DyIdx<>+0(SB)/8, $0x0000000000000000
DATA rows4DyIdx<>+8(SB)/8, $0x0000000000000000
DATA rows4DyIdx<>+16(SB)/8, $0x0000000100000001
DATA rows4DyIdx<>+24(SB)/8, $0x0000000100000001
DATA rows4DyIdx<>+32(SB)/8, $0x0000000200000002
DATA rows4DyIdx<>+40(SB)/8, $0x0000000200000002
DATA rows4DyIdx<>+48(SB)/8, $0x0000000300000003
DATA rows4DyIdx<>+56(SB)/8, $0x0000000300000003
GLOBL rows4DyIdx<>(SB), RODATA|NOPTR, $64

// GATHER4: the low four words of Z = the f16 words at R+o, R+o+s, R+o+2s,
// R+o+3s (s = 34 or 18; Z29 holds the word indices), through a two-table
// word permute of the 128 bytes at R+o.
#define GATHER4(R, o, Z) \
	VMOVDQU64 o(R), Z; \
	VPERMT2W  (o+64)(R), Z29, Z

// LOAD8: V0-V7 = the vectors at o, o+s, ..., o+7s past DI.
#define LOAD8(V0, V1, V2, V3, V4, V5, V6, V7, o, s) \
	VMOVDQU32 (o)(DI), V0; \
	VMOVDQU32 (o+s)(DI), V1; \
	VMOVDQU32 (o+2*s)(DI), V2; \
	VMOVDQU32 (o+3*s)(DI), V3; \
	VMOVDQU32 (o+4*s)(DI), V4; \
	VMOVDQU32 (o+5*s)(DI), V5; \
	VMOVDQU32 (o+6*s)(DI), V6; \
	VMOVDQU32 (o+7*s)(DI), V7

// The GEMM frame: SI, R9, R10, R11 = the four rows, DI = the laid-out
// activations, CX = batches of eight blocks, Z12-Z15 = the rows' sums
// (lane i: vector i).
#define GEMMPROLOGUE \
	MOVQ   nb+24(FP), CX; \
	ROWPTRS4; \
	VXORPS Y12, Y12, Y12; \
	VXORPS Y13, Y13, Y13; \
	VXORPS Y14, Y14, Y14; \
	VXORPS Y15, Y15, Y15; \
	SHRQ   $3, CX

#define GEMMEPILOGUE \
	MOVQ    out+32(FP), AX; \
	VMOVUPS Z12, 0(AX); \
	VMOVUPS Z13, 64(AX); \
	VMOVUPS Z14, 128(AX); \
	VMOVUPS Z15, 192(AX); \
	VZEROUPPER; \
	RET

// scaleIdx: VPERMT2W word indices of the f16 block scales within 128 bytes
// of weights: four Q8_0 blocks (bytes 0, 34, 68, 102) at +0, eight Q4_0
// blocks (bytes 0, 18, ..., 126) at +16. Loaded as 16 bytes, which zeroes
// the rest of the index register.
DATA scaleIdx<>+0(SB)/8, $0x0033002200110000
DATA scaleIdx<>+8(SB)/8, $0
DATA scaleIdx<>+16(SB)/8, $0x001b001200090000
DATA scaleIdx<>+24(SB)/8, $0x003f0036002d0024
GLOBL scaleIdx<>(SB), RODATA|NOPTR, $32

// GEMM kernels: four weight rows against sixteen activation vectors per
// call, for MatMul with several vectors (prompt prefill, batched decode).
// The activations come re-laid out by gemmLayoutQ8 so that the lanes of a
// 512-bit register are the sixteen vectors: for block b, 640 bytes of
//
//	k = 0..7: 64 bytes, dword i = quants 4k..4k+3 of vector i
//	512: the vectors' scales as float32
//	576: the vectors' bias corrections, -bias × Σ quants, as int32
//
// so that eight VPDPBUSDs, each against one weight dword broadcast to all
// lanes, leave block b's exact integer sum for vector i in lane i: no
// horizontal reduction, and no transposition of the float sums, which add
// lane by lane in block order as the Go kernels do. Each batch of eight
// weight blocks is unpacked once per call onto the stack as unsigned bytes
// (Q8_0: w+128; Q4_0: the raw nibble, w+8; the bias sits in the
// correction) with its scales as float32, and is then shared by the sixteen
// vectors. 512-bit registers halve the instructions per product; at sixteen
// vectors this ran 1.3× faster than eight-lane 256-bit code.

// GEMMPREP8: BLK(R, r, b) for the batch's eight blocks b.
#define GEMMPREP8(BLK, R, r) \
	BLK(R, r, 0); \
	BLK(R, r, 1); \
	BLK(R, r, 2); \
	BLK(R, r, 3); \
	BLK(R, r, 4); \
	BLK(R, r, 5); \
	BLK(R, r, 6); \
	BLK(R, r, 7)

// GEMMPREPQ80: row R's weight blocks 0-7 as bytes w+128 at 256r(SP), its
// scales as float32 at 1024+32r(SP). Clobbers Y8, Y9.
#define GEMMPREPQ80BLK(R, r, b) \
	VPXORD  (34*b+2)(R), Y26, Y8; \
	VMOVDQU Y8, (256*r+32*b)(SP)

#define GEMMPREPQ80(R, r) \
	PREFETCHT0 272(R); \
	PREFETCHT0 336(R); \
	PREFETCHT0 400(R); \
	PREFETCHT0 464(R); \
	PREFETCHT0 528(R); \
	GEMMPREP8(GEMMPREPQ80BLK, R, r); \
	GATHER4(R, 0, Z9); \
	GATHER4(R, 136, Z8); \
	VPUNPCKLQDQ X8, X9, X9; \
	VCVTPH2PS   X9, Y9; \
	VMOVUPS     Y9, (1024+32*r)(SP)

// GEMMPREPQ40: the same for a Q4_0 row: the nibbles in element order.
#define GEMMPREPQ40BLK(R, r, b) \
	VMOVDQU (18*b+2)(R), X8; \
	VPSRLW  $4, X8, X9; \
	VPANDD  X26, X8, X8; \
	VPANDD  X26, X9, X9; \
	VMOVDQU X8, (256*r+32*b)(SP); \
	VMOVDQU X9, (256*r+32*b+16)(SP)

#define GEMMPREPQ40(R, r) \
	PREFETCHT0 144(R); \
	PREFETCHT0 208(R); \
	PREFETCHT0 272(R); \
	GEMMPREP8(GEMMPREPQ40BLK, R, r); \
	GATHER4(R, 0, Z9); \
	VCVTPH2PS X9, Y9; \
	VMOVUPS   Y9, (1024+32*r)(SP)

// GEMMDOT: Z0 = the exact integer sums of block b (DX = 4b) of row r
// against the sixteen vectors' activations in Z16-Z23, converted to float32;
// Ydx = row r's scale for block b in every lane. Four accumulators keep the
// VPDPBUSD chains short enough for their latency to overlap.
#define GEMMDOT(r, Ydx) \
	VMOVDQA32    Z25, Z0; \
	VPXORD       Z1, Z1, Z1; \
	VPXORD       Z2, Z2, Z2; \
	VPXORD       Z3, Z3, Z3; \
	VPBROADCASTD (256*r+0)(SP)(DX*8), Z4; \
	VPBROADCASTD (256*r+4)(SP)(DX*8), Z5; \
	VPBROADCASTD (256*r+8)(SP)(DX*8), Z6; \
	VPBROADCASTD (256*r+12)(SP)(DX*8), Z7; \
	VPBROADCASTD (256*r+16)(SP)(DX*8), Z8; \
	VPBROADCASTD (256*r+20)(SP)(DX*8), Z9; \
	VPBROADCASTD (256*r+24)(SP)(DX*8), Z10; \
	VPBROADCASTD (256*r+28)(SP)(DX*8), Z11; \
	VPDPBUSD     Z16, Z4, Z0; \
	VPDPBUSD     Z17, Z5, Z1; \
	VPDPBUSD     Z18, Z6, Z2; \
	VPDPBUSD     Z19, Z7, Z3; \
	VPDPBUSD     Z20, Z8, Z0; \
	VPDPBUSD     Z21, Z9, Z1; \
	VPDPBUSD     Z22, Z10, Z2; \
	VPDPBUSD     Z23, Z11, Z3; \
	VPADDD       Z1, Z0, Z0; \
	VPADDD       Z3, Z2, Z2; \
	VPADDD       Z2, Z0, Z0; \
	VCVTDQ2PS    Z0, Z0; \
	VBROADCASTSS (1024+32*r)(SP)(DX*1), Ydx

// GEMMQ80: Ysum += float32(sumi) * (dx*dy), as q8_0Blocks.
#define GEMMQ80(r, Ysum) \
	GEMMDOT(r, Z27); \
	VMULPS Z24, Z27, Z27; \
	VMULPS Z27, Z0, Z0; \
	VADDPS Z0, Ysum, Ysum

// GEMMQ40: Ysum += float32(sumi) * dx * dy, as q4_0Blocks.
#define GEMMQ40(r, Ysum) \
	GEMMDOT(r, Z27); \
	VMULPS Z27, Z0, Z0; \
	VMULPS Z24, Z0, Z0; \
	VADDPS Z0, Ysum, Ysum

// GEMMACT: the sixteen vectors' block at DI: quants in Z16-Z23, scales in
// Z24, corrections in Z25.
#define GEMMACT \
	LOAD8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, 0, 64); \
	VMOVUPS   512(DI), Z24; \
	VMOVDQU32 576(DI), Z25

// GEMMLOOP: the batches of eight blocks, each prepared by PREP (weight
// blocks of wsize bytes) and summed by SUM; batch and blk name the loops.
#define GEMMLOOP(PREP, SUM, wsize, batch, blk) \
batch: \
	PREP(SI, 0); \
	PREP(R9, 1); \
	PREP(R10, 2); \
	PREP(R11, 3); \
	XORQ DX, DX; \
blk: \
	GEMMACT; \
	SUM(0, Z12); \
	SUM(1, Z13); \
	SUM(2, Z14); \
	SUM(3, Z15); \
	ADDQ $640, DI; \
	ADDQ $4, DX; \
	CMPQ DX, $32; \
	JNE  blk; \
	ADDQ $(8*wsize), SI; \
	ADDQ $(8*wsize), R9; \
	ADDQ $(8*wsize), R10; \
	ADDQ $(8*wsize), R11; \
	DECQ CX; \
	JNZ  batch

// GEMMBODY: a whole GEMM kernel over weight blocks of wsize bytes, with
// Y26 = mask in every dword and the scale gather indices at scaleIdx+idx.
#define GEMMBODY(mask, idx, PREP, SUM, wsize, batch, blk, done) \
	GEMMPROLOGUE; \
	JZ done; \
	BROADCASTB(mask, Y26, X26); \
	VMOVDQU32 scaleIdx<>+idx(SB), X29; \
	GEMMLOOP(PREP, SUM, wsize, batch, blk); \
done: \
	GEMMEPILOGUE

// func gemmQ8_0VNNI(w *byte, stride int, a *byte, nb int, out *[64]float32)
// Rows w, w+stride, w+2·stride, w+3·stride against sixteen vectors laid out
// by gemmLayoutQ8; out[16r+i] = row r · vector i. nb: a multiple of 8 blocks.
TEXT ·gemmQ8_0VNNI(SB), 0, $1152-40
	GEMMBODY($0x80808080, 0, GEMMPREPQ80, GEMMQ80, 34, gq80batch, gq80blk, gq80done)

// func gemmQ4_0VNNI(w *byte, stride int, a *byte, nb int, out *[64]float32)
// As gemmQ8_0VNNI, for Q4_0 rows.
TEXT ·gemmQ4_0VNNI(SB), 0, $1152-40
	GEMMBODY($0x0f0f0f0f, 16, GEMMPREPQ40, GEMMQ40, 18, gq40batch, gq40blk, gq40done)
