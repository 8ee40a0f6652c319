package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tiny is a configuration small enough for finite differences, with grouped
// heads (4 query heads on 2 kv heads) like the real ones.
var tiny = Config{Dim: 16, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 4, Hidden: 24, Vocab: 13, SeqLen: 6, NormEps: 1e-5, RopeBase: 10000}

// tinyModel returns a tiny model with weights large enough (std 0.3, norm
// gains around 1) that every gradient is far above float32 round-off.
func tinyModel(t testing.TB, seed uint64) *Model {
	t.Helper()
	m, err := New(tiny, LMHead)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	for _, ten := range m.Params.Tensors {
		for i := range ten.Data {
			if ten.Decay() {
				ten.Data[i] = float32(0.3 * r.NormFloat64())
			} else {
				ten.Data[i] = float32(1 + 0.2*r.NormFloat64())
			}
		}
	}
	return m
}

// tinyBatch returns B sequences of random tokens whose targets include
// ignored positions.
func tinyBatch(B int, seed uint64) Batch {
	r := rand.New(rand.NewPCG(seed, 2))
	n := B * tiny.SeqLen
	b := Batch{Tokens: make([]int32, n), Targets: make([]int32, n)}
	for i := range n {
		b.Tokens[i] = int32(r.IntN(tiny.Vocab))
		b.Targets[i] = int32(r.IntN(tiny.Vocab))
		if i%5 == 1 {
			b.Targets[i] = -1
		}
	}
	return b
}

// TestGradientFiniteDifference compares, tensor by tensor, the analytic
// directional derivative g·d with a central difference of the loss along a
// random direction d inside that tensor.
func TestGradientFiniteDifference(t *testing.T) {
	m := tinyModel(t, 7)
	batch := tinyBatch(2, 8)
	ws, err := m.NewWorkspace(2, tiny.SeqLen, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.LMGradients(ws, []Batch{batch}); err != nil {
		t.Fatal(err)
	}
	grads := append([]float32(nil), m.Grads.Data...)
	loss := func() float64 {
		if err := m.Forward(ws, batch.Tokens); err != nil {
			t.Fatal(err)
		}
		s, n, err := ws.CrossEntropy(batch.Targets, 1)
		if err != nil {
			t.Fatal(err)
		}
		return s / float64(n)
	}
	r := rand.New(rand.NewPCG(9, 9))
	const h = 1e-3
	off := 0
	for _, ten := range m.Params.Tensors {
		dir := make([]float32, len(ten.Data))
		var analytic float64
		for i := range dir {
			dir[i] = float32(r.NormFloat64())
			analytic += float64(dir[i]) * float64(grads[off+i])
		}
		orig := append([]float32(nil), ten.Data...)
		for i := range dir {
			ten.Data[i] = orig[i] + h*dir[i]
		}
		plus := loss()
		for i := range dir {
			ten.Data[i] = orig[i] - h*dir[i]
		}
		minus := loss()
		copy(ten.Data, orig)
		numeric := (plus - minus) / (2 * h)
		if math.Abs(numeric-analytic) > 1e-2*math.Abs(analytic)+2e-3 {
			t.Errorf("%s: finite difference %.6g, gradient gives %.6g", ten.Name, numeric, analytic)
		}
		off += len(ten.Data)
	}
}

// TestGradientAccumulation: micro-batches of one sequence each accumulate to
// the gradient and loss of the whole batch.
func TestGradientAccumulation(t *testing.T) {
	const B = 3
	m := tinyModel(t, 3)
	full := tinyBatch(B, 4)
	ws, err := m.NewWorkspace(B, tiny.SeqLen, 2)
	if err != nil {
		t.Fatal(err)
	}
	wantLoss, err := m.LMGradients(ws, []Batch{full})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]float32(nil), m.Grads.Data...)

	ws1, err := m.NewWorkspace(1, tiny.SeqLen, 1)
	if err != nil {
		t.Fatal(err)
	}
	var micro []Batch
	T := tiny.SeqLen
	for b := range B {
		micro = append(micro, Batch{Tokens: full.Tokens[b*T : (b+1)*T], Targets: full.Targets[b*T : (b+1)*T]})
	}
	loss, err := m.LMGradients(ws1, micro)
	if err != nil {
		t.Fatal(err)
	}
	if relErr(loss, wantLoss) > 1e-6 {
		t.Errorf("accumulated loss %.8g, full batch %.8g", loss, wantLoss)
	}
	if e := relMax(m.Grads.Data, want); e > 1e-5 {
		t.Errorf("accumulated gradient differs from the full batch's: rel_max %.3g", e)
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{Peak: 1e-3, Min: 1e-4, Warmup: 10, Total: 110}
	for _, tc := range []struct {
		step int
		want float64
	}{
		{1, 1e-4}, {5, 5e-4}, {10, 1e-3}, {60, 5.5e-4}, {110, 1e-4}, {500, 1e-4},
		{35, 1e-4 + 0.5*(1+math.Cos(math.Pi/4))*9e-4},
	} {
		if got := s.LR(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("LR(%d) = %g, want %g", tc.step, got, tc.want)
		}
	}
	if got := (Schedule{Peak: 2, Min: 1, Total: 10}).LR(0); got != 2 {
		t.Errorf("without warmup LR(0) = %g, want the peak 2", got)
	}
}

func TestClipCoef(t *testing.T) {
	for _, tc := range []struct{ norm, max, want float64 }{
		{0.5, 1, 1}, {1, 1, 1 / (1 + 1e-6)}, {4, 1, 1 / (4 + 1e-6)}, {3, 2, 2 / (3 + 1e-6)}, {0, 1, 1},
	} {
		if got := ClipCoef(tc.norm, tc.max); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("ClipCoef(%g, %g) = %g, want %g", tc.norm, tc.max, got, tc.want)
		}
	}
	p := newParams(tiny, LMHead)
	for i := range p.Data {
		p.Data[i] = 0.5
	}
	if got, want := GradNorm(p), 0.5*math.Sqrt(float64(len(p.Data))); math.Abs(got-want) > 1e-9*want {
		t.Errorf("GradNorm = %g, want %g", got, want)
	}
}

// TestAdamWDecayGroups: with a zero gradient only weight decay moves the
// parameters, and only the 2-D ones.
func TestAdamWDecayGroups(t *testing.T) {
	m := tinyModel(t, 5)
	before := append([]float32(nil), m.Params.Data...)
	opt := NewAdamW(m.Params, 0.9, 0.95, 1e-8, 0.1)
	if err := opt.Update(m.Params, m.Grads, 0.01, 1); err != nil {
		t.Fatal(err)
	}
	off := 0
	for _, ten := range m.Params.Tensors {
		for i, v := range ten.Data {
			want := before[off+i]
			if ten.Decay() {
				want = float32(float64(want) * (1 - 0.01*0.1))
			}
			if v != want {
				t.Fatalf("%s[%d] = %g after a zero-gradient step, want %g", ten.Name, i, v, want)
			}
		}
		off += len(ten.Data)
	}
	if opt.Step != 1 {
		t.Errorf("Step = %d after one update", opt.Step)
	}
	small := newParams(Config{Dim: 2, Layers: 1, Heads: 1, KVHeads: 1, HeadDim: 2, Hidden: 2, Vocab: 2, SeqLen: 1, NormEps: 1, RopeBase: 1}, LMHead)
	if err := opt.Update(small, small, 0.01, 1); err == nil {
		t.Error("Update with parameters of another shape: no error")
	}
}

func TestInit(t *testing.T) {
	a, _ := New(tiny, LMHead)
	b, _ := New(tiny, LMHead)
	a.Init(42)
	b.Init(42)
	for i := range a.Params.Data {
		if a.Params.Data[i] != b.Params.Data[i] {
			t.Fatal("Init with the same seed gave different parameters")
		}
	}
	for _, ten := range a.Params.Tensors {
		var s, s2 float64
		for _, v := range ten.Data {
			s += float64(v)
			s2 += float64(v) * float64(v)
		}
		n := float64(len(ten.Data))
		mean, std := s/n, math.Sqrt(s2/n-(s/n)*(s/n))
		switch {
		case !ten.Decay():
			if mean != 1 || std != 0 {
				t.Errorf("%s: norm gains mean %g std %g, want all 1", ten.Name, mean, std)
			}
		case strings.HasSuffix(ten.Name, "attn_output.weight") || strings.HasSuffix(ten.Name, "ffn_down.weight"):
			if want := 0.02 / math.Sqrt(2*float64(tiny.Layers)); math.Abs(std-want) > 0.3*want {
				t.Errorf("%s: std %g, want about %g", ten.Name, std, want)
			}
		default:
			if math.Abs(std-0.02) > 0.006 {
				t.Errorf("%s: std %g, want about 0.02", ten.Name, std)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	bad := tiny
	bad.KVHeads = 3
	odd := tiny
	odd.HeadDim = 3
	zero := tiny
	zero.Vocab = 0
	for _, c := range []Config{bad, odd, zero} {
		if _, err := New(c, LMHead); err == nil {
			t.Errorf("New(%+v): no error", c)
		}
	}
	m := tinyModel(t, 1)
	if _, err := m.NewWorkspace(1, tiny.SeqLen+1, 1); err == nil {
		t.Error("workspace longer than SeqLen: no error")
	}
	ws, err := m.NewWorkspace(1, tiny.SeqLen, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		tokens  []int32
		targets []int32
	}{
		{"short", make([]int32, tiny.SeqLen-1), make([]int32, tiny.SeqLen)},
		{"token out of vocabulary", []int32{0, 1, 2, 3, 4, int32(tiny.Vocab)}, make([]int32, tiny.SeqLen)},
		{"negative token", []int32{0, 1, -2, 3, 4, 5}, make([]int32, tiny.SeqLen)},
		{"target out of vocabulary", make([]int32, tiny.SeqLen), []int32{0, 0, 0, 0, 0, int32(tiny.Vocab)}},
		{"short targets", make([]int32, tiny.SeqLen), make([]int32, 2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := m.LMGradients(ws, []Batch{{Tokens: tc.tokens, Targets: tc.targets}}); err == nil {
				t.Error("no error")
			}
		})
	}
	allIgnored := Batch{Tokens: make([]int32, tiny.SeqLen), Targets: []int32{-1, -1, -1, -1, -1, -1}}
	if _, err := m.LMGradients(ws, []Batch{allIgnored}); err == nil {
		t.Error("batch without scored positions: no error")
	}
	other, _ := New(Config{Dim: 8, Layers: 1, Heads: 2, KVHeads: 1, HeadDim: 4, Hidden: 8, Vocab: 5, SeqLen: 6, NormEps: 1e-5, RopeBase: 1e4}, LMHead)
	if err := other.Forward(ws, make([]int32, tiny.SeqLen)); err == nil {
		t.Error("forward with another model's workspace: no error")
	}
}

// benchConfigs are the two shapes of llama2.c's TinyStories models.
var benchConfigs = []struct {
	name string
	cfg  Config
	B, T int
}{
	{"stories260K", Config{Dim: 64, Layers: 5, Heads: 8, KVHeads: 4, HeadDim: 8, Hidden: 172, Vocab: 512, SeqLen: 512, NormEps: 1e-5, RopeBase: 10000}, 8, 512},
	{"stories15M", Config{Dim: 288, Layers: 6, Heads: 6, KVHeads: 6, HeadDim: 48, Hidden: 768, Vocab: 32000, SeqLen: 256, NormEps: 1e-5, RopeBase: 10000}, 8, 256},
}

// BenchmarkTrainStep times one optimizer step: forward, cross-entropy,
// backward, gradient norm and AdamW, on random tokens.
func BenchmarkTrainStep(b *testing.B) {
	for _, bc := range benchConfigs {
		b.Run(fmt.Sprintf("%s/B%dT%d", bc.name, bc.B, bc.T), func(b *testing.B) {
			m, err := New(bc.cfg, LMHead)
			if err != nil {
				b.Fatal(err)
			}
			m.Init(1)
			ws, err := m.NewWorkspace(bc.B, bc.T, 0)
			if err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			n := bc.B * bc.T
			batch := Batch{Tokens: make([]int32, n), Targets: make([]int32, n)}
			for i := range n {
				batch.Tokens[i] = int32(r.IntN(bc.cfg.Vocab))
				batch.Targets[i] = int32(r.IntN(bc.cfg.Vocab))
			}
			opt := NewAdamW(m.Params, 0.9, 0.95, 1e-8, 0.1)
			cpu0 := cpuSeconds()
			for b.Loop() {
				if _, err := m.LMGradients(ws, []Batch{batch}); err != nil {
					b.Fatal(err)
				}
				coef := ClipCoef(GradNorm(m.Grads), 1)
				if err := opt.Update(m.Params, m.Grads, 1e-3, float32(coef)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			// On a shared machine wall time depends on the neighbours; process
			// CPU time per thread is what bench_torch.py reports then too.
			cpu := (cpuSeconds() - cpu0) / float64(runtime.GOMAXPROCS(0))
			b.ReportMetric(float64(n)*float64(b.N)/cpu, "tokens/cpu-s")
		})
	}
}

func TestPairsErrors(t *testing.T) {
	lm := tinyModel(t, 1)
	rm, err := New(tiny, RewardHead)
	if err != nil {
		t.Fatal(err)
	}
	T := tiny.SeqLen
	ok := Pairs{
		Chosen:    Batch{Tokens: make([]int32, T), Targets: []int32{-1, -1, 1, 2, -1, -1}},
		Rejected:  Batch{Tokens: make([]int32, T), Targets: []int32{-1, -1, 3, -1, -1, -1}},
		ChosenLen: []int{4}, RejectedLen: []int{3},
	}
	ws2, _ := rm.NewWorkspace(2, T, 1)
	if _, err := rm.RewardGradients(ws2, ok); err != nil {
		t.Fatalf("valid pairs: %v", err)
	}
	odd, _ := rm.NewWorkspace(3, T, 1)
	long := ok
	long.ChosenLen = []int{T + 1}
	missing := ok
	missing.RejectedLen = nil
	short := ok
	short.Rejected.Tokens = make([]int32, T-1)
	for _, tc := range []struct {
		name  string
		ws    *Workspace
		pairs Pairs
	}{{"odd batch", odd, ok}, {"length past T", ws2, long}, {"missing lengths", ws2, missing}, {"short sequence", ws2, short}} {
		if _, err := rm.RewardGradients(tc.ws, tc.pairs); err == nil {
			t.Errorf("reward, %s: no error", tc.name)
		}
	}
	wsLM, _ := lm.NewWorkspace(2, T, 1)
	if _, err := lm.RewardGradients(wsLM, ok); err == nil {
		t.Error("reward gradients of a model with an LM head: no error")
	}
	unscored := ok
	unscored.Chosen.Targets, unscored.Rejected.Targets = make([]int32, T), make([]int32, T)
	for i := range T {
		unscored.Chosen.Targets[i], unscored.Rejected.Targets[i] = -1, -1
	}
	if _, err := DPOGradients(lm, lm, wsLM, unscored, 0.1); err == nil {
		t.Error("dpo without scored tokens: no error")
	}
	// A policy identical to its reference has zero implicit rewards: loss log 2.
	res, err := DPOGradients(lm, lm, wsLM, ok, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.Loss-math.Ln2) > 1e-12 || res.ChosenRewards[0] != 0 || res.RejectedRewards[0] != 0 {
		t.Errorf("dpo of a model against itself: loss %g (want ln 2), rewards %g %g (want 0)",
			res.Loss, res.ChosenRewards[0], res.RejectedRewards[0])
	}
}

// cpuSeconds is the user and system CPU time of the process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
