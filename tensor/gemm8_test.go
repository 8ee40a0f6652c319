package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// edgeMatrix builds a rows×cols matrix of type typ from kernelInputs rows
// (edge-case weights when edge is set).
func edgeMatrix(t *testing.T, rng *rand.Rand, typ Type, rows, cols int, edge bool) *Matrix {
	t.Helper()
	var data []byte
	for range rows {
		w, _, _ := kernelInputs(t, rng, typ, cols, edge)
		data = append(data, w...)
	}
	m, err := NewMatrix(typ, rows, cols, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkOutputs holds dst[i*m.Rows+r] for vectors i < n and rows r to the
// pure-Go single-row kernel on the quantized activations act, bit for bit.
func checkOutputs(t *testing.T, m *Matrix, act []byte, n int, dst []float32) {
	t.Helper()
	ref := vecDots[m.Type]
	for i := range n {
		a := act[i*m.actBytes : (i+1)*m.actBytes]
		for r := range m.Rows {
			want := ref(m.Data[r*m.rowBytes:(r+1)*m.rowBytes], a, m.Cols)
			if got := dst[i*m.Rows+r]; math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("vector %d row %d: got %v (%#x), pure Go %v (%#x)", i, r, got, math.Float32bits(got), want, math.Float32bits(want))
			}
		}
	}
}

// TestNarrowGemmsMatchReference drives each narrow GEMM kernel directly,
// every count of vectors up to its width, over widths with whole batches of
// blocks only, batches and tail blocks, and tail blocks only: each output
// must equal the pure-Go kernel's bit for bit, with stale bytes in the
// unused lanes of the layout, and the outputs of absent vectors untouched.
func TestNarrowGemmsMatchReference(t *testing.T) {
	if len(narrowGemms) == 0 {
		t.Skipf("no narrow GEMM kernels on this CPU/build (kernels %q, LLMOS_NOASM=%v)", Kernels(), noAsm)
	}
	rng := rand.New(rand.NewPCG(12, 12))
	for typ, set := range narrowGemms {
		for _, g := range set {
			for _, cols := range []int{256, 32 * (16 + 5), 32 * 5} {
				if cols%typ.BlockSize() != 0 {
					continue
				}
				for nv := 1; nv <= g.vecs; nv++ {
					for _, edge := range []bool{false, true} {
						t.Run(fmt.Sprintf("%s/vecs=%d/cols=%d/nv=%d/edge=%v", typ, g.vecs, cols, nv, edge), func(t *testing.T) {
							const rows = 16
							m := edgeMatrix(t, rng, typ, rows, cols, edge)
							x := gaussian(rng, nv*cols)
							if edge {
								for i := range x {
									if rng.IntN(16) == 0 {
										x[i] *= -200
									}
								}
							}
							act := make([]byte, nv*m.actBytes)
							grp := make([]byte, g.groupBytes(cols))
							for i := range grp {
								grp[i] = byte(rng.IntN(256))
							}
							for i := range nv {
								a := act[i*m.actBytes : (i+1)*m.actBytes]
								m.quant(x[i*cols:(i+1)*cols], a)
								g.layout(grp, a, i, cols)
							}
							dst := make([]float32, g.vecs*rows+1)
							for i := range dst {
								dst[i] = 42
							}
							for r := 0; r < rows; r += g.rows {
								g.run(m, r, grp, act, nv, dst)
							}
							checkOutputs(t, m, act, nv, dst)
							for i, v := range dst[nv*rows:] {
								if v != 42 {
									t.Fatalf("output %d past the %d vectors written: %v", nv*rows+i, nv, v)
								}
							}
						})
					}
				}
			}
		}
	}
}

// TestMatMulFewVectors holds MatMul on Q8_0 and Q4_0 weights to the pure-Go
// kernels for every count of vectors from 1 to 18, which walks through each
// kernel MatMul picks by count, with leftover rows and a Pool splitting the
// row groups (three of eight rows and five more), on edge-case inputs.
func TestMatMulFewVectors(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	pool := NewPool(3)
	defer pool.Close()
	for _, typ := range []Type{Q8_0, Q4_0} {
		for _, cols := range []int{32 * 16, 32 * (8 + 3)} {
			for n := 1; n <= 18; n++ {
				t.Run(fmt.Sprintf("%s/cols=%d/n=%d", typ, cols, n), func(t *testing.T) {
					m := edgeMatrix(t, rng, typ, 29, cols, true)
					x := gaussian(rng, n*cols)
					for i := range x {
						if rng.IntN(16) == 0 {
							x[i] *= -200
						}
					}
					dst := make([]float32, n*m.Rows)
					if err := m.MatMul(dst, x, n, pool); err != nil {
						t.Fatal(err)
					}
					act := make([]byte, n*m.actBytes)
					for i := range n {
						m.quant(x[i*cols:(i+1)*cols], act[i*m.actBytes:(i+1)*m.actBytes])
					}
					checkOutputs(t, m, act, n, dst)
				})
			}
		}
	}
}

// TestGemmForPicksNarrow pins MatMul's choice for Q8_0 and Q4_0: the
// four-row decode kernels for one vector, the narrowest narrow kernel whose
// lanes the vectors fill more than half for 2 to 8, the sixteen-vector
// kernel beyond.
func TestGemmForPicksNarrow(t *testing.T) {
	for _, typ := range []Type{Q8_0, Q4_0} {
		if len(narrowGemms[typ]) == 0 || fastGemm[typ] == nil {
			t.Skipf("no narrow and wide GEMM kernels for %s on this CPU/build (kernels %q)", typ, Kernels())
		}
		m, err := NewMatrix(typ, 4, 256, make([]byte, 4*256/typ.BlockSize()*typ.TypeSize()))
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct{ n, vecs int }{{1, 0}, {2, 2}, {3, 4}, {4, 4}, {5, 8}, {8, 8}, {9, 16}, {64, 16}} {
			g, vecs := m.gemmFor(tt.n), 0
			if g != nil {
				vecs = g.vecs
			}
			if vecs != tt.vecs || vecs == 16 && g != fastGemm[typ] {
				t.Errorf("%s, n=%d: GEMM kernel of %d vectors (0: none), want %d", typ, tt.n, vecs, tt.vecs)
			}
		}
		if got := len(narrowGemms[typ]); len(m.gemms) != got+1 {
			t.Errorf("%s: Matrix holds %d GEMM kernels, want %d narrow and the wide one", typ, len(m.gemms), got)
		}
	}
}
