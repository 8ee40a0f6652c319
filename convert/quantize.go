package convert

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
)

// FileType is a llama.cpp file type (llama_ftype): the default tensor type
// of a model plus, for the mixes, per-tensor exceptions.
type FileType struct {
	Name    string      // as llama-quantize spells it: "Q4_K_M"
	ID      uint32      // general.file_type
	Default tensor.Type // the type of most 2-D weights
}

// fileTypes are the llama_ftype values Quantize writes.
var fileTypes = []FileType{
	{"F32", 0, tensor.F32},
	{"F16", 1, tensor.F16},
	{"Q4_0", 2, tensor.Q4_0},
	{"Q4_1", 3, tensor.Q4_1},
	{"Q8_0", 7, tensor.Q8_0},
	{"Q5_0", 8, tensor.Q5_0},
	{"Q5_1", 9, tensor.Q5_1},
	{"Q2_K", 10, tensor.Q2_K},
	{"Q3_K_M", 12, tensor.Q3_K},
	{"Q4_K_M", 15, tensor.Q4_K},
	{"Q5_K_M", 17, tensor.Q5_K},
	{"Q6_K", 18, tensor.Q6_K},
	{"BF16", 32, tensor.BF16},
}

// aliases are llama-quantize's short names for the mixes.
var aliases = map[string]string{"Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M"}

// FileTypeNames lists the names ParseFileType accepts.
func FileTypeNames() []string {
	var names []string
	for _, f := range fileTypes {
		names = append(names, f.Name)
	}
	for a := range aliases {
		names = append(names, a)
	}
	return names
}

// ParseFileType returns the file type named s (case-insensitive; Q3_K, Q4_K
// and Q5_K mean the _M mixes, as in llama-quantize).
func ParseFileType(s string) (FileType, error) {
	name := strings.ToUpper(s)
	if a, ok := aliases[name]; ok {
		name = a
	}
	for _, f := range fileTypes {
		if f.Name == name {
			return f, nil
		}
	}
	return FileType{}, fmt.Errorf("convert: unknown type %q (known: %s)", s, strings.Join(FileTypeNames(), ", "))
}

// fileTypeOf returns the general.file_type of a model whose weights are all
// of type t: the plain type's own, or for the k-quants the closest "_S"
// ftype, which is how llama.cpp labels nearly uniform k-quant files.
func fileTypeOf(t tensor.Type) (uint32, bool) {
	switch t {
	case tensor.Q3_K:
		return 11, true // Q3_K_S
	case tensor.Q4_K:
		return 14, true // Q4_K_S
	case tensor.Q5_K:
		return 16, true // Q5_K_S
	}
	for _, f := range fileTypes {
		if f.Default == t {
			return f.ID, true
		}
	}
	return 0, false
}

// fallback is llama-quantize's tensor_type_fallback: the type used when a
// row of cols elements does not split into t's blocks.
func fallback(t tensor.Type, cols int64) tensor.Type {
	if cols%int64(t.BlockSize()) == 0 {
		return t
	}
	switch t {
	case tensor.Q2_K, tensor.Q3_K:
		t = tensor.Q4_0
	case tensor.Q4_K:
		t = tensor.Q5_0
	case tensor.Q5_K:
		t = tensor.Q5_1
	case tensor.Q6_K:
		t = tensor.Q8_0
	}
	if cols%int64(t.BlockSize()) != 0 {
		return tensor.F16
	}
	return t
}

// mixer chooses each tensor's type as llama-quantize's
// llama_tensor_get_type does for Llama-family models without experts or an
// importance matrix; it counts attn_v and ffn_down tensors as it goes, so
// tensors must be presented in file order.
type mixer struct {
	ft              FileType
	nLayers, gqa    int
	tied            bool
	iAttnV, nAttnV  int
	iFFNDown        int
	quantizedSource bool
}

func newMixer(f *gguf.File, ft FileType) *mixer {
	m := &mixer{ft: ft, tied: true}
	arch, _ := f.String("general.architecture")
	layers, _ := f.Uint(arch + ".block_count")
	heads, _ := f.Uint(arch + ".attention.head_count")
	kv, ok := f.Uint(arch + ".attention.head_count_kv")
	if !ok || kv == 0 {
		kv = heads
	}
	m.nLayers, m.gqa = int(layers), 1
	if kv > 0 {
		m.gqa = int(heads / kv)
	}
	for _, t := range f.Tensors {
		switch {
		case t.Name == "output.weight":
			m.tied = false
		case strings.HasSuffix(t.Name, "attn_v.weight"):
			m.nAttnV++
		}
	}
	return m
}

// quantizable is llama-quantize's tensor_allows_quantization for Llama
// models: 2-D (or more) weights other than norms.
func quantizable(t *gguf.TensorInfo) bool {
	return len(t.Dims) >= 2 && strings.HasSuffix(t.Name, "weight") && !strings.Contains(t.Name, "_norm.weight")
}

// useMoreBits is llama-quantize's use_more_bits: the first and last eighth
// of the layers and every third one between.
func useMoreBits(i, n int) bool {
	return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
}

// typeFor returns t's output type.
func (m *mixer) typeFor(t *gguf.TensorInfo) tensor.Type {
	if !quantizable(t) {
		return t.Type
	}
	typ := m.ft.Default
	if !isQuantized(typ) {
		return typ
	}
	name, cols := t.Name, t.Dims[0]
	switch {
	case name == "output.weight" || (m.tied && name == "token_embd.weight"):
		if cols%int64(typ.BlockSize()) != 0 {
			typ = tensor.Q8_0
		} else if typ != tensor.Q8_0 {
			typ = tensor.Q6_K
		}
	case name == "token_embd.weight":
	case strings.HasSuffix(name, "attn_v.weight"):
		switch m.ft.Name {
		case "Q2_K":
			typ = tensor.Q3_K
			if m.gqa >= 4 {
				typ = tensor.Q4_K
			}
		case "Q3_K_M":
			typ = tensor.Q4_K
			if m.iAttnV < 2 {
				typ = tensor.Q5_K
			}
		case "Q4_K_M", "Q5_K_M":
			if useMoreBits(m.iAttnV, m.nAttnV) {
				typ = tensor.Q6_K
			}
		}
		m.iAttnV++
	case strings.HasSuffix(name, "ffn_down.weight"):
		i := layerOf(name, m.iFFNDown)
		switch m.ft.Name {
		case "Q2_K":
			typ = tensor.Q3_K
		case "Q3_K_M":
			typ = tensor.Q4_K
			if i < m.nLayers/16 {
				typ = tensor.Q5_K
			}
		case "Q4_K_M", "Q5_K_M":
			if useMoreBits(i, m.nLayers) {
				typ = tensor.Q6_K
			}
		}
		m.iFFNDown++
	case strings.HasSuffix(name, "attn_output.weight"):
		switch m.ft.Name {
		case "Q2_K":
			typ = tensor.Q3_K
		case "Q3_K_M":
			typ = tensor.Q4_K
		}
	}
	return fallback(typ, cols)
}

// layerOf returns N of a "blk.N." tensor name, or def.
func layerOf(name string, def int) int {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return def
	}
	n, err := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, '.'))])
	if err != nil {
		return def
	}
	return n
}

func isQuantized(t tensor.Type) bool { return t.BlockSize() > 1 }

// Quantize writes src's model to path with its weights converted to ft as
// llama-quantize converts them: 1-D tensors keep their type, output.weight
// (and token_embd when tied) becomes Q6_K for the quantized types other than
// Q8_0, the _K_M mixes give some attn_v and ffn_down tensors more bits, and
// rows that do not split into a type's blocks fall back as llama.cpp does.
// Each tensor is dequantized to float32 and quantized with tensor.Quantize,
// one at a time (memory is bounded by the largest tensor).
func Quantize(src *gguf.File, path string, ft FileType) error {
	w := gguf.NewWriter()
	w.CopyKV(src)
	w.Set("general.file_type", ft.ID)
	w.Set("general.quantization_version", uint32(2))
	m := newMixer(src, ft)
	plans := make([]plan, 0, len(src.Tensors))
	for i := range src.Tensors {
		t := &src.Tensors[i]
		typ := m.typeFor(t)
		p, err := newPlan(t.Name, typ, t.Dims, convertFill(t, typ))
		if err != nil {
			return err
		}
		plans = append(plans, p)
	}
	if err := writeStreaming(path, w, src.Alignment, plans); err != nil {
		return fmt.Errorf("convert: quantize to %s: %w", path, err)
	}
	return nil
}

// convertFill returns a fill converting t's data to typ, row by row in
// parallel.
func convertFill(t *gguf.TensorInfo, typ tensor.Type) func([]byte) error {
	return func(dst []byte) error {
		if typ == t.Type {
			copy(dst, t.Data)
			return nil
		}
		cols := int(t.Dims[0])
		rows := int(t.Elements()) / cols
		inRow, outRow := len(t.Data)/rows, len(dst)/rows
		return parallelRows(rows, func(lo, hi int) error {
			x := make([]float32, cols)
			for r := lo; r < hi; r++ {
				if err := tensor.Dequantize(t.Type, t.Data[r*inRow:(r+1)*inRow], x); err != nil {
					return err
				}
				if err := tensor.Quantize(typ, x, dst[r*outRow:(r+1)*outRow]); err != nil {
					return err
				}
			}
			return nil
		})
	}
}
