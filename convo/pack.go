package convo

import (
	"math"
	"math/rand/v2"
)

// Split divides n examples into training and validation ones: a
// permutation drawn from seed, of which the first round(n·fraction) are
// held out (at least one when fraction > 0 and n ≥ 2, never all).
func Split(n int, fraction float64, seed uint64) (train, val []int) {
	perm := rand.New(rand.NewPCG(seed, 0x73706c6974)).Perm(n)
	k := int(math.Round(float64(n) * fraction))
	if fraction > 0 && n >= 2 {
		k = max(k, 1)
	}
	k = min(k, n-1)
	if k < 0 {
		k = 0
	}
	return perm[k:], perm[:k]
}

// Row is one training sequence of T positions: the input tokens, and for
// each the token that should follow it, or −1 where no loss is taken (a
// prompt, a tool result, padding).
type Row struct {
	Tokens, Targets []int32
}

// PackStats count what Pack did.
type PackStats struct {
	Examples  int // examples given
	Rows      int // rows made
	Truncated int // examples longer than a row, cut to its length
	Dropped   int // examples left without a scored token by the cut
	Tokens    int // tokens placed (padding not counted)
	Scored    int // positions with a target
}

// Pack lays examples, in the order given, into rows of T positions: a row
// takes whole examples while their tokens fit in T+1 (the last token is
// only a target), and the rest of it is padded with pad. An example longer
// than T+1 tokens is cut to T+1 in a row of its own, and dropped if no
// scored token is left.
//
// Examples sharing a row see each other: attention is causal but crosses
// the boundaries between them (no document mask), and RoPE positions run
// on from one example into the next. Short conversations then cost less
// compute than padding each to T, at the price of a little context from an
// unrelated conversation, as in most SFT packing.
func Pack(exs []Example, T int, pad int32) ([]Row, PackStats) {
	st := PackStats{Examples: len(exs)}
	var rows []Row
	var tokens []int32
	var scored []bool
	flush := func() {
		if len(tokens) == 0 {
			return
		}
		r := Row{Tokens: make([]int32, T), Targets: make([]int32, T)}
		for j := range T {
			r.Tokens[j], r.Targets[j] = pad, -1
			if j < len(tokens) {
				r.Tokens[j] = tokens[j]
			}
			if j+1 < len(tokens) && scored[j+1] {
				r.Targets[j] = tokens[j+1]
				st.Scored++
			}
		}
		st.Tokens += len(tokens)
		rows = append(rows, r)
		tokens, scored = tokens[:0], scored[:0]
	}
	for _, ex := range exs {
		n := len(ex.Tokens)
		if n > T+1 {
			st.Truncated++
			if (Example{Scored: ex.Scored[1 : T+1]}).NumScored() == 0 {
				st.Dropped++
				continue
			}
			flush()
			tokens, scored = append(tokens, ex.Tokens[:T+1]...), append(scored, ex.Scored[:T+1]...)
			flush()
			continue
		}
		if len(tokens)+n > T+1 {
			flush()
		}
		tokens, scored = append(tokens, ex.Tokens...), append(scored, ex.Scored...)
	}
	flush()
	st.Rows = len(rows)
	return rows, st
}

// FitPair makes both sides of a preference pair fit in T tokens. When one
// is longer, the prompt (the tokens before the first scored one) loses
// tokens from its start, down to what the longer continuation leaves of T
// but keeping up to half of T; then the continuations are cut at T. It
// reports whether anything was cut.
func FitPair(chosen, rejected Example, T int) (Example, Example, bool) {
	if len(chosen.Tokens) <= T && len(rejected.Tokens) <= T {
		return chosen, rejected, false
	}
	pc, pr := firstScored(chosen), firstScored(rejected)
	reply := max(len(chosen.Tokens)-pc, len(rejected.Tokens)-pr)
	keep := max(T-reply, min(max(pc, pr), T/2))
	return cutPrompt(chosen, pc, keep, T), cutPrompt(rejected, pr, keep, T), true
}

func firstScored(ex Example) int {
	for i, s := range ex.Scored {
		if s {
			return i
		}
	}
	return len(ex.Scored)
}

// cutPrompt keeps the last keep of the prompt's p tokens and at most T
// tokens in all.
func cutPrompt(ex Example, p, keep, T int) Example {
	drop := max(p-keep, 0)
	end := min(len(ex.Tokens), drop+T)
	return Example{Tokens: ex.Tokens[drop:end], Scored: ex.Scored[drop:end]}
}
