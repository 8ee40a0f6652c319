// Package convert creates and converts GGUF model files: freshly
// initialised Llama models (Init) and type conversion with llama-quantize's
// per-tensor rules (Quantize). Both stream: tensors are produced one at a
// time straight into the file, so memory stays bounded by the largest
// tensor rather than the model.
package convert

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
)

// plan is one output tensor: its shape and type, and fill, which writes its
// bytes (exactly RowBytes(typ, elements) of them) into dst.
type plan struct {
	name string
	typ  tensor.Type
	dims []int64
	size int64
	fill func(dst []byte) error
}

func newPlan(name string, typ tensor.Type, dims []int64, fill func(dst []byte) error) (plan, error) {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	size, err := tensor.RowBytes(typ, n)
	if err != nil {
		return plan{}, fmt.Errorf("convert: tensor %q: %w", name, err)
	}
	return plan{name: name, typ: typ, dims: dims, size: size, fill: fill}, nil
}

// writeStreaming writes w's metadata (whose general.alignment, if set, must
// be align) and the planned tensors to path,
// atomically (a temporary file renamed into place). gguf.Writer keeps every
// tensor's bytes until it writes, which for a 7B model is more memory than
// we want: here every tensor is registered over one shared zero buffer, the
// header is laid out by gguf.Writer itself, and while it streams the data
// section each tensor's zeros are replaced by its real bytes, produced one
// tensor at a time.
func writeStreaming(path string, w *gguf.Writer, align int64, plans []plan) error {
	var largest int64
	for _, p := range plans {
		largest = max(largest, p.size)
	}
	zeros := make([]byte, largest)
	var dataLen int64
	for _, p := range plans {
		w.AddTensor(p.name, p.typ, p.dims, zeros[:p.size])
		dataLen += alignUp(p.size, align)
	}
	total, err := w.WriteTo(io.Discard)
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	sw := &substWriter{out: tmp, align: align, dataStart: total - dataLen, plans: plans, buf: make([]byte, largest)}
	if _, err := w.WriteTo(sw); err != nil {
		tmp.Close()
		return fmt.Errorf("convert: writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("convert: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil { // CreateTemp makes it 0600; a model is for sharing
		return fmt.Errorf("convert: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	return nil
}

func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

// substWriter passes the header through and, in the data section, writes
// each tensor's real bytes in place of the zeros gguf.Writer hands it.
type substWriter struct {
	out       io.Writer
	align     int64 // the file's data alignment (general.alignment)
	pos       int64 // bytes seen so far
	dataStart int64
	plans     []plan
	cur       int   // index of the tensor whose region holds pos
	curStart  int64 // file offset of plans[cur]'s data
	filled    bool  // buf holds plans[cur]'s bytes
	buf       []byte
}

func (s *substWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if s.pos < s.dataStart {
			n := int(min(int64(len(p)), s.dataStart-s.pos))
			if _, err := s.out.Write(p[:n]); err != nil {
				return written, err
			}
			s.advance(n)
			p, written = p[n:], written+n
			if s.pos == s.dataStart {
				s.curStart = s.dataStart
			}
			continue
		}
		for s.cur < len(s.plans) && s.pos >= s.curStart+alignUp(s.plans[s.cur].size, s.align) {
			s.curStart += alignUp(s.plans[s.cur].size, s.align)
			s.cur++
			s.filled = false
		}
		if s.cur >= len(s.plans) {
			return written, fmt.Errorf("convert: %d bytes past the planned data section", len(p))
		}
		pl := s.plans[s.cur]
		off := s.pos - s.curStart
		if off >= pl.size { // alignment padding: gguf.Writer's zeros are right
			n := int(min(int64(len(p)), alignUp(pl.size, s.align)-off))
			if _, err := s.out.Write(p[:n]); err != nil {
				return written, err
			}
			s.advance(n)
			p, written = p[n:], written+n
			continue
		}
		if !s.filled {
			data := s.buf[:pl.size]
			clear(data)
			if err := pl.fill(data); err != nil {
				return written, fmt.Errorf("tensor %q: %w", pl.name, err)
			}
			s.filled = true
		}
		n := int(min(int64(len(p)), pl.size-off))
		if _, err := s.out.Write(s.buf[off : off+int64(n)]); err != nil {
			return written, err
		}
		s.advance(n)
		p, written = p[n:], written+n
	}
	return written, nil
}

func (s *substWriter) advance(n int) { s.pos += int64(n) }

// parallelRows calls fn over contiguous row ranges [lo, hi) of [0, rows) on
// GOMAXPROCS goroutines and returns the first error.
func parallelRows(rows int, fn func(lo, hi int) error) error {
	workers := min(rows, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		return fn(0, rows)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	step := (rows + workers - 1) / workers
	for lo := 0; lo < rows; lo += step {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			if err := fn(lo, hi); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}(lo, min(lo+step, rows))
	}
	wg.Wait()
	return first
}
