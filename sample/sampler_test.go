package sample

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/llmos/llmos/internal/testenv"
)

// logitsOf returns log(p) for each probability, so the tests can state the
// distributions they mean in probabilities.
func logitsOf(p ...float64) []float32 {
	l := make([]float32, len(p))
	for i, v := range p {
		l[i] = float32(math.Log(v))
	}
	return l
}

// survivors returns the sorted ids the filters keep.
func survivors(s *Sampler, logits []float32, history []int32) []int32 {
	var ids []int32
	for _, c := range s.filter(s.prepare(logits, history)) {
		ids = append(ids, c.id)
	}
	slices.Sort(ids)
	return ids
}

// reference is the sampler chain written the slow, obvious way: penalized
// logits fully sorted, then each filter as llama.cpp describes it. It
// returns the surviving ids and their probabilities after temperature.
func reference(p Params, l []float32) ([]int32, []float64) {
	c := make([]candidate, len(l))
	for i, v := range l {
		c[i] = candidate{int32(i), v}
	}
	slices.SortFunc(c, byRank)
	if p.TopK > 0 && p.TopK < len(c) {
		c = c[:p.TopK]
	}
	if p.TopP < 1 {
		z := 0.0
		for _, x := range c {
			z += math.Exp(float64(x.logit))
		}
		cum := 0.0
		for i, x := range c {
			cum += math.Exp(float64(x.logit)) / z
			if cum >= float64(p.TopP) {
				c = c[:i+1]
				break
			}
		}
	}
	if p.MinP > 0 {
		pmax := math.Exp(float64(c[0].logit))
		n := 1
		for n < len(c) && math.Exp(float64(c[n].logit)) >= float64(p.MinP)*pmax {
			n++
		}
		c = c[:n]
	}
	ids := make([]int32, len(c))
	probs := make([]float64, len(c))
	z := 0.0
	for i, x := range c {
		ids[i] = x.id
		probs[i] = math.Exp(float64(x.logit) / float64(p.Temperature))
		z += probs[i]
	}
	for i := range probs {
		probs[i] /= z
	}
	return ids, probs
}

func TestGreedy(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	tests := []struct {
		name   string
		temp   float32
		logits []float32
		want   int32
	}{
		{"single max", 0, []float32{0.1, 3, -1, 2.9}, 1},
		{"tie lowest id wins", 0, []float32{1, 5, 2, 5, 5}, 1},
		{"all equal", 0, []float32{7, 7, 7}, 0},
		{"negative temperature", -1, []float32{-3, -2, -1, -2}, 2},
		{"nan never wins", 0, []float32{nan, -5, nan}, 1},
		{"plus inf wins", 0, []float32{3, inf, 2}, 1},
		{"all nan", 0, []float32{nan, nan}, 0},
		{"empty", 0, nil, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultParams()
			p.Temperature = tc.temp
			if got := New(p, len(tc.logits)).Sample(tc.logits, nil); got != tc.want {
				t.Errorf("Sample = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestFilters(t *testing.T) {
	// ids 0..5 have probabilities 0.05, 0.4, 0.1, 0.3, 0.15, 0 (-Inf logit).
	logits := logitsOf(0.05, 0.4, 0.1, 0.3, 0.15, 0)
	off := Params{Temperature: 1, TopP: 1}
	with := func(f func(*Params)) Params { p := off; f(&p); return p }
	tests := []struct {
		name string
		p    Params
		want []int32
	}{
		{"none", off, []int32{0, 1, 2, 3, 4, 5}},
		{"top-k 1", with(func(p *Params) { p.TopK = 1 }), []int32{1}},
		{"top-k 2", with(func(p *Params) { p.TopK = 2 }), []int32{1, 3}},
		{"top-k 4", with(func(p *Params) { p.TopK = 4 }), []int32{1, 2, 3, 4}},
		{"top-k above vocab", with(func(p *Params) { p.TopK = 100 }), []int32{0, 1, 2, 3, 4, 5}},
		{"top-p 0.3", with(func(p *Params) { p.TopP = 0.3 }), []int32{1}},
		{"top-p 0.6", with(func(p *Params) { p.TopP = 0.6 }), []int32{1, 3}},
		{"top-p 0.8", with(func(p *Params) { p.TopP = 0.8 }), []int32{1, 3, 4}},
		{"top-p 0.9", with(func(p *Params) { p.TopP = 0.9 }), []int32{1, 2, 3, 4}},
		{"top-p 0 keeps one", with(func(p *Params) { p.TopP = 0 }), []int32{1}},
		{"min-p 0.3", with(func(p *Params) { p.MinP = 0.3 }), []int32{1, 3, 4}},
		{"min-p 0.2", with(func(p *Params) { p.MinP = 0.2 }), []int32{1, 2, 3, 4}},
		{"min-p 0.1", with(func(p *Params) { p.MinP = 0.1 }), []int32{0, 1, 2, 3, 4}},
		{"min-p 1", with(func(p *Params) { p.MinP = 1 }), []int32{1}},
		// Top-p after top-k renormalizes over the 3 kept: 0.4/0.85 < 0.5 <= 0.7/0.85.
		{"top-k 3 then top-p 0.5", with(func(p *Params) { p.TopK = 3; p.TopP = 0.5 }), []int32{1, 3}},
		{"top-p 0.9 then min-p 0.3", with(func(p *Params) { p.TopP = 0.9; p.MinP = 0.3 }), []int32{1, 3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := survivors(New(tc.p, len(logits)), logits, nil)
			if !slices.Equal(got, tc.want) {
				t.Errorf("survivors = %v, want %v", got, tc.want)
			}
			ids, _ := reference(tc.p, logits)
			slices.Sort(ids)
			if !slices.Equal(ids, tc.want) {
				t.Errorf("reference survivors = %v, want %v (test table is wrong)", ids, tc.want)
			}
		})
	}
}

// TestFiltersMatchReference checks the partial-selection paths against the
// full-sort reference on random vocabularies, including many ties.
func TestFiltersMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := 1 + rng.IntN(3000)
		l := make([]float32, n)
		scale := float32(rng.IntN(4) + 1)
		for i := range l {
			l[i] = float32(rng.NormFloat64()) * scale
			if trial%3 == 0 {
				l[i] = float32(math.Round(float64(l[i]))) // ties
			}
		}
		p := Params{
			Temperature: 1,
			TopK:        []int{0, 1, 5, 40, 1000}[rng.IntN(5)],
			TopP:        []float32{1, 0.5, 0.9, 0.95, 0.999}[rng.IntN(5)],
			MinP:        []float32{0, 0.01, 0.05, 0.5}[rng.IntN(4)],
		}
		got := survivors(New(p, n), l, nil)
		want, _ := reference(p, l)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (n=%d, %+v): %d survivors, reference %d", trial, n, p, len(got), len(want))
		}
	}
}

// TestDistribution draws many tokens and checks the frequencies against the
// reference distribution with a chi-square bound. The seed is fixed, so the
// test is deterministic; the bound (p = 0.001) is loose enough to pass for
// any correct sampler, tight enough that a wrong temperature or filter fails.
func TestDistribution(t *testing.T) {
	logits := logitsOf(0.05, 0.4, 0.1, 0.3, 0.15, 0.02, 0.07)
	tests := []struct {
		name string
		p    Params
	}{
		{"temperature 1", Params{Temperature: 1, TopP: 1}},
		{"temperature 0.5", Params{Temperature: 0.5, TopP: 1}},
		{"temperature 2 top-k 4", Params{Temperature: 2, TopK: 4, TopP: 1}},
		{"top-p 0.9 min-p 0.2", Params{Temperature: 0.8, TopP: 0.9, MinP: 0.2}},
		{"defaults", DefaultParams()},
	}
	// 0.999 quantiles of chi-square with df = 1..7 degrees of freedom.
	crit := []float64{10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32}
	const draws = 20000
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.Seed = 42
			ids, probs := reference(tc.p, logits)
			s := New(tc.p, len(logits))
			counts := map[int32]int{}
			for range draws {
				counts[s.Sample(logits, nil)]++
			}
			chi := 0.0
			for i, id := range ids {
				e := probs[i] * draws
				d := float64(counts[id]) - e
				chi += d * d / e
				delete(counts, id)
			}
			if len(counts) > 0 {
				t.Fatalf("drew filtered-out ids %v", counts)
			}
			if df := len(ids) - 1; df > 0 && chi > crit[df-1] {
				t.Errorf("chi-square %.2f > %.2f (df %d): frequencies do not follow %v over %v", chi, crit[df-1], df, probs, ids)
			}
		})
	}
}

func TestSeedDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	logits := make([]float32, 500)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64())
	}
	run := func(seed uint64) []int32 {
		p := DefaultParams()
		p.Seed = seed
		p.TopK = 0
		p.MinP = 0
		s := New(p, len(logits))
		out := make([]int32, 200)
		for i := range out {
			out[i] = s.Sample(logits, out[:i])
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.Equal(a, b) {
		t.Error("same seed gave different sequences")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds gave the same sequence")
	}
}

func TestPenalties(t *testing.T) {
	logits := []float32{2, -2, 1, 0.5, 0, 3}
	tests := []struct {
		name    string
		p       Params
		history []int32
		want    []float32
	}{
		{
			name:    "repeat divides positive, multiplies non-positive",
			p:       Params{RepeatPenalty: 2, RepeatLastN: 64},
			history: []int32{0, 1, 4, 0},
			want:    []float32{1, -4, 1, 0.5, 0, 3},
		},
		{
			name:    "frequency and presence",
			p:       Params{RepeatPenalty: 1, FrequencyPenalty: 0.5, PresencePenalty: 0.25, RepeatLastN: 64},
			history: []int32{2, 2, 2, 3},
			want:    []float32{2, -2, 1 - 1.5 - 0.25, 0.5 - 0.5 - 0.25, 0, 3},
		},
		{
			name:    "all three",
			p:       Params{RepeatPenalty: 1.25, FrequencyPenalty: 0.1, PresencePenalty: 1, RepeatLastN: -1},
			history: []int32{1, 5, 5},
			want:    []float32{2, -2.5 - 0.1 - 1, 1, 0.5, 0, 2.4 - 0.2 - 1},
		},
		{
			name:    "window keeps the last N",
			p:       Params{RepeatPenalty: 2, RepeatLastN: 2},
			history: []int32{0, 2, 5, 5},
			want:    []float32{2, -2, 1, 0.5, 0, 1.5},
		},
		{
			name:    "window 0 disables",
			p:       Params{RepeatPenalty: 2, PresencePenalty: 1, RepeatLastN: 0},
			history: []int32{0, 1, 2},
			want:    []float32{2, -2, 1, 0.5, 0, 3},
		},
		{
			name:    "out of range ids ignored",
			p:       Params{PresencePenalty: 1, RepeatLastN: 64},
			history: []int32{-1, 6, 1 << 30, 3},
			want:    []float32{2, -2, 1, -0.5, 0, 3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.p, len(logits))
			got := slices.Clone(s.prepare(logits, tc.history))
			for i := range got {
				if math.Abs(float64(got[i]-tc.want[i])) > 1e-6 {
					t.Fatalf("penalized = %v, want %v", got, tc.want)
				}
			}
			if logits[0] != 2 || logits[1] != -2 {
				t.Fatal("Sample's input logits were modified")
			}
			// The counts must be clean for the next call.
			if again := s.prepare(logits, nil); !slices.Equal(again, logits) {
				t.Errorf("penalties leaked into a call without history: %v", again)
			}
		})
	}
}

func TestPenaltyChangesGreedyChoice(t *testing.T) {
	p := Params{RepeatPenalty: 1.5, RepeatLastN: 64}
	s := New(p, 3)
	if got := s.Sample([]float32{3, 2.5, 1}, []int32{0}); got != 1 {
		t.Errorf("greedy with repeated token 0 penalized chose %d, want 1", got)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		ok   bool
	}{
		{"defaults", DefaultParams(), true},
		{"zero value", Params{}, true},
		{"negative top-k", Params{TopK: -1}, false},
		{"negative top-p", Params{TopP: -0.1}, false},
		{"min-p above 1", Params{MinP: 1.5}, false},
		{"nan temperature", Params{Temperature: float32(math.NaN())}, false},
		{"negative repeat penalty", Params{RepeatPenalty: -1}, false},
		{"window below -1", Params{RepeatLastN: -2}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestSampleDoesNotAllocate(t *testing.T) {
	logits := randomLogits(32000)
	history := []int32{1, 2, 3, 4, 5, 1, 2, 3}
	topKOff := DefaultParams()
	topKOff.TopK = 0
	penalized := DefaultParams()
	penalized.RepeatPenalty, penalized.FrequencyPenalty = 1.1, 0.2
	for name, p := range map[string]Params{"defaults": DefaultParams(), "no top-k": topKOff, "penalties": penalized} {
		s := New(p, len(logits))
		if n := testing.AllocsPerRun(20, func() { s.Sample(logits, history) }); n != 0 {
			t.Errorf("%s: %v allocations per Sample", name, n)
		}
	}
}

func randomLogits(n int) []float32 {
	rng := rand.New(rand.NewPCG(3, 4))
	l := make([]float32, n)
	for i := range l {
		l[i] = float32(rng.NormFloat64() * 3)
	}
	return l
}

func readLogits(t testing.TB, path string) []float32 {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l := make([]float32, len(b)/4)
	for i := range l {
		l[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return l
}

// TestFixtureLogits checks greedy sampling and top-10 logprobs against what
// llama.cpp reported for real logits vectors (32k and 128k vocabularies).
func TestFixtureLogits(t *testing.T) {
	for _, path := range testenv.FixtureFiles(t, "llama", "refs", "*", "*.logits.f32") {
		name := filepath.Base(filepath.Dir(path)) + "/" + strings.TrimSuffix(filepath.Base(path), ".logits.f32")
		t.Run(name, func(t *testing.T) {
			logits := readLogits(t, path)
			b, err := os.ReadFile(strings.TrimSuffix(path, ".logits.f32") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var ref struct {
				NVocab    int          `json:"n_vocab"`
				Top10     [][2]float64 `json:"logits_top10"`
				GreedyIDs []int32      `json:"greedy_ids"`
			}
			if err := json.Unmarshal(b, &ref); err != nil {
				t.Fatal(err)
			}
			if len(logits) != ref.NVocab {
				t.Fatalf("%d logits, n_vocab %d", len(logits), ref.NVocab)
			}
			if got := New(Params{}, len(logits)).Sample(logits, nil); got != ref.GreedyIDs[0] {
				t.Errorf("greedy = %d, llama.cpp chose %d", got, ref.GreedyIDs[0])
			}
			chosen, top, err := Logprobs(logits, ref.GreedyIDs[0], 10)
			if err != nil {
				t.Fatal(err)
			}
			if chosen != top[0] {
				t.Errorf("chosen %+v is not the most likely %+v", chosen, top[0])
			}
			lse := float64(logits[top[0].ID]) - float64(top[0].Logprob)
			for i, want := range ref.Top10 {
				if top[i].ID != int32(want[0]) {
					t.Errorf("top[%d] = %d, llama.cpp %d", i, top[i].ID, int32(want[0]))
				}
				if got := float64(top[i].Logprob) + lse; math.Abs(got-want[1]) > 1e-5 {
					t.Errorf("top[%d] logit %v, llama.cpp %v", i, got, want[1])
				}
			}
			// The real distribution also exercises the filters.
			for _, p := range []Params{DefaultParams(), {Temperature: 1, TopP: 0.9, MinP: 0.02}} {
				got := survivors(New(p, len(logits)), logits, nil)
				want, _ := reference(p, logits)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%+v: %d survivors, reference %d", p, len(got), len(want))
				}
			}
		})
	}
}

func BenchmarkSample(b *testing.B) {
	topKOff := DefaultParams()
	topKOff.TopK = 0
	penalized := DefaultParams()
	penalized.RepeatPenalty = 1.1
	configs := []struct {
		name string
		p    Params
	}{
		{"greedy", Params{}},
		{"defaults", DefaultParams()},
		{"penalties", penalized},
		{"no-top-k", topKOff},
	}
	history := make([]int32, 64)
	for i := range history {
		history[i] = int32(i * 37)
	}
	for _, n := range []int{32000, 128256} {
		logits := randomLogits(n)
		for _, c := range configs {
			b.Run(c.name+"/"+strconv.Itoa(n), func(b *testing.B) {
				s := New(c.p, n)
				for b.Loop() {
					s.Sample(logits, history)
				}
			})
		}
	}
}
