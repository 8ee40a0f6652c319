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
