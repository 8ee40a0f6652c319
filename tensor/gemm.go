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

// The k-quant GEMM kernels read each vector's super-block in their own
// layout, 64-byte aligned blocks whose 32-byte loads never straddle a cache
// line: the 256 quants in lane order (dword l of each 32-quant chunk holds
// quants l, l+8, l+16, l+24, the elements the Go kernels sum into lane l),
// then for Q4_K the scale d at 256 and the bsums at 288; for Q6_K, at 256,
// per chunk the sixteen words 32·(q[4l] + q[4l+1]) and 32·(q[4l+2] +
// q[4l+3]) of its permuted quants, which turn the kernel's sums of q·q8
// into sums of (q-32)·q8, and d at 512.
const (
	gemmQ4KBlock = 320
	gemmQ6KBlock = 576
)

// gemmGroupQ4K sizes the Q4_K layout for sixteen vectors.
func gemmGroupQ4K(cols int) int { return 16 * cols / QK_K * gemmQ4KBlock }

// gemmGroupQ6K sizes the Q6_K layout for sixteen vectors.
func gemmGroupQ6K(cols int) int { return 16 * cols / QK_K * gemmQ6KBlock }

// gemmLayoutQ4K lays a Q8_K activation row out for the Q4_K kernel.
func gemmLayoutQ4K(dst, a []byte, lane, cols int) {
	layoutK(dst, a, lane, cols, gemmQ4KBlock, func(blk, y []byte) {
		copy(blk[256:260], y[:4])
		copy(blk[288:320], y[4+QK_K:])
	})
}

// gemmLayoutQ6K lays a Q8_K activation row out for the Q6_K kernel.
func gemmLayoutQ6K(dst, a []byte, lane, cols int) {
	layoutK(dst, a, lane, cols, gemmQ6KBlock, func(blk, y []byte) {
		for w := range QK_K / 2 {
			s := 32 * (int32(int8(blk[2*w])) + int32(int8(blk[2*w+1])))
			binary.LittleEndian.PutUint16(blk[256+2*w:], uint16(int16(s)))
		}
		copy(blk[512:516], y[:4])
	})
}

// layoutK writes each super-block of the Q8_K row a into lane's blocks of
// size bytes in dst: the quants in lane order, then what rest adds from
// the block_q8_K y.
func layoutK(dst, a []byte, lane, cols, size int, rest func(blk, y []byte)) {
	nb := cols / QK_K
	dst = dst[lane*nb*size : (lane+1)*nb*size]
	for b := range nb {
		blk, y := dst[b*size:(b+1)*size], a[b*q8KBytes:(b+1)*q8KBytes]
		permuteQ8K(blk, y)
		rest(blk, y)
	}
}

// permuteQ8K writes the quants of the block_q8_K y to dst[0:256] in lane
// order.
func permuteQ8K(dst, y []byte) {
	for c := 0; c < QK_K; c += 32 {
		in, out := y[4+c:4+c+32], dst[c:c+32]
		for l := range 8 {
			for t := range 4 {
				out[4*l+t] = in[l+8*t]
			}
		}
	}
}
