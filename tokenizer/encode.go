package tokenizer

import (
	"strings"
	"sync"
)

// fragment is a piece of the input after special-token partitioning: either
// a token (tok >= 0) or the raw text s[lo:hi].
type fragment struct {
	tok    int32
	lo, hi int
}

// Encode tokenizes text like llama_tokenize. With addSpecial it adds BOS
// and EOS as the vocabulary asks (AddBOS, AddEOS). With parseSpecial,
// control-token texts inside text (such as "<|eot_id|>") become those
// tokens; user-defined tokens are always recognised, as in llama.cpp.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	frags := t.partition(text, parseSpecial)
	out := make([]int32, 0, len(text)/3+2)
	if addSpecial && t.vocab.AddBOS {
		out = append(out, t.bos)
	}
	if t.spm {
		e := spmPool.Get().(*spmEncoder)
		defer spmPool.Put(e)
		e.t = t
		prevSpecial := true // the start of the input counts as following a special token
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, f.tok)
				prevSpecial = true
				continue
			}
			out = e.encode(out, text[f.lo:f.hi], t.vocab.AddSpacePrefix && prevSpecial)
			prevSpecial = false
		}
	} else {
		e := bpePool.Get().(*bpeEncoder)
		defer bpePool.Put(e)
		e.t = t
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, f.tok)
				continue
			}
			out = e.encode(out, text[f.lo:f.hi])
		}
	}
	if addSpecial && t.vocab.AddEOS {
		out = append(out, t.eos)
	}
	return out
}

// Scratch space of encoders, reused across calls and tokenizers.
var (
	spmPool = sync.Pool{New: func() any { return new(spmEncoder) }}
	bpePool = sync.Pool{New: func() any { return new(bpeEncoder) }}
)

// partition splits text at occurrences of special tokens, longest token
// text first, like llama.cpp's tokenizer_st_partition.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	if text == "" {
		return nil
	}
	frags := []fragment{{tok: NoToken, lo: 0, hi: len(text)}}
	var next []fragment
	for _, id := range t.special {
		a := t.attrs[id]
		if !parseSpecial && a&(attrControl|attrUnknown) != 0 {
			continue
		}
		tok := t.vocab.Tokens[id]
		found := false
		next = next[:0]
		for _, f := range frags {
			if f.tok >= 0 {
				next = append(next, f)
				continue
			}
			lo, hi := f.lo, f.hi
			for lo < hi {
				m := strings.Index(text[lo:hi], tok)
				if m < 0 {
					break
				}
				found = true
				m += lo
				left := m
				if a&attrLStrip != 0 {
					for left > lo && isCSpace(text[left-1]) {
						left--
					}
				}
				if left > lo {
					next = append(next, fragment{tok: NoToken, lo: lo, hi: left})
				}
				next = append(next, fragment{tok: id})
				lo = m + len(tok)
				if a&attrRStrip != 0 {
					for lo < hi && isCSpace(text[lo]) {
						lo++
					}
				}
			}
			if lo < hi {
				next = append(next, fragment{tok: NoToken, lo: lo, hi: hi})
			}
		}
		if found {
			frags, next = next, frags
		}
	}
	return frags
}

// isCSpace is C's isspace in the "C" locale.
func isCSpace(b byte) bool {
	return b == ' ' || (b >= '\t' && b <= '\r')
}

// Piece returns the bytes a token stands for, like llama_token_to_piece
// with special=true: byte tokens give their byte, SPM's "▁" gives a space,
// byte-level BPE text is mapped back to bytes, and control tokens give
// their text. An invalid id gives nil.
func (t *Tokenizer) Piece(id int32) []byte {
	if !t.valid(id) {
		return nil
	}
	return t.appendPiece(nil, id)
}

func (t *Tokenizer) appendPiece(dst []byte, id int32) []byte {
	a := t.attrs[id]
	text := t.vocab.Tokens[id]
	switch {
	case a&(attrUnknown|attrControl|attrUserDefined) != 0:
		return append(dst, text...)
	case a&attrNormal != 0:
		if t.spm {
			return appendUnescaped(dst, text)
		}
		return appendByteDecoded(dst, text)
	case a&attrByte != 0:
		return append(dst, byteTokenValue(text))
	}
	// Unused and undefined tokens render as nothing.
	return dst
}

// appendUnescaped appends text with every "▁" turned back into a space.
func appendUnescaped(dst []byte, text string) []byte {
	for {
		i := strings.Index(text, spmSpace)
		if i < 0 {
			return append(dst, text...)
		}
		dst = append(dst, text[:i]...)
		dst = append(dst, ' ')
		text = text[i+len(spmSpace):]
	}
}

// byteTokenValue parses the hex digits of a "<0xXX>" token the way
// llama.cpp's strtol does: up to two digits, stopping at the first non-digit.
func byteTokenValue(text string) byte {
	var v byte
	for i := 3; i < len(text) && i < 5; i++ {
		d, ok := hexDigit(text[i])
		if !ok {
			break
		}
		v = v<<4 | d
	}
	return v
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Decode turns ids into text like llama.cpp's common_detokenize with
// special=true (llama_detokenize with remove_special=false and
// unparse_special=true): control tokens are rendered, a leading space that
// SPM added is removed from the first token, and for vocabularies that ask
// for it (gpt-2, llama-bpe …) spaces before punctuation and contractions are
// cleaned up. Invalid ids are skipped. The result may hold invalid UTF-8 when
// the ids split a character.
func (t *Tokenizer) Decode(ids []int32) string {
	var buf []byte
	removeSpace := t.vocab.AddSpacePrefix
	for _, id := range ids {
		if !t.valid(id) {
			continue
		}
		start := len(buf)
		buf = t.appendPiece(buf, id)
		if removeSpace && len(buf) > start && buf[start] == ' ' {
			buf = append(buf[:start], buf[start+1:]...)
		}
		removeSpace = false
	}
	if t.cleanSpaces {
		buf = cleanSpaces(buf)
	}
	return string(buf)
}

// cleanSpaces is llama.cpp's clean_up_tokenization_spaces, done in place
// in the same three passes so that their interplay matches: drop the space
// in " ?", " !", " .", " ,"; turn " ' " into "'"; drop the space before the
// contractions 's, 'm, 're, 've.
func cleanSpaces(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	n := 1
	for i := 1; i < len(b); i++ {
		x := b[i]
		if b[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',') {
			n--
		}
		b[n] = x
		n++
	}
	b = b[:n]

	n = 1
	for i := 1; i < len(b); i++ {
		x := b[i]
		if x == '\'' && i+1 < len(b) && b[i-1] == ' ' && b[i+1] == ' ' {
			n--
			// The skipped space is overwritten, so the next character
			// never sees a space before it.
			i++
			b[i] = 0
		}
		b[n] = x
		n++
	}
	b = b[:n]

	n = 1
	for i := 1; i < len(b); i++ {
		x := b[i]
		if b[i-1] == ' ' && x == '\'' && i+1 < len(b) {
			x1 := b[i+1]
			if x1 == 's' || x1 == 'm' || (i+2 < len(b) && (x1 == 'r' || x1 == 'v') && b[i+2] == 'e') {
				n--
			}
		}
		b[n] = x
		n++
	}
	return b[:n]
}
