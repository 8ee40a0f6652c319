//go:build !purego

package tensor

// q4kGemmOut is what gemmQ4K16VNNI accumulates for its four rows and
// sixteen vectors: dotK45's lane sums and its running sumf.
type q4kGemmOut struct {
	sums [4][16][8]float32
	sumf [4][16]float32
}

// gemmQ4K16VNNI computes four Q4_K rows (row r at w + r·stride, nb
// super-blocks) against the nv vectors of a group laid out by
// layoutQ4KGemm, into out (q4kgemm_amd64.s).
//
//go:noescape
func gemmQ4K16VNNI(w *byte, stride int, a *byte, nv int, nb int, out *q4kGemmOut)

const (
	// q4kGemmBlock is the size of one super-block of a group's layout:
	// sixteen vectors' quants, their bsum pairs interleaved, their scales,
	// and their scales again, eight copies each.
	q4kGemmBlock = 16*QK_K + 8*64 + 64 + 16*32
	// q4kGemmVecs is the fewest vectors the kernel takes: below, the
	// one-vector kernel (q4kDecodeVecs) is quicker per vector.
	q4kGemmVecs = q4kDecodeVecs + 1
)

// The sixteen-vector Q4_K kernel is fastGemm's for Q4_K. MatMul tries
// narrowGemms first, and the narrow GEMM there (q4kgemm8_amd64.go) is
// quicker at every count past the one-vector kernel's (2048×2048, one
// thread: n=16 0.77 against 0.98 ms, n=32 1.54 against 1.85), so MatMul no
// longer picks this one. It needs the same CPU features (AVX-512 VNNI and
// VBMI), so it goes in where that one did (this file's init runs after
// q4k4_amd64.go's: the go command hands a package's files to the compiler
// sorted by name).
func init() {
	if len(narrowGemms[Q4_K]) == 0 {
		return
	}
	fastGemm[Q4_K] = &gemmKernel{
		rows: 4, vecs: 16, minVecs: q4kGemmVecs,
		groupBytes: func(cols int) int { return cols / QK_K * q4kGemmBlock },
		layout:     layoutQ4KGemm,
		run:        runQ4KGemm,
	}
}

// layoutQ4KGemm is the kernel's gemmKernel.layout: vector lane's quants in
// lane order, its bsum pairs and its scale (alone and spread over eight
// floats) go to their places in each of the group's super-blocks (see
// q4kgemm_amd64.s).
func layoutQ4KGemm(dst, a []byte, lane, cols int) {
	for b := range cols / QK_K {
		blk, y := dst[b*q4kGemmBlock:(b+1)*q4kGemmBlock], a[b*q8KBytes:(b+1)*q8KBytes]
		var q [QK_K]byte
		permuteQ8K(q[:], y)
		at := blk[2*QK_K*(lane/2)+32*(lane%2):]
		for c := range QK_K / 32 {
			copy(at[64*c:64*c+32], q[32*c:])
		}
		for j := range 8 {
			copy(blk[16*QK_K+64*j+4*lane:][:4], y[4+QK_K+4*j:])
		}
		copy(blk[16*QK_K+8*64+4*lane:][:4], y[:4])
		spread := blk[16*QK_K+8*64+64+32*lane:][:32]
		for k := 0; k < 32; k += 4 {
			copy(spread[k:k+4], y[:4])
		}
	}
}

// runQ4KGemm is the kernel's gemmKernel.run: rows r to r+3 against the nv
// vectors of the group grp, each dot finished by laneSum as dotK45 does.
func runQ4KGemm(m *Matrix, r int, grp, _ []byte, nv int, dst []float32) {
	nb, rb := m.Cols/QK_K, m.rowBytes
	var out q4kGemmOut
	if nb > 0 {
		_, _ = m.Data[(r+4)*rb-1], grp[nb*q4kGemmBlock-1]
		gemmQ4K16VNNI(&m.Data[r*rb], rb, &grp[0], nv, nb, &out)
	}
	for rr := range 4 {
		for i := range nv {
			dst[i*m.Rows+r+rr] = laneSum(out.sumf[rr][i], &out.sums[rr][i])
		}
	}
}
