package train

import "math"

// The attention of the packed path: per (sequence, head), the score matrix
// Q·Kᵀ, the probabilities' product with V and the four products of the
// backward pass all run on the matrix micro-kernel, restricted to the causal
// triangle (a row panel of queries only meets the keys up to its last row).
// Small heads (stories260K: 8 dimensions) would otherwise spend their time
// in scalar dot products and axpys of 8 elements.

// attnScratch is one worker's buffers: packed panels and the [T, T] matrix
// of d loss / d scores.
type attnScratch struct {
	ap, bp, dp []float32
}

// attnScratch returns worker w's buffers.
func (ws *Workspace) attnScratch(w int) *attnScratch {
	if ws.attnS == nil {
		ws.attnS = make([]attnScratch, ws.pool.threads)
	}
	return &ws.attnS[w]
}

// tile runs the micro-kernel for the (at most mr×nr) tile of the [m, n]
// matrix c (row stride ldc) at (i, j), through a tile on the stack when it
// is partial.
func tile(k int, apan, bpan, c []float32, ldc, i, j, m, n int, acc bool) {
	if i+mr <= m && j+nr <= n {
		microKernel(k, apan, bpan, c[i*ldc+j:], ldc, acc)
		return
	}
	var tmp [mr * nr]float32
	microKernel(k, apan, bpan, tmp[:], nr, false)
	for r := range min(mr, m-i) {
		row := c[(i+r)*ldc+j : (i+r)*ldc+min(j+nr, n)]
		for q := range row {
			store(row, q, tmp[r*nr+q], acc)
		}
	}
}

// lowerProduct sets the lower triangle (j ≤ i, and whatever else shares its
// tiles) of the [T, T] matrix c = A·Bᵀ, A and B [T, k].
func lowerProduct(s *attnScratch, c []float32, a, b operand, T, k int) {
	mp, np := (T+mr-1)/mr, (T+nr-1)/nr
	ap, bp := grow(&s.ap, mp*mr*k), grow(&s.bp, np*nr*k)
	for ib := range mp {
		a.pack(ap[ib*mr*k:(ib+1)*mr*k], ib*mr, T, 0, k, mr)
	}
	for jb := range np {
		b.pack(bp[jb*nr*k:(jb+1)*nr*k], jb*nr, T, 0, k, nr)
	}
	for ib := range mp {
		i := ib * mr
		last := min(i+mr, T) - 1
		for jb := 0; jb*nr <= last; jb++ {
			tile(k, ap[ib*mr*k:(ib+1)*mr*k], bp[jb*nr*k:(jb+1)*nr*k], c, T, i, jb*nr, T, T, false)
		}
	}
}

// spanProduct computes c (=|+=) A·Bᵀ for c [m, n] (row stride ldc), A [m, k]
// and B [n, k], where the rows [i, i+mr) sum only over l in span(i): the rest
// of their products are zero (causal).
func spanProduct(s *attnScratch, c []float32, ldc int, a, b operand, m, n, k int, span func(i int) (lo, hi int), acc bool) {
	np := (n + nr - 1) / nr
	bp := grow(&s.bp, np*nr*k)
	for jb := range np {
		b.pack(bp[jb*nr*k:(jb+1)*nr*k], jb*nr, n, 0, k, nr)
	}
	ap := grow(&s.ap, mr*k)
	for i := 0; i < m; i += mr {
		lo, hi := span(i)
		kk := hi - lo
		a.pack(ap[:mr*kk], i, m, lo, kk, mr)
		for jb := range np {
			tile(kk, ap[:mr*kk], bp[jb*nr*k+lo*nr:jb*nr*k+hi*nr], c, ldc, i, jb*nr, m, n, acc)
		}
	}
}

// attnShape is the attention's geometry: T positions, H query heads of hd
// dimensions sharing KV kv heads in groups, row widths qw and kw.
type attnShape struct {
	T, hd, H, KV, group, qw, kw int
	scale                       float32 // 1/sqrt(hd)
}

func (ws *Workspace) attnShape() attnShape {
	c := ws.cfg
	return attnShape{T: ws.T, hd: c.HeadDim, H: c.Heads, KV: c.KVHeads, group: c.Heads / c.KVHeads,
		qw: c.Heads * c.HeadDim, kw: c.KVHeads * c.HeadDim, scale: float32(1 / math.Sqrt(float64(c.HeadDim)))}
}

// seen is the causal span of a panel of query rows starting at i: the keys
// [0, i+mr).
func (s attnShape) seen(i int) (int, int) { return 0, min(i+mr, s.T) }

// seenBy is the causal span of a panel of key rows starting at i: the
// queries [i, T).
func (s attnShape) seenBy(i int) (int, int) { return i, s.T }

// attentionPacked is attention on the micro-kernel.
func (ws *Workspace) attentionPacked(a *layerActs) {
	sh := ws.attnShape()
	T, hd, H, group, qw, kw, scale := sh.T, sh.hd, sh.H, sh.group, sh.qw, sh.kw, sh.scale
	ws.pool.runW(ws.B*H, func(w, u int) {
		s := ws.attnScratch(w)
		b, h := u/H, u%H
		qo, ko := b*T*qw+h*hd, b*T*kw+(h/group)*hd
		probs := a.probs[u*T*T : (u+1)*T*T]
		lowerProduct(s, probs, operand{a.q[qo:], qw, false}, operand{a.k[ko:], kw, false}, T, hd)
		for t := range T {
			softmaxRow(probs[t*T:(t+1)*T], t, scale)
		}
		spanProduct(s, a.att[qo:], qw, operand{probs, T, false}, operand{a.v[ko:], kw, true}, T, hd, T, sh.seen, false)
	})
}

// softmaxRow turns the raw scores p[0..t] into probabilities of
// softmax(scale·p) and zeroes the masked p[t+1:].
func softmaxRow(p []float32, t int, scale float32) {
	row := p[:t+1]
	peak := row[0] * scale
	for j, v := range row {
		v *= scale
		row[j] = v
		peak = max(peak, v)
	}
	var sum float32
	for j, v := range row {
		e := exp32(v - peak)
		row[j] = e
		sum += e
	}
	inv := 1 / sum
	for j := range row {
		row[j] *= inv
	}
	clear(p[t+1:])
}

// attentionBackwardPacked is attentionBackward on the micro-kernel. One task
// per sequence and kv head owns that head's dk and dv rows.
func (ws *Workspace) attentionBackwardPacked(a *layerActs) {
	sh := ws.attnShape()
	T, hd, H, KV, group, qw, kw, scale := sh.T, sh.hd, sh.H, sh.KV, sh.group, sh.qw, sh.kw, sh.scale
	ws.pool.runW(ws.B*KV, func(w, u int) {
		s := ws.attnScratch(w)
		b, kh := u/KV, u%KV
		ko := b*T*kw + kh*hd
		dp := grow(&s.dp, T*T)
		for g := range group {
			h := kh*group + g
			qo := b*T*qw + h*hd
			probs := a.probs[(b*H+h)*T*T : (b*H+h+1)*T*T]
			do := ws.datt[qo:]
			// dp = dO·Vᵀ, then the softmax backward in place:
			// ds_j = scale·p_j·(dp_j − Σ p·dp).
			lowerProduct(s, dp, operand{do, qw, false}, operand{a.v[ko:], kw, false}, T, hd)
			for t := range T {
				p, d := probs[t*T:t*T+t+1], dp[t*T:(t+1)*T]
				var pdp float32
				for j, pj := range p {
					pdp += pj * d[j]
				}
				for j, pj := range p {
					d[j] = pj * (d[j] - pdp) * scale
				}
				clear(d[t+1:])
			}
			spanProduct(s, ws.dq[qo:], qw, operand{dp, T, false}, operand{a.k[ko:], kw, true}, T, hd, T, sh.seen, false)
			spanProduct(s, ws.dk[ko:], kw, operand{dp, T, true}, operand{a.q[qo:], qw, true}, T, hd, T, sh.seenBy, g > 0)
			spanProduct(s, ws.dv[ko:], kw, operand{probs, T, true}, operand{do, qw, true}, T, hd, T, sh.seenBy, g > 0)
		}
	})
}
