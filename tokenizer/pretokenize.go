package tokenizer

import (
	"slices"
	"unicode"
)

// A pretokenizer splits code points into words. frags holds the lengths of
// the pieces to split (each is split on its own, as llama.cpp applies a list
// of regexes one after another); it returns the lengths of the words.
type pretokenizer func(cpts []rune, frags []int) []int

// preTokenizer is what a tokenizer.ggml.pre name selects in llama.cpp.
type preTokenizer struct {
	split        pretokenizer
	ignoreMerges bool // look a whole word up in the vocabulary before merging
	cleanSpaces  bool // clean up spaces when decoding
	addBOS       bool // llama.cpp's default for add_bos_token
	noBOS        bool // llama.cpp's default BOS id is none
}

// pretokenizers maps the tokenizer.ggml.pre names llama.cpp accepts to the
// splitting they select, for the three regexes implemented here (Llama 3,
// Qwen2, GPT-2) and llama.cpp's default.
var pretokenizers = map[string]preTokenizer{}

func init() {
	add := func(p preTokenizer, names ...string) {
		for _, n := range names {
			pretokenizers[n] = p
		}
	}
	add(preTokenizer{split: splitDefault, cleanSpaces: true}, "", "default")
	add(preTokenizer{split: splitLlama3, ignoreMerges: true, cleanSpaces: true, addBOS: true},
		"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano")
	add(preTokenizer{split: splitLlama3, cleanSpaces: true}, "dbrx", "smaug-bpe")
	add(preTokenizer{split: splitLlama3, cleanSpaces: true, noBOS: true}, "glm4", "chatglm-bpe")
	add(preTokenizer{split: splitGPT2, cleanSpaces: true},
		"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
		"modern-bert", "mpt", "olmo", "jais", "exaone4")
	add(preTokenizer{split: splitGPT2}, "trillion", "granite-docling")
	add(preTokenizer{split: splitQwen2}, "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2")
	add(preTokenizer{split: splitQwen2, cleanSpaces: true}, "megrez", "stablelm2")
}

// PreTokenizers lists the supported tokenizer.ggml.pre names, sorted.
func PreTokenizers() []string {
	var names []string
	for n := range pretokenizers {
		if n != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// decodeCpt decodes one code point at s[i] like llama.cpp's
// unicode_cpt_from_utf8: lenient (no overlong or surrogate checks), and an
// invalid sequence yields U+FFFD for one byte. Sequences above U+10FFFF,
// which make llama.cpp throw, also yield U+FFFD for one byte.
func decodeCpt(s string, i int) (rune, int) {
	b := s[i]
	switch {
	case b&0x80 == 0:
		return rune(b), 1
	case b&0x40 == 0:
		return unicode.ReplacementChar, 1
	case b&0x20 == 0:
		if i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			return rune(b&0x1F)<<6 | rune(s[i+1]&0x3F), 2
		}
	case b&0x10 == 0:
		if i+2 < len(s) && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 {
			return rune(b&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), 3
		}
	case b&0x08 == 0:
		if i+3 < len(s) && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 && s[i+3]&0xC0 == 0x80 {
			c := rune(b&0x07)<<18 | rune(s[i+1]&0x3F)<<12 | rune(s[i+2]&0x3F)<<6 | rune(s[i+3]&0x3F)
			if c <= unicode.MaxRune {
				return c, 4
			}
		}
	}
	return unicode.ReplacementChar, 1
}

func decodeCpts(dst []rune, s string) []rune {
	for i := 0; i < len(s); {
		c, n := decodeCpt(s, i)
		dst = append(dst, c)
		i += n
	}
	return dst
}

// appendCpt encodes a code point like llama.cpp's unicode_cpt_to_utf8,
// which unlike utf8.AppendRune keeps surrogates as they are.
func appendCpt(dst []byte, c rune) []byte {
	switch {
	case c < 0x80:
		return append(dst, byte(c))
	case c < 0x800:
		return append(dst, 0xC0|byte(c>>6), 0x80|byte(c&0x3F))
	case c < 0x10000:
		return append(dst, 0xE0|byte(c>>12), 0x80|byte(c>>6&0x3F), 0x80|byte(c&0x3F))
	}
	return append(dst, 0xF0|byte(c>>18), 0x80|byte(c>>12&0x3F), 0x80|byte(c>>6&0x3F), 0x80|byte(c&0x3F))
}

// class holds the Unicode properties the splitters test. inRange is set for
// every position inside the piece being split, so a zero class means "past
// the end" (llama.cpp's empty unicode_cpt_flags).
type class uint8

const (
	inRange class = 1 << iota
	letter
	number
	space
	punct
)

var asciiClass [128]class

func init() {
	for c := range asciiClass {
		asciiClass[c] = classify(rune(c))
	}
}

func classify(c rune) class {
	k := inRange
	switch {
	case unicode.IsLetter(c):
		k |= letter
	case unicode.IsNumber(c):
		k |= number
	case unicode.IsPunct(c):
		k |= punct
	}
	if isSpace(c) {
		k |= space
	}
	return k
}

// isSpace is llama.cpp's whitespace set (unicode_set_whitespace).
func isSpace(c rune) bool {
	switch c {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return c >= 0x2000 && c <= 0x200A
}

// scan walks one piece cpts[lo:hi] and records word boundaries.
type scan struct {
	cpts   []rune
	lo, hi int
	prev   int
	out    []int
}

const outOfRange = -1

func (s *scan) at(p int) rune {
	if p >= s.lo && p < s.hi {
		return s.cpts[p]
	}
	return outOfRange
}

func (s *scan) cls(p int) class {
	if p < s.lo || p >= s.hi {
		return 0
	}
	if c := s.cpts[p]; c < 128 {
		return asciiClass[c]
	}
	return classify(s.cpts[p])
}

// add ends a word at end and returns its length.
func (s *scan) add(end int) int {
	n := end - s.prev
	if n > 0 {
		s.out = append(s.out, n)
	}
	s.prev = end
	return n
}

// contraction returns the length (2 or 3) of 's 't 're 've 'm 'll 'd at p,
// or 0. With fold it matches either case, as (?i:...) does; only ASCII
// letters fold to these, so ASCII folding is exact.
func (s *scan) contraction(p int, fold bool) int {
	if s.at(p) != '\'' || p+1 >= s.hi {
		return 0
	}
	lower := func(c rune) rune {
		if fold && c >= 'A' && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	switch lower(s.at(p + 1)) {
	case 's', 't', 'm', 'd':
		return 2
	}
	if p+2 < s.hi {
		a, b := lower(s.at(p+1)), lower(s.at(p+2))
		if (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') {
			return 3
		}
	}
	return 0
}

// eachPiece walks every piece of frags with step, which records the word
// starting at pos and returns the position after it; it collects the words.
func eachPiece(cpts []rune, frags []int, step func(s *scan, pos int) int) []int {
	s := scan{cpts: cpts, out: make([]int, 0, len(frags))}
	start := 0
	for _, n := range frags {
		s.lo, s.hi, s.prev = start, start+n, start
		for pos := s.lo; pos < s.hi; {
			pos = step(&s, pos)
		}
		start += n
	}
	return s.out
}

// splitGPT2 implements GPT-2's pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// as llama.cpp's unicode_regex_split_custom_gpt2 does.
func splitGPT2(cpts []rune, frags []int) []int {
	return eachPiece(cpts, frags, func(s *scan, pos int) int {
		if n := s.contraction(pos, false); n > 0 {
			return pos + s.add(pos+n)
		}
		c, k := s.at(pos), s.cls(pos)
		if c == ' ' {
			k = s.cls(pos + 1)
		}
		if k&(letter|number) != 0 || (k&(space|letter|number) == 0 && k != 0) {
			// One run of letters, digits or other symbols, after an optional space.
			want := k & (letter | number)
			if c == ' ' {
				pos++
			}
			for k != 0 && (want != 0 && k&want != 0 || want == 0 && k&(space|letter|number) == 0) {
				pos++
				k = s.cls(pos)
			}
			s.add(pos)
			return pos
		}
		return s.spaces(pos, false)
	})
}

// spaces handles the whitespace alternatives at pos: with newlines,
// \s*[\r\n]+ first; then \s+(?!\S) (all but the last space when a non-space
// follows) and \s+; else a single unmatched code point. It returns the new
// position.
func (s *scan) spaces(pos int, newlines bool) int {
	n, lastNL := 0, 0
	for s.cls(pos+n)&space != 0 {
		if c := s.at(pos + n); newlines && (c == '\r' || c == '\n') {
			lastNL = pos + n + 1
		}
		n++
	}
	switch {
	case lastNL > 0:
		pos = lastNL
	case n > 1 && s.at(pos+n) != outOfRange:
		pos += n - 1
	case n > 0:
		pos += n
	default:
		pos++
	}
	s.add(pos)
	return pos
}

// splitLlama3 implements Llama 3's pattern
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// as llama.cpp's unicode_regex_split_custom_llama3 does.
func splitLlama3(cpts []rune, frags []int) []int { return splitModern(cpts, frags, 3) }

// splitQwen2 is splitLlama3 with single digits (\p{N} instead of \p{N}{1,3}),
// as llama.cpp's unicode_regex_split_custom_qwen2.
func splitQwen2(cpts []rune, frags []int) []int { return splitModern(cpts, frags, 1) }

func splitModern(cpts []rune, frags []int, digits int) []int {
	return eachPiece(cpts, frags, func(s *scan, pos int) int {
		if n := s.contraction(pos, true); n > 0 {
			return pos + s.add(pos+n)
		}
		c, k := s.at(pos), s.cls(pos)
		// [^\r\n\p{L}\p{N}]?\p{L}+
		if c != '\r' && c != '\n' && k&number == 0 && (k&letter != 0 || s.cls(pos+1)&letter != 0) {
			pos++
			for s.cls(pos)&letter != 0 {
				pos++
			}
			s.add(pos)
			return pos
		}
		// \p{N}{1,digits}
		if k&number != 0 {
			ini := pos
			for s.cls(pos)&number != 0 {
				pos++
				if pos-ini >= digits {
					s.add(pos)
					ini = pos
				}
			}
			s.add(pos)
			return pos
		}
		// ' ?[^\s\p{L}\p{N}]+[\r\n]*'; llama.cpp tests the space's own class
		// for "in range", so a final lone space also lands here.
		k2 := k
		if c == ' ' {
			k2 = s.cls(pos + 1)
		}
		if k2&(space|letter|number) == 0 {
			if c == ' ' {
				pos++
			}
			for k2 != 0 && k2&(space|letter|number) == 0 {
				pos++
				k2 = s.cls(pos)
			}
			for c2 := s.at(pos); c2 == '\r' || c2 == '\n'; c2 = s.at(pos) {
				pos++
			}
			s.add(pos)
			return pos
		}
		return s.spaces(pos, true)
	})
}

// splitDefault is llama.cpp's pre-tokenizer for BPE vocabularies without a
// known name: four regexes applied in turn,
//
//	[\p{P}\$\+<=>\^~\|]+
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
//	\p{N}+
//	[0-9][0-9][0-9]
//
// each splitting the pieces the previous one produced into its matches and
// the text between them.
func splitDefault(cpts []rune, frags []int) []int {
	frags = splitRuns(cpts, frags, func(c rune) bool {
		if c < 128 {
			return asciiClass[c]&punct != 0 || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '|' || c == '~'
		}
		return classify(c)&(punct|space) == punct
	})
	frags = splitGPT2(cpts, frags)
	frags = splitRuns(cpts, frags, func(c rune) bool {
		return classify(c)&(number|space) == number
	})
	// [0-9][0-9][0-9]: a match, or the text up to the next match.
	return eachPiece(cpts, frags, func(s *scan, pos int) int {
		digit := func(p int) bool { c := s.at(p); return c >= '0' && c <= '9' }
		if digit(pos) && digit(pos+1) && digit(pos+2) {
			pos += 3
		} else {
			for pos < s.hi && !(digit(pos) && digit(pos+1) && digit(pos+2)) {
				pos++
			}
		}
		s.add(pos)
		return pos
	})
}

// splitRuns splits each piece into maximal runs of code points matching in
// and the stretches between them (a "[class]+" regex).
func splitRuns(cpts []rune, frags []int, in func(rune) bool) []int {
	return eachPiece(cpts, frags, func(s *scan, pos int) int {
		m := in(s.cpts[pos])
		for pos < s.hi && in(s.cpts[pos]) == m {
			pos++
		}
		s.add(pos)
		return pos
	})
}
