package tensor

import "math"

// The k-quant quantizers (Q2_K..Q6_K): ports of ggml-quants.c's
// quantize_row_q*_K_ref with their helpers make_qx_quants, make_q3_quants
// and make_qkx2_quants, specialised to the arguments the _ref versions pass
// (no importance weights). See quant.go for the float conventions.

// groupMaxEps is ggml's GROUP_MAX_EPS: a group whose largest magnitude is
// below it counts as all zero.
const groupMaxEps = 1e-15

// nearestInt rounds to the nearest integer, ties to even, for |f| < 2^22,
// with ggml's trick of adding 1.5*2^23 and reading the mantissa.
func nearestInt(f float32) int32 {
	// float32(f) keeps the compiler from fusing a caller's product f = a·b
	// into an FMA with the add (GOAMD64=v3 allows it), which would skip the
	// product's rounding that ggml's C code does.
	v := float32(f) + 12582912
	return int32(math.Float32bits(v)&0x007fffff) - 0x00400000
}

func clampInt(v, lo, hi int32) int32 { return max(lo, min(hi, v)) }

// makeQxQuants is make_qx_quants with rmse_type 1 and no weights: symmetric
// quants L in [0, 2*nmax) around nmax, the scale chosen among 19 candidates
// to minimise the x²-weighted squared error. It returns the scale.
func makeQxQuants(nmax int32, x []float32, L []int8) float32 {
	max, amax := signedMax(x)
	if amax < groupMaxEps {
		clear(L)
		return 0
	}
	fit := func(iscale float32) (sumlx, suml2 float32) {
		for _, v := range x {
			l := float32(clampInt(nearestInt(iscale*v), -nmax, nmax-1))
			w := v * v
			sumlx += float32(w * v * l)
			suml2 += float32(w * l * l)
		}
		return sumlx, suml2
	}
	assign := func(iscale float32) {
		for i, v := range x {
			L[i] = int8(nmax + clampInt(nearestInt(iscale*v), -nmax, nmax-1))
		}
	}
	iscale := float32(-nmax) / max
	assign(iscale)
	sumlx, suml2 := fit(iscale)
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := scale * sumlx
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / max
		sumlx, suml2 = fit(iscale)
		if suml2 > 0 && sumlx*sumlx > best*suml2 {
			assign(iscale)
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// makeQ3Quants is make_q3_quants with do_rmse: start from the nearest
// quants of the largest-magnitude scale, then move single quants while that
// lowers the x²-weighted error (up to five sweeps). L ends in [0, 2*nmax).
func makeQ3Quants(nmax int32, x []float32, L []int8) float32 {
	max, amax := signedMax(x)
	if amax < groupMaxEps {
		clear(L)
		return 0
	}
	iscale := float32(-nmax) / max
	var sumlx, suml2 float32
	for i, v := range x {
		l := clampInt(nearestInt(iscale*v), -nmax, nmax-1)
		L[i] = int8(l)
		w := v * v
		sumlx += float32(w * v * float32(l))
		suml2 += float32(w * float32(l) * float32(l))
	}
	for range 5 {
		changed := false
		for i, v := range x {
			w := v * v
			li := float32(L[i])
			slx := sumlx - float32(w*v*li)
			if slx <= 0 {
				continue
			}
			sl2 := suml2 - float32(w*li*li)
			nl := clampInt(nearestInt(v*sl2/slx), -nmax, nmax-1)
			if nl == int32(L[i]) {
				continue
			}
			slx += float32(w * v * float32(nl))
			sl2 += float32(w * float32(nl) * float32(nl))
			if sl2 > 0 && slx*slx*suml2 > sumlx*sumlx*sl2 {
				L[i], sumlx, suml2 = int8(nl), slx, sl2
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	for i := range L {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

// qkx2Params are the search settings quantize_row_q*_K_ref pass to
// make_qkx2_quants.
type qkx2Params struct {
	nmax          int32
	rmin, rdelta  float32
	nstep         int
	absoluteError bool // use_mad: weigh |error| instead of error²
}

// makeQkx2Quants is make_qkx2_quants: asymmetric quants L in [0, nmax] with
// x ≈ scale*L - min, searching nstep+1 candidate scales by weighted least
// squares. It returns scale and min (min >= 0; the offset subtracted).
func makeQkx2Quants(p qkx2Params, x, weights []float32, L, Laux []uint8) (scale, theMin float32) {
	min, max := x[0], x[0]
	sumW := weights[0]
	sumX := sumW * x[0]
	for i := 1; i < len(x); i++ {
		if x[i] < min {
			min = x[i]
		}
		if x[i] > max {
			max = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if min > 0 {
		min = 0
	}
	if max == min {
		clear(L)
		return 0, -min
	}
	errorOf := func(scale, min float32, L []uint8) float32 {
		var e float32
		for i, v := range x {
			diff := float32(scale*float32(L[i])) + min - v
			if p.absoluteError {
				diff = abs32(diff)
			} else {
				diff *= diff
			}
			e += float32(weights[i] * diff)
		}
		return e
	}
	nmax := float32(p.nmax)
	quantize := func(iscale, min float32, L []uint8) {
		for i, v := range x {
			L[i] = uint8(clampInt(nearestInt(iscale*(v-min)), 0, p.nmax))
		}
	}
	iscale := nmax / (max - min)
	scale = 1 / iscale
	quantize(iscale, min, L)
	bestError := errorOf(scale, min, L)
	for is := 0; is <= p.nstep; is++ {
		iscale = (p.rmin + float32(p.rdelta*float32(is)) + nmax) / (max - min)
		quantize(iscale, min, Laux)
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			w, l := weights[i], float32(Laux[i])
			sumL += float32(w * l)
			sumL2 += float32(w * l * l)
			sumXL += float32(w * l * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D <= 0 {
			continue
		}
		thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
		thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
		if thisMin > 0 {
			thisMin = 0
			thisScale = sumXL / sumL2
		}
		if cur := errorOf(thisScale, thisMin, Laux); cur < bestError {
			copy(L, Laux)
			bestError, scale, min = cur, thisScale, thisMin
		}
	}
	return scale, -min
}

// groupScales runs quantize over the sixteen 16-element groups of a Q3_K or
// Q6_K super-block and returns the scale of largest magnitude (the first on
// ties) and that magnitude.
func groupScales(quantize func(nmax int32, x []float32, L []int8) float32, nmax int32,
	x []float32, L *[QK_K]int8, scales *[QK_K / 16]float32) (maxScale, maxAbs float32) {
	for j := range scales {
		scales[j] = quantize(nmax, x[16*j:16*j+16], L[16*j:16*j+16])
		if a := abs32(scales[j]); a > maxAbs {
			maxAbs, maxScale = a, scales[j]
		}
	}
	return maxScale, maxAbs
}

// pack2Bits stores 256 2-bit quants as ggml's Q2_K/Q3_K qs: each 128-element
// half takes 32 bytes, element l+32k in bits 2k of byte l.
func pack2Bits(L []uint8, qs []byte) {
	for j := 0; j < QK_K; j += 128 {
		for l := 0; l < 32; l++ {
			qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}

func quantQ2K(src []float32, dst []byte) {
	const size = 84
	var (
		L, Laux       [QK_K]uint8
		weights       [16]float32
		scales, mins  [QK_K / 16]float32
		params        = qkx2Params{nmax: 3, rmin: -0.5, rdelta: 0.1, nstep: 15, absoluteError: true}
		maxScaleQuant = float32(15)
	)
	for b := 0; b < len(src)/QK_K; b++ {
		x, y := src[b*QK_K:b*QK_K+QK_K], dst[b*size:b*size+size]
		sc, qs := y[0:16], y[16:80]
		var maxScale, maxMin float32
		for j := range QK_K / 16 {
			xs := x[16*j : 16*j+16]
			for l, v := range xs {
				weights[l] = abs32(v)
			}
			scales[j], mins[j] = makeQkx2Quants(params, xs, weights[:], L[16*j:16*j+16], Laux[:16])
			maxScale = max(maxScale, scales[j])
			maxMin = max(maxMin, mins[j])
		}
		clear(sc)
		if maxScale > 0 {
			iscale := maxScaleQuant / maxScale
			for j := range sc {
				sc[j] = uint8(nearestInt(iscale * scales[j]))
			}
		}
		putHalf(y[80:], maxScale/maxScaleQuant)
		if maxMin > 0 {
			iscale := maxScaleQuant / maxMin
			for j := range sc {
				sc[j] |= uint8(nearestInt(iscale*mins[j]) << 4)
			}
		}
		putHalf(y[82:], maxMin/maxScaleQuant)
		d, dmin := half(y[80:]), half(y[82:])
		for j := range QK_K / 16 {
			dj := d * float32(sc[j]&0xf)
			if dj == 0 {
				continue
			}
			dm := dmin * float32(sc[j]>>4)
			for ii, v := range x[16*j : 16*j+16] {
				L[16*j+ii] = uint8(clampInt(nearestInt((v+dm)/dj), 0, 3))
			}
		}
		pack2Bits(L[:], qs)
	}
}

func quantQ3K(src []float32, dst []byte) {
	const size = 110
	var (
		L      [QK_K]int8
		scales [QK_K / 16]float32
		lu     [QK_K]uint8
	)
	for b := 0; b < len(src)/QK_K; b++ {
		x, y := src[b*QK_K:b*QK_K+QK_K], dst[b*size:b*size+size]
		hmask, qs, sc := y[0:32], y[32:96], y[96:108]
		maxScale, _ := groupScales(makeQ3Quants, 4, x, &L, &scales)
		clear(sc)
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := range QK_K / 16 {
				l := byte(clampInt(int32(int8(nearestInt(iscale*scales[j]))), -32, 31) + 32)
				if j < 8 {
					sc[j] = l & 0xf
				} else {
					sc[j-8] |= (l & 0xf) << 4
				}
				sc[j%4+8] |= (l >> 4) << (2 * (j / 4))
			}
			putHalf(y[108:], 1/iscale)
		} else {
			putHalf(y[108:], 0)
		}
		d := half(y[108:])
		for j := range QK_K / 16 {
			dj := d * float32(q3KScale(sc, j)-32)
			if dj == 0 {
				continue
			}
			for ii, v := range x[16*j : 16*j+16] {
				L[16*j+ii] = int8(clampInt(nearestInt(v/dj), -4, 3) + 4)
			}
		}
		// The high bit of element j goes to bit j/32 of hmask[j%32].
		clear(hmask)
		for j, l := range L {
			if l > 3 {
				hmask[j%32] |= 1 << (j / 32)
				l -= 4
			}
			lu[j] = uint8(l)
		}
		pack2Bits(lu[:], qs)
	}
}

// quantKScalesMins quantizes the eight sub-block scales and mins of a
// Q4_K/Q5_K super-block to 6 bits each, packs them into sc[0:12] as
// get_scale_min_k4 reads them, and stores d and dmin at y[0:4].
func quantKScalesMins(scales, mins *[8]float32, y, sc []byte) {
	var maxScale, maxMin float32
	for j := range 8 {
		maxScale = max(maxScale, scales[j])
		maxMin = max(maxMin, mins[j])
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	for j := range 8 {
		ls := min(63, uint8(nearestInt(invScale*scales[j])))
		lm := min(63, uint8(nearestInt(invMin*mins[j])))
		if j < 4 {
			sc[j] = ls
			sc[j+4] = lm
		} else {
			sc[j+4] = ls&0xf | (lm&0xf)<<4
			sc[j-4] |= (ls >> 4) << 6
			sc[j] |= (lm >> 4) << 6
		}
	}
	putHalf(y, maxScale/63)
	putHalf(y[2:], maxMin/63)
}

// quantK45 runs quantize_row_q4_K_ref/q5_K_ref over whole super-blocks of
// size bytes: per 32-element sub-block scale/min search, 6-bit packing into
// the header, requantization of L against the rounded scales, and finally
// pack, which stores L in the type's quant layout.
func quantK45(p qkx2Params, size int, src []float32, dst []byte, pack func(L *[QK_K]uint8, y []byte)) {
	var (
		L             [QK_K]uint8
		Laux          [32]uint8
		weights       [32]float32
		scales, mins  [8]float32
		subBlockElems = float32(32)
	)
	for b := 0; b < len(src)/QK_K; b++ {
		x, y := src[b*QK_K:b*QK_K+QK_K], dst[b*size:b*size+size]
		sc := y[4:16]
		for j := range 8 {
			xs := x[32*j : 32*j+32]
			var sumX2 float32
			for _, v := range xs {
				sumX2 += float32(v * v)
			}
			av := float32(math.Sqrt(float64(sumX2 / subBlockElems)))
			for l, v := range xs {
				weights[l] = av + abs32(v)
			}
			scales[j], mins[j] = makeQkx2Quants(p, xs, weights[:], L[32*j:32*j+32], Laux[:])
		}
		quantKScalesMins(&scales, &mins, y, sc)
		d, dmin := half(y), half(y[2:])
		for j := range 8 {
			s, m := scaleMinK4(j, sc)
			dj := d * float32(s)
			if dj == 0 {
				continue
			}
			dm := dmin * float32(m)
			for ii, v := range x[32*j : 32*j+32] {
				L[32*j+ii] = uint8(clampInt(nearestInt((v+dm)/dj), 0, p.nmax))
			}
		}
		pack(&L, y)
	}
}

func quantQ4K(src []float32, dst []byte) {
	quantK45(qkx2Params{nmax: 15, rmin: -1, rdelta: 0.1, nstep: 20}, 144, src, dst, func(L *[QK_K]uint8, y []byte) {
		for g := 0; g < 4; g++ {
			q := y[16+32*g : 48+32*g]
			for l := range q {
				q[l] = L[64*g+l] | L[64*g+l+32]<<4
			}
		}
	})
}

func quantQ5K(src []float32, dst []byte) {
	quantK45(qkx2Params{nmax: 31, rmin: -0.5, rdelta: 0.1, nstep: 15}, 176, src, dst, func(L *[QK_K]uint8, y []byte) {
		qh := y[16:48]
		clear(qh)
		for g := 0; g < 4; g++ {
			q := y[48+32*g : 80+32*g]
			for l := range q {
				lo, hi := L[64*g+l], L[64*g+l+32]
				if lo > 15 {
					lo -= 16
					qh[l] |= 1 << (2 * g)
				}
				if hi > 15 {
					hi -= 16
					qh[l] |= 2 << (2 * g)
				}
				q[l] = lo | hi<<4
			}
		}
	})
}

func quantQ6K(src []float32, dst []byte) {
	const size = 210
	var (
		L      [QK_K]int8
		scales [QK_K / 16]float32
	)
	for b := 0; b < len(src)/QK_K; b++ {
		x, y := src[b*QK_K:b*QK_K+QK_K], dst[b*size:b*size+size]
		ql, qh, sc := y[0:128], y[128:192], y[192:208]
		maxScale, maxAbs := groupScales(makeQxQuants, 32, x, &L, &scales)
		if maxAbs < groupMaxEps {
			clear(y)
			continue
		}
		iscale := -128 / maxScale
		putHalf(y[208:], 1/iscale)
		for ib := range sc {
			sc[ib] = byte(int8(min(127, nearestInt(iscale*scales[ib]))))
		}
		d := half(y[208:])
		for j := range QK_K / 16 {
			dj := d * float32(int8(sc[j]))
			if dj == 0 {
				continue
			}
			for ii, v := range x[16*j : 16*j+16] {
				L[16*j+ii] = int8(clampInt(nearestInt(v/dj), -32, 31) + 32)
			}
		}
		for n := 0; n < 2; n++ {
			Ln, l4, h := L[128*n:128*n+128], ql[64*n:64*n+64], qh[32*n:32*n+32]
			for l := 0; l < 32; l++ {
				q1, q2, q3, q4 := byte(Ln[l]), byte(Ln[l+32]), byte(Ln[l+64]), byte(Ln[l+96])
				l4[l] = q1&0xf | (q3&0xf)<<4
				l4[l+32] = q2&0xf | (q4&0xf)<<4
				h[l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
			}
		}
	}
}
