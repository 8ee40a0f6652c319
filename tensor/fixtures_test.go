package tensor_test

import (
	"bytes"
	"github.com/llmos/llmos/internal/testenv"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
)

func openGGUF(t *testing.T, path string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestQuantizeMatchesLlamaCpp quantizes every tensor of each F16 source model
// with Quantize and compares the bytes with what llama-quantize wrote into the
// sibling models (<stem>.<ftype>.gguf next to <stem>.f16.gguf).
func TestQuantizeMatchesLlamaCpp(t *testing.T) {
	models := filepath.Join(testenv.Fixtures(t), "llama", "models")
	sources, err := filepath.Glob(filepath.Join(models, "*.f16.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) == 0 {
		t.Skipf("no *.f16.gguf source models in %s", models)
	}
	for _, srcPath := range sources {
		stem := strings.TrimSuffix(filepath.Base(srcPath), "f16.gguf")
		siblings, err := filepath.Glob(filepath.Join(models, stem+"*.gguf"))
		if err != nil {
			t.Fatal(err)
		}
		src := openGGUF(t, srcPath)
		for _, path := range siblings {
			if path == srcPath {
				continue
			}
			t.Run(filepath.Base(path), func(t *testing.T) {
				q := openGGUF(t, path)
				checked := 0
				for _, ti := range q.Tensors {
					if ti.Type == tensor.F32 || ti.Type == tensor.F16 {
						continue
					}
					s, ok := src.Tensor(ti.Name)
					if !ok {
						t.Fatalf("%s: tensor %q missing from the source", path, ti.Name)
					}
					checkRequantized(t, s, &ti)
					checked++
				}
				if checked == 0 {
					t.Fatalf("%s has no quantized tensors", path)
				}
			})
		}
	}
}

func checkRequantized(t *testing.T, src, want *gguf.TensorInfo) {
	t.Helper()
	n := int(src.Elements())
	f32 := make([]float32, n)
	if err := tensor.Dequantize(src.Type, src.Data, f32); err != nil {
		t.Fatalf("%s: %v", src.Name, err)
	}
	got := make([]byte, len(want.Data))
	if err := tensor.Quantize(want.Type, f32, got); err != nil {
		t.Fatalf("%s: %v", src.Name, err)
	}
	checkDequantized(t, want, f32)
	if bytes.Equal(got, want.Data) {
		return
	}
	bs := want.Type.TypeSize()
	for i := 0; i < len(got); i += bs {
		if !bytes.Equal(got[i:i+bs], want.Data[i:i+bs]) {
			t.Errorf("%s (%s): block %d of %d differs\n got %x\nwant %x",
				src.Name, want.Type, i/bs, len(got)/bs, got[i:i+bs], want.Data[i:i+bs])
			return
		}
	}
}

// dequantBounds bounds the relative RMS error of llama.cpp's quantized
// tensors against their F16 source; a misread block layout lands far above.
var dequantBounds = map[tensor.Type]float64{
	tensor.Q8_0: 0.01, tensor.Q6_K: 0.03, tensor.Q5_K: 0.06, tensor.Q4_K: 0.12, tensor.Q4_0: 0.15,
}

// checkDequantized decodes llama.cpp's bytes with Dequantize and compares
// them with the source values: the layout check that needs no Quantize.
func checkDequantized(t *testing.T, q *gguf.TensorInfo, src []float32) {
	t.Helper()
	bound, ok := dequantBounds[q.Type]
	if !ok {
		t.Fatalf("%s: no error bound for %s", q.Name, q.Type)
	}
	got := make([]float32, len(src))
	if err := tensor.Dequantize(q.Type, q.Data, got); err != nil {
		t.Fatalf("%s: %v", q.Name, err)
	}
	var num, den float64
	for i, v := range src {
		d := float64(got[i]) - float64(v)
		num += d * d
		den += float64(v) * float64(v)
	}
	if e := math.Sqrt(num / den); e > bound {
		t.Errorf("%s (%s): dequantized relative RMSE %.3g > %.3g", q.Name, q.Type, e, bound)
	}
}
