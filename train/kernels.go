package train

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// This file holds the compute kernels of the training graph: a worker pool
// and the pure-Go f32 matrix multiply. Every linear layer, forward and
// backward, is reduced to matmulNT (C = A·Bᵀ over contiguous rows, gemm.go)
// plus a transpose; on CPUs with an assembly micro-kernel matmulNT packs its
// operands and runs that instead of matmulNTGo.

// pool runs loop bodies on a fixed number of worker goroutines. Workers take
// task indices from a shared counter, so uneven tasks balance themselves.
type pool struct {
	threads      int
	packA, packB []float32 // matmulPacked's panels, reused across calls
}

func newPool(threads int) *pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &pool{threads: threads}
}

// run calls fn(i) for every i in [0, n), spread over the pool's workers, and
// returns when all calls have returned.
func (p *pool) run(n int, fn func(i int)) {
	p.runW(n, func(_, i int) { fn(i) })
}

// runW is run with the caller told which worker (0 ≤ w < threads) makes each
// call, so tasks can use per-worker scratch.
func (p *pool) runW(n int, fn func(w, i int)) {
	workers := min(p.threads, n)
	if workers <= 1 {
		for i := range n {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	work := func(w int) {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			fn(w, i)
		}
	}
	wg.Add(workers - 1)
	for w := range workers - 1 {
		go func() {
			defer wg.Done()
			work(w + 1)
		}()
	}
	work(0)
	wg.Wait()
}

// rows splits [0, n) into about 4 chunks per worker and calls fn(lo, hi) on
// each, in parallel.
func (p *pool) rows(n int, fn func(lo, hi int)) {
	chunks := min(n, 4*p.threads)
	if chunks <= 0 {
		return
	}
	size := (n + chunks - 1) / chunks
	p.run((n+size-1)/size, func(c int) {
		lo := c * size
		fn(lo, min(lo+size, n))
	})
}

// Cache blocking of matmulNT: one task computes a block of mBlock rows of A
// against nBlock rows of B, kBlock columns at a time, so both panels
// (64·512 floats each, 128 KiB) stay in L2 while the tiles sweep them.
const (
	mBlock = 64
	nBlock = 64
	kBlock = 512
)

// matmulNTGo is the pure-Go matmulNT, used when there is no assembly kernel
// or LLMOS_NOASM is set.
func matmulNTGo(p *pool, c, a, b []float32, m, n, k int, acc bool) {
	if m == 0 || n == 0 {
		return
	}
	mb := (m + mBlock - 1) / mBlock
	nb := (n + nBlock - 1) / nBlock
	p.run(mb*nb, func(t int) {
		// Consecutive tasks share a block of B.
		i0, j0 := (t%mb)*mBlock, (t/mb)*nBlock
		for k0 := 0; k0 < k; k0 += kBlock {
			matmulBlock(c, a, b, i0, min(i0+mBlock, m), j0, min(j0+nBlock, n), n, k, k0, min(k0+kBlock, k), acc || k0 > 0)
		}
	})
}

// matmulBlock computes rows [i0,i1) × columns [j0,j1) of C = A·Bᵀ, over
// the columns [k0,k1) of A and B (the rest of the sum is added by other
// calls), with a
// 2×4 register tile: eight independent accumulators hide the latency of the
// floating-point adds (the Go compiler does not vectorise), and the tile is
// the largest that fits amd64's 16 float registers without spilling.
func matmulBlock(c, a, b []float32, i0, i1, j0, j1, n, k, k0, k1 int, acc bool) {
	i := i0
	for ; i+2 <= i1; i += 2 {
		a0 := a[i*k+k0 : i*k+k1]
		a1 := a[(i+1)*k+k0 : (i+1)*k+k1]
		c0 := c[i*n : i*n+n]
		c1 := c[(i+1)*n : (i+1)*n+n]
		j := j0
		for ; j+4 <= j1; j += 4 {
			var s [8]float32
			dot2x4(&s, a0, a1, b[j*k+k0:j*k+k1], b[(j+1)*k+k0:(j+1)*k+k1], b[(j+2)*k+k0:(j+2)*k+k1], b[(j+3)*k+k0:(j+3)*k+k1])
			if acc {
				c0[j] += s[0]
				c0[j+1] += s[1]
				c0[j+2] += s[2]
				c0[j+3] += s[3]
				c1[j] += s[4]
				c1[j+1] += s[5]
				c1[j+2] += s[6]
				c1[j+3] += s[7]
			} else {
				copy(c0[j:j+4], s[:4])
				copy(c1[j:j+4], s[4:])
			}
		}
		for ; j < j1; j++ {
			bj := b[j*k+k0 : j*k+k1]
			store(c0, j, dot(a0, bj), acc)
			store(c1, j, dot(a1, bj), acc)
		}
	}
	if i < i1 {
		ai := a[i*k+k0 : i*k+k1]
		for j := j0; j < j1; j++ {
			store(c, i*n+j, dot(ai, b[j*k+k0:j*k+k1]), acc)
		}
	}
}

func store(c []float32, i int, v float32, acc bool) {
	if acc {
		c[i] += v
	} else {
		c[i] = v
	}
}

// dot2x4 sets s[4r+q] = a_r · b_q for two rows of A and four of B, all of
// the same length.
func dot2x4(s *[8]float32, a0, a1, b0, b1, b2, b3 []float32) {
	n := len(a0)
	a1 = a1[:n]
	b0, b1, b2, b3 = b0[:n], b1[:n], b2[:n], b3[:n]
	var s00, s01, s02, s03, s10, s11, s12, s13 float32
	for l := range n {
		x0, x1, x2, x3 := b0[l], b1[l], b2[l], b3[l]
		y := a0[l]
		s00 += y * x0
		s01 += y * x1
		s02 += y * x2
		s03 += y * x3
		y = a1[l]
		s10 += y * x0
		s11 += y * x1
		s12 += y * x2
		s13 += y * x3
	}
	*s = [8]float32{s00, s01, s02, s03, s10, s11, s12, s13}
}

// dot returns a·b over len(a) elements with four accumulators.
func dot(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 float32
	l := 0
	for ; l+4 <= n; l += 4 {
		s0 += a[l] * b[l]
		s1 += a[l+1] * b[l+1]
		s2 += a[l+2] * b[l+2]
		s3 += a[l+3] * b[l+3]
	}
	for ; l < n; l++ {
		s0 += a[l] * b[l]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy adds alpha·x to y.
func axpy(y []float32, alpha float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += alpha * x[i]
	}
}

// transpose writes the [cols, rows] transpose of the row-major [rows, cols]
// matrix src into dst, in 32×32 tiles so both sides stay in cache.
func transpose(p *pool, dst, src []float32, rows, cols int) {
	const tile = 32
	tr := (rows + tile - 1) / tile
	tc := (cols + tile - 1) / tile
	p.run(tr*tc, func(t int) {
		r0, c0 := (t/tc)*tile, (t%tc)*tile
		r1, c1 := min(r0+tile, rows), min(c0+tile, cols)
		for r := r0; r < r1; r++ {
			row := src[r*cols : r*cols+cols]
			for c := c0; c < c1; c++ {
				dst[c*rows+r] = row[c]
			}
		}
	})
}

// exp32 returns e^x in float32 to about 2 ulp, several times faster than
// math.Exp: the softmax of a 32000-token vocabulary takes tens of millions of
// exponentials per step. Cephes' expf: x = n·ln2 + r with |r| ≤ ln2/2 (ln2
// split in two so n·ln2 is exact), a degree-6 polynomial for e^r, and 2^n
// built in the exponent bits.
func exp32(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	if x != x {
		return x
	}
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	if x < -87.33654 { // e^x below the smallest normal float32
		return 0
	}
	f := x * log2e
	var n int32
	if f >= 0 {
		n = int32(f + 0.5)
	} else {
		n = int32(f - 0.5)
	}
	fn := float32(n)
	r := x - fn*ln2hi - fn*ln2lo
	z := r * r
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*z + r + 1
	if n == 128 { // 2^128 overflows the exponent; build it as 2·2^127
		return y * 2 * math.Float32frombits(254<<23)
	}
	return y * math.Float32frombits(uint32(n+127)<<23)
}
