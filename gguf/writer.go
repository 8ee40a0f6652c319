package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/llmos/llmos/tensor"
)

// Writer assembles a GGUF version 3 file: metadata in the order set, then
// tensor infos, then the aligned tensor data.
type Writer struct {
	kv      []KV
	kvIndex map[string]int
	tensors []TensorInfo
	names   map[string]bool
	err     error
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer {
	return &Writer{kvIndex: map[string]int{}, names: map[string]bool{}}
}

// Set stores a metadata value, replacing an earlier one with the same key.
// The GGUF type follows the Go type: uint32 is written as u32, []string as
// an array of strings, and so on (see KV). An unsupported Go type makes
// WriteTo fail.
func (w *Writer) Set(key string, value any) {
	t, err := typeOf(value)
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("gguf: key %q: %w", key, err)
	}
	if i, ok := w.kvIndex[key]; ok {
		w.kv[i] = KV{Key: key, Type: t, Value: value}
		return
	}
	w.kvIndex[key] = len(w.kv)
	w.kv = append(w.kv, KV{Key: key, Type: t, Value: value})
}

// CopyKV copies every metadata entry of f into w.
func (w *Writer) CopyKV(f *File) {
	for _, kv := range f.KV {
		w.Set(kv.Key, kv.Value)
	}
}

// AddTensor appends a tensor. dims are ne, innermost first; data must hold
// exactly the bytes of that many elements of type t.
func (w *Writer) AddTensor(name string, t tensor.Type, dims []int64, data []byte) {
	if w.err != nil {
		return
	}
	ti := TensorInfo{Name: name, Type: t, Dims: append([]int64(nil), dims...), Data: data}
	size, err := tensor.RowBytes(t, ti.Elements())
	switch {
	case w.names[name]:
		err = fmt.Errorf("duplicate tensor")
	case len(dims) == 0 || len(dims) > MaxDims:
		err = fmt.Errorf("%d dimensions (want 1..%d)", len(dims), MaxDims)
	case err == nil && dims[0]%int64(t.BlockSize()) != 0:
		err = fmt.Errorf("row of %d elements is not a whole number of %s blocks", dims[0], t)
	case err == nil && size != int64(len(data)):
		err = fmt.Errorf("%d bytes of data, want %d for %v %s", len(data), size, dims, t)
	}
	if err != nil {
		w.err = fmt.Errorf("gguf: tensor %q: %w", name, err)
		return
	}
	w.names[name] = true
	w.tensors = append(w.tensors, ti)
}

func (w *Writer) alignment() int64 {
	if i, ok := w.kvIndex["general.alignment"]; ok {
		if a, ok := asUint(w.kv[i].Value); ok && a > 0 && a&(a-1) == 0 {
			return int64(a)
		}
	}
	return DefaultAlignment
}

// WriteTo writes the file to out.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	e := &encoder{w: bw}
	align := w.alignment()
	e.raw([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(w.kv)))
	for _, kv := range w.kv {
		e.str(kv.Key)
		e.u32(uint32(kv.Type))
		e.value(kv.Value)
	}
	var off int64
	for _, t := range w.tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(uint64(d))
		}
		e.u32(uint32(t.Type))
		e.u64(uint64(off))
		off = alignUp(off+int64(len(t.Data)), align)
	}
	e.pad(align)
	for _, t := range w.tensors {
		e.raw(t.Data)
		e.pad(align)
	}
	if e.err == nil {
		e.err = bw.Flush()
	}
	return e.n, e.err
}

// WriteFile writes the file atomically: to a temporary file in the same
// folder, synced, then renamed over path.
func (w *Writer) WriteFile(path string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := w.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("gguf: writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes it owner-only
		tmp.Close()
		return fmt.Errorf("gguf: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("gguf: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func typeOf(v any) (ValueType, error) {
	switch x := v.(type) {
	case uint8:
		return TypeUint8, nil
	case int8:
		return TypeInt8, nil
	case uint16:
		return TypeUint16, nil
	case int16:
		return TypeInt16, nil
	case uint32:
		return TypeUint32, nil
	case int32:
		return TypeInt32, nil
	case float32:
		return TypeFloat32, nil
	case bool:
		return TypeBool, nil
	case string:
		return TypeString, nil
	case uint64:
		return TypeUint64, nil
	case int64:
		return TypeInt64, nil
	case float64:
		return TypeFloat64, nil
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []float32, []bool, []string, []uint64, []int64, []float64:
		return TypeArray, nil
	case []any:
		for _, e := range x {
			if t, err := typeOf(e); err != nil || t != TypeArray {
				return 0, fmt.Errorf("[]any may only hold arrays")
			}
		}
		return TypeArray, nil
	}
	return 0, fmt.Errorf("unsupported value type %T", v)
}

func elemType(v any) ValueType {
	switch v.(type) {
	case []uint8:
		return TypeUint8
	case []int8:
		return TypeInt8
	case []uint16:
		return TypeUint16
	case []int16:
		return TypeInt16
	case []uint32:
		return TypeUint32
	case []int32:
		return TypeInt32
	case []float32:
		return TypeFloat32
	case []bool:
		return TypeBool
	case []string:
		return TypeString
	case []uint64:
		return TypeUint64
	case []int64:
		return TypeInt64
	case []float64:
		return TypeFloat64
	}
	return TypeArray
}

type encoder struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (e *encoder) raw(b []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(b)
	e.n += int64(n)
	e.err = err
}

func (e *encoder) pad(align int64) {
	if r := e.n % align; r != 0 {
		e.raw(make([]byte, align-r))
	}
}

func (e *encoder) u32(v uint32) { e.raw(binary.LittleEndian.AppendUint32(nil, v)) }
func (e *encoder) u64(v uint64) { e.raw(binary.LittleEndian.AppendUint64(nil, v)) }
func (e *encoder) str(s string) { e.u64(uint64(len(s))); e.raw([]byte(s)) }

func (e *encoder) value(v any) {
	switch x := v.(type) {
	case uint8:
		e.raw([]byte{x})
	case int8:
		e.raw([]byte{byte(x)})
	case bool:
		b := byte(0)
		if x {
			b = 1
		}
		e.raw([]byte{b})
	case uint16:
		e.raw(binary.LittleEndian.AppendUint16(nil, x))
	case int16:
		e.raw(binary.LittleEndian.AppendUint16(nil, uint16(x)))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	case string:
		e.str(x)
	default:
		e.array(v)
	}
}

func (e *encoder) array(v any) {
	e.u32(uint32(elemType(v)))
	switch x := v.(type) {
	case []uint8:
		encodeSlice(e, x)
	case []int8:
		encodeSlice(e, x)
	case []uint16:
		encodeSlice(e, x)
	case []int16:
		encodeSlice(e, x)
	case []uint32:
		encodeSlice(e, x)
	case []int32:
		encodeSlice(e, x)
	case []float32:
		encodeSlice(e, x)
	case []bool:
		encodeSlice(e, x)
	case []string:
		encodeSlice(e, x)
	case []uint64:
		encodeSlice(e, x)
	case []int64:
		encodeSlice(e, x)
	case []float64:
		encodeSlice(e, x)
	case []any:
		encodeSlice(e, x)
	}
}

func encodeSlice[T any](e *encoder, s []T) {
	e.u64(uint64(len(s)))
	for _, x := range s {
		e.value(x)
	}
}
