package tokenizer

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/internal/testenv"
)

var loaded sync.Map // path -> *Tokenizer

// load returns the tokenizer of a GGUF file, loading each file once.
func load(tb testing.TB, path string) *Tokenizer {
	tb.Helper()
	if t, ok := loaded.Load(path); ok {
		return t.(*Tokenizer)
	}
	f, err := gguf.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	t, err := FromGGUF(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	loaded.Store(path, t)
	return t
}

// vectorVocab names the GGUF that llama.cpp's test vectors <name>.inp run
// against: the vocab file of the same name, or the model file the fixture
// README names for vectors whose vocab file is not included.
func vectorVocab(dir, name string) (string, bool) {
	if p := filepath.Join(dir, "tokenizer", name); fileExists(p) {
		return p, true
	}
	if name == "ggml-vocab-llama-bpe.gguf" {
		return filepath.Join(dir, "models", "llama3-bpe-tied.q8_0.gguf"), true
	}
	return "", false
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

type vectorCase struct {
	input string
	want  []int32
}

// readVectors parses llama.cpp's test-tokenizer-0 files: inputs separated
// by "\n__ggml_vocab_test__\n", one line of ids per input.
func readVectors(tb testing.TB, inp string) []vectorCase {
	tb.Helper()
	raw, err := os.ReadFile(inp)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := os.ReadFile(strings.TrimSuffix(inp, ".inp") + ".out")
	if err != nil {
		tb.Fatal(err)
	}
	const sep = "\n__ggml_vocab_test__\n"
	var inputs []string
	for s := string(raw); s != ""; {
		i := strings.Index(s, sep)
		if i < 0 {
			inputs = append(inputs, s)
			break
		}
		inputs = append(inputs, s[:i])
		s = s[i+len(sep):]
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(inputs) {
		tb.Fatalf("%s: %d inputs but %d output lines", inp, len(inputs), len(lines))
	}
	cases := make([]vectorCase, len(inputs))
	for i, in := range inputs {
		cases[i].input = in
		for _, f := range strings.Fields(lines[i]) {
			id, err := strconv.ParseInt(f, 10, 32)
			if err != nil {
				tb.Fatalf("%s line %d: %v", inp, i+1, err)
			}
			cases[i].want = append(cases[i].want, int32(id))
		}
	}
	return cases
}

// eachVectorFile runs fn for every .inp file that has a vocabulary here.
func eachVectorFile(t *testing.T, fn func(t *testing.T, tok *Tokenizer, cases []vectorCase)) {
	dir := testenv.Fixtures(t, "llama")
	inps, err := filepath.Glob(filepath.Join(dir, "tokenizer", "*.inp"))
	if err != nil || len(inps) == 0 {
		t.Skipf("no test vectors in %s", filepath.Join(dir, "tokenizer"))
	}
	for _, inp := range inps {
		name := strings.TrimSuffix(filepath.Base(inp), ".inp")
		t.Run(name, func(t *testing.T) {
			vocab, ok := vectorVocab(dir, name)
			if !ok {
				t.Skipf("no vocabulary file for %s in the fixtures (too large to include)", name)
			}
			fn(t, load(t, vocab), readVectors(t, inp))
		})
	}
}

func TestLlamaCppVectors(t *testing.T) {
	eachVectorFile(t, func(t *testing.T, tok *Tokenizer, cases []vectorCase) {
		for i, c := range cases {
			got := tok.Encode(c.input, false, false)
			if !slices.Equal(got, c.want) {
				t.Errorf("case %d %q:\n got %v\nwant %v", i, c.input, got, c.want)
			}
		}
	})
}

// TestRoundTrip checks Decode(Encode(x)) against what llama.cpp's
// detokenizer gives: the pieces concatenate back to x (SPM's added leading
// space is removed again), then vocabularies with clean_spaces drop the
// spaces before punctuation and contractions.
func TestRoundTrip(t *testing.T) {
	eachVectorFile(t, func(t *testing.T, tok *Tokenizer, cases []vectorCase) {
		for i, c := range cases {
			if !utf8.ValidString(c.input) {
				continue
			}
			ids := tok.Encode(c.input, false, false)
			var pieces []byte
			for _, id := range ids {
				pieces = append(pieces, tok.Piece(id)...)
			}
			want := c.input
			if tok.vocab.AddSpacePrefix && want != "" {
				want = " " + want
			}
			if string(pieces) != want {
				t.Errorf("case %d: pieces join to %q, want %q", i, pieces, want)
			}
			want = c.input
			if tok.cleanSpaces {
				want = string(cleanSpaces([]byte(want)))
			}
			if got := tok.Decode(ids); got != want {
				t.Errorf("case %d: Decode(Encode(%q)) = %q, want %q", i, c.input, got, want)
			}
		}
	})
}

// promptRef is the tokenization part of a fixture refs/<model>/<prompt>.json.
type promptRef struct {
	PromptHex        string   `json:"prompt_hex"`
	NVocab           int      `json:"n_vocab"`
	AddBOS           bool     `json:"add_bos"`
	AddEOS           bool     `json:"add_eos"`
	BOS              int32    `json:"bos_id"`
	EOS              int32    `json:"eos_id"`
	TokensAddSpecial []int32  `json:"tokens_add_special"`
	TokensNoSpecial  []int32  `json:"tokens_no_special"`
	PiecesHex        []string `json:"pieces_no_special_hex"`
	Detokenized      string   `json:"detokenized_no_special"`
}

// TestPromptRefs checks every prompt tokenization llama.cpp recorded, for
// the models (refs/<model>/*.json) and the vocab-only files
// (tokenizer/prompts/<vocab>/*.json).
func TestPromptRefs(t *testing.T) {
	dir := testenv.Fixtures(t, "llama")
	type ref struct{ name, json, gguf string }
	var refs []ref
	for _, pattern := range []struct{ glob, gguf string }{
		{filepath.Join(dir, "refs", "*", "*.json"), filepath.Join(dir, "models", "%s.gguf")},
		{filepath.Join(dir, "tokenizer", "prompts", "*", "*.json"), filepath.Join(dir, "tokenizer", "%s.gguf")},
	} {
		files, _ := filepath.Glob(pattern.glob)
		for _, f := range files {
			model := filepath.Base(filepath.Dir(f))
			refs = append(refs, ref{
				name: model + "/" + strings.TrimSuffix(filepath.Base(f), ".json"),
				json: f,
				gguf: strings.Replace(pattern.gguf, "%s", model, 1),
			})
		}
	}
	if len(refs) == 0 {
		t.Skip("no prompt references in the fixtures")
	}
	for _, r := range refs {
		t.Run(r.name, func(t *testing.T) {
			var want promptRef
			raw, err := os.ReadFile(r.json)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatalf("%s: %v", r.json, err)
			}
			prompt, err := os.ReadFile(filepath.Join(dir, "prompts", strings.TrimSuffix(filepath.Base(r.json), ".json")+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(prompt) != want.PromptHex {
				t.Fatalf("prompt file differs from prompt_hex in %s", r.json)
			}
			tok := load(t, r.gguf)
			if tok.VocabSize() != want.NVocab || tok.AddBOS() != want.AddBOS || tok.AddEOS() != want.AddEOS ||
				tok.BOS() != want.BOS || tok.EOS() != want.EOS {
				t.Errorf("vocab %d, add_bos %v, add_eos %v, bos %d, eos %d; want %d, %v, %v, %d, %d",
					tok.VocabSize(), tok.AddBOS(), tok.AddEOS(), tok.BOS(), tok.EOS(),
					want.NVocab, want.AddBOS, want.AddEOS, want.BOS, want.EOS)
			}
			text := string(prompt)
			if got := tok.Encode(text, true, false); !slices.Equal(got, want.TokensAddSpecial) {
				t.Errorf("add_special:\n got %v\nwant %v", got, want.TokensAddSpecial)
			}
			got := tok.Encode(text, false, false)
			if !slices.Equal(got, want.TokensNoSpecial) {
				t.Errorf("no_special:\n got %v\nwant %v", got, want.TokensNoSpecial)
			}
			for i, id := range want.TokensNoSpecial {
				if i < len(want.PiecesHex) && hex.EncodeToString(tok.Piece(id)) != want.PiecesHex[i] {
					t.Errorf("Piece(%d) = %x, want %s", id, tok.Piece(id), want.PiecesHex[i])
				}
			}
			if d := tok.Decode(want.TokensNoSpecial); utf8.ValidString(d) && d != want.Detokenized {
				t.Errorf("Decode = %q, want %q", d, want.Detokenized)
			}
		})
	}
}

// TestStreamDecoderFixtures feeds recorded prompt ids one at a time: the
// stream must equal the joined pieces, and no chunk may end inside a
// character even where byte tokens split one.
func TestStreamDecoderFixtures(t *testing.T) {
	dir := testenv.Fixtures(t, "llama")
	files, _ := filepath.Glob(filepath.Join(dir, "tokenizer", "prompts", "*", "*.json"))
	more, _ := filepath.Glob(filepath.Join(dir, "refs", "llama3-bpe-tied.q8_0", "*.json"))
	if len(files)+len(more) == 0 {
		t.Skip("no prompt references in the fixtures")
	}
	for _, f := range append(files, more...) {
		model := filepath.Base(filepath.Dir(f))
		t.Run(model+"/"+strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			path := filepath.Join(dir, "tokenizer", model+".gguf")
			if !fileExists(path) {
				path = filepath.Join(dir, "models", model+".gguf")
			}
			tok := load(t, path)
			var ref promptRef
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &ref); err != nil {
				t.Fatal(err)
			}
			d := tok.NewStreamDecoder()
			var got, joined strings.Builder
			for _, id := range ref.TokensNoSpecial {
				chunk := d.Add(id)
				if !utf8.ValidString(chunk) || strings.ContainsRune(chunk, utf8.RuneError) {
					t.Errorf("chunk %q after id %d is not clean UTF-8", chunk, id)
				}
				got.WriteString(chunk)
				joined.Write(tok.Piece(id))
			}
			got.WriteString(d.Flush())
			if got.String() != joined.String() {
				t.Errorf("stream %q, want %q", got.String(), joined.String())
			}
		})
	}
}

// TestLlama3Special checks parse_special and end-of-generation handling on
// the real Llama 3 vocabulary.
func TestLlama3Special(t *testing.T) {
	tok := load(t, testenv.Fixtures(t, "llama", "models", "llama3-bpe-tied.q8_0.gguf"))
	bot, _ := tok.Lookup("<|begin_of_text|>")
	eot, _ := tok.Lookup("<|eot_id|>")
	eos, _ := tok.Lookup("<|end_of_text|>")
	hello := tok.Encode("Hello", false, false)
	if got, want := tok.Encode("<|begin_of_text|>Hello<|eot_id|>", false, true), append(append([]int32{bot}, hello...), eot); !slices.Equal(got, want) {
		t.Errorf("parseSpecial: got %v, want %v", got, want)
	}
	if got := tok.Encode("<|eot_id|>", false, false); slices.Contains(got, eot) {
		t.Errorf("without parseSpecial the control text must stay text, got %v", got)
	}
	if tok.BOS() != bot || tok.EOS() != eos || tok.EOT() != eot {
		t.Errorf("BOS %d EOS %d EOT %d, want %d %d %d", tok.BOS(), tok.EOS(), tok.EOT(), bot, eos, eot)
	}
	if !tok.IsEOG(eot) || !tok.IsEOG(eos) || tok.IsEOG(bot) || tok.IsEOG(hello[0]) {
		t.Errorf("EOG set %v", tok.EOG())
	}
	if got := tok.Decode([]int32{bot, hello[0], eot}); got != "<|begin_of_text|>Hello<|eot_id|>" {
		t.Errorf("Decode renders specials as %q", got)
	}
}
