package tokenizer

import "strings"

// spmSpace is U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space.
const spmSpace = "\u2581"

// spmEncoder holds scratch space reused across the fragments of one Encode.
type spmEncoder struct {
	t  *Tokenizer
	m  merger[float32]
	sb strings.Builder
}

// encode appends the tokens of one raw-text fragment, following llama.cpp's
// llm_tokenizer_spm_session: optional leading space, spaces to "▁", greedy
// merging of the best-scoring adjacent pair that is a token, then byte
// fallback for what is left.
func (e *spmEncoder) encode(out []int32, raw string, spacePrefix bool) []int32 {
	e.sb.Reset()
	if spacePrefix {
		e.sb.WriteString(spmSpace)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] == ' ' {
			e.sb.WriteString(spmSpace)
		} else {
			e.sb.WriteByte(raw[i])
		}
	}
	text := e.sb.String()
	// Higher scores merge first: the queue takes the lowest key.
	e.m.merge(text, func(text string, l, r symbol) (float32, bool) {
		id, ok := e.t.toID[text[l.lo:r.lo+r.n]]
		if !ok || len(e.t.vocab.Scores) == 0 {
			return 0, ok
		}
		return -e.t.vocab.Scores[id], true
	})
	// A merged symbol is always a token, so what remains here is a single
	// character missing from the vocabulary (llama.cpp's resegment finds no
	// recorded merge for it either): it falls back to byte tokens.
	return e.m.appendTokens(out, text, e.t.toID, e.t.byteToken)
}

// byteToken returns the token for a raw byte in an SPM vocabulary: "<0xXX>",
// else the one-byte text itself, else the unknown token (where llama.cpp
// would abort), else NoToken.
func (t *Tokenizer) byteToken(b byte) int32 {
	const hex = "0123456789ABCDEF"
	name := [6]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'}
	if id, ok := t.toID[string(name[:])]; ok {
		return id
	}
	if id, ok := t.toID[string([]byte{b})]; ok {
		return id
	}
	return t.unk
}

// utf8Len is the sequence length announced by a UTF-8 lead byte, as in
// llama.cpp's unicode_len_utf8 (continuation and invalid bytes count as 1).
func utf8Len(b byte) int {
	switch b >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}
