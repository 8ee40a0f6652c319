// Package bench measures inference speed the way llama.cpp's llama-bench
// does: prompt processing (one batched prefill of n tokens) and text
// generation (n single-token decode steps) in tokens per second, over
// repetitions, reported as llama-bench's markdown table or JSON.
package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/model"
	"github.com/llmos/llmos/tensor"
)

// Options configures Run.
type Options struct {
	Prompt      int // tokens of the prompt-processing test (0: skip it)
	Gen         int // tokens of the generation test (0: skip it)
	Repetitions int // timed runs per test (after one untimed warm-up)
	Threads     int // compute threads; <= 0 means one per core
}

// Result is one test, with llama-bench's JSON field names.
type Result struct {
	BuildCommit string    `json:"build_commit"`
	BuildNumber int       `json:"build_number"`
	CPUInfo     string    `json:"cpu_info"`
	GPUInfo     string    `json:"gpu_info"`
	Backends    string    `json:"backends"`
	ModelFile   string    `json:"model_filename"`
	ModelType   string    `json:"model_type"`
	ModelSize   int64     `json:"model_size"`
	ModelParams int64     `json:"model_n_params"`
	NBatch      int       `json:"n_batch"`
	NUBatch     int       `json:"n_ubatch"`
	Threads     int       `json:"n_threads"`
	TypeK       string    `json:"type_k"`
	TypeV       string    `json:"type_v"`
	NGPULayers  int       `json:"n_gpu_layers"`
	FlashAttn   bool      `json:"flash_attn"`
	UseMmap     bool      `json:"use_mmap"`
	Embeddings  bool      `json:"embeddings"`
	NPrompt     int       `json:"n_prompt"`
	NGen        int       `json:"n_gen"`
	NDepth      int       `json:"n_depth"`
	TestTime    string    `json:"test_time"`
	AvgNs       int64     `json:"avg_ns"`
	StddevNs    int64     `json:"stddev_ns"`
	AvgTs       float64   `json:"avg_ts"`
	StddevTs    float64   `json:"stddev_ts"`
	SamplesNs   []int64   `json:"samples_ns"`
	SamplesTs   []float64 `json:"samples_ts"`
}

// ubatch is how many prompt tokens one Forward call takes, as llama.cpp's
// default n_ubatch (and llmos's engine prefill).
const ubatch = 512

// Run opens the model at path and runs the prompt and generation tests.
// ctx cancels between runs.
func Run(ctx context.Context, path string, o Options) ([]Result, error) {
	if o.Prompt < 0 || o.Gen < 0 || o.Repetitions < 1 {
		return nil, fmt.Errorf("bench: need -p >= 0, -n >= 0 and -r >= 1 (got %d, %d, %d)", o.Prompt, o.Gen, o.Repetitions)
	}
	if o.Prompt == 0 && o.Gen == 0 {
		return nil, fmt.Errorf("bench: nothing to run: -p and -n are both 0")
	}
	e, err := engine.Open(path, engine.Options{Threads: o.Threads, Context: max(o.Prompt, o.Gen, 1)})
	if err != nil {
		return nil, err
	}
	defer e.Close()
	cache, err := e.Model.NewCache(1, max(o.Prompt, o.Gen, 1))
	if err != nil {
		return nil, err
	}
	base := baseResult(e, path)
	t := &tester{runner: e.Model.NewRunner(e.Pool), cache: cache, logits: make([]float32, e.Model.Config.Vocab),
		rng: rand.New(rand.NewPCG(1, 2)), vocab: e.Model.Config.Vocab}
	var out []Result
	for _, test := range []struct {
		n    int
		gen  bool
		body func(int) error
	}{{o.Prompt, false, t.prompt}, {o.Gen, true, t.generate}} {
		if test.n == 0 {
			continue
		}
		r := base
		r.TestTime = time.Now().UTC().Format(time.RFC3339)
		if test.gen {
			r.NGen = test.n
		} else {
			r.NPrompt = test.n
		}
		if err := test.body(min(test.n, 16)); err != nil { // warm-up: page the weights in, start the workers
			return nil, err
		}
		for range o.Repetitions {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			start := time.Now()
			if err := test.body(test.n); err != nil {
				return nil, err
			}
			ns := time.Since(start).Nanoseconds()
			r.SamplesNs = append(r.SamplesNs, ns)
			r.SamplesTs = append(r.SamplesTs, float64(test.n)*1e9/float64(ns))
		}
		r.AvgNs, r.StddevNs = meanSDInt(r.SamplesNs)
		r.AvgTs, r.StddevTs = meanSD(r.SamplesTs)
		out = append(out, r)
	}
	return out, nil
}

// tester runs the two kinds of test on one runner and KV cache; every run
// starts at position 0, overwriting the cache.
type tester struct {
	runner *model.Runner
	cache  *model.Cache
	batch  model.Batch
	logits []float32
	rng    *rand.Rand
	vocab  int
}

// prompt processes n random tokens in batches of ubatch, as llama-bench's
// pp test does, computing only the last token's logits.
func (t *tester) prompt(n int) error {
	for start := 0; start < n; start += ubatch {
		t.batch.Reset()
		for i := start; i < min(start+ubatch, n); i++ {
			t.batch.Add(int32(t.rng.IntN(t.vocab)), i, 0, i == n-1)
		}
		if err := t.runner.Forward(&t.batch, t.cache, t.logits); err != nil {
			return err
		}
	}
	return nil
}

// generate decodes n tokens one at a time, as llama-bench's tg test does
// (random tokens: sampling is not part of the measurement).
func (t *tester) generate(n int) error {
	for i := range n {
		t.batch.Reset()
		t.batch.Add(int32(t.rng.IntN(t.vocab)), i, 0, true)
		if err := t.runner.Forward(&t.batch, t.cache, t.logits); err != nil {
			return err
		}
	}
	return nil
}

// baseResult fills the fields every test of one model shares.
func baseResult(e *engine.Engine, path string) Result {
	var size, params int64
	for i := range e.File.Tensors {
		size += int64(len(e.File.Tensors[i].Data))
		params += e.File.Tensors[i].Elements()
	}
	return Result{
		BuildCommit: "llmos",
		CPUInfo:     cpuName(),
		Backends:    "CPU (" + tensor.Kernels() + ")",
		ModelFile:   path,
		ModelType:   modelType(e, params),
		ModelSize:   size,
		ModelParams: params,
		NBatch:      ubatch,
		NUBatch:     ubatch,
		Threads:     e.Pool.Threads(),
		TypeK:       "f32",
		TypeV:       "f32",
		UseMmap:     true,
	}
}

// modelType is llama.cpp's model description: architecture, size class and
// file type, e.g. "llama 1B Q4_K - Medium".
func modelType(e *engine.Engine, params int64) string {
	size := fmt.Sprintf("%.0fM", float64(params)/1e6)
	if params >= 1e9 {
		size = fmt.Sprintf("%.0fB", math.Round(float64(params)/1e9))
	}
	return fmt.Sprintf("%s %s %s", e.Model.Config.Arch, size, fileTypeName(e))
}

// ftypeNames are llama_model_ftype_name's strings.
var ftypeNames = map[uint64]string{
	0: "all F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
	10: "Q2_K - Medium", 11: "Q3_K - Small", 12: "Q3_K - Medium", 13: "Q3_K - Large",
	14: "Q4_K - Small", 15: "Q4_K - Medium", 16: "Q5_K - Small", 17: "Q5_K - Medium",
	18: "Q6_K", 32: "BF16",
}

func fileTypeName(e *engine.Engine) string {
	ft, ok := e.File.Uint("general.file_type")
	if name, known := ftypeNames[ft]; ok && known {
		return name
	}
	return "?"
}

// cpuName reads the processor's model name on Linux; elsewhere it names
// the architecture.
func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}

// meanSD returns the mean and the sample standard deviation (n-1), as
// llama-bench's avg and stdev.
func meanSD(x []float64) (mean, sd float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	for _, v := range x {
		sd += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(sd / float64(len(x)-1))
}

func meanSDInt(x []int64) (mean, sd int64) {
	f := make([]float64, len(x))
	for i, v := range x {
		f[i] = float64(v)
	}
	m, s := meanSD(f)
	return int64(m), int64(s)
}
