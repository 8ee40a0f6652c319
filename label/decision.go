package label

import (
	"errors"
	"fmt"
	"strings"
)

// Decision is what a person decided about a prompt's sampled answers.
// Picking the best answer is a ranking of one.
type Decision struct {
	// Ranking lists answers by index, best first. Listed answers are better
	// than every unlisted one; unlisted ones are not ordered among
	// themselves.
	Ranking []int `json:"ranking,omitempty"`
	// Text, if not blank, is an answer the person edited or wrote: the best
	// answer, better than every sampled one.
	Text string `json:"text,omitempty"`
}

// Outcome is what a decision writes: the SFT record of the best answer and
// one preference pair per (better, worse) the decision implies, the best
// answer chosen in the first.
type Outcome struct {
	SFT   SFTRecord
	Pairs []PrefRecord
}

// ErrDecision is wrapped by every error Resolve returns for a decision
// that cannot stand.
var ErrDecision = errors.New("invalid decision")

// Resolve turns d into the records it implies. Pairs of identical texts say
// nothing and are left out, as are repeated and reversed pairs (two
// samples may agree).
func Resolve(prompt string, answers []string, d Decision) (Outcome, error) {
	if strings.TrimSpace(prompt) == "" {
		return Outcome{}, fmt.Errorf("label: %w: empty prompt", ErrDecision)
	}
	text := strings.TrimSpace(d.Text)
	if text == "" && len(d.Ranking) == 0 {
		return Outcome{}, fmt.Errorf("label: %w: pick, rank or write an answer", ErrDecision)
	}
	ranked := make([]bool, len(answers))
	for _, i := range d.Ranking {
		if i < 0 || i >= len(answers) {
			return Outcome{}, fmt.Errorf("label: %w: no answer %d (there are %d)", ErrDecision, i+1, len(answers))
		}
		if ranked[i] {
			return Outcome{}, fmt.Errorf("label: %w: answer %d ranked twice", ErrDecision, i+1)
		}
		ranked[i] = true
	}
	var out Outcome
	seen := map[[2]string]bool{}
	add := func(better, worse string) {
		// A reversed pair can only come from two samples with one text
		// placed in two ranks; the better placement, added first, stands.
		if better == worse || seen[[2]string{better, worse}] || seen[[2]string{worse, better}] {
			return
		}
		seen[[2]string{better, worse}] = true
		out.Pairs = append(out.Pairs, PrefRecord{Prompt: prompt, Chosen: better, Rejected: worse})
	}
	// Sampled answers in the order the decision puts them: ranked ones
	// first, so that the best answer's pairs come first.
	order := append([]int(nil), d.Ranking...)
	for i := range answers {
		if !ranked[i] {
			order = append(order, i)
		}
	}
	best := text
	if text != "" {
		for _, i := range order {
			add(text, answers[i])
		}
	} else {
		best = answers[d.Ranking[0]]
		if strings.TrimSpace(best) == "" {
			return Outcome{}, fmt.Errorf("label: %w: the answer ranked best is empty; write one instead", ErrDecision)
		}
	}
	for a, i := range d.Ranking {
		for _, j := range order[a+1:] {
			add(answers[i], answers[j])
		}
	}
	out.SFT = sftRecord(prompt, best)
	return out, nil
}
