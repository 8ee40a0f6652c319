package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestQ5KKernelsRegistered checks that the CPUs with assembly kernels get
// the Q5_K ones too, so that the kernel tests, which iterate over whatever
// is registered, do cover them.
func TestQ5KKernelsRegistered(t *testing.T) {
	if Kernels() == "go" {
		t.Skip("pure-Go kernels")
	}
	if _, ok := fastDots[Q5_K]; !ok {
		t.Errorf("kernels %q but no Q5_K dot kernel", Kernels())
	}
	if Kernels() != "avx512vnni" || !cpu.X86.HasAVX512VBMI {
		return
	}
	if _, ok := fastDots4[Q5_K]; !ok {
		t.Error("AVX-512 VNNI+VBMI but no four-row Q5_K kernel")
	}
	if _, ok := fastGemm[Q5_K]; !ok {
		t.Error("AVX-512 VNNI+VBMI but no Q5_K GEMM kernel")
	}
}

// q5KBlocks returns nb block_q5_K with d and dmin drawn from d and every
// other byte (scales, mins, qh, nibbles) from body, which receives the
// byte's offset in its block.
func q5KBlocks(nb int, d func() float32, body func(i int) byte) []byte {
	w := make([]byte, nb*176)
	for b := range nb {
		x := w[b*176 : (b+1)*176]
		putHalf(x, d())
		putHalf(x[2:], d())
		for i := 4; i < 176; i++ {
			x[i] = body(i)
		}
	}
	return w
}

// q8KBlocks returns nb block_q8_K with scale d, quants from q and bsums
// that match them.
func q8KBlocks(nb int, d float32, q func() int8) []byte {
	a := make([]byte, nb*q8KBytes)
	for b := range nb {
		y := a[b*q8KBytes : (b+1)*q8KBytes]
		binary.LittleEndian.PutUint32(y, math.Float32bits(d))
		for j := range 16 {
			var s int16
			for l := range 16 {
				v := q()
				y[4+16*j+l] = byte(v)
				s += int16(v)
			}
			binary.LittleEndian.PutUint16(y[4+QK_K+2*j:], uint16(s))
		}
	}
	return a
}

// TestQ5KKernelsArbitraryBlocks holds the Q5_K assembly kernels to dotQ5K,
// bit for bit, on blocks Quantize would not write: uniformly random bytes,
// every quant and scale at its maximum against the largest activations of
// either sign (the largest integer sums), and fifth bits alone.
func TestQ5KKernelsArbitraryBlocks(t *testing.T) {
	if _, ok := fastDots[Q5_K]; !ok {
		t.Skipf("no Q5_K assembly kernel (kernels %q, LLMOS_NOASM=%v)", Kernels(), noAsm)
	}
	rng := rand.New(rand.NewPCG(12, 12))
	small := func() float32 { return float32(rng.NormFloat64() * 0.01) }
	anyByte := func(int) byte { return byte(rng.IntN(256)) }
	anyQ8 := func() int8 { return int8(rng.IntN(256) - 128) }
	cases := []struct {
		name string
		d    func() float32   // d and dmin of the weights
		body func(i int) byte // the weights' other bytes
		ad   float32          // the activations' scale
		q8   func() int8      // the activations' quants
	}{
		{"random", small, anyByte, 0.02, anyQ8},
		{"max/q8=127", func() float32 { return 1 }, func(int) byte { return 0xff }, 1, func() int8 { return 127 }},
		{"max/q8=-128", func() float32 { return 1 }, func(int) byte { return 0xff }, 1, func() int8 { return -128 }},
		{"fifth bits only", small, func(i int) byte {
			if i >= 48 {
				return 0
			}
			return anyByte(i)
		}, 0.02, anyQ8},
	}
	ref := vecDots[Q5_K]
	for _, c := range cases {
		for _, nb := range []int{1, 3, 9} {
			t.Run(fmt.Sprintf("%s/n=%d", c.name, nb*QK_K), func(t *testing.T) {
				n, rb := nb*QK_K, nb*176
				w := q5KBlocks(4*nb, c.d, c.body)
				// Sixteen activation rows, one per GEMM vector; the
				// one-vector kernels take the first.
				acts := make([][]byte, 16)
				for i := range acts {
					acts[i] = q8KBlocks(nb, c.ad, c.q8)
				}
				check := func(kernel string, r, i int, got float32) {
					t.Helper()
					want := ref(w[r*rb:(r+1)*rb], acts[i], n)
					if math.Float32bits(got) != math.Float32bits(want) {
						t.Errorf("%s row %d vector %d: got %v (%#x), pure Go %v (%#x)", kernel, r, i, got, math.Float32bits(got), want, math.Float32bits(want))
					}
				}
				for r := range 4 {
					check("dot", r, 0, fastDots[Q5_K](w[r*rb:(r+1)*rb], acts[0], n))
				}
				if dot4, ok := fastDots4[Q5_K]; ok {
					got := make([]float32, 4)
					dot4(w, rb, acts[0], nil, n, got)
					for r, v := range got {
						check("dot4", r, 0, v)
					}
				}
				g, ok := fastGemm[Q5_K]
				if !ok {
					return
				}
				m, err := NewMatrix(Q5_K, 4, n, w)
				if err != nil {
					t.Fatal(err)
				}
				for _, nv := range []int{1, 7, g.vecs} {
					grp := make([]byte, g.groupBytes(n))
					var act []byte
					for i := range nv {
						g.layout(grp, acts[i], i, n)
						act = append(act, acts[i]...)
					}
					dst := make([]float32, nv*4)
					g.run(m, 0, grp, act, nv, dst)
					for i := range nv {
						for r := range 4 {
							check(fmt.Sprintf("gemm nv=%d", nv), r, i, dst[i*4+r])
						}
					}
				}
			})
		}
	}
}
