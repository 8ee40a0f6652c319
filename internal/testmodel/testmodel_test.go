package testmodel

import (
	"testing"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/internal/testenv"
)

func TestWithRewardHead(t *testing.T) {
	src := testenv.Fixtures(t, "llama", "models", "llama2c-260K.f32.gguf")
	out := WithRewardHead(t, src, "reward_head.weight", func(i int) float32 { return float32(i) })
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ti, ok := f.Tensor("reward_head.weight")
	if !ok || ti.Dims[0] != 64 || ti.Dims[1] != 1 || ti.Data[4] != 0 || ti.Data[7] != 0x3f {
		t.Fatalf("head %+v", ti)
	}
	if _, ok := f.Tensor("output.weight"); !ok {
		t.Error("the model's tensors were not copied")
	}
}
