//go:build !purego

package tensor

import "golang.org/x/sys/cpu"

// Q5_K assembly kernels (q5k_amd64.s), registered beside the others of
// vecdot_amd64.go under the same CPU conditions.

//go:noescape
func dotQ5KAVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ5Kx4VNNI(w *byte, stride int, a *byte, nb int, out *[4]float32)

//go:noescape
func gemmQ5KVNNI(w *byte, stride int, a *byte, astride int, nv int, nb int, out *[4][16][16]float32)

func init() {
	if noAsm || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA || !cpu.X86.HasF16C {
		return
	}
	fastDots[Q5_K] = kFast(dotQ5KAVX2, 176)
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512VL || !cpu.X86.HasAVX512BW ||
		!cpu.X86.HasAVX512VNNI || !cpu.X86.HasAVX512VBMI {
		return
	}
	fastDots4[Q5_K] = rows4K(dotQ5Kx4VNNI, 176)
	// Q5_K's activations are Q8_K in the same lane order as Q4_K's, so the
	// Q4_K layout serves.
	fastGemm[Q5_K] = gemmRowsK(gemmQ5KVNNI, 176, gemmQ5KBlock, gemmLayoutQ5K, gemmGroupQ5K)
}
