//go:build !purego

package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// legacyTypes are the weight types of legacyq_amd64.s.
var legacyTypes = []Type{Q4_1, Q5_0, Q5_1}

// randomHalf returns the bits of a random finite f16: zeros, subnormals,
// negatives and values up to 65504 alike.
func randomHalf(rng *rand.Rand) uint16 {
	for {
		h := uint16(rng.Uint32())
		if h&0x7c00 != 0x7c00 {
			return h
		}
	}
}

// arbitraryBlocks fills n/32 blocks of type typ with random bytes, every
// f16 field (the leading 2 or 4 bytes of a block) a random finite half:
// quant and fifth-bit patterns Quantize never writes, and activation quants
// of -128, which the activation quantizer never writes.
func arbitraryBlocks(rng *rand.Rand, typ Type, n int) []byte {
	size := typ.TypeSize()
	halves := 1
	if typ == Q4_1 || typ == Q5_1 || typ == Q8_1 {
		halves = 2
	}
	b := make([]byte, n/32*size)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for o := 0; o < len(b); o += size {
		for h := range halves {
			binary.LittleEndian.PutUint16(b[o+2*h:], randomHalf(rng))
		}
	}
	return b
}

// TestLegacyKernelsArbitraryBits holds the Q4_1, Q5_0 and Q5_1 assembly
// kernels (one-row, four-row and GEMM) to the pure-Go kernels bit for bit
// on arbitrary blocks, over lengths with and without tails of fewer than
// eight blocks.
func TestLegacyKernelsArbitraryBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 31))
	for _, typ := range legacyTypes {
		one, four, gemm := fastDots[typ], fastDots4[typ], fastGemm[typ]
		if one == nil && four == nil && gemm == nil {
			t.Logf("%s: no assembly kernels on this CPU/build (kernels %q)", typ, Kernels())
			continue
		}
		ref := vecDots[typ]
		for _, n := range []int{32, 224, 256, 288, 512, 800, 2048, 4096 + 96} {
			t.Run(fmt.Sprintf("%s/n=%d", typ, n), func(t *testing.T) {
				rowBytes := n / 32 * typ.TypeSize()
				stride := rowBytes + typ.TypeSize()*rng.IntN(3)
				for range 8 {
					w := arbitraryBlocks(rng, typ, 3*stride/typ.TypeSize()*32+n)
					a := arbitraryBlocks(rng, vecDotTypes[typ], n)
					var want [4]float32
					for r := range want {
						want[r] = ref(w[r*stride:r*stride+rowBytes], a, n)
					}
					if one != nil {
						for r := range want {
							if got := one(w[r*stride:r*stride+rowBytes], a, n); math.Float32bits(got) != math.Float32bits(want[r]) {
								t.Fatalf("one-row kernel, row %d: got %v (%#x), pure Go %v (%#x)", r, got, math.Float32bits(got), want[r], math.Float32bits(want[r]))
							}
						}
					}
					if four != nil {
						var got [4]float32
						four(w, stride, a, nil, n, got[:])
						for r := range want {
							if math.Float32bits(got[r]) != math.Float32bits(want[r]) {
								t.Fatalf("four-row kernel, row %d: got %v (%#x), pure Go %v (%#x)", r, got[r], math.Float32bits(got[r]), want[r], math.Float32bits(want[r]))
							}
						}
					}
				}
				if gemm != nil {
					checkLegacyGemm(t, rng, typ, gemm, n)
				}
			})
		}
	}
}

// checkLegacyGemm runs the GEMM kernel g on four arbitrary rows of n
// elements against a group of arbitrary activation vectors, one short of
// full, and holds every output to the pure-Go kernel.
func checkLegacyGemm(t *testing.T, rng *rand.Rand, typ Type, g *gemmKernel, n int) {
	t.Helper()
	m, err := NewMatrix(typ, g.rows, n, arbitraryBlocks(rng, typ, g.rows*n))
	if err != nil {
		t.Fatal(err)
	}
	nv := g.vecs - 1
	act := arbitraryBlocks(rng, vecDotTypes[typ], nv*n)
	grp := make([]byte, g.groupBytes(n))
	for i := range nv {
		g.layout(grp, act[i*m.actBytes:(i+1)*m.actBytes], i, n)
	}
	dst := make([]float32, nv*m.Rows)
	g.run(m, 0, grp, act, nv, dst)
	for i := range nv {
		for r := range m.Rows {
			want := vecDots[typ](m.Data[r*m.rowBytes:(r+1)*m.rowBytes], act[i*m.actBytes:(i+1)*m.actBytes], n)
			if got := dst[i*m.Rows+r]; math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("GEMM kernel, vector %d row %d: got %v (%#x), pure Go %v (%#x)", i, r, got, math.Float32bits(got), want, math.Float32bits(want))
			}
		}
	}
}

// TestLegacyKernelsRegistered checks that the CPU features that bring the
// Q4_0 kernels bring the Q4_1, Q5_0 and Q5_1 ones too, so that the tests
// above do not pass by skipping them.
func TestLegacyKernelsRegistered(t *testing.T) {
	for _, typ := range legacyTypes {
		if _, ok := fastDots[Q4_0]; ok && fastDots[typ] == nil {
			t.Errorf("%s: no one-row kernel beside Q4_0's", typ)
		}
		if _, ok := fastGemm[Q4_0]; ok && fastGemm[typ] == nil {
			t.Errorf("%s: no GEMM kernel beside Q4_0's", typ)
		}
		wantFour := fastDots4[Q4_0] != nil && (typ == Q4_1 || cpu.X86.HasAVX512VBMI)
		if got := fastDots4[typ] != nil; got != wantFour {
			t.Errorf("%s: four-row kernel registered %v, want %v", typ, got, wantFour)
		}
	}
}

// BenchmarkLegacyKernels times the pure-Go, one-row and four-row kernels
// on cache-resident rows of 4096 elements, in wall and CPU time; MB/s
// counts the weight bytes.
func BenchmarkLegacyKernels(b *testing.B) {
	const n = 4096
	rng := rand.New(rand.NewPCG(32, 32))
	for _, typ := range legacyTypes {
		rowBytes := n / 32 * typ.TypeSize()
		w := arbitraryBlocks(rng, typ, 4*n)
		a := arbitraryBlocks(rng, vecDotTypes[typ], n)
		type kernel struct {
			name string
			rows int
			run  func()
		}
		kernels := []kernel{{"go", 1, func() { vecDots[typ](w, a, n) }}}
		if f := fastDots[typ]; f != nil {
			kernels = append(kernels, kernel{"row", 1, func() { f(w, a, n) }})
		}
		if f := fastDots4[typ]; f != nil {
			var out [4]float32
			kernels = append(kernels, kernel{"rows4", 4, func() { f(w, rowBytes, a, nil, n, out[:]) }})
		}
		for _, k := range kernels {
			b.Run(typ.String()+"/"+k.name, func(b *testing.B) {
				b.SetBytes(int64(k.rows * rowBytes))
				cpu0 := processCPU()
				for b.Loop() {
					k.run()
				}
				if cpu := processCPU() - cpu0; cpu > 0 {
					b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}
