//go:build !purego

package tensor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestPutLanesMatchesGo holds the assembly layout to putGo byte for byte,
// every vector of every layout the kernels take, both biases, block counts
// that are whole batches or not (the tail blocks stay unwritten), on random
// bytes with some blocks' scales set to f16 edge patterns (signalling NaN,
// infinity, subnormal) and some blocks of all -128 or all 127 quants, into
// a buffer of stale bytes that must stay where no lane of the vector is.
func TestPutLanesMatchesGo(t *testing.T) {
	if putLanesFast == nil {
		t.Skipf("no assembly lane layout on this CPU/build (LLMOS_NOASM=%v)", noAsm)
	}
	rng := rand.New(rand.NewPCG(14, 14))
	edges := []uint16{0x7c01, 0xfd55, 0x7c00, 0x0001, 0x8000, 0x3c00}
	for _, l := range []q8Lanes{{16, 2, 1}, {16, 2, 2}, {16, 2, 4}, wideQ8} {
		for _, blocks := range []int{8, 16, 21, 64} {
			for _, bias := range []int32{128, 8} {
				t.Run(fmt.Sprintf("rows=%d/g=%d/blocks=%d/bias=%d", l.rows, l.g, blocks, bias), func(t *testing.T) {
					cols := 32 * blocks
					a := make([]byte, 34*blocks)
					for i := range a {
						a[i] = byte(rng.Uint32())
					}
					for b := range blocks {
						y := a[34*b : 34*b+34]
						switch b % 5 {
						case 1:
							binary.LittleEndian.PutUint16(y, edges[rng.IntN(len(edges))])
						case 2:
							for i := 2; i < 34; i++ {
								y[i] = 0x80
							}
						case 3:
							for i := 2; i < 34; i++ {
								y[i] = 0x7f
							}
						}
					}
					stale := make([]byte, l.groupBytes(cols)+64)
					for i := range stale {
						stale[i] = byte(rng.Uint32())
					}
					for v := range l.vecs() {
						want, got := bytes.Clone(stale), bytes.Clone(stale)
						l.putGo(want, a, v, blocks&^7, bias)
						l.put(got, a, v, cols, bias)
						if i := firstDiff(got, want); i >= 0 {
							t.Fatalf("vector %d: byte %d (block %d, offset %d): got %#x, Go %#x", v, i, i/l.block(), i%l.block(), got[i], want[i])
						}
					}
				})
			}
		}
	}
}

// firstDiff returns the first index where a and b differ, -1 if none.
func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// BenchmarkPutLanes lays eight 2048-wide vectors out for the eight-vector
// kernels, in Go and in assembly.
func BenchmarkPutLanes(b *testing.B) {
	const cols = 2048
	l := q8Lanes{16, 2, 1}
	a := make([]byte, 34*cols/32)
	for i := range a {
		a[i] = byte(i * 7)
	}
	dst := make([]byte, l.groupBytes(cols))
	for _, fast := range []bool{false, true} {
		b.Run(fmt.Sprintf("asm=%v", fast), func(b *testing.B) {
			for b.Loop() {
				for v := range l.vecs() {
					if fast {
						l.put(dst, a, v, cols, 8)
					} else {
						l.putGo(dst, a, v, cols/32, 8)
					}
				}
			}
		})
	}
}
