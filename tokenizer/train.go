package tokenizer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Special-token texts of a trained vocabulary. BOS starts every document,
// EOS ends generation; the ChatML markers let a later fine-tuning stage use
// a ChatML chat template without growing the vocabulary.
const (
	BOSText     = "<|begin_of_text|>"
	EOSText     = "<|end_of_text|>"
	IMStartText = "<|im_start|>"
	IMEndText   = "<|im_end|>"
)

// DefaultPre is the pre-tokenizer a trained vocabulary uses unless told
// otherwise: Llama 3's, which llama.cpp selects by the same name.
const DefaultPre = "llama-bpe"

// TrainOptions configure byte-level BPE training.
type TrainOptions struct {
	// VocabSize is the number of tokens wanted: 256 byte tokens, the
	// learned merges and the special tokens together.
	VocabSize int
	// Pre names the pre-tokenizer (tokenizer.ggml.pre); "" means DefaultPre.
	Pre string
	// Reserved is the number of <|reserved_N|> control tokens kept for
	// later use.
	Reserved int
	// Specials are extra control tokens, after the built-in ones.
	Specials []string
	// Ignore lists texts cut out of the training text before counting,
	// such as a document separator "<|endoftext|>" that the data
	// preparation drops too. Special-token texts are always cut out.
	Ignore []string
	// Progress, if set, is called after each merge with the number of
	// merges done and wanted.
	Progress func(done, total int)
}

// TrainStats summarise a training run.
type TrainStats struct {
	Bytes  int64 // bytes of training text counted (without ignored texts)
	Words  int   // distinct pre-tokens
	Merges int   // merges learned
	// Tokens is the number of tokens the training text encodes to with the
	// learned merges (before llama-bpe's whole-word shortcut, which can
	// only lower it).
	Tokens int64
}

// BytesPerToken is the compression the learned vocabulary achieves on its
// training text.
func (s TrainStats) BytesPerToken() float64 {
	if s.Tokens == 0 {
		return 0
	}
	return float64(s.Bytes) / float64(s.Tokens)
}

// Trainer learns a byte-level BPE vocabulary. Text is fed with AddText or
// ReadFrom, which only count pre-tokens, so memory grows with the number of
// distinct pre-tokens rather than with the corpus; Train then learns the
// merges.
type Trainer struct {
	opts     TrainOptions
	split    pretokenizer
	specials []string // control-token texts, in id order after the merges
	cut      []string // texts cut out of the training text, longest first

	index  map[string]int32 // pre-token bytes -> index into words
	words  []string
	counts []int64
	bytes  int64

	cpts  []rune
	frags []int
	word  []byte
}

// NewTrainer checks the options and returns an empty trainer.
func NewTrainer(opts TrainOptions) (*Trainer, error) {
	if opts.Pre == "" {
		opts.Pre = DefaultPre
	}
	p, ok := pretokenizers[opts.Pre]
	if !ok {
		return nil, fmt.Errorf("%w: BPE pre-tokenizer %q (supported: %s)", ErrUnsupported, opts.Pre, strings.Join(PreTokenizers(), ", "))
	}
	if opts.Reserved < 0 {
		return nil, fmt.Errorf("tokenizer: %d reserved tokens", opts.Reserved)
	}
	specials := []string{BOSText, EOSText, IMStartText, IMEndText}
	for i := range opts.Reserved {
		specials = append(specials, fmt.Sprintf("<|reserved_%d|>", i))
	}
	seen := map[string]bool{}
	for _, s := range specials {
		seen[s] = true
	}
	for _, s := range opts.Specials {
		if s == "" || seen[s] {
			return nil, fmt.Errorf("tokenizer: special token %q is empty or repeated", s)
		}
		seen[s] = true
		specials = append(specials, s)
	}
	if min := 256 + len(specials); opts.VocabSize < min {
		return nil, fmt.Errorf("tokenizer: vocabulary size %d is below the %d tokens of bytes and special tokens", opts.VocabSize, min)
	}
	cut := append([]string(nil), specials...)
	for _, s := range opts.Ignore {
		if s != "" && !seen[s] {
			cut = append(cut, s)
		}
	}
	// Longest first, so that a text containing a shorter one wins.
	sortLongestFirst(cut)
	return &Trainer{opts: opts, split: p.split, specials: specials, cut: cut, index: map[string]int32{}}, nil
}

func sortLongestFirst(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && len(s[j]) > len(s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// AddText counts the pre-tokens of one text, as Encode would split it.
func (tr *Trainer) AddText(text string) {
	// next[i] is where tr.cut[i] next occurs at or after pos (-1: nowhere).
	next := make([]int, len(tr.cut))
	for i, s := range tr.cut {
		next[i] = strings.Index(text, s)
	}
	for pos := 0; pos < len(text); {
		at, n := len(text), 0
		for i, s := range tr.cut {
			if next[i] >= 0 && next[i] < pos {
				if j := strings.Index(text[pos:], s); j >= 0 {
					next[i] = pos + j
				} else {
					next[i] = -1
				}
			}
			if next[i] >= 0 && next[i] < at {
				at, n = next[i], len(s)
			}
		}
		tr.count(text[pos:at])
		pos = at + n
	}
}

// count adds the pre-tokens of a text free of special tokens.
func (tr *Trainer) count(text string) {
	if text == "" {
		return
	}
	tr.bytes += int64(len(text))
	tr.cpts = decodeCpts(tr.cpts[:0], text)
	tr.frags = tr.split(tr.cpts, append(tr.frags[:0], len(tr.cpts)))
	start := 0
	for _, n := range tr.frags {
		// Invalid UTF-8 is counted as the U+FFFD bytes Encode turns it into.
		tr.word = tr.word[:0]
		for _, c := range tr.cpts[start : start+n] {
			tr.word = appendCpt(tr.word, c)
		}
		start += n
		if i, ok := tr.index[string(tr.word)]; ok {
			tr.counts[i]++
			continue
		}
		w := string(tr.word)
		tr.index[w] = int32(len(tr.words))
		tr.words = append(tr.words, w)
		tr.counts = append(tr.counts, 1)
	}
}

// chunkSize is how much ReadFrom reads before counting.
const chunkSize = 1 << 20

// ReadFrom counts the pre-tokens of all of r as one text. It reads in
// chunks cut where SafeCut allows, so the counts equal those of AddText on
// the whole text, except across a stretch of 16 MiB without a safe cut.
func (tr *Trainer) ReadFrom(r io.Reader) (int64, error) {
	br := bufio.NewReaderSize(r, chunkSize)
	var buf []byte
	var total int64
	for {
		line, err := br.ReadSlice('\n')
		buf = append(buf, line...)
		total += int64(len(line))
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				tr.AddText(string(buf))
				return total, nil
			}
			return total, fmt.Errorf("tokenizer: reading training text: %w", err)
		}
		if len(buf) < chunkSize {
			continue
		}
		n := SafeCut(buf)
		if n == 0 && len(buf) >= 16*chunkSize {
			// A pathological text: count it in pieces, cut before a
			// character, rather than grow without bound.
			n = len(buf) - 1
			for n > 0 && !utf8.RuneStart(buf[n]) {
				n--
			}
		}
		if n > 0 {
			tr.AddText(string(buf[:n]))
			buf = append(buf[:0], buf[n:]...)
		}
	}
}

// SafeCut returns the largest n such that b[:n] and b[n:] split into the
// same pre-tokens as b does with every supported pre-tokenizer, or 0. Such
// a cut follows a "\n" between two code points that are not whitespace: no
// pre-token pattern reaches across that newline, and each sees it alike at
// the end of a text and before more text.
func SafeCut(b []byte) int {
	for i := len(b) - 2; i > 0; i-- {
		if b[i] != '\n' {
			continue
		}
		after, _ := decodeCpt(string(b[i+1:min(i+1+utf8.UTFMax, len(b))]), 0)
		before, _ := utf8.DecodeLastRune(b[:i])
		if !isSpace(before) && !isSpace(after) && before != utf8.RuneError {
			return i + 1
		}
	}
	return 0
}

// pair is two adjacent token ids, left in the high half.
type pair uint64

func pairOf(l, r int32) pair       { return pair(uint64(uint32(l))<<32 | uint64(uint32(r))) }
func (p pair) split() (l, r int32) { return int32(uint32(p >> 32)), int32(uint32(p)) }

// candidate is a queued pair with the count it had when queued.
type candidate struct {
	p     pair
	count int64
}

// Train learns merges until the vocabulary reaches opts.VocabSize or no
// pair occurs twice, and returns the vocabulary: the 256 bytes (id = byte
// value), one token per merge in merge order, then the special tokens.
// Each step merges the most frequent adjacent pair, ties going to the
// smaller left id, then the smaller right id, so training is
// deterministic. Pair counts are updated incrementally in the words that
// hold the merged pair only.
func (tr *Trainer) Train(ctx context.Context) (Vocab, TrainStats, error) {
	want := tr.opts.VocabSize - 256 - len(tr.specials)
	texts := make([][]byte, 256, 256+want)
	for b := range texts {
		texts[b] = []byte{byte(b)}
	}

	// Each distinct pre-token as a sequence of token ids.
	syms := make([][]int32, len(tr.words))
	counts := map[pair]int64{}
	where := map[pair][]int32{}
	for w, s := range tr.words {
		ids := make([]int32, len(s))
		for i := range len(s) {
			ids[i] = int32(s[i])
		}
		syms[w] = ids
		for i := 0; i+1 < len(ids); i++ {
			p := pairOf(ids[i], ids[i+1])
			counts[p] += tr.counts[w]
			if l := where[p]; len(l) == 0 || l[len(l)-1] != int32(w) {
				where[p] = append(l, int32(w))
			}
		}
	}
	queue := heap[candidate]{before: func(a, b candidate) bool {
		return a.count > b.count || (a.count == b.count && a.p < b.p)
	}}
	for p, c := range counts {
		queue.push(candidate{p, c})
	}

	var merges []string
	delta := map[pair]int64{}
	for len(merges) < want && queue.len() > 0 {
		if len(merges)%64 == 0 {
			if err := ctx.Err(); err != nil {
				return Vocab{}, TrainStats{}, err
			}
		}
		top := queue.pop()
		if counts[top.p] != top.count {
			continue // stale: the pair's count changed after it was queued
		}
		if top.count < 2 {
			break // merging a pair seen once only memorises the corpus
		}
		a, b := top.p.split()
		id := int32(len(texts))
		texts = append(texts, append(append([]byte(nil), texts[a]...), texts[b]...))
		merges = append(merges, byteLevel(texts[a])+" "+byteLevel(texts[b]))

		clear(delta)
		for _, w := range where[top.p] {
			ids, n := syms[w], tr.counts[w]
			if !contains(ids, a, b) {
				continue // listed for a pair an earlier merge removed from it
			}
			for i := 0; i+1 < len(ids); i++ {
				delta[pairOf(ids[i], ids[i+1])] -= n
			}
			out := ids[:0]
			for i := 0; i < len(ids); i++ {
				if i+1 < len(ids) && ids[i] == a && ids[i+1] == b {
					out = append(out, id)
					i++
					continue
				}
				out = append(out, ids[i])
			}
			syms[w] = out
			for i := 0; i+1 < len(out); i++ {
				p := pairOf(out[i], out[i+1])
				delta[p] += n
				if out[i] == id || out[i+1] == id {
					if l := where[p]; len(l) == 0 || l[len(l)-1] != w {
						where[p] = append(l, w)
					}
				}
			}
		}
		delete(where, top.p)
		for p, d := range delta {
			if d == 0 {
				continue
			}
			c := counts[p] + d
			if c <= 0 {
				delete(counts, p)
				continue
			}
			counts[p] = c
			queue.push(candidate{p, c})
		}
		if tr.opts.Progress != nil {
			tr.opts.Progress(len(merges), want)
		}
	}

	stats := TrainStats{Bytes: tr.bytes, Words: len(tr.words), Merges: len(merges)}
	for w, ids := range syms {
		stats.Tokens += int64(len(ids)) * tr.counts[w]
	}
	return tr.vocab(texts, merges), stats, nil
}

// contains reports whether ids holds a next to b.
func contains(ids []int32, a, b int32) bool {
	for i := 0; i+1 < len(ids); i++ {
		if ids[i] == a && ids[i+1] == b {
			return true
		}
	}
	return false
}

// vocab assembles the trained vocabulary in llama.cpp's "gpt2" form.
func (tr *Trainer) vocab(texts [][]byte, merges []string) Vocab {
	v := Vocab{
		Model:   ModelBPE,
		Pre:     tr.opts.Pre,
		Merges:  merges,
		Special: map[string]int32{},
		AddBOS:  true,
		Arch:    "llama",
	}
	for _, t := range texts {
		v.Tokens = append(v.Tokens, byteLevel(t))
		v.Types = append(v.Types, TypeNormal)
	}
	first := int32(len(v.Tokens))
	for _, s := range tr.specials {
		v.Tokens = append(v.Tokens, s)
		v.Types = append(v.Types, TypeControl)
	}
	// Ids follow the order of the built-in specials in NewTrainer.
	v.Special["bos"] = first
	v.Special["eos"] = first + 1
	v.Special["eot"] = first + 3 // <|im_end|> ends a ChatML turn
	return v
}

// byteLevel writes bytes as GPT-2's byte-level BPE token text.
func byteLevel(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(byteRune[c])
	}
	return sb.String()
}

// Train learns a byte-level BPE vocabulary from all of r (see Trainer).
func Train(ctx context.Context, r io.Reader, opts TrainOptions) (Vocab, TrainStats, error) {
	tr, err := NewTrainer(opts)
	if err != nil {
		return Vocab{}, TrainStats{}, err
	}
	if _, err := tr.ReadFrom(r); err != nil {
		return Vocab{}, TrainStats{}, err
	}
	return tr.Train(ctx)
}
