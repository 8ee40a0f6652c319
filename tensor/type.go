// Package tensor holds the ggml tensor types and their block layouts,
// dequantization and quantization, and the dot-product kernels the model
// runs on. Type numbers are ggml's, so a GGUF tensor info's type converts
// directly.
package tensor

import (
	"fmt"
	"math"
)

// Type is a ggml tensor element type, numbered as in ggml.h.
type Type uint32

// The ggml tensor types llmos knows. Numbers are ggml's; gaps are types that
// ggml has retired or that llmos does not read.
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q4_1 Type = 3
	Q5_0 Type = 6
	Q5_1 Type = 7
	Q8_0 Type = 8
	Q8_1 Type = 9
	Q2_K Type = 10
	Q3_K Type = 11
	Q4_K Type = 12
	Q5_K Type = 13
	Q6_K Type = 14
	Q8_K Type = 15
	I8   Type = 24
	I16  Type = 25
	I32  Type = 26
	I64  Type = 27
	F64  Type = 28
	BF16 Type = 30
)

// QK_K is the super-block size of the k-quants.
const QK_K = 256

type layout struct {
	name      string
	blockSize int // elements per block
	typeSize  int // bytes per block
}

var layouts = map[Type]layout{
	F32:  {"F32", 1, 4},
	F16:  {"F16", 1, 2},
	BF16: {"BF16", 1, 2},
	F64:  {"F64", 1, 8},
	I8:   {"I8", 1, 1},
	I16:  {"I16", 1, 2},
	I32:  {"I32", 1, 4},
	I64:  {"I64", 1, 8},
	Q4_0: {"Q4_0", 32, 2 + 16},
	Q4_1: {"Q4_1", 32, 2 + 2 + 16},
	Q5_0: {"Q5_0", 32, 2 + 4 + 16},
	Q5_1: {"Q5_1", 32, 2 + 2 + 4 + 16},
	Q8_0: {"Q8_0", 32, 2 + 32},
	Q8_1: {"Q8_1", 32, 2 + 2 + 32},
	Q2_K: {"Q2_K", QK_K, QK_K/16 + QK_K/4 + 2 + 2},
	Q3_K: {"Q3_K", QK_K, QK_K/8 + QK_K/4 + 12 + 2},
	Q4_K: {"Q4_K", QK_K, 2 + 2 + 12 + QK_K/2},
	Q5_K: {"Q5_K", QK_K, 2 + 2 + 12 + QK_K/8 + QK_K/2},
	Q6_K: {"Q6_K", QK_K, QK_K/2 + QK_K/4 + QK_K/16 + 2},
	Q8_K: {"Q8_K", QK_K, 4 + QK_K + QK_K/16*2},
}

// Known reports whether llmos knows the block layout of t.
func (t Type) Known() bool { _, ok := layouts[t]; return ok }

// String returns ggml's name for t, or "type(N)" for an unknown type.
func (t Type) String() string {
	if l, ok := layouts[t]; ok {
		return l.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize is the number of elements in one block of t (1 for plain types).
func (t Type) BlockSize() int { return layouts[t].blockSize }

// TypeSize is the number of bytes in one block of t.
func (t Type) TypeSize() int { return layouts[t].typeSize }

// ParseType returns the type named s (as String writes it, case-sensitive).
func ParseType(s string) (Type, error) {
	for t, l := range layouts {
		if l.name == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("tensor: unknown type %q", s)
}

// RowBytes returns the byte size of n elements of type t, or an error when t
// is unknown or n is not a whole number of blocks.
func RowBytes(t Type, n int64) (int64, error) {
	l, ok := layouts[t]
	if !ok {
		return 0, fmt.Errorf("tensor: unknown type %d", uint32(t))
	}
	if n < 0 || n%int64(l.blockSize) != 0 {
		return 0, fmt.Errorf("tensor: %d elements of %s is not a whole number of %d-element blocks", n, l.name, l.blockSize)
	}
	blocks := n / int64(l.blockSize)
	if blocks > math.MaxInt64/int64(l.typeSize) {
		return 0, fmt.Errorf("tensor: %d elements of %s overflow a byte count", n, l.name)
	}
	return blocks * int64(l.typeSize), nil
}
