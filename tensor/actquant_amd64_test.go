//go:build !purego

package tensor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// actKernels pairs each assembly activation quantizer with the Go code whose
// bytes it must write.
var actKernels = []struct {
	typ Type
	isa string
	ok  func() bool // whether the CPU runs it
	ref func(src []float32, dst []byte)
	asm func(x *float32, y *byte, nb int)
}{
	{Q8_0, "avx2", avx2Quant, quantQ8_0Act, quantQ8_0AVX2},
	{Q8_1, "avx2", avx2Quant, quantQ8_1Act, quantQ8_1AVX2},
	{Q8_K, "avx2", avx2Quant, quantQ8K, quantQ8KAVX2},
	{Q8_0, "avx512", avx512Quant, quantQ8_0Act, quantQ8_0AVX512},
	{Q8_1, "avx512", avx512Quant, quantQ8_1Act, quantQ8_1AVX512},
}

// actBlockScales are magnitudes that reach the corners of the arithmetic:
// subnormal inputs, an inverse scale 127/amax that overflows to +Inf (amax
// below 3.8e-37), scales whose f16 is subnormal, zero or infinite (amax/127
// past 65504), and the largest finite floats.
var actBlockScales = []float32{1, 1e-3, 1e3, 1e-20, 1e20, 1e-38, 1e-42, 1e-45, 1e-5, 8.32e6, 8.4e6, 3e38}

// fillActBlock writes one block of test activations in one of several
// shapes, chosen by mode.
func fillActBlock(rng *rand.Rand, x []float32, mode int) {
	scale := actBlockScales[rng.IntN(len(actBlockScales))]
	nan := func() float32 { return math.Float32frombits(0x7f800001 | rng.Uint32()&0x807fffff) }
	switch mode {
	case 0: // Gaussian at some scale
		for i := range x {
			x[i] = float32(rng.NormFloat64()) * scale
		}
	case 1: // zeros of either sign, each block all of one sign or mixed
		sign := rng.IntN(3)
		for i := range x {
			x[i] = 0
			if sign == 1 || sign == 2 && rng.IntN(2) == 0 {
				x[i] = float32(math.Copysign(0, -1))
			}
		}
	case 2: // ties: halves under a largest magnitude of 127·2^k
		p := float32(math.Ldexp(1, rng.IntN(40)-20))
		for i := range x {
			x[i] = (float32(rng.IntN(255)-127) + 0.5) * p
		}
		x[rng.IntN(len(x))] = float32(1-2*rng.IntN(2)) * 127 * p
	case 3: // the largest magnitude several times, with both signs
		m := float32(rng.NormFloat64()) * scale
		for i := range x {
			x[i] = float32(rng.Float64()) * m
		}
		for range 1 + rng.IntN(4) {
			x[rng.IntN(len(x))] = float32(1-2*rng.IntN(2)) * m
		}
	case 4: // arbitrary bit patterns: NaNs with payloads, infinities, subnormals
		for i := range x {
			x[i] = math.Float32frombits(rng.Uint32())
		}
	case 5: // one non-zero element
		clear(x)
		x[rng.IntN(len(x))] = float32(rng.NormFloat64()) * scale
	case 6: // Gaussian with infinities, NaNs and negative zeros sprinkled in
		for i := range x {
			x[i] = float32(rng.NormFloat64()) * scale
			switch rng.IntN(16) {
			case 0:
				x[i] = float32(math.Inf(1 - 2*rng.IntN(2)))
			case 1:
				x[i] = nan()
			case 2:
				x[i] = float32(math.Copysign(0, -1))
			}
		}
	case 7: // NaNs only, or NaNs and zeros: no magnitude to scale by
		for i := range x {
			x[i] = nan()
			if rng.IntN(2) == 0 {
				x[i] = 0
			}
		}
	}
}

// actInputs returns n activations in blocks of size, each block of a random
// mode (mode < 0) or of the given one.
func actInputs(rng *rand.Rand, n, size, mode int) []float32 {
	x := make([]float32, n)
	for b := 0; b < n; b += size {
		m := mode
		if m < 0 {
			m = rng.IntN(8)
		}
		fillActBlock(rng, x[b:b+size], m)
	}
	return x
}

// checkActQuant quantizes x with the Go code and with the kernel and
// reports the first difference, and any write past the blocks.
func checkActQuant(t *testing.T, typ Type, ref func([]float32, []byte), asm func(*float32, *byte, int), x []float32) {
	t.Helper()
	size := len(x) / typ.BlockSize() * typ.TypeSize()
	want := make([]byte, size)
	ref(x, want)
	const guard = 0xa5
	got := bytes.Repeat([]byte{guard}, size+64)
	blockQuantizer(asm, typ.BlockSize(), typ.TypeSize())(x, got)
	for i := size; i < len(got); i++ {
		if got[i] != guard {
			t.Fatalf("%s, %d values: wrote byte %d past the %d-byte row", typ, len(x), i, size)
		}
	}
	if bytes.Equal(got[:size], want) {
		return
	}
	for i := range want {
		if got[i] != want[i] {
			b, bs := i/typ.TypeSize(), typ.BlockSize()
			t.Fatalf("%s, %d values: byte %d (block %d, offset %d) = %#02x, want %#02x\nblock input %v",
				typ, len(x), i, b, i%typ.TypeSize(), got[i], want[i], x[b*bs:(b+1)*bs])
		}
	}
}

// TestActQuantAsmMatchesGo holds the assembly quantizers the CPU runs to
// the Go ones byte for byte, over one block to a few thousand and the model
// widths, each shape of block alone and all mixed.
func TestActQuantAsmMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, k := range actKernels {
		if !k.ok() {
			t.Logf("CPU lacks %s: %s untested", k.isa, k.typ)
			continue
		}
		bs := k.typ.BlockSize()
		lengths := []int{bs, 2 * bs, 3 * bs, 5 * bs, 9 * bs, 256, 2048, 5632}
		for _, n := range lengths {
			for mode := -1; mode < 8; mode++ {
				t.Run(fmt.Sprintf("%s/%s/n=%d/mode=%d", k.typ, k.isa, n, mode), func(t *testing.T) {
					for range 20 {
						checkActQuant(t, k.typ, k.ref, k.asm, actInputs(rng, n, bs, mode))
					}
				})
			}
		}
	}
}

// TestActQuantAsmCases pins blocks chosen by hand: the signed max must be
// the first element of the largest magnitude, ties must round as Go does.
func TestActQuantAsmCases(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	tests := []struct {
		name string
		set  map[int]float32 // the block's non-zero elements
	}{
		{"zeros", nil},
		{"first max negative", map[int]float32{3: -5, 17: 5, 200: 5}},
		{"first max positive", map[int]float32{3: 5, 17: -5, 31: -5}},
		{"first max in last vector", map[int]float32{255: -2, 31: 1}},
		{"ties", map[int]float32{0: 127, 1: 0.5, 2: 1.5, 3: -2.5, 4: -0.5, 5: 126.5}},
		{"negative zero and max", map[int]float32{0: negZero, 9: -127, 10: 63.5}},
		{"infinity", map[int]float32{4: inf, 5: 1}},
		{"two infinities", map[int]float32{4: inf, 5: -inf}},
		{"NaN first", map[int]float32{0: nan, 1: -3, 2: 3}},
		{"NaN only", map[int]float32{7: nan}},
		{"subnormal max", map[int]float32{8: 1e-45, 9: -1e-45}},
		{"overflowing inverse", map[int]float32{1: 3e-37, 2: 1e-38}},
	}
	for _, k := range actKernels {
		if !k.ok() {
			continue
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%s/%s", k.typ, k.isa, tt.name), func(t *testing.T) {
				x := make([]float32, 256)
				for i, v := range tt.set {
					x[i] = v
				}
				checkActQuant(t, k.typ, k.ref, k.asm, x)
			})
		}
	}
}

// FuzzActQuantAsm feeds arbitrary float32 bit patterns, padded with zeros
// to a whole Q8_K super-block, to every quantizer the CPU runs.
func FuzzActQuantAsm(f *testing.F) {
	seed := make([]byte, 4*32)
	binary.LittleEndian.PutUint32(seed[8:], math.Float32bits(-127))
	binary.LittleEndian.PutUint32(seed[12:], math.Float32bits(2.5))
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		x := make([]float32, (len(data)/4+QK_K)/QK_K*QK_K)
		for i := range len(data) / 4 {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		for _, k := range actKernels {
			if k.ok() {
				checkActQuant(t, k.typ, k.ref, k.asm, x)
			}
		}
	})
}

// actImpl names a quantizer for BenchmarkActQuant.
type actImpl struct {
	name string
	fn   func(src []float32, dst []byte)
}

// BenchmarkActQuant quantizes Gaussian rows of each model width with the Go
// code and with the assembly, reporting CPU time per row. It cycles through
// several rows, as a model's activations differ from row to row: one
// repeated row would let the branch predictor learn its data.
func BenchmarkActQuant(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, k := range actKernels {
		for _, n := range []int{2048, 5632} {
			const rows = 16
			x := gaussian(rng, rows*n)
			dst := make([]byte, n/k.typ.BlockSize()*k.typ.TypeSize())
			impls := []actImpl{{"go", k.ref}}
			if k.ok() {
				impls = append(impls, actImpl{k.isa, blockQuantizer(k.asm, k.typ.BlockSize(), k.typ.TypeSize())})
			}
			for _, impl := range impls {
				if impl.name == "go" && k.isa != "avx2" {
					continue // one Go run per type: the AVX2 kernels list every type
				}
				b.Run(fmt.Sprintf("%s/n=%d/%s", k.typ, n, impl.name), func(b *testing.B) {
					b.SetBytes(int64(4 * n))
					cpu0 := processCPU()
					r := 0
					for b.Loop() {
						impl.fn(x[r*n:(r+1)*n], dst)
						r = (r + 1) % rows
					}
					if cpu := processCPU() - cpu0; cpu > 0 {
						b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
					}
				})
			}
		}
	}
}
