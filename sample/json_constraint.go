package sample

import (
	"fmt"
	"math"
	"slices"
)

// TokenTrie is a prefix tree over the texts of a vocabulary's tokens, built
// once per model and shared by every JSONConstraint: a walk down it feeds
// each distinct prefix to the automaton once and drops whole subtrees at
// the first byte the automaton refuses. Inside a JSON string, where nearly
// every token is allowed, the tokens that are plain string text (valid
// UTF-8 without quotes, backslashes or control characters) are let through
// as a list, and only the others are walked. It is read-only once built.
type TokenTrie struct {
	pieces  [][]byte
	all     trie    // every token with text
	special trie    // the tokens that are not plain string text
	plain   []int32 // the tokens that are
}

type trie struct {
	nodes []trieNode
	edges []trieEdge
	ids   []int32
}

type trieNode struct {
	edgeLo, edgeHi int32 // children: edges[edgeLo:edgeHi], by byte
	idLo, idHi     int32 // tokens whose text ends here: ids[idLo:idHi]
}

type trieEdge struct {
	b     byte
	child int32
}

// NewTokenTrie builds the trie of pieces, the bytes each token id writes.
// Tokens with no text (nil or empty: control tokens, unused ids) are left
// out, so a constraint never allows them.
func NewTokenTrie(pieces [][]byte) *TokenTrie {
	t := &TokenTrie{pieces: pieces}
	var all, special []int32
	for id, p := range pieces {
		if len(p) == 0 {
			continue
		}
		all = append(all, int32(id))
		if plainString(p) {
			t.plain = append(t.plain, int32(id))
		} else {
			special = append(special, int32(id))
		}
	}
	t.all.build(pieces, all)
	t.special.build(pieces, special)
	return t
}

// plainString reports whether p can be appended to JSON string content
// without changing what follows: complete UTF-8, no quote, backslash or
// control character.
func plainString(p []byte) bool {
	var f frame
	for _, c := range p {
		if c == '"' || c == '\\' || !stepUTF8(&f, c) {
			return false
		}
	}
	return f.utf == 0
}

func (t *trie) build(pieces [][]byte, ids []int32) {
	slices.SortFunc(ids, func(a, b int32) int { return slices.Compare(pieces[a], pieces[b]) })
	t.nodes = append(t.nodes[:0], trieNode{})
	t.fill(pieces, 0, ids, 0)
}

// fill fills node ni with the sorted tokens of ids, which share their
// first depth bytes.
func (t *trie) fill(pieces [][]byte, ni int32, ids []int32, depth int) {
	k := 0
	for k < len(ids) && len(pieces[ids[k]]) == depth {
		k++
	}
	t.nodes[ni].idLo = int32(len(t.ids))
	t.ids = append(t.ids, ids[:k]...)
	t.nodes[ni].idHi = int32(len(t.ids))
	rest := ids[k:]
	// Reserve this node's edges contiguously before filling children.
	var groups [][]int32
	for len(rest) > 0 {
		c := pieces[rest[0]][depth]
		end := 1
		for end < len(rest) && pieces[rest[end]][depth] == c {
			end++
		}
		groups = append(groups, rest[:end])
		rest = rest[end:]
	}
	lo := int32(len(t.edges))
	for _, g := range groups {
		t.edges = append(t.edges, trieEdge{b: pieces[g[0]][depth], child: int32(len(t.nodes))})
		t.nodes = append(t.nodes, trieNode{})
	}
	t.nodes[ni].edgeLo, t.nodes[ni].edgeHi = lo, int32(len(t.edges))
	for i, g := range groups {
		t.fill(pieces, t.edges[lo+int32(i)].child, g, depth+1)
	}
}

// Vocab returns the number of token ids the trie was built over.
func (t *TokenTrie) Vocab() int { return len(t.pieces) }

// JSONConstraint keeps a generation a JSON document valid under a Schema:
// Mask lets through only tokens whose text continues a valid document and
// that leave room to close it within the tokens remaining;
// end-of-generation tokens only once the document may end. It implements
// engine.Constraint. Not safe for concurrent use.
type JSONConstraint struct {
	trie    *TokenTrie
	eog     []int32
	state   jsonState
	walk    []jsonState // per trie depth
	allowed []bool
	budget  int // tokens left after the one being masked
	ended   bool
}

// NewJSONConstraint starts a document under schema s, over the tokens of
// trie; eog are the end-of-generation ids.
func NewJSONConstraint(s *Schema, trie *TokenTrie, eog []int32) *JSONConstraint {
	return &JSONConstraint{
		trie: trie, eog: eog, state: newJSONState(s.root),
		allowed: make([]bool, trie.Vocab()),
	}
}

// Mask sets to -Inf every logit whose token may not come next, given that
// remaining tokens (this one included) may still be generated. When the
// vocabulary lacks the tokens the document needs, it allows only
// end-of-generation, so the output ends rather than going wrong.
func (c *JSONConstraint) Mask(logits []float32, remaining int) {
	clear(c.allowed)
	c.budget = remaining - 1
	some := false
	if !c.state.done() {
		if len(c.walk) == 0 {
			c.walk = make([]jsonState, 1, 16)
		}
		c.walk[0].copyFrom(&c.state)
		tr := &c.trie.all
		if top := &c.state.stack[len(c.state.stack)-1]; top.kind == fString && top.esc == 0 && top.utf == 0 {
			// Plain text leaves the state as it is, and so its plan.
			if c.state.planLen() <= c.budget {
				for _, id := range c.trie.plain {
					c.allowed[id] = true
				}
				some = len(c.trie.plain) > 0
			}
			tr = &c.trie.special
		}
		some = c.visit(tr, 0, 0) || some
	}
	canEnd := c.state.planLen() == 0
	for _, id := range c.eog {
		if int(id) < len(c.allowed) && (canEnd || !some) {
			c.allowed[id] = true
		}
	}
	n := min(len(logits), len(c.allowed))
	for id := range n {
		if !c.allowed[id] {
			logits[id] = float32(math.Inf(-1))
		}
	}
	for id := n; id < len(logits); id++ {
		logits[id] = float32(math.Inf(-1))
	}
}

// visit walks the children of trie node ni with the automaton in
// c.walk[depth], marking the tokens that may come next.
func (c *JSONConstraint) visit(tr *trie, ni int32, depth int) bool {
	if depth+1 >= len(c.walk) {
		c.walk = append(c.walk, jsonState{})
	}
	some := false
	node := tr.nodes[ni]
	for _, e := range tr.edges[node.edgeLo:node.edgeHi] {
		st := &c.walk[depth+1]
		st.copyFrom(&c.walk[depth])
		if !st.feed(e.b) {
			continue
		}
		child := tr.nodes[e.child]
		if child.idHi > child.idLo && st.planLen() <= c.budget {
			for _, id := range tr.ids[child.idLo:child.idHi] {
				c.allowed[id] = true
			}
			some = true
		}
		if child.edgeHi > child.edgeLo && !st.done() {
			some = c.visit(tr, e.child, depth+1) || some
		}
	}
	return some
}

// Accept advances the document past token id.
func (c *JSONConstraint) Accept(id int32) error {
	if slices.Contains(c.eog, id) {
		c.ended = true
		return nil
	}
	if id < 0 || int(id) >= len(c.trie.pieces) {
		return fmt.Errorf("sample: json: token %d outside the vocabulary", id)
	}
	for _, b := range c.trie.pieces[id] {
		if !c.state.feed(b) {
			return fmt.Errorf("sample: json: token %d (%q) breaks the document", id, c.trie.pieces[id])
		}
	}
	return nil
}

// Done reports that the document is complete (or generation ended), so
// nothing may follow.
func (c *JSONConstraint) Done() bool { return c.ended || c.state.done() }
