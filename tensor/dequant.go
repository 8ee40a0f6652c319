package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The block kernels below follow ggml-quants.c's dequantize_row_* (block
// structs in ggml-common.h). Each takes whole blocks: len(dst) is a multiple
// of the block size and src holds exactly those blocks. Float expressions keep
// ggml's evaluation order so results are bit-identical to llama.cpp's.

// dequantizers maps each type to its row kernel.
var dequantizers = map[Type]func(src []byte, dst []float32){
	F32:  dequantF32,
	F16:  dequantF16,
	BF16: dequantBF16,
	Q4_0: dequantQ4_0,
	Q4_1: dequantQ4_1,
	Q5_0: dequantQ5_0,
	Q5_1: dequantQ5_1,
	Q8_0: dequantQ8_0,
	Q8_1: dequantQ8_1,
	Q2_K: dequantQ2K,
	Q3_K: dequantQ3K,
	Q4_K: dequantQ4K,
	Q5_K: dequantQ5K,
	Q6_K: dequantQ6K,
	Q8_K: dequantQ8K,
}

// Dequantize converts len(dst) elements of type t, stored in src, to float32.
// src must hold exactly those elements (RowBytes(t, len(dst)) bytes).
func Dequantize(t Type, src []byte, dst []float32) error {
	fn, ok := dequantizers[t]
	if !ok {
		return fmt.Errorf("tensor: dequantize: no kernel for type %s", t)
	}
	if err := checkLen(t, len(dst), len(src)); err != nil {
		return fmt.Errorf("tensor: dequantize: %w", err)
	}
	fn(src, dst)
	return nil
}

// checkLen reports whether nbytes is exactly the size of n elements of t.
func checkLen(t Type, n, nbytes int) error {
	want, err := RowBytes(t, int64(n))
	if err != nil {
		return err
	}
	if int64(nbytes) != want {
		return fmt.Errorf("%d elements of %s take %d bytes, got %d", n, t, want, nbytes)
	}
	return nil
}

// half reads the little-endian ggml_half at b[0:2] as float32.
func half(b []byte) float32 { return f16Table[binary.LittleEndian.Uint16(b)] }

func dequantF32(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func dequantF16(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = half(src[2*i:])
	}
}

func dequantBF16(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// block_q4_0: d f16, qs[16]; element j is the low nibble of qs[j], element
// j+16 the high nibble, both offset by 8.
func dequantQ4_0(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		x, y := src[b*18:b*18+18], dst[b*32:b*32+32]
		d := half(x)
		for j, q := range x[2:18] {
			y[j] = float32(int32(q&0xf)-8) * d
			y[j+16] = float32(int32(q>>4)-8) * d
		}
	}
}

// block_q4_1: d f16, m f16, qs[16]; value = q*d + m.
func dequantQ4_1(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		x, y := src[b*20:b*20+20], dst[b*32:b*32+32]
		d, m := half(x), half(x[2:])
		for j, q := range x[4:20] {
			y[j] = float32(float32(q&0xf)*d) + m
			y[j+16] = float32(float32(q>>4)*d) + m
		}
	}
}

// q5 returns the unsigned 5-bit quants j and j+16 of a Q5_0/Q5_1 block:
// low and high nibble of q, fifth bits from bits j and j+16 of qh.
func q5(q byte, qh uint32, j int) (int32, int32) {
	return int32(q&0xf | byte(qh>>j<<4)&0x10), int32(q>>4 | byte(qh>>(j+12))&0x10)
}

// block_q5_0: d f16, qh u32 (bit j is the fifth bit of element j), qs[16].
func dequantQ5_0(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		x, y := src[b*22:b*22+22], dst[b*32:b*32+32]
		d := half(x)
		qh := binary.LittleEndian.Uint32(x[2:])
		for j, q := range x[6:22] {
			q0, q1 := q5(q, qh, j)
			y[j] = float32(q0-16) * d
			y[j+16] = float32(q1-16) * d
		}
	}
}

// block_q5_1: d f16, m f16, qh u32, qs[16]; value = q*d + m.
func dequantQ5_1(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		x, y := src[b*24:b*24+24], dst[b*32:b*32+32]
		d, m := half(x), half(x[2:])
		qh := binary.LittleEndian.Uint32(x[4:])
		for j, q := range x[8:24] {
			q0, q1 := q5(q, qh, j)
			y[j] = float32(float32(q0)*d) + m
			y[j+16] = float32(float32(q1)*d) + m
		}
	}
}

// block_q8_0: d f16, qs[32] int8.
func dequantQ8_0(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		x, y := src[b*34:b*34+34], dst[b*32:b*32+32]
		d := half(x)
		for j, q := range x[2:34] {
			y[j] = float32(int8(q)) * d
		}
	}
}

// block_q8_1: d f16, s f16 (d*sum(qs)), qs[32] int8.
func dequantQ8_1(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		x, y := src[b*36:b*36+36], dst[b*32:b*32+32]
		d := half(x)
		for j, q := range x[4:36] {
			y[j] = float32(int8(q)) * d
		}
	}
}

// block_q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin.
// Each 128-element half uses 32 bytes of qs, four 2-bit planes of 32.
func dequantQ2K(src []byte, dst []float32) {
	const size = 84
	for b := 0; b < len(dst)/QK_K; b++ {
		x, y := src[b*size:b*size+size], dst[b*QK_K:b*QK_K+QK_K]
		sc, qs := x[0:16], x[16:80]
		d, dmin := half(x[80:]), half(x[82:])
		is, o := 0, 0
		for n := 0; n < 2; n++ {
			q := qs[32*n : 32*n+32]
			for shift := uint(0); shift < 8; shift += 2 {
				for h := 0; h < 2; h++ {
					s := sc[is]
					is++
					dl, ml := d*float32(s&0xf), dmin*float32(s>>4)
					for _, v := range q[16*h : 16*h+16] {
						y[o] = float32(dl*float32((v>>shift)&3)) - ml
						o++
					}
				}
			}
		}
	}
}

// q3KScale unpacks the 6-bit scale j (0..63, biased by 32) of a block_q3_K:
// low nibbles in scales[0:8], high 2 bits in scales[8:12].
func q3KScale(sc []byte, j int) int32 {
	var lo byte
	if j < 8 {
		lo = sc[j] & 0xf
	} else {
		lo = sc[j-8] >> 4
	}
	return int32(lo | (sc[8+j%4]>>(2*(j/4))&3)<<4)
}

// block_q3_K: hmask[32], qs[64], scales[12], d. Element value is
// d*(scale-32)*(q - 4 unless its hmask bit is set).
func dequantQ3K(src []byte, dst []float32) {
	const size = 110
	for b := 0; b < len(dst)/QK_K; b++ {
		x, y := src[b*size:b*size+size], dst[b*QK_K:b*QK_K+QK_K]
		hm, qs, sc := x[0:32], x[32:96], x[96:108]
		d := half(x[108:])
		is, o := 0, 0
		m := byte(1)
		for n := 0; n < 2; n++ {
			q := qs[32*n : 32*n+32]
			for shift := uint(0); shift < 8; shift += 2 {
				for h := 0; h < 2; h++ {
					dl := d * float32(q3KScale(sc, is)-32)
					is++
					for l := 16 * h; l < 16*h+16; l++ {
						v := int32((q[l] >> shift) & 3)
						if hm[l]&m == 0 {
							v -= 4
						}
						y[o] = dl * float32(v)
						o++
					}
				}
				m <<= 1
			}
		}
	}
}

// scaleMinK4 unpacks the 6-bit scale and min j of a Q4_K/Q5_K block, as
// ggml's get_scale_min_k4.
func scaleMinK4(j int, q []byte) (sc, m byte) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// block_q4_K: d, dmin, scales[12], qs[128]; 64-element groups use 32 bytes,
// low nibbles first.
func dequantQ4K(src []byte, dst []float32) {
	const size = 144
	for b := 0; b < len(dst)/QK_K; b++ {
		x, y := src[b*size:b*size+size], dst[b*QK_K:b*QK_K+QK_K]
		d, dmin := half(x), half(x[2:])
		sc := x[4:16]
		for g := 0; g < 4; g++ {
			q := x[16+32*g : 48+32*g]
			s1, m1 := scaleMinK4(2*g, sc)
			s2, m2 := scaleMinK4(2*g+1, sc)
			d1, dm1 := d*float32(s1), dmin*float32(m1)
			d2, dm2 := d*float32(s2), dmin*float32(m2)
			yg := y[64*g : 64*g+64]
			for l, v := range q {
				yg[l] = float32(d1*float32(v&0xf)) - dm1
				yg[l+32] = float32(d2*float32(v>>4)) - dm2
			}
		}
	}
}

// block_q5_K: d, dmin, scales[12], qh[32], qs[128]; like Q4_K plus a fifth
// bit per element from qh (two bits of qh per 64-element group).
func dequantQ5K(src []byte, dst []float32) {
	const size = 176
	for b := 0; b < len(dst)/QK_K; b++ {
		x, y := src[b*size:b*size+size], dst[b*QK_K:b*QK_K+QK_K]
		d, dmin := half(x), half(x[2:])
		sc, qh := x[4:16], x[16:48]
		for g := 0; g < 4; g++ {
			q := x[48+32*g : 80+32*g]
			s1, m1 := scaleMinK4(2*g, sc)
			s2, m2 := scaleMinK4(2*g+1, sc)
			d1, dm1 := d*float32(s1), dmin*float32(m1)
			d2, dm2 := d*float32(s2), dmin*float32(m2)
			u1, u2 := byte(1)<<(2*g), byte(2)<<(2*g)
			yg := y[64*g : 64*g+64]
			for l, v := range q {
				lo, hi := v&0xf, v>>4
				if qh[l]&u1 != 0 {
					lo += 16
				}
				if qh[l]&u2 != 0 {
					hi += 16
				}
				yg[l] = float32(d1*float32(lo)) - dm1
				yg[l+32] = float32(d2*float32(hi)) - dm2
			}
		}
	}
}

// q6KQuants unpacks the 256 signed 6-bit quants of a block_q6_K (ql[128],
// qh[64]) into a, in element order.
func q6KQuants(ql, qh []byte, a *[QK_K]int8) {
	for n := 0; n < 2; n++ {
		l4, h := ql[64*n:64*n+64], qh[32*n:32*n+32]
		o := a[128*n : 128*n+128]
		for l := 0; l < 32; l++ {
			o[l] = int8(l4[l]&0xf|(h[l]>>0&3)<<4) - 32
			o[l+32] = int8(l4[l+32]&0xf|(h[l]>>2&3)<<4) - 32
			o[l+64] = int8(l4[l]>>4|(h[l]>>4&3)<<4) - 32
			o[l+96] = int8(l4[l+32]>>4|(h[l]>>6&3)<<4) - 32
		}
	}
}

// block_q6_K: ql[128], qh[64], scales[16] int8, d; value = d*scale*q.
func dequantQ6K(src []byte, dst []float32) {
	const size = 210
	var a [QK_K]int8
	for b := 0; b < len(dst)/QK_K; b++ {
		x, y := src[b*size:b*size+size], dst[b*QK_K:b*QK_K+QK_K]
		q6KQuants(x[0:128], x[128:192], &a)
		sc := x[192:208]
		d := half(x[208:])
		for i, q := range a {
			y[i] = float32(d*float32(int8(sc[i/16]))) * float32(q)
		}
	}
}

// block_q8_K: d float32, qs[256] int8, bsums[16] int16.
func dequantQ8K(src []byte, dst []float32) {
	const size = 292
	for b := 0; b < len(dst)/QK_K; b++ {
		x, y := src[b*size:b*size+size], dst[b*QK_K:b*QK_K+QK_K]
		d := math.Float32frombits(binary.LittleEndian.Uint32(x))
		for j, q := range x[4 : 4+QK_K] {
			y[j] = d * float32(int8(q))
		}
	}
}
