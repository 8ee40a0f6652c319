package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// kernelInputs builds a weight row of type typ and an activation row
// quantized as MatMul quantizes it, for n elements. The edge case scales some
// blocks to zero and others to large outliers.
func kernelInputs(t *testing.T, rng *rand.Rand, typ Type, n int, edge bool) (w, a []byte, mag float64) {
	t.Helper()
	xw, xa := gaussian(rng, n), gaussian(rng, n)
	if edge {
		for i := range xw {
			switch rng.IntN(8) {
			case 0:
				xw[i] = 0
			case 1:
				xw[i] *= 1e3
			}
			if rng.IntN(16) == 0 {
				xa[i] *= -200
			}
		}
		for i := 0; i < min(n, 32); i++ {
			xw[i] = 0 // an all-zero first block: zero scale
		}
	}
	w = make([]byte, n/typ.BlockSize()*typ.TypeSize())
	if err := Quantize(typ, xw, w); err != nil {
		t.Fatal(err)
	}
	if edge && typ == Q8_0 {
		// Arbitrary quants, -128 included, which Quantize never writes.
		for b := 0; b < n/32; b++ {
			for j := 2; j < 34; j++ {
				w[b*34+j] = byte(rng.IntN(256))
			}
		}
	}
	vt := vecDotTypes[typ]
	a = make([]byte, n/vt.BlockSize()*vt.TypeSize())
	actQuantizer(vt)(xa, a)
	for i := range xw {
		mag += math.Abs(float64(xw[i]) * float64(xa[i]))
	}
	return w, a, mag
}

// integerKernel reports whether typ's dot kernel sums integers per block,
// where the assembly must equal the Go kernel bit for bit.
func integerKernel(typ Type) bool { return typ != F32 && typ != F16 && typ != BF16 }

// TestFastDotsMatchReference holds every assembly dot kernel to the pure-Go
// kernel: bit-exact for the integer kernels, within float32 rounding of the
// summed magnitudes for the float ones.
func TestFastDotsMatchReference(t *testing.T) {
	if len(fastDots) == 0 {
		t.Skipf("no assembly kernels on this CPU/build (kernels %q, LLMOS_NOASM=%v)", Kernels(), noAsm)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for typ, fast := range fastDots {
		ref := vecDots[typ]
		lengths := []int{256, 512, 2048, 2304, 5632}
		if typ.BlockSize() == 32 {
			lengths = append(lengths, 32, 64, 96, 288, 544, 1056)
		}
		if typ.BlockSize() == 1 {
			lengths = append(lengths, 1, 7, 31, 33, 100, 1000)
		}
		for _, n := range lengths {
			for _, edge := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/n=%d/edge=%v", typ, n, edge), func(t *testing.T) {
					for range 4 {
						w, a, mag := kernelInputs(t, rng, typ, n, edge)
						got, want := fast(w, a, n), ref(w, a, n)
						if integerKernel(typ) {
							if math.Float32bits(got) != math.Float32bits(want) {
								t.Fatalf("got %v (%#x), pure Go %v (%#x)", got, math.Float32bits(got), want, math.Float32bits(want))
							}
							continue
						}
						if d := math.Abs(float64(got) - float64(want)); d > 1e-5*mag+1e-30 {
							t.Fatalf("got %v, pure Go %v: |diff| %g > 1e-5 × %g", got, want, d, mag)
						}
					}
				})
			}
		}
	}
}

// TestFastFloatOps holds Dot (within rounding) and Axpy (bit for bit) to
// their pure-Go kernels over lengths with and without vector tails.
func TestFastFloatOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{0, 1, 7, 8, 31, 32, 33, 64, 100, 128, 1000} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			a, b := gaussian(rng, n), gaussian(rng, n+3)
			var mag float64
			for i := range a {
				mag += math.Abs(float64(a[i]) * float64(b[i]))
			}
			if got, want := Dot(a, b), dotFloatsGo(a, b); math.Abs(float64(got)-float64(want)) > 1e-5*mag {
				t.Errorf("Dot = %v, pure Go %v", got, want)
			}
			y1, y2 := gaussian(rng, n+2), make([]float32, n+2)
			copy(y2, y1)
			Axpy(0.37, a, y1)
			axpyGo(0.37, a, y2)
			for i := range y1 {
				if math.Float32bits(y1[i]) != math.Float32bits(y2[i]) {
					t.Fatalf("Axpy[%d] = %v, pure Go %v", i, y1[i], y2[i])
				}
			}
		})
	}
}

// TestFastDots4MatchReference holds every four-row assembly kernel to the
// pure-Go single-row kernel, bit for bit, with rows further apart than their
// length (as in a matrix of wider rows) and over lengths with block tails.
func TestFastDots4MatchReference(t *testing.T) {
	if len(fastDots4) == 0 {
		t.Skipf("no four-row kernels on this CPU/build (kernels %q, LLMOS_NOASM=%v)", Kernels(), noAsm)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for typ, fast := range fastDots4 {
		ref := vecDots[typ]
		for _, n := range []int{32, 96, 256, 288, 544, 768, 1056, 2048, 5632} {
			if n%typ.BlockSize() != 0 {
				continue
			}
			for _, edge := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/n=%d/edge=%v", typ, n, edge), func(t *testing.T) {
					rowBytes := n / typ.BlockSize() * typ.TypeSize()
					stride := rowBytes + typ.TypeSize()*rng.IntN(3)
					w := make([]byte, 3*stride+rowBytes)
					var a []byte
					for r := range 4 {
						var wr []byte
						wr, a, _ = kernelInputs(t, rng, typ, n, edge)
						copy(w[r*stride:], wr)
					}
					var ad []float32
					if vecDotTypes[typ] == Q8_0 {
						ad = make([]float32, n/32)
						for b := range ad {
							ad[b] = half(a[b*34:])
						}
					}
					got := make([]float32, 5)
					got[4] = 42 // must stay untouched
					fast(w, stride, a, ad, n, got[:4])
					for r := range 4 {
						want := ref(w[r*stride:r*stride+rowBytes], a, n)
						if math.Float32bits(got[r]) != math.Float32bits(want) {
							t.Fatalf("row %d: got %v (%#x), pure Go %v (%#x)", r, got[r], math.Float32bits(got[r]), want, math.Float32bits(want))
						}
					}
					if got[4] != 42 {
						t.Fatalf("kernel wrote past its four outputs")
					}
				})
			}
		}
	}
}

// TestMatMulMatchesKernels holds MatMul, whichever kernels it picks (four-row
// groups, leftover rows, several vectors, a Pool splitting the rows), to the
// pure-Go single-row kernels applied one output at a time: bit for bit on
// the integer kernels.
func TestMatMulMatchesKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	pool := NewPool(3)
	defer pool.Close()
	for _, typ := range []Type{Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, F16} {
		cols := 256 * 3
		if typ.BlockSize() == 32 {
			cols = 32 * 11 // eight-block batches and a tail
		}
		for _, rows := range []int{1, 3, 4, 5, 7, 9, 13, 18} {
			t.Run(fmt.Sprintf("%s/rows=%d", typ, rows), func(t *testing.T) {
				m := randomMatrix(t, rng, typ, rows, cols)
				ref := vecDots[typ]
				for n := 1; n <= 9; n++ {
					x := gaussian(rng, n*cols)
					dst := make([]float32, n*rows)
					if err := m.MatMul(dst, x, n, pool); err != nil {
						t.Fatal(err)
					}
					a := make([]byte, m.actBytes)
					for i := range n {
						m.quant(x[i*cols:(i+1)*cols], a)
						for r := range rows {
							want := ref(m.Data[r*m.rowBytes:(r+1)*m.rowBytes], a, cols)
							got := dst[i*rows+r]
							if integerKernel(typ) && math.Float32bits(got) != math.Float32bits(want) ||
								math.Abs(float64(got-want)) > 1e-4*(1+math.Abs(float64(want))) {
								t.Fatalf("n=%d vector %d row %d: got %v, pure Go %v", n, i, r, got, want)
							}
						}
					}
				}
			})
		}
	}
}

// TestGemmMatchesReference holds MatMul's GEMM path (several vectors, groups
// of rows against groups of vectors, vector tiles, leftover rows and
// vectors, tail blocks) to the pure-Go single-row kernels, bit for bit (the
// float kernels within rounding), on Gaussian and edge-case weights and
// activations.
func TestGemmMatchesReference(t *testing.T) {
	if len(fastGemm) == 0 {
		t.Skipf("no GEMM kernels on this CPU/build (kernels %q, LLMOS_NOASM=%v)", Kernels(), noAsm)
	}
	rng := rand.New(rand.NewPCG(11, 11))
	pool := NewPool(3)
	defer pool.Close()
	for typ := range fastGemm {
		cols := 256 * 3
		if typ.BlockSize() == 32 {
			cols = 32 * (8*3 + 5)
		}
		ref := vecDots[typ]
		for _, shape := range []struct{ rows, n int }{{4, 2}, {5, 8}, {8, 9}, {11, 17}, {6, 70}} {
			for _, edge := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/rows=%d/n=%d/edge=%v", typ, shape.rows, shape.n, edge), func(t *testing.T) {
					var data []byte
					for range shape.rows {
						w, _, _ := kernelInputs(t, rng, typ, cols, edge)
						data = append(data, w...)
					}
					m, err := NewMatrix(typ, shape.rows, cols, data)
					if err != nil {
						t.Fatal(err)
					}
					x := gaussian(rng, shape.n*cols)
					if edge {
						for i := range x {
							if rng.IntN(16) == 0 {
								x[i] *= -200
							}
						}
					}
					dst := make([]float32, shape.n*shape.rows+1)
					dst[len(dst)-1] = 42
					if err := m.MatMul(dst, x, shape.n, pool); err != nil {
						t.Fatal(err)
					}
					var mag []float64 // float kernels (F16) are held to their rounding
					if !integerKernel(typ) {
						_, mag = matMulOracle(t, m, x, shape.n)
					}
					a := make([]byte, m.actBytes)
					for i := range shape.n {
						m.quant(x[i*cols:(i+1)*cols], a)
						for r := range shape.rows {
							want := ref(m.Data[r*m.rowBytes:(r+1)*m.rowBytes], a, cols)
							if got := dst[i*shape.rows+r]; math.Float32bits(got) != math.Float32bits(want) &&
								(mag == nil || math.Abs(float64(got-want)) > 1e-5*mag[i*shape.rows+r]) {
								t.Fatalf("vector %d row %d: got %v (%#x), pure Go %v (%#x)", i, r, got, math.Float32bits(got), want, math.Float32bits(want))
							}
						}
					}
					if dst[len(dst)-1] != 42 {
						t.Fatal("MatMul wrote past its outputs")
					}
				})
			}
		}
	}
}
