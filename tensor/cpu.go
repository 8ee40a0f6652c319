package tensor

import "os"

// Kernel selection. Every kernel has a pure-Go version (the reference the
// tests hold the others to); on CPUs with the right features the amd64
// assembly replaces the hot ones at start-up. LLMOS_NOASM=1 (any non-empty
// value) keeps the pure-Go kernels, for comparison and debugging.

// noAsm reports whether the user asked for the pure-Go kernels.
var noAsm = os.Getenv("LLMOS_NOASM") != ""

// fastDots holds the assembly dot kernels the CPU supports, by weight type;
// empty when assembly is off or unavailable.
var fastDots = map[Type]vecDotFunc{}

// fastDots4 holds the assembly kernels that take four weight rows per call,
// by weight type; MatMul uses them for whole groups of four rows.
var fastDots4 = map[Type]dot4Func{}

// fastGemm holds the assembly kernels that take several weight rows and
// several activation vectors per call, by weight type; MatMul uses them when
// it has more than one vector.
var fastGemm = map[Type]*gemmKernel{}

// kernelSet names the instruction set of the chosen kernels, for reports.
var kernelSet = "go"

// Kernels names the instruction set the dot kernels run on: "go" for the
// pure-Go kernels, otherwise the assembly variant (such as "avx2" or
// "avx512vnni").
func Kernels() string { return kernelSet }

// dotKernel returns the dot kernel MatMul uses for weights of type t.
func dotKernel(t Type) (vecDotFunc, bool) {
	if f, ok := fastDots[t]; ok {
		return f, true
	}
	f, ok := vecDots[t]
	return f, ok
}
