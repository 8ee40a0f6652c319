package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool is a fixed set of worker goroutines that split loops into contiguous
// chunks. Workers live until Close. Between jobs a worker first spins for a
// short while, watching for the next job, and only then parks: a decode step
// runs a few hundred short jobs back to back, and waking a parked goroutine
// costs microseconds each time, which at two threads cost a fifth of the
// decode rate. A Pool runs one job at a time: concurrent ParallelFor or
// MatMul calls on the same Pool take turns. The Pool also owns the scratch
// buffer MatMul quantizes activations into, so steady-state MatMul calls do
// not allocate.
type Pool struct {
	mu      sync.Mutex
	threads int
	helpers []*helper // threads-1 of them
	spin    int       // job checks a helper makes before parking
	closed  bool
	gen     uint64       // number of the current job (caller side, under mu)
	pending atomic.Int64 // helpers still on the current job

	// The running job, read by helpers between their start and pending's
	// decrement.
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

// helper is one worker goroutine's mailbox.
type helper struct {
	gen    atomic.Uint64 // the job it is to run next; closedGen to stop
	asleep atomic.Bool   // parked on wake, or about to be
	wake   chan struct{} // a token per wake-up of a parked helper (capacity 1)
}

// closedGen tells a helper to stop.
const closedGen = ^uint64(0)

// spinChecks is how many times an idle helper looks for its next job
// before parking: tens of microseconds, longer than the gaps between a
// decode step's jobs, far shorter than a user notices. Every spinYield
// checks it yields its thread, so goroutines outside the Pool still run.
const (
	spinChecks = 1 << 16
	spinYield  = 1 << 10
)

// task is a loop body over [lo, hi). Pool's own jobs are pointers to fields
// of the Pool, so handing them to helpers allocates nothing.
type task interface{ run(lo, hi int) }

type funcTask func(lo, hi int)

func (f funcTask) run(lo, hi int) { f(lo, hi) }

// chunksPerThread trades scheduling overhead for balance when threads are
// slowed unevenly (other processes, SMT siblings).
const chunksPerThread = 4

// NewPool starts a pool of threads workers (the caller of ParallelFor counts
// as one); threads <= 0 means PhysicalCores().
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = PhysicalCores()
	}
	p := &Pool{threads: threads}
	if threads <= runtime.GOMAXPROCS(0) {
		// With more workers than Ps a spinning helper would hold a P that
		// a working one needs.
		p.spin = spinChecks
	}
	for range threads - 1 {
		h := &helper{wake: make(chan struct{}, 1)}
		p.helpers = append(p.helpers, h)
		go p.helper(h)
	}
	return p
}

// Threads reports how many goroutines, the caller included, share the work.
func (p *Pool) Threads() int { return p.threads }

// helper runs the jobs handed to h until Close.
func (p *Pool) helper(h *helper) {
	var seen uint64
	for {
		g := h.gen.Load()
		for i := 1; g == seen && i < p.spin; i++ {
			if i%spinYield == 0 {
				runtime.Gosched()
			}
			g = h.gen.Load()
		}
		if g == seen {
			// Park. Announce it first, then look once more: run stores the
			// job number before it checks asleep, so one of the two sides
			// sees the other.
			h.asleep.Store(true)
			if g = h.gen.Load(); g == seen {
				<-h.wake
				g = h.gen.Load()
			} else if !h.asleep.CompareAndSwap(true, false) {
				<-h.wake // run saw us asleep and sent a token: take it
			}
		}
		if g == closedGen {
			return
		}
		seen = g
		p.work()
		p.pending.Add(-1)
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
	helpers := p.helpers[:min(p.threads, int(p.nchunks))-1]
	p.pending.Store(int64(len(helpers)))
	p.gen++
	for _, h := range helpers {
		h.gen.Store(p.gen)
		if h.asleep.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
	p.work()
	for i := 1; p.pending.Load() > 0; i++ {
		if i%spinYield == 0 {
			runtime.Gosched()
		}
	}
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
	for _, h := range p.helpers {
		h.gen.Store(closedGen)
		if h.asleep.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
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
