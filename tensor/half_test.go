package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestF16ToF32(t *testing.T) {
	tests := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},
		{0x0400, 1.0 / (1 << 14)},
		{0x0001, 1.0 / (1 << 24)},
		{0x83ff, -1023.0 / (1 << 24)},
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		if got := F16ToF32(tt.h); got != tt.want {
			t.Errorf("F16ToF32(%#04x) = %g, want %g", tt.h, got, tt.want)
		}
	}
	if got := F16ToF32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("F16ToF32(0x8000) = %g, want -0", got)
	}
	if got := F16ToF32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("F16ToF32(0x7e00) = %g, want NaN", got)
	}
}

func TestF32ToF16(t *testing.T) {
	const ulp1 = 1.0 / (1 << 10) // spacing of halves in [1, 2)
	tests := []struct {
		f    float32
		want uint16
	}{
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},
		{65519.99, 0x7bff},
		{65520, 0x7c00}, // tie between 65504 and 2^16: even mantissa is Inf
		{1e10, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{1 + ulp1/2, 0x3c00},   // tie: stays on even 1.0
		{1 + 3*ulp1/2, 0x3c02}, // tie: goes up to even
		{1 + ulp1/2 + ulp1/8, 0x3c01},
		{1.0 / (1 << 24), 0x0001},
		{1.0 / (1 << 25), 0x0000},      // tie between 0 and the smallest subnormal
		{3.0 / (1 << 25), 0x0002},      // tie between 1 and 2 units: even
		{1.0 / (1 << 26), 0x0000},      // below half a unit
		{-1023.0 / (1 << 24), 0x83ff},  // largest subnormal
		{2047.0 / (1 << 25), 0x0400},   // rounds up into the smallest normal
		{float32(math.NaN()), 0x7e00},  // ggml's canonical quiet NaN
		{-float32(math.NaN()), 0xfe00}, // keeps the sign
		{float32(0.333333333), 0x3555}, // 0x3555 = 0.33325, next 0.33350
		{float32(-0.0000001), 0x8002},  // 1.68 units of 2^-24
		{6.1e-5, 0x03ff},               // nearer 1023 units than 2^-14
	}
	for _, tt := range tests {
		if got := F32ToF16(tt.f); got != tt.want {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x", tt.f, got, tt.want)
		}
	}
}

// TestF16RoundTrip checks every non-NaN half survives F16ToF32 then F32ToF16.
func TestF16RoundTrip(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if got := F32ToF16(f); got != uint16(h) {
			t.Fatalf("F32ToF16(F16ToF32(%#04x)) = %#04x", h, got)
		}
	}
}

// ggmlFP32ToFP16 is ggml_compute_fp32_to_fp16 from ggml-impl.h: a different
// algorithm (it lets the FPU round by adding a bias) that must agree with
// F32ToF16 bit for bit.
func ggmlFP32ToFP16(f float32) uint16 {
	const scaleToInf, scaleToZero = 0x1.0p+112, 0x1.0p-110
	base := float32(abs32(f)*scaleToInf) * scaleToZero
	w := math.Float32bits(f)
	shl1 := w + w
	sign := w & 0x80000000
	bias := shl1 & 0xFF000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	base = math.Float32frombits(bias>>1+0x07800000) + base
	bits := math.Float32bits(base)
	nonsign := (bits>>13)&0x00007C00 + bits&0x00000FFF
	if shl1 > 0xFF000000 {
		nonsign = 0x7E00
	}
	return uint16(sign>>16 | nonsign)
}

func TestF32ToF16MatchesGGML(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1_000_000; i++ {
		b := rng.Uint32()
		if i%2 == 0 { // concentrate on the half range, where rounding matters
			b = b&0x80000000 | (0x33000000 + b%(0x47800000-0x33000000))
		}
		f := math.Float32frombits(b)
		if got, want := F32ToF16(f), ggmlFP32ToFP16(f); got != want {
			t.Fatalf("F32ToF16(%g [%#08x]) = %#04x, ggml gives %#04x", f, b, got, want)
		}
	}
}

func TestBF16(t *testing.T) {
	const ulp = 1.0 / (1 << 7)
	tests := []struct {
		f    float32
		want uint16
	}{
		{1, 0x3f80},
		{-2, 0xc000},
		{1 + ulp/2, 0x3f80},   // tie: even
		{1 + 3*ulp/2, 0x3f82}, // tie: even, upwards
		{1 + ulp/2 + ulp/16, 0x3f81},
		{float32(math.Inf(1)), 0x7f80},
		{math.Float32frombits(0x7f800001), 0x7fc0}, // signalling NaN is quieted
		{math.Float32frombits(0xffc12345), 0xffc1},
	}
	for _, tt := range tests {
		if got := F32ToBF16(tt.f); got != tt.want {
			t.Errorf("F32ToBF16(%g) = %#04x, want %#04x", tt.f, got, tt.want)
		}
	}
	if got := BF16ToF32(0x3fc0); got != 1.5 {
		t.Errorf("BF16ToF32(0x3fc0) = %g, want 1.5", got)
	}
}
