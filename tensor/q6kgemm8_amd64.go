//go:build !purego

package tensor

import "golang.org/x/sys/cpu"

// The narrow Q6_K GEMM (q6kgemm8_amd64.s) takes eight weight rows against
// up to q6kNarrowVecs vectors per call, unpacking each weight super-block
// once for all of them: batched decode through the Q6_K output matrix.
// From two vectors on it beats the four-row decode kernel once per vector
// (2048×2048, one thread: n=2 190 against 229 µs, n=8 443 against 901),
// and at every width the sixteen-vector Q6_K GEMM it replaced (n=16 0.81
// against 1.45 ms, n=32 1.8 against 4.1), so it takes every count from
// two.

//go:noescape
func gemmQ6KNarrowVNNI(w *byte, stride int, a *byte, nb int, nv int, dst *float32, dstride int)

//go:noescape
func layoutQ6KNarrowVNNI(dst, y *byte, nb int)

const (
	// q6kNarrowBlock is the laid-out size of one vector's super-block:
	// eight 64-byte chunks and the scale d.
	q6kNarrowBlock = 576
	// q6kNarrowVecs is the most vectors per call (the kernel's frame holds
	// the float lanes of eight rows for each).
	q6kNarrowVecs = 16
)

func init() {
	if noAsm || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA || !cpu.X86.HasF16C ||
		!cpu.X86.HasAVX512F || !cpu.X86.HasAVX512VL || !cpu.X86.HasAVX512BW || !cpu.X86.HasAVX512VNNI ||
		!cpu.X86.HasAVX512VBMI || !cpu.X86.HasAVX512GFNI {
		return
	}
	narrowGemms[Q6_K] = []*gemmKernel{gemmQ6KNarrow()}
}

// gemmQ6KNarrow wraps the narrow Q6_K kernel.
func gemmQ6KNarrow() *gemmKernel {
	return &gemmKernel{
		rows: 8, vecs: q6kNarrowVecs, minVecs: 2,
		groupBytes: func(cols int) int { return q6kNarrowVecs * cols / QK_K * q6kNarrowBlock },
		layout:     layoutQ6KNarrow,
		run: func(m *Matrix, r int, grp, _ []byte, nv int, dst []float32) {
			nb := m.Cols / QK_K
			out := dst[r : (nv-1)*m.Rows+r+8]
			_, _ = m.Data[(r+7)*m.rowBytes+nb*210-1], grp[nv*nb*q6kNarrowBlock-1]
			gemmQ6KNarrowVNNI(&m.Data[r*m.rowBytes], m.rowBytes, &grp[0], nb, nv, &out[0], 4*m.Rows)
		},
	}
}

// layoutQ6KNarrow lays the Q8_K activation row a out as vector lane of
// the narrow kernel's group dst.
func layoutQ6KNarrow(dst, a []byte, lane, cols int) {
	nb := cols / QK_K
	dst = dst[lane*nb*q6kNarrowBlock : (lane+1)*nb*q6kNarrowBlock]
	_ = a[nb*q8KBytes-1]
	layoutQ6KNarrowVNNI(&dst[0], &a[0], nb)
}
