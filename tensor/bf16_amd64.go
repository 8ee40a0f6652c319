//go:build !purego

package tensor

//go:noescape
func dotBF16AVX512BF16(a, b *byte, n int) float32

// floatFast64 wraps an AVX-512 float kernel over whole 64-element batches
// of 2-byte elements; the rest goes to the AVX2 kernel tail.
func floatFast64(kernel func(a, b *byte, n int) float32, tail vecDotFunc) vecDotFunc {
	return func(w, a []byte, n int) float32 {
		n64 := n &^ 63
		var sum float64
		if n64 > 0 {
			_, _ = w[2*n64-1], a[2*n64-1]
			sum = float64(kernel(&w[0], &a[0], n64))
		}
		return float32(sum + float64(tail(w[2*n64:], a[2*n64:], n-n64)))
	}
}
