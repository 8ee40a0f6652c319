package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestVecDotType(t *testing.T) {
	tests := []struct {
		w, want Type
	}{
		{F32, F32}, {F16, F16}, {BF16, BF16},
		{Q4_0, Q8_0}, {Q5_0, Q8_0}, {Q8_0, Q8_0}, {Q4_1, Q8_1}, {Q5_1, Q8_1},
		{Q2_K, Q8_K}, {Q3_K, Q8_K}, {Q4_K, Q8_K}, {Q5_K, Q8_K}, {Q6_K, Q8_K},
	}
	for _, tt := range tests {
		if got, ok := VecDotType(tt.w); !ok || got != tt.want {
			t.Errorf("VecDotType(%s) = %s, %v; want %s", tt.w, got, ok, tt.want)
		}
	}
	for _, typ := range []Type{Q8_1, Q8_K, I32, Type(99)} {
		if _, ok := VecDotType(typ); ok {
			t.Errorf("VecDotType(%s) reports a kernel", typ)
		}
	}
}

// randomMatrix quantizes Gaussian weights to t.
func randomMatrix(t testing.TB, rng *rand.Rand, typ Type, rows, cols int) *Matrix {
	t.Helper()
	data := make([]byte, rows*cols/typ.BlockSize()*typ.TypeSize())
	if err := Quantize(typ, gaussian(rng, rows*cols), data); err != nil {
		t.Fatal(err)
	}
	m, err := NewMatrix(typ, rows, cols, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// matMulOracle computes dst in float64 from the dequantized weights and the
// dequantized activations as MatMul quantizes them, plus for each output the
// sum of |w*x|, which scales the float32 rounding MatMul may add.
func matMulOracle(t *testing.T, m *Matrix, x []float32, n int) (want, mag []float64) {
	t.Helper()
	vt, _ := VecDotType(m.Type)
	w := make([]float32, m.Rows*m.Cols)
	if err := Dequantize(m.Type, m.Data, w); err != nil {
		t.Fatal(err)
	}
	q := make([]byte, m.actBytes)
	a := make([]float32, m.Cols)
	want, mag = make([]float64, n*m.Rows), make([]float64, n*m.Rows)
	for i := 0; i < n; i++ {
		m.quant(x[i*m.Cols:(i+1)*m.Cols], q)
		if err := Dequantize(vt, q, a); err != nil {
			t.Fatal(err)
		}
		for r := 0; r < m.Rows; r++ {
			for k, v := range a {
				p := float64(w[r*m.Cols+k]) * float64(v)
				want[i*m.Rows+r] += p
				mag[i*m.Rows+r] += math.Abs(p)
			}
			if vt != Q8_1 {
				continue
			}
			// Q4_1/Q5_1 apply the weight min through the activation block's
			// s = d*sum(q), which is stored as f16: allow its rounding.
			row := m.Data[r*m.rowBytes:]
			for b := 0; b < m.Cols/32; b++ {
				min, s := le16(row[b*m.Type.TypeSize()+2:]), le16(q[b*36+2:])
				mag[i*m.Rows+r] += math.Abs(float64(min)*float64(s)) * (1 << 7) // 2^7 * 1e-5 > 2^-11
			}
		}
	}
	return want, mag
}

func TestMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pool := NewPool(3)
	defer pool.Close()
	for typ := range vecDots {
		bs := typ.BlockSize()
		cols := []int{bs, 3 * bs}
		if bs == 1 {
			cols = []int{1, 7, 100}
		} else if bs == 32 {
			cols = append(cols, 9*bs)
		}
		for _, c := range cols {
			for _, rows := range []int{1, 3, 17, 64} {
				for _, n := range []int{1, 2, 5} {
					name := fmt.Sprintf("%s/%dx%d/n=%d", typ, rows, c, n)
					t.Run(name, func(t *testing.T) {
						m := randomMatrix(t, rng, typ, rows, c)
						x := gaussian(rng, n*c)
						x[0] = 0 // a zero block edge: amax may vanish for tiny cols
						want, mag := matMulOracle(t, m, x, n)
						serial := make([]float32, n*rows)
						if err := m.MatMul(serial, x, n, nil); err != nil {
							t.Fatal(err)
						}
						for i, got := range serial {
							if d := math.Abs(float64(got) - want[i]); d > 1e-5*mag[i]+1e-6 {
								t.Fatalf("dst[%d] = %g, want %g (|Σ|w·x|| %g)", i, got, want[i], mag[i])
							}
						}
						parallel := make([]float32, n*rows+3) // longer than needed is allowed
						if err := m.MatMul(parallel, x, n, pool); err != nil {
							t.Fatal(err)
						}
						for i := range serial {
							if parallel[i] != serial[i] {
								t.Fatalf("pooled dst[%d] = %g, serial %g", i, parallel[i], serial[i])
							}
						}
					})
				}
			}
		}
	}
}

// TestMatMulNoAllocs pins the decode-loop promise: with a Pool, MatMul
// reuses its scratch, for one vector, a few, and a GEMM group.
func TestMatMulNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	pool := NewPool(2)
	defer pool.Close()
	for _, typ := range []Type{Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K, F16} {
		m := randomMatrix(t, rng, typ, 16, 256)
		for _, n := range []int{1, 4, 16} {
			x, dst := gaussian(rng, n*256), make([]float32, n*16)
			if err := m.MatMul(dst, x, n, pool); err != nil { // grows the scratch
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(20, func() {
				if err := m.MatMul(dst, x, n, pool); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%s, n=%d: MatMul allocates %.1f times per call", typ, n, allocs)
			}
		}
	}
}

func TestMatrixErrors(t *testing.T) {
	tests := []struct {
		name       string
		typ        Type
		rows, cols int
		bytes      int
		want       string
	}{
		{"activation-only type", Q8_K, 1, 256, 292, "no dot kernel"},
		{"unknown type", Type(77), 1, 32, 34, "no dot kernel"},
		{"zero rows", Q8_0, 0, 32, 0, "bad shape"},
		{"partial block", Q8_0, 1, 33, 34, "whole number"},
		{"short data", Q4_K, 2, 256, 287, "needs 288 bytes, got 287"},
		{"long data", F32, 2, 3, 25, "needs 24 bytes, got 25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewMatrix(tt.typ, tt.rows, tt.cols, make([]byte, tt.bytes))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}

	m, err := NewMatrix(Q8_0, 2, 64, make([]byte, 2*68))
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		err  error
		want string
	}{
		{"short x", m.MatMul(make([]float32, 4), make([]float32, 127), 2, nil), "x has 127"},
		{"short dst", m.MatMul(make([]float32, 3), make([]float32, 128), 2, nil), "dst 3"},
		{"negative n", m.MatMul(nil, nil, -1, nil), "by -1 vectors"},
		{"zero Matrix", (&Matrix{}).MatMul(nil, nil, 0, nil), "not built by NewMatrix"},
		{"row past end", m.Row(2, make([]float32, 64)), "row 2 out of range"},
		{"row dst size", m.Row(0, make([]float32, 63)), "64 elements into a buffer of 63"},
	}
	for _, c := range calls {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, c.err, c.want)
		}
	}
}

func TestMatrixRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, typ := range []Type{F32, Q5_1, Q6_K} {
		m := randomMatrix(t, rng, typ, 5, 256)
		all := make([]float32, 5*256)
		if err := Dequantize(typ, m.Data, all); err != nil {
			t.Fatal(err)
		}
		row := make([]float32, 256)
		for r := 0; r < 5; r++ {
			if err := m.Row(r, row); err != nil {
				t.Fatal(err)
			}
			for k, v := range row {
				if v != all[r*256+k] {
					t.Fatalf("%s row %d[%d] = %g, want %g", typ, r, k, v, all[r*256+k])
				}
			}
		}
	}
}

func TestPoolParallelFor(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := NewPool(threads)
		for _, n := range []int{0, 1, 2, 5, 7, 100, 1001} {
			for round := 0; round < 2; round++ { // round 1 runs after Close
				var mu sync.Mutex
				hits := make([]int, n)
				p.ParallelFor(n, func(lo, hi int) {
					if lo >= hi {
						t.Errorf("empty range [%d, %d)", lo, hi)
					}
					mu.Lock()
					defer mu.Unlock()
					for i := lo; i < hi; i++ {
						hits[i]++
					}
				})
				for i, h := range hits {
					if h != 1 {
						t.Fatalf("threads=%d n=%d closed=%v: index %d visited %d times", threads, n, round == 1, i, h)
					}
				}
				if round == 0 && n == 1001 {
					p.Close()
				}
			}
		}
		p.Close() // a second Close is harmless
	}
	if got := NewPool(0).Threads(); got < 1 {
		t.Errorf("NewPool(0).Threads() = %d", got)
	}
}

// TestPoolConcurrentCallers checks that callers sharing a Pool take turns.
func TestPoolConcurrentCallers(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 50; k++ {
				sums := make([]int, 64)
				p.ParallelFor(64, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						sums[i] = i
					}
				})
				for i, s := range sums {
					if s != i {
						t.Errorf("index %d = %d", i, s)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestPoolParkAndWake runs jobs with the helpers spinning (back to back),
// parked (after an idle gap longer than their spin) and on a Pool with
// more workers than Ps (no spinning at all), and closes Pools whose
// helpers are parked and spinning: every index is visited once and Close
// returns.
func TestPoolParkAndWake(t *testing.T) {
	for _, threads := range []int{2, 4, 4 * runtime.GOMAXPROCS(0)} {
		p := NewPool(threads)
		for _, gap := range []time.Duration{0, 0, 20 * time.Millisecond, 0, 20 * time.Millisecond} {
			time.Sleep(gap)
			var visited [257]atomic.Int32
			p.ParallelFor(len(visited), func(lo, hi int) {
				for i := lo; i < hi; i++ {
					visited[i].Add(1)
				}
			})
			for i := range visited {
				if v := visited[i].Load(); v != 1 {
					t.Fatalf("threads=%d after a gap of %v: index %d visited %d times", threads, gap, i, v)
				}
			}
		}
		if threads == 2 {
			time.Sleep(20 * time.Millisecond) // helpers parked
		}
		p.Close()
	}
}
