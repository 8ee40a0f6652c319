//go:build !purego

package tensor

import "testing"

// TestGemmForKQuants pins MatMul's kernel choice by vector count for Q4_K
// (the one-vector kernel, once per vector, up to q4kDecodeVecs; then the
// narrow GEMM of q4kgemm8_amd64.s) and Q6_K (the four-row decode kernel
// for one vector, the GEMM of q6kgemm8_amd64.s from two), the crossovers
// measured with BenchmarkMatMul. Neither type has a wider GEMM any more:
// the narrow ones beat the sixteen-vector kernels they replaced even at 32.
func TestGemmForKQuants(t *testing.T) {
	tests := []struct {
		typ    Type
		n      int
		narrow int // 1 + the index of the narrow kernel; 0 for none
	}{
		{Q4_K, 1, 1}, {Q4_K, q4kDecodeVecs, 1},
		{Q4_K, q4kDecodeVecs + 1, 2}, {Q4_K, 16, 2}, {Q4_K, 64, 2},
		{Q6_K, 1, 0}, {Q6_K, 2, 1}, {Q6_K, 16, 1}, {Q6_K, 64, 1},
	}
	for _, tt := range tests {
		if tt.typ == Q4_K && len(narrowGemms[Q4_K]) < 2 || tt.typ == Q6_K && (fastDots4[Q6_K] == nil || len(narrowGemms[Q6_K]) == 0) {
			t.Logf("%s: kernels not on this CPU/build (kernels %q); skipped", tt.typ, Kernels())
			continue
		}
		m, err := NewMatrix(tt.typ, 16, 256, make([]byte, 16*tt.typ.TypeSize()))
		if err != nil {
			t.Fatal(err)
		}
		g := m.gemmFor(tt.n)
		narrow := 0
		for i, k := range narrowGemms[tt.typ] {
			if g == k {
				narrow = i + 1
			}
		}
		if narrow != tt.narrow || g != nil && narrow == 0 {
			t.Errorf("%s, n=%d: kernel %p, narrow %d; want narrow %d", tt.typ, tt.n, g, narrow, tt.narrow)
		}
	}
}
