//go:build !purego

package tensor

import "golang.org/x/sys/cpu"

// Assembly attention kernels (attn_amd64.s): scores in an AVX-512 and an
// AVX2 version, softmax and the weighted sum of values in AVX2. The score
// kernels take a block of four queries or a single one against tiles of
// positions whose dots are reduced together; the value kernels a block of
// four queries or a single one. Where a block of four queries or a tile of
// positions does not fit evenly, the last block or tile overlaps the one
// before: its results are computed again from the same inputs, so the same
// bits are stored twice.

//go:noescape
func attnScores4x4AVX512(q, k *float32, kstride, hd, tiles int, scale float32, dst *float32, dstride int)

//go:noescape
func attnScores1x16AVX512(q, k *float32, kstride, hd, tiles int, scale float32, dst *float32)

//go:noescape
func attnScores4x2AVX2(q, k *float32, kstride, hd, tiles int, scale float32, dst *float32, dstride int)

//go:noescape
func attnScores1x8AVX2(q, k *float32, kstride, hd, tiles int, scale float32, dst *float32)

//go:noescape
func attnValues4AVX2(w *float32, wstride int, v *float32, vstride, hd, n int, out *float32)

//go:noescape
func attnValues1AVX2(w, v *float32, vstride, hd, n int, out *float32)

//go:noescape
func softmaxAVX2(x *float32, n int)

// attnScoresAsm is one instruction set's score kernels.
type attnScoresAsm struct {
	align        int // head sizes they take: multiples of align
	tile4, tile1 int // positions per tile of scores4 and scores1
	scores4      func(q, k *float32, kstride, hd, tiles int, scale float32, dst *float32, dstride int)
	scores1      func(q, k *float32, kstride, hd, tiles int, scale float32, dst *float32)
}

func init() {
	if noAsm || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return
	}
	avx2 := &attnScoresAsm{8, 2, 8, attnScores4x2AVX2, attnScores1x8AVX2}
	attnSets = append(attnSets, attnKernels{"avx2", avx2.scores, softmaxFast, attnValuesAVX2})
	if cpu.X86.HasAVX512F {
		avx512 := &attnScoresAsm{16, 4, 16, attnScores4x4AVX512, attnScores1x16AVX512}
		attnSets = append(attnSets, attnKernels{"avx512", avx512.scores, softmaxFast, attnValuesAVX2})
	}
}

// scores is attnScoresGo on a's kernels, for head sizes they take;
// sequences too short for one tile take the Go kernel.
func (a *attnScoresAsm) scores(dst, q, keys []float32, hd, stride, n int, scale float32) {
	g := len(q) / hd
	if hd%a.align != 0 {
		attnScoresGo(dst, q, keys, hd, stride, n, scale)
		return
	}
	if g < 4 {
		for i := range g {
			qi, row := q[i*hd:(i+1)*hd], dst[i*n:(i+1)*n]
			if n < a.tile1 {
				attnScoresGo(row, qi, keys, hd, stride, n, scale)
				continue
			}
			a.scores1(&qi[0], &keys[0], stride, hd, n/a.tile1, scale, &row[0])
			if t := n - a.tile1; n%a.tile1 != 0 {
				a.scores1(&qi[0], &keys[t*stride], stride, hd, 1, scale, &row[t])
			}
		}
		return
	}
	if n < a.tile4 {
		attnScoresGo(dst, q, keys, hd, stride, n, scale)
		return
	}
	for g0 := 0; g0 < g; g0 += 4 {
		g0 = min(g0, g-4)
		q4, rows := &q[g0*hd], dst[g0*n:]
		a.scores4(q4, &keys[0], stride, hd, n/a.tile4, scale, &rows[0], n)
		if t := n - a.tile4; n%a.tile4 != 0 {
			a.scores4(q4, &keys[t*stride], stride, hd, 1, scale, &rows[t], n)
		}
	}
}

// attnValuesAVX2 is attnValuesGo on the AVX2 kernels, for head sizes that
// are a multiple of 8.
func attnValuesAVX2(out, w, values []float32, hd, stride, n int) {
	g := len(out) / hd
	if hd%8 != 0 {
		attnValuesGo(out, w, values, hd, stride, n)
		return
	}
	if g < 4 {
		for i := range g {
			attnValues1AVX2(&w[i*n], &values[0], stride, hd, n, &out[i*hd])
		}
		return
	}
	for g0 := 0; g0 < g; g0 += 4 {
		g0 = min(g0, g-4)
		attnValues4AVX2(&w[g0*n], n, &values[0], stride, hd, n, &out[g0*hd])
	}
}

// softmaxFast is Softmax with the exponentials of ggml's vector expf and a
// float32 sum in vector lanes.
func softmaxFast(x []float32) {
	if len(x) > 0 {
		softmaxAVX2(&x[0], len(x))
	}
}
