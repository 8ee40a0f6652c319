//go:build !purego

package tensor

import "golang.org/x/sys/cpu"

// AVX-512 attention kernels (attn_amd64.s). The score kernels take four
// queries against four positions, or one query against sixteen, per tile
// and reduce the tile's sixteen dots together; the value kernels take four
// queries or one. Where a block of four queries or a tile of positions does
// not fit evenly, the last block or tile overlaps the one before: its
// results are computed again from the same inputs, so the same bits are
// stored twice.

//go:noescape
func attnScores4x4AVX512(q, k *float32, kstride, hd, tiles int, scale float32, dst *float32, dstride int)

//go:noescape
func attnScores1x16AVX512(q, k *float32, kstride, hd, tiles int, scale float32, dst *float32)

//go:noescape
func attnValues4AVX512(w *float32, wstride int, v *float32, vstride, hd, n int, out *float32)

//go:noescape
func attnValues1AVX512(w, v *float32, vstride, hd, n int, out *float32)

//go:noescape
func softmaxAVX512(x *float32, n int)

func init() {
	if noAsm || !cpu.X86.HasAVX512F {
		return
	}
	attnScores = attnScoresAVX512
	attnValues = attnValuesAVX512
	attnSoftmax = softmaxFast
}

// softmaxFast is Softmax with the exponentials of ggml's vector expf and a
// float32 sum in sixteen lanes.
func softmaxFast(x []float32) {
	if len(x) > 0 {
		softmaxAVX512(&x[0], len(x))
	}
}

// attnScoresAVX512 is attnScoresGo on the AVX-512 kernels, for head sizes
// that are a multiple of 16; sequences too short for one tile take the Go
// kernel.
func attnScoresAVX512(dst, q, keys []float32, hd, stride, n int, scale float32) {
	g := len(q) / hd
	if hd%16 != 0 {
		attnScoresGo(dst, q, keys, hd, stride, n, scale)
		return
	}
	if g < 4 {
		for i := range g {
			qi, row := q[i*hd:(i+1)*hd], dst[i*n:(i+1)*n]
			if n < 16 {
				attnScoresGo(row, qi, keys, hd, stride, n, scale)
				continue
			}
			attnScores1x16AVX512(&qi[0], &keys[0], stride, hd, n/16, scale, &row[0])
			if n%16 != 0 {
				attnScores1x16AVX512(&qi[0], &keys[(n-16)*stride], stride, hd, 1, scale, &row[n-16])
			}
		}
		return
	}
	if n < 4 {
		attnScoresGo(dst, q, keys, hd, stride, n, scale)
		return
	}
	for g0 := 0; g0 < g; g0 += 4 {
		g0 = min(g0, g-4)
		q4, rows := &q[g0*hd], dst[g0*n:]
		attnScores4x4AVX512(q4, &keys[0], stride, hd, n/4, scale, &rows[0], n)
		if n%4 != 0 {
			attnScores4x4AVX512(q4, &keys[(n-4)*stride], stride, hd, 1, scale, &rows[n-4], n)
		}
	}
}

// attnValuesAVX512 is attnValuesGo on the AVX-512 kernels, for head sizes
// that are a multiple of 16.
func attnValuesAVX512(out, w, values []float32, hd, stride, n int) {
	g := len(out) / hd
	if hd%16 != 0 {
		attnValuesGo(out, w, values, hd, stride, n)
		return
	}
	if g < 4 {
		for i := range g {
			attnValues1AVX512(&w[i*n], &values[0], stride, hd, n, &out[i*hd])
		}
		return
	}
	for g0 := 0; g0 < g; g0 += 4 {
		g0 = min(g0, g-4)
		attnValues4AVX512(&w[g0*n], n, &values[0], stride, hd, n, &out[g0*hd])
	}
}
