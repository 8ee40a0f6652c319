package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool is a fixed set of worker goroutines that split loops into contiguous
// chunks. Workers live until Close, so a decode step pays a channel wake-up
// per worker rather than a goroutine start. A Pool runs one job at a time:
// concurrent ParallelFor or MatMul calls on the same Pool take turns. The
// Pool also owns the scratch buffer MatMul quantizes activations into, so
// steady-state MatMul calls do not allocate.
type Pool struct {
	mu      sync.Mutex
	threads int
	wake    []chan struct{} // one per helper goroutine (threads-1)
	done    sync.WaitGroup
	closed  bool

	// The running job, read by helpers between wake and done.
	job     task
	n       int
	chunk   int
	nchunks int64
	next    atomic.Int64

	scratch []byte
	floats  []float32
	gemm    []byte
	quant   quantizeTask
	mm      matmulTask
}

// task is a loop body over [lo, hi). Pool's own jobs are pointers to fields
// of the Pool, so handing them to helpers allocates nothing.
type task interface{ run(lo, hi int) }

type funcTask func(lo, hi int)

func (f funcTask) run(lo, hi int) { f(lo, hi) }

// chunksPerThread trades scheduling overhead for balance when threads are
// slowed unevenly (other processes, SMT siblings).
const chunksPerThread = 4

// NewPool starts a pool of threads workers (the caller of ParallelFor counts
// as one); threads <= 0 means runtime.GOMAXPROCS(0).
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads, wake: make([]chan struct{}, threads-1)}
	for i := range p.wake {
		p.wake[i] = make(chan struct{})
		go p.helper(p.wake[i])
	}
	return p
}

// Threads reports how many goroutines, the caller included, share the work.
func (p *Pool) Threads() int { return p.threads }

func (p *Pool) helper(wake <-chan struct{}) {
	for range wake {
		p.work()
		p.done.Done()
	}
}

// ParallelFor calls fn over contiguous ranges [lo, hi) that together cover
// [0, n) exactly once, on up to Threads goroutines, and returns when all are
// done. After Close it runs fn(0, n) on the caller.
func (p *Pool) ParallelFor(n int, fn func(lo, hi int)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.run(funcTask(fn), n)
}

// run executes t over [0, n); the caller holds p.mu.
func (p *Pool) run(t task, n int) {
	if n <= 0 {
		return
	}
	if p.threads == 1 || p.closed || n == 1 {
		t.run(0, n)
		return
	}
	chunks := min(n, p.threads*chunksPerThread)
	p.chunk = (n + chunks - 1) / chunks
	p.nchunks = int64((n + p.chunk - 1) / p.chunk)
	p.job, p.n = t, n
	p.next.Store(0)
	helpers := min(p.threads, int(p.nchunks)) - 1
	p.done.Add(helpers)
	for _, w := range p.wake[:helpers] {
		w <- struct{}{}
	}
	p.work()
	p.done.Wait()
	p.job = nil
}

// work takes chunks until none are left.
func (p *Pool) work() {
	for {
		c := p.next.Add(1) - 1
		if c >= p.nchunks {
			return
		}
		lo := int(c) * p.chunk
		p.job.run(lo, min(lo+p.chunk, p.n))
	}
}

// Close stops the workers. The Pool stays usable, running everything on the
// calling goroutine.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, w := range p.wake {
		close(w)
	}
}

// buffer returns p's scratch grown to at least n bytes; the caller holds p.mu.
func (p *Pool) buffer(n int) []byte {
	if cap(p.scratch) < n {
		p.scratch = make([]byte, n)
	}
	return p.scratch[:n]
}

// floatBuffer returns p's float32 scratch grown to at least n elements; the
// caller holds p.mu.
func (p *Pool) floatBuffer(n int) []float32 {
	if cap(p.floats) < n {
		p.floats = make([]float32, n)
	}
	return p.floats[:n]
}

// gemmBuffer returns p's buffer for GEMM-laid-out activations grown to at
// least n bytes; the caller holds p.mu.
func (p *Pool) gemmBuffer(n int) []byte {
	if cap(p.gemm) < n {
		p.gemm = make([]byte, n)
	}
	return p.gemm[:n]
}
