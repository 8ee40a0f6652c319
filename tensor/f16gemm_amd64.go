//go:build !purego

package tensor

import (
	"encoding/binary"
	"math"

	"golang.org/x/sys/cpu"
)

// gemmF16x8AVX512 computes three F16 rows (row r at w + r·stride)
// against eight float32 vectors (vector v at a + v·astride) over their
// first n elements, a multiple of 16, into out[8r+v]; gemmF16x4AVX512
// against four, into out[4r+v] (f16gemm_amd64.s).
//
//go:noescape
func gemmF16x8AVX512(w *byte, stride int, a *byte, astride int, n int, out *[24]float32)

//go:noescape
func gemmF16x4AVX512(w *byte, stride int, a *byte, astride int, n int, out *[12]float32)

// f16GemmVecs is the fewest vectors MatMul gives the F16 GEMM kernel:
// for two, the one-vector AVX2 kernel twice is as quick (2048 × 2048 on
// Zen 4: 0.36-0.37 ms either way); for four the GEMM takes 0.38 ms
// against 0.72.
const f16GemmVecs = 3

// The F16 GEMM kernel converts each weight chunk to float32 once for eight
// vectors instead of once per vector, and reads the vectors' activations
// converted once per MatMul rather than once per weight row. Its float32
// sums are ordered differently from dotF16's float64 ones, so like the
// AVX2 dot kernel it is held to a tolerance rather than to the bits.
func init() {
	if noAsm || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA || !cpu.X86.HasF16C ||
		!cpu.X86.HasAVX512F || !cpu.X86.HasAVX512VL || !cpu.X86.HasAVX512BW {
		return
	}
	fastGemm[F16] = &gemmKernel{
		rows: 3, vecs: 16, minVecs: f16GemmVecs,
		groupBytes: func(cols int) int { return 16 * 4 * cols },
		layout:     layoutF16Gemm,
		run:        runF16Gemm,
	}
}

// layoutF16Gemm is the kernel's gemmKernel.layout: vector lane's F16
// activations as float32, the group's vectors one after another.
func layoutF16Gemm(dst, a []byte, lane, cols int) {
	dst = dst[4*cols*lane : 4*cols*(lane+1)]
	for i := range cols {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(half(a[2*i:])))
	}
}

// runF16Gemm is the kernel's gemmKernel.run: rows r to r+2 against the nv
// vectors of the group grp, eight at a time while more than four are left,
// then four (the last call may run past nv into the group's unused
// vectors, whose sums are dropped); elements past the last whole 16 are
// added in Go.
func runF16Gemm(m *Matrix, r int, grp, _ []byte, nv int, dst []float32) {
	cols, rb := m.Cols, m.rowBytes
	n16, ab := cols&^15, 4*cols
	w := m.Data[r*rb : (r+3)*rb]
	for v, k := 0, 8; v < nv; v += k {
		if nv-v <= 4 {
			k = 4
		}
		a := grp[v*ab : (v+k)*ab]
		var out [24]float32
		switch {
		case n16 == 0:
		case k == 8:
			gemmF16x8AVX512(&w[0], rb, &a[0], ab, n16, &out)
		default:
			gemmF16x4AVX512(&w[0], rb, &a[0], ab, n16, (*[12]float32)(out[:12]))
		}
		for j := range min(k, nv-v) {
			o := dst[(v+j)*m.Rows+r:][:3]
			o[0], o[1], o[2] = out[j], out[k+j], out[2*k+j]
			for i := n16; i < cols; i++ {
				x := math.Float32frombits(binary.LittleEndian.Uint32(a[j*ab+4*i:]))
				for rr := range o {
					o[rr] += half(w[rr*rb+2*i:]) * x
				}
			}
		}
	}
}
