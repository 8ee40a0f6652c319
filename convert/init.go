package convert

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
)

// Shape is a Llama model's hyperparameters.
type Shape struct {
	Dim, Layers, Heads, KVHeads, FFN, Vocab, Context int
}

// Shapes are the named presets of Init: Karpathy's TinyStories models,
// TinyLlama and Llama 2.
var Shapes = map[string]Shape{
	"stories260K":    {Dim: 64, Layers: 5, Heads: 8, KVHeads: 4, FFN: 172, Vocab: 512, Context: 512},
	"stories15M":     {Dim: 288, Layers: 6, Heads: 6, KVHeads: 6, FFN: 768, Vocab: 32000, Context: 256},
	"stories110M":    {Dim: 768, Layers: 12, Heads: 12, KVHeads: 12, FFN: 2048, Vocab: 32000, Context: 1024},
	"tinyllama-1.1b": {Dim: 2048, Layers: 22, Heads: 32, KVHeads: 4, FFN: 5632, Vocab: 32000, Context: 2048},
	"llama2-7b":      {Dim: 4096, Layers: 32, Heads: 32, KVHeads: 32, FFN: 11008, Vocab: 32000, Context: 4096},
}

// ShapeNames lists the presets in sorted order, for help and errors.
func ShapeNames() []string {
	names := make([]string, 0, len(Shapes))
	for n := range Shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Validate reports whether s describes a buildable Llama model.
func (s Shape) Validate() error {
	switch {
	case s.Dim <= 0 || s.Layers <= 0 || s.Heads <= 0 || s.KVHeads <= 0 || s.FFN <= 0 || s.Vocab <= 0 || s.Context <= 0:
		return fmt.Errorf("convert: shape %+v: every size must be positive", s)
	case s.Dim%s.Heads != 0:
		return fmt.Errorf("convert: dim %d is not a multiple of %d heads", s.Dim, s.Heads)
	case s.Heads%s.KVHeads != 0:
		return fmt.Errorf("convert: %d heads are not a multiple of %d kv heads", s.Heads, s.KVHeads)
	case (s.Dim/s.Heads)%2 != 0:
		return fmt.Errorf("convert: head size %d is odd; rope needs pairs", s.Dim/s.Heads)
	}
	return nil
}

// InitOptions configures Init.
type InitOptions struct {
	Shape Shape
	// Type is the type of the 2-D weights; where a row does not split into
	// its blocks, llama-quantize's fallback type is used instead. 1-D
	// (norm) weights are always F32.
	Type tensor.Type
	// Tokenizer, if set, supplies the tokenizer.* metadata; its vocabulary
	// must have Shape.Vocab tokens. Nil means a synthetic SentencePiece
	// vocabulary (see SyntheticVocab).
	Tokenizer *gguf.File
	Seed      uint64
	Name      string // general.name; empty means "llmos-init"
}

// Init writes a freshly initialised Llama model to path: every 2-D weight
// drawn from a normal distribution with standard deviation 0.02 (seeded, so
// the same options give the same file), norm weights 1, with llama.cpp's
// metadata keys. It streams tensor by tensor, so memory is bounded by the
// largest tensor, not the model.
func Init(path string, o InitOptions) error {
	s := o.Shape
	if err := s.Validate(); err != nil {
		return err
	}
	ftype, ok := fileTypeOf(o.Type)
	if !ok {
		return fmt.Errorf("convert: init: type %s has no llama.cpp file type", o.Type)
	}
	w := gguf.NewWriter()
	name := o.Name
	if name == "" {
		name = "llmos-init"
	}
	headDim := s.Dim / s.Heads
	w.Set("general.architecture", "llama")
	w.Set("general.name", name)
	w.Set("llama.context_length", uint32(s.Context))
	w.Set("llama.embedding_length", uint32(s.Dim))
	w.Set("llama.block_count", uint32(s.Layers))
	w.Set("llama.feed_forward_length", uint32(s.FFN))
	w.Set("llama.attention.head_count", uint32(s.Heads))
	w.Set("llama.attention.head_count_kv", uint32(s.KVHeads))
	w.Set("llama.rope.dimension_count", uint32(headDim))
	w.Set("llama.rope.freq_base", float32(10000))
	w.Set("llama.attention.layer_norm_rms_epsilon", float32(1e-5))
	w.Set("general.file_type", ftype)
	w.Set("general.quantization_version", uint32(2))
	if err := setTokenizer(w, o.Tokenizer, s.Vocab); err != nil {
		return err
	}

	kvDim := s.KVHeads * headDim
	var plans []plan
	add := func(name string, dims ...int64) error {
		typ := initType(o.Type, dims)
		fill := normFill(len(plans), o.Seed, typ, dims)
		if len(dims) == 1 {
			fill = onesFill(typ)
		}
		p, err := newPlan(name, typ, dims, fill)
		plans = append(plans, p)
		return err
	}
	d, f, v, kv := int64(s.Dim), int64(s.FFN), int64(s.Vocab), int64(kvDim)
	err := add("token_embd.weight", d, v)
	for l := 0; l < s.Layers && err == nil; l++ {
		b := fmt.Sprintf("blk.%d.", l)
		for _, t := range []struct {
			name string
			dims []int64
		}{
			{"attn_norm.weight", []int64{d}},
			{"attn_q.weight", []int64{d, d}},
			{"attn_k.weight", []int64{d, kv}},
			{"attn_v.weight", []int64{d, kv}},
			{"attn_output.weight", []int64{d, d}},
			{"ffn_norm.weight", []int64{d}},
			{"ffn_gate.weight", []int64{d, f}},
			{"ffn_up.weight", []int64{d, f}},
			{"ffn_down.weight", []int64{f, d}},
		} {
			if err = add(b+t.name, t.dims...); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = add("output_norm.weight", d)
	}
	if err == nil {
		err = add("output.weight", d, v)
	}
	if err != nil {
		return err
	}
	if err := writeStreaming(path, w, gguf.DefaultAlignment, plans); err != nil {
		return fmt.Errorf("convert: init %s: %w", path, err)
	}
	return nil
}

// initType returns the type a tensor of shape dims gets when the model
// type is typ: F32 for 1-D tensors, else typ or, when the rows do not split
// into typ's blocks, llama-quantize's fallback.
func initType(typ tensor.Type, dims []int64) tensor.Type {
	if len(dims) < 2 {
		return tensor.F32
	}
	return fallback(typ, dims[0])
}

// normFill fills a tensor with N(0, 0.02²) values from a generator seeded by
// (seed, tensor index, row chunk), so the values do not depend on how many
// goroutines generate them.
func normFill(index int, seed uint64, typ tensor.Type, dims []int64) func([]byte) error {
	cols, rows := int(dims[0]), 1
	for _, d := range dims[1:] {
		rows *= int(d)
	}
	return func(dst []byte) error {
		rowBytes := len(dst) / rows
		const chunk = 64 // rows per generator
		return parallelRows((rows+chunk-1)/chunk, func(lo, hi int) error {
			x := make([]float32, chunk*cols)
			for c := lo; c < hi; c++ {
				r0, r1 := c*chunk, min(c*chunk+chunk, rows)
				rng := rand.New(rand.NewPCG(seed^uint64(index)<<32, uint64(c)))
				vals := x[:(r1-r0)*cols]
				for i := range vals {
					vals[i] = float32(0.02 * rng.NormFloat64())
				}
				if err := tensor.Quantize(typ, vals, dst[r0*rowBytes:r1*rowBytes]); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

func onesFill(typ tensor.Type) func([]byte) error {
	return func(dst []byte) error {
		ones := make([]float32, len(dst)/typ.TypeSize()*typ.BlockSize())
		for i := range ones {
			ones[i] = 1
		}
		return tensor.Quantize(typ, ones, dst)
	}
}

// setTokenizer copies tok's tokenizer.* metadata into w, or writes the
// synthetic vocabulary when tok is nil.
func setTokenizer(w *gguf.Writer, tok *gguf.File, vocab int) error {
	if tok == nil {
		tokens, scores, types := SyntheticVocab(vocab)
		if tokens == nil {
			return fmt.Errorf("convert: a synthetic vocabulary needs at least %d tokens, have %d; pass a tokenizer", 3+256+1, vocab)
		}
		w.Set("tokenizer.ggml.model", "llama")
		w.Set("tokenizer.ggml.tokens", tokens)
		w.Set("tokenizer.ggml.scores", scores)
		w.Set("tokenizer.ggml.token_type", types)
		w.Set("tokenizer.ggml.unknown_token_id", uint32(0))
		w.Set("tokenizer.ggml.bos_token_id", uint32(1))
		w.Set("tokenizer.ggml.eos_token_id", uint32(2))
		w.Set("tokenizer.ggml.add_bos_token", true)
		w.Set("tokenizer.ggml.add_eos_token", false)
		return nil
	}
	toks, ok := tok.Strings("tokenizer.ggml.tokens")
	if !ok {
		return fmt.Errorf("convert: tokenizer file has no tokenizer.ggml.tokens")
	}
	if len(toks) != vocab {
		return fmt.Errorf("convert: tokenizer has %d tokens but the shape's vocabulary is %d", len(toks), vocab)
	}
	for _, kv := range tok.KV {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			w.Set(kv.Key, kv.Value)
		}
	}
	return nil
}

// SyntheticVocab returns a SentencePiece ("llama") vocabulary of n tokens
// for models without a real tokenizer: <unk>, <s>, </s>, the 256 byte
// tokens <0x00>..<0xFF>, then "▁"-prefixed filler pieces ("▁a", "▁b", …,
// "▁aa", …) with descending scores. Text tokenizes mostly to bytes, which
// is what an untrained model needs for benchmarks and training starts. It
// returns nils when n leaves no room for one filler piece.
func SyntheticVocab(n int) (tokens []string, scores []float32, types []int32) {
	const fixed = 3 + 256
	if n <= fixed {
		return nil, nil, nil
	}
	tokens = append(make([]string, 0, n), "<unk>", "<s>", "</s>")
	types = append(make([]int32, 0, n), 2, 3, 3) // unknown, control, control
	for b := range 256 {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, 6) // byte
	}
	for i := 0; len(tokens) < n; i++ {
		tokens = append(tokens, "▁"+piece(i))
		types = append(types, 1) // normal
	}
	scores = make([]float32, n)
	for i := fixed; i < n; i++ {
		scores[i] = -float32(i - fixed)
	}
	return tokens, scores, types
}

// piece returns the i-th string over a..z in length-then-lexical order.
func piece(i int) string {
	length, count := 1, 26
	for i >= count {
		i -= count
		length++
		count = int(math.Pow(26, float64(length)))
	}
	b := make([]byte, length)
	for k := length - 1; k >= 0; k-- {
		b[k] = byte('a' + i%26)
		i /= 26
	}
	return string(b)
}
