//go:build !amd64

package train

// hasAsm is false: there is no assembly kernel for this architecture.
const hasAsm = false

// microKernel is the portable micro-kernel (never reached in training, where
// useAsm is false; kept so the packing is tested on every architecture).
var microKernel = microKernelGo
