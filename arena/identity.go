package arena

import (
	"path"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// NamesItself reports whether answer mentions the model called modelName,
// which would tell the voter who wrote it. Both sides are normalised first:
// case and full-width forms folded, invisible format characters dropped, and
// punctuation taken as word breaks, so "LLaMA-3", "llama 3" and "Ｌｌａｍａ3"
// all name llama-3.1-8b-instruct.Q4_K_M.gguf.
//
// A model name yields its family (the letters leading its first word: "qwen"
// from "Qwen2.5-7B-Instruct") and that first word itself ("qwen2"); a
// directory, a file extension and a generic first word ("open", "chat" …)
// are skipped. An answer word counts when it equals one of those names or is
// the name followed by digits ("llama3", "qwen25"), so "llamas" does not
// name llama. Any mention counts, not only "I am …": like FastChat, which
// drops battles whose answers contain identity words, this errs towards
// voiding, since a mention in passing unblinds the vote just the same.
func NamesItself(answer, modelName string) bool {
	names := identityNames(modelName)
	if len(names) == 0 {
		return false
	}
	for _, w := range words(answer) {
		for _, n := range names {
			if rest, ok := strings.CutPrefix(w, n); ok && allDigits(rest) {
				return true
			}
		}
	}
	return false
}

// genericWords are too common to identify a model when they open its name.
var genericWords = []string{"open", "the", "my", "chat", "model", "base", "instruct", "hf", "gguf", "ggml"}

// identityNames derives the words by which an answer could name the model.
func identityNames(modelName string) []string {
	base := path.Base(strings.ReplaceAll(modelName, `\`, "/"))
	for _, ext := range []string{".gguf", ".bin", ".safetensors"} {
		if len(base) > len(ext) && strings.EqualFold(base[len(base)-len(ext):], ext) {
			base = base[:len(base)-len(ext)]
		}
	}
	ws := words(base)
	for len(ws) > 0 && (slices.Contains(genericWords, ws[0]) || len([]rune(ws[0])) < 2) {
		ws = ws[1:]
	}
	if len(ws) == 0 {
		return nil
	}
	first := ws[0]
	family := first
	if i := strings.IndexFunc(first, func(r rune) bool { return !unicode.IsLetter(r) }); i >= 0 {
		family = first[:i]
	}
	names := []string{first}
	// A family shorter than three letters ("o" of "o1") would match far
	// too much; the whole first word still counts.
	if family != first && len([]rune(family)) >= 3 {
		names = append(names, family)
	}
	return names
}

// words splits s into lower-case runs of letters and digits.
func words(s string) []string {
	s = strings.ToLower(width.Fold.String(s))
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur.WriteRune(r)
		case unicode.Is(unicode.Cf, r):
			// Zero-width joiners and the like would otherwise split a
			// name without showing it split.
		default:
			flush()
		}
	}
	flush()
	return out
}

func allDigits(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}
