package recipe

import (
	"fmt"
	"sort"
	"strings"

	"github.com/llmos/llmos/convert"
)

// StageConfig is one training stage's schedule.
type StageConfig struct {
	Batch  int     // sequences (or pairs) per step
	SeqLen int     // tokens per sequence
	Steps  int     // optimizer steps
	LR     float64 // peak learning rate
	Warmup int     // warmup steps
}

// Scale sizes every stage of the recipe.
type Scale struct {
	Name  string
	Vocab int           // tokenizer vocabulary
	Shape convert.Shape // model shape (its Vocab is set from Vocab)

	// TinyStoriesBytes caps how much of each TinyStories file is used
	// (0: all of it).
	TinyStoriesBytes int64
	Stories          int // generated stories for pretraining
	Dialogues        int // generated conversations, as plain text, for pretraining
	Conversations    int // generated SFT conversations
	Pairs            int // generated preference pairs
	HeldOut          int // held-out arithmetic prompts for evaluation
	WinRatePrompts   int // prompts the DPO and SFT models both answer for the win rate

	Pretrain, SFT, Reward, DPO StageConfig
	DPOBeta                    float64
}

// Scales are the sizes `llmos recipe default --scale` knows: "default"
// builds the assistant that ships with llmos (about 40 minutes on two
// cores); "tiny" runs every stage in seconds, for tests.
var Scales = map[string]Scale{
	"default": {
		Name: "default", Vocab: 4096,
		Shape:   convert.Shape{Dim: 192, Layers: 6, Heads: 6, KVHeads: 6, FFN: 512, Context: 512},
		Stories: 4000, Dialogues: 3000, Conversations: 3000, Pairs: 800, HeldOut: 200, WinRatePrompts: 100,
		Pretrain: StageConfig{Batch: 16, SeqLen: 256, Steps: 500, LR: 2e-3, Warmup: 25},
		SFT:      StageConfig{Batch: 8, SeqLen: 512, Steps: 360, LR: 1.5e-3, Warmup: 20},
		Reward:   StageConfig{Batch: 8, SeqLen: 256, Steps: 50, LR: 3e-4, Warmup: 5},
		DPO:      StageConfig{Batch: 8, SeqLen: 256, Steps: 60, LR: 3e-5, Warmup: 6},
		DPOBeta:  0.1,
	},
	"tiny": {
		Name: "tiny", Vocab: 320, TinyStoriesBytes: 64 << 10,
		Shape:   convert.Shape{Dim: 32, Layers: 2, Heads: 4, KVHeads: 4, FFN: 64, Context: 256},
		Stories: 150, Dialogues: 100, Conversations: 100, Pairs: 40, HeldOut: 10, WinRatePrompts: 6,
		Pretrain: StageConfig{Batch: 4, SeqLen: 128, Steps: 30, LR: 5e-3, Warmup: 3},
		SFT:      StageConfig{Batch: 4, SeqLen: 256, Steps: 8, LR: 3e-3, Warmup: 2},
		Reward:   StageConfig{Batch: 4, SeqLen: 128, Steps: 6, LR: 1e-3, Warmup: 1},
		DPO:      StageConfig{Batch: 4, SeqLen: 128, Steps: 6, LR: 1e-3, Warmup: 1},
		DPOBeta:  0.1,
	},
}

// ScaleNames lists Scales in sorted order, for help and errors.
func ScaleNames() []string {
	names := make([]string, 0, len(Scales))
	for n := range Scales {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupScale returns the scale called name.
func LookupScale(name string) (Scale, error) {
	s, ok := Scales[name]
	if !ok {
		return Scale{}, fmt.Errorf("recipe: unknown scale %q (known: %s)", name, strings.Join(ScaleNames(), ", "))
	}
	return s, nil
}
