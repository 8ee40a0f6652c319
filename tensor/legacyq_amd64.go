//go:build !purego

package tensor

import (
	"encoding/binary"
	"math"

	"golang.org/x/sys/cpu"
)

// Assembly kernels for Q4_1, Q5_0 and Q5_1 (legacyq_amd64.s), registered
// under the same CPU conditions as vecdot_amd64.go's. Their activations are
// Q8_1 (Q4_1, Q5_1) or Q8_0 (Q5_0); the four-row kernels read the
// activation scales themselves, as MatMul converts only Q8_0's. The GEMM
// kernels take gemmRowsQ8's frame: Q5_0's activations laid out by
// gemmLayoutQ8 with bias 0 (its kernels keep the bias on the weight side),
// Q4_1's and Q5_1's by gemmLayoutQ81.

//go:noescape
func dotQ4_1AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ5_0AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ5_1AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ4_1x4VNNI(w *byte, stride int, a *byte, nb int, out *[4]float32)

//go:noescape
func dotQ5_0x4VNNI(w *byte, stride int, a *byte, nb int, out *[4]float32)

//go:noescape
func dotQ5_1x4VNNI(w *byte, stride int, a *byte, nb int, out *[4]float32)

//go:noescape
func gemmQ4_1VNNI(w *byte, stride int, a *byte, nb int, out *[64]float32)

//go:noescape
func gemmQ5_0VNNI(w *byte, stride int, a *byte, nb int, out *[64]float32)

//go:noescape
func gemmQ5_1VNNI(w *byte, stride int, a *byte, nb int, out *[64]float32)

// legacyKernels lists the types with their block sizes (weights, then
// activations) and the Go loops that finish the tails. The Q5 four-row
// kernels also need AVX-512 VBMI (VPMULTISHIFTQB).
var legacyKernels = []struct {
	typ          Type
	wsize, asize int
	rest         func(w, a []byte, b0, b1 int, sumf float32) float32
	avx2         func(w, a *byte, nb int) float32
	vnni         func(w *byte, stride int, a *byte, nb int, out *[4]float32)
	vbmi         bool
}{
	{Q4_1, 20, 36, q4_1Blocks, dotQ4_1AVX2, dotQ4_1x4VNNI, false},
	{Q5_0, 22, 34, q5_0Blocks, dotQ5_0AVX2, dotQ5_0x4VNNI, true},
	{Q5_1, 24, 36, q5_1Blocks, dotQ5_1AVX2, dotQ5_1x4VNNI, true},
}

func init() {
	if noAsm || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA || !cpu.X86.HasF16C {
		return
	}
	vnni := cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI
	for _, k := range legacyKernels {
		fastDots[k.typ] = blockFast(k.avx2, k.rest, k.wsize, k.asize)
		if vnni && (!k.vbmi || cpu.X86.HasAVX512VBMI) {
			fastDots4[k.typ] = legacyRows4(k.vnni, k.rest, k.wsize, k.asize)
		}
	}
	if !vnni {
		return
	}
	// Each kernel is named at its gemmRowsQ8 call, not taken from the
	// table: the call inlines, the kernel call in it is then direct, and
	// the kernel's output array stays on the stack.
	fastGemm[Q4_1] = gemmRowsQ8(gemmQ4_1VNNI, q4_1Blocks, 20, 0)
	fastGemm[Q5_0] = gemmRowsQ8(gemmQ5_0VNNI, q5_0Blocks, 22, 0)
	fastGemm[Q5_1] = gemmRowsQ8(gemmQ5_1VNNI, q5_1Blocks, 24, 0)
	fastGemm[Q4_1].layout = gemmLayoutQ81
	fastGemm[Q5_1].layout = gemmLayoutQ81
}

// legacyRows4 wraps a four-row kernel as blockFast wraps a one-row one;
// each row's tail continues its own running sum. ad is unused.
func legacyRows4(kernel func(w *byte, stride int, a *byte, nb int, out *[4]float32), rest func(w, a []byte, b0, b1 int, sumf float32) float32, wsize, asize int) dot4Func {
	return func(w []byte, stride int, a []byte, _ []float32, n int, dst []float32) {
		out := (*[4]float32)(dst)
		nb8 := n / 32 &^ 7
		*out = [4]float32{}
		if nb8 > 0 {
			_, _ = w[3*stride+nb8*wsize-1], a[nb8*asize-1]
			kernel(&w[0], stride, &a[0], nb8, out)
		}
		for r := range out {
			out[r] = rest(w[r*stride:], a, nb8, n/32, out[r])
		}
	}
}

// q81Bytes is the size of a block_q8_1.
const q81Bytes = 36

// gemmLayoutQ81 lays a Q8_1 activation row out for the Q4_1 and Q5_1 GEMM
// kernels as gemmLayoutQ8 lays out Q8_0 (quants in steps at 0, d at 512),
// with the block's s as float32 at 576 where Q8_0 has its correction.
func gemmLayoutQ81(dst, a []byte, lane, cols int) {
	for b := range cols / 32 &^ 7 {
		blk, y := dst[b*gemmQ8Block:(b+1)*gemmQ8Block], a[b*q81Bytes:(b+1)*q81Bytes]
		for k := range 8 {
			copy(blk[64*k+4*lane:64*k+4*lane+4], y[4+4*k:])
		}
		binary.LittleEndian.PutUint32(blk[512+4*lane:], math.Float32bits(half(y)))
		binary.LittleEndian.PutUint32(blk[576+4*lane:], math.Float32bits(half(y[2:])))
	}
}
