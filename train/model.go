// Package train trains Llama-architecture language models in float32 on the
// CPU: the forward and backward pass of the model (llama.go), the objectives
// built on it (next-token cross-entropy, DPO, a Bradley–Terry reward model),
// AdamW with global-norm clipping, and the learning-rate schedule. Parameters
// carry llama.cpp's GGUF tensor names, so a trained model is written as a GGUF
// file that inference reads like any other.
package train

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
)

// Config is the shape of a Llama-architecture model.
type Config struct {
	Dim      int     // embedding width (llama.embedding_length)
	Layers   int     // transformer blocks
	Heads    int     // query heads
	KVHeads  int     // key/value heads; Heads must be a multiple (grouped-query attention)
	HeadDim  int     // width of one head; even, for RoPE pairs
	Hidden   int     // FFN inner width (llama.feed_forward_length)
	Vocab    int     // tokens in the vocabulary
	SeqLen   int     // longest sequence the model is trained on
	NormEps  float64 // RMSNorm epsilon
	RopeBase float64 // RoPE frequency base (theta_i = base^(-2i/HeadDim))
}

// Validate reports the first inconsistency in the configuration.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"dim", c.Dim}, {"layers", c.Layers}, {"heads", c.Heads}, {"kv heads", c.KVHeads},
		{"head dim", c.HeadDim}, {"hidden", c.Hidden}, {"vocab", c.Vocab}, {"seq len", c.SeqLen}} {
		if f.v <= 0 {
			return fmt.Errorf("train: config: %s = %d, must be positive", f.name, f.v)
		}
	}
	if c.Heads%c.KVHeads != 0 {
		return fmt.Errorf("train: config: %d heads is not a multiple of %d kv heads", c.Heads, c.KVHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("train: config: head dim %d is odd; RoPE rotates pairs", c.HeadDim)
	}
	if !(c.NormEps > 0) || !(c.RopeBase > 0) {
		return fmt.Errorf("train: config: norm eps %g and rope base %g must be positive", c.NormEps, c.RopeBase)
	}
	return nil
}

// Head is what sits on top of the final norm.
type Head int

const (
	// LMHead is output.weight [Vocab, Dim]: next-token logits.
	LMHead Head = iota
	// RewardHead is reward_head.weight [1, Dim]: one scalar per position.
	RewardHead
)

// Tensor is one named parameter, a view into the flat storage of a Params.
type Tensor struct {
	Name  string    // GGUF name, e.g. "blk.0.attn_q.weight"
	Shape []int     // PyTorch order, outermost first: [out, in] for a linear layer
	Data  []float32 // row-major
}

// Decay reports whether AdamW applies weight decay to the tensor: every 2-D
// weight (embedding and head included), never the norm gains.
func (t *Tensor) Decay() bool { return len(t.Shape) == 2 }

// LayerParams are the tensors of one transformer block.
type LayerParams struct {
	AttnNorm, Wq, Wk, Wv, Wo []float32
	FFNNorm, Gate, Down, Up  []float32 // Gate = w1, Down = w2, Up = w3
}

// Params holds every parameter of a model (or a gradient of the same shape)
// in one flat slice, with named views into it.
type Params struct {
	Data    []float32 // all parameters, in Tensors order
	Tensors []Tensor
	Embed   []float32 // token_embd.weight [Vocab, Dim]
	Layers  []LayerParams
	OutNorm []float32 // output_norm.weight [Dim]
	Head    []float32 // output.weight [Vocab, Dim] or reward_head.weight [1, Dim]

	index map[string]int
}

// shapes lists the parameters of a model in llama.cpp's order.
func shapes(c Config, head Head) []Tensor {
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	ts := []Tensor{{Name: "token_embd.weight", Shape: []int{c.Vocab, c.Dim}}}
	for l := range c.Layers {
		p := fmt.Sprintf("blk.%d.", l)
		ts = append(ts,
			Tensor{Name: p + "attn_norm.weight", Shape: []int{c.Dim}},
			Tensor{Name: p + "attn_q.weight", Shape: []int{q, c.Dim}},
			Tensor{Name: p + "attn_k.weight", Shape: []int{kv, c.Dim}},
			Tensor{Name: p + "attn_v.weight", Shape: []int{kv, c.Dim}},
			Tensor{Name: p + "attn_output.weight", Shape: []int{c.Dim, q}},
			Tensor{Name: p + "ffn_norm.weight", Shape: []int{c.Dim}},
			Tensor{Name: p + "ffn_gate.weight", Shape: []int{c.Hidden, c.Dim}},
			Tensor{Name: p + "ffn_down.weight", Shape: []int{c.Dim, c.Hidden}},
			Tensor{Name: p + "ffn_up.weight", Shape: []int{c.Hidden, c.Dim}})
	}
	ts = append(ts, Tensor{Name: "output_norm.weight", Shape: []int{c.Dim}})
	if head == RewardHead {
		return append(ts, Tensor{Name: "reward_head.weight", Shape: []int{1, c.Dim}})
	}
	return append(ts, Tensor{Name: "output.weight", Shape: []int{c.Vocab, c.Dim}})
}

func newParams(c Config, head Head) *Params {
	ts := shapes(c, head)
	n := 0
	for _, t := range ts {
		n += elements(t.Shape)
	}
	p := &Params{Data: make([]float32, n), Tensors: ts, index: make(map[string]int, len(ts))}
	off := 0
	for i := range ts {
		size := elements(ts[i].Shape)
		ts[i].Data = p.Data[off : off+size : off+size]
		off += size
		p.index[ts[i].Name] = i
	}
	p.Embed = ts[0].Data
	for l := range c.Layers {
		t := ts[1+9*l:]
		p.Layers = append(p.Layers, LayerParams{
			AttnNorm: t[0].Data, Wq: t[1].Data, Wk: t[2].Data, Wv: t[3].Data, Wo: t[4].Data,
			FFNNorm: t[5].Data, Gate: t[6].Data, Down: t[7].Data, Up: t[8].Data,
		})
	}
	p.OutNorm = ts[len(ts)-2].Data
	p.Head = ts[len(ts)-1].Data
	return p
}

func elements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Lookup returns the tensor called name.
func (p *Params) Lookup(name string) (*Tensor, bool) {
	i, ok := p.index[name]
	if !ok {
		return nil, false
	}
	return &p.Tensors[i], true
}

// Zero sets every element to 0.
func (p *Params) Zero() { clear(p.Data) }

// Model is a Llama-architecture model being trained: its parameters and the
// gradient of the loss with respect to each of them.
type Model struct {
	Config Config
	Params *Params
	Grads  *Params // accumulated by Backward; Zero them before a new step
}

// New returns a model of the given shape with all parameters zero.
func New(c Config, head Head) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Model{Config: c, Params: newParams(c, head), Grads: newParams(c, head)}, nil
}

// Init fills the parameters like llama2.c and nanoGPT do: every 2-D weight
// from N(0, 0.02²), except the two projections that write into the residual
// stream (attn_output, ffn_down), which get std 0.02/sqrt(2·Layers) so the
// residual's variance does not grow with depth (GPT-2's scheme); norm gains
// are 1. The same seed gives the same parameters.
func (m *Model) Init(seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x6c6c6d6f73))
	resid := 0.02 / math.Sqrt(2*float64(m.Config.Layers))
	for _, t := range m.Params.Tensors {
		if !t.Decay() {
			for i := range t.Data {
				t.Data[i] = 1
			}
			continue
		}
		std := 0.02
		if strings.HasSuffix(t.Name, "attn_output.weight") || strings.HasSuffix(t.Name, "ffn_down.weight") {
			std = resid
		}
		for i := range t.Data {
			t.Data[i] = float32(std * r.NormFloat64())
		}
	}
}

// Load reads the parameters of a model of shape c from f, each tensor under
// prefix + its GGUF name (prefix is "" for a model file; fixtures use roles
// such as "param."). Every tensor must be F32 with exactly the expected shape.
func Load(f *gguf.File, c Config, head Head, prefix string) (*Model, error) {
	m, err := New(c, head)
	if err != nil {
		return nil, err
	}
	for _, t := range m.Params.Tensors {
		if err := ReadTensor(f, prefix+t.Name, t.Shape, t.Data); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ReadTensor copies the F32 tensor called name from f into dst, checking that
// its shape (PyTorch order) is shape.
func ReadTensor(f *gguf.File, name string, shape []int, dst []float32) error {
	ti, ok := f.Tensor(name)
	if !ok {
		return fmt.Errorf("train: tensor %q not found", name)
	}
	if ti.Type != tensor.F32 {
		return fmt.Errorf("train: tensor %q is %v, want F32", name, ti.Type)
	}
	if !sameShape(ti.Dims, shape) {
		return fmt.Errorf("train: tensor %q has ne %v, want shape %v (ne reversed)", name, ti.Dims, shape)
	}
	if len(ti.Data) != 4*len(dst) {
		return fmt.Errorf("train: tensor %q holds %d bytes, want %d", name, len(ti.Data), 4*len(dst))
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(ti.Data[4*i:]))
	}
	return nil
}

// sameShape compares GGUF ne (innermost first) with a PyTorch shape.
func sameShape(ne []int64, shape []int) bool {
	if len(ne) != len(shape) {
		return false
	}
	for i, d := range shape {
		if ne[len(ne)-1-i] != int64(d) {
			return false
		}
	}
	return true
}
