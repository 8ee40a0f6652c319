// Package engine is where generation happens: it opens a model file, holds
// the model, tokenizer and thread pool, and runs the loop prompt → forward
// pass → sample → stream for sessions whose KV cache persists between turns.
package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/model"
	"github.com/llmos/llmos/sample"
	"github.com/llmos/llmos/tensor"
	"github.com/llmos/llmos/tokenizer"
)

// Options configures Open. The zero value uses the defaults.
type Options struct {
	// Threads is the number of compute threads; <= 0 means one per
	// physical core (tensor.PhysicalCores).
	Threads int
	// Context is the KV cache length in tokens; <= 0 means the model's
	// training context, capped at DefaultMaxContext.
	Context int
}

// DefaultMaxContext caps the default context so a model trained on long
// contexts does not allocate a huge KV cache unasked.
const DefaultMaxContext = 4096

// Engine is an opened model: file, weights, tokenizer and thread pool.
type Engine struct {
	File      *gguf.File
	Model     *model.Model
	Tokenizer *tokenizer.Tokenizer
	Pool      *tensor.Pool
	Context   int
}

// Open loads the GGUF model at path.
func Open(path string, opts Options) (*Engine, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	e, err := New(f, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

// New builds an Engine over an opened file, which the Engine then owns.
func New(f *gguf.File, opts Options) (*Engine, error) {
	m, err := model.Load(f)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, err
	}
	if tok.VocabSize() != m.Config.Vocab {
		return nil, fmt.Errorf("engine: tokenizer has %d tokens but the model's embedding has %d rows", tok.VocabSize(), m.Config.Vocab)
	}
	ctx := opts.Context
	if ctx <= 0 {
		ctx = min(m.Config.ContextLen, DefaultMaxContext)
	}
	return &Engine{File: f, Model: m, Tokenizer: tok, Pool: tensor.NewPool(opts.Threads), Context: ctx}, nil
}

// Close releases the pool and unmaps the file.
func (e *Engine) Close() error {
	e.Pool.Close()
	return e.File.Close()
}

// Session is one conversation: a KV cache and the tokens it holds. Each
// Generate call reuses the cached prefix it shares with the new prompt.
// A Session is not safe for concurrent use.
type Session struct {
	e      *Engine
	runner *model.Runner
	cache  *model.Cache
	tokens []int32 // tokens whose keys and values are in the cache
	batch  model.Batch
	logits []float32
}

// NewSession allocates a session with a KV cache of the engine's context.
func (e *Engine) NewSession() (*Session, error) {
	c, err := e.Model.NewCache(1, e.Context)
	if err != nil {
		return nil, err
	}
	return &Session{e: e, runner: e.Model.NewRunner(e.Pool), cache: c, logits: make([]float32, e.Model.Config.Vocab)}, nil
}

// Reset forgets the cached tokens.
func (s *Session) Reset() { s.tokens = s.tokens[:0] }

// Request is one generation.
type Request struct {
	Prompt    []int32        // prompt token ids, BOS included if wanted
	MaxTokens int            // most tokens to generate; <= 0 means until the context is full
	Sampling  sample.Params  // sampling parameters (zero value: greedy)
	Stop      []string       // stop strings; the text ends before the first one
	IgnoreEOS bool           // keep generating past end-of-generation tokens
	OnToken   func(id int32) // called with each generated id, if set
}

// Result is what a generation produced.
type Result struct {
	PromptTokens int
	Tokens       []int32 // generated ids, the stopping token excluded
	Text         string  // generated text, up to any stop string
	StopReason   string  // "stop" (end-of-generation token or stop string), "length", or "cancelled"
}

// ErrContext is wrapped when a prompt does not fit the context.
var ErrContext = errors.New("prompt does not fit the context")

// Prefill runs prompt through the model in batches, reusing the cached
// prefix, and leaves the logits of its last token in s.logits.
func (s *Session) prefill(prompt []int32) error {
	ctxLen := s.cache.Context
	if len(prompt) == 0 {
		return fmt.Errorf("engine: empty prompt")
	}
	if len(prompt) > ctxLen {
		return fmt.Errorf("engine: %w: prompt of %d tokens, context of %d", ErrContext, len(prompt), ctxLen)
	}
	// Keep the common prefix, but always recompute the last prompt token
	// so its logits are fresh.
	keep := 0
	for keep < len(s.tokens) && keep < len(prompt)-1 && s.tokens[keep] == prompt[keep] {
		keep++
	}
	s.tokens = append(s.tokens[:keep], prompt[keep:]...)
	const batchSize = 512
	for start := keep; start < len(prompt); start += batchSize {
		end := min(start+batchSize, len(prompt))
		s.batch.Reset()
		for i := start; i < end; i++ {
			s.batch.Add(prompt[i], i, 0, i == len(prompt)-1)
		}
		if err := s.runner.Forward(&s.batch, s.cache, s.logits); err != nil {
			s.tokens = s.tokens[:start]
			return err
		}
	}
	return nil
}

// step feeds one token at the end of the cached sequence.
func (s *Session) step(id int32) error {
	s.batch.Reset()
	s.batch.Add(id, len(s.tokens), 0, true)
	if err := s.runner.Forward(&s.batch, s.cache, s.logits); err != nil {
		return err
	}
	s.tokens = append(s.tokens, id)
	return nil
}

// Logits runs prompt and returns a copy of the logits of its last token.
func (s *Session) Logits(prompt []int32) ([]float32, error) {
	if err := s.prefill(prompt); err != nil {
		return nil, err
	}
	return append([]float32(nil), s.logits...), nil
}

// Generate runs req, calling emit with each piece of text as soon as it is
// safe to show (complete UTF-8, not part of a possible stop string). It
// stops at an end-of-generation token, a stop string, MaxTokens, the end of
// the context, an error from emit, or ctx's cancellation (StopReason
// "cancelled", no error).
func (s *Session) Generate(ctx context.Context, req Request, emit func(string) error) (Result, error) {
	res := Result{PromptTokens: len(req.Prompt)}
	if err := req.Sampling.Validate(); err != nil {
		return res, err
	}
	if err := s.prefill(req.Prompt); err != nil {
		return res, err
	}
	tok := s.e.Tokenizer
	sampler := sample.New(req.Sampling, s.e.Model.Config.Vocab)
	stops := sample.NewStopMatcher(req.Stop)
	dec := tok.NewStreamDecoder()
	var text []byte
	out := func(piece string) error {
		text = append(text, piece...)
		if emit != nil && piece != "" {
			return emit(piece)
		}
		return nil
	}
	limit := s.cache.Context - len(req.Prompt)
	if req.MaxTokens > 0 {
		limit = min(limit, req.MaxTokens)
	}
	res.StopReason = "length"
	for n := 0; n < limit; n++ {
		if ctx.Err() != nil {
			res.StopReason = "cancelled"
			break
		}
		id := sampler.Sample(s.logits, s.tokens)
		if tok.IsEOG(id) && !req.IgnoreEOS {
			res.StopReason = "stop"
			break
		}
		res.Tokens = append(res.Tokens, id)
		if req.OnToken != nil {
			req.OnToken(id)
		}
		var piece string
		if !tok.IsControl(id) { // control tokens have no text, as in llama.cpp's output
			piece = dec.Add(id)
		}
		piece, stopped := stops.Feed(piece)
		if err := out(piece); err != nil {
			return res, err
		}
		if stopped {
			res.StopReason = "stop"
			break
		}
		if n+1 < limit { // the last id need not be run: nothing follows it
			if err := s.step(id); err != nil {
				return res, err
			}
		}
	}
	if stops.Matched() == "" {
		piece, _ := stops.Feed(dec.Flush())
		if err := out(piece + stops.Flush()); err != nil {
			return res, err
		}
	}
	res.Text = string(text)
	return res, nil
}
