package tensor

import (
	"encoding/binary"
	"math"
)

// gemmKernel multiplies a few weight rows by a group of activation vectors
// per call, unpacking each weight block once for the whole group: MatMul
// uses it for the vector counts in its range (prompt prefill, batched
// decode; Q4_K's decode kernel, which wants its activation row laid out
// once per MatMul, takes even one vector this way). The activations are
// first re-laid out per group of vecs vectors into the form the kernel
// reads. Every output of an integer kernel equals the single-row
// kernel's bit for bit; the float kernel (F16) rounds differently, within
// the float dot kernels' tolerance.
type gemmKernel struct {
	rows, vecs int // weight rows and activation vectors per call
	minVecs    int // fewest vectors for which it beats the one-vector kernels
	maxVecs    int // most vectors it is chosen for; 0 for no limit

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

// gemmFor returns the GEMM kernel MatMul uses for n vectors, nil when the
// one- and four-row kernels serve better: the first of m's kernels whose
// range of vector counts holds n.
func (m *Matrix) gemmFor(n int) *gemmKernel {
	for _, g := range m.gemms {
		if n >= g.minVecs && (g.maxVecs == 0 || n <= g.maxVecs) {
			return g
		}
	}
	return nil
}

// narrowGemms holds, by weight type, GEMM kernels for a handful of vectors
// (batched decode), narrowest first; NewMatrix puts them before fastGemm's
// kernel, so each takes the counts of vectors in its range.
var narrowGemms = map[Type][]*gemmKernel{}

// q8Lanes is a layout of Q8_0 activations for the Q8_0 and Q4_0 GEMM
// kernels, whose registers hold lanes dword lanes: rows (1 or 2) weight
// rows side by side (lane l for row l%rows), g lanes per vector and row, so
// lanes/(rows·g) vectors per group. Per block, step s (0 ≤ s < 8/g) holds
// in lane rows·(g·v+j)+ρ (j < g, ρ < rows) vector v's quants
// 4(gs+j)..4(gs+j)+3, which meet weight dword gs+j of row ρ broadcast to
// every lane group, so that one VPDPBUSD per step adds 4g products for
// every row and vector at once; then a float32 scale and an int32
// correction per lane. The correction, -bias·Σq in the lanes of j = 0 and
// 0 in the others, cancels the weights' bias exactly (bias 128 for Q8_0
// stored as w+128, 8 for Q4_0 nibbles).
type q8Lanes struct{ lanes, rows, g int }

// vecs is the number of vectors per group.
func (l q8Lanes) vecs() int { return l.lanes / (l.rows * l.g) }

// block is the laid-out size of one 32-element block of a group.
func (l q8Lanes) block() int { return 4 * l.lanes * (8/l.g + 2) }

// groupBytes sizes a group's layout: whole batches of eight blocks only,
// as the kernels take; the tail blocks are read from the ordinary
// activations.
func (l q8Lanes) groupBytes(cols int) int { return (cols / 32) &^ 7 * l.block() }

// layout returns the layout function for weights biased by bias.
func (l q8Lanes) layout(bias int32) func(dst, a []byte, lane, cols int) {
	return func(dst, a []byte, v, cols int) { l.put(dst, a, v, cols, bias) }
}

// put lays the Q8_0 activations a out as vector v of the group dst: at
// each step, vector v's run of rows·g lanes holds g dwords, each repeated
// for the rows. With an assembly version (putLanesFast) it takes that;
// putGo stays the reference it is tested against.
func (l q8Lanes) put(dst, a []byte, v, cols int, bias int32) {
	nb := (cols / 32) &^ 7
	if putLanesFast != nil && nb > 0 {
		putLanesFast(l, dst, a, v, nb, bias)
		return
	}
	l.putGo(dst, a, v, nb, bias)
}

// putLanesFast is put's assembly version for nb > 0 blocks, nil where the
// CPU has none.
var putLanesFast func(l q8Lanes, dst, a []byte, v, nb int, bias int32)

// putGo is put over the first nb blocks, in Go.
func (l q8Lanes) putGo(dst, a []byte, v, nb int, bias int32) {
	size, step, steps := l.block(), 4*l.lanes, 8/l.g
	run := 4 * l.rows * l.g
	var at [8]int // where a block's dword k goes
	for k := range at {
		at[k] = step*(k/l.g) + run*v + 4*l.rows*(k%l.g)
	}
	scales, corrs := step*steps+run*v, step*(steps+1)+run*v
	for b := range nb {
		blk := dst[b*size : (b+1)*size]
		y := a[b*34 : b*34+34]
		for k, o := range at {
			d := binary.LittleEndian.Uint32(y[2+4*k:])
			if l.rows == 2 {
				binary.LittleEndian.PutUint64(blk[o:], uint64(d)<<32|uint64(d))
			} else {
				binary.LittleEndian.PutUint32(blk[o:], d)
			}
		}
		d, c := math.Float32bits(half(y)), uint32(-bias*quantSum(y[2:34]))
		for i := 0; i < run; i += 4 {
			if i == 4*l.rows {
				c = 0
			}
			binary.LittleEndian.PutUint32(blk[scales+i:], d)
			binary.LittleEndian.PutUint32(blk[corrs+i:], c)
		}
	}
}

// quantSum returns the sum of the 32 int8 quants q, eight at a time: each
// byte biased to unsigned (q+128), pairs of bytes summed into 16-bit
// fields, which the multiply then adds up in its top field.
func quantSum(q []byte) int32 {
	const bytes, mask = 0x8080808080808080, 0x00ff00ff00ff00ff
	var s uint64
	for i := 0; i < 32; i += 8 {
		x := binary.LittleEndian.Uint64(q[i:]) ^ bytes
		s += x&mask + x>>8&mask
	}
	return int32(s*0x0001000100010001>>48) - 32*128
}

// gemmQ8Block is the laid-out size of one 32-element block for the
// sixteen-vector kernels: eight 64-byte steps of quants, sixteen scales,
// sixteen corrections.
const gemmQ8Block = 640

// wideQ8 is the sixteen-vector kernels' layout.
var wideQ8 = q8Lanes{lanes: 16, rows: 1, g: 1}

// gemmGroupQ8 sizes the sixteen-vector layout.
func gemmGroupQ8(cols int) int { return wideQ8.groupBytes(cols) }

// gemmLayoutQ8 returns the sixteen-vector layout function for weights
// biased by bias. It stays a bare function literal: cheap to inline, so
// that gemmRowsQ8 inlines too and its kernel call, made direct, keeps its
// output array on the stack.
func gemmLayoutQ8(bias int32) func(dst, a []byte, lane, cols int) {
	return func(dst, a []byte, v, cols int) { wideQ8.put(dst, a, v, cols, bias) }
}

// q8KBytes is the size of a block_q8_K.
const q8KBytes = 292

// The Q5_K GEMM kernel reads each vector's super-block in its own layout,
// 64-byte aligned blocks whose 32-byte loads never straddle a cache line:
// the 256 quants in lane order (dword l of each 32-quant chunk holds quants
// l, l+8, l+16, l+24, the elements the Go kernel sums into lane l), then
// the scale d at 256 and the bsums at 288.
const gemmQ5KBlock = 320

// gemmGroupQ5K sizes the Q5_K layout for sixteen vectors.
func gemmGroupQ5K(cols int) int { return 16 * cols / QK_K * gemmQ5KBlock }

// gemmLayoutQ5K lays a Q8_K activation row out for the Q5_K kernel.
func gemmLayoutQ5K(dst, a []byte, lane, cols int) {
	layoutK(dst, a, lane, cols, gemmQ5KBlock, func(blk, y []byte) {
		copy(blk[256:260], y[:4])
		copy(blk[288:320], y[4+QK_K:])
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
