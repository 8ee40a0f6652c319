package tensor

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkMatMulDecode runs one vector (decode) through 2048-column Q4_0
// and Q8_0 matrices on one thread: 2048 rows stay in the last-level cache,
// 65536 rows (75 MB of Q4_0, 142 MB of Q8_0) stream from DRAM, as a model's
// weights do. MB/s there is the per-core weight bandwidth the decode
// kernels and their prefetching reach; cpu-ns/op is CPU time, which a
// loaded machine disturbs less than wall time.
func BenchmarkMatMulDecode(b *testing.B) {
	const cols = 2048
	rng := rand.New(rand.NewPCG(3, 3))
	pool := NewPool(1)
	defer pool.Close()
	x, dst := gaussian(rng, cols), make([]float32, 1<<16)
	for _, typ := range []Type{Q4_0, Q8_0} {
		row := make([]byte, cols/typ.BlockSize()*typ.TypeSize())
		if err := Quantize(typ, gaussian(rng, cols), row); err != nil {
			b.Fatal(err)
		}
		for _, rows := range []int{2048, 1 << 16} {
			b.Run(fmt.Sprintf("%s/rows=%d", typ, rows), func(b *testing.B) {
				m, err := NewMatrix(typ, rows, cols, bytes.Repeat(row, rows))
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(m.Data)))
				cpu0 := processCPU()
				for b.Loop() {
					if err := m.MatMul(dst, x, 1, pool); err != nil {
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
