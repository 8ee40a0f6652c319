package train

import (
	"fmt"
	"strconv"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
)

// AddTo adds the model to w as a llama.cpp "llama" model: the llama.*
// hyperparameters and every parameter as an F32 tensor under its GGUF name.
// The caller adds tokenizer metadata and writes the file.
func (m *Model) AddTo(w *gguf.Writer) {
	m.addTensors(w, func(Tensor) (tensor.Type, []byte, error) { return tensor.F32, nil, nil })
}

// AddToAs is AddTo with every 2-D weight stored as typ (quantized through
// tensor.Quantize) when its rows are a whole number of typ's blocks, and in
// F32 otherwise (llama.cpp's quantizer also leaves such tensors alone); the
// norm gains stay F32.
func (m *Model) AddToAs(w *gguf.Writer, typ tensor.Type) error {
	if !typ.Known() {
		return fmt.Errorf("train: export: unknown tensor type %v", typ)
	}
	var err error
	m.addTensors(w, func(t Tensor) (tensor.Type, []byte, error) {
		if typ == tensor.F32 || len(t.Shape) != 2 || t.Shape[1]%typ.BlockSize() != 0 {
			return tensor.F32, nil, nil
		}
		size, _ := tensor.RowBytes(typ, int64(len(t.Data)))
		b := make([]byte, size)
		if qerr := tensor.Quantize(typ, t.Data, b); qerr != nil {
			err = fmt.Errorf("train: export %s: %w", t.Name, qerr)
		}
		return typ, b, err
	})
	return err
}

// addTensors writes the metadata and each tensor as encode says (a nil
// byte slice means F32).
func (m *Model) addTensors(w *gguf.Writer, encode func(Tensor) (tensor.Type, []byte, error)) {
	c := m.Config
	w.Set("general.architecture", "llama")
	for key, v := range map[string]int{
		"context_length": c.SeqLen, "embedding_length": c.Dim, "block_count": c.Layers,
		"feed_forward_length": c.Hidden, "attention.head_count": c.Heads,
		"attention.head_count_kv": c.KVHeads, "attention.key_length": c.HeadDim,
		"attention.value_length": c.HeadDim, "rope.dimension_count": c.HeadDim, "vocab_size": c.Vocab,
	} {
		w.Set("llama."+key, uint32(v))
	}
	w.Set("llama.rope.freq_base", float32(c.RopeBase))
	w.Set("llama.attention.layer_norm_rms_epsilon", float32(c.NormEps))
	for _, t := range m.Params.Tensors {
		typ, data, err := encode(t)
		if err != nil {
			return
		}
		if data == nil {
			typ, data = tensor.F32, f32Bytes(t.Data)
		}
		w.AddTensor(t.Name, typ, ne(t.Shape), data)
	}
}

// LoadGGUF reads a "llama" model file of any tensor types (F32, F16,
// quantized: dequantized to f32) for training. A file without
// output.weight ties the head to the embedding, as llama.cpp does; training
// then unties them.
func LoadGGUF(f *gguf.File) (*Model, error) {
	c, err := ConfigFromGGUF(f)
	if err != nil {
		return nil, err
	}
	m, err := New(c, LMHead)
	if err != nil {
		return nil, err
	}
	for _, t := range m.Params.Tensors {
		ti, ok := f.Tensor(t.Name)
		if !ok && t.Name == "output.weight" {
			ti, ok = f.Tensor("token_embd.weight")
		}
		if !ok {
			return nil, fmt.Errorf("train: tensor %q not found", t.Name)
		}
		if !sameShape(ti.Dims, t.Shape) {
			return nil, fmt.Errorf("train: tensor %q has ne %v, want shape %v (ne reversed)", ti.Name, ti.Dims, t.Shape)
		}
		if err := tensor.Dequantize(ti.Type, ti.Data, t.Data); err != nil {
			return nil, fmt.Errorf("train: tensor %q: %w", ti.Name, err)
		}
	}
	return m, nil
}

// ConfigFromGGUF reads the shape of a "llama" model from f's llama.*
// metadata, as AddTo and llama.cpp's converters write it. The vocabulary
// size comes from token_embd.weight when llama.vocab_size is absent.
func ConfigFromGGUF(f *gguf.File) (Config, error) {
	if arch, _ := f.String("general.architecture"); arch != "llama" {
		return Config{}, fmt.Errorf("train: general.architecture is %q, want \"llama\"", arch)
	}
	var err error
	get := func(key string, def int) int {
		v, ok := f.Uint("llama." + key)
		switch {
		case ok && v <= 1<<24:
			return int(v)
		case ok:
			err = fmt.Errorf("train: llama.%s = %d is out of range", key, v)
		case def < 0:
			err = fmt.Errorf("train: llama.%s missing", key)
		}
		return def
	}
	var c Config
	c.Dim = get("embedding_length", -1)
	c.Layers = get("block_count", -1)
	c.Hidden = get("feed_forward_length", -1)
	c.Heads = get("attention.head_count", -1)
	c.KVHeads = get("attention.head_count_kv", c.Heads)
	c.SeqLen = get("context_length", -1)
	if err != nil {
		return Config{}, err
	}
	if c.Heads > 0 {
		c.HeadDim = get("attention.key_length", c.Dim/c.Heads)
	}
	vocab := -1
	if t, ok := f.Tensor("token_embd.weight"); ok && len(t.Dims) == 2 {
		vocab = int(t.Dims[1])
	}
	c.Vocab = get("vocab_size", vocab)
	c.RopeBase, c.NormEps = 10000, 1e-5
	if v, ok := f.Float("llama.rope.freq_base"); ok {
		c.RopeBase = shortestDecimal(v)
	}
	if v, ok := f.Float("llama.attention.layer_norm_rms_epsilon"); ok {
		c.NormEps = shortestDecimal(v)
	}
	if err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// shortestDecimal returns the shortest decimal that rounds to the float32
// v: metadata stores 1e-5 as the f32 nearest to it, and the model should
// compute with 1e-5 itself.
func shortestDecimal(v float64) float64 {
	d, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', -1, 32), 64)
	if err != nil { // unreachable: FormatFloat writes a valid number
		return v
	}
	return d
}
