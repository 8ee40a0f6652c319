//go:build !purego

package tensor

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// Assembly kernels (vecdot_amd64.s). Each takes whole batches only (see its
// comment); the Go wrappers below finish the tail with the pure-Go code,
// carrying the running sum so the order of float additions is unchanged.

//go:noescape
func dotQ8_0AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ4_0AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ4KAVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ6KAVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ8_0x4VNNI(w *byte, stride int, a *byte, ad *float32, nb int, out *[4]float32)

//go:noescape
func dotQ4_0x4VNNI(w *byte, stride int, a *byte, ad *float32, nb int, out *[4]float32)

//go:noescape
func dotF32AVX2(a, b *byte, n int) float32

//go:noescape
func dotF16AVX2(a, b *byte, n int) float32

//go:noescape
func dotBF16AVX2(a, b *byte, n int) float32

//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

func init() {
	if noAsm || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA || !cpu.X86.HasF16C {
		return
	}
	kernelSet = "avx2"
	fastDots[Q8_0] = blockFast(dotQ8_0AVX2, q8_0Blocks, 34, 34)
	fastDots[Q4_0] = blockFast(dotQ4_0AVX2, q4_0Blocks, 18, 34)
	fastDots[Q4_K] = kFast(dotQ4KAVX2, 144)
	fastDots[Q6_K] = kFast(dotQ6KAVX2, 210)
	fastDots[F32] = floatFast(dotF32AVX2, dotF32, 4, 32)
	fastDots[F16] = floatFast(dotF16AVX2, dotF16, 2, 32)
	fastDots[BF16] = floatFast(dotBF16AVX2, dotBF16, 2, 32)
	dotFloats = dotFloatsFast
	axpyFloats = axpyFast
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512BF16 {
		fastDots[BF16] = floatFast(dotBF16AVX512BF16, fastDots[BF16], 2, 64) // bf16_amd64.s
	}
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512VL || !cpu.X86.HasAVX512BW || !cpu.X86.HasAVX512VNNI {
		return
	}
	kernelSet = "avx512vnni"
	fastDots4[Q8_0] = rows4Fast(dotQ8_0x4VNNI, q8_0Blocks, 34)
	fastDots4[Q4_0] = rows4Fast(dotQ4_0x4VNNI, q4_0Blocks, 18)
	fastGemm[Q8_0] = gemmRowsQ8(gemmQ8_0VNNI, q8_0Blocks, 34, 128)
	fastGemm[Q4_0] = gemmRowsQ8(gemmQ4_0VNNI, q4_0Blocks, 18, 8)
}

// rows4Fast wraps a four-row assembly kernel over 32-element blocks (whole
// batches of 8) whose weight blocks take wsize bytes; each row's tail
// continues its running sum with the Go kernel's loop rest.
func rows4Fast(kernel func(w *byte, stride int, a *byte, ad *float32, nb int, out *[4]float32), rest func(w, a []byte, b0, b1 int, sumf float32) float32, wsize int) dot4Func {
	return func(w []byte, stride int, a []byte, ad []float32, n int, dst []float32) {
		out := (*[4]float32)(dst)
		nb := n / 32
		nb8 := nb &^ 7
		*out = [4]float32{}
		if nb8 > 0 {
			_, _, _ = w[3*stride+nb8*wsize-1], a[nb8*34-1], ad[nb8-1]
			kernel(&w[0], stride, &a[0], &ad[0], nb8, out)
		}
		if nb8 < nb {
			for r := range out {
				out[r] = rest(w[r*stride:], a, nb8, nb, out[r])
			}
		}
	}
}

// blockFast wraps an assembly kernel over 32-element blocks (whole batches
// of 8) whose weight and activation blocks take wsize and asize bytes,
// continuing the running sum over the tail with the Go kernel's loop rest.
func blockFast(kernel func(w, a *byte, nb int) float32, rest func(w, a []byte, b0, b1 int, sumf float32) float32, wsize, asize int) vecDotFunc {
	return func(w, a []byte, n int) float32 {
		nb := n / 32
		nb8 := nb &^ 7
		var sumf float32
		if nb8 > 0 {
			_, _ = w[nb8*wsize-1], a[nb8*asize-1]
			sumf = kernel(&w[0], &a[0], nb8)
		}
		return rest(w, a, nb8, nb, sumf)
	}
}

// The float kernels accumulate in float32 lanes; the tail joins them in
// float64 as the Go kernels do.

// floatFast wraps an assembly float kernel over whole batches of batch
// elements (a power of two) of size bytes, finishing the tail with the
// kernel tail (the Go kernel, or a narrower assembly one).
func floatFast(kernel func(a, b *byte, n int) float32, tail vecDotFunc, size, batch int) vecDotFunc {
	return func(w, a []byte, n int) float32 {
		nw := n &^ (batch - 1)
		var sum float64
		if nw > 0 {
			_, _ = w[size*nw-1], a[size*nw-1]
			sum = float64(kernel(&w[0], &a[0], nw))
		}
		return float32(sum + float64(tail(w[size*nw:], a[size*nw:], n-nw)))
	}
}

func dotFloatsFast(a, b []float32) float32 {
	b = b[:len(a)]
	n32 := len(a) &^ 31
	var sum float64
	if n32 > 0 {
		sum = float64(dotF32AVX2((*byte)(unsafe.Pointer(&a[0])), (*byte)(unsafe.Pointer(&b[0])), n32))
	}
	return float32(sum + float64(dotFloatsGo(a[n32:], b[n32:])))
}

func axpyFast(alpha float32, x, y []float32) {
	y = y[:len(x)]
	n8 := len(x) &^ 7
	if n8 > 0 {
		axpyAVX2(alpha, &x[0], &y[0], n8)
	}
	axpyGo(alpha, x[n8:], y[n8:])
}

// rows4K wraps a four-row assembly k-quant kernel over whole super-blocks of
// wsize bytes; k-quant activations carry float32 scales already, so ad is
// unused.
func rows4K(kernel func(w *byte, stride int, a *byte, nb int, out *[4]float32), wsize int) dot4Func {
	return func(w []byte, stride int, a []byte, _ []float32, n int, dst []float32) {
		out := (*[4]float32)(dst)
		nb := n / QK_K
		if nb == 0 {
			*out = [4]float32{}
			return
		}
		_, _ = w[3*stride+nb*wsize-1], a[nb*292-1]
		kernel(&w[0], stride, &a[0], nb, out)
	}
}

// kFast wraps an assembly k-quant kernel over whole super-blocks of wsize
// bytes.
func kFast(kernel func(w, a *byte, nb int) float32, wsize int) vecDotFunc {
	return func(w, a []byte, n int) float32 {
		nb := n / QK_K
		if nb == 0 {
			return 0
		}
		_, _ = w[nb*wsize-1], a[nb*292-1]
		return kernel(&w[0], &a[0], nb)
	}
}

//go:noescape
func gemmQ8_0VNNI(w *byte, stride int, a *byte, nb int, out *[64]float32)

//go:noescape
func gemmQ4_0VNNI(w *byte, stride int, a *byte, nb int, out *[64]float32)

// gemmRowsQ8 wraps a four-row, sixteen-vector assembly kernel over weight
// blocks of wsize bytes against Q8_0 activations laid out by gemmLayoutQ8;
// each output's tail blocks continue its running sum with the Go loop rest.
func gemmRowsQ8(kernel func(w *byte, stride int, a *byte, nb int, out *[64]float32), rest func(w, a []byte, b0, b1 int, sumf float32) float32, wsize int, bias int32) *gemmKernel {
	return &gemmKernel{
		rows: 4, vecs: 16, minVecs: 5,
		groupBytes: gemmGroupQ8,
		layout:     gemmLayoutQ8(bias),
		run: func(m *Matrix, r int, grp, act []byte, nv int, dst []float32) {
			nb := m.Cols / 32
			nb8 := nb &^ 7
			rb := m.rowBytes
			var out [64]float32
			if nb8 > 0 {
				_, _ = m.Data[(r+3)*rb+nb8*wsize-1], grp[nb8*gemmQ8Block-1]
				kernel(&m.Data[r*rb], rb, &grp[0], nb8, &out)
			}
			for rr := range 4 {
				w := m.Data[(r+rr)*rb : (r+rr+1)*rb]
				for i := range nv {
					s := out[16*rr+i]
					if nb8 < nb {
						s = rest(w, act[i*m.actBytes:(i+1)*m.actBytes], nb8, nb, s)
					}
					dst[i*m.Rows+r+rr] = s
				}
			}
		},
	}
}

// gemmRowsK wraps a four-row, sixteen-vector k-quant kernel over weight
// super-blocks of wsize bytes and activations laid out in blocks of
// ablock bytes; it finishes each dot with laneSum, as dotK45 and dotK16 do
// (dotK16's running sum stays 0, as the kernel leaves it).
func gemmRowsK(kernel func(w *byte, stride int, a *byte, astride int, nv int, nb int, out *[4][16][16]float32), wsize, ablock int, layout func(dst, a []byte, lane, cols int), groupBytes func(cols int) int) *gemmKernel {
	return &gemmKernel{
		rows: 4, vecs: 16, minVecs: 2,
		groupBytes: groupBytes,
		layout:     layout,
		run: func(m *Matrix, r int, grp, _ []byte, nv int, dst []float32) {
			nb := m.Cols / QK_K
			var out [4][16][16]float32
			_, _ = m.Data[(r+3)*m.rowBytes+nb*wsize-1], grp[nv*nb*ablock-1]
			kernel(&m.Data[r*m.rowBytes], m.rowBytes, &grp[0], nb*ablock, nv, nb, &out)
			for rr := range 4 {
				for i := range nv {
					dst[i*m.Rows+r+rr] = laneSum(out[rr][i][8], (*[8]float32)(out[rr][i][:8]))
				}
			}
		},
	}
}
