package tokenizer

const lowerHex = "0123456789abcdef"

// byteRune maps each byte to the rune GPT-2's byte-level BPE writes for it:
// printable Latin-1 bytes stand for themselves, the other 68 are shifted to
// U+0100 and up in byte order.
var byteRune [256]rune

// runeByte inverts byteRune; -1 marks runes that are not byte stand-ins.
var runeByte [256 + 68]int16

func init() {
	for i := range runeByte {
		runeByte[i] = -1
	}
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteRune[b] = rune(b)
		} else {
			byteRune[b] = 256 + n
			n++
		}
		runeByte[byteRune[b]] = int16(b)
	}
}

// appendByteDecoded maps byte-level BPE token text back to bytes like
// llama.cpp's llama_decode_text, including its "[UNK_BYTE_0x…]" marker for
// runes that are not byte stand-ins.
func appendByteDecoded(dst []byte, text string) []byte {
	for i := 0; i < len(text); {
		c, n := decodeCpt(text, i)
		i += n
		if c >= 0 && int(c) < len(runeByte) && runeByte[c] >= 0 {
			dst = append(dst, byte(runeByte[c]))
			continue
		}
		dst = append(dst, "[UNK_BYTE_0x"...)
		var utf [4]byte
		for _, b := range appendCpt(utf[:0], c) {
			dst = append(dst, lowerHex[b>>4], lowerHex[b&15])
		}
		dst = append(dst, text...)
		dst = append(dst, ']')
	}
	return dst
}

// bpeEncoder holds scratch space reused across the words of one Encode.
type bpeEncoder struct {
	t     *Tokenizer
	cpts  []rune
	words []int
	word  []byte
	key   []byte
	m     merger[int32]
}

// encode appends the tokens of one raw-text fragment, following llama.cpp's
// llm_tokenizer_bpe_session: split into pre-tokens, map bytes to their
// stand-in runes, then merge adjacent symbols by rank.
func (e *bpeEncoder) encode(out []int32, raw string) []int32 {
	e.cpts = decodeCpts(e.cpts[:0], raw)
	e.words = e.t.split(e.cpts, append(e.words[:0], len(e.cpts)))
	start := 0
	for _, n := range e.words {
		e.word = e.word[:0]
		var utf [4]byte
		for _, c := range e.cpts[start : start+n] {
			for _, b := range appendCpt(utf[:0], c) {
				e.word = appendCpt(e.word, byteRune[b])
			}
		}
		start += n
		out = e.encodeWord(out, string(e.word))
	}
	return out
}

func (e *bpeEncoder) encodeWord(out []int32, word string) []int32 {
	if e.t.ignoreMerges {
		if id, ok := e.t.toID[word]; ok {
			return append(out, id)
		}
	}
	e.m.merge(word, e.rank)
	// llama.cpp looks up each raw byte of a symbol that is not a token as a
	// token itself and silently drops the bytes that are not tokens either.
	return e.m.appendTokens(out, word, e.t.toID, func(b byte) int32 {
		if id, ok := e.t.toID[string([]byte{b})]; ok {
			return id
		}
		return NoToken
	})
}

// rank returns the merge rank of two adjacent symbols; lower ranks merge
// first.
func (e *bpeEncoder) rank(word string, l, r symbol) (int32, bool) {
	e.key = append(append(append(e.key[:0], word[l.lo:l.lo+l.n]...), ' '), word[r.lo:r.lo+r.n]...)
	rank, ok := e.t.ranks[string(e.key)]
	return rank, ok
}
