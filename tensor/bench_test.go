package tensor

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchTypes are the weight types llmos runs, in benchmark order.
var benchTypes = []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K}

// BenchmarkMatMul runs a 2048×2048 matrix against n=1 (decode), 2 to 16
// (batched decode of that many streams) and 32 (prompt batch) vectors on a
// Pool of GOMAXPROCS workers, reporting wall and CPU time per MatMul. The
// weights repeat one quantized row, which costs the kernels nothing and
// keeps setup fast.
func BenchmarkMatMul(b *testing.B) {
	const dim = 2048
	rng := rand.New(rand.NewPCG(1, 1))
	pool := NewPool(0)
	defer pool.Close()
	for _, typ := range benchTypes {
		row := make([]byte, dim/typ.BlockSize()*typ.TypeSize())
		if err := Quantize(typ, gaussian(rng, dim), row); err != nil {
			b.Fatal(err)
		}
		m, err := NewMatrix(typ, dim, dim, bytes.Repeat(row, dim))
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1, 2, 4, 8, 16, 32} {
			x, dst := gaussian(rng, n*dim), make([]float32, n*dim)
			b.Run(fmt.Sprintf("%s/n=%d", typ, n), func(b *testing.B) {
				b.SetBytes(int64(len(m.Data)))
				cpu0 := processCPU()
				for b.Loop() {
					if err := m.MatMul(dst, x, n, pool); err != nil {
						b.Fatal(err)
					}
				}
				if cpu := processCPU() - cpu0; cpu > 0 {
					b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}

// BenchmarkDequantize decodes 64Ki elements of each type.
func BenchmarkDequantize(b *testing.B) {
	const n = 1 << 16
	rng := rand.New(rand.NewPCG(2, 2))
	dst := make([]float32, n)
	for _, typ := range benchTypes {
		src := make([]byte, n/typ.BlockSize()*typ.TypeSize())
		if err := Quantize(typ, gaussian(rng, n), src); err != nil {
			b.Fatal(err)
		}
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if err := Dequantize(typ, src, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadBandwidth streams 512 MiB through Dot on every thread of a
// Pool, the memory-read rate that bounds decode: MB/s is the bandwidth the
// decode roofline in BENCHMARKS.md divides by.
func BenchmarkReadBandwidth(b *testing.B) {
	x := make([]float32, 128<<20)
	for i := range x {
		x[i] = 1
	}
	pool := NewPool(0)
	defer pool.Close()
	const chunk = 1 << 16
	sink := make([]float32, len(x)/chunk)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		pool.ParallelFor(len(sink), func(lo, hi int) {
			for c := lo; c < hi; c++ {
				v := x[c*chunk : (c+1)*chunk]
				sink[c] = Dot(v, v)
			}
		})
	}
}
