package tensor

// Decode attention. In grouped-query attention several query heads share
// one key/value head; they attend over the same key and value rows, so
// Attend takes the whole group at once and the kernels read each row once
// for all of its queries, instead of one Dot and one Axpy call per position
// and query head.

// Attend stores into out, for each of the G = len(q)/hd query vectors of q
// (hd floats each, one after another), softmax(scale·q_g·k_p)·V over the n
// positions p whose key and value rows start at keys[p*stride] and
// values[p*stride]. out holds G·hd floats; scores is scratch of at least
// G·n floats. G = 1 is plain multi-head attention.
func Attend(out, q, keys, values []float32, hd, stride, n int, scale float32, scores []float32) {
	g := len(q) / hd
	out = out[:g*hd]
	if n <= 0 {
		clear(out)
		return
	}
	// One bounds check each here lets the kernels take raw pointers.
	last := (n-1)*stride + hd
	keys, values, scores = keys[:last], values[:last], scores[:g*n]
	k := &attnSets[len(attnSets)-1]
	k.scores(scores, q[:g*hd], keys, hd, stride, n, scale)
	for i := range g {
		k.softmax(scores[i*n : (i+1)*n])
	}
	k.values(out, scores, values, hd, stride, n)
}

// attnKernels is one implementation of Attend's three steps.
type attnKernels struct {
	name    string
	scores  func(dst, q, keys []float32, hd, stride, n int, scale float32)
	softmax func(x []float32)
	values  func(out, w, values []float32, hd, stride, n int)
}

// attnSets lists the implementations this CPU runs, the pure-Go one first
// and the fastest last; assembly ones join at start-up. Attend runs on the
// last, the tests on all.
var attnSets = []attnKernels{{"go", attnScoresGo, Softmax, attnValuesGo}}

// attnScoresGo stores scale·q_g·k_p into dst[g*n+p] for every query g of q
// and position p < n.
func attnScoresGo(dst, q, keys []float32, hd, stride, n int, scale float32) {
	for g := range len(q) / hd {
		qg, row := q[g*hd:(g+1)*hd], dst[g*n:(g+1)*n]
		for p := range row {
			row[p] = dotFloats(qg, keys[p*stride:p*stride+hd]) * scale
		}
	}
}

// attnValuesGo stores into each query g's hd floats of out the sum over
// positions p < n of w[g*n+p]·v_p.
func attnValuesGo(out, w, values []float32, hd, stride, n int) {
	for g := range len(out) / hd {
		o := out[g*hd : (g+1)*hd]
		clear(o)
		for p, wp := range w[g*n : (g+1)*n] {
			axpyFloats(wp, values[p*stride:p*stride+hd], o)
		}
	}
}
