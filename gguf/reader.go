// Package gguf reads and writes GGUF files, llama.cpp's container for model
// parameters and metadata. Open maps a file into memory and validates every
// count, size and offset against the file before use, so a truncated or
// hostile file yields an error that names the offending key or tensor.
package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/llmos/llmos/tensor"
	"golang.org/x/sys/unix"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// MaxDims is the largest number of dimensions a tensor may have (GGML_MAX_DIMS).
const MaxDims = 4

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("gguf: malformed file")

// ValueType is the type tag of a metadata value.
type ValueType uint32

// Metadata value types, numbered as in the GGUF specification.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("valuetype(%d)", uint32(t))
}

// fixedSize is the encoded size of a scalar type, 0 for string/array/unknown.
func (t ValueType) fixedSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// KV is one metadata entry. Value holds a Go value of the matching type:
// uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64,
// int64, float64, or for arrays a slice of one of those ([]string, []int32,
// []float32 …) or []any for arrays of arrays.
type KV struct {
	Key   string
	Type  ValueType
	Value any
}

// TensorInfo describes one tensor and, once opened, holds its bytes.
type TensorInfo struct {
	Name   string
	Type   tensor.Type
	Dims   []int64 // ne: Dims[0] is the innermost (contiguous) dimension
	Offset int64   // relative to the start of the data section
	Data   []byte  // the tensor's bytes inside the mapped file
}

// Elements returns the number of elements in the tensor.
func (t *TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// File is an opened GGUF file. Tensor data points into the mapping and is
// valid until Close.
type File struct {
	Version    uint32
	Alignment  int64
	KV         []KV
	Tensors    []TensorInfo
	DataOffset int64 // file offset of the data section

	kvIndex     map[string]int
	tensorIndex map[string]int
	mapping     []byte
}

// Open maps the file at path and parses it.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("gguf: %s: not a regular file", path)
	}
	size := st.Size()
	if size == 0 {
		return nil, fmt.Errorf("%w: %s: empty file", ErrFormat, path)
	}
	if size != int64(int(size)) {
		return nil, fmt.Errorf("gguf: %s: file too large to map", path)
	}
	data, err := unix.Mmap(int(fd.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("gguf: mmap %s: %w", path, err)
	}
	f, err := Parse(data)
	if err != nil {
		unix.Munmap(data)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.mapping = data
	return f, nil
}

// Close unmaps the file. Tensor data must not be used afterwards.
func (f *File) Close() error {
	if f.mapping == nil {
		return nil
	}
	m := f.mapping
	f.mapping = nil
	for i := range f.Tensors {
		f.Tensors[i].Data = nil
	}
	return unix.Munmap(m)
}

// Parse parses a whole GGUF file held in memory. Tensor data aliases buf.
func Parse(buf []byte) (*File, error) {
	r := &decoder{buf: buf}
	if len(buf) < 4 || string(buf[:4]) != Magic {
		return nil, fmt.Errorf("%w: not a GGUF file (bad magic)", ErrFormat)
	}
	r.pos = 4
	f := &File{Alignment: DefaultAlignment}
	var err error
	if f.Version, err = r.u32("version"); err != nil {
		return nil, err
	}
	switch {
	case f.Version == 1:
		return nil, fmt.Errorf("%w: GGUF version 1 is not supported (only 2 and 3)", ErrFormat)
	case f.Version > 3 && f.Version&0xffff == 0:
		return nil, fmt.Errorf("%w: big-endian GGUF is not supported", ErrFormat)
	case f.Version != 2 && f.Version != 3:
		return nil, fmt.Errorf("%w: unsupported GGUF version %d (only 2 and 3)", ErrFormat, f.Version)
	}
	nTensors, err := r.u64("tensor count")
	if err != nil {
		return nil, err
	}
	nKV, err := r.u64("metadata count")
	if err != nil {
		return nil, err
	}
	// Smallest encodings: a KV is a key length, a type and a 1-byte value;
	// a tensor info is a name length, n_dims, type and offset.
	if nKV > uint64(r.remaining())/13 {
		return nil, fmt.Errorf("%w: metadata count %d does not fit in the file", ErrFormat, nKV)
	}
	if nTensors > uint64(r.remaining())/24 {
		return nil, fmt.Errorf("%w: tensor count %d does not fit in the file", ErrFormat, nTensors)
	}
	f.KV = make([]KV, 0, nKV)
	f.kvIndex = make(map[string]int, nKV)
	for i := uint64(0); i < nKV; i++ {
		kv, err := r.kv(i)
		if err != nil {
			return nil, err
		}
		if _, dup := f.kvIndex[kv.Key]; dup {
			return nil, fmt.Errorf("%w: duplicate metadata key %q", ErrFormat, kv.Key)
		}
		f.kvIndex[kv.Key] = len(f.KV)
		f.KV = append(f.KV, kv)
	}
	if v, ok := f.Get("general.alignment"); ok {
		a, ok := asUint(v)
		if !ok || a == 0 || a&(a-1) != 0 || a > 1<<20 {
			return nil, fmt.Errorf("%w: key \"general.alignment\": %v is not a power of two", ErrFormat, v)
		}
		f.Alignment = int64(a)
	}
	f.Tensors = make([]TensorInfo, 0, nTensors)
	f.tensorIndex = make(map[string]int, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		ti, err := r.tensorInfo(i)
		if err != nil {
			return nil, err
		}
		if _, dup := f.tensorIndex[ti.Name]; dup {
			return nil, fmt.Errorf("%w: duplicate tensor %q", ErrFormat, ti.Name)
		}
		f.tensorIndex[ti.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, ti)
	}
	f.DataOffset = alignUp(int64(r.pos), f.Alignment)
	if nTensors > 0 && f.DataOffset > int64(len(buf)) {
		return nil, fmt.Errorf("%w: data section starts at %d, past the end of the file (%d bytes)", ErrFormat, f.DataOffset, len(buf))
	}
	dataLen := int64(len(buf)) - f.DataOffset
	for i := range f.Tensors {
		t := &f.Tensors[i]
		size, err := tensor.RowBytes(t.Type, t.Elements())
		if err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %v", ErrFormat, t.Name, err)
		}
		if t.Offset%f.Alignment != 0 {
			return nil, fmt.Errorf("%w: tensor %q: offset %d is not a multiple of the alignment %d", ErrFormat, t.Name, t.Offset, f.Alignment)
		}
		if t.Offset > dataLen || size > dataLen-t.Offset {
			return nil, fmt.Errorf("%w: tensor %q: %d bytes at data offset %d run past the end of the file (data section is %d bytes)", ErrFormat, t.Name, size, t.Offset, dataLen)
		}
		start := f.DataOffset + t.Offset
		t.Data = buf[start : start+size : start+size]
	}
	return f, nil
}

func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

// Get returns the value stored under key.
func (f *File) Get(key string) (any, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return nil, false
	}
	return f.KV[i].Value, true
}

// String returns a string value.
func (f *File) String(key string) (string, bool) {
	v, ok := f.Get(key)
	s, ok2 := v.(string)
	return s, ok && ok2
}

// Uint returns a non-negative integer value of any integer type.
func (f *File) Uint(key string) (uint64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return asUint(v)
}

// Float returns a numeric value of any integer or float type as float64.
func (f *File) Float(key string) (float64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if i, ok := asInt(v); ok {
		return float64(i), true
	}
	return 0, false
}

// Bool returns a boolean value.
func (f *File) Bool(key string) (bool, bool) {
	v, ok := f.Get(key)
	b, ok2 := v.(bool)
	return b, ok && ok2
}

// Strings returns an array of strings.
func (f *File) Strings(key string) ([]string, bool) {
	v, ok := f.Get(key)
	s, ok2 := v.([]string)
	return s, ok && ok2
}

// Float32s returns an array of float32 values.
func (f *File) Float32s(key string) ([]float32, bool) {
	v, ok := f.Get(key)
	s, ok2 := v.([]float32)
	return s, ok && ok2
}

// Int32s returns an array of integers of any integer type that fits int32.
func (f *File) Int32s(key string) ([]int32, bool) {
	v, ok := f.Get(key)
	if !ok {
		return nil, false
	}
	switch s := v.(type) {
	case []int32:
		return s, true
	case []uint32:
		return convertInts(s)
	case []int8:
		return convertInts(s)
	case []uint8:
		return convertInts(s)
	case []int16:
		return convertInts(s)
	case []uint16:
		return convertInts(s)
	case []int64:
		return convertInts(s)
	case []uint64:
		return convertInts(s)
	}
	return nil, false
}

func convertInts[T int8 | uint8 | int16 | uint16 | uint32 | int64 | uint64](s []T) ([]int32, bool) {
	out := make([]int32, len(s))
	for i, x := range s {
		if int64(x) < math.MinInt32 || uint64(x) > math.MaxInt32 && int64(x) >= 0 {
			return nil, false
		}
		out[i] = int32(x)
	}
	return out, true
}

// Tensor returns the tensor called name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tensorIndex[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

func asUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	}
	if i, ok := asInt(v); ok && i >= 0 {
		return uint64(i), true
	}
	return 0, false
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// decoder reads little-endian values from buf, checking every length.
type decoder struct {
	buf []byte
	pos int
}

func (r *decoder) remaining() int { return len(r.buf) - r.pos }

func (r *decoder) take(n uint64, what string) ([]byte, error) {
	if n > uint64(r.remaining()) {
		return nil, fmt.Errorf("%w: %s: needs %d bytes at offset %d, file has %d", ErrFormat, what, n, r.pos, len(r.buf))
	}
	b := r.buf[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b, nil
}

func (r *decoder) u32(what string) (uint32, error) {
	b, err := r.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *decoder) u64(what string) (uint64, error) {
	b, err := r.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (r *decoder) str(what string) (string, error) {
	n, err := r.u64(what)
	if err != nil {
		return "", err
	}
	b, err := r.take(n, what)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (r *decoder) kv(i uint64) (KV, error) {
	key, err := r.str(fmt.Sprintf("metadata key #%d", i))
	if err != nil {
		return KV{}, err
	}
	what := fmt.Sprintf("key %q", key)
	t, err := r.u32(what)
	if err != nil {
		return KV{}, err
	}
	v, err := r.value(ValueType(t), what, 0)
	if err != nil {
		return KV{}, err
	}
	return KV{Key: key, Type: ValueType(t), Value: v}, nil
}

// maxNesting bounds arrays of arrays so a hostile file cannot recurse deeply.
const maxNesting = 8

func (r *decoder) value(t ValueType, what string, depth int) (any, error) {
	if t == TypeArray {
		return r.array(what, depth)
	}
	if t == TypeString {
		return r.str(what)
	}
	size := t.fixedSize()
	if size == 0 {
		return nil, fmt.Errorf("%w: %s: unknown value type %d", ErrFormat, what, uint32(t))
	}
	b, err := r.take(uint64(size), what)
	if err != nil {
		return nil, err
	}
	return scalar(t, b), nil
}

func scalar(t ValueType, b []byte) any {
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		return b[0]
	case TypeInt8:
		return int8(b[0])
	case TypeBool:
		return b[0] != 0
	case TypeUint16:
		return le.Uint16(b)
	case TypeInt16:
		return int16(le.Uint16(b))
	case TypeUint32:
		return le.Uint32(b)
	case TypeInt32:
		return int32(le.Uint32(b))
	case TypeFloat32:
		return math.Float32frombits(le.Uint32(b))
	case TypeUint64:
		return le.Uint64(b)
	case TypeInt64:
		return int64(le.Uint64(b))
	case TypeFloat64:
		return math.Float64frombits(le.Uint64(b))
	}
	panic("unreachable")
}

func (r *decoder) array(what string, depth int) (any, error) {
	if depth >= maxNesting {
		return nil, fmt.Errorf("%w: %s: arrays nested deeper than %d", ErrFormat, what, maxNesting)
	}
	et, err := r.u32(what + " array type")
	if err != nil {
		return nil, err
	}
	n, err := r.u64(what + " array length")
	if err != nil {
		return nil, err
	}
	elem := ValueType(et)
	minSize := uint64(elem.fixedSize())
	switch elem {
	case TypeString, TypeArray:
		minSize = 8 // a length or a type+length at the least
	case TypeBool, TypeUint8, TypeInt8, TypeUint16, TypeInt16, TypeUint32, TypeInt32, TypeFloat32, TypeUint64, TypeInt64, TypeFloat64:
	default:
		return nil, fmt.Errorf("%w: %s: unknown array element type %d", ErrFormat, what, et)
	}
	if n > uint64(r.remaining())/minSize {
		return nil, fmt.Errorf("%w: %s: array of %d %s elements does not fit in the file", ErrFormat, what, n, elem)
	}
	switch elem {
	case TypeString:
		out := make([]string, n)
		for i := range out {
			if out[i], err = r.str(what); err != nil {
				return nil, err
			}
		}
		return out, nil
	case TypeArray:
		out := make([]any, n)
		for i := range out {
			if out[i], err = r.array(what, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	b, _ := r.take(n*minSize, what) // length checked above
	return scalarArray(elem, b, int(n)), nil
}

func scalarArray(t ValueType, b []byte, n int) any {
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		return append([]uint8(nil), b...)
	case TypeInt8:
		out := make([]int8, n)
		for i := range out {
			out[i] = int8(b[i])
		}
		return out
	case TypeBool:
		out := make([]bool, n)
		for i := range out {
			out[i] = b[i] != 0
		}
		return out
	case TypeUint16:
		return decodeArray(b, n, 2, func(p []byte) uint16 { return le.Uint16(p) })
	case TypeInt16:
		return decodeArray(b, n, 2, func(p []byte) int16 { return int16(le.Uint16(p)) })
	case TypeUint32:
		return decodeArray(b, n, 4, func(p []byte) uint32 { return le.Uint32(p) })
	case TypeInt32:
		return decodeArray(b, n, 4, func(p []byte) int32 { return int32(le.Uint32(p)) })
	case TypeFloat32:
		return decodeArray(b, n, 4, func(p []byte) float32 { return math.Float32frombits(le.Uint32(p)) })
	case TypeUint64:
		return decodeArray(b, n, 8, func(p []byte) uint64 { return le.Uint64(p) })
	case TypeInt64:
		return decodeArray(b, n, 8, func(p []byte) int64 { return int64(le.Uint64(p)) })
	case TypeFloat64:
		return decodeArray(b, n, 8, func(p []byte) float64 { return math.Float64frombits(le.Uint64(p)) })
	}
	panic("unreachable")
}

func decodeArray[T any](b []byte, n, size int, dec func([]byte) T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = dec(b[i*size:])
	}
	return out
}

func (r *decoder) tensorInfo(i uint64) (TensorInfo, error) {
	name, err := r.str(fmt.Sprintf("tensor info #%d name", i))
	if err != nil {
		return TensorInfo{}, err
	}
	what := fmt.Sprintf("tensor %q", name)
	nd, err := r.u32(what + " dimension count")
	if err != nil {
		return TensorInfo{}, err
	}
	if nd == 0 || nd > MaxDims {
		return TensorInfo{}, fmt.Errorf("%w: %s: %d dimensions (want 1..%d)", ErrFormat, what, nd, MaxDims)
	}
	ti := TensorInfo{Name: name, Dims: make([]int64, nd)}
	total := uint64(1)
	for d := range ti.Dims {
		n, err := r.u64(what + " dimension")
		if err != nil {
			return TensorInfo{}, err
		}
		if n == 0 || n > math.MaxInt64 || total > math.MaxInt64/n {
			return TensorInfo{}, fmt.Errorf("%w: %s: dimension %d has bad size %d", ErrFormat, what, d, n)
		}
		total *= n
		ti.Dims[d] = int64(n)
	}
	t, err := r.u32(what + " type")
	if err != nil {
		return TensorInfo{}, err
	}
	ti.Type = tensor.Type(t)
	if !ti.Type.Known() {
		return TensorInfo{}, fmt.Errorf("%w: %s: unknown tensor type %d", ErrFormat, what, t)
	}
	if ti.Dims[0]%int64(ti.Type.BlockSize()) != 0 {
		return TensorInfo{}, fmt.Errorf("%w: %s: row of %d elements is not a whole number of %s blocks (%d)", ErrFormat, what, ti.Dims[0], ti.Type, ti.Type.BlockSize())
	}
	off, err := r.u64(what + " offset")
	if err != nil {
		return TensorInfo{}, err
	}
	if off > math.MaxInt64 {
		return TensorInfo{}, fmt.Errorf("%w: %s: offset %d out of range", ErrFormat, what, off)
	}
	ti.Offset = int64(off)
	return ti, nil
}
