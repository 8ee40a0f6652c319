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
