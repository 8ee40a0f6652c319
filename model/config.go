// Package model holds the transformer architectures llmos runs and their
// inference forward pass over a KV cache. Weights stay in the mapped GGUF
// file; the forward pass reads them through tensor kernels.
package model

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/llmos/llmos/gguf"
)

// Config is an architecture's hyperparameters, read from GGUF metadata.
type Config struct {
	Arch        string  // general.architecture
	Name        string  // general.name, if any
	Dim         int     // embedding length
	Layers      int     // block count
	Heads       int     // query heads
	KVHeads     int     // key/value heads (grouped-query attention)
	HeadDim     int     // per-head size of queries and keys
	FFN         int     // feed-forward hidden size
	Vocab       int     // vocabulary size (rows of token_embd)
	ContextLen  int     // training context length
	RopeBase    float32 // rope frequency base
	RopeDim     int     // dimensions rotated per head (n_rot)
	RopeNeox    bool    // rotate (i, i+n/2) pairs instead of adjacent ones
	RopeScale   float32 // linear rope scaling: positions are multiplied by this
	NormEps     float32 // RMSNorm epsilon
	QKVBias     bool    // q/k/v projections carry biases (qwen2)
	TiedOutput  bool    // no output.weight: token_embd is the LM head
	HasRopeFreq bool    // rope_freqs.weight divides the frequencies (Llama 3.1+)
}

// arch describes what differs between the architectures of the llama family.
type arch struct {
	ropeNeox bool
	qkvBias  bool
}

// architectures lists the supported values of general.architecture.
var architectures = map[string]arch{
	"llama": {},
	"qwen2": {ropeNeox: true, qkvBias: true},
}

// Supported returns the supported architecture names, sorted.
func Supported() []string {
	var names []string
	for n := range architectures {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ConfigFromGGUF reads the configuration of the model in f.
func ConfigFromGGUF(f *gguf.File) (Config, error) {
	var c Config
	name, ok := f.String("general.architecture")
	if !ok {
		return c, fmt.Errorf("model: key \"general.architecture\" missing (supported: %s)", strings.Join(Supported(), ", "))
	}
	a, ok := architectures[name]
	if !ok {
		return c, fmt.Errorf("model: unsupported architecture %q (supported: %s)", name, strings.Join(Supported(), ", "))
	}
	c.Arch = name
	c.Name, _ = f.String("general.name")
	c.RopeNeox, c.QKVBias = a.ropeNeox, a.qkvBias
	var err error
	geti := func(key string, def int, required bool) int {
		if err != nil {
			return 0
		}
		v, ok := f.Uint(name + "." + key)
		if !ok {
			if _, present := f.Get(name + "." + key); present {
				err = fmt.Errorf("model: key %q is not a non-negative integer", name+"."+key)
			} else if required {
				err = fmt.Errorf("model: key %q missing", name+"."+key)
			}
			return def
		}
		if v > 1<<24 {
			err = fmt.Errorf("model: key %q = %d is out of range", name+"."+key, v)
			return 0
		}
		return int(v)
	}
	getf := func(key string, def float64) float32 {
		v, ok := f.Float(name + "." + key)
		if !ok {
			return float32(def)
		}
		return float32(v)
	}
	c.Dim = geti("embedding_length", 0, true)
	c.Layers = geti("block_count", 0, true)
	c.Heads = geti("attention.head_count", 0, true)
	c.KVHeads = geti("attention.head_count_kv", c.Heads, false)
	c.FFN = geti("feed_forward_length", 0, true)
	c.ContextLen = geti("context_length", 2048, false)
	if err != nil {
		return c, err
	}
	if c.Heads == 0 || c.KVHeads == 0 || c.Heads%c.KVHeads != 0 {
		return c, fmt.Errorf("model: %d query heads cannot share %d kv heads", c.Heads, c.KVHeads)
	}
	c.HeadDim = geti("attention.key_length", c.Dim/c.Heads, false)
	if v := geti("attention.value_length", c.HeadDim, false); v != c.HeadDim {
		return c, fmt.Errorf("model: value head size %d differs from key head size %d (not supported)", v, c.HeadDim)
	}
	c.RopeDim = geti("rope.dimension_count", c.HeadDim, false)
	if err != nil {
		return c, err
	}
	if c.HeadDim == 0 || c.RopeDim > c.HeadDim || c.RopeDim%2 != 0 {
		return c, fmt.Errorf("model: rope dimension %d does not fit head size %d", c.RopeDim, c.HeadDim)
	}
	c.RopeBase = getf("rope.freq_base", 10000)
	c.NormEps = getf("attention.layer_norm_rms_epsilon", 1e-5)
	c.RopeScale = 1
	if typ, ok := f.String(name + ".rope.scaling.type"); ok && typ != "none" {
		if typ != "linear" {
			return c, fmt.Errorf("model: rope scaling %q is not supported (supported: none, linear)", typ)
		}
		if factor := getf("rope.scaling.factor", 1); factor > 0 {
			c.RopeScale = 1 / factor
		}
	} else if factor := getf("rope.scale_linear", 1); factor > 0 && factor != 1 {
		c.RopeScale = 1 / factor
	}
	if math.IsNaN(float64(c.RopeBase)) || c.RopeBase <= 0 {
		return c, fmt.Errorf("model: rope base %v is not positive", c.RopeBase)
	}
	return c, nil
}

// Params returns the number of parameters of a model with this configuration.
func (c Config) Params() int64 {
	d, kv := int64(c.Dim), int64(c.KVHeads*c.HeadDim)
	q := int64(c.Heads * c.HeadDim)
	perLayer := 2*d + d*q + 2*d*kv + q*d + 3*d*int64(c.FFN)
	if c.QKVBias {
		perLayer += q + 2*kv
	}
	n := int64(c.Vocab)*d + d + int64(c.Layers)*perLayer
	if !c.TiedOutput {
		n += int64(c.Vocab) * d
	}
	return n
}
