//go:build !purego

#include "textflag.h"

// Attention kernels (attn.go, attn_amd64.go): scores of a group of queries
// against key rows, softmax, and the weighted sum of value rows. Each key
// or value row is loaded once for all the queries of a call. The scores
// come in an AVX-512 and an AVX2 version, the rest in AVX2 only: 512-bit
// softmax and value kernels took 12% off the attention time at 300
// positions on Zen 4 and 2% at 48, not worth a second copy of them.

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

// SCOREARGS: the arguments every score kernel starts from: queries in SI,
// keys in DI, kstride in bytes in BX and three times that in R11, hd in
// bytes in R9, its vectors of 2^vshift bytes in R8, tiles in CX, dst in R12,
// and in AX the step from a tile's keys, once a pass over hd has moved past
// its first row, to the next tile's, rows rows on.
#define SCOREARGS(vshift, rows) \
	MOVQ   q+0(FP), SI; \
	MOVQ   k+8(FP), DI; \
	MOVQ   kstride+16(FP), BX; \
	SHLQ   $2, BX; \
	LEAQ   (BX)(BX*2), R11; \
	MOVQ   hd+24(FP), R9; \
	SHLQ   $2, R9; \
	MOVQ   R9, R8; \
	SHRQ   $vshift, R8; \
	MOVQ   tiles+32(FP), CX; \
	MOVQ   dst+48(FP), R12; \
	IMUL3Q $rows, BX, AX; \
	SUBQ   R9, AX

// SCORE4ARGS: SCOREARGS for four queries, with three times hd's bytes in
// R10 (the fourth query's offset) and dstride in bytes in R13, three times
// that in R14.
#define SCORE4ARGS(vshift, rows) \
	SCOREARGS(vshift, rows); \
	LEAQ (R9)(R9*2), R10; \
	MOVQ dstride+56(FP), R13; \
	SHLQ $2, R13; \
	LEAQ (R13)(R13*2), R14

// ROWS4FMA: a0..a3 += q times the vectors at P in four rows BX apart
// (R11 = 3·BX).
#define ROWS4FMA(P, q, a0, a1, a2, a3) \
	VFMADD231PS (P), q, a0; \
	VFMADD231PS (P)(BX*1), q, a1; \
	VFMADD231PS (P)(BX*2), q, a2; \
	VFMADD231PS (P)(R11*1), q, a3

// func attnScores4x4AVX512(q, k *float32, kstride, hd, tiles int, scale float32, dst *float32, dstride int)
// Four queries (hd floats apart) against tiles×4 key rows (kstride floats
// apart): dst[g*dstride+p] = scale·q_g·k_p. hd: a multiple of 16; tiles ≥ 1.
// The dot of query g with the tile's key p accumulates in Z(4p+g), so that
// REDUCE16 leaves query g's four scores in lane g.
TEXT ·attnScores4x4AVX512(SB), NOSPLIT, $0-64
	SCORE4ARGS(6, 4)
	VBROADCASTSS scale+40(FP), Z31

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
// read through DI, R10, R13 and R14.
TEXT ·attnScores1x16AVX512(SB), NOSPLIT, $0-56
	SCOREARGS(6, 16)
	VBROADCASTSS scale+40(FP), Z31
	LEAQ         (DI)(BX*4), R10
	LEAQ         (R10)(BX*4), R13
	LEAQ         (R13)(BX*4), R14

s1tile:
	ZERO16
	MOVQ R8, DX

s1chunk:
	VMOVUPS     (SI), Z16
	ROWS4FMA(DI, Z16, Z0, Z4, Z8, Z12)
	ROWS4FMA(R10, Z16, Z1, Z5, Z9, Z13)
	ROWS4FMA(R13, Z16, Z2, Z6, Z10, Z14)
	ROWS4FMA(R14, Z16, Z3, Z7, Z11, Z15)
	ADDQ        $64, SI
	ADDQ        $64, DI
	ADDQ        $64, R10
	ADDQ        $64, R13
	ADDQ        $64, R14
	DECQ        DX
	JNZ         s1chunk

	SUBQ    R9, SI
	ADDQ    AX, DI
	ADDQ    AX, R10
	ADDQ    AX, R13
	ADDQ    AX, R14
	REDUCE16
	VMULPS  Z31, Z0, Z0
	VMOVUPS Z0, (R12)
	ADDQ    $64, R12
	DECQ    CX
	JNZ     s1tile
	VZEROUPPER
	RET

// The AVX2 score kernels are the AVX-512 ones in eight lanes and sixteen
// registers: tiles of four queries × two positions or one query × eight.

// REDUCE8: element k of Y0 = the sum of Yk's eight floats, for k < 8.
// Clobbers Y2, Y4, Y6, Y8, Y9.
#define REDUCE8 \
	VHADDPS    Y1, Y0, Y0; \
	VHADDPS    Y3, Y2, Y2; \
	VHADDPS    Y5, Y4, Y4; \
	VHADDPS    Y7, Y6, Y6; \
	VHADDPS    Y2, Y0, Y0; \
	VHADDPS    Y6, Y4, Y4; \
	VPERM2F128 $0x20, Y4, Y0, Y8; \
	VPERM2F128 $0x31, Y4, Y0, Y9; \
	VADDPS     Y9, Y8, Y0

#define ZERO8 \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7

// OUTER42: Y(2i+j) += Y(10+i)·Y(8+j) for i < 4, j < 2, the outer product
// of four query rows (or weights) and two key (or value) vectors.
#define OUTER42 \
	VFMADD231PS Y10, Y8, Y0; \
	VFMADD231PS Y10, Y9, Y1; \
	VFMADD231PS Y11, Y8, Y2; \
	VFMADD231PS Y11, Y9, Y3; \
	VFMADD231PS Y12, Y8, Y4; \
	VFMADD231PS Y12, Y9, Y5; \
	VFMADD231PS Y13, Y8, Y6; \
	VFMADD231PS Y13, Y9, Y7

// func attnScores4x2AVX2(q, k *float32, kstride, hd, tiles int, scale float32, dst *float32, dstride int)
// attnScores4x4AVX512 with tiles of two positions; hd: a multiple of 8.
// Query g's dot with the tile's key p accumulates in Y(2g+p).
TEXT ·attnScores4x2AVX2(SB), NOSPLIT, $0-64
	SCORE4ARGS(5, 2)
	VBROADCASTSS scale+40(FP), Y15

s42tile:
	ZERO8
	MOVQ R8, DX

s42chunk:
	VMOVUPS     (DI), Y8
	VMOVUPS     (DI)(BX*1), Y9
	VMOVUPS     (SI), Y10
	VMOVUPS     (SI)(R9*1), Y11
	VMOVUPS     (SI)(R9*2), Y12
	VMOVUPS     (SI)(R10*1), Y13
	OUTER42
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        DX
	JNZ         s42chunk

	SUBQ         R9, SI
	ADDQ         AX, DI
	REDUCE8
	VMULPS       Y15, Y0, Y0
	VMOVLPS      X0, (R12)
	VMOVHPS      X0, (R12)(R13*1)
	VEXTRACTF128 $1, Y0, X1
	VMOVLPS      X1, (R12)(R13*2)
	VMOVHPS      X1, (R12)(R14*1)
	ADDQ         $8, R12
	DECQ         CX
	JNZ          s42tile
	VZEROUPPER
	RET

// func attnScores1x8AVX2(q, k *float32, kstride, hd, tiles int, scale float32, dst *float32)
// attnScores1x16AVX512 with tiles of eight positions, key p in Yp; hd: a
// multiple of 8. Rows 0-3 and 4-7 of a tile are read through DI and R10.
TEXT ·attnScores1x8AVX2(SB), NOSPLIT, $0-56
	SCOREARGS(5, 8)
	VBROADCASTSS scale+40(FP), Y15
	LEAQ         (DI)(BX*4), R10

s18tile:
	ZERO8
	MOVQ R8, DX

s18chunk:
	VMOVUPS     (SI), Y10
	ROWS4FMA(DI, Y10, Y0, Y1, Y2, Y3)
	ROWS4FMA(R10, Y10, Y4, Y5, Y6, Y7)
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        $32, R10
	DECQ        DX
	JNZ         s18chunk

	SUBQ    R9, SI
	ADDQ    AX, DI
	ADDQ    AX, R10
	REDUCE8
	VMULPS  Y15, Y0, Y0
	VMOVUPS Y0, (R12)
	ADDQ    $32, R12
	DECQ    CX
	JNZ     s18tile
	VZEROUPPER
	RET

// func attnValues4AVX2(w *float32, wstride int, v *float32, vstride, hd, n int, out *float32)
// Four queries' weights (rows wstride floats apart) times n value rows
// (vstride floats apart): out[g*hd+c] = Σ_p w[g*wstride+p]·v[p*vstride+c].
// hd: a multiple of 8; n ≥ 1. Query g's block of sixteen floats accumulates
// in Y(2g) and Y(2g+1), each value block loaded once for the four; then one
// block of eight if hd is an odd multiple of 8.
TEXT ·attnValues4AVX2(SB), NOSPLIT, $0-56
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
	SHRQ $6, DX
	JZ   a4chunk

a4block:
	ZERO8
	MOVQ SI, AX
	MOVQ DI, R14
	MOVQ R13, CX

a4pos:
	VMOVUPS      (R14), Y8
	VMOVUPS      32(R14), Y9
	VBROADCASTSS (AX), Y10
	VBROADCASTSS (AX)(BX*1), Y11
	VBROADCASTSS (AX)(BX*2), Y12
	VBROADCASTSS (AX)(R11*1), Y13
	OUTER42
	ADDQ         $4, AX
	ADDQ         R8, R14
	DECQ         CX
	JNZ          a4pos

	VMOVUPS Y0, (R12)
	VMOVUPS Y1, 32(R12)
	VMOVUPS Y2, (R12)(R9*1)
	VMOVUPS Y3, 32(R12)(R9*1)
	VMOVUPS Y4, (R12)(R9*2)
	VMOVUPS Y5, 32(R12)(R9*2)
	VMOVUPS Y6, (R12)(R10*1)
	VMOVUPS Y7, 32(R12)(R10*1)
	ADDQ    $64, R12
	ADDQ    $64, DI
	DECQ    DX
	JNZ     a4block

a4chunk:
	TESTQ $32, R9
	JZ    a4done
	ZERO8
	MOVQ  SI, AX
	MOVQ  DI, R14
	MOVQ  R13, CX

a4cpos:
	VMOVUPS      (R14), Y8
	VBROADCASTSS (AX), Y10
	VBROADCASTSS (AX)(BX*1), Y11
	VBROADCASTSS (AX)(BX*2), Y12
	VBROADCASTSS (AX)(R11*1), Y13
	VFMADD231PS  Y10, Y8, Y0
	VFMADD231PS  Y11, Y8, Y2
	VFMADD231PS  Y12, Y8, Y4
	VFMADD231PS  Y13, Y8, Y6
	ADDQ         $4, AX
	ADDQ         R8, R14
	DECQ         CX
	JNZ          a4cpos

	VMOVUPS Y0, (R12)
	VMOVUPS Y2, (R12)(R9*1)
	VMOVUPS Y4, (R12)(R9*2)
	VMOVUPS Y6, (R12)(R10*1)

a4done:
	VZEROUPPER
	RET

// func attnValues1AVX2(w, v *float32, vstride, hd, n int, out *float32)
// One query: out[c] = Σ_p w[p]·v[p*vstride+c]. hd: a multiple of 8; n ≥ 1.
// Blocks of thirty-two floats accumulate even and odd positions apart
// (Y0-Y3, Y4-Y7), two chains to hide the FMA latency, added at the end;
// what is left of a row goes eight floats at a time, one chain.
TEXT ·attnValues1AVX2(SB), NOSPLIT, $0-48
	MOVQ  w+0(FP), SI
	MOVQ  v+8(FP), DI
	MOVQ  vstride+16(FP), R8
	SHLQ  $2, R8
	MOVQ  hd+24(FP), R9
	MOVQ  R9, DX
	SHRQ  $5, DX
	MOVQ  n+32(FP), R13
	MOVQ  out+40(FP), R12
	TESTQ DX, DX
	JZ    a1chunks

a1block:
	ZERO8
	MOVQ SI, AX
	MOVQ DI, R14
	MOVQ R13, CX
	SHRQ $1, CX
	JZ   a1odd

a1pair:
	VBROADCASTSS (AX), Y10
	VBROADCASTSS 4(AX), Y11
	VFMADD231PS  (R14), Y10, Y0
	VFMADD231PS  32(R14), Y10, Y1
	VFMADD231PS  64(R14), Y10, Y2
	VFMADD231PS  96(R14), Y10, Y3
	VFMADD231PS  (R14)(R8*1), Y11, Y4
	VFMADD231PS  32(R14)(R8*1), Y11, Y5
	VFMADD231PS  64(R14)(R8*1), Y11, Y6
	VFMADD231PS  96(R14)(R8*1), Y11, Y7
	ADDQ         $8, AX
	LEAQ         (R14)(R8*2), R14
	DECQ         CX
	JNZ          a1pair

a1odd:
	TESTQ        $1, R13
	JZ           a1store
	VBROADCASTSS (AX), Y10
	VFMADD231PS  (R14), Y10, Y0
	VFMADD231PS  32(R14), Y10, Y1
	VFMADD231PS  64(R14), Y10, Y2
	VFMADD231PS  96(R14), Y10, Y3

a1store:
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y1, Y1
	VADDPS  Y6, Y2, Y2
	VADDPS  Y7, Y3, Y3
	VMOVUPS Y0, (R12)
	VMOVUPS Y1, 32(R12)
	VMOVUPS Y2, 64(R12)
	VMOVUPS Y3, 96(R12)
	ADDQ    $128, R12
	ADDQ    $128, DI
	DECQ    DX
	JNZ     a1block

a1chunks:
	SHRQ $3, R9
	ANDQ $3, R9
	JZ   a1done

a1chunk:
	VXORPS Y0, Y0, Y0
	MOVQ   SI, AX
	MOVQ   DI, R14
	MOVQ   R13, CX

a1cpos:
	VBROADCASTSS (AX), Y10
	VFMADD231PS  (R14), Y10, Y0
	ADDQ         $4, AX
	ADDQ         R8, R14
	DECQ         CX
	JNZ          a1cpos

	VMOVUPS Y0, (R12)
	ADDQ    $32, R12
	ADDQ    $32, DI
	DECQ    R9
	JNZ     a1chunk

a1done:
	VZEROUPPER
	RET

// Broadcast constants of EXPF8, one float32 each.
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
DATA attnExpK<>+40(SB)/4, $0xc2fc0000 // -126: below, 2^n is not normal
GLOBL attnExpK<>(SB), RODATA|NOPTR, $44

// attnMask<>+4(8-r) holds r lanes of ones, then zeros: the tail mask of
// softmaxAVX2.
DATA attnMask<>+0(SB)/8, $-1
DATA attnMask<>+8(SB)/8, $-1
DATA attnMask<>+16(SB)/8, $-1
DATA attnMask<>+24(SB)/8, $-1
DATA attnMask<>+32(SB)/8, $0
DATA attnMask<>+40(SB)/8, $0
DATA attnMask<>+48(SB)/8, $0
DATA attnMask<>+56(SB)/8, $0
GLOBL attnMask<>(SB), RODATA|NOPTR, $64

// C: Y12 = the EXPF8 constant at offset o.
#define C(o) VBROADCASTSS attnExpK<>+o(SB), Y12

// EXPF8: Y11 = exp(Y2) for Y2 ≤ 0 with ggml_v_expf's polynomial (expf.go):
// exp(x) = 2^n·e^b for n = round(x·log2 e), its constants loaded as needed
// (sixteen registers do not hold them all) and 2^n built in the exponent
// field, so results below 2^-126 flush to 0. Clobbers Y3-Y10, Y12.
#define EXPF8 \
	C(4); \
	VBROADCASTSS attnExpK<>+0(SB), Y3; \
	VFMADD231PS  Y12, Y2, Y3; \
	C(0); \
	VSUBPS       Y12, Y3, Y4; \
	VMOVAPS      Y2, Y5; \
	C(8); \
	VFNMADD231PS Y12, Y4, Y5; \
	C(12); \
	VFNMADD231PS Y12, Y4, Y5; \
	VMULPS       Y5, Y5, Y7; \
	VBROADCASTSS attnExpK<>+20(SB), Y8; \
	C(16); \
	VFMADD231PS  Y12, Y5, Y8; \
	VBROADCASTSS attnExpK<>+28(SB), Y9; \
	C(24); \
	VFMADD231PS  Y12, Y5, Y9; \
	VFMADD231PS  Y7, Y8, Y9; \
	VBROADCASTSS attnExpK<>+36(SB), Y10; \
	C(32); \
	VFMADD231PS  Y12, Y5, Y10; \
	VFMADD231PS  Y7, Y9, Y10; \
	VPSLLD       $23, Y3, Y6; \
	C(36); \
	VPADDD       Y12, Y6, Y6; \
	VMULPS       Y6, Y10, Y11; \
	C(40); \
	VCMPPS       $17, Y12, Y4, Y12; \
	VANDNPS      Y11, Y12, Y11

// HREDUCE8: every lane of Y0 = op over Y0's eight lanes. Clobbers Y1.
#define HREDUCE8(op) \
	VPERM2F128 $0x01, Y0, Y0, Y1; \
	op         Y1, Y0, Y0; \
	VPERMILPS  $0x4E, Y0, Y1; \
	op         Y1, Y0, Y0; \
	VPERMILPS  $0xB1, Y0, Y1; \
	op         Y1, Y0, Y0

// func softmaxAVX2(x *float32, n int)
// x[:n] = exp(x-max)/sum in place, n ≥ 1: whole vectors of eight, then the
// last n%8 elements under the mask Y13, the lanes past them held at the
// maximum for the maximum and at 0 for the sum. Each pass keeps x in L1.
TEXT ·softmaxAVX2(SB), NOSPLIT, $0-16
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), R8
	MOVQ         R8, CX
	ANDQ         $7, CX
	MOVQ         $8, DX
	SUBQ         CX, DX
	LEAQ         attnMask<>(SB), AX
	VMOVDQU      (AX)(DX*4), Y13
	SHRQ         $3, R8
	VBROADCASTSS (SI), Y0

	// The maximum.
	MOVQ  SI, DI
	MOVQ  R8, CX
	TESTQ CX, CX
	JZ    max8tail

max8loop:
	VMAXPS (DI), Y0, Y0
	ADDQ   $32, DI
	DECQ   CX
	JNZ    max8loop

max8tail:
	VMASKMOVPS (DI), Y13, Y2
	VBLENDVPS  Y13, Y2, Y0, Y2
	VMAXPS     Y2, Y0, Y0
	HREDUCE8(VMAXPS)
	VMOVAPS    Y0, Y15

	// exp(x-max) in place, and their sum.
	VXORPS Y14, Y14, Y14
	MOVQ   SI, DI
	MOVQ   R8, CX
	TESTQ  CX, CX
	JZ     exp8tail

exp8loop:
	VMOVUPS (DI), Y2
	VSUBPS  Y15, Y2, Y2
	EXPF8
	VMOVUPS Y11, (DI)
	VADDPS  Y11, Y14, Y14
	ADDQ    $32, DI
	DECQ    CX
	JNZ     exp8loop

exp8tail:
	VMASKMOVPS (DI), Y13, Y2
	VSUBPS     Y15, Y2, Y2
	EXPF8
	VANDPS     Y13, Y11, Y11
	VMASKMOVPS Y11, Y13, (DI)
	VADDPS     Y11, Y14, Y0
	HREDUCE8(VADDPS)

	// Divided by the sum.
	VBROADCASTSS attnExpK<>+36(SB), Y1
	VDIVPS       Y0, Y1, Y0
	MOVQ         SI, DI
	MOVQ         R8, CX
	TESTQ        CX, CX
	JZ           scale8tail

scale8loop:
	VMULPS  (DI), Y0, Y2
	VMOVUPS Y2, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     scale8loop

scale8tail:
	VMASKMOVPS (DI), Y13, Y2
	VMULPS     Y2, Y0, Y2
	VMASKMOVPS Y2, Y13, (DI)
	VZEROUPPER
	RET
