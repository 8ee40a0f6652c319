package tokenizer

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/llmos/llmos/gguf"
)

// spmVocab is a small SentencePiece-style vocabulary: specials, 256 byte
// tokens, and a few scored pieces.
func spmVocab() Vocab {
	v := Vocab{Model: ModelSPM, AddBOS: true, AddSpacePrefix: true,
		Special: map[string]int32{"unknown": 0, "bos": 1, "eos": 2}}
	add := func(s string, ty TokenType, score float32) {
		v.Tokens = append(v.Tokens, s)
		v.Types = append(v.Types, ty)
		v.Scores = append(v.Scores, score)
	}
	add("<unk>", TypeUnknown, 0)
	add("<s>", TypeControl, 0)
	add("</s>", TypeControl, 0)
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), TypeByte, 0)
	}
	for _, p := range []struct {
		s     string
		score float32
	}{{"▁", -10}, {"h", -10}, {"e", -10}, {"l", -10}, {"o", -10}, {"ll", -1}, {"he", -2}, {"▁he", -3}, {"llo", -4}} {
		add(p.s, TypeNormal, p.score)
	}
	add("<tool>", TypeUserDefined, 0)
	return v
}

// bpeVocab is a small byte-level BPE vocabulary with GPT-2 splitting.
func bpeVocab() Vocab {
	v := Vocab{Model: ModelBPE, Pre: "gpt-2", Special: map[string]int32{}}
	for b := 0; b < 256; b++ {
		v.Tokens = append(v.Tokens, string(byteRune[b]))
	}
	v.Tokens = append(v.Tokens, "ll", "he", "hell", "hello", "Ġhello")
	v.Merges = []string{"l l", "h e", "he ll", "hell o", "Ġ hello"}
	v.Tokens = append(v.Tokens, "<|endoftext|>", "<|im_end|>")
	v.Special["eos"] = int32(len(v.Tokens) - 2)
	v.Types = make([]TokenType, len(v.Tokens))
	for i := range v.Types {
		v.Types[i] = TypeNormal
	}
	v.Types[len(v.Types)-2] = TypeControl
	return v
}

func mustNew(t *testing.T, v Vocab) *Tokenizer {
	t.Helper()
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func ids(t *testing.T, tok *Tokenizer, texts ...string) []int32 {
	t.Helper()
	var out []int32
	for _, s := range texts {
		id, ok := tok.Lookup(s)
		if !ok {
			t.Fatalf("no token %q", s)
		}
		out = append(out, id)
	}
	return out
}

func TestSPMEncode(t *testing.T) {
	tok := mustNew(t, spmVocab())
	tests := []struct {
		name       string
		text       string
		add, parse bool
		want       []string
	}{
		{"merges by score", "hello", false, false, []string{"▁he", "llo"}},
		{"bos", "hello", true, false, []string{"<s>", "▁he", "llo"}},
		{"empty with bos", "", true, false, []string{"<s>"}},
		{"byte fallback", "hé", false, false, []string{"▁", "h", "<0xC3>", "<0xA9>"}},
		{"user-defined always split, space prefix after it", "he<tool>he", false, false, []string{"▁he", "<tool>", "▁he"}},
		{"control only with parseSpecial", "he</s>", false, true, []string{"▁he", "</s>"}},
		{"control as text", "he</s>", false, false, []string{"▁he", "<0x3C>", "<0x2F>", "<0x73>", "<0x3E>"}},
		{"special first gets no prefix", "</s>he", false, true, []string{"</s>", "▁he"}},
		{"spaces become pieces", "he  he", false, false, []string{"▁he", "▁", "▁he"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tok.Encode(tc.text, tc.add, tc.parse)
			if want := ids(t, tok, tc.want...); !slices.Equal(got, want) {
				t.Errorf("Encode(%q) = %v, want %v %q", tc.text, got, want, tc.want)
			}
		})
	}
}

func TestSPMDecode(t *testing.T) {
	tok := mustNew(t, spmVocab())
	tests := []struct {
		toks []string
		want string
	}{
		{[]string{"▁he", "llo"}, "hello"},
		{[]string{"<s>", "▁he", "llo"}, "<s> hello"}, // the space is removed from the first token only
		{[]string{"▁", "▁he"}, " he"},
		{[]string{"h", "<0xC3>", "<0xA9>"}, "hé"},
	}
	for _, tc := range tests {
		if got := tok.Decode(ids(t, tok, tc.toks...)); got != tc.want {
			t.Errorf("Decode(%q) = %q, want %q", tc.toks, got, tc.want)
		}
	}
	if got := tok.Decode([]int32{-1, 1 << 30}); got != "" {
		t.Errorf("Decode of invalid ids = %q, want empty", got)
	}
	if p := tok.Piece(int32(tok.VocabSize())); p != nil {
		t.Errorf("Piece(out of range) = %q, want nil", p)
	}
}

func TestBPE(t *testing.T) {
	tok := mustNew(t, bpeVocab())
	tests := []struct {
		text string
		want []string
	}{
		{"hello", []string{"hello"}},
		{" hello", []string{"Ġhello"}},
		{"hellx", []string{"hell", "x"}},
		{"hello<|im_end|>", []string{"hello", "<", "|", "im", "_", "end", "|", ">"}},
	}
	for _, tc := range tests {
		got := tok.Encode(tc.text, true, false)
		var want []int32
		for _, s := range tc.want {
			if id, ok := tok.Lookup(s); ok {
				want = append(want, id)
				continue
			}
			for _, b := range []byte(s) { // unmerged: one token per byte
				want = append(want, ids(t, tok, string(byteRune[b]))...)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v", tc.text, got, want)
		}
		if d := tok.Decode(got); d != tc.text {
			t.Errorf("Decode(Encode(%q)) = %q", tc.text, d)
		}
	}
	if got, want := tok.Encode("a<|im_end|>", false, true), ids(t, tok, "a", "<|im_end|>"); !slices.Equal(got, want) {
		t.Errorf("parseSpecial: got %v, want %v", got, want)
	}
}

func TestSpecialTokens(t *testing.T) {
	tok := mustNew(t, bpeVocab())
	eot, _ := tok.Lookup("<|im_end|>")
	eos, _ := tok.Lookup("<|endoftext|>")
	if tok.EOS() != eos || tok.EOT() != eot || tok.BOS() != NoToken || tok.AddBOS() {
		t.Errorf("EOS %d EOT %d BOS %d AddBOS %v; want %d %d %d false", tok.EOS(), tok.EOT(), tok.BOS(), tok.AddBOS(), eos, eot, NoToken)
	}
	if !slices.Equal(tok.EOG(), []int32{eos, eot}) {
		t.Errorf("EOG = %v, want [%d %d]", tok.EOG(), eos, eot)
	}
	for id, want := range map[int32]bool{eos: true, eot: true, 0: false, NoToken: false} {
		if tok.IsEOG(id) != want {
			t.Errorf("IsEOG(%d) = %v", id, !want)
		}
	}
	// <|im_end|> is declared normal; llama.cpp treats end-of-generation tokens as control.
	if tok.TokenType(eot) != TypeNormal || !tok.IsControl(eot) {
		t.Errorf("<|im_end|>: type %d, control %v; want declared normal, treated as control", tok.TokenType(eot), tok.IsControl(eot))
	}
	if got := string(tok.Piece(eot)); got != "<|im_end|>" {
		t.Errorf("Piece(<|im_end|>) = %q", got)
	}
	if tok.TokenText(eot) != "<|im_end|>" || tok.TokenText(-5) != "" || tok.TokenType(-5) != TypeUndefined {
		t.Error("TokenText/TokenType disagree with the vocabulary")
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(v *Vocab)
		substr string
	}{
		{"unknown model", func(v *Vocab) { v.Model = "bert" }, `"llama", "gpt2"`},
		{"unknown pre", func(v *Vocab) { v.Model, v.Pre = ModelBPE, "tekken" }, "llama-bpe"},
		{"no tokens", func(v *Vocab) { v.Tokens, v.Scores, v.Types = nil, nil, nil }, "no tokens"},
		{"short scores", func(v *Vocab) { v.Scores = v.Scores[:3] }, "3 scores"},
		{"short types", func(v *Vocab) { v.Types = v.Types[:3] }, "3 token types"},
		{"bad type", func(v *Vocab) { v.Types[5] = 9 }, "type 9"},
		{"duplicate", func(v *Vocab) { v.Tokens[4] = v.Tokens[3] }, "same text"},
		{"id out of range", func(v *Vocab) { v.Special["eos"] = 100000 }, "out of range"},
		{"unknown role", func(v *Vocab) { v.Special["beginning"] = 1 }, "unknown special token role"},
		{"add bos without bos", func(v *Vocab) { delete(v.Special, "bos") }, "no BOS"},
		{"add eos without eos", func(v *Vocab) { v.AddEOS = true; delete(v.Special, "eos") }, "no EOS"},
		{"merges in spm", func(v *Vocab) { v.Merges = []string{"a b"} }, "takes no merges"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := spmVocab()
			tc.edit(&v)
			_, err := New(v)
			if err == nil || !strings.Contains(err.Error(), tc.substr) {
				t.Fatalf("New: %v, want error containing %q", err, tc.substr)
			}
		})
	}
	_, err := New(Vocab{Model: "t5", Tokens: []string{"a"}})
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("unsupported model: %v does not wrap ErrUnsupported", err)
	}
}

// ggufFile writes metadata into an in-memory GGUF and parses it.
func ggufFile(t *testing.T, kv map[string]any) *gguf.File {
	t.Helper()
	w := gguf.NewWriter()
	for k, v := range kv {
		w.Set(k, v)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFromGGUF(t *testing.T) {
	v := spmVocab()
	types := make([]int32, len(v.Types))
	for i, ty := range v.Types {
		types[i] = int32(ty)
	}
	base := func() map[string]any {
		return map[string]any{
			"tokenizer.ggml.model":              "llama",
			"tokenizer.ggml.tokens":             v.Tokens,
			"tokenizer.ggml.scores":             v.Scores,
			"tokenizer.ggml.token_type":         types,
			"tokenizer.ggml.padding_token_id":   uint32(0xFFFFFFFF), // "none": keeps the default
			"tokenizer.ggml.seperator_token_id": uint32(0xFFFFFFFF),
		}
	}
	tok, err := FromGGUF(ggufFile(t, base()))
	if err != nil {
		t.Fatal(err)
	}
	// SPM defaults: BOS 1, EOS 2, add BOS, space prefix.
	if tok.BOS() != 1 || tok.EOS() != 2 || !tok.AddBOS() || tok.AddEOS() || !tok.Vocab().AddSpacePrefix {
		t.Errorf("defaults: bos %d eos %d add_bos %v add_eos %v", tok.BOS(), tok.EOS(), tok.AddBOS(), tok.AddEOS())
	}
	if got, want := tok.Encode("hello", true, false), mustNew(t, spmVocab()).Encode("hello", true, false); !slices.Equal(got, want) {
		t.Errorf("FromGGUF and New disagree: %v vs %v", got, want)
	}

	tests := []struct {
		name   string
		edit   func(m map[string]any)
		substr string
	}{
		{"no model", func(m map[string]any) { delete(m, "tokenizer.ggml.model") }, "tokenizer.ggml.model"},
		{"unsupported model", func(m map[string]any) { m["tokenizer.ggml.model"] = "rwkv" }, `"rwkv"`},
		{"no tokens", func(m map[string]any) { delete(m, "tokenizer.ggml.tokens") }, "tokenizer.ggml.tokens"},
		{"tokens not strings", func(m map[string]any) { m["tokenizer.ggml.tokens"] = []int32{1} }, "not an array of strings"},
		{"short scores", func(m map[string]any) { m["tokenizer.ggml.scores"] = []float32{1} }, "1 scores"},
		{"short types", func(m map[string]any) { m["tokenizer.ggml.token_type"] = []int32{1} }, "1 types"},
		{"bos out of range", func(m map[string]any) { m["tokenizer.ggml.bos_token_id"] = uint32(1 << 20) }, "out of range"},
		{"add_bos not bool", func(m map[string]any) { m["tokenizer.ggml.add_bos_token"] = uint32(1) }, "not a bool"},
		{"bpe without merges", func(m map[string]any) { m["tokenizer.ggml.model"] = "gpt2"; m["tokenizer.ggml.pre"] = "gpt-2" }, "merges"},
		{"bpe unknown pre", func(m map[string]any) { m["tokenizer.ggml.model"] = "gpt2"; m["tokenizer.ggml.pre"] = "nope" }, `"nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.edit(m)
			_, err := FromGGUF(ggufFile(t, m))
			if err == nil || !strings.Contains(err.Error(), tc.substr) {
				t.Fatalf("FromGGUF: %v, want error containing %q", err, tc.substr)
			}
		})
	}
}

func TestSplitters(t *testing.T) {
	tests := []struct {
		pre, text string
		want      []string
	}{
		{"llama-bpe", "Hello world", []string{"Hello", " world"}},
		{"llama-bpe", "3333333", []string{"333", "333", "3"}},
		{"llama-bpe", "  Hello", []string{" ", " Hello"}},
		{"llama-bpe", "\n\n x", []string{"\n\n", " x"}},
		{"llama-bpe", "I'M ok", []string{"I", "'M", " ok"}},
		{"llama-bpe", "a...\n\nb", []string{"a", "...\n\n", "b"}},
		{"llama-bpe", "end  ", []string{"end", "  "}},
		{"qwen2", "x123", []string{"x", "1", "2", "3"}},
		{"gpt-2", "I'M", []string{"I", "'", "M"}},
		{"gpt-2", " 123abc", []string{" 123", "abc"}},
		{"gpt-2", "a  b", []string{"a", " ", " b"}},
		{"gpt-2", "a\u00a0\u3000b", []string{"a", "\u00a0", "\u3000", "b"}}, // only ' ' joins a word
		{"default", "x+=1234;", []string{"x", "+=", "123", "4", ";"}},
		{"default", "a`b", []string{"a", "`", "b"}},
		{"default", "a ¿b", []string{"a", " ", "¿", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.pre+"/"+tc.text, func(t *testing.T) {
			cpts := decodeCpts(nil, tc.text)
			words := pretokenizers[tc.pre].split(cpts, []int{len(cpts)})
			var got []string
			start := 0
			for _, n := range words {
				got = append(got, string(cpts[start:start+n]))
				start += n
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("split %q = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestCleanSpaces(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a ? b , c !", "a? b, c!"},
		{"it ' s", "it's"},
		{"I 'm we 're they 've", "I'm we're they've"},
		{"I 't 'd 'll", "I 't 'd 'll"},
		{"a ' ' b", "a'' b"}, // the first match eats the space the second would need
		{"", ""},
		{" .", "."},
	}
	for _, tc := range tests {
		if got := string(cleanSpaces([]byte(tc.in))); got != tc.want {
			t.Errorf("cleanSpaces(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecodeCpt(t *testing.T) {
	tests := []struct {
		in   string
		want []rune
	}{
		{"aé€🦙", []rune{'a', 'é', '€', '🦙'}},
		{"\xed\xa0\x80", []rune{0xD800}},                             // surrogates pass, as in llama.cpp
		{"\xc3", []rune{0xFFFD}},                                     // truncated
		{"\x80a", []rune{0xFFFD, 'a'}},                               // stray continuation byte
		{"\xf7\xbf\xbf\xbf", []rune{0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD}}, // above U+10FFFF
	}
	for _, tc := range tests {
		got := decodeCpts(nil, tc.in)
		if !slices.Equal(got, tc.want) {
			t.Errorf("decodeCpts(%q) = %U, want %U", tc.in, got, tc.want)
		}
		if tc.want[0] != 0xFFFD {
			var enc []byte
			for _, c := range got {
				enc = appendCpt(enc, c)
			}
			if string(enc) != tc.in {
				t.Errorf("appendCpt round trip of %q = %q", tc.in, enc)
			}
		}
	}
}

func TestStreamDecoder(t *testing.T) {
	tok := mustNew(t, spmVocab())
	steps := []struct {
		tok  string
		want string
	}{
		{"▁he", " he"},
		{"<0xC3>", ""},
		{"<0xA9>", "é"},
		{"<0xF0>", ""},
		{"<0x9F>", ""},
		{"<0xA6>", ""},
		{"<0x99>", "🦙"},
		{"<0xC3>", ""},
		{"h", "\uFFFDh"}, // a character that never completes
		{"<0xE2>", ""},
	}
	d := tok.NewStreamDecoder()
	for i, s := range steps {
		if got := d.Add(ids(t, tok, s.tok)[0]); got != s.want {
			t.Errorf("step %d: Add(%q) = %q, want %q", i, s.tok, got, s.want)
		}
	}
	if got := d.Flush(); got != "\uFFFD" {
		t.Errorf("Flush = %q, want U+FFFD", got)
	}
	if got := d.Flush(); got != "" {
		t.Errorf("second Flush = %q, want empty", got)
	}
	if got := d.Add(-1); got != "" {
		t.Errorf("Add(invalid) = %q", got)
	}
}
