//go:build !purego

package tensor

// The narrow Q4_K GEMM (q4kgemm8_amd64.s) takes eight weight rows against
// up to q4kNarrowVecs vectors per call, unpacking each weight super-block
// once for all of them: batched decode through Q4_K matrices. Past two
// vectors it beats the one-vector kernel once per vector (2048×2048, one
// thread: n=4 243 against 305 µs, n=8 422 against 570; at n=2 they tie),
// and at every width the sixteen-vector Q4_K GEMM it replaced (n=16 0.77
// against 0.98 ms, n=32 1.54 against 1.85), so it takes every count from
// three.

//go:noescape
func gemmQ4KNarrowVNNI(w *byte, stride int, a *byte, nb int, nv int, dst *float32, dstride int)

//go:noescape
func layoutQ4KNarrowVNNI(dst, y *byte, nb int)

const (
	// q4kNarrowBlock is the laid-out size of one vector's super-block:
	// eight 64-byte chunks, the scale d and the bsums.
	q4kNarrowBlock = 576
	// q4kNarrowVecs is the most vectors per call (the kernel's frame holds
	// the float lanes of eight rows for each).
	q4kNarrowVecs = 16
)

// gemmQ4KNarrow wraps the narrow kernel for MatMul; q4k4_amd64.go
// registers it after the one-vector kernel, whose CPU features it needs.
func gemmQ4KNarrow() *gemmKernel {
	return &gemmKernel{
		rows: 8, vecs: q4kNarrowVecs, minVecs: q4kDecodeVecs + 1,
		groupBytes: func(cols int) int { return q4kNarrowVecs * cols / QK_K * q4kNarrowBlock },
		layout:     layoutQ4KNarrow,
		run:        runQ4KNarrow,
	}
}

// layoutQ4KNarrow lays the Q8_K activation row a out as vector lane of
// the narrow kernel's group dst.
func layoutQ4KNarrow(dst, a []byte, lane, cols int) {
	nb := cols / QK_K
	dst = dst[lane*nb*q4kNarrowBlock : (lane+1)*nb*q4kNarrowBlock]
	_ = a[nb*q8KBytes-1]
	layoutQ4KNarrowVNNI(&dst[0], &a[0], nb)
}

// runQ4KNarrow is the kernel's gemmKernel.run: rows r to r+7 against the
// nv laid-out vectors of the group grp.
func runQ4KNarrow(m *Matrix, r int, grp, _ []byte, nv int, dst []float32) {
	nb := m.Cols / QK_K
	out := dst[r : (nv-1)*m.Rows+r+8]
	_, _ = m.Data[(r+8)*m.rowBytes-1], grp[nv*nb*q4kNarrowBlock-1]
	gemmQ4KNarrowVNNI(&m.Data[r*m.rowBytes], m.rowBytes, &grp[0], nb, nv, &out[0], 4*m.Rows)
}
