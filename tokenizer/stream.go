package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// StreamDecoder turns ids arriving one at a time into text. Byte-fallback
// and byte-level tokens can split a character across tokens, so it holds
// back an incomplete UTF-8 sequence at the end until the rest arrives.
// Pieces are concatenated as Piece gives them (no leading-space removal or
// space clean-up, as llama.cpp's server streams them). Bytes that cannot
// become valid UTF-8 come out as U+FFFD.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte
}

// NewStreamDecoder returns a decoder with nothing pending.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t}
}

// Add feeds one id and returns the text it completes (possibly "").
// Invalid ids add nothing.
func (d *StreamDecoder) Add(id int32) string {
	if !d.t.valid(id) {
		return ""
	}
	d.pending = d.t.appendPiece(d.pending, id)
	cut := completePrefix(d.pending)
	out := strings.ToValidUTF8(string(d.pending[:cut]), "\uFFFD")
	d.pending = append(d.pending[:0], d.pending[cut:]...)
	return out
}

// Flush returns whatever is held back, U+FFFD for an incomplete character,
// and resets the decoder.
func (d *StreamDecoder) Flush() string {
	out := strings.ToValidUTF8(string(d.pending), "\uFFFD")
	d.pending = d.pending[:0]
	return out
}

// completePrefix returns the length of b without a trailing incomplete
// (but so far valid) UTF-8 sequence.
func completePrefix(b []byte) int {
	// The last character starts at most UTFMax-1 bytes before the end.
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}
