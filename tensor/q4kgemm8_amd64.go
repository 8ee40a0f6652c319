//go:build !purego

package tensor

// The narrow Q4_K GEMM (q4kgemm8_amd64.s) takes eight weight rows against
// up to q4kNarrowVecs vectors per call, unpacking each weight super-block
// once for all of them: batched decode through Q4_K matrices, where the
// one-vector decode kernel would run once per vector.

//go:noescape
func gemmQ4KNarrowVNNI(w *byte, stride int, a *byte, nb int, nv int, dst *float32, dstride int)

const (
	// q4kNarrowBlock is the laid-out size of one vector's super-block:
	// the narrow Q6_K GEMM's (eight 64-byte chunks, the scale d) with the
	// bsums in its last 32 bytes.
	q4kNarrowBlock = q6kNarrowBlock
	// q4kNarrowVecs is the most vectors per call (the kernel's frame holds
	// the float lanes of eight rows for each).
	q4kNarrowVecs = 16
)

// The narrow kernel needs the one-vector kernel's CPU features (AVX-512
// VNNI and VBMI), so it goes in where that one did, after it: this file's
// init runs after q4k4_amd64.go's (the go command hands a package's files
// to the compiler sorted by name).
func init() {
	if len(narrowGemms[Q4_K]) == 0 {
		return
	}
	narrowGemms[Q4_K] = append(narrowGemms[Q4_K], &gemmKernel{
		rows: 8, vecs: q4kNarrowVecs, minVecs: q4kDecodeVecs + 1,
		groupBytes: func(cols int) int { return q4kNarrowVecs * cols / QK_K * q4kNarrowBlock },
		layout:     layoutQ4KNarrow,
		run:        runQ4KNarrow,
	})
}

// layoutQ4KNarrow lays the Q8_K activation row a out as vector lane of
// the narrow kernel's group dst: the narrow Q6_K GEMM's layout, and each
// super-block's bsums.
func layoutQ4KNarrow(dst, a []byte, lane, cols int) {
	layoutQ6KNarrow(dst, a, lane, cols)
	nb := cols / QK_K
	dst = dst[lane*nb*q4kNarrowBlock : (lane+1)*nb*q4kNarrowBlock]
	for b := range nb {
		copy(dst[b*q4kNarrowBlock+544:(b+1)*q4kNarrowBlock], a[b*q8KBytes+4+QK_K:(b+1)*q8KBytes])
	}
}

// runQ4KNarrow is the kernel's gemmKernel.run: rows r to r+7 against the
// nv laid-out vectors of the group grp.
func runQ4KNarrow(m *Matrix, r int, grp, _ []byte, nv int, dst []float32) {
	nb := m.Cols / QK_K
	out := dst[r : (nv-1)*m.Rows+r+8]
	_, _ = m.Data[(r+8)*m.rowBytes-1], grp[nv*nb*q4kNarrowBlock-1]
	gemmQ4KNarrowVNNI(&m.Data[r*m.rowBytes], m.rowBytes, &grp[0], nb, nv, &out[0], 4*m.Rows)
}
