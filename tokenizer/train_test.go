package tokenizer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/internal/testenv"
)

// repeatLines returns each word followed by "\n", n times, interleaved.
func repeatLines(words map[string]int) string {
	var sb strings.Builder
	keys := make([]string, 0, len(words))
	for w := range words {
		keys = append(keys, w)
	}
	slices.Sort(keys)
	for more := true; more; {
		more = false
		for _, w := range keys {
			if words[w] > 0 {
				sb.WriteString(w + "\n")
				words[w]--
				more = true
			}
		}
	}
	return sb.String()
}

func TestTrainHandComputedMerges(t *testing.T) {
	cases := []struct {
		name   string
		text   string
		pre    string
		merges []string
	}{{
		// Pairs: ug 20, pu 17, un 16, hu 15 → "u g"; then un 16 → "u n";
		// h+ug 15; p+un 12; then p+ug and hug+s tie at 5 and p (112) < hug (258).
		name:   "hug-pug-pun-bun",
		text:   repeatLines(map[string]int{"hug": 10, "pug": 5, "pun": 12, "bun": 4, "hugs": 5}),
		merges: []string{"u g", "u n", "h ug", "p un", "p ug", "hug s", "b un"},
	}, {
		name:   "tie goes to the smaller left id",
		text:   "cd\nab\ncd\nab\n",
		merges: []string{"a b", "c d"},
	}, {
		name:   "overlapping pair merges left to right",
		text:   "aaa aaa aaa",
		pre:    "gpt-2",
		merges: []string{"a a", "aa a", "Ġ aaa"},
	}, {
		name:   "spaces become Ġ and pre-tokens never merge across",
		text:   " to to to",
		merges: []string{"Ġ t", "Ġt o"},
	}, {
		name:   "special and ignored texts are cut out",
		text:   "xy<|endoftext|>xy<|im_end|>zw",
		merges: []string{"x y"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, stats, err := Train(context.Background(), strings.NewReader(c.text),
				TrainOptions{VocabSize: 1000, Pre: c.pre, Ignore: []string{"<|endoftext|>"}})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(v.Merges, c.merges) {
				t.Errorf("merges = %q, want %q", v.Merges, c.merges)
			}
			if stats.Merges != len(c.merges) || len(v.Tokens) != 256+len(c.merges)+4 {
				t.Errorf("%d merges, %d tokens; want %d merges and %d tokens", stats.Merges, len(v.Tokens), len(c.merges), 256+len(c.merges)+4)
			}
		})
	}
}

func TestTrainVocabLayout(t *testing.T) {
	v, _, err := Train(context.Background(), strings.NewReader("hello hello world"),
		TrainOptions{VocabSize: 300, Reserved: 3, Specials: []string{"<tool>"}})
	if err != nil {
		t.Fatal(err)
	}
	tok := mustNew(t, v)
	for b := range 256 {
		if got := tok.Piece(int32(b)); !bytes.Equal(got, []byte{byte(b)}) {
			t.Fatalf("token %d piece = %q, want byte %#x", b, got, b)
		}
	}
	n := int32(len(v.Tokens))
	want := []string{BOSText, EOSText, IMStartText, IMEndText, "<|reserved_0|>", "<|reserved_1|>", "<|reserved_2|>", "<tool>"}
	if got := v.Tokens[n-8:]; !slices.Equal(got, want) {
		t.Fatalf("last tokens = %q, want %q", got, want)
	}
	for i := n - 8; i < n; i++ {
		if v.Types[i] != TypeControl {
			t.Errorf("token %q type %d, want control", v.Tokens[i], v.Types[i])
		}
	}
	if tok.BOS() != n-8 || tok.EOS() != n-7 || tok.EOT() != n-5 || !tok.AddBOS() || !tok.IsEOG(n-5) {
		t.Errorf("bos %d eos %d eot %d addBOS %v; want %d %d %d true", tok.BOS(), tok.EOS(), tok.EOT(), tok.AddBOS(), n-8, n-7, n-5)
	}
	if got := tok.Encode("<|im_start|>user", false, true); got[0] != n-6 {
		t.Errorf("<|im_start|> encodes to %v, want %d first", got, n-6)
	}
}

func TestTrainOptionErrors(t *testing.T) {
	cases := []struct {
		name string
		opts TrainOptions
		want string
	}{
		{"vocab too small", TrainOptions{VocabSize: 259}, "below"},
		{"unknown pre-tokenizer", TrainOptions{VocabSize: 300, Pre: "nope"}, "unsupported"},
		{"repeated special", TrainOptions{VocabSize: 300, Specials: []string{BOSText}}, "repeated"},
		{"negative reserved", TrainOptions{VocabSize: 300, Reserved: -1}, "reserved"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewTrainer(c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestSafeCut(t *testing.T) {
	cases := []struct {
		in   string
		want int
	}{
		{"abc\ndef", 4},
		{"abc\n\ndef", 0},
		{"abc \ndef", 0},
		{"abc\n def", 0},
		{"a\nb\n\nc", 2},
		{"a.\n«b", 3},
		{"a\n\u00a0b", 0},
		{"no newline", 0},
		{"ends\n", 0},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			if got := SafeCut([]byte(c.in)); got != c.want {
				t.Fatalf("SafeCut(%q) = %d, want %d", c.in, got, c.want)
			}
		})
	}
}

// TestSafeCutKeepsPreTokens checks the claim SafeCut makes, for every
// supported pre-tokenizer, on text full of newlines, spaces and punctuation.
func TestSafeCutKeepsPreTokens(t *testing.T) {
	text := "Once upon a time.\nThe end!\n\n  \"Hi,\" she said.\n'Tis 1234 apples\r\n\tok\nyes\n«b» x\n"
	for _, name := range PreTokenizers() {
		split := pretokenizers[name].split
		words := func(s string) []string {
			cpts := decodeCpts(nil, s)
			var out []string
			start := 0
			for _, n := range split(cpts, []int{len(cpts)}) {
				out = append(out, string(cpts[start:start+n]))
				start += n
			}
			return out
		}
		whole := words(text)
		for rest := text; ; {
			n := SafeCut([]byte(rest))
			if n == 0 {
				break
			}
			if got := append(words(text[:n]), words(text[n:])...); !slices.Equal(got, whole) {
				t.Fatalf("%s: cut at %d changes pre-tokens:\n%q\nwant\n%q", name, n, got, whole)
			}
			rest = rest[:n-1]
		}
	}
}

func TestTrainReadFromMatchesAddText(t *testing.T) {
	var sb strings.Builder
	for i := range 40000 {
		sb.WriteString("Tom and Sue went to the park")
		if i%7 == 0 {
			sb.WriteString(" \n\n")
		}
		sb.WriteString(".\nThey played.\n")
	}
	text := sb.String() // several chunks
	a, err := NewTrainer(TrainOptions{VocabSize: 400})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ReadFrom(strings.NewReader(text)); err != nil {
		t.Fatal(err)
	}
	b, _ := NewTrainer(TrainOptions{VocabSize: 400})
	b.AddText(text)
	if a.bytes != b.bytes || !slices.Equal(a.words, b.words) || !slices.Equal(a.counts, b.counts) {
		t.Fatalf("streamed counts differ: %d bytes %d words vs %d bytes %d words", a.bytes, len(a.words), b.bytes, len(b.words))
	}
}

func TestTrainDeterministic(t *testing.T) {
	text := repeatLines(map[string]int{"the cat": 9, "the hat": 9, "that": 9, "cats hats": 4, "ab": 3, "ba": 3})
	first, _, err := Train(context.Background(), strings.NewReader(text), TrainOptions{VocabSize: 320})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, _, err := Train(context.Background(), strings.NewReader(text), TrainOptions{VocabSize: 320})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(first.Merges, again.Merges) || !slices.Equal(first.Tokens, again.Tokens) {
			t.Fatalf("training twice gave different vocabularies:\n%q\n%q", first.Merges, again.Merges)
		}
	}
}

// writeAndLoad writes v as a GGUF file and loads it back through FromGGUF.
func writeAndLoad(t *testing.T, v Vocab) *Tokenizer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tok.gguf")
	if err := v.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if arch, _ := f.String("general.architecture"); arch != "llama" {
		t.Errorf("general.architecture = %q, want llama", arch)
	}
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	back := tok.Vocab()
	if !slices.Equal(back.Tokens, v.Tokens) || !slices.Equal(back.Merges, v.Merges) || !slices.Equal(back.Types, v.Types) ||
		back.Pre != v.Pre || back.AddBOS != v.AddBOS || back.AddEOS != v.AddEOS || len(back.Special) != len(v.Special) {
		t.Fatalf("vocabulary changed through GGUF")
	}
	for role, id := range v.Special {
		if back.Special[role] != id {
			t.Errorf("%s = %d after GGUF, want %d", role, back.Special[role], id)
		}
	}
	return tok
}

// roundTrip checks that the pieces of text's tokens spell text again.
func roundTrip(t *testing.T, tok *Tokenizer, text string) []int32 {
	t.Helper()
	ids := tok.Encode(text, false, false)
	var got []byte
	for _, id := range ids {
		got = append(got, tok.Piece(id)...)
	}
	if string(got) != text {
		t.Fatalf("%q encodes to %v, whose pieces spell %q", text, ids, got)
	}
	return ids
}

func TestTrainedTokenizerThroughGGUF(t *testing.T) {
	text := strings.Repeat("Lily and Ben found a shiny red ball. \"Look!\" said Lily.\n", 50) +
		"Über café — naïve 日本語 😀 1234567\n"
	for _, pre := range []string{"llama-bpe", "gpt-2", "qwen2", "default"} {
		t.Run(pre, func(t *testing.T) {
			v, _, err := Train(context.Background(), strings.NewReader(text), TrainOptions{VocabSize: 400, Pre: pre, Reserved: 2})
			if err != nil {
				t.Fatal(err)
			}
			tok := writeAndLoad(t, v)
			// Every valid UTF-8 text, including every byte value as part of
			// some character, comes back from its tokens.
			var all []byte
			for c := rune(0); c < 0x80; c++ {
				all = utf8.AppendRune(all, c)
			}
			for _, c := range []rune{0x80, 0xBF, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF, 0x3FFFF, 0xFFFFD} {
				all = utf8.AppendRune(all, c)
			}
			for b := 0x80; b < 0xC0; b++ { // every continuation byte
				all = append(all, 0xE0|0x0A, byte(b), 0x80)
			}
			for b := 0xC2; b <= 0xF4; b++ { // every lead byte
				all = utf8.AppendRune(all, firstRuneWithLead(byte(b)))
			}
			for _, s := range []string{string(all), text, "Lily found it.", "", "  \n\n\t x"} {
				roundTrip(t, tok, s)
			}
			if ids := roundTrip(t, tok, "Lily and Ben"); len(ids) >= len("Lily and Ben") {
				t.Errorf("trained tokenizer does not compress: %v", ids)
			}
		})
	}
}

// firstRuneWithLead returns a rune whose UTF-8 form starts with lead.
func firstRuneWithLead(lead byte) rune {
	for c := rune(0x80); c <= utf8.MaxRune; c++ {
		var b [4]byte
		if utf8.ValidRune(c) && utf8.EncodeRune(b[:], c) > 0 && b[0] == lead {
			return c
		}
	}
	panic("no rune")
}

// TestTrainMatchesEncode checks that the segmentation training ends with is
// the one Encode produces from the merges (gpt-2 splitting: no whole-word
// shortcut), so the reported compression is what encoding achieves.
func TestTrainMatchesEncode(t *testing.T) {
	path := testenv.Data(t, "tinystories", "train_head_2mib.txt")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text = text[:200<<10]
	tr, err := NewTrainer(TrainOptions{VocabSize: 700, Pre: "gpt-2", Ignore: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	tr.AddText(string(text))
	v, stats, err := tr.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok := mustNew(t, v)
	var n int64
	for _, doc := range strings.Split(string(text), "<|endoftext|>") {
		n += int64(len(tok.Encode(doc, false, false)))
	}
	if n != stats.Tokens {
		t.Fatalf("Encode gives %d tokens, training reported %d", n, stats.Tokens)
	}
}

func TestTrainTinyStories(t *testing.T) {
	path := testenv.Data(t, "tinystories", "train_head_2mib.txt")
	for _, size := range []int{512, 4096} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var r io.Reader = f
			if testing.Short() {
				r = io.LimitReader(f, 512<<10)
			}
			start := time.Now()
			v, stats, err := Train(context.Background(), r, TrainOptions{VocabSize: size, Reserved: 4, Ignore: []string{"<|endoftext|>"}})
			if err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(start)
			if len(v.Tokens) != size {
				t.Errorf("%d tokens, want %d", len(v.Tokens), size)
			}
			t.Logf("vocab %d: %d merges, %d distinct pre-tokens, %.2f bytes/token, %v", size, stats.Merges, stats.Words, stats.BytesPerToken(), elapsed)
			if elapsed > 15*time.Second {
				t.Errorf("training took %v", elapsed)
			}
			tok := writeAndLoad(t, v)
			ids := roundTrip(t, tok, "Once upon a time, there was a little girl named Lily. She loved to play outside.")
			if size == 4096 && len(ids) > 20 {
				t.Errorf("a plain TinyStories sentence takes %d tokens: %v", len(ids), ids)
			}
		})
	}
}

func BenchmarkTrain(b *testing.B) {
	path := testenv.Data(b, "tinystories", "train_head_2mib.txt")
	text, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	text = text[:512<<10]
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, _, err := Train(context.Background(), bytes.NewReader(text), TrainOptions{VocabSize: 2048}); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleTrain() {
	text := "hug hug pug hugs"
	v, stats, err := Train(context.Background(), strings.NewReader(text), TrainOptions{VocabSize: 300, Pre: "gpt-2"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", v.Merges)
	fmt.Printf("%d tokens, %.2f bytes/token\n", len(v.Tokens), stats.BytesPerToken())
	// Output:
	// ["u g" "h ug" "Ġ hug"]
	// 263 tokens, 2.29 bytes/token
}

func TestVocabWriteFile(t *testing.T) {
	spm := Vocab{Model: ModelSPM, Tokens: []string{"<unk>", "<s>", "</s>", "▁a", "b"},
		Scores: []float32{0, 0, 0, -1, -2}, Types: []TokenType{TypeUnknown, TypeControl, TypeControl, TypeNormal, TypeNormal},
		Special: map[string]int32{"unknown": 0, "bos": 1, "eos": 2}, AddBOS: true, AddSpacePrefix: false, Name: "tiny", Arch: "llama"}
	path := filepath.Join(t.TempDir(), "spm.gguf")
	if err := spm.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := ReadVocab(f)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Tokens, spm.Tokens) || !slices.Equal(back.Scores, spm.Scores) || !slices.Equal(back.Types, spm.Types) ||
		back.AddSpacePrefix || !back.AddBOS || back.Name != "tiny" || len(back.Special) != 3 {
		t.Fatalf("read back %+v", back)
	}

	bad := Vocab{Model: ModelBPE, Pre: "llama-bpe", Tokens: []string{"a", "a"}}
	if err := bad.WriteFile(filepath.Join(t.TempDir(), "bad.gguf")); err == nil || !strings.Contains(err.Error(), "same text") {
		t.Fatalf("writing a vocabulary with a repeated token: err = %v", err)
	}
}
