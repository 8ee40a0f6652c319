//go:build !purego

package tensor

import "golang.org/x/sys/cpu"

// dotQ6Kx4VNNI is the four-row Q6_K decode kernel (q6k4_amd64.s): each
// activation super-block is permuted and corrected once for all four rows.
//
//go:noescape
func dotQ6Kx4VNNI(w *byte, stride int, a *byte, nb int, out *[4]float32)

func init() {
	if noAsm || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA || !cpu.X86.HasF16C ||
		!cpu.X86.HasAVX512F || !cpu.X86.HasAVX512VL || !cpu.X86.HasAVX512BW || !cpu.X86.HasAVX512VNNI ||
		!cpu.X86.HasAVX512VBMI || !cpu.X86.HasAVX512GFNI {
		return
	}
	fastDots4[Q6_K] = rows4K(dotQ6Kx4VNNI, 210)
}
