package label

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/llmos/llmos/arena"
	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/internal/testenv"
	"github.com/llmos/llmos/internal/testmodel"
)

// rewardModelFrom writes a copy of the model at path with a reward head,
// fixed but arbitrary, so the copy scores answers.
func rewardModelFrom(t *testing.T, path string) string {
	return testmodel.WithRewardHead(t, path, arena.RewardHeadName, func(i int) float32 { return float32(math.Sin(float64(i) * 1.7)) })
}

// TestWithFixtureModels labels a prompt with each fixture model sampling
// the answers and a reward model made from it ranking them.
func TestWithFixtureModels(t *testing.T) {
	for _, path := range testenv.FixtureFiles(t, "llama", "models", "*.gguf") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if st, err := os.Stat(path); testing.Short() && err == nil && st.Size() > 4<<20 {
				t.Skip("-short: only the small fixture models")
			}
			e, err := engine.Open(path, engine.Options{Threads: 2, Context: 128})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			req := engine.Request{MaxTokens: 8}
			req.Sampling.Temperature = 1
			req.Sampling.Seed = 7
			gen, err := NewEngineGenerator(e, req)
			if err != nil {
				t.Fatal(err)
			}
			const prompt = "Once upon a time"
			first, err := gen.Generate(context.Background(), prompt, 3)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := gen.Generate(context.Background(), prompt, 3)
			if len(first) != 3 || !slices.Equal(first, again) {
				t.Fatalf("answers %q, then %q: want the same 3", first, again)
			}
			re, err := engine.Open(rewardModelFrom(t, path), engine.Options{Threads: 2, Context: 128})
			if err != nil {
				t.Fatal(err)
			}
			defer re.Close()
			rm, err := arena.NewRewardModel(re)
			if err != nil {
				t.Fatal(err)
			}
			l, sft, prefs := newLabeller(t, []string{prompt}, gen, &Options{K: 3, Scorer: rm})
			it, err := l.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for i, a := range it.Answers {
				want, err := rm.Score(context.Background(), prompt, a.Text)
				if err != nil || a.Score == nil || *a.Score != want {
					t.Errorf("answer %d %q: score %v, the reward model says %v (%v)", i, a.Text, a.Score, want, err)
				}
				if i > 0 && *a.Score > *it.Answers[i-1].Score {
					t.Errorf("answer %d outscores the one above it", i)
				}
			}
			// Random fixture weights may well write nothing at all.
			best := slices.IndexFunc(it.Answers, func(a Answer) bool { return a.Text != "" })
			d := Decision{Ranking: []int{best}}
			pairs := len(it.Answers) - 1
			if best < 0 {
				d, pairs = Decision{Text: "The end."}, len(it.Answers)
			}
			if _, err := l.Decide(0, prompt, d); err != nil {
				t.Fatal(err)
			}
			if n := checkJSONL(t, sft); n != 1 || !strings.Contains(readFile(t, sft), `"role":"assistant"`) {
				t.Errorf("%d SFT lines", n)
			}
			if n := checkJSONL(t, prefs); n != pairs {
				t.Errorf("%d preference pairs for %d distinct answers", n, len(it.Answers))
			}
		})
	}
}
