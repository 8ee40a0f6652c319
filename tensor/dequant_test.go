package tensor

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// The layout oracle: element i of one block, read straight from the field
// descriptions in ggml-common.h one element at a time (the kernels work a
// plane or a group at a time). Float expressions keep ggml's order, so
// Dequantize must agree bit for bit.

func le16(b []byte) float32 { return F16ToF32(binary.LittleEndian.Uint16(b)) }

func nibble(b byte, high bool) int32 {
	if high {
		return int32(b >> 4)
	}
	return int32(b & 0xf)
}

// k4ScaleMin reads the 6-bit scale and min of sub-block g from the 12 packed
// bytes of Q4_K/Q5_K: g<4 in the low 6 bits of bytes g and g+4; g>=4 split
// into a nibble of byte g+4 and the top 2 bits of bytes g-4 and g.
func k4ScaleMin(sc []byte, g int) (float32, float32) {
	if g < 4 {
		return float32(sc[g] & 63), float32(sc[g+4] & 63)
	}
	s := sc[g+4]&0xf | sc[g-4]>>6<<4
	m := sc[g+4]>>4 | sc[g]>>6<<4
	return float32(s), float32(m)
}

func elemOracle(t Type, b []byte, i int) float32 {
	switch t {
	case F32:
		return math.Float32frombits(binary.LittleEndian.Uint32(b))
	case F16:
		return le16(b)
	case BF16:
		return BF16ToF32(binary.LittleEndian.Uint16(b))
	case Q4_0:
		return float32(nibble(b[2+i%16], i >= 16)-8) * le16(b)
	case Q4_1:
		return float32(float32(nibble(b[4+i%16], i >= 16))*le16(b)) + le16(b[2:])
	case Q5_0, Q5_1:
		off := 2 + 2*int(t-Q5_0) // the min takes 2 more bytes in Q5_1
		qh := binary.LittleEndian.Uint32(b[off:])
		v := nibble(b[off+4+i%16], i >= 16) | int32(qh>>i&1)<<4
		if t == Q5_0 {
			return float32(v-16) * le16(b)
		}
		return float32(float32(v)*le16(b)) + le16(b[2:])
	case Q8_0:
		return float32(int8(b[2+i])) * le16(b)
	case Q8_1:
		return float32(int8(b[4+i])) * le16(b)
	case Q8_K:
		return math.Float32frombits(binary.LittleEndian.Uint32(b)) * float32(int8(b[4+i]))
	case Q2_K:
		half, plane, l := i/128, i%128/32, i%32
		q := b[16+32*half+l] >> (2 * plane) & 3
		sc := b[i/16]
		return float32(le16(b[80:])*float32(sc&0xf)*float32(q)) - le16(b[82:])*float32(sc>>4)
	case Q3_K:
		half, plane, l, g := i/128, i%128/32, i%32, i/16
		q := int32(b[32+32*half+l] >> (2 * plane) & 3)
		if b[l]>>(4*half+plane)&1 == 0 {
			q -= 4
		}
		var lo byte
		if g < 8 {
			lo = b[96+g] & 0xf
		} else {
			lo = b[96+g-8] >> 4
		}
		s := int32(lo|(b[104+g%4]>>(2*(g/4))&3)<<4) - 32
		return le16(b[108:]) * float32(s) * float32(q)
	case Q4_K, Q5_K:
		pair, r := i/64, i%64
		qsOff := 16
		var high int32
		if t == Q5_K {
			qsOff = 48
			high = int32(b[16+r%32]>>(2*pair+r/32)&1) << 4
		}
		q := nibble(b[qsOff+32*pair+r%32], r >= 32) | high
		s, m := k4ScaleMin(b[4:16], i/32)
		return float32(le16(b)*s*float32(q)) - le16(b[2:])*m
	case Q6_K:
		half, plane, l := i/128, i%128/32, i%32
		lo := nibble(b[64*half+32*(plane%2)+l], plane >= 2)
		hi := int32(b[128+32*half+l] >> (2 * plane) & 3)
		return le16(b[208:]) * float32(int8(b[192+i/16])) * float32(lo|hi<<4-32)
	}
	panic("no oracle for " + t.String())
}

// scaleFields lists the byte offsets of each type's f16 scale fields, so
// random test blocks get finite, moderate scales.
var scaleFields = map[Type][]int{
	Q4_0: {0}, Q4_1: {0, 2}, Q5_0: {0}, Q5_1: {0, 2}, Q8_0: {0}, Q8_1: {0, 2},
	Q2_K: {80, 82}, Q3_K: {108}, Q4_K: {0, 2}, Q5_K: {0, 2}, Q6_K: {208},
}

// randomBlocks returns nb random blocks of t with sane scales.
func randomBlocks(rng *rand.Rand, t Type, nb int) []byte {
	bs := t.TypeSize()
	b := make([]byte, nb*bs)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for k := 0; k < nb; k++ {
		blk := b[k*bs : (k+1)*bs]
		switch t {
		case F32:
			binary.LittleEndian.PutUint32(blk, math.Float32bits(float32(rng.NormFloat64())))
		case F16:
			putHalf(blk, float32(rng.NormFloat64()))
		case BF16:
			binary.LittleEndian.PutUint16(blk, F32ToBF16(float32(rng.NormFloat64())))
		case Q8_K:
			binary.LittleEndian.PutUint32(blk, math.Float32bits(float32(rng.NormFloat64())))
		}
		for _, off := range scaleFields[t] {
			putHalf(blk[off:], float32(rng.NormFloat64()))
		}
	}
	return b
}

func TestDequantizeLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for typ := range dequantizers {
		t.Run(typ.String(), func(t *testing.T) {
			const nb = 5
			src := randomBlocks(rng, typ, nb)
			bs, ts := typ.BlockSize(), typ.TypeSize()
			dst := make([]float32, nb*bs)
			if err := Dequantize(typ, src, dst); err != nil {
				t.Fatal(err)
			}
			for i, got := range dst {
				blk := src[i/bs*ts : (i/bs+1)*ts]
				if want := elemOracle(typ, blk, i%bs); got != want {
					t.Fatalf("element %d = %g, want %g", i, got, want)
				}
			}
		})
	}
}

// TestDequantizeHandBuilt decodes blocks whose values were worked out by hand.
func TestDequantizeHandBuilt(t *testing.T) {
	// Q4_0, d = 0.5: byte j holds element j (low nibble) and j+16 (high).
	q40 := []byte{0x00, 0x38, 0xf0, 0x1e}
	q40 = append(q40, make([]byte, 14)...)
	// Q4_K, d = 1, dmin = 0.5; sub-block 0: scale 2, min 3; sub-block 5:
	// scale 37, min 26 (nibbles in byte 9, top bits in bytes 1 and 5).
	q4k := make([]byte, 144)
	copy(q4k, []byte{0x00, 0x3c, 0x00, 0x38})
	q4k[4+0], q4k[4+4] = 2, 3
	q4k[4+9] = 37&0xf | (26&0xf)<<4
	q4k[4+1] |= 37 >> 4 << 6
	q4k[4+5] |= 26 >> 4 << 6
	q4k[16] = 0x05           // element 0: q = 5
	q4k[16+64] = 0x70        // element 160 (sub-block 5, high nibble): q = 7
	q6k := make([]byte, 210) // d = 2, group 0 scale -3, element 0: q = 63-32
	q6k[0], q6k[128], q6k[192] = 0x0f, 0x03, 0xfd
	copy(q6k[208:], []byte{0x00, 0x40})
	tests := []struct {
		typ  Type
		src  []byte
		want map[int]float32
	}{
		{Q4_0, q40, map[int]float32{0: -4, 16: 3.5, 1: 3, 17: -3.5, 2: -4}},
		{Q4_K, q4k, map[int]float32{0: 2*5 - 1.5, 1: -1.5, 160: 37*7 - 13, 161: -13, 128: 0}},
		{Q6_K, q6k, map[int]float32{0: 2 * -3 * 31, 1: 2 * -3 * -32}},
	}
	for _, tt := range tests {
		dst := make([]float32, tt.typ.BlockSize())
		if err := Dequantize(tt.typ, tt.src, dst); err != nil {
			t.Fatal(err)
		}
		for i, want := range tt.want {
			if dst[i] != want {
				t.Errorf("%s element %d = %g, want %g", tt.typ, i, dst[i], want)
			}
		}
	}
}
