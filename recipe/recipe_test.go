package recipe

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/tensor"
)

// fakeTinyStories writes generated stories under TinyStories' file names,
// so the end-to-end test needs no shared data.
func fakeTinyStories(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(42, 42))
	for _, f := range []string{tinyTrain1, tinyTrain2, tinyVal} {
		text := strings.Join(Stories(rng, 300), "\n"+storySep+"\n")
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestTinyRecipe runs every stage at the tiny scale: the pretraining and
// SFT losses fall, the quantized assistant loads and answers through the
// chat loop, the report is complete, and a second run redoes only the
// stages whose output is gone, with the same result.
func TestTinyRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end recipe takes seconds")
	}
	dir := t.TempDir()
	var progress bytes.Buffer
	opts := Options{Dir: dir, Scale: Scales["tiny"], TinyStories: fakeTinyStories(t), Seed: 3, Threads: 2, Progress: &progress}
	r, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}

	if r.Pretrain.LastLoss > r.Pretrain.FirstLoss-0.5 || r.Pretrain.ValLoss > math.Log(float64(r.Vocab)) {
		t.Errorf("pretraining loss %.3f → %.3f (val %.3f, uniform %.3f): not falling", r.Pretrain.FirstLoss, r.Pretrain.LastLoss, r.Pretrain.ValLoss, math.Log(float64(r.Vocab)))
	}
	if r.SFT.LastLoss >= r.SFT.FirstLoss {
		t.Errorf("SFT loss %.3f → %.3f: not falling", r.SFT.FirstLoss, r.SFT.LastLoss)
	}
	sc := Scales["tiny"]
	if r.Pretrain.Steps != sc.Pretrain.Steps || r.TokensSeen["pretrain"] != int64(sc.Pretrain.Steps*sc.Pretrain.Batch*sc.Pretrain.SeqLen) {
		t.Errorf("pretraining: %d steps, %d tokens; want %d steps of %d×%d", r.Pretrain.Steps, r.TokensSeen["pretrain"], sc.Pretrain.Steps, sc.Pretrain.Batch, sc.Pretrain.SeqLen)
	}
	if r.TokensSeen["pretrain"]+r.TokensSeen["sft"]+r.TokensSeen["dpo"] != r.TokensSeen["total"] || r.TokensSeen["reward"] == 0 {
		t.Errorf("tokens seen %v do not add up", r.TokensSeen)
	}
	if r.Arithmetic.Prompts != sc.HeldOut || r.WinRate.Prompts != sc.WinRatePrompts || r.WinRate.Wins+r.WinRate.Ties+r.WinRate.Losses != sc.WinRatePrompts {
		t.Errorf("evaluation sizes: arithmetic %d, win rate %+v", r.Arithmetic.Prompts, r.WinRate)
	}
	if r.Dim != sc.Shape.Dim || r.Layers != sc.Shape.Layers || r.Parameters < 30000 {
		t.Errorf("report shape dim %d, %d layers, %d parameters", r.Dim, r.Layers, r.Parameters)
	}

	e, err := engine.Open(filepath.Join(dir, AssistantFile), engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	quantized := 0
	for _, ti := range e.File.Tensors {
		if ti.Type == tensor.Q8_0 {
			quantized++
		}
	}
	conv, err := e.NewChat("")
	if err == nil {
		_, err = conv.Send(context.Background(), "Hello", engine.Request{MaxTokens: 8}, nil)
	}
	e.Close()
	if err != nil {
		t.Fatalf("chatting with the assistant: %v", err)
	}
	if quantized == 0 {
		t.Errorf("assistant.gguf has no %s tensors", QuantType)
	}

	// Again, with the report gone: only the evaluation runs, greedily,
	// so the report comes out the same.
	if err := os.Remove(filepath.Join(dir, ReportFile)); err != nil {
		t.Fatal(err)
	}
	progress.Reset()
	again, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(progress.String(), "done before"); n != 8 {
		t.Errorf("second run skipped %d stages, want 8:\n%s", n, progress.String())
	}
	if !reflect.DeepEqual(r, again) {
		t.Errorf("re-evaluation differs:\n%+v\n%+v", r, again)
	}
}

func TestRunErrors(t *testing.T) {
	tiny := Scales["tiny"]
	for _, c := range []struct {
		name string
		opts Options
		want string
	}{
		{"no dir", Options{Scale: tiny, TinyStories: t.TempDir()}, "no output directory"},
		{"no scale", Options{Dir: t.TempDir(), TinyStories: t.TempDir()}, "no scale"},
		{"no tinystories", Options{Dir: t.TempDir(), Scale: tiny, TinyStories: t.TempDir()}, "TinyStories"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Run(context.Background(), c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
	if _, err := LookupScale("huge"); err == nil || !strings.Contains(err.Error(), "default, tiny") {
		t.Errorf("LookupScale(huge) = %v", err)
	}
}

func TestDialogue(t *testing.T) {
	tmpl, err := chat.NewTemplate(chat.ChatML)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGenerator(1, nil)
	for range 50 {
		text, err := Dialogue(tmpl, g.Conversation().Messages)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, "<|im_") || !strings.Contains(text, "User: ") || !strings.Contains(text, "Assistant: ") {
			t.Fatalf("dialogue %q", text)
		}
	}
}
