//go:build !purego

package tensor

import "testing"

// TestGemmForKQuants pins MatMul's kernel choice by vector count for Q4_K
// (the one-vector kernel, once per vector, up to q4kDecodeVecs; then the
// narrow GEMM of q4kgemm8_amd64.s, faster than the sixteen-vector one even
// at 32) and Q6_K (the four-row decode kernel for one vector, the GEMM of
// q6kgemm8_amd64.s from two, twice as fast as the sixteen-vector GEMM it
// replaced even at 32), the crossovers measured with BenchmarkMatMul.
func TestGemmForKQuants(t *testing.T) {
	tests := []struct {
		typ    Type
		n      int
		narrow int  // 1 + the index of the narrow kernel; 0 for none
		wide   bool // fastGemm's kernel
	}{
		{Q4_K, 1, 1, false}, {Q4_K, q4kDecodeVecs, 1, false},
		{Q4_K, q4kDecodeVecs + 1, 2, false}, {Q4_K, 16, 2, false}, {Q4_K, 64, 2, false},
		{Q6_K, 1, 0, false}, {Q6_K, 2, 1, false}, {Q6_K, 16, 1, false}, {Q6_K, 64, 1, false},
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
		wide := g != nil && g == fastGemm[tt.typ]
		if narrow != tt.narrow || wide != tt.wide {
			t.Errorf("%s, n=%d: narrow %v, wide %v; want %v, %v", tt.typ, tt.n, narrow, wide, tt.narrow, tt.wide)
		}
	}
}
