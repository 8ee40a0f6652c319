// Package sample turns a vector of logits into the next token id.
//
// The Sampler applies llama.cpp's default sampler chain in the same order:
// repetition/frequency/presence penalties, top-k, top-p, min-p, temperature,
// then a draw from a seeded PRNG. A temperature of zero or less selects the
// most likely token (greedy). The package also holds the helpers a streaming
// generation loop needs around sampling: StopMatcher for stop strings and
// Logprobs for OpenAI-style log-probabilities.
package sample

import (
	"errors"
	"fmt"
	"math"
)

// Params configures a Sampler. The zero value is greedy decoding with no
// penalties; DefaultParams gives llama.cpp's defaults.
type Params struct {
	// Temperature divides the logits before the draw. <= 0 means greedy:
	// the highest logit wins, the lowest id among equal logits.
	Temperature float32
	// TopK keeps only the K most likely tokens; <= 0 disables it.
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability
	// mass reaches TopP (at temperature 1); >= 1 disables it.
	TopP float32
	// MinP drops tokens whose probability is below MinP times that of the
	// most likely token (at temperature 1); <= 0 disables it.
	MinP float32

	// RepeatPenalty divides positive logits and multiplies negative ones of
	// every token seen in the penalty window; 1 (or 0) disables it.
	RepeatPenalty float32
	// FrequencyPenalty is subtracted from a token's logit once per
	// occurrence in the penalty window.
	FrequencyPenalty float32
	// PresencePenalty is subtracted once from the logit of every token that
	// occurs in the penalty window.
	PresencePenalty float32
	// RepeatLastN is the penalty window: the last RepeatLastN tokens of the
	// history. 0 disables penalties, -1 uses the whole history.
	RepeatLastN int

	// Seed seeds the PRNG: the same Params, seed and logits always give the
	// same sequence of tokens. Callers that want varied output pick a fresh
	// seed per request.
	Seed uint64
}

// DefaultParams returns llama.cpp's default sampling parameters:
// temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no repeat penalty
// (1.0) over a 64-token window, and no frequency or presence penalty.
func DefaultParams() Params {
	return Params{
		Temperature:   0.8,
		TopK:          40,
		TopP:          0.95,
		MinP:          0.05,
		RepeatPenalty: 1.0,
		RepeatLastN:   64,
	}
}

// ErrInvalidParams is wrapped by every error Validate returns.
var ErrInvalidParams = errors.New("sample: invalid parameters")

// Validate reports parameters that are out of range, so that a server can
// reject a request instead of silently sampling with clamped values.
func (p Params) Validate() error {
	check := func(name string, v float32, ok bool) error {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || !ok {
			return fmt.Errorf("%w: %s = %v", ErrInvalidParams, name, v)
		}
		return nil
	}
	return errors.Join(
		check("temperature", p.Temperature, true),
		check("top_p", p.TopP, p.TopP >= 0),
		check("min_p", p.MinP, p.MinP >= 0 && p.MinP <= 1),
		check("repeat_penalty", p.RepeatPenalty, p.RepeatPenalty >= 0),
		check("frequency_penalty", p.FrequencyPenalty, true),
		check("presence_penalty", p.PresencePenalty, true),
		intCheck("top_k", p.TopK, p.TopK >= 0),
		intCheck("repeat_last_n", p.RepeatLastN, p.RepeatLastN >= -1),
	)
}

func intCheck(name string, v int, ok bool) error {
	if !ok {
		return fmt.Errorf("%w: %s = %d", ErrInvalidParams, name, v)
	}
	return nil
}

// penalized reports whether any penalty changes logits.
func (p Params) penalized() bool {
	if p.RepeatLastN == 0 {
		return false
	}
	return (p.RepeatPenalty != 1 && p.RepeatPenalty != 0) || p.FrequencyPenalty != 0 || p.PresencePenalty != 0
}
