package tensor

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func gaussian(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// relRMSE is the RMS of got-want relative to the RMS of want, in float64.
func relRMSE(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	return math.Sqrt(num / den)
}

// TestQuantizeRoundTrip quantizes Gaussian data and checks the relative RMS
// error of the dequantized result; bounds sit about 20% above what each
// type achieves, so a kernel that loses bits fails.
func TestQuantizeRoundTrip(t *testing.T) {
	bounds := map[Type]float64{
		F32: 0, F16: 2.5e-4, BF16: 2e-3,
		Q8_0: 6.5e-3, Q8_1: 6.5e-3, Q8_K: 8.3e-3,
		Q4_0: 0.104, Q4_1: 0.094, Q5_0: 0.051, Q5_1: 0.046,
		Q2_K: 0.35, Q3_K: 0.18, Q4_K: 0.086, Q5_K: 0.044, Q6_K: 0.021,
	}
	rng := rand.New(rand.NewPCG(5, 6))
	x := gaussian(rng, 16*QK_K)
	for typ := range quantizers {
		t.Run(typ.String(), func(t *testing.T) {
			bound, ok := bounds[typ]
			if !ok {
				t.Fatalf("no error bound for %s", typ)
			}
			q := make([]byte, len(x)/typ.BlockSize()*typ.TypeSize())
			if err := Quantize(typ, x, q); err != nil {
				t.Fatal(err)
			}
			y := make([]float32, len(x))
			if err := Dequantize(typ, q, y); err != nil {
				t.Fatal(err)
			}
			e := relRMSE(y, x)
			t.Logf("relative RMSE %.4g (bound %.4g)", e, bound)
			if e > bound {
				t.Errorf("relative RMSE %.4g > %.4g", e, bound)
			}
		})
	}
}

// TestQuantizeHandWorked checks blocks whose bytes were worked out by hand
// from ggml's reference algorithms, including their rounding rules: roundf
// (half away from zero) for Q8_0/Q8_1, truncation of x+8.5 or x+0.5 for the
// 4/5-bit types, and round-half-even (nearest_int) for Q8_K.
func TestQuantizeHandWorked(t *testing.T) {
	block := func(n int, vals map[int]float32) []float32 {
		x := make([]float32, n)
		for i, v := range vals {
			x[i] = v
		}
		return x
	}
	ramp := func(n int, f func(j int) float32) []float32 {
		x := make([]float32, n)
		for j := range x {
			x[j] = f(j)
		}
		return x
	}
	fill := func(n int, b byte, head ...byte) []byte {
		out := bytes.Repeat([]byte{b}, n)
		copy(out, head)
		return out
	}
	nibblePairs := func(head []byte, f func(j int) byte) []byte {
		for j := range 16 {
			head = append(head, f(j))
		}
		return head
	}
	q8k := make([]byte, 292)
	copy(q8k, []byte{0x00, 0x00, 0x80, 0xbf})                         // d = 1/iscale = -1
	copy(q8k[4:], []byte{0x81, 0x03, 0xfe, 0xfc})                     // -127, 3, -2 (even), -4 (even)
	q8k[4+16] = 0x9c                                                  // -100
	binary.LittleEndian.PutUint16(q8k[4+256:], uint16(0x10000-130))   // bsums[0]
	binary.LittleEndian.PutUint16(q8k[4+256+2:], uint16(0x10000-100)) // bsums[1]
	tests := []struct {
		typ  Type
		x    []float32
		want []byte
	}{
		{Q8_0, block(32, map[int]float32{0: 127, 1: -127, 3: 0.5, 4: -0.5, 5: 1.5, 6: 2.5, 7: -2.5, 8: 100.4, 9: 100.6}),
			fill(34, 0, 0x00, 0x3c, 0x7f, 0x81, 0x00, 0x01, 0xff, 0x02, 0x03, 0xfd, 0x64, 0x65)},
		{Q8_1, block(32, map[int]float32{0: 127, 1: -63.5}),
			fill(36, 0, 0x00, 0x3c, 0xe0, 0x53, 0x7f, 0xc0)}, // s = 63
		{Q4_0, block(32, map[int]float32{0: -8, 1: 7, 3: 0.5, 4: -0.5, 5: 7.6}),
			fill(18, 0x88, 0x00, 0x3c, 0x80, 0x8f, 0x88, 0x89, 0x88, 0x8f)},
		{Q4_1, ramp(32, func(j int) float32 { return float32(min(j, 31-j)) }), // 0..15, 15..0
			nibblePairs([]byte{0x00, 0x3c, 0x00, 0x00}, func(j int) byte { return byte(j) | byte(15-j)<<4 })},
		{Q5_0, ramp(32, func(j int) float32 { return float32(j - 16) }),
			nibblePairs([]byte{0x00, 0x3c, 0x00, 0x00, 0xff, 0xff}, func(j int) byte { return byte(j) | byte(j)<<4 })},
		{Q5_1, ramp(32, func(j int) float32 { return float32(j) }),
			nibblePairs([]byte{0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff}, func(j int) byte { return byte(j) | byte(j)<<4 })},
		{Q8_K, block(256, map[int]float32{0: 127, 1: -3, 2: 2.5, 3: 3.5, 16: 100}), q8k},
		{F16, []float32{1, -2}, []byte{0x00, 0x3c, 0x00, 0xc0}},
		{BF16, []float32{1, -2}, []byte{0x80, 0x3f, 0x00, 0xc0}},
		{F32, []float32{1}, []byte{0x00, 0x00, 0x80, 0x3f}},
	}
	for _, typ := range []Type{Q2_K, Q3_K, Q4_K, Q5_K, Q6_K} { // an all-zero block encodes as zeros
		tests = append(tests, struct {
			typ  Type
			x    []float32
			want []byte
		}{typ, make([]float32, QK_K), make([]byte, typ.TypeSize())})
	}
	for _, tt := range tests {
		got := make([]byte, len(tt.want))
		if err := Quantize(tt.typ, tt.x, got); err != nil {
			t.Fatalf("%s: %v", tt.typ, err)
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s:\n got %x\nwant %x", tt.typ, got, tt.want)
		}
	}
}

// TestConvertErrors covers the argument checks of Quantize and Dequantize.
func TestConvertErrors(t *testing.T) {
	tests := []struct {
		name     string
		quantize bool
		typ      Type
		elems    int
		bytes    int
		want     string
	}{
		{"dequantize unknown type", false, Type(99), 1, 4, "no kernel"},
		{"dequantize I32", false, I32, 1, 4, "no kernel"},
		{"dequantize partial block", false, Q4_0, 31, 18, "whole number"},
		{"dequantize short source", false, Q4_0, 32, 17, "take 18 bytes, got 17"},
		{"dequantize long source", false, Q6_K, 256, 211, "take 210 bytes, got 211"},
		{"quantize unknown type", true, Type(99), 32, 34, "no kernel"},
		{"quantize I8", true, I8, 1, 1, "no kernel"},
		{"quantize partial block", true, Q8_K, 255, 292, "whole number"},
		{"quantize short destination", true, Q8_0, 64, 67, "take 68 bytes, got 67"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.quantize {
				err = Quantize(tt.typ, make([]float32, tt.elems), make([]byte, tt.bytes))
			} else {
				err = Dequantize(tt.typ, make([]byte, tt.bytes), make([]float32, tt.elems))
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNearestInt(t *testing.T) {
	tests := []struct {
		f    float32
		want int32
	}{{0.5, 0}, {1.5, 2}, {2.5, 2}, {-0.5, 0}, {-1.5, -2}, {-2.49, -2}, {3.51, 4}, {-127, -127}}
	for _, tt := range tests {
		if got := nearestInt(tt.f); got != tt.want {
			t.Errorf("nearestInt(%g) = %d, want %d", tt.f, got, tt.want)
		}
	}
}
