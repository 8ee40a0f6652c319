package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/llmos/llmos/model"
	"github.com/llmos/llmos/sample"
	"github.com/llmos/llmos/tokenizer"
)

// SchedulerOptions configures a Scheduler. The zero value uses the defaults.
type SchedulerOptions struct {
	// Parallel is the number of sequences decoded together (KV cache
	// slots); <= 0 means 4.
	Parallel int
	// Queue is how many requests may wait for a free slot before Submit
	// refuses more with ErrQueueFull; <= 0 means 8 per slot.
	Queue int
	// BatchSize is the most tokens one forward pass runs: every decoding
	// sequence's next token, then chunks of the prompts being read;
	// <= 0 means 512.
	BatchSize int
}

// Errors Submit returns before a request is queued (ErrClosed also ends
// unfinished generations). The server maps ErrQueueFull to 503 and
// ErrMaxTokens and ErrInvalid to 400.
var (
	ErrQueueFull = errors.New("engine: too many requests waiting")
	ErrMaxTokens = errors.New("max_tokens does not fit the context")
	ErrClosed    = errors.New("engine: scheduler closed")
	ErrInvalid   = errors.New("engine: invalid request")
)

// Constraint restricts which tokens a generation may produce next, e.g. to
// keep its output a JSON document (see sample.JSONConstraint).
type Constraint interface {
	// Mask sets to -Inf the logits of tokens that may not come next, given
	// that at most remaining tokens (this one included) may still be
	// generated.
	Mask(logits []float32, remaining int)
	// Accept advances the constraint past the chosen token.
	Accept(id int32) error
	// Done reports that the output is complete: nothing may follow.
	Done() bool
}

// Job is one request to a Scheduler: a generation Request (OnToken is
// called from the scheduler's goroutine, so it must be quick) and what to
// report besides the text.
type Job struct {
	Request
	// Logprobs reports each generated token's log-probability.
	Logprobs bool
	// TopLogprobs also reports this many most likely alternatives.
	TopLogprobs int
	// Constraint, if set, masks the logits before each draw.
	Constraint Constraint
}

// Event is one step of a generation's stream. Every generated token gives
// one event; the last event has Done set and carries no token.
type Event struct {
	Token   int32                 // generated id; -1 in the last event
	Text    string                // text now safe to show (may be "")
	Logprob sample.TokenLogprob   // the token's log-probability, with Job.Logprobs
	Top     []sample.TokenLogprob // the most likely alternatives, with Job.TopLogprobs

	Done bool // the generation is over; the fields below are set
	// FinishReason is "stop" (end-of-generation token, stop string or a
	// complete constrained document), "length", "cancelled" or "error".
	FinishReason string
	Err          error // with FinishReason "error"
	PromptTokens int
	CachedTokens int // prompt tokens whose KV came from the cache
	Completion   int // generated tokens
}

// Stream delivers a job's events in order. The scheduler never waits for a
// reader: events queue up until Next takes them.
type Stream struct {
	mu     sync.Mutex
	events []Event
	ready  chan struct{}
}

func newStream() *Stream { return &Stream{ready: make(chan struct{}, 1)} }

func (st *Stream) push(ev Event) {
	st.mu.Lock()
	st.events = append(st.events, ev)
	st.mu.Unlock()
	select {
	case st.ready <- struct{}{}:
	default:
	}
}

// Next returns the next event, waiting for it until ctx is done. Calling it
// again after the Done event blocks until ctx is done.
func (st *Stream) Next(ctx context.Context) (Event, error) {
	for {
		st.mu.Lock()
		if len(st.events) > 0 {
			ev := st.events[0]
			st.events[0] = Event{}
			st.events = st.events[1:]
			st.mu.Unlock()
			return ev, nil
		}
		st.mu.Unlock()
		select {
		case <-st.ready:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Wait reads the stream to its end and sums it up as a Result, with the
// Done event (for its counts and finish reason).
func (st *Stream) Wait(ctx context.Context) (Result, Event, error) {
	var res Result
	var text []byte
	for {
		ev, err := st.Next(ctx)
		if err != nil {
			return res, ev, err
		}
		text = append(text, ev.Text...)
		if ev.Done {
			res.PromptTokens, res.Text, res.StopReason = ev.PromptTokens, string(text), ev.FinishReason
			return res, ev, ev.Err
		}
		res.Tokens = append(res.Tokens, ev.Token)
	}
}

// SchedulerStats is a snapshot of a Scheduler's load and counters.
type SchedulerStats struct {
	Slots, Active, Queued int
	// Totals since the scheduler started.
	PromptTokens, CachedTokens, GeneratedTokens, Steps uint64
}

// Scheduler runs many generations at once over one model with continuous
// batching: each step runs one forward pass holding the next token of every
// decoding sequence plus chunks of newly arrived prompts, so sequences join
// and leave the batch at every step. A new prompt reuses the KV cache of
// the longest prefix it shares with any slot. It is safe for concurrent use.
type Scheduler struct {
	e      *Engine
	opts   SchedulerOptions
	cache  *model.Cache
	runner *model.Runner
	slots  []*slot
	busy   []*slot // scratch of slotsByAdmission
	batch  model.Batch
	logits []float32
	raw    []float32 // unmasked logits of one sequence, for logprobs
	clock  uint64    // admission counter, for least-recently-used slots

	mu      sync.Mutex
	queue   []*job
	embeds  []*embedJob
	closed  bool
	wake    chan struct{}
	stopped chan struct{}

	embedCache *model.Cache
	hidden     []float32

	active                                     atomic.Int64
	promptToks, cachedToks, genToks, stepCount atomic.Uint64
}

// slot is one sequence of the KV cache.
type slot struct {
	seq      int
	tokens   []int32 // ids whose keys and values the cache holds, from position 0
	job      *job
	lastUsed uint64
}

// job is a Job in flight.
type job struct {
	ctx     context.Context
	req     Job
	out     *Stream
	prompt  []int32
	fed     int // prompt tokens in the cache so far
	cached  int
	limit   int // most tokens to generate
	n       int // tokens generated
	next    int32
	sampler *sample.Sampler
	stops   *sample.StopMatcher
	dec     *tokenizer.StreamDecoder
	outIdx  int // row of this step's logits, or -1
}

// embedJob is a request for a mean-pooled embedding.
type embedJob struct {
	ctx    context.Context
	tokens []int32
	out    []float32
	err    error
	done   chan struct{}
}

// NewScheduler allocates a KV cache of opts.Parallel sequences of the
// engine's context and starts the scheduling goroutine; Close stops it.
func (e *Engine) NewScheduler(opts SchedulerOptions) (*Scheduler, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Queue <= 0 {
		opts.Queue = 8 * opts.Parallel
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 512
	}
	c, err := e.Model.NewCache(opts.Parallel, e.Context)
	if err != nil {
		return nil, err
	}
	s := &Scheduler{
		e: e, opts: opts, cache: c, runner: e.Model.NewRunner(e.Pool),
		logits:  make([]float32, opts.Parallel*e.Model.Config.Vocab),
		raw:     make([]float32, e.Model.Config.Vocab),
		wake:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
	}
	for i := range opts.Parallel {
		s.slots = append(s.slots, &slot{seq: i})
	}
	go s.loop()
	return s, nil
}

// Context returns the positions each sequence can hold.
func (s *Scheduler) Context() int { return s.cache.Context }

// Stats returns the current load and counters.
func (s *Scheduler) Stats() SchedulerStats {
	s.mu.Lock()
	queued := len(s.queue)
	s.mu.Unlock()
	return SchedulerStats{
		Slots: len(s.slots), Active: int(s.active.Load()), Queued: queued,
		PromptTokens: s.promptToks.Load(), CachedTokens: s.cachedToks.Load(),
		GeneratedTokens: s.genToks.Load(), Steps: s.stepCount.Load(),
	}
}

// Check validates j without queuing it: an empty prompt, one that leaves
// no room in the context (ErrContext), MaxTokens past the context
// (ErrMaxTokens) or bad sampling parameters.
func (s *Scheduler) Check(j Job) error {
	ctxLen := s.cache.Context
	switch {
	case len(j.Prompt) == 0:
		return fmt.Errorf("%w: empty prompt", ErrInvalid)
	case len(j.Prompt) >= ctxLen:
		return fmt.Errorf("engine: %w: prompt of %d tokens, context of %d leaves no room to generate", ErrContext, len(j.Prompt), ctxLen)
	case j.MaxTokens > 0 && len(j.Prompt)+j.MaxTokens > ctxLen:
		return fmt.Errorf("engine: %w: prompt of %d tokens + max_tokens %d > context of %d", ErrMaxTokens, len(j.Prompt), j.MaxTokens, ctxLen)
	case j.TopLogprobs < 0:
		return fmt.Errorf("%w: negative top logprobs %d", ErrInvalid, j.TopLogprobs)
	}
	vocab := int32(s.e.Model.Config.Vocab)
	for _, id := range j.Prompt {
		if id < 0 || id >= vocab {
			return fmt.Errorf("%w: prompt token %d outside the vocabulary of %d", ErrInvalid, id, vocab)
		}
	}
	return j.Sampling.Validate()
}

// Submit checks j (see Check) and queues it. The generation stops early
// when ctx is done, within one step, with FinishReason "cancelled".
func (s *Scheduler) Submit(ctx context.Context, j Job) (*Stream, error) {
	if err := s.Check(j); err != nil {
		return nil, err
	}
	limit := s.cache.Context - len(j.Prompt)
	if j.MaxTokens > 0 {
		limit = min(limit, j.MaxTokens)
	}
	jb := &job{
		ctx: ctx, req: j, out: newStream(), prompt: j.Prompt, limit: limit, next: -1, outIdx: -1,
		sampler: sample.New(j.Sampling, s.e.Model.Config.Vocab),
		stops:   sample.NewStopMatcher(j.Stop),
		dec:     s.e.Tokenizer.NewStreamDecoder(),
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, ErrClosed
	case len(s.queue) >= s.opts.Queue:
		s.mu.Unlock()
		return nil, fmt.Errorf("%w (%d queued)", ErrQueueFull, s.opts.Queue)
	}
	s.queue = append(s.queue, jb)
	s.mu.Unlock()
	s.signal()
	return jb.out, nil
}

// Embed returns the mean over tokens of the model's final normalized hidden
// state, scaled to unit length. It runs between decoding steps.
func (s *Scheduler) Embed(ctx context.Context, tokens []int32) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, errors.New("engine: empty input")
	}
	if len(tokens) > s.cache.Context {
		return nil, fmt.Errorf("engine: %w: input of %d tokens, context of %d", ErrContext, len(tokens), s.cache.Context)
	}
	ej := &embedJob{ctx: ctx, tokens: tokens, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	s.embeds = append(s.embeds, ej)
	s.mu.Unlock()
	s.signal()
	select {
	case <-ej.done:
		return ej.out, ej.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops the scheduler; unfinished generations end with ErrClosed.
func (s *Scheduler) Close() {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if !already {
		s.signal()
	}
	<-s.stopped
}

func (s *Scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// loop is the scheduling goroutine: admit, run a step, repeat; sleep when
// there is nothing to do.
func (s *Scheduler) loop() {
	defer close(s.stopped)
	for {
		s.mu.Lock()
		closed := s.closed
		embeds := s.embeds
		s.embeds = nil
		s.mu.Unlock()
		if closed {
			s.shutdown(embeds)
			return
		}
		for _, ej := range embeds {
			s.embed(ej)
		}
		s.admit()
		if s.active.Load() == 0 {
			<-s.wake
			continue
		}
		s.step()
	}
}

func (s *Scheduler) shutdown(embeds []*embedJob) {
	for _, ej := range embeds {
		ej.err = ErrClosed
		close(ej.done)
	}
	s.mu.Lock()
	queue := s.queue
	s.queue = nil
	s.mu.Unlock()
	for _, jb := range queue {
		s.finish(jb, "error", ErrClosed)
	}
	for _, sl := range s.slots {
		if sl.job != nil {
			s.release(sl, "error", ErrClosed)
		}
	}
}

// admit drops cancelled waiting jobs and moves waiting jobs into free
// slots, reusing the longest cached prefix.
func (s *Scheduler) admit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.queue[:0]
	for _, jb := range s.queue {
		if jb.ctx.Err() != nil {
			s.finish(jb, "cancelled", nil)
			continue
		}
		kept = append(kept, jb)
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	for len(s.queue) > 0 {
		sl := s.place(s.queue[0])
		if sl == nil {
			return
		}
		s.queue[0] = nil
		s.queue = s.queue[1:]
	}
}

// place puts jb into the free slot that needs the least prompt computed,
// copying another slot's prefix when that one shares more; nil means no
// slot is free.
func (s *Scheduler) place(jb *job) *slot {
	// The last prompt token is always run again, for its logits.
	usable := len(jb.prompt) - 1
	var dst, src *slot
	dstKeep, srcKeep := -1, 0
	for _, sl := range s.slots {
		n := commonPrefix(sl.tokens, jb.prompt[:usable])
		if sl.job == nil && (n > dstKeep || (n == dstKeep && sl.lastUsed < dst.lastUsed)) {
			dst, dstKeep = sl, n
		}
		if n > srcKeep {
			src, srcKeep = sl, n
		}
	}
	if dst == nil {
		return nil
	}
	keep := dstKeep
	if srcKeep > dstKeep {
		s.cache.CopySeq(dst.seq, src.seq, srcKeep)
		dst.tokens = append(dst.tokens[:0], jb.prompt[:srcKeep]...)
		keep = srcKeep
	}
	dst.tokens = dst.tokens[:keep]
	s.clock++
	dst.lastUsed = s.clock
	dst.job = jb
	jb.fed, jb.cached = keep, keep
	s.active.Add(1)
	s.promptToks.Add(uint64(len(jb.prompt)))
	s.cachedToks.Add(uint64(keep))
	return dst
}

func commonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// step runs one forward pass over every active slot and samples the
// sequences whose prompt is done.
func (s *Scheduler) step() {
	for _, sl := range s.slots {
		if sl.job != nil && sl.job.ctx.Err() != nil {
			s.release(sl, "cancelled", nil)
		}
	}
	b := &s.batch
	b.Reset()
	outs := 0
	for _, sl := range s.slots { // decode tokens first: they are the latency users feel
		jb := sl.job
		if jb == nil || jb.next < 0 {
			continue
		}
		jb.outIdx = outs
		outs++
		b.Add(jb.next, len(sl.tokens), sl.seq, true)
		jb.next = -1
	}
	budget := s.opts.BatchSize - len(b.Tokens)
	for _, sl := range s.slotsByAdmission() {
		jb := sl.job
		if jb.next >= 0 || jb.fed == len(jb.prompt) {
			continue
		}
		n := min(len(jb.prompt)-jb.fed, max(budget, 1))
		if n <= 0 {
			break
		}
		for i := jb.fed; i < jb.fed+n; i++ {
			last := i == len(jb.prompt)-1
			if last {
				jb.outIdx = outs
				outs++
			}
			b.Add(jb.prompt[i], i, sl.seq, last)
		}
		budget -= n
	}
	if len(b.Tokens) == 0 {
		return
	}
	err := s.runner.Forward(b, s.cache, s.logits)
	s.stepCount.Add(1)
	// Record what the cache now holds, per slot, in batch order.
	for i, tok := range b.Tokens {
		sl := s.slots[b.Seq[i]]
		if err != nil {
			continue
		}
		sl.tokens = append(sl.tokens[:b.Pos[i]], tok)
		if jb := sl.job; jb.fed < len(jb.prompt) {
			jb.fed++
		}
	}
	vocab := s.e.Model.Config.Vocab
	for _, sl := range s.slots {
		jb := sl.job
		if jb == nil || jb.outIdx < 0 {
			continue
		}
		idx := jb.outIdx
		jb.outIdx = -1
		if err != nil {
			s.release(sl, "error", err)
			continue
		}
		s.sample(sl, s.logits[idx*vocab:(idx+1)*vocab])
	}
}

// slotsByAdmission returns the busy slots, earliest admitted first, so
// prompts are read in arrival order.
func (s *Scheduler) slotsByAdmission() []*slot {
	busy := s.busy[:0]
	for _, sl := range s.slots {
		if sl.job != nil {
			busy = append(busy, sl)
		}
	}
	for i := 1; i < len(busy); i++ {
		for k := i; k > 0 && busy[k].lastUsed < busy[k-1].lastUsed; k-- {
			busy[k], busy[k-1] = busy[k-1], busy[k]
		}
	}
	s.busy = busy
	return busy
}

// sample draws the next token of sl's job from logits and streams it, the
// way Session.Generate does.
func (s *Scheduler) sample(sl *slot, logits []float32) {
	jb := sl.job
	tok := s.e.Tokenizer
	var ev Event
	wantLP := jb.req.Logprobs || jb.req.TopLogprobs > 0
	raw := logits
	if c := jb.req.Constraint; c != nil {
		if wantLP { // report the model's own distribution, before the mask
			raw = append(s.raw[:0], logits...)
		}
		c.Mask(logits, jb.limit-jb.n)
	}
	id := jb.sampler.Sample(logits, sl.tokens)
	if tok.IsEOG(id) && !jb.req.IgnoreEOS {
		s.release(sl, "stop", nil)
		return
	}
	if wantLP {
		ev.Logprob, ev.Top, _ = sample.Logprobs(raw, id, jb.req.TopLogprobs)
	}
	if c := jb.req.Constraint; c != nil {
		if err := c.Accept(id); err != nil {
			s.release(sl, "error", err)
			return
		}
	}
	jb.n++
	s.genToks.Add(1)
	if jb.req.OnToken != nil {
		jb.req.OnToken(id)
	}
	var piece string
	if !tok.IsControl(id) {
		piece = jb.dec.Add(id)
	}
	piece, stopped := jb.stops.Feed(piece)
	ev.Token, ev.Text = id, piece
	jb.out.push(ev)
	switch {
	case stopped, jb.req.Constraint != nil && jb.req.Constraint.Done():
		s.release(sl, "stop", nil)
	case jb.n >= jb.limit:
		s.release(sl, "length", nil)
	default:
		jb.next = id
	}
}

// release ends sl's job and frees the slot; its cache stays for reuse.
func (s *Scheduler) release(sl *slot, reason string, err error) {
	jb := sl.job
	sl.job = nil
	s.active.Add(-1)
	s.finish(jb, reason, err)
}

// finish sends jb's last event: the text still held back (unless a stop
// string ended it) and the counts.
func (s *Scheduler) finish(jb *job, reason string, err error) {
	ev := Event{Token: -1, Done: true, FinishReason: reason, Err: err,
		PromptTokens: len(jb.prompt), CachedTokens: jb.cached, Completion: jb.n}
	if err == nil {
		if jb.stops.Matched() == "" {
			piece, _ := jb.stops.Feed(jb.dec.Flush())
			ev.Text = piece + jb.stops.Flush()
		}
	} else {
		ev.FinishReason = "error"
	}
	jb.out.push(ev)
}

// embed runs ej's tokens through the model in a cache of its own and
// averages the final hidden states.
func (s *Scheduler) embed(ej *embedJob) {
	defer close(ej.done)
	if ej.ctx.Err() != nil {
		ej.err = ej.ctx.Err()
		return
	}
	if s.embedCache == nil {
		c, err := s.e.Model.NewCache(1, s.cache.Context)
		if err != nil {
			ej.err = err
			return
		}
		s.embedCache = c
	}
	dim := s.e.Model.Config.Dim
	sum := make([]float64, dim)
	b := &s.batch
	for start := 0; start < len(ej.tokens); start += s.opts.BatchSize {
		end := min(start+s.opts.BatchSize, len(ej.tokens))
		b.Reset()
		for i := start; i < end; i++ {
			b.Add(ej.tokens[i], i, 0, false)
		}
		if cap(s.hidden) < (end-start)*dim {
			s.hidden = make([]float32, (end-start)*dim)
		}
		h := s.hidden[:(end-start)*dim]
		if err := s.runner.Hidden(b, s.embedCache, h); err != nil {
			ej.err = err
			return
		}
		for i, v := range h {
			sum[i%dim] += float64(v)
		}
	}
	norm := 0.0
	for _, v := range sum {
		norm += v * v
	}
	norm = math.Sqrt(norm)
	if norm == 0 {
		norm = 1
	}
	ej.out = make([]float32, dim)
	for i, v := range sum {
		ej.out[i] = float32(v / norm)
	}
}
