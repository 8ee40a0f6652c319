//go:build !purego

package tensor

//go:noescape
func dotBF16AVX512BF16(a, b *byte, n int) float32
