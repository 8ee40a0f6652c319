//go:build !purego

#include "textflag.h"

// AVX-512 attention kernels (attn.go): scores of a group of queries against
// key rows, and the softmax-weighted sum of value rows. Each key or value
// row is loaded once for all the queries of a call.

// PAIR, QUAD and REDUCE16 sum each of Z0..Z15 horizontally, all at once:
// afterwards lane L (128 bits) of Z0 holds, in element e, the sum of
// Z(4e+L)'s sixteen floats. Clobbers Z16-Z19.

// PAIR: a = a's 128-bit lanes 0+2 and 1+3, then b's.
#define PAIR(a, b, t) \
	VSHUFF32X4 $0x44, b, a, t; \
	VSHUFF32X4 $0xEE, b, a, a; \
	VADDPS     t, a, a

// QUAD: two PAIR results a, b (of vectors i, i+1 and i+2, i+3) into one
// whose lane L holds four partial sums of vector i+L.
#define QUAD(a, b, t) \
	VSHUFF32X4 $0x88, b, a, t; \
	VSHUFF32X4 $0xDD, b, a, a; \
	VADDPS     t, a, a

#define REDUCE16 \
	PAIR(Z0, Z1, Z16); \
	PAIR(Z2, Z3, Z17); \
	PAIR(Z4, Z5, Z18); \
	PAIR(Z6, Z7, Z19); \
	PAIR(Z8, Z9, Z16); \
	PAIR(Z10, Z11, Z17); \
	PAIR(Z12, Z13, Z18); \
	PAIR(Z14, Z15, Z19); \
	QUAD(Z0, Z2, Z16); \
	QUAD(Z4, Z6, Z17); \
	QUAD(Z8, Z10, Z18); \
	QUAD(Z12, Z14, Z19); \
	VUNPCKLPS Z4, Z0, Z16; \
	VUNPCKHPS Z4, Z0, Z17; \
	VADDPS    Z17, Z16, Z16; \
	VUNPCKLPS Z12, Z8, Z17; \
	VUNPCKHPS Z12, Z8, Z18; \
	VADDPS    Z18, Z17, Z17; \
	VUNPCKLPD Z17, Z16, Z18; \
	VUNPCKHPD Z17, Z16, Z19; \
	VADDPS    Z19, Z18, Z0

#define ZERO16 \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15

// func attnScores4x4AVX512(q, k *float32, kstride, hd, tiles int, scale float32, dst *float32, dstride int)
// Four queries (hd floats apart) against tiles×4 key rows (kstride floats
// apart): dst[g*dstride+p] = scale·q_g·k_p. hd: a multiple of 16; tiles ≥ 1.
// The dot of query g with the tile's key p accumulates in Z(4p+g), so that
// REDUCE16 leaves query g's four scores in lane g.
TEXT ·attnScores4x4AVX512(SB), NOSPLIT, $0-64
	MOVQ         q+0(FP), SI
	MOVQ         k+8(FP), DI
	MOVQ         kstride+16(FP), BX
	SHLQ         $2, BX
	LEAQ         (BX)(BX*2), R11
	MOVQ         hd+24(FP), R9
	SHLQ         $2, R9
	LEAQ         (R9)(R9*2), R10
	MOVQ         R9, R8
	SHRQ         $6, R8
	MOVQ         tiles+32(FP), CX
	VBROADCASTSS scale+40(FP), Z31
	MOVQ         dst+48(FP), R12
	MOVQ         dstride+56(FP), R13
	SHLQ         $2, R13
	LEAQ         (R13)(R13*2), R14
	LEAQ         (BX*4), AX
	SUBQ         R9, AX            // from past a tile's first row to the next tile

s4tile:
	ZERO16
	MOVQ R8, DX

s4chunk:
	VMOVUPS     (DI), Z16
	VMOVUPS     (DI)(BX*1), Z17
	VMOVUPS     (DI)(BX*2), Z18
	VMOVUPS     (DI)(R11*1), Z19
	VMOVUPS     (SI), Z20
	VMOVUPS     (SI)(R9*1), Z21
	VMOVUPS     (SI)(R9*2), Z22
	VMOVUPS     (SI)(R10*1), Z23
	VFMADD231PS Z20, Z16, Z0
	VFMADD231PS Z21, Z16, Z1
	VFMADD231PS Z22, Z16, Z2
	VFMADD231PS Z23, Z16, Z3
	VFMADD231PS Z20, Z17, Z4
	VFMADD231PS Z21, Z17, Z5
	VFMADD231PS Z22, Z17, Z6
	VFMADD231PS Z23, Z17, Z7
	VFMADD231PS Z20, Z18, Z8
	VFMADD231PS Z21, Z18, Z9
	VFMADD231PS Z22, Z18, Z10
	VFMADD231PS Z23, Z18, Z11
	VFMADD231PS Z20, Z19, Z12
	VFMADD231PS Z21, Z19, Z13
	VFMADD231PS Z22, Z19, Z14
	VFMADD231PS Z23, Z19, Z15
	ADDQ        $64, SI
	ADDQ        $64, DI
	DECQ        DX
	JNZ         s4chunk

	SUBQ          R9, SI
	ADDQ          AX, DI
	REDUCE16
	VMULPS        Z31, Z0, Z0
	VMOVUPS       X0, (R12)
	VEXTRACTF32X4 $1, Z0, (R12)(R13*1)
	VEXTRACTF32X4 $2, Z0, (R12)(R13*2)
	VEXTRACTF32X4 $3, Z0, (R12)(R14*1)
	ADDQ          $16, R12
	DECQ          CX
	JNZ           s4tile
	VZEROUPPER
	RET

// func attnScores1x16AVX512(q, k *float32, kstride, hd, tiles int, scale float32, dst *float32)
// One query against tiles×16 key rows: dst[p] = scale·q·k_p. hd: a multiple
// of 16; tiles ≥ 1. Key p accumulates in Z(4(p%4)+p/4), so that REDUCE16
// leaves the scores in order. Rows 0-3, 4-7, 8-11 and 12-15 of a tile are
// read through DI, R9, R10 and R13.
TEXT ·attnScores1x16AVX512(SB), NOSPLIT, $0-56
	MOVQ         q+0(FP), SI
	MOVQ         k+8(FP), DI
	MOVQ         kstride+16(FP), BX
	SHLQ         $2, BX
	LEAQ         (BX)(BX*2), R11
	MOVQ         hd+24(FP), R14
	SHLQ         $2, R14
	MOVQ         R14, R8
	SHRQ         $6, R8
	MOVQ         tiles+32(FP), CX
	VBROADCASTSS scale+40(FP), Z31
	MOVQ         dst+48(FP), R12
	LEAQ         (DI)(BX*4), R9
	LEAQ         (R9)(BX*4), R10
	LEAQ         (R10)(BX*4), R13
	MOVQ         BX, AX
	SHLQ         $4, AX
	SUBQ         R14, AX           // from past a tile's first row to the next tile

s1tile:
	ZERO16
	MOVQ R8, DX

s1chunk:
	VMOVUPS     (SI), Z16
	VFMADD231PS (DI), Z16, Z0
	VFMADD231PS (DI)(BX*1), Z16, Z4
	VFMADD231PS (DI)(BX*2), Z16, Z8
	VFMADD231PS (DI)(R11*1), Z16, Z12
	VFMADD231PS (R9), Z16, Z1
	VFMADD231PS (R9)(BX*1), Z16, Z5
	VFMADD231PS (R9)(BX*2), Z16, Z9
	VFMADD231PS (R9)(R11*1), Z16, Z13
	VFMADD231PS (R10), Z16, Z2
	VFMADD231PS (R10)(BX*1), Z16, Z6
	VFMADD231PS (R10)(BX*2), Z16, Z10
	VFMADD231PS (R10)(R11*1), Z16, Z14
	VFMADD231PS (R13), Z16, Z3
	VFMADD231PS (R13)(BX*1), Z16, Z7
	VFMADD231PS (R13)(BX*2), Z16, Z11
	VFMADD231PS (R13)(R11*1), Z16, Z15
	ADDQ        $64, SI
	ADDQ        $64, DI
	ADDQ        $64, R9
	ADDQ        $64, R10
	ADDQ        $64, R13
	DECQ        DX
	JNZ         s1chunk

	SUBQ    R14, SI
	ADDQ    AX, DI
	ADDQ    AX, R9
	ADDQ    AX, R10
	ADDQ    AX, R13
	REDUCE16
	VMULPS  Z31, Z0, Z0
	VMOVUPS Z0, (R12)
	ADDQ    $64, R12
	DECQ    CX
	JNZ     s1tile
	VZEROUPPER
	RET

// func attnValues4AVX512(w *float32, wstride int, v *float32, vstride, hd, n int, out *float32)
// Four queries' weights (rows wstride floats apart) times n value rows
// (vstride floats apart): out[g*hd+c] = Σ_p w[g*wstride+p]·v[p*vstride+c].
// hd: a multiple of 16; n ≥ 1. Query g's 64-float block accumulates in
// Z(4g)..Z(4g+3), each value block loaded once for the four; what is left
// of a row past its 64-float blocks goes sixteen floats at a time.
TEXT ·attnValues4AVX512(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ wstride+8(FP), BX
	SHLQ $2, BX
	LEAQ (BX)(BX*2), R11
	MOVQ v+16(FP), DI
	MOVQ vstride+24(FP), R8
	SHLQ $2, R8
	MOVQ hd+32(FP), R9
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R10
	MOVQ n+40(FP), R13
	MOVQ out+48(FP), R12
	MOVQ R9, DX
	SHRQ $8, DX
	JZ   v4chunks

v4block:
	ZERO16
	MOVQ SI, AX
	MOVQ DI, R14
	MOVQ R13, CX

v4pos:
	VMOVUPS      (R14), Z16
	VMOVUPS      64(R14), Z17
	VMOVUPS      128(R14), Z18
	VMOVUPS      192(R14), Z19
	VBROADCASTSS (AX), Z20
	VBROADCASTSS (AX)(BX*1), Z21
	VBROADCASTSS (AX)(BX*2), Z22
	VBROADCASTSS (AX)(R11*1), Z23
	VFMADD231PS  Z20, Z16, Z0
	VFMADD231PS  Z20, Z17, Z1
	VFMADD231PS  Z20, Z18, Z2
	VFMADD231PS  Z20, Z19, Z3
	VFMADD231PS  Z21, Z16, Z4
	VFMADD231PS  Z21, Z17, Z5
	VFMADD231PS  Z21, Z18, Z6
	VFMADD231PS  Z21, Z19, Z7
	VFMADD231PS  Z22, Z16, Z8
	VFMADD231PS  Z22, Z17, Z9
	VFMADD231PS  Z22, Z18, Z10
	VFMADD231PS  Z22, Z19, Z11
	VFMADD231PS  Z23, Z16, Z12
	VFMADD231PS  Z23, Z17, Z13
	VFMADD231PS  Z23, Z18, Z14
	VFMADD231PS  Z23, Z19, Z15
	ADDQ         $4, AX
	ADDQ         R8, R14
	DECQ         CX
	JNZ          v4pos

	VMOVUPS Z0, (R12)
	VMOVUPS Z1, 64(R12)
	VMOVUPS Z2, 128(R12)
	VMOVUPS Z3, 192(R12)
	VMOVUPS Z4, (R12)(R9*1)
	VMOVUPS Z5, 64(R12)(R9*1)
	VMOVUPS Z6, 128(R12)(R9*1)
	VMOVUPS Z7, 192(R12)(R9*1)
	VMOVUPS Z8, (R12)(R9*2)
	VMOVUPS Z9, 64(R12)(R9*2)
	VMOVUPS Z10, 128(R12)(R9*2)
	VMOVUPS Z11, 192(R12)(R9*2)
	VMOVUPS Z12, (R12)(R10*1)
	VMOVUPS Z13, 64(R12)(R10*1)
	VMOVUPS Z14, 128(R12)(R10*1)
	VMOVUPS Z15, 192(R12)(R10*1)
	ADDQ    $256, R12
	ADDQ    $256, DI
	DECQ    DX
	JNZ     v4block

v4chunks:
	MOVQ R9, DX
	SHRQ $6, DX
	ANDQ $3, DX
	JZ   v4done

v4chunk:
	VPXORD Z0, Z0, Z0
	VPXORD Z4, Z4, Z4
	VPXORD Z8, Z8, Z8
	VPXORD Z12, Z12, Z12
	MOVQ   SI, AX
	MOVQ   DI, R14
	MOVQ   R13, CX

v4cpos:
	VMOVUPS      (R14), Z16
	VBROADCASTSS (AX), Z20
	VBROADCASTSS (AX)(BX*1), Z21
	VBROADCASTSS (AX)(BX*2), Z22
	VBROADCASTSS (AX)(R11*1), Z23
	VFMADD231PS  Z20, Z16, Z0
	VFMADD231PS  Z21, Z16, Z4
	VFMADD231PS  Z22, Z16, Z8
	VFMADD231PS  Z23, Z16, Z12
	ADDQ         $4, AX
	ADDQ         R8, R14
	DECQ         CX
	JNZ          v4cpos

	VMOVUPS Z0, (R12)
	VMOVUPS Z4, (R12)(R9*1)
	VMOVUPS Z8, (R12)(R9*2)
	VMOVUPS Z12, (R12)(R10*1)
	ADDQ    $64, R12
	ADDQ    $64, DI
	DECQ    DX
	JNZ     v4chunk

v4done:
	VZEROUPPER
	RET

// func attnValues1AVX512(w, v *float32, vstride, hd, n int, out *float32)
// One query: out[c] = Σ_p w[p]·v[p*vstride+c]. hd: a multiple of 16; n ≥ 1.
// Even and odd positions accumulate apart (Z0-Z3, Z4-Z7), two chains per
// block to hide the FMA latency, and are added at the end; what is left of
// a row past its 64-float blocks goes sixteen floats at a time, one chain.
TEXT ·attnValues1AVX512(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ v+8(FP), DI
	MOVQ vstride+16(FP), R8
	SHLQ $2, R8
	MOVQ  hd+24(FP), R9
	MOVQ  R9, DX
	SHRQ  $6, DX
	MOVQ  n+32(FP), R13
	MOVQ  out+40(FP), R12
	TESTQ DX, DX
	JZ    v1chunks

v1block:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ   SI, AX
	MOVQ   DI, R14
	MOVQ   R13, CX
	SHRQ   $1, CX
	JZ     v1odd

v1pair:
	VBROADCASTSS (AX), Z20
	VBROADCASTSS 4(AX), Z21
	VFMADD231PS  (R14), Z20, Z0
	VFMADD231PS  64(R14), Z20, Z1
	VFMADD231PS  128(R14), Z20, Z2
	VFMADD231PS  192(R14), Z20, Z3
	VFMADD231PS  (R14)(R8*1), Z21, Z4
	VFMADD231PS  64(R14)(R8*1), Z21, Z5
	VFMADD231PS  128(R14)(R8*1), Z21, Z6
	VFMADD231PS  192(R14)(R8*1), Z21, Z7
	ADDQ         $8, AX
	LEAQ         (R14)(R8*2), R14
	DECQ         CX
	JNZ          v1pair

v1odd:
	TESTQ        $1, R13
	JZ           v1store
	VBROADCASTSS (AX), Z20
	VFMADD231PS  (R14), Z20, Z0
	VFMADD231PS  64(R14), Z20, Z1
	VFMADD231PS  128(R14), Z20, Z2
	VFMADD231PS  192(R14), Z20, Z3

v1store:
	VADDPS  Z4, Z0, Z0
	VADDPS  Z5, Z1, Z1
	VADDPS  Z6, Z2, Z2
	VADDPS  Z7, Z3, Z3
	VMOVUPS Z0, (R12)
	VMOVUPS Z1, 64(R12)
	VMOVUPS Z2, 128(R12)
	VMOVUPS Z3, 192(R12)
	ADDQ    $256, R12
	ADDQ    $256, DI
	DECQ    DX
	JNZ     v1block

v1chunks:
	SHRQ $4, R9
	ANDQ $3, R9
	JZ   v1done

v1chunk:
	VPXORD Z0, Z0, Z0
	MOVQ   SI, AX
	MOVQ   DI, R14
	MOVQ   R13, CX

v1cpos:
	VBROADCASTSS (AX), Z20
	VFMADD231PS  (R14), Z20, Z0
	ADDQ         $4, AX
	ADDQ         R8, R14
	DECQ         CX
	JNZ          v1cpos

	VMOVUPS Z0, (R12)
	ADDQ    $64, R12
	ADDQ    $64, DI
	DECQ    R9
	JNZ     v1chunk

v1done:
	VZEROUPPER
	RET

// Broadcast constants of EXPF, one float32 each.
DATA attnExpK<>+0(SB)/4, $0x4b400000  // 0x1.8p23: rounds to an integer
DATA attnExpK<>+4(SB)/4, $0x3fb8aa3b  // log2(e)
DATA attnExpK<>+8(SB)/4, $0x3f317200  // ln2, high part
DATA attnExpK<>+12(SB)/4, $0x35bfbe8e // ln2, low part
DATA attnExpK<>+16(SB)/4, $0x3c072010 // polynomial coefficients, highest first
DATA attnExpK<>+20(SB)/4, $0x3d2b9f17
DATA attnExpK<>+24(SB)/4, $0x3e2aaf33
DATA attnExpK<>+28(SB)/4, $0x3efffedb
DATA attnExpK<>+32(SB)/4, $0x3f7ffff6
DATA attnExpK<>+36(SB)/4, $0x3f800000 // 1
DATA attnExpK<>+40(SB)/4, $0xc3400000 // -192: below, exp is 0
GLOBL attnExpK<>(SB), RODATA|NOPTR, $44

// EXPF: Z11 = exp(Z2) for Z2 ≤ 0, ggml_v_expf's polynomial (expf.go) with
// its underflow to 0. Needs the constants in Z16-Z26 and 0 in Z30;
// clobbers Z3-Z10 and K2.
#define EXPF \
	VMOVAPS      Z16, Z3; \
	VFMADD231PS  Z17, Z2, Z3; \
	VSUBPS       Z16, Z3, Z4; \
	VMOVAPS      Z2, Z5; \
	VFNMADD231PS Z18, Z4, Z5; \
	VFNMADD231PS Z19, Z4, Z5; \
	VMULPS       Z5, Z5, Z7; \
	VMOVAPS      Z21, Z8; \
	VFMADD231PS  Z20, Z5, Z8; \
	VMOVAPS      Z23, Z9; \
	VFMADD231PS  Z22, Z5, Z9; \
	VFMADD231PS  Z7, Z8, Z9; \
	VMOVAPS      Z25, Z10; \
	VFMADD231PS  Z24, Z5, Z10; \
	VFMADD231PS  Z7, Z9, Z10; \
	VSCALEFPS    Z4, Z10, Z11; \
	VCMPPS       $17, Z26, Z4, K2; \
	VMOVAPS      Z30, K2, Z11

// HREDUCE: every lane of Z0 = op over Z0's sixteen lanes. Clobbers Z1.
#define HREDUCE(op) \
	VSHUFF32X4 $0x4E, Z0, Z0, Z1; \
	op         Z1, Z0, Z0; \
	VSHUFF32X4 $0xB1, Z0, Z0, Z1; \
	op         Z1, Z0, Z0; \
	VPERMILPS  $0x4E, Z0, Z1; \
	op         Z1, Z0, Z0; \
	VPERMILPS  $0xB1, Z0, Z1; \
	op         Z1, Z0, Z0

// func softmaxAVX512(x *float32, n int)
// x[:n] = exp(x-max)/sum in place, n ≥ 1: whole vectors of sixteen, then
// the last n%16 elements under the mask K1. Each pass keeps x in L1.
TEXT ·softmaxAVX512(SB), NOSPLIT, $0-16
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), R8
	MOVQ         R8, CX
	ANDQ         $15, CX
	MOVL         $1, DX
	SHLL         CX, DX
	DECL         DX
	KMOVW        DX, K1
	SHRQ         $4, R8
	VBROADCASTSS (SI), Z0

	// The maximum.
	MOVQ  SI, DI
	MOVQ  R8, CX
	TESTQ CX, CX
	JZ    maxtail

maxloop:
	VMAXPS (DI), Z0, Z0
	ADDQ   $64, DI
	DECQ   CX
	JNZ    maxloop

maxtail:
	VMAXPS (DI), Z0, K1, Z0
	HREDUCE(VMAXPS)

	// exp(x-max) in place, and their sum.
	VBROADCASTSS attnExpK<>+0(SB), Z16
	VBROADCASTSS attnExpK<>+4(SB), Z17
	VBROADCASTSS attnExpK<>+8(SB), Z18
	VBROADCASTSS attnExpK<>+12(SB), Z19
	VBROADCASTSS attnExpK<>+16(SB), Z20
	VBROADCASTSS attnExpK<>+20(SB), Z21
	VBROADCASTSS attnExpK<>+24(SB), Z22
	VBROADCASTSS attnExpK<>+28(SB), Z23
	VBROADCASTSS attnExpK<>+32(SB), Z24
	VBROADCASTSS attnExpK<>+36(SB), Z25
	VBROADCASTSS attnExpK<>+40(SB), Z26
	VPXORD       Z30, Z30, Z30
	VPXORD       Z12, Z12, Z12
	MOVQ         SI, DI
	MOVQ         R8, CX
	TESTQ        CX, CX
	JZ           exptail

exploop:
	VMOVUPS (DI), Z2
	VSUBPS  Z0, Z2, Z2
	EXPF
	VMOVUPS Z11, (DI)
	VADDPS  Z11, Z12, Z12
	ADDQ    $64, DI
	DECQ    CX
	JNZ     exploop

exptail:
	VMOVUPS.Z (DI), K1, Z2
	VSUBPS    Z0, Z2, Z2
	EXPF
	VMOVUPS   Z11, K1, (DI)
	VADDPS    Z11, Z12, K1, Z12
	VMOVAPS   Z12, Z0
	HREDUCE(VADDPS)

	// Divided by the sum.
	VDIVPS Z0, Z25, Z0
	MOVQ   SI, DI
	MOVQ   R8, CX
	TESTQ  CX, CX
	JZ     scaletail

scaleloop:
	VMULPS  (DI), Z0, Z2
	VMOVUPS Z2, (DI)
	ADDQ    $64, DI
	DECQ    CX
	JNZ     scaleloop

scaletail:
	VMULPS.Z (DI), Z0, K1, Z2
	VMOVUPS  Z2, K1, (DI)
	VZEROUPPER
	RET
