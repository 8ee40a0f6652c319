package tokenizer

import "cmp"

// symbol is a run text[lo:lo+n] of the text being merged, linked to its
// neighbours; n == 0 marks a symbol merged into its left neighbour.
type symbol struct {
	prev, next int
	lo, n      int
}

// bigram is a candidate merge of two adjacent symbols, queued under key.
type bigram[K cmp.Ordered] struct {
	left, right int
	key         K
	size        int
}

// merger runs the pair-merging loop llama.cpp's SPM and BPE sessions share:
// split the text into UTF-8 characters, queue every adjacent pair that key
// accepts, and repeatedly merge the pair with the lowest key (leftmost on
// ties), queueing the pairs the merge creates. Scratch space is reused.
type merger[K cmp.Ordered] struct {
	syms  []symbol
	queue heap[bigram[K]]
}

// merge leaves the result in m.syms, in text order, merged symbols with n == 0.
func (m *merger[K]) merge(text string, key func(text string, l, r symbol) (K, bool)) {
	m.syms = m.syms[:0]
	for lo := 0; lo < len(text); {
		n := min(utf8Len(text[lo]), len(text)-lo)
		idx := len(m.syms)
		next := idx + 1
		if lo+n == len(text) {
			next = -1
		}
		m.syms = append(m.syms, symbol{prev: idx - 1, next: next, lo: lo, n: n})
		lo += n
	}
	m.queue = heap[bigram[K]]{items: m.queue.items[:0], before: func(a, b bigram[K]) bool {
		return a.key < b.key || (a.key == b.key && a.left < b.left)
	}}
	add := func(left, right int) {
		if left == -1 || right == -1 {
			return
		}
		l, r := m.syms[left], m.syms[right]
		if k, ok := key(text, l, r); ok {
			m.queue.push(bigram[K]{left: left, right: right, key: k, size: l.n + r.n})
		}
	}
	for i := 1; i < len(m.syms); i++ {
		add(i-1, i)
	}
	for m.queue.len() > 0 {
		b := m.queue.pop()
		l, r := &m.syms[b.left], &m.syms[b.right]
		// A pair is stale once either side was merged elsewhere; both sides
		// only grow, so an unchanged total size means unchanged text.
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			m.syms[r.next].prev = b.left
		}
		add(l.prev, b.left)
		add(b.left, l.next)
	}
}

// appendTokens appends the token of each symbol left after merge, or for a
// symbol that is not a token, the fallback token of each of its bytes.
func (m *merger[K]) appendTokens(out []int32, text string, toID map[string]int32, fallback func(byte) int32) []int32 {
	for _, s := range m.syms {
		if s.n == 0 {
			continue
		}
		piece := text[s.lo : s.lo+s.n]
		if id, ok := toID[piece]; ok {
			out = append(out, id)
			continue
		}
		for j := 0; j < len(piece); j++ {
			if id := fallback(piece[j]); id != NoToken {
				out = append(out, id)
			}
		}
	}
	return out
}

// heap is a binary heap whose top is the item that sorts before all others.
type heap[T any] struct {
	items  []T
	before func(a, b T) bool
}

func (h *heap[T]) len() int { return len(h.items) }

func (h *heap[T]) push(x T) {
	h.items = append(h.items, x)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.before(h.items[i], h.items[p]) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

func (h *heap[T]) pop() T {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items = h.items[:last]
	for i := 0; ; {
		l, best := 2*i+1, i
		if l < last && h.before(h.items[l], h.items[best]) {
			best = l
		}
		if r := l + 1; r < last && h.before(h.items[r], h.items[best]) {
			best = r
		}
		if best == i {
			break
		}
		h.items[i], h.items[best] = h.items[best], h.items[i]
		i = best
	}
	return top
}
