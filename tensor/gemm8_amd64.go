//go:build !purego

package tensor

import "golang.org/x/sys/cpu"

// Narrow GEMM kernels (gemm8_amd64.s): eight Q8_0 or Q4_0 weight rows
// against two, four or eight vectors per call, two rows to a 512-bit
// register whose lanes the vectors share (4, 2 or 1 per row each), for
// the server's batched decode of a few streams.

//go:noescape
func gemmQ8_0x8VNNI(w *byte, stride int, a *byte, nb int, dst *float32, dstride int, nv int)

//go:noescape
func gemmQ8_0x4VNNI(w *byte, stride int, a *byte, nb int, dst *float32, dstride int, nv int)

//go:noescape
func gemmQ8_0x2VNNI(w *byte, stride int, a *byte, nb int, dst *float32, dstride int, nv int)

//go:noescape
func gemmQ4_0x8VNNI(w *byte, stride int, a *byte, nb int, dst *float32, dstride int, nv int)

//go:noescape
func gemmQ4_0x4VNNI(w *byte, stride int, a *byte, nb int, dst *float32, dstride int, nv int)

//go:noescape
func gemmQ4_0x2VNNI(w *byte, stride int, a *byte, nb int, dst *float32, dstride int, nv int)

// narrowKernel is the signature of the narrow GEMM kernels.
type narrowKernel func(w *byte, stride int, a *byte, nb int, dst *float32, dstride int, nv int)

func init() {
	if noAsm || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA || !cpu.X86.HasF16C ||
		!cpu.X86.HasAVX512F || !cpu.X86.HasAVX512VL || !cpu.X86.HasAVX512BW || !cpu.X86.HasAVX512VNNI {
		return
	}
	narrowGemms[Q8_0] = narrowSet([3]narrowKernel{gemmQ8_0x2VNNI, gemmQ8_0x4VNNI, gemmQ8_0x8VNNI}, q8_0Blocks, 34, 128)
	narrowGemms[Q4_0] = narrowSet([3]narrowKernel{gemmQ4_0x2VNNI, gemmQ4_0x4VNNI, gemmQ4_0x8VNNI}, q4_0Blocks, 18, 8)
}

// narrowSet returns the two-, four- and eight-vector kernels (in that order
// in kernels) as gemmKernels, each chosen for the counts of vectors that
// fill more than half of its lanes: 2, 3-4 and 5-8.
func narrowSet(kernels [3]narrowKernel, rest func(w, a []byte, b0, b1 int, sumf float32) float32, wsize int, bias int32) []*gemmKernel {
	set := make([]*gemmKernel, len(kernels))
	for i, k := range kernels {
		vecs := 2 << i
		set[i] = gemmNarrow(k, rest, wsize, bias, q8Lanes{lanes: 16, rows: 2, g: 8 / vecs})
		set[i].minVecs = vecs/2 + 1
	}
	return set
}

// gemmNarrow wraps a narrow kernel over weight blocks of wsize bytes
// against activations laid out by lay; the kernel writes each output's
// sum over the whole batches of blocks into dst, and the Go loop rest
// continues it over the tail blocks.
func gemmNarrow(kernel narrowKernel, rest func(w, a []byte, b0, b1 int, sumf float32) float32, wsize int, bias int32, lay q8Lanes) *gemmKernel {
	vecs := lay.vecs()
	return &gemmKernel{
		rows: 8, vecs: vecs, maxVecs: vecs,
		groupBytes: lay.groupBytes,
		layout:     lay.layout(bias),
		run: func(m *Matrix, r int, grp, act []byte, nv int, dst []float32) {
			nb := m.Cols / 32
			nb8 := nb &^ 7
			rb := m.rowBytes
			out := dst[r : (nv-1)*m.Rows+r+8]
			if nb8 > 0 {
				_, _ = m.Data[(r+7)*rb+nb8*wsize-1], grp[nb8*lay.block()-1]
				kernel(&m.Data[r*rb], rb, &grp[0], nb8, &out[0], 4*m.Rows, nv)
			}
			if nb8 == nb {
				return
			}
			for rr := range 8 {
				w := m.Data[(r+rr)*rb : (r+rr+1)*rb]
				for i := range nv {
					var s float32
					if nb8 > 0 {
						s = out[i*m.Rows+rr]
					}
					out[i*m.Rows+rr] = rest(w, act[i*m.actBytes:(i+1)*m.actBytes], nb8, nb, s)
				}
			}
		},
	}
}
