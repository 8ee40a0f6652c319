package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmos/llmos/convert"
	"github.com/llmos/llmos/tensor"
)

// TestRun benchmarks a tiny freshly initialised model and checks the
// results' shape, statistics and both report formats.
func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := convert.Init(path, convert.InitOptions{Shape: convert.Shapes["stories260K"], Type: tensor.Q8_0, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), path, Options{Prompt: 24, Gen: 5, Repetitions: 3, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].NPrompt != 24 || res[0].NGen != 0 || res[1].NGen != 5 || res[1].NPrompt != 0 {
		t.Fatalf("tests %+v", res)
	}
	for _, r := range res {
		if len(r.SamplesTs) != 3 || r.AvgTs <= 0 || r.Threads != 2 || r.ModelParams != 292800 {
			t.Errorf("result %+v", r)
		}
		m, sd := meanSD(r.SamplesTs)
		if math.Abs(m-r.AvgTs) > 1e-9 || math.Abs(sd-r.StddevTs) > 1e-9 {
			t.Errorf("avg_ts %v ± %v, samples give %v ± %v", r.AvgTs, r.StddevTs, m, sd)
		}
	}
	if !strings.HasPrefix(res[0].ModelType, "llama 0M Q8_0") {
		t.Errorf("model_type %q", res[0].ModelType)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	var back []map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"n_prompt", "n_gen", "n_threads", "avg_ts", "stddev_ts", "model_type", "model_size", "model_n_params", "test_time", "samples_ts"} {
		if _, ok := back[0][key]; !ok {
			t.Errorf("JSON lacks %q", key)
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, res); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(md.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[2], "pp24") || !strings.Contains(lines[3], "tg5") || !strings.Contains(lines[1], "--:") {
		t.Errorf("markdown:\n%s", md.String())
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"nothing", Options{Repetitions: 1}},
		{"no reps", Options{Prompt: 8, Repetitions: 0}},
		{"negative", Options{Prompt: -1, Repetitions: 1}},
	}
	for _, tt := range tests {
		if _, err := Run(context.Background(), "/nonexistent.gguf", tt.o); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	if _, err := Run(context.Background(), "/nonexistent.gguf", Options{Prompt: 8, Repetitions: 1}); err == nil {
		t.Error("missing file: no error")
	}
}

func TestMeanSD(t *testing.T) {
	m, sd := meanSD([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if m != 5 || math.Abs(sd-2.138089935) > 1e-6 {
		t.Errorf("meanSD = %v, %v", m, sd)
	}
	if _, sd := meanSD([]float64{3}); sd != 0 {
		t.Errorf("one sample: sd %v", sd)
	}
}
