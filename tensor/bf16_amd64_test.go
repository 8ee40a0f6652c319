//go:build !purego

package tensor

import (
	"fmt"
	"testing"

	"golang.org/x/sys/cpu"
)

// BenchmarkFloatDots compares the AVX2 and AVX-512 BF16 bfloat16 dot
// kernels on one row of 2048 elements (in L1).
func BenchmarkFloatDots(b *testing.B) {
	const n = 2048
	w, a := make([]byte, 2*n), make([]byte, 2*n)
	for i := range n {
		w[2*i+1], a[2*i+1] = 0x3c, 0x3c // bf16 0x3c00 ≈ 0.0078
	}
	kernels := []struct {
		name string
		f    func(a, b *byte, n int) float32
		ok   bool
	}{
		{"BF16/avx2", dotBF16AVX2, cpu.X86.HasAVX2},
		{"BF16/avx512bf16", dotBF16AVX512BF16, cpu.X86.HasAVX512BF16},
	}
	for _, k := range kernels {
		b.Run(fmt.Sprintf("%s/n=%d", k.name, n), func(b *testing.B) {
			if !k.ok {
				b.Skip("CPU lacks the instructions")
			}
			b.SetBytes(2 * n)
			for b.Loop() {
				k.f(&w[0], &a[0], n)
			}
		})
	}
}
