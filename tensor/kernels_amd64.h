// Macros shared by the amd64 kernels.

// ADD8: X += Y's eight lanes, one after another from lane 0.
#define ADD8(Y, X) \
	VMOVUPS Y, (SP); \
	VADDSS  0(SP), X, X; \
	VADDSS  4(SP), X, X; \
	VADDSS  8(SP), X, X; \
	VADDSS  12(SP), X, X; \
	VADDSS  16(SP), X, X; \
	VADDSS  20(SP), X, X; \
	VADDSS  24(SP), X, X; \
	VADDSS  28(SP), X, X

// BROADCASTB: R = the 32-bit value v in every dword (through AX and X).
#define BROADCASTB(v, R, X) \
	MOVL         v, AX; \
	VMOVD        AX, X; \
	VPBROADCASTD X, R

// ONES16: R = 1 in every int16.
#define ONES16(R, X) BROADCASTB($0x00010001, R, X)

// PREFETCH4: fetch into L2 the weights that the four rows' group two
// groups on (S = 8·stride further) will read o bytes past each row pointer:
// four rows of a few KiB are four streams too short for the hardware
// prefetcher, and one group ahead is too close to hide DRAM latency.
#define PREFETCH4(S, o) \
	PREFETCHT1 o(SI)(S*1); \
	PREFETCHT1 o(R9)(S*1); \
	PREFETCHT1 o(R10)(S*1); \
	PREFETCHT1 o(R11)(S*1)

// Q4KSCALES: the super-block at R's eight 6-bit scales as dwords at
// o(SP)..o+31(SP) and its eight mins as words in X8, as ggml's utmp shuffle
// unpacks them. Built in registers: a load of bytes stored piecewise would
// miss store forwarding. Clobbers AX, BX, DX, R12, R13, X5.
#define Q4KSCALES(R, o) \
	MOVL      4(R), AX; \
	MOVL      8(R), BX; \
	MOVL      12(R), DX; \
	MOVL      DX, R12; \
	ANDL      $0x0f0f0f0f, R12; \
	MOVL      AX, R13; \
	SHRL      $6, R13; \
	ANDL      $0x03030303, R13; \
	SHLL      $4, R13; \
	ORL       R13, R12; \
	SHLQ      $32, R12; \
	ANDL      $0x3f3f3f3f, AX; \
	ORQ       AX, R12; \
	VMOVQ     R12, X5; \
	VPMOVZXBD X5, Y5; \
	VMOVDQU   Y5, o(SP); \
	SHRL      $4, DX; \
	ANDL      $0x0f0f0f0f, DX; \
	MOVL      BX, R13; \
	SHRL      $6, R13; \
	ANDL      $0x03030303, R13; \
	SHLL      $4, R13; \
	ORL       R13, DX; \
	SHLQ      $32, DX; \
	ANDL      $0x3f3f3f3f, BX; \
	ORQ       BX, DX; \
	VMOVQ     DX, X8; \
	VPMOVZXBW X8, X8

// ROWS4ARGS: the arguments of a four-row kernel func(w *byte, stride int,
// a *byte, nb int, out *[4]float32): row pointers SI, R9, R10, R11, a in
// DI, nb in CX, stride in BX and 8·stride in R8 for PREFETCH4.
#define ROWS4ARGS \
	MOVQ w+0(FP), SI; \
	MOVQ stride+8(FP), BX; \
	MOVQ a+16(FP), DI; \
	MOVQ nb+24(FP), CX; \
	LEAQ (SI)(BX*1), R9; \
	LEAQ (SI)(BX*2), R10; \
	LEAQ (R9)(BX*2), R11; \
	LEAQ (BX*8), R8

// ROWS4NEXT: on to the next super-block of wsize bytes in each row and of
// the Q8_K activations; back to loop while CX counts down to zero.
#define ROWS4NEXT(wsize, loop) \
	ADDQ $wsize, SI; \
	ADDQ $wsize, R9; \
	ADDQ $wsize, R10; \
	ADDQ $wsize, R11; \
	ADDQ $292, DI; \
	DECQ CX; \
	JNZ  loop

// The AVX2 Q4_K and Q5_K kernels (kquant_amd64.s, q5k_amd64.s) take a pair
// of 32-element chunks as follows; Y12 holds their byte shuffle.

// KPAIR: Y2/Y3 = lanes 0-3/4-7 of chunks qa and qb (unsigned quants,
// shuffled) against the activation chunks at DI+o and DI+o+32, each as
// interleaved words (qa, qb, qa, qb ...). Clobbers qa, qb.
#define KPAIR(qa, qb, o) \
	VMOVDQU    o(DI), Y2; \
	VMOVDQU    (o+32)(DI), Y3; \
	VPSHUFB    Y12, Y2, Y2; \
	VPSHUFB    Y12, Y3, Y3; \
	VPMADDUBSW Y2, qa, qa; \
	VPMADDUBSW Y3, qb, qb; \
	VPUNPCKLWD qb, qa, Y2; \
	VPUNPCKHWD qb, qa, Y3;

// KSCALE: Y10 += Y2 and Y11 += Y3 with word pairs weighted by S.
#define KSCALE(S) \
	VPMADDWD S, Y2, Y2; \
	VPMADDWD S, Y3, Y3; \
	VPADDD   Y2, Y10, Y10; \
	VPADDD   Y3, Y11, Y11
