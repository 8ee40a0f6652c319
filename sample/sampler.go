package sample

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// Sampler draws token ids from logits. It owns scratch buffers sized to the
// vocabulary, so after the first call Sample allocates nothing. A Sampler is
// not safe for concurrent use: give each generation its own.
type Sampler struct {
	p   Params
	rng *rand.Rand

	logits  []float32   // penalized copy of the caller's logits
	cands   []candidate // surviving tokens
	weights []float64   // unnormalized probabilities of cands
	counts  []int32     // occurrences in the penalty window; all zero between calls
}

// candidate is a token id with its (penalized) logit.
type candidate struct {
	id    int32
	logit float32
}

// New returns a Sampler for a vocabulary of nVocab tokens. Parameters out of
// range are not rejected here (see Params.Validate); they behave as their
// nearest meaningful value, e.g. a negative TopK disables top-k.
func New(p Params, nVocab int) *Sampler {
	nVocab = max(nVocab, 0)
	return &Sampler{
		p:       p,
		rng:     rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15)),
		logits:  make([]float32, nVocab),
		cands:   make([]candidate, 0, nVocab),
		weights: make([]float64, 0, nVocab),
		counts:  make([]int32, nVocab),
	}
}

// Sample returns the next token id for logits (one value per token id),
// given the previously generated or prompted ids in history (oldest first),
// which feed the penalties. logits is not modified. It returns -1 when
// logits is empty. NaN logits count as -Inf; ids in history outside the
// vocabulary are ignored.
func (s *Sampler) Sample(logits []float32, history []int32) int32 {
	if len(logits) == 0 {
		return -1
	}
	l := s.prepare(logits, history)
	if s.p.Temperature <= 0 {
		return argmax(l)
	}
	return s.draw(s.filter(l))
}

// prepare copies logits into the scratch buffer, mapping NaN to -Inf and
// +Inf to MaxFloat32 so that differences of logits stay well defined, and
// applies the penalties.
func (s *Sampler) prepare(logits []float32, history []int32) []float32 {
	n := len(logits)
	if cap(s.logits) < n {
		s.logits = make([]float32, n)
		s.counts = make([]int32, n)
		s.cands = make([]candidate, 0, n)
		s.weights = make([]float64, 0, n)
	}
	l := s.logits[:n]
	copy(l, logits)
	for i, v := range l {
		// v-v is 0 for every finite v and NaN for NaN and ±Inf, so one
		// rarely taken branch covers all three.
		if v-v != 0 {
			switch {
			case v != v || v < 0:
				l[i] = float32(math.Inf(-1))
			default:
				l[i] = math.MaxFloat32
			}
		}
	}
	if s.p.penalized() {
		s.penalize(l, history)
	}
	return l
}

// penalize applies llama.cpp's penalties to every distinct token of the
// window: the repeat penalty scales the logit away from likely (dividing a
// positive logit, multiplying a non-positive one, so that it never makes a
// token more likely), then frequency and presence penalties subtract
// count*freq + presence.
func (s *Sampler) penalize(l []float32, history []int32) {
	window := history
	if n := s.p.RepeatLastN; n > 0 && len(window) > n {
		window = window[len(window)-n:]
	}
	counts := s.counts[:len(l)]
	for _, id := range window {
		if id >= 0 && int(id) < len(l) {
			counts[id]++
		}
	}
	rp := s.p.RepeatPenalty
	if rp == 0 {
		rp = 1
	}
	for _, id := range window {
		if id < 0 || int(id) >= len(l) || counts[id] == 0 {
			continue
		}
		c := counts[id]
		counts[id] = 0
		if l[id] <= 0 {
			l[id] *= rp
		} else {
			l[id] /= rp
		}
		l[id] -= float32(c)*s.p.FrequencyPenalty + s.p.PresencePenalty
	}
}

// argmax returns the index of the largest value, the lowest on ties.
func argmax(l []float32) int32 {
	best, bestV := 0, l[0]
	for i, v := range l {
		if v > bestV {
			best, bestV = i, v
		}
	}
	return int32(best)
}

// better orders candidates as the chain sees them: higher logit first,
// lower id first among equals.
func better(a, b candidate) bool {
	return a.logit > b.logit || (a.logit == b.logit && a.id < b.id)
}

func byRank(a, b candidate) int {
	if c := cmp.Compare(b.logit, a.logit); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// filter runs top-k, top-p and min-p over l and returns the survivors
// (never empty). With top-k the survivors are ranked best first; without it
// they are ranked only when top-p needs the order.
func (s *Sampler) filter(l []float32) []candidate {
	if k := s.p.TopK; k > 0 && k < len(l) {
		c := topK(s.cands[:0], l, k)
		c = s.topP(c, 0)
		return minP(c, s.p.MinP)
	}
	return s.filterAll(l)
}

// topK appends the k best candidates of l to dst, ranked best first. It
// keeps a min-heap of the k best seen so far, so a 128k vocabulary costs one
// comparison per token for nearly all of them instead of a full sort.
func topK(dst []candidate, l []float32, k int) []candidate {
	h := dst[:0]
	for i := range k {
		h = append(h, candidate{int32(i), l[i]})
	}
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	for i := k; i < len(l); i++ {
		// Ids arrive in increasing order, so a later id never beats an
		// equal logit already in the heap: a strict > is the tie rule.
		if l[i] > h[0].logit {
			h[0] = candidate{int32(i), l[i]}
			siftDown(h, 0)
		}
	}
	slices.SortFunc(h, byRank)
	return h
}

// siftDown restores the heap property (worst candidate at the root) below i.
func siftDown(h []candidate, i int) {
	for {
		w := i
		if c := 2*i + 1; c < len(h) && better(h[w], h[c]) {
			w = c
		}
		if c := 2*i + 2; c < len(h) && better(h[w], h[c]) {
			w = c
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// topP keeps the shortest ranked prefix of c whose probability mass reaches
// TopP. Probabilities are softmax(logit) normalized by z, the sum of
// exp(logit - c[0].logit) over the whole distribution top-p sees; z <= 0
// means c is that whole distribution.
func (s *Sampler) topP(c []candidate, z float64) []candidate {
	p := float64(s.p.TopP)
	if p >= 1 || len(c) <= 1 {
		return c
	}
	top := float64(c[0].logit)
	if z <= 0 {
		for _, x := range c {
			z += math.Exp(float64(x.logit) - top)
		}
	}
	cum := 0.0
	for i, x := range c {
		cum += math.Exp(float64(x.logit)-top) / z
		if cum >= p {
			return c[:i+1]
		}
	}
	return c
}

// minP keeps the ranked prefix of c whose logits are within log(minP) of the
// best one, i.e. whose probability is at least minP times the best's.
func minP(c []candidate, mp float32) []candidate {
	if mp <= 0 || len(c) <= 1 {
		return c
	}
	cut := c[0].logit + float32(math.Log(float64(mp)))
	for i, x := range c {
		if x.logit < cut {
			return c[:max(i, 1)]
		}
	}
	return c
}

// filterAll is filter without top-k. Top-p and min-p both keep a ranked
// prefix of the whole vocabulary, so instead of sorting every token it
// collects the tokens above a logit threshold, lowers the threshold until
// they hold the top-p mass (or reach the min-p cut), and ranks only those.
func (s *Sampler) filterAll(l []float32) []candidate {
	best := l[argmax(l)]
	cut := float32(math.Inf(-1))
	if s.p.MinP > 0 {
		cut = best + float32(math.Log(float64(s.p.MinP)))
	}
	if s.p.TopP >= 1 || math.IsInf(float64(best), -1) {
		return above(s.cands[:0], l, cut)
	}
	z := 0.0
	for _, v := range l {
		z += math.Exp(float64(v - best))
	}
	p := float64(s.p.TopP)
	var c []candidate
	for d := float32(8); ; d *= 2 {
		t := max(best-d, cut)
		c = above(s.cands[:0], l, t)
		mass := 0.0
		for _, x := range c {
			mass += math.Exp(float64(x.logit - best))
		}
		if mass/z >= p || t <= cut || len(c) == len(l) || math.IsInf(float64(d), 1) {
			break
		}
	}
	slices.SortFunc(c, byRank)
	return s.topP(c, z)
}

// above appends to dst every token whose logit is at least t.
func above(dst []candidate, l []float32, t float32) []candidate {
	for i, v := range l {
		if v >= t {
			dst = append(dst, candidate{int32(i), v})
		}
	}
	return dst
}

// draw picks one candidate with probability softmax(logit / Temperature).
func (s *Sampler) draw(c []candidate) int32 {
	best := c[0]
	for _, x := range c[1:] {
		if better(x, best) {
			best = x
		}
	}
	if math.IsInf(float64(best.logit), -1) {
		return best.id
	}
	invT := 1 / float64(s.p.Temperature)
	w := s.weights[:0]
	sum := 0.0
	for _, x := range c {
		e := math.Exp((float64(x.logit) - float64(best.logit)) * invT)
		w = append(w, e)
		sum += e
	}
	s.weights = w
	u := s.rng.Float64() * sum
	for i, e := range w {
		u -= e
		if u < 0 {
			return c[i].id
		}
	}
	// Rounding can leave u a hair above zero: the last token with any
	// weight is the one the draw landed on.
	for i := len(w) - 1; i >= 0; i-- {
		if w[i] > 0 {
			return c[i].id
		}
	}
	return best.id
}
