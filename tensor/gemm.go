package tensor

import (
	"encoding/binary"
	"math"
)

// gemmKernel multiplies a few weight rows by a group of activation vectors
// per call, unpacking each weight block once for the whole group: MatMul
// uses it when it has more than one vector (prompt prefill, batched decode).
// The activations are first re-laid out per group of vecs vectors into the
// form the kernel reads. Every output equals the single-row kernel's bit
// for bit.
type gemmKernel struct {
	rows, vecs int // weight rows and activation vectors per call
	minVecs    int // fewest vectors for which it beats the one-vector kernels

	// groupBytes is the size of one group's laid-out activations for rows
	// of cols elements.
	groupBytes func(cols int) int
	// layout writes one vector's quantized activations a into its group's
	// buffer dst as vector number lane (0 ≤ lane < vecs).
	layout func(dst, a []byte, lane, cols int)
	// run computes rows r..r+rows-1 against the group's nv vectors: grp is
	// the group's laid-out buffer, act the vectors' quantized activations
	// (actBytes apart) and dst[i*m.Rows+r'] receives row r' · vector i.
	run func(m *Matrix, r int, grp, act []byte, nv int, dst []float32)
}

// vecTile is how many vectors MatMul's GEMM path takes through each row
// tile before moving on: their laid-out activations (a few hundred KiB for
// the widest rows) stay in L2 while the weights stream past once per tile.
const vecTile = 64

// gemmQ8Block is the laid-out size of one 32-element block for sixteen
// vectors: eight 64-byte steps of quants, sixteen scales, sixteen
// corrections.
const gemmQ8Block = 640

// gemmGroupQ8 sizes the Q8_0-activation layout: whole batches of eight
// blocks only, as the kernels take; the tail blocks are read from the
// ordinary activations.
func gemmGroupQ8(cols int) int { return (cols / 32) &^ 7 * gemmQ8Block }

// gemmLayoutQ8 returns the layout function for Q8_0 activations against
// weights stored biased by bias (128 for Q8_0 as w+128, 8 for Q4_0 nibbles):
// lane's dword in each step k holds its quants 4k..4k+3, so that one
// VPDPBUSD per step adds four products for every vector at once, and its
// correction -bias·Σq cancels the weights' bias exactly.
func gemmLayoutQ8(bias int32) func(dst, a []byte, lane, cols int) {
	return func(dst, a []byte, lane, cols int) {
		for b := range (cols / 32) &^ 7 {
			blk := dst[b*gemmQ8Block : (b+1)*gemmQ8Block]
			y := a[b*34 : b*34+34]
			var s int32
			for _, q := range y[2:] {
				s += int32(int8(q))
			}
			for k := range 8 {
				copy(blk[64*k+4*lane:64*k+4*lane+4], y[2+4*k:6+4*k])
			}
			binary.LittleEndian.PutUint32(blk[512+4*lane:], math.Float32bits(half(y)))
			binary.LittleEndian.PutUint32(blk[576+4*lane:], uint32(-bias*s))
		}
	}
}

// q8KBytes is the size of a block_q8_K.
const q8KBytes = 292

// gemmGroupQ4K sizes the Q4_K layout: sixteen whole Q8_K activation rows.
func gemmGroupQ4K(cols int) int { return 16 * cols / QK_K * q8KBytes }

// gemmLayoutQ4K copies a Q8_K activation row into lane's slot of the group
// with each 32-quant chunk permuted into the lane order of the Q4_K kernels
// (dword l holds quants l, l+8, l+16, l+24), which the four-row kernel
// otherwise redoes for every four rows.
func gemmLayoutQ4K(dst, a []byte, lane, cols int) {
	rb := cols / QK_K * q8KBytes
	dst = dst[lane*rb : (lane+1)*rb]
	copy(dst, a[:rb])
	for b := 0; b < rb; b += q8KBytes {
		for c := 0; c < QK_K; c += 32 {
			src, out := a[b+4+c:b+4+c+32], dst[b+4+c:b+4+c+32]
			for l := range 8 {
				for t := range 4 {
					out[4*l+t] = src[l+8*t]
				}
			}
		}
	}
}
