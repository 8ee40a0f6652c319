package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/internal/testenv"
)

// fixtureVocabs returns one GGUF path per distinct tokenizer in the
// fixtures (the many spm512 models share one vocabulary), keyed by a name.
func fixtureVocabs(tb testing.TB) map[string]string {
	dir := testenv.Fixtures(tb, "llama")
	var paths []string
	for _, glob := range []string{"tokenizer/*.gguf", "models/*.gguf"} {
		m, _ := filepath.Glob(filepath.Join(dir, glob))
		paths = append(paths, m...)
	}
	seen := map[string]string{}
	for _, p := range paths {
		tok := load(tb, p)
		key := fmt.Sprintf("%s/%s/%d", tok.vocab.Model, tok.vocab.Pre, tok.VocabSize())
		if _, dup := seen[key]; !dup {
			seen[key] = p
		}
	}
	out := map[string]string{}
	for _, p := range seen {
		out[strings.TrimSuffix(filepath.Base(p), ".gguf")] = p
	}
	return out
}

func BenchmarkEncode(b *testing.B) {
	prompt, err := os.ReadFile(testenv.Fixtures(b, "llama", "prompts", "p3_long.txt"))
	if err != nil {
		b.Skip(err)
	}
	for name, path := range fixtureVocabs(b) {
		tok := load(b, path)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(prompt)))
			for b.Loop() {
				tok.Encode(string(prompt), true, false)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	prompt, err := os.ReadFile(testenv.Fixtures(b, "llama", "prompts", "p3_long.txt"))
	if err != nil {
		b.Skip(err)
	}
	for name, path := range fixtureVocabs(b) {
		tok := load(b, path)
		ids := tok.Encode(string(prompt), false, false)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(prompt)))
			for b.Loop() {
				tok.Decode(ids)
			}
		})
	}
}

// BenchmarkLoadLlama3 measures building the 128k-token, 280k-merge Llama 3
// tokenizer: FromGGUF alone, and with gguf.Open (which parses the strings).
func BenchmarkLoadLlama3(b *testing.B) {
	path := testenv.Fixtures(b, "llama", "models", "llama3-bpe-tied.q8_0.gguf")
	f, err := gguf.Open(path)
	if err != nil {
		b.Skip(err)
	}
	defer f.Close()
	b.Run("FromGGUF", func(b *testing.B) {
		for b.Loop() {
			if _, err := FromGGUF(f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("OpenAndFromGGUF", func(b *testing.B) {
		for b.Loop() {
			f, err := gguf.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := FromGGUF(f); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
}

// FuzzEncode checks, for every fixture vocabulary, that encoding never
// panics, and that valid UTF-8 comes back from Decode as llama.cpp's
// detokenizer gives it: exactly for SPM, after space clean-up for BPE.
func FuzzEncode(f *testing.F) {
	dir := testenv.Fixtures(f, "llama")
	inps, _ := filepath.Glob(filepath.Join(dir, "tokenizer", "*.inp"))
	for _, inp := range inps {
		for _, c := range readVectors(f, inp) {
			f.Add(c.input)
		}
	}
	f.Add("<s>he<|endoftext|>llo</s>\xff\xc3")
	var toks []*Tokenizer
	for _, p := range fixtureVocabs(f) {
		toks = append(toks, load(f, p))
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 2048 {
			t.Skip("long inputs only slow minimization down; the splitters and merges are local")
		}
		for _, tok := range toks {
			tok.Encode(text, true, true)
			ids := tok.Encode(text, false, false)
			if !utf8.ValidString(text) {
				tok.Decode(ids)
				continue
			}
			want := text
			if tok.cleanSpaces {
				want = string(cleanSpaces([]byte(text)))
			}
			if got := tok.Decode(ids); got != want {
				t.Fatalf("%s: Decode(Encode(%q)) = %q, want %q", tok.vocab.Model, text, got, want)
			}
		}
	})
}
