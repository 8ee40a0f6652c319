package train

import (
	"fmt"
	"math"
)

// This file is the whole model: the forward pass of a Llama-architecture
// transformer over a batch, saving what the backward pass needs, and the
// backward pass, written out by hand in the reverse order.
//
//	x = token_embd[tokens]
//	for each block:
//	    h = rmsnorm(x, attn_norm)
//	    q, k, v = rope(h·wqᵀ), rope(h·wkᵀ), h·wvᵀ
//	    x = x + attention(q, k, v)·woᵀ          causal, grouped-query
//	    h = rmsnorm(x, ffn_norm)
//	    x = x + (silu(h·w1ᵀ) ⊙ h·w3ᵀ)·w2ᵀ       SwiGLU
//	logits = rmsnorm(x, output_norm)·outputᵀ
//
// Shapes: N = B·T rows (token positions), D = Dim, F = Hidden, Q = Heads·HeadDim,
// K = KVHeads·HeadDim. Every activation is row-major [N, width].

// Workspace holds the activations of one forward pass over B sequences of T
// tokens, saved for the backward pass, and the backward pass's scratch.
// Allocate it once and reuse it for every (micro-)batch of that size.
type Workspace struct {
	B, T    int       // sequences per batch, tokens per sequence
	Logits  []float32 // [N, head rows]: the head's output
	DLogits []float32 // [N, head rows]: d loss / d Logits, set by an objective before Backward
	Hidden  []float32 // [N, D]: final-normed hidden states, the head's input

	cfg    Config
	rows   int // rows of the head: Vocab, or 1 for a reward head
	pool   *pool
	tokens []int32
	cos    []float32 // [T, HeadDim/2] RoPE tables
	sin    []float32
	resid  [][]float32 // Layers+1 × [N, D]: the residual stream entering each block, and after the last
	acts   []layerActs
	rmsF   []float32 // [N] inverse RMS of the final norm
	perRow []float64 // [N] objectives' per-position scratch

	// backward scratch
	dres  []float32 // [N, D] d loss / d residual stream
	dxn   []float32 // [N, D] d loss / d a norm's output
	dq    []float32 // [N, Q]
	datt  []float32 // [N, Q]
	dk    []float32 // [N, K]
	dv    []float32 // [N, K]
	dgate []float32 // [N, F]
	dup   []float32 // [N, F]
	dp    []float32 // [B·KVHeads, T] per attention task: d loss / d probabilities of one query
	// The pure-Go path's transposes (allocated on first use; the packed
	// path reads the operands in place).
	wT  []float32 // a transposed weight, for d input = d output · W
	dyT []float32 // a transposed chunk of d output, for d W
	xT  []float32 // a transposed chunk of the input, for d W

	attnS []attnScratch // per worker, for the packed attention
}

// layerActs are the saved activations of one block.
type layerActs struct {
	rms1, rms2 []float32 // [N] inverse RMS of the two norms
	xn1        []float32 // [N, D] attn_norm output
	q          []float32 // [N, Q] after RoPE
	k, v       []float32 // [N, K] (k after RoPE)
	probs      []float32 // [B, Heads, T, T] attention probabilities, 0 above the diagonal
	att        []float32 // [N, Q] attention output, heads concatenated
	mid        []float32 // [N, D] residual after attention
	xn2        []float32 // [N, D] ffn_norm output
	gate, up   []float32 // [N, F] h·w1ᵀ and h·w3ᵀ
	act        []float32 // [N, F] silu(gate)·up
}

// dwChunk is how many rows of a weight gradient's inputs are transposed at a
// time: the sum over N rows of dW = dYᵀ·X runs in chunks of this length.
const dwChunk = 512

// NewWorkspace allocates the activations for batches of B sequences of T
// tokens (T ≤ SeqLen), computing on threads goroutines (0: GOMAXPROCS).
func (m *Model) NewWorkspace(B, T, threads int) (*Workspace, error) {
	c := m.Config
	if B <= 0 || T <= 0 || T > c.SeqLen {
		return nil, fmt.Errorf("train: workspace of %d×%d tokens: need B ≥ 1 and 1 ≤ T ≤ %d", B, T, c.SeqLen)
	}
	n, d, f := B*T, c.Dim, c.Hidden
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	rows := len(m.Params.Head) / d
	ws := &Workspace{
		B: B, T: T, cfg: c, rows: rows, pool: newPool(threads),
		Logits: make([]float32, n*rows), DLogits: make([]float32, n*rows), Hidden: make([]float32, n*d),
		tokens: make([]int32, n), rmsF: make([]float32, n),
		dres: make([]float32, n*d), dxn: make([]float32, n*d),
		dq: make([]float32, n*q), datt: make([]float32, n*q),
		dk: make([]float32, n*kv), dv: make([]float32, n*kv),
		dgate: make([]float32, n*f), dup: make([]float32, n*f),
		dp: make([]float32, B*c.KVHeads*T),
	}
	for range c.Layers + 1 {
		ws.resid = append(ws.resid, make([]float32, n*d))
	}
	for range c.Layers {
		ws.acts = append(ws.acts, layerActs{
			rms1: make([]float32, n), rms2: make([]float32, n),
			xn1: make([]float32, n*d), q: make([]float32, n*q),
			k: make([]float32, n*kv), v: make([]float32, n*kv),
			probs: make([]float32, B*c.Heads*T*T), att: make([]float32, n*q),
			mid: make([]float32, n*d), xn2: make([]float32, n*d),
			gate: make([]float32, n*f), up: make([]float32, n*f), act: make([]float32, n*f),
		})
	}
	half := c.HeadDim / 2
	ws.cos, ws.sin = make([]float32, T*half), make([]float32, T*half)
	for p := range T {
		for i := range half {
			ang := float64(p) * math.Pow(c.RopeBase, -float64(2*i)/float64(c.HeadDim))
			ws.cos[p*half+i] = float32(math.Cos(ang))
			ws.sin[p*half+i] = float32(math.Sin(ang))
		}
	}
	return ws, nil
}

func (ws *Workspace) check(m *Model) error {
	if ws.cfg != m.Config || ws.rows*m.Config.Dim != len(m.Params.Head) {
		return fmt.Errorf("train: workspace was made for another model shape")
	}
	return nil
}

// Forward runs the model on tokens (B·T ids, sequence after sequence) and
// leaves the logits in ws.Logits, saving the activations Backward needs.
func (m *Model) Forward(ws *Workspace, tokens []int32) error {
	if err := ws.check(m); err != nil {
		return err
	}
	c, P := m.Config, m.Params
	n, d := ws.B*ws.T, c.Dim
	if len(tokens) != n {
		return fmt.Errorf("train: forward: %d tokens, want B·T = %d·%d = %d", len(tokens), ws.B, ws.T, n)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= c.Vocab {
			return fmt.Errorf("train: forward: token %d at position %d is outside the vocabulary [0, %d)", t, i, c.Vocab)
		}
	}
	copy(ws.tokens, tokens)

	x := ws.resid[0]
	for i, t := range tokens {
		copy(x[i*d:(i+1)*d], P.Embed[int(t)*d:(int(t)+1)*d])
	}
	q, kv, f := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim, c.Hidden
	for l := range c.Layers {
		L, a := &P.Layers[l], &ws.acts[l]
		in, out := ws.resid[l], ws.resid[l+1]

		ws.rmsnorm(a.xn1, a.rms1, in, L.AttnNorm)
		ws.linear(a.q, a.xn1, L.Wq, d, q)
		ws.linear(a.k, a.xn1, L.Wk, d, kv)
		ws.linear(a.v, a.xn1, L.Wv, d, kv)
		ws.rope(a.q, c.Heads, false)
		ws.rope(a.k, c.KVHeads, false)
		ws.attention(a)
		ws.linear(a.mid, a.att, L.Wo, q, d)
		ws.pool.rows(n*d, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				a.mid[i] += in[i]
			}
		})

		ws.rmsnorm(a.xn2, a.rms2, a.mid, L.FFNNorm)
		ws.linear(a.gate, a.xn2, L.Gate, d, f)
		ws.linear(a.up, a.xn2, L.Up, d, f)
		ws.pool.rows(n*f, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				g := a.gate[i]
				a.act[i] = g / (1 + exp32(-g)) * a.up[i]
			}
		})
		ws.linear(out, a.act, L.Down, f, d)
		ws.pool.rows(n*d, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				out[i] += a.mid[i]
			}
		})
	}

	ws.rmsnorm(ws.Hidden, ws.rmsF, ws.resid[c.Layers], P.OutNorm)
	ws.linear(ws.Logits, ws.Hidden, P.Head, d, ws.rows)
	return nil
}

// Backward adds to m.Grads the gradient of the loss whose derivative with
// respect to the logits of the last Forward is in ws.DLogits.
func (m *Model) Backward(ws *Workspace) error {
	if err := ws.check(m); err != nil {
		return err
	}
	c, P, G := m.Config, m.Params, m.Grads
	n, d := ws.B*ws.T, c.Dim
	q, kv, f := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim, c.Hidden

	// logits = hf·headᵀ, hf = rmsnorm(x, output_norm)
	ws.linearBackward(ws.dxn, G.Head, ws.DLogits, ws.Hidden, P.Head, d, ws.rows, false)
	clear(ws.dres)
	ws.rmsnormBackward(ws.dres, G.OutNorm, ws.dxn, ws.resid[c.Layers], ws.rmsF, P.OutNorm)

	for l := c.Layers - 1; l >= 0; l-- {
		L, GL, a := &P.Layers[l], &G.Layers[l], &ws.acts[l]
		// ws.dres is d loss / d (block output); the block output is
		// mid + act·w2ᵀ, so mid gets dres unchanged plus the FFN's share.
		ws.linearBackward(ws.dup, GL.Down, ws.dres, a.act, L.Down, f, d, false)
		ws.pool.rows(n*f, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				g, u, dact := a.gate[i], a.up[i], ws.dup[i]
				sig := 1 / (1 + exp32(-g))
				ws.dgate[i] = dact * u * sig * (1 + g*(1-sig))
				ws.dup[i] = dact * g * sig
			}
		})
		ws.linearBackward(ws.dxn, GL.Gate, ws.dgate, a.xn2, L.Gate, d, f, false)
		ws.linearBackward(ws.dxn, GL.Up, ws.dup, a.xn2, L.Up, d, f, true)
		ws.rmsnormBackward(ws.dres, GL.FFNNorm, ws.dxn, a.mid, a.rms2, L.FFNNorm)

		// mid = in + att·woᵀ
		ws.linearBackward(ws.datt, GL.Wo, ws.dres, a.att, L.Wo, q, d, false)
		ws.attentionBackward(a)
		ws.rope(ws.dq, c.Heads, true)
		ws.rope(ws.dk, c.KVHeads, true)
		ws.linearBackward(ws.dxn, GL.Wq, ws.dq, a.xn1, L.Wq, d, q, false)
		ws.linearBackward(ws.dxn, GL.Wk, ws.dk, a.xn1, L.Wk, d, kv, true)
		ws.linearBackward(ws.dxn, GL.Wv, ws.dv, a.xn1, L.Wv, d, kv, true)
		ws.rmsnormBackward(ws.dres, GL.AttnNorm, ws.dxn, ws.resid[l], a.rms1, L.AttnNorm)
	}

	// x = token_embd[tokens]: rows of the same token add up, so one goroutine.
	for i, t := range ws.tokens {
		axpy(G.Embed[int(t)*d:(int(t)+1)*d], 1, ws.dres[i*d:(i+1)*d])
	}
	return nil
}

// linear computes y = x·Wᵀ for x [N, in], W [out, in] (nn.Linear, no bias).
func (ws *Workspace) linear(y, x, w []float32, in, out int) {
	matmulNT(ws.pool, y, x, w, ws.B*ws.T, out, in, false)
}

// linearBackward is the backward pass of y = x·Wᵀ: dx = dy·W (added to dx
// with accDx, else stored), and dW += dyᵀ·x. Both become A·Bᵀ products of
// contiguous rows after a transpose.
func (ws *Workspace) linearBackward(dx, dW, dy, x, w []float32, in, out int, accDx bool) {
	n := ws.B * ws.T
	if useAsm {
		// Packing reads W, dy and x in place as the transposes they play.
		matmulPacked(ws.pool, dx, operand{dy, out, false}, operand{w, in, true}, n, in, out, accDx)
		matmulPacked(ws.pool, dW, operand{dy, out, true}, operand{x, in, true}, out, in, n, true)
		return
	}
	wT := grow(&ws.wT, in*out)
	transpose(ws.pool, wT, w, out, in)
	matmulNT(ws.pool, dx, dy, wT, n, in, out, accDx)
	for n0 := 0; n0 < n; n0 += dwChunk {
		rows := min(dwChunk, n-n0)
		dyT, xT := grow(&ws.dyT, out*rows), grow(&ws.xT, in*rows)
		transpose(ws.pool, dyT, dy[n0*out:(n0+rows)*out], rows, out)
		transpose(ws.pool, xT, x[n0*in:(n0+rows)*in], rows, in)
		matmulNT(ws.pool, dW, dyT, xT, out, in, rows, true)
	}
}

// rmsnorm sets y = x / sqrt(mean(x²) + eps) ⊙ w row by row, saving the
// inverse RMS of each row in rms.
func (ws *Workspace) rmsnorm(y, rms, x, w []float32) {
	d := ws.cfg.Dim
	eps := float32(ws.cfg.NormEps)
	ws.pool.rows(len(rms), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
			inv := 1 / float32(math.Sqrt(float64(dot(xr, xr)/float32(d)+eps)))
			rms[r] = inv
			for i, v := range xr {
				yr[i] = v * inv * w[i]
			}
		}
	})
}

// rmsnormBackward adds to dx the gradient through y = x·r⊙w, r = 1/rms(x):
// dx = r·(w⊙dy) − x·r³/D·Σ(w⊙dy⊙x), and adds Σ_rows dy⊙x·r to dw.
func (ws *Workspace) rmsnormBackward(dx, dw, dy, x, rms, w []float32) {
	d := ws.cfg.Dim
	ws.pool.rows(len(rms), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, dyr, dxr := x[r*d:(r+1)*d], dy[r*d:(r+1)*d], dx[r*d:(r+1)*d]
			inv := rms[r]
			var s float32
			for i, g := range dyr {
				s += g * w[i] * xr[i]
			}
			k := s * inv * inv * inv / float32(d)
			for i, g := range dyr {
				dxr[i] += inv*w[i]*g - k*xr[i]
			}
		}
	})
	// Columns in parallel, so no two workers write the same dw element.
	ws.pool.rows(d, func(lo, hi int) {
		for r, inv := range rms {
			xr, dyr := x[r*d+lo:r*d+hi], dy[r*d+lo:r*d+hi]
			for i := range dyr {
				dw[lo+i] += dyr[i] * xr[i] * inv
			}
		}
	})
}

// rope rotates the consecutive pairs (2i, 2i+1) of every head of v [N,
// heads·HeadDim] by the angle p·theta_i of the row's position p in its
// sequence (llama.cpp's normal mode). With inverse it rotates by −angle,
// which is the backward pass: the rotation is orthogonal.
func (ws *Workspace) rope(v []float32, heads int, inverse bool) {
	hd, half, T := ws.cfg.HeadDim, ws.cfg.HeadDim/2, ws.T
	width := heads * hd
	ws.pool.rows(ws.B*T, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			p := r % T
			cos, sin := ws.cos[p*half:(p+1)*half], ws.sin[p*half:(p+1)*half]
			row := v[r*width : (r+1)*width]
			for h := range heads {
				x := row[h*hd : (h+1)*hd]
				for i := range half {
					c, s := cos[i], sin[i]
					if inverse {
						s = -s
					}
					a, b := x[2*i], x[2*i+1]
					x[2*i] = a*c - b*s
					x[2*i+1] = a*s + b*c
				}
			}
		}
	})
}

// attention computes, for every sequence and query head h (served by kv
// head h/(Heads/KVHeads)), softmax(q·kᵀ/sqrt(HeadDim) + causal mask)·v.
func (ws *Workspace) attention(a *layerActs) {
	if useAsm {
		ws.attentionPacked(a)
		return
	}
	c, T := ws.cfg, ws.T
	hd, H, KV := c.HeadDim, c.Heads, c.KVHeads
	group := H / KV
	qw, kw := H*hd, KV*hd
	scale := float32(1 / math.Sqrt(float64(hd)))
	ws.pool.run(ws.B*H, func(u int) {
		b, h := u/H, u%H
		kh := h / group
		for t := range T {
			qt := a.q[(b*T+t)*qw+h*hd : (b*T+t)*qw+(h+1)*hd]
			p := a.probs[((b*H+h)*T+t)*T : ((b*H+h)*T+t+1)*T]
			peak := float32(math.Inf(-1))
			for j := 0; j <= t; j++ {
				s := dot(qt, a.k[(b*T+j)*kw+kh*hd:(b*T+j)*kw+(kh+1)*hd]) * scale
				p[j] = s
				peak = max(peak, s)
			}
			var sum float32
			for j := 0; j <= t; j++ {
				p[j] = exp32(p[j] - peak)
				sum += p[j]
			}
			inv := 1 / sum
			out := a.att[(b*T+t)*qw+h*hd : (b*T+t)*qw+(h+1)*hd]
			clear(out)
			for j := 0; j <= t; j++ {
				p[j] *= inv
				axpy(out, p[j], a.v[(b*T+j)*kw+kh*hd:(b*T+j)*kw+(kh+1)*hd])
			}
			clear(p[t+1:])
		}
	})
}

// attentionBackward turns ws.datt (d loss / d attention output) into ws.dq,
// ws.dk and ws.dv. One task per sequence and kv head owns that head's dk and
// dv rows and sums into them over its group of query heads.
func (ws *Workspace) attentionBackward(a *layerActs) {
	if useAsm {
		ws.attentionBackwardPacked(a)
		return
	}
	c, T := ws.cfg, ws.T
	hd, H, KV := c.HeadDim, c.Heads, c.KVHeads
	group := H / KV
	qw, kw := H*hd, KV*hd
	scale := float32(1 / math.Sqrt(float64(hd)))
	clear(ws.dk)
	clear(ws.dv)
	ws.pool.run(ws.B*KV, func(u int) {
		b, kh := u/KV, u%KV
		kvRow := func(s []float32, j int) []float32 {
			return s[(b*T+j)*kw+kh*hd : (b*T+j)*kw+(kh+1)*hd]
		}
		dp := ws.dp[u*T : (u+1)*T]
		for h := kh * group; h < (kh+1)*group; h++ {
			for t := range T {
				qt := a.q[(b*T+t)*qw+h*hd : (b*T+t)*qw+(h+1)*hd]
				do := ws.datt[(b*T+t)*qw+h*hd : (b*T+t)*qw+(h+1)*hd]
				dq := ws.dq[(b*T+t)*qw+h*hd : (b*T+t)*qw+(h+1)*hd]
				p := a.probs[((b*H+h)*T+t)*T : ((b*H+h)*T+t+1)*T]
				// softmax backward: ds_j = p_j·(dp_j − Σ p·dp), dp_j = do·v_j
				var pdp float32
				for j := 0; j <= t; j++ {
					dp[j] = dot(do, kvRow(a.v, j))
					pdp += p[j] * dp[j]
				}
				clear(dq)
				for j := 0; j <= t; j++ {
					ds := p[j] * (dp[j] - pdp) * scale
					axpy(dq, ds, kvRow(a.k, j))
					axpy(kvRow(ws.dk, j), ds, qt)
					axpy(kvRow(ws.dv, j), p[j], do)
				}
			}
		}
	})
}

// Bytes is the memory the workspace holds, with the scratch that its first
// step allocates (packed panels, per-worker attention buffers): the
// activations part of a run's memory plan.
func (ws *Workspace) Bytes() int64 {
	n := 0
	for _, s := range [][]float32{ws.Logits, ws.DLogits, ws.Hidden, ws.cos, ws.sin, ws.rmsF,
		ws.dres, ws.dxn, ws.dq, ws.datt, ws.dk, ws.dv, ws.dgate, ws.dup, ws.dp} {
		n += len(s)
	}
	for _, s := range ws.resid {
		n += len(s)
	}
	for _, a := range ws.acts {
		for _, s := range [][]float32{a.rms1, a.rms2, a.xn1, a.q, a.k, a.v, a.probs, a.att, a.mid, a.xn2, a.gate, a.up, a.act} {
			n += len(s)
		}
	}
	n += len(ws.tokens) + 2*len(ws.perRow)
	c, rows := ws.cfg, ws.B*ws.T
	widest := max(c.Dim, c.Heads*c.HeadDim, c.Hidden, ws.rows)
	if useAsm {
		// Packed A and B panels of the widest product, one k-chunk each.
		n += (rows + widest + mr + nr) * kcMax
		// Per worker: a [T, T] matrix and the panels of one head.
		n += ws.pool.threads * (ws.T*ws.T + (2*ws.T+mr+nr)*max(c.HeadDim, nr) + mr*ws.T)
	} else {
		n += widest*widest + 2*widest*min(rows, dwChunk)
	}
	return 4 * int64(n)
}
