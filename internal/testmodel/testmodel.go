// Package testmodel builds model files for tests from the shared fixtures.
// It is separate from testenv because it imports gguf, whose own tests use
// testenv.
package testmodel

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
)

// WithRewardHead writes a copy of the model at src with an F32 [1, dim]
// tensor called name whose i-th value is head(i), and returns its path (in
// a temporary folder the test removes).
func WithRewardHead(t testing.TB, src, name string, head func(i int) float32) string {
	t.Helper()
	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := gguf.NewWriter()
	w.CopyKV(f)
	for _, ti := range f.Tensors {
		w.AddTensor(ti.Name, ti.Type, ti.Dims, ti.Data)
	}
	arch, _ := f.String("general.architecture")
	dim, ok := f.Uint(arch + ".embedding_length")
	if !ok {
		t.Fatalf("%s: no %s.embedding_length", src, arch)
	}
	data := make([]byte, 0, 4*dim)
	for i := range int(dim) {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(head(i)))
	}
	w.AddTensor(name, tensor.F32, []int64{int64(dim), 1}, data)
	out := filepath.Join(t.TempDir(), "reward.gguf")
	if err := w.WriteFile(out); err != nil {
		t.Fatal(err)
	}
	return out
}
