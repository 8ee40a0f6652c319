// Package tokenizer turns text into token ids and back exactly as llama.cpp
// does, from the tokenizer stored in a GGUF file: SentencePiece-style
// (tokenizer.ggml.model = "llama") and byte-level BPE ("gpt2") with the
// llama-bpe (Llama 3), qwen2, gpt-2 and default pre-tokenizers.
//
// The behaviour follows llama.cpp's src/llama-vocab.cpp and src/unicode.cpp:
// special-token partitioning, SPM's leading space and byte fallback, BPE's
// pre-token splitting, merge ranks and whole-word lookup, token attributes
// and end-of-generation detection, and detokenization's space clean-up.
package tokenizer

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// NoToken is the id of an absent token (llama.cpp's LLAMA_TOKEN_NULL).
const NoToken int32 = -1

// TokenType is the type of a token as stored in tokenizer.ggml.token_type.
type TokenType int32

// Token types, numbered as in llama.cpp's llama_token_type.
const (
	TypeUndefined   TokenType = 0
	TypeNormal      TokenType = 1
	TypeUnknown     TokenType = 2
	TypeControl     TokenType = 3
	TypeUserDefined TokenType = 4
	TypeUnused      TokenType = 5
	TypeByte        TokenType = 6
)

// Tokenizer models, the values of tokenizer.ggml.model.
const (
	ModelSPM = "llama" // SentencePiece-style BPE with byte fallback
	ModelBPE = "gpt2"  // byte-level BPE
)

// ErrUnsupported is wrapped by errors about tokenizer models or
// pre-tokenizers this package does not implement.
var ErrUnsupported = errors.New("tokenizer: unsupported")

// Vocab is a tokenizer as plain data: what FromGGUF reads from the
// tokenizer.ggml.* metadata, and what a trainer fills in before writing a GGUF.
type Vocab struct {
	Model  string      // ModelSPM or ModelBPE
	Pre    string      // BPE pre-tokenizer (tokenizer.ggml.pre); "" means "default"
	Tokens []string    // token texts; index = id
	Scores []float32   // SPM merge scores; empty or one per token
	Types  []TokenType // empty (all normal) or one per token
	Merges []string    // BPE merges "left right", highest priority first

	// Special maps a special-token role to its id. Roles are the middle of
	// the GGUF key tokenizer.ggml.<role>_token_id: "bos", "eos", "eot",
	// "eom", "unknown", "seperator" (sic), "padding", "cls", "mask",
	// "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep".
	// A missing role means no such token.
	Special map[string]int32

	AddBOS         bool // prepend BOS when encoding with addSpecial
	AddEOS         bool // append EOS when encoding with addSpecial
	AddSpacePrefix bool // SPM: prepend a space to text that starts the input or follows a special token

	// Name and Arch are general.name and general.architecture; llama.cpp
	// derives a few per-token strip rules from them (Phi-3, Jina, ModernBERT).
	Name, Arch string
}

// SpecialRoles lists the roles Vocab.Special accepts, in GGUF key order.
var SpecialRoles = []string{"bos", "eos", "eot", "eom", "unknown", "seperator", "padding", "cls", "mask",
	"fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep"}

// attr is llama.cpp's llama_token_attr bit set.
type attr uint16

const (
	attrUndefined   attr = 0
	attrUnknown     attr = 1 << 0
	attrUnused      attr = 1 << 1
	attrNormal      attr = 1 << 2
	attrControl     attr = 1 << 3
	attrUserDefined attr = 1 << 4
	attrByte        attr = 1 << 5
	attrLStrip      attr = 1 << 7
	attrRStrip      attr = 1 << 8
)

var typeAttr = [...]attr{
	TypeUndefined:   attrUndefined,
	TypeNormal:      attrNormal,
	TypeUnknown:     attrUnknown,
	TypeControl:     attrControl,
	TypeUserDefined: attrUserDefined,
	TypeUnused:      attrUnused,
	TypeByte:        attrByte,
}

// Tokenizer encodes and decodes text. It is safe for concurrent use.
type Tokenizer struct {
	vocab        Vocab
	spm          bool
	attrs        []attr
	toID         map[string]int32
	ranks        map[string]int32 // BPE merge "left right" -> rank
	split        pretokenizer
	ignoreMerges bool
	cleanSpaces  bool

	bos, eos, eot, eom, unk int32
	eog                     []int32 // sorted
	special                 []int32 // control, user-defined and unknown tokens, longest text first
}

// New builds a tokenizer from plain data, validating it.
func New(v Vocab) (*Tokenizer, error) {
	t := &Tokenizer{vocab: v}
	switch v.Model {
	case ModelSPM:
		t.spm = true
	case ModelBPE:
		p, ok := pretokenizers[v.Pre]
		if !ok {
			return nil, fmt.Errorf("%w: BPE pre-tokenizer %q (supported: %s)", ErrUnsupported, v.Pre, strings.Join(PreTokenizers(), ", "))
		}
		t.split, t.ignoreMerges, t.cleanSpaces = p.split, p.ignoreMerges, p.cleanSpaces
	default:
		return nil, fmt.Errorf("%w: tokenizer model %q (supported: %q, %q)", ErrUnsupported, v.Model, ModelSPM, ModelBPE)
	}
	n := len(v.Tokens)
	if n == 0 {
		return nil, errors.New("tokenizer: vocabulary has no tokens")
	}
	if int64(n) > 1<<31-1 {
		return nil, fmt.Errorf("tokenizer: %d tokens do not fit int32 ids", n)
	}
	if len(v.Scores) != 0 && len(v.Scores) != n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens", len(v.Scores), n)
	}
	if len(v.Types) != 0 && len(v.Types) != n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(v.Types), n)
	}
	if t.spm && len(v.Merges) != 0 {
		return nil, fmt.Errorf("tokenizer: model %q takes no merges (got %d)", ModelSPM, len(v.Merges))
	}

	// llama.cpp renames empty tokens so that every text is unique and non-empty.
	tokens := slices.Clone(v.Tokens)
	t.vocab.Tokens = tokens
	t.toID = make(map[string]int32, n)
	t.attrs = make([]attr, n)
	for i, s := range tokens {
		if s == "" {
			s = fmt.Sprintf("[EMPTY_%d]", i)
			tokens[i] = s
		}
		t.toID[s] = int32(i)
		t.attrs[i] = attrNormal
		if len(v.Types) != 0 {
			ty := v.Types[i]
			if ty < 0 || int(ty) >= len(typeAttr) {
				return nil, fmt.Errorf("tokenizer: token %d (%q) has type %d, want 0..%d", i, s, ty, len(typeAttr)-1)
			}
			t.attrs[i] = typeAttr[ty]
		}
	}
	if len(t.toID) != n {
		// Rare: find the pair only now, so that loading does one map
		// operation per token.
		for i, s := range tokens {
			if j := t.toID[s]; j != int32(i) {
				return nil, fmt.Errorf("tokenizer: tokens %d and %d have the same text %q", min(i, int(j)), max(i, int(j)), s)
			}
		}
	}

	special := map[string]int32{}
	for role, id := range v.Special {
		if !slices.Contains(SpecialRoles, role) {
			return nil, fmt.Errorf("tokenizer: unknown special token role %q (known: %s)", role, strings.Join(SpecialRoles, ", "))
		}
		if id == NoToken {
			continue
		}
		if id < 0 || int(id) >= n {
			return nil, fmt.Errorf("tokenizer: %s token id %d is out of range (vocabulary has %d tokens)", role, id, n)
		}
		special[role] = id
	}
	t.vocab.Special = special
	id := func(role string) int32 {
		if x, ok := special[role]; ok {
			return x
		}
		return NoToken
	}
	t.bos, t.eos, t.unk = id("bos"), id("eos"), id("unknown")
	if v.AddBOS && t.bos == NoToken {
		return nil, errors.New("tokenizer: add_bos_token is set but there is no BOS token")
	}
	if v.AddEOS && t.eos == NoToken {
		return nil, errors.New("tokenizer: add_eos_token is set but there is no EOS token")
	}

	if !t.spm {
		t.ranks = make(map[string]int32, len(v.Merges))
		// llama.cpp splits a merge at the first space after the first byte
		// and keeps the first rank of a repeated pair (walking backwards,
		// the first rank is stored last); a pair whose left side starts
		// with a space can never be looked up.
		for i := len(v.Merges) - 1; i >= 0; i-- {
			if m := v.Merges[i]; strings.IndexByte(m, ' ') > 0 {
				t.ranks[m] = int32(i)
			}
		}
	}

	t.resolveSpecial(id)
	return t, nil
}

// Texts that llama.cpp recognises as special roles when the metadata does not
// name them (llama_vocab::impl::load, "auto-detect special tokens by text").
var (
	eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
		"<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
	eomTexts    = []string{"<|eom_id|>"}
	fimPreTexts = []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"}
	fimSufTexts = []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"}
	fimMidTexts = []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"}
	fimPadTexts = []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}
	fimRepTexts = []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}
	fimSepTexts = []string{"<|file_sep|>"}
	eogTexts    = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
		"<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
		"<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["}
	// gpt-oss tokens llama.cpp always renders.
	userDefinedTexts = []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}
)

// resolveSpecial mirrors the attribute fix-ups llama.cpp applies after
// loading a vocabulary: it finds EOT/EOM/FIM tokens by text, marks them and
// every end-of-generation token as control, flags unused control tokens, and
// builds the end-of-generation set and the special-token partition order.
func (t *Tokenizer) resolveSpecial(id func(string) int32) {
	markControl := func(x int32) { t.attrs[x] |= attrControl }
	detect := func(cur int32, texts []string) int32 {
		if cur != NoToken {
			return cur
		}
		// llama.cpp takes the first hit in hash-map order; the candidate
		// order here makes the choice deterministic.
		for _, s := range texts {
			if x, ok := t.toID[s]; ok {
				markControl(x)
				return x
			}
		}
		return NoToken
	}
	t.eot = detect(id("eot"), eotTexts)
	t.eom = detect(id("eom"), eomTexts)
	detect(id("fim_pre"), fimPreTexts)
	detect(id("fim_suf"), fimSufTexts)
	detect(id("fim_mid"), fimMidTexts)
	fimPad := detect(id("fim_pad"), fimPadTexts)
	fimRep := detect(id("fim_rep"), fimRepTexts)
	fimSep := detect(id("fim_sep"), fimSepTexts)

	for i, s := range t.vocab.Tokens {
		if t.attrs[i]&attrControl != 0 && strings.Contains(s, "unused") {
			t.attrs[i] |= attrUnused
		}
	}

	eog := map[int32]bool{}
	for _, x := range []int32{fimPad, fimRep, fimSep} {
		if x != NoToken {
			eog[x] = true
		}
	}
	for _, s := range eogTexts {
		if x, ok := t.toID[s]; ok {
			eog[x] = true
			markControl(x)
		}
	}
	for _, s := range userDefinedTexts {
		if x, ok := t.toID[s]; ok {
			t.attrs[x] = attrUserDefined
		}
	}
	for _, x := range []int32{t.eos, t.eot, t.eom} {
		if x != NoToken {
			eog[x] = true
		}
	}
	has := func(s string) (int32, bool) {
		x, ok := t.toID[s]
		return x, ok && eog[x]
	}
	// o200k_harmony and solar-open end a message with <|end|> without ending
	// generation; gemma4 and paddleocr use </s> as ordinary text.
	_, ret := has("<|return|>")
	_, call := has("<|call|>")
	_, calls := has("<|calls|>")
	_, flush := has("<|flush|>")
	if end, ok := has("<|end|>"); ok && ((ret && (call || calls)) || ((call || calls) && flush)) {
		delete(eog, end)
		t.attrs[end] = attrUserDefined
	}
	if _, ok := has("<|tool_response>"); ok {
		if s, ok := has("</s>"); ok {
			delete(eog, s)
			t.attrs[s] = attrNormal
		}
	}
	for x := range eog {
		t.eog = append(t.eog, x)
	}
	slices.Sort(t.eog)

	for i, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.special = append(t.special, int32(i))
		}
	}
	sort.SliceStable(t.special, func(a, b int) bool {
		return len(t.vocab.Tokens[t.special[a]]) > len(t.vocab.Tokens[t.special[b]])
	})
	t.applyStripRules()
}

// applyStripRules sets the lstrip/rstrip attributes llama.cpp derives from
// the model and pre-tokenizer names.
func (t *Tokenizer) applyStripRules() {
	name := strings.ToLower(t.vocab.Name)
	containsAny := func(s string, subs ...string) bool {
		for _, x := range subs {
			if strings.Contains(s, x) {
				return true
			}
		}
		return false
	}
	set := func(text string, a attr, on bool) {
		x, ok := t.toID[text]
		if !ok {
			return
		}
		if on {
			t.attrs[x] |= a
		} else {
			t.attrs[x] &^= a
		}
	}
	switch {
	case containsAny(t.vocab.Pre, "jina-v2-de", "jina-v2-es", "jina-v2-code") ||
		containsAny(t.vocab.Arch, "nomic-bert-moe", "jina-bert-v3"):
		set("<mask>", attrLStrip, true)
	case containsAny(name, "phi-3", "phi3"):
		for _, x := range t.special {
			t.attrs[x] |= attrRStrip
		}
		set("</s>", attrRStrip, true)
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			set(s, attrRStrip, false)
		}
	case containsAny(name, "modern-bert"):
		set("[MASK]", attrLStrip, true)
	}
}

// Vocab returns the tokenizer's data (special ids as given, after the
// renaming of empty tokens). The caller must not modify its slices.
func (t *Tokenizer) Vocab() Vocab { return t.vocab }

// VocabSize returns the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.vocab.Tokens) }

// BOS returns the beginning-of-sequence token, or NoToken.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the end-of-sequence token, or NoToken.
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT returns the end-of-turn token (given or found by text), or NoToken.
func (t *Tokenizer) EOT() int32 { return t.eot }

// AddBOS reports whether Encode with addSpecial prepends BOS.
func (t *Tokenizer) AddBOS() bool { return t.vocab.AddBOS }

// AddEOS reports whether Encode with addSpecial appends EOS.
func (t *Tokenizer) AddEOS() bool { return t.vocab.AddEOS }

// IsEOG reports whether id ends generation: EOS, EOT, EOM and the tokens
// llama.cpp treats likewise (<|eot_id|>, <|im_end|>, <|endoftext|> …).
func (t *Tokenizer) IsEOG(id int32) bool {
	_, ok := slices.BinarySearch(t.eog, id)
	return ok
}

// EOG returns all end-of-generation tokens in increasing order.
func (t *Tokenizer) EOG() []int32 { return slices.Clone(t.eog) }

// TokenText returns the stored text of a token ("" for an invalid id).
func (t *Tokenizer) TokenText(id int32) string {
	if !t.valid(id) {
		return ""
	}
	return t.vocab.Tokens[id]
}

// TokenType returns the declared type of a token (TypeUndefined for an
// invalid id). llama.cpp may treat a token as control although it is
// declared otherwise, e.g. an end-of-generation token declared normal.
func (t *Tokenizer) TokenType(id int32) TokenType {
	if !t.valid(id) {
		return TypeUndefined
	}
	if len(t.vocab.Types) == 0 {
		return TypeNormal
	}
	return t.vocab.Types[id]
}

// IsControl reports whether llama.cpp treats id as a control token: such
// tokens are matched in text only with parseSpecial.
func (t *Tokenizer) IsControl(id int32) bool {
	return t.valid(id) && t.attrs[id]&attrControl != 0
}

// Lookup returns the id of the token whose stored text is exactly text.
func (t *Tokenizer) Lookup(text string) (int32, bool) {
	id, ok := t.toID[text]
	return id, ok
}

func (t *Tokenizer) valid(id int32) bool { return id >= 0 && int(id) < len(t.vocab.Tokens) }
