package gguf

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/llmos/llmos/internal/testenv"
	"github.com/llmos/llmos/tensor"
)

// sampleFile builds a small file with every metadata value type and two
// tensors of different types.
func sampleFile(t testing.TB) []byte {
	w := NewWriter()
	w.Set("general.architecture", "llama")
	w.Set("u8", uint8(200))
	w.Set("i8", int8(-5))
	w.Set("u16", uint16(60000))
	w.Set("i16", int16(-30000))
	w.Set("u32", uint32(4000000000))
	w.Set("i32", int32(-2000000000))
	w.Set("f32", float32(1.5))
	w.Set("bool", true)
	w.Set("u64", uint64(1)<<60)
	w.Set("i64", int64(-1)<<60)
	w.Set("f64", 2.25)
	w.Set("strings", []string{"a", "", "ünï"})
	w.Set("f32s", []float32{1, -2, 3.5})
	w.Set("i32s", []int32{1, -2, 3})
	w.Set("bools", []bool{true, false})
	w.Set("nested", []any{[]uint8{1, 2}, []string{"x"}})
	w.AddTensor("a", tensor.F32, []int64{3, 2}, make([]byte, 24))
	q := make([]byte, 34*2)
	q[0] = 0x3c // f16 scale 1.0 = 0x3c00
	w.AddTensor("b", tensor.Q8_0, []int64{64}, q)
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	f, err := Parse(sampleFile(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"general.architecture": "llama", "u8": uint8(200), "i8": int8(-5), "u16": uint16(60000),
		"i16": int16(-30000), "u32": uint32(4000000000), "i32": int32(-2000000000), "f32": float32(1.5),
		"bool": true, "u64": uint64(1) << 60, "i64": int64(-1) << 60, "f64": 2.25,
		"strings": []string{"a", "", "ünï"}, "f32s": []float32{1, -2, 3.5}, "i32s": []int32{1, -2, 3},
		"bools": []bool{true, false}, "nested": []any{[]uint8{1, 2}, []string{"x"}},
	}
	for k, v := range want {
		got, ok := f.Get(k)
		if !ok || !reflect.DeepEqual(got, v) {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
	if f.KV[0].Key != "general.architecture" || len(f.KV) != len(want) {
		t.Errorf("keys out of order or missing: %d keys", len(f.KV))
	}
	if u, ok := f.Uint("u16"); !ok || u != 60000 {
		t.Errorf("Uint(u16) = %d, %v", u, ok)
	}
	if _, ok := f.Uint("i8"); ok {
		t.Errorf("Uint of a negative value should fail")
	}
	if x, ok := f.Float("f32"); !ok || x != 1.5 {
		t.Errorf("Float(f32) = %v", x)
	}
	if s, ok := f.Int32s("i32s"); !ok || !reflect.DeepEqual(s, []int32{1, -2, 3}) {
		t.Errorf("Int32s = %v", s)
	}
	a, ok := f.Tensor("a")
	if !ok || a.Type != tensor.F32 || !reflect.DeepEqual(a.Dims, []int64{3, 2}) || len(a.Data) != 24 {
		t.Fatalf("tensor a = %+v", a)
	}
	b, _ := f.Tensor("b")
	if b.Offset%f.Alignment != 0 || len(b.Data) != 68 || b.Data[0] != 0x3c {
		t.Errorf("tensor b = offset %d len %d", b.Offset, len(b.Data))
	}
}

// TestTruncated checks that every prefix of a valid file is refused with an
// error, never a panic.
func TestTruncated(t *testing.T) {
	buf := sampleFile(t)
	f, err := Parse(buf)
	if err != nil {
		t.Fatal(err)
	}
	last := f.Tensors[len(f.Tensors)-1]
	end := int(f.DataOffset+last.Offset) + len(last.Data) // the rest is padding
	for n := 0; n < end; n++ {
		if _, err := Parse(buf[:n]); err == nil {
			t.Fatalf("prefix of %d/%d bytes parsed without error", n, len(buf))
		} else if !errors.Is(err, ErrFormat) {
			t.Fatalf("prefix %d: error %v does not wrap ErrFormat", n, err)
		}
	}
}

func TestHostile(t *testing.T) {
	le := func(n uint64, size int) []byte {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(n >> (8 * i))
		}
		return b
	}
	header := func(version uint32, nt, nkv uint64) []byte {
		b := []byte("GGUF")
		b = append(b, le(uint64(version), 4)...)
		b = append(b, le(nt, 8)...)
		return append(b, le(nkv, 8)...)
	}
	kvStr := func(key string) []byte {
		b := le(uint64(len(key)), 8)
		return append(b, key...)
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"bad magic", []byte("GGML\x03\x00\x00\x00"), "bad magic"},
		{"version 1", header(1, 0, 0), "version 1"},
		{"version 9", header(9, 0, 0), "unsupported GGUF version"},
		{"huge kv count", header(3, 0, 1<<62), "metadata count"},
		{"huge tensor count", header(3, 1<<62, 0), "tensor count"},
		{"huge key length", append(append(header(3, 0, 1), le(1<<62, 8)...), make([]byte, 16)...), "metadata key #0"},
		{"unknown value type", append(append(header(3, 0, 1), kvStr("k")...), le(99, 4)...), `key "k": unknown value type 99`},
		{"huge array", append(append(append(header(3, 0, 1), kvStr("arr")...), le(9, 4)...), append(le(8, 4), le(1<<60, 8)...)...), `key "arr": array of`},
		{"bad alignment", append(append(append(header(3, 0, 1), kvStr("general.alignment")...), le(4, 4)...), le(3, 4)...), "power of two"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.data)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestTensorErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(f *TensorInfo)
		want   string
	}{
		{"past end", func(ti *TensorInfo) { ti.Dims = []int64{1 << 20} }, `tensor "a"`},
		{"bad block", func(ti *TensorInfo) { ti.Type = tensor.Q8_0; ti.Dims = []int64{31} }, "whole number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ti := TensorInfo{Name: "a", Type: tensor.F32, Dims: []int64{4}}
			c.mutate(&ti)
			var buf bytes.Buffer
			e := &encoder{w: bufioWriter(&buf)}
			e.raw([]byte(Magic))
			e.u32(3)
			e.u64(1)
			e.u64(0)
			e.str(ti.Name)
			e.u32(uint32(len(ti.Dims)))
			for _, d := range ti.Dims {
				e.u64(uint64(d))
			}
			e.u32(uint32(ti.Type))
			e.u64(0)
			e.pad(32)
			e.raw(make([]byte, 64))
			e.w.Flush()
			_, err := Parse(buf.Bytes())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	w := NewWriter()
	w.Set("general.name", "x")
	w.AddTensor("t", tensor.F32, []int64{2}, make([]byte, 8))
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if s, _ := f.String("general.name"); s != "x" {
		t.Errorf("name = %q", s)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	bad := NewWriter()
	bad.AddTensor("t", tensor.F32, []int64{3}, make([]byte, 8))
	if err := bad.WriteFile(filepath.Join(dir, "bad.gguf")); err == nil || !strings.Contains(err.Error(), `tensor "t"`) {
		t.Errorf("bad tensor size: err = %v", err)
	}
}

// TestFixtureFiles opens every GGUF file in the fixtures and checks it
// against its manifest entry where one exists, and that a rewrite of it
// reads back the same.
func TestFixtureFiles(t *testing.T) {
	root := testenv.FixturesDir()
	var files []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".gguf") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skipf("no GGUF fixtures under %s (set LLMOS_FIXTURES)", root)
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			w := NewWriter()
			w.CopyKV(f)
			for _, ti := range f.Tensors {
				w.AddTensor(ti.Name, ti.Type, ti.Dims, ti.Data)
			}
			var buf bytes.Buffer
			if _, err := w.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			g, err := Parse(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.KV, g.KV) || len(f.Tensors) != len(g.Tensors) {
				t.Fatal("rewritten file differs in metadata or tensor count")
			}
			for i := range f.Tensors {
				a, b := f.Tensors[i], g.Tensors[i]
				if a.Name != b.Name || a.Type != b.Type || !reflect.DeepEqual(a.Dims, b.Dims) || !bytes.Equal(a.Data, b.Data) {
					t.Fatalf("tensor %q differs after rewrite", a.Name)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sampleFile(f))
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			return
		}
		for _, ti := range g.Tensors {
			if int64(len(ti.Data)) > int64(len(data)) {
				t.Fatalf("tensor %q larger than the file", ti.Name)
			}
		}
	})
}

func bufioWriter(b *bytes.Buffer) *bufio.Writer { return bufio.NewWriter(b) }
