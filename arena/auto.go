package arena

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
)

// AutoOptions configure PlayAuto; nil means one round, seed 1.
type AutoOptions struct {
	// Rounds is the number of passes over the prompts; zero means one.
	Rounds int
	// Seed decides, reproducibly, which model of each pair is shown as A.
	Seed uint64
	// Progress, if set, is called after each battle with the vote as
	// stored and the counts so far.
	Progress func(done, total int, v Vote)
}

// PlayAuto plays battles without people: in each round, every contestant
// answers every prompt once, every pair of contestants is judged on every
// prompt (which one is A is drawn at random), and each verdict is added to
// store as a vote, so it joins the same leaderboard as the web arena's. It
// returns the votes as stored (an answer naming its model voids the vote,
// as in the web arena).
func PlayAuto(ctx context.Context, contestants []Contestant, prompts []string, judge Judge, store *Store, opts *AutoOptions) ([]Vote, error) {
	var o AutoOptions
	if opts != nil {
		o = *opts
	}
	if o.Rounds == 0 {
		o.Rounds = 1
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	switch {
	case o.Rounds < 0:
		return nil, fmt.Errorf("arena: auto: rounds must be positive, got %d", o.Rounds)
	case len(contestants) < 2:
		return nil, fmt.Errorf("arena: auto: battles need at least two models, got %d", len(contestants))
	case len(prompts) == 0:
		return nil, errors.New("arena: auto: no prompts")
	}
	n := len(contestants)
	total := o.Rounds * len(prompts) * n * (n - 1) / 2
	rng := rand.New(rand.NewPCG(o.Seed, 0x61726e61))
	var votes []Vote
	answers := make([]string, n)
	for round := range o.Rounds {
		for pi, prompt := range prompts {
			for i, c := range contestants {
				a, err := c.Answer(ctx, prompt, nil)
				if err != nil {
					return votes, fmt.Errorf("arena: auto: round %d, prompt %d, %s: %w", round+1, pi+1, c.Name(), err)
				}
				answers[i] = a
			}
			for i := range n {
				for j := i + 1; j < n; j++ {
					a, b := i, j
					if rng.IntN(2) == 1 {
						a, b = b, a
					}
					winner, err := judge.Judge(ctx, prompt, answers[a], answers[b])
					if err != nil {
						return votes, fmt.Errorf("arena: auto: judging %s against %s on prompt %d: %w", contestants[a].Name(), contestants[b].Name(), pi+1, err)
					}
					v, err := store.Add(ctx, Vote{
						ModelA: contestants[a].Name(), ModelB: contestants[b].Name(), Winner: winner,
						Prompt: prompt, AnswerA: answers[a], AnswerB: answers[b],
					})
					if err != nil {
						return votes, err
					}
					votes = append(votes, v)
					if o.Progress != nil {
						o.Progress(len(votes), total, v)
					}
				}
			}
		}
	}
	return votes, nil
}

// LoadPrompts reads a prompt set: with a .jsonl name, one JSON object per
// line with the prompt under "prompt"; otherwise one prompt per non-blank
// line of text.
func LoadPrompts(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("arena: prompts: %w", err)
	}
	var prompts []string
	br := bufio.NewReader(bytes.NewReader(data))
	for line := 1; ; line++ {
		text, rerr := br.ReadBytes('\n')
		t := strings.TrimSpace(string(text))
		if t != "" {
			if strings.HasSuffix(path, ".jsonl") {
				var rec struct {
					Prompt *string `json:"prompt"`
				}
				if err := json.Unmarshal([]byte(t), &rec); err != nil {
					return nil, fmt.Errorf("arena: prompts %s line %d: %w", path, line, err)
				}
				if rec.Prompt == nil || strings.TrimSpace(*rec.Prompt) == "" {
					return nil, fmt.Errorf("arena: prompts %s line %d: no \"prompt\"", path, line)
				}
				t = *rec.Prompt
			}
			prompts = append(prompts, t)
		}
		if rerr == io.EOF {
			break
		}
	}
	if len(prompts) == 0 {
		return nil, fmt.Errorf("arena: prompts %s: no prompts", path)
	}
	return prompts, nil
}
