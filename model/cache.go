package model

import "fmt"

// Cache holds the keys and values of every layer for a fixed number of
// sequences, each up to Context positions, in float32. It is allocated once
// per session; the forward pass writes a token's keys and values at its
// (sequence, position) slot and attends over positions 0..pos of its
// sequence.
type Cache struct {
	Seqs    int // number of sequences
	Context int // positions per sequence
	kvDim   int
	k, v    [][]float32 // per layer: [seq][pos][kvDim]
}

// NewCache allocates a cache for seqs sequences of up to ctx positions.
func (m *Model) NewCache(seqs, ctx int) (*Cache, error) {
	if seqs <= 0 || ctx <= 0 {
		return nil, fmt.Errorf("model: cache needs at least one sequence and position, got %d × %d", seqs, ctx)
	}
	kvDim := m.Config.KVHeads * m.Config.HeadDim
	per := int64(seqs) * int64(ctx) * int64(kvDim)
	if per*int64(m.Config.Layers)*8 > 1<<40 {
		return nil, fmt.Errorf("model: a KV cache of %d sequences × %d positions is too large", seqs, ctx)
	}
	c := &Cache{Seqs: seqs, Context: ctx, kvDim: kvDim}
	c.k = make([][]float32, m.Config.Layers)
	c.v = make([][]float32, m.Config.Layers)
	for l := range c.k {
		c.k[l] = make([]float32, per)
		c.v[l] = make([]float32, per)
	}
	return c, nil
}

// Bytes returns the memory the cache holds.
func (c *Cache) Bytes() int64 {
	return int64(len(c.k)) * 2 * int64(c.Seqs) * int64(c.Context) * int64(c.kvDim) * 4
}

// slot returns the offset of (seq, pos) in a layer's key or value slice.
func (c *Cache) slot(seq, pos int) int { return (seq*c.Context + pos) * c.kvDim }

// CopySeq copies positions [0, n) of sequence src into sequence dst, so a
// shared prompt prefix need not be recomputed.
func (c *Cache) CopySeq(dst, src, n int) {
	if dst == src || n <= 0 {
		return
	}
	for l := range c.k {
		copy(c.k[l][c.slot(dst, 0):c.slot(dst, n)], c.k[l][c.slot(src, 0):c.slot(src, n)])
		copy(c.v[l][c.slot(dst, 0):c.slot(dst, n)], c.v[l][c.slot(src, 0):c.slot(src, n)])
	}
}
