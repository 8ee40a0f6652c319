package train

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// hasAsm: the micro-kernel needs AVX2 and FMA3.
var hasAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// sgemm6x16 is implemented in gemm_amd64.s.
//
//go:noescape
func sgemm6x16(k int, a, b, c *float32, ldc int, acc bool)

// microKernel computes the 6×16 tile c[r·ldc + j] (=|+=) Σ_l a[l·6+r]·b[l·16+j]
// from packed panels of k columns.
func microKernel(k int, a, b, c []float32, ldc int, acc bool) {
	// The assembly trusts its pointers: check every element it will touch.
	if k > 0 {
		_ = a[mr*k-1]
		_ = b[nr*k-1]
	}
	_ = c[(mr-1)*ldc+nr-1]
	sgemm6x16(k, unsafe.SliceData(a), unsafe.SliceData(b), &c[0], ldc, acc)
}
