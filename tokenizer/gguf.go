package tokenizer

import (
	"fmt"
	"math"

	"github.com/llmos/llmos/gguf"
)

// FromGGUF builds the tokenizer stored in a GGUF file's tokenizer.ggml.*
// metadata, with llama.cpp's defaults for keys that are absent (SPM: BOS 1,
// EOS 2, unknown 0, add BOS, add a space prefix; BPE: BOS and EOS 11, add
// BOS only for Llama-3-style pre-tokenizers). The tokenizer keeps no
// reference to f.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	v, err := ReadVocab(f)
	if err != nil {
		return nil, err
	}
	t, err := New(v)
	if err != nil {
		return nil, fmt.Errorf("%w (from GGUF metadata)", err)
	}
	return t, nil
}

// ReadVocab reads the tokenizer.ggml.* metadata into a Vocab, applying
// llama.cpp's defaults, without building a tokenizer.
func ReadVocab(f *gguf.File) (Vocab, error) {
	var v Vocab
	model, ok := f.String("tokenizer.ggml.model")
	if !ok {
		return v, fmt.Errorf("tokenizer: GGUF has no string key tokenizer.ggml.model")
	}
	v.Model = model
	v.Pre, _ = f.String("tokenizer.ggml.pre")
	v.Name, _ = f.String("general.name")
	v.Arch, _ = f.String("general.architecture")

	var defaults map[string]int32
	switch model {
	case ModelSPM:
		defaults = map[string]int32{"bos": 1, "eos": 2, "unknown": 0}
		v.AddBOS, v.AddSpacePrefix = true, true
		v.Pre = "" // llama.cpp ignores the pre-tokenizer of SPM vocabularies
	case ModelBPE:
		p, ok := pretokenizers[v.Pre]
		if !ok {
			return v, fmt.Errorf("%w: BPE pre-tokenizer %q in tokenizer.ggml.pre (supported: %v)", ErrUnsupported, v.Pre, PreTokenizers())
		}
		defaults = map[string]int32{"bos": 11, "eos": 11}
		if p.noBOS {
			delete(defaults, "bos")
		}
		v.AddBOS = p.addBOS
		merges, err := stringArray(f, "tokenizer.ggml.merges")
		if err != nil {
			return v, err
		}
		if merges == nil {
			return v, fmt.Errorf("tokenizer: BPE GGUF has no tokenizer.ggml.merges")
		}
		v.Merges = merges
	default:
		return v, fmt.Errorf("%w: tokenizer model %q in tokenizer.ggml.model (supported: %q, %q)", ErrUnsupported, model, ModelSPM, ModelBPE)
	}

	tokens, err := stringArray(f, "tokenizer.ggml.tokens")
	if err != nil {
		return v, err
	}
	if len(tokens) == 0 {
		return v, fmt.Errorf("tokenizer: GGUF has no tokenizer.ggml.tokens")
	}
	v.Tokens = tokens
	n := len(tokens)

	if _, present := f.Get("tokenizer.ggml.scores"); present {
		scores, ok := f.Float32s("tokenizer.ggml.scores")
		if !ok {
			ints, ok := f.Int32s("tokenizer.ggml.scores")
			if !ok {
				return v, fmt.Errorf("tokenizer: tokenizer.ggml.scores is not an array of f32 or integers")
			}
			scores = make([]float32, len(ints))
			for i, x := range ints {
				scores[i] = float32(x)
			}
		}
		// llama.cpp ignores extra scores and types but refuses too few.
		if len(scores) < n {
			return v, fmt.Errorf("tokenizer: %d scores in tokenizer.ggml.scores for %d tokens", len(scores), n)
		}
		v.Scores = scores[:n]
	}
	if _, present := f.Get("tokenizer.ggml.token_type"); present {
		types, ok := f.Int32s("tokenizer.ggml.token_type")
		if !ok {
			return v, fmt.Errorf("tokenizer: tokenizer.ggml.token_type is not an array of integers")
		}
		if len(types) < n {
			return v, fmt.Errorf("tokenizer: %d types in tokenizer.ggml.token_type for %d tokens", len(types), n)
		}
		v.Types = make([]TokenType, n)
		for i := range n {
			v.Types[i] = TokenType(types[i])
		}
	}

	v.Special = map[string]int32{}
	for role, id := range defaults {
		if int(id) < n { // llama.cpp drops defaults that do not fit
			v.Special[role] = id
		}
	}
	for _, role := range SpecialRoles {
		key := "tokenizer.ggml." + role + "_token_id"
		if err := readID(f, key, n, role, v.Special); err != nil {
			return v, err
		}
	}
	// Deprecated names of the FIM roles, read after the new ones as llama.cpp does.
	for role, old := range map[string]string{"fim_pre": "prefix", "fim_suf": "suffix", "fim_mid": "middle"} {
		if err := readID(f, "tokenizer.ggml."+old+"_token_id", n, role, v.Special); err != nil {
			return v, err
		}
	}

	for key, dst := range map[string]*bool{
		"tokenizer.ggml.add_bos_token":    &v.AddBOS,
		"tokenizer.ggml.add_eos_token":    &v.AddEOS,
		"tokenizer.ggml.add_space_prefix": &v.AddSpacePrefix,
	} {
		if _, present := f.Get(key); present {
			b, ok := f.Bool(key)
			if !ok {
				return v, fmt.Errorf("tokenizer: %s is not a bool", key)
			}
			*dst = b
		}
	}
	return v, nil
}

// readID reads one special-token id. Like llama.cpp it keeps the default
// when the key holds the "none" value 0xFFFFFFFF (or -1); any other id
// outside the vocabulary is an error.
func readID(f *gguf.File, key string, n int, role string, special map[string]int32) error {
	raw, present := f.Get(key)
	if !present {
		return nil
	}
	id, ok := f.Uint(key)
	if !ok {
		if x, isInt := raw.(int32); isInt && x == -1 {
			return nil
		}
		if x, isInt := raw.(int64); isInt && x == -1 {
			return nil
		}
		return fmt.Errorf("tokenizer: %s = %v is not a token id", key, raw)
	}
	if id == math.MaxUint32 || id == math.MaxUint64 {
		return nil
	}
	if id >= uint64(n) {
		return fmt.Errorf("tokenizer: %s = %d is out of range (vocabulary has %d tokens)", key, id, n)
	}
	special[role] = int32(id)
	return nil
}

// stringArray returns a string array, nil if the key is absent.
func stringArray(f *gguf.File, key string) ([]string, error) {
	if _, present := f.Get(key); !present {
		return nil, nil
	}
	s, ok := f.Strings(key)
	if !ok {
		return nil, fmt.Errorf("tokenizer: %s is not an array of strings", key)
	}
	return s, nil
}
