package tokenizer

import (
	"fmt"

	"github.com/llmos/llmos/gguf"
)

// AddTo sets the tokenizer.ggml.* metadata that ReadVocab and llama.cpp
// read back as v: model, pre-tokenizer (BPE), tokens, token types, scores,
// merges, special-token ids (u32) and the add_bos/add_eos flags (plus
// add_space_prefix for SPM). It checks v first by building a tokenizer.
func (v Vocab) AddTo(w *gguf.Writer) error {
	if _, err := New(v); err != nil {
		return fmt.Errorf("tokenizer: not writing an invalid vocabulary: %w", err)
	}
	w.Set("tokenizer.ggml.model", v.Model)
	if v.Model == ModelBPE {
		pre := v.Pre
		if pre == "" {
			pre = "default"
		}
		w.Set("tokenizer.ggml.pre", pre)
	}
	w.Set("tokenizer.ggml.tokens", v.Tokens)
	if len(v.Scores) != 0 {
		w.Set("tokenizer.ggml.scores", v.Scores)
	}
	if len(v.Types) != 0 {
		types := make([]int32, len(v.Types))
		for i, t := range v.Types {
			types[i] = int32(t)
		}
		w.Set("tokenizer.ggml.token_type", types)
	}
	if v.Model == ModelBPE {
		w.Set("tokenizer.ggml.merges", v.Merges)
	}
	for _, role := range SpecialRoles {
		if id, ok := v.Special[role]; ok && id != NoToken {
			w.Set("tokenizer.ggml."+role+"_token_id", uint32(id))
		}
	}
	w.Set("tokenizer.ggml.add_bos_token", v.AddBOS)
	w.Set("tokenizer.ggml.add_eos_token", v.AddEOS)
	if v.Model == ModelSPM {
		w.Set("tokenizer.ggml.add_space_prefix", v.AddSpacePrefix)
	}
	return nil
}

// WriteFile writes v as a vocabulary-only GGUF file (no tensors), which
// FromGGUF and llama.cpp's vocab_only loading (llama-tokenize) read.
// general.architecture is v.Arch, or "llama" when empty.
func (v Vocab) WriteFile(path string) error {
	w := gguf.NewWriter()
	arch := v.Arch
	if arch == "" {
		arch = "llama"
	}
	w.Set("general.architecture", arch)
	if v.Name != "" {
		w.Set("general.name", v.Name)
	}
	if err := v.AddTo(w); err != nil {
		return err
	}
	if err := w.WriteFile(path); err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	return nil
}
