package model

import (
	"fmt"
	"math"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
)

// Model is a loaded llama-family transformer (llama, mistral, qwen2 …):
// its configuration and weight matrices, which point into the mapped GGUF
// file.
type Model struct {
	Config Config

	tokEmbd    *tensor.Matrix
	outputNorm []float32
	output     *tensor.Matrix
	ropeFreqs  []float32 // divisors of the rope frequencies, or nil
	layers     []layer
}

type layer struct {
	attnNorm, ffnNorm       []float32
	wq, wk, wv, wo          *tensor.Matrix
	bq, bk, bv              []float32 // qwen2 only
	ffnGate, ffnUp, ffnDown *tensor.Matrix
}

// Load binds the weights of the model in f. The File must stay open while
// the Model is used.
func Load(f *gguf.File) (*Model, error) {
	cfg, err := ConfigFromGGUF(f)
	if err != nil {
		return nil, err
	}
	w := weights{f: f}
	m := &Model{}
	m.tokEmbd = w.matrix("token_embd.weight", cfg.Dim, -1)
	if m.tokEmbd != nil {
		cfg.Vocab = m.tokEmbd.Rows
	}
	m.outputNorm = w.vector("output_norm.weight", cfg.Dim)
	if _, ok := f.Tensor("output.weight"); ok {
		m.output = w.matrix("output.weight", cfg.Dim, cfg.Vocab)
	} else {
		cfg.TiedOutput = true
		m.output = m.tokEmbd
	}
	if _, ok := f.Tensor("rope_freqs.weight"); ok {
		m.ropeFreqs = w.vector("rope_freqs.weight", cfg.RopeDim/2)
		cfg.HasRopeFreq = true
	}
	qDim, kvDim := cfg.Heads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim
	m.layers = make([]layer, cfg.Layers)
	for i := range m.layers {
		l := &m.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		l.attnNorm = w.vector(p+"attn_norm.weight", cfg.Dim)
		l.wq = w.matrix(p+"attn_q.weight", cfg.Dim, qDim)
		l.wk = w.matrix(p+"attn_k.weight", cfg.Dim, kvDim)
		l.wv = w.matrix(p+"attn_v.weight", cfg.Dim, kvDim)
		l.wo = w.matrix(p+"attn_output.weight", qDim, cfg.Dim)
		if cfg.QKVBias {
			l.bq = w.vector(p+"attn_q.bias", qDim)
			l.bk = w.vector(p+"attn_k.bias", kvDim)
			l.bv = w.vector(p+"attn_v.bias", kvDim)
		}
		l.ffnNorm = w.vector(p+"ffn_norm.weight", cfg.Dim)
		l.ffnGate = w.matrix(p+"ffn_gate.weight", cfg.Dim, cfg.FFN)
		l.ffnUp = w.matrix(p+"ffn_up.weight", cfg.Dim, cfg.FFN)
		l.ffnDown = w.matrix(p+"ffn_down.weight", cfg.FFN, cfg.Dim)
	}
	if w.err != nil {
		return nil, fmt.Errorf("model: %s: %w", cfg.Arch, w.err)
	}
	m.Config = cfg
	return m, nil
}

// weights binds GGUF tensors by name, keeping the first error.
type weights struct {
	f   *gguf.File
	err error
}

// matrix binds a 2-D tensor with rows of cols elements; rows < 0 accepts any
// number of rows.
func (w *weights) matrix(name string, cols, rows int) *tensor.Matrix {
	if w.err != nil {
		return nil
	}
	t, ok := w.f.Tensor(name)
	if !ok {
		w.err = fmt.Errorf("tensor %q missing", name)
		return nil
	}
	if len(t.Dims) != 2 || t.Dims[0] != int64(cols) || (rows >= 0 && t.Dims[1] != int64(rows)) {
		w.err = fmt.Errorf("tensor %q has shape %v, want [%d %d]", name, t.Dims, cols, rows)
		return nil
	}
	m, err := tensor.NewMatrix(t.Type, int(t.Dims[1]), int(t.Dims[0]), t.Data)
	if err != nil {
		w.err = fmt.Errorf("tensor %q: %w", name, err)
	}
	return m
}

// vector reads a 1-D tensor of n elements as float32.
func (w *weights) vector(name string, n int) []float32 {
	if w.err != nil {
		return nil
	}
	t, ok := w.f.Tensor(name)
	if !ok {
		w.err = fmt.Errorf("tensor %q missing", name)
		return nil
	}
	if t.Elements() != int64(n) {
		w.err = fmt.Errorf("tensor %q has shape %v, want [%d]", name, t.Dims, n)
		return nil
	}
	out := make([]float32, n)
	if err := tensor.Dequantize(t.Type, t.Data, out); err != nil {
		w.err = fmt.Errorf("tensor %q: %w", name, err)
	}
	return out
}

// Batch is a set of tokens to run together: any mix of sequences and
// positions (a prompt prefill, one new token of each of several
// sequences …). Logits marks the tokens whose next-token logits are wanted.
type Batch struct {
	Tokens []int32
	Pos    []int32
	Seq    []int32
	Logits []bool
}

// Add appends one token to the batch.
func (b *Batch) Add(token int32, pos, seq int, logits bool) {
	b.Tokens = append(b.Tokens, token)
	b.Pos = append(b.Pos, int32(pos))
	b.Seq = append(b.Seq, int32(seq))
	b.Logits = append(b.Logits, logits)
}

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
	b.Tokens, b.Pos, b.Seq, b.Logits = b.Tokens[:0], b.Pos[:0], b.Seq[:0], b.Logits[:0]
}

// Outputs returns the number of tokens whose logits are wanted.
func (b *Batch) Outputs() int {
	n := 0
	for _, l := range b.Logits {
		if l {
			n++
		}
	}
	return n
}

// Runner runs the model's forward pass with scratch memory that is reused
// across calls, so decoding allocates nothing. A Runner is not safe for
// concurrent use; the Model may be shared by many Runners.
type Runner struct {
	m    *Model
	pool *tensor.Pool
	s    scratch

	// The attention step's arguments, set around one parallel loop so its
	// body is a func value made once, not a closure per call.
	attnFn    func(lo, hi int)
	attnBatch *Batch
	attnCache *Cache
	attnLayer int
}

// NewRunner returns a Runner computing on pool.
func (m *Model) NewRunner(pool *tensor.Pool) *Runner {
	r := &Runner{m: m, pool: pool}
	r.attnFn = r.attend
	return r
}

// scratch holds the activations of one batch.
type scratch struct {
	n                   int
	x, xb, q, k, v, att []float32
	hb, hb2             []float32
	rope                []float32      // per token: cos, sin pairs
	scores              chan []float32 // one attention-weights buffer per thread
	ctx                 int            // positions of each query head a scores buffer holds
	out                 []float32      // normed hidden states of output tokens
}

func (s *scratch) ensure(c Config, n, ctx, workers int) {
	if n <= s.n && s.ctx >= ctx {
		return
	}
	n = max(n, s.n)
	qDim, kvDim := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	s.n = n
	s.x = make([]float32, n*c.Dim)
	s.xb = make([]float32, n*max(c.Dim, qDim))
	s.q = make([]float32, n*qDim)
	s.k = make([]float32, n*kvDim)
	s.v = make([]float32, n*kvDim)
	s.att = make([]float32, n*qDim)
	s.hb = make([]float32, n*c.FFN)
	s.hb2 = make([]float32, n*c.FFN)
	s.rope = make([]float32, n*c.RopeDim)
	s.out = make([]float32, n*c.Dim)
	s.ctx = max(ctx, s.ctx)
	s.scores = make(chan []float32, workers)
	for range workers {
		s.scores <- make([]float32, c.Heads/c.KVHeads*s.ctx)
	}
}

// Forward runs batch b through the model, reading and writing the KV cache
// c, and writes the logits of every token marked in b.Logits, in batch
// order, to logits (b.Outputs() × Vocab values).
func (r *Runner) Forward(b *Batch, c *Cache, logits []float32) error {
	m, cfg := r.m, r.m.Config
	n := len(b.Tokens)
	if n == 0 {
		return nil
	}
	if len(b.Pos) != n || len(b.Seq) != n || len(b.Logits) != n {
		return fmt.Errorf("model: batch fields have different lengths")
	}
	for i := 0; i < n; i++ {
		if t := b.Tokens[i]; t < 0 || int(t) >= cfg.Vocab {
			return fmt.Errorf("model: token %d out of range (vocabulary has %d)", t, cfg.Vocab)
		}
		if p := b.Pos[i]; p < 0 || int(p) >= c.Context {
			return fmt.Errorf("model: position %d past the context (%d)", p, c.Context)
		}
		if s := b.Seq[i]; s < 0 || int(s) >= c.Seqs {
			return fmt.Errorf("model: sequence %d out of range (cache has %d)", s, c.Seqs)
		}
	}
	nOut := b.Outputs()
	if len(logits) < nOut*cfg.Vocab {
		return fmt.Errorf("model: logits buffer holds %d values, need %d", len(logits), nOut*cfg.Vocab)
	}
	s := &r.s
	s.ensure(cfg, n, c.Context, r.pool.Threads())
	dim, qDim, kvDim := cfg.Dim, cfg.Heads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim

	// Token embeddings.
	var err error
	for i, t := range b.Tokens {
		err = firstErr(err, m.tokEmbd.Row(int(t), s.x[i*dim:(i+1)*dim]))
	}
	r.ropeTables(b.Pos)

	for li := range m.layers {
		l := &m.layers[li]

		// Attention: norm, project, rotate, store keys and values, attend.
		rmsNorm(s.xb[:n*dim], s.x[:n*dim], l.attnNorm, dim, cfg.NormEps)
		err = firstErr(err, l.wq.MatMul(s.q[:n*qDim], s.xb[:n*dim], n, r.pool))
		err = firstErr(err, l.wk.MatMul(s.k[:n*kvDim], s.xb[:n*dim], n, r.pool))
		err = firstErr(err, l.wv.MatMul(s.v[:n*kvDim], s.xb[:n*dim], n, r.pool))
		if cfg.QKVBias {
			addBias(s.q[:n*qDim], l.bq)
			addBias(s.k[:n*kvDim], l.bk)
			addBias(s.v[:n*kvDim], l.bv)
		}
		r.rope(s.q[:n*qDim], cfg.Heads)
		r.rope(s.k[:n*kvDim], cfg.KVHeads)
		for i := 0; i < n; i++ {
			off := c.slot(int(b.Seq[i]), int(b.Pos[i]))
			copy(c.k[li][off:off+kvDim], s.k[i*kvDim:(i+1)*kvDim])
			copy(c.v[li][off:off+kvDim], s.v[i*kvDim:(i+1)*kvDim])
		}
		r.attention(b, c, li)
		err = firstErr(err, l.wo.MatMul(s.xb[:n*dim], s.att[:n*qDim], n, r.pool))
		tensor.Add(s.x[:n*dim], s.x[:n*dim], s.xb[:n*dim])

		// Feed-forward: norm, SwiGLU, residual.
		rmsNorm(s.xb[:n*dim], s.x[:n*dim], l.ffnNorm, dim, cfg.NormEps)
		err = firstErr(err, l.ffnGate.MatMul(s.hb[:n*cfg.FFN], s.xb[:n*dim], n, r.pool))
		err = firstErr(err, l.ffnUp.MatMul(s.hb2[:n*cfg.FFN], s.xb[:n*dim], n, r.pool))
		tensor.SwiGLU(s.hb[:n*cfg.FFN], s.hb[:n*cfg.FFN], s.hb2[:n*cfg.FFN])
		err = firstErr(err, l.ffnDown.MatMul(s.xb[:n*dim], s.hb[:n*cfg.FFN], n, r.pool))
		tensor.Add(s.x[:n*dim], s.x[:n*dim], s.xb[:n*dim])
	}

	// Final norm and LM head, for the wanted tokens only.
	j := 0
	for i := 0; i < n; i++ {
		if b.Logits[i] {
			copy(s.xb[j*dim:(j+1)*dim], s.x[i*dim:(i+1)*dim])
			j++
		}
	}
	if nOut == 0 || err != nil {
		return err
	}
	rmsNorm(s.out[:nOut*dim], s.xb[:nOut*dim], m.outputNorm, dim, cfg.NormEps)
	err = firstErr(err, m.output.MatMul(logits[:nOut*cfg.Vocab], s.out[:nOut*dim], nOut, r.pool))
	return err
}

// ropeTables computes cos and sin of every rotated pair for each position,
// the way ggml does: the angle starts at the (scaled) position and is
// multiplied by base^(-2/n_rot) in float32 from one pair to the next.
func (r *Runner) ropeTables(pos []int32) {
	cfg := r.m.Config
	half := cfg.RopeDim / 2
	thetaScale := float32(math.Pow(float64(cfg.RopeBase), -2.0/float64(cfg.RopeDim)))
	for i, p := range pos {
		tab := r.s.rope[i*cfg.RopeDim : (i+1)*cfg.RopeDim]
		theta := float32(p)
		for k := 0; k < half; k++ {
			t := theta
			if r.m.ropeFreqs != nil {
				t /= r.m.ropeFreqs[k]
			}
			t *= cfg.RopeScale
			tab[2*k] = float32(math.Cos(float64(t)))
			tab[2*k+1] = float32(math.Sin(float64(t)))
			theta *= thetaScale
		}
	}
}

// rope rotates each head of x (n tokens × heads × HeadDim) in place.
func (r *Runner) rope(x []float32, heads int) {
	cfg := r.m.Config
	hd, half := cfg.HeadDim, cfg.RopeDim/2
	n := len(x) / (heads * hd)
	for i := 0; i < n; i++ {
		tab := r.s.rope[i*cfg.RopeDim : (i+1)*cfg.RopeDim]
		for h := 0; h < heads; h++ {
			v := x[(i*heads+h)*hd : (i*heads+h+1)*hd]
			for k := 0; k < half; k++ {
				cos, sin := tab[2*k], tab[2*k+1]
				a, b := 2*k, 2*k+1 // NORM: adjacent pairs
				if cfg.RopeNeox {
					a, b = k, k+half // NEOX: pairs half a rotation apart
				}
				x0, x1 := v[a], v[b]
				v[a] = x0*cos - x1*sin
				v[b] = x0*sin + x1*cos
			}
		}
	}
}

// attention computes, for every token and query head, softmax(q·K/√d)·V over
// positions 0..pos of the token's sequence, into s.att.
func (r *Runner) attention(b *Batch, c *Cache, li int) {
	r.attnBatch, r.attnCache, r.attnLayer = b, c, li
	r.pool.ParallelFor(len(b.Tokens)*r.m.Config.KVHeads, r.attnFn)
	r.attnBatch, r.attnCache = nil, nil
}

// attend is the body of attention over jobs [lo, hi), a job being one
// (token, key/value head): the group of query heads that share the head
// attends together, reading each key and value row once. It borrows a
// score buffer for its chunk.
func (r *Runner) attend(lo, hi int) {
	cfg, s := r.m.Config, &r.s
	b, c := r.attnBatch, r.attnCache
	hd, kvDim, group := cfg.HeadDim, cfg.KVHeads*cfg.HeadDim, cfg.Heads/cfg.KVHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	keys, values := c.k[r.attnLayer], c.v[r.attnLayer]
	scores := <-s.scores
	defer func() { s.scores <- scores }()
	for job := lo; job < hi; job++ {
		i := job / cfg.KVHeads
		base := c.slot(int(b.Seq[i]), 0) + (job%cfg.KVHeads)*hd
		heads := s.q[job*group*hd : (job+1)*group*hd] // the group's query heads, in order
		tensor.Attend(s.att[job*group*hd:(job+1)*group*hd], heads, keys[base:], values[base:], hd, kvDim, int(b.Pos[i])+1, scale, scores)
	}
}

// rmsNorm normalises each dim-sized row of x into dst and scales it by w.
func rmsNorm(dst, x, w []float32, dim int, eps float32) {
	for off := 0; off < len(x); off += dim {
		tensor.RMSNorm(dst[off:off+dim], x[off:off+dim], w, eps)
	}
}

// addBias adds bias to every row of x.
func addBias(x, bias []float32) {
	for off := 0; off < len(x); off += len(bias) {
		row := x[off : off+len(bias)]
		tensor.Add(row, row, bias)
	}
}

// firstErr returns err if it is set, else next.
func firstErr(err, next error) error {
	if err != nil {
		return err
	}
	return next
}
