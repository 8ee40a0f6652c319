//go:build !purego

package tensor

import "golang.org/x/sys/cpu"

// dotQ4Kx4VNNI computes groups groups of four Q4_K rows (row i at w +
// i·stride, nb ≥ 1 super-blocks) against one activation row laid out by
// layoutQ4KDecodeVNNI into out[0:4·groups] (kquantvnni_amd64.s).
//
//go:noescape
func dotQ4Kx4VNNI(w *byte, stride int, a *byte, nb int, groups int, out *float32)

// layoutQ4KDecodeVNNI lays out the nb super-blocks of the Q8_K row a for
// dotQ4Kx4VNNI.
//
//go:noescape
func layoutQ4KDecodeVNNI(dst, a *byte, nb int)

const (
	// q4kDecodeBlock is the size of one laid-out activation super-block.
	q4kDecodeBlock = 448
	// q4kDecodeRows is how many rows one call takes: four groups of four,
	// the kernel's pipeline running on from one group into the next.
	q4kDecodeRows = 16
	// q4kDecodeVecs is the most vectors MatMul gives the kernel, one call
	// each while the sixteen rows stay in cache: past here the narrow GEMM
	// (q4kgemm8_amd64.go), which unpacks each weight super-block once for
	// all the vectors, is quicker.
	q4kDecodeVecs = 2
)

// The one-vector Q4_K kernel goes in as the narrowest of MatMul's GEMM
// kernels, whose path lays each activation row out once per MatMul rather
// than once per four rows; it takes a few vectors one after another, and
// the narrow GEMM (q4kgemm8_amd64.go), which needs the same CPU features,
// the rest.
func init() {
	if noAsm || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA || !cpu.X86.HasF16C ||
		!cpu.X86.HasAVX512F || !cpu.X86.HasAVX512VL || !cpu.X86.HasAVX512BW ||
		!cpu.X86.HasAVX512VNNI || !cpu.X86.HasAVX512VBMI {
		return
	}
	narrowGemms[Q4_K] = append(narrowGemms[Q4_K], &gemmKernel{
		rows: q4kDecodeRows, vecs: q4kDecodeVecs, minVecs: 1, maxVecs: q4kDecodeVecs,
		groupBytes: func(cols int) int { return q4kDecodeVecs * cols / QK_K * q4kDecodeBlock },
		layout:     layoutQ4KDecode,
		run:        runQ4KDecode,
	}, gemmQ4KNarrow())
}

// layoutQ4KDecode is the kernel's gemmKernel.layout: vector lane's row
// goes to the lane-th slot of the group.
func layoutQ4KDecode(dst, a []byte, lane, cols int) {
	if nb := cols / QK_K; nb > 0 {
		dst = dst[lane*nb*q4kDecodeBlock:]
		_, _ = dst[nb*q4kDecodeBlock-1], a[nb*q8KBytes-1]
		layoutQ4KDecodeVNNI(&dst[0], &a[0], nb)
	}
}

// runQ4KDecode is the kernel's gemmKernel.run: rows r to r+q4kDecodeRows-1
// against each of the nv laid-out vectors in grp.
func runQ4KDecode(m *Matrix, r int, grp, _ []byte, nv int, dst []float32) {
	nb, rb := m.Cols/QK_K, m.rowBytes
	for i := range nv {
		a, out := grp[i*nb*q4kDecodeBlock:], dst[i*m.Rows:]
		_, _, _ = m.Data[(r+q4kDecodeRows)*rb-1], a[nb*q4kDecodeBlock-1], out[r+q4kDecodeRows-1]
		dotQ4Kx4VNNI(&m.Data[r*rb], rb, &a[0], nb, q4kDecodeRows/4, &out[r])
	}
}
