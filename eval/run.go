package eval

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/big"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/llmos/llmos/engine"
)

// RunOptions configure RunTasks.
type RunOptions struct {
	// Limit caps the items scored per task; zero means all.
	Limit int
	// MaxTokens caps each exact-match generation; zero means 256.
	MaxTokens int
	// Progress, if set, is called after each item.
	Progress func(task string, done, total int)
}

// Result is a task's accuracy. The Norm fields are set for multiple-choice
// tasks only: accuracy when each choice's log-likelihood is divided by its
// length in bytes, which favours long choices less.
type Result struct {
	Task    string  `json:"task"`
	Kind    Kind    `json:"kind"`
	N       int     `json:"n"`
	Correct int     `json:"correct"`
	Acc     float64 `json:"acc"`
	// AccLow and AccHigh bound the 95% Wilson score interval.
	AccLow      float64  `json:"acc_ci_lower"`
	AccHigh     float64  `json:"acc_ci_upper"`
	CorrectNorm *int     `json:"correct_norm,omitempty"`
	AccNorm     *float64 `json:"acc_norm,omitempty"`
	AccNormLow  *float64 `json:"acc_norm_ci_lower,omitempty"`
	AccNormHigh *float64 `json:"acc_norm_ci_upper,omitempty"`
}

// Wilson returns the 95% Wilson score interval for k successes in n
// trials; unlike the normal approximation it stays inside [0, 1] and is
// sensible at k = 0 or k = n.
func Wilson(k, n int) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	const z = 1.959963984540054
	p, nf := float64(k)/float64(n), float64(n)
	den := 1 + z*z/nf
	centre := (p + z*z/(2*nf)) / den
	half := z / den * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))
	return max(0, centre-half), min(1, centre+half)
}

func newResult(task string, kind Kind, correct, n int) Result {
	r := Result{Task: task, Kind: kind, N: n, Correct: correct}
	if n > 0 {
		r.Acc = float64(correct) / float64(n)
	}
	r.AccLow, r.AccHigh = Wilson(correct, n)
	return r
}

func (r *Result) setNorm(correct int) {
	acc := 0.0
	if r.N > 0 {
		acc = float64(correct) / float64(r.N)
	}
	lo, hi := Wilson(correct, r.N)
	r.CorrectNorm, r.AccNorm, r.AccNormLow, r.AccNormHigh = &correct, &acc, &lo, &hi
}

// RunTasks scores every task with e and returns one Result per task; when
// there are several tasks of one kind, a last Result named after their
// common prefix ("blimp") pools all their items.
func RunTasks(ctx context.Context, e *engine.Engine, tasks []*Task, opts RunOptions) ([]Result, error) {
	scorer, err := NewScorer(e)
	if err != nil {
		return nil, err
	}
	var sess *engine.Session
	var results []Result
	var pooled, pooledNorm, pooledN int
	for _, t := range tasks {
		items := t.Items
		if opts.Limit > 0 && len(items) > opts.Limit {
			items = items[:opts.Limit]
		}
		var res Result
		switch t.Kind {
		case MultipleChoice:
			correct, correctNorm := 0, 0
			for i, it := range items {
				right, rightNorm, err := scoreChoice(ctx, scorer, it)
				if err != nil {
					return nil, fmt.Errorf("eval: %s item %d: %w", t.Name, i+1, err)
				}
				correct += b2i(right)
				correctNorm += b2i(rightNorm)
				if opts.Progress != nil {
					opts.Progress(t.Name, i+1, len(items))
				}
			}
			res = newResult(t.Name, t.Kind, correct, len(items))
			res.setNorm(correctNorm)
			pooledNorm += correctNorm
		case ExactMatch:
			if sess == nil {
				if sess, err = e.NewSession(); err != nil {
					return nil, err
				}
			}
			correct := 0
			for i, it := range items {
				right, err := generateMatch(ctx, e, sess, t, it, opts.MaxTokens)
				if err != nil {
					return nil, fmt.Errorf("eval: %s item %d: %w", t.Name, i+1, err)
				}
				correct += b2i(right)
				if opts.Progress != nil {
					opts.Progress(t.Name, i+1, len(items))
				}
			}
			res = newResult(t.Name, t.Kind, correct, len(items))
		default:
			return nil, fmt.Errorf("eval: task %s has unknown kind %q", t.Name, t.Kind)
		}
		results = append(results, res)
		pooled += res.Correct
		pooledN += res.N
	}
	if len(tasks) > 1 && allKind(tasks, tasks[0].Kind) {
		name, _, _ := strings.Cut(tasks[0].Name, ":")
		all := newResult(name, tasks[0].Kind, pooled, pooledN)
		if tasks[0].Kind == MultipleChoice {
			all.setNorm(pooledNorm)
		}
		results = append(results, all)
	}
	return results, nil
}

func allKind(tasks []*Task, k Kind) bool {
	for _, t := range tasks {
		if t.Kind != k {
			return false
		}
	}
	return true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// scoreChoice reports whether the answer has the strictly highest total
// log-likelihood among the choices, and the same for the log-likelihood
// per byte. A tie counts as wrong, so a model that cannot tell the choices
// apart scores no better than chance.
func scoreChoice(ctx context.Context, s *Scorer, it Item) (right, rightNorm bool, err error) {
	best, bestNorm := math.Inf(-1), math.Inf(-1)
	winner, winnerNorm := -1, -1
	for c, choice := range it.Choices {
		ll, _, err := s.LogLikelihood(ctx, it.Context, choice)
		if err != nil {
			return false, false, fmt.Errorf("choice %d: %w", c, err)
		}
		norm := ll / float64(len(choice))
		if ll > best {
			best, winner = ll, c
		} else if ll == best {
			winner = -1
		}
		if norm > bestNorm {
			bestNorm, winnerNorm = norm, c
		} else if norm == bestNorm {
			winnerNorm = -1
		}
	}
	return winner == it.Answer, winnerNorm == it.Answer, nil
}

// generateMatch generates greedily for the item's prompt and compares the
// answer it extracts with the target: numerically when the target is a
// number (GSM8K), else as whitespace-trimmed text of the first line.
func generateMatch(ctx context.Context, e *engine.Engine, s *engine.Session, t *Task, it Item, maxTokens int) (bool, error) {
	if maxTokens <= 0 {
		maxTokens = 256
	}
	res, err := s.Generate(ctx, engine.Request{
		Prompt:    e.Tokenizer.Encode(it.Prompt, true, false),
		MaxTokens: maxTokens,
		Stop:      t.Stop,
	}, nil)
	if err != nil {
		return false, err
	}
	if _, ok := parseNumber(it.Target); ok {
		return NumbersEqual(ExtractAnswer(res.Text), it.Target), nil
	}
	first, _, _ := strings.Cut(strings.TrimSpace(res.Text), "\n")
	return strings.TrimSpace(first) == strings.TrimSpace(it.Target), nil
}

var numberRE = regexp.MustCompile(`-?[0-9][0-9,]*(\.[0-9]+)?`)

// ExtractAnswer finds the final numeric answer in a generated solution: the
// number after the first "####" if there is one (GSM8K's own format), else
// the last number in the text, "" when there is none.
func ExtractAnswer(text string) string {
	if _, after, ok := strings.Cut(text, "####"); ok {
		if m := numberRE.FindString(after); m != "" {
			return m
		}
	}
	all := numberRE.FindAllString(text, -1)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

// parseNumber reads a number written with optional thousands commas, a
// leading "$" and a trailing ".", exactly.
func parseNumber(s string) (*big.Rat, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "$")
	s = strings.TrimSuffix(s, ".")
	s = strings.ReplaceAll(s, ",", "")
	if s == "" {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}

// NumbersEqual reports whether two numeric answers are the same number
// ("1,000" and "1000.00" are).
func NumbersEqual(a, b string) bool {
	x, okA := parseNumber(a)
	y, okB := parseNumber(b)
	return okA && okB && x.Cmp(y) == 0
}

// WriteTable writes results as an aligned table: accuracy and its 95%
// interval in percent, and for multiple-choice tasks the length-normalised
// accuracy.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "task\tkind\tn\tacc\t95% CI\tacc_norm\t95% CI")
	for _, r := range results {
		norm, normCI := "-", "-"
		if r.AccNorm != nil {
			norm = fmt.Sprintf("%.1f%%", 100**r.AccNorm)
			normCI = fmt.Sprintf("%.1f – %.1f", 100**r.AccNormLow, 100**r.AccNormHigh)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f%%\t%.1f – %.1f\t%s\t%s\n", r.Task, r.Kind, r.N, 100*r.Acc, 100*r.AccLow, 100*r.AccHigh, norm, normCI)
	}
	return tw.Flush()
}
