//go:build !purego

package tensor

import "golang.org/x/sys/cpu"

//go:noescape
func swigluAVX512(dst, gate, up *float32, n int)

func init() {
	if noAsm || !cpu.X86.HasAVX512F {
		return
	}
	swiglu = swigluFast
}

// swigluFast runs the sixteen-lane groups in assembly and the rest, which
// takes the C library's expf in llama.cpp too, in Go.
func swigluFast(dst, gate, up []float32) {
	gate, up = gate[:len(dst)], up[:len(dst)]
	n := len(dst) &^ (swigluLanes - 1)
	if n > 0 {
		swigluAVX512(&dst[0], &gate[0], &up[0], n)
	}
	swigluTail(dst, gate, up, n)
}
