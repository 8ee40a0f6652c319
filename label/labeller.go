// Package label is the labelling loop of llmos: a model samples several
// answers to each prompt (ranked by a reward model when there is one), a
// person picks the best, ranks them, edits one or writes their own, and
// each decision is appended to an SFT file and a preference file, both
// JSONL, so that they feed 'llmos sft', 'llmos reward' and 'llmos dpo'. The
// loop runs as a local web page (NewServer) or in a terminal (Terminal).
package label

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Generator writes candidate answers to a prompt.
type Generator interface {
	// Generate returns k answers to prompt, sampled independently.
	Generate(ctx context.Context, prompt string, k int) ([]string, error)
}

// Scorer rates an answer to a prompt, higher is better; an
// *arena.RewardModel is one.
type Scorer interface {
	Score(ctx context.Context, prompt, answer string) (float64, error)
}

// Answer is one sampled answer as shown to the person.
type Answer struct {
	Text string `json:"text"`
	// Score is the reward model's score, when there is a reward model.
	Score *float64 `json:"score,omitempty"`
}

// Item is a prompt waiting for a decision, with its answers.
type Item struct {
	// Index is the prompt's position in the prompt list, repeats left
	// out, from 0.
	Index   int      `json:"index"`
	Prompt  string   `json:"prompt"`
	Answers []Answer `json:"answers"`
}

// Texts returns the answers' texts, in the order decisions index them.
func (it *Item) Texts() []string {
	out := make([]string, len(it.Answers))
	for i, a := range it.Answers {
		out[i] = a.Text
	}
	return out
}

// Options tune New; nil means the defaults.
type Options struct {
	// K is how many answers to sample per prompt; zero means 4.
	K int
	// Scorer, if set, orders each prompt's answers best first.
	Scorer Scorer
}

// Labeller walks a prompt list, skipping the prompts the store already has,
// and keeps one prompt's answers ready ahead of the one being labelled.
// It is safe for concurrent use (two browser tabs see the same prompt).
type Labeller struct {
	prompts []string
	gen     Generator
	store   *Store
	opts    Options

	ctx    context.Context // generations in the background; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	genMu  sync.Mutex // one generation at a time: a model session is not shared

	mu      sync.Mutex
	skipped map[int]bool
	items   map[int]*future
}

// future is an item being generated.
type future struct {
	done  chan struct{}
	item  *Item
	err   error
	shown bool // Next returned it: decisions on it are accepted
}

// New starts labelling prompts: gen samples the answers and store records
// the decisions. Repeated prompts are labelled once.
func New(prompts []string, gen Generator, store *Store, opts *Options) (*Labeller, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.K == 0 {
		o.K = 4
	}
	if o.K < 0 {
		return nil, fmt.Errorf("label: k must be positive, got %d", o.K)
	}
	if len(prompts) == 0 {
		return nil, errors.New("label: no prompts")
	}
	var unique []string
	seen := map[string]bool{}
	for _, p := range prompts {
		if !seen[p] {
			seen[p] = true
			unique = append(unique, p)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Labeller{prompts: unique, gen: gen, store: store, opts: o, ctx: ctx, cancel: cancel,
		skipped: map[int]bool{}, items: map[int]*future{}}, nil
}

// Close stops a generation under way in the background and waits for it.
func (l *Labeller) Close() {
	l.cancel()
	l.wg.Wait()
}

// Progress returns how many distinct prompts are labelled and how many
// there are.
func (l *Labeller) Progress() (done, total int) {
	for _, p := range l.prompts {
		if l.store.Labelled(p) {
			done++
		}
	}
	return done, len(l.prompts)
}

// open reports whether prompt i still wants a decision in this session.
// Call with l.mu held.
func (l *Labeller) open(i int) bool {
	return !l.skipped[i] && !l.store.Labelled(l.prompts[i])
}

// nextOpen is the first open prompt at or after i, or -1. Call with l.mu held.
func (l *Labeller) nextOpen(i int) int {
	for ; i < len(l.prompts); i++ {
		if l.open(i) {
			return i
		}
	}
	return -1
}

// Next returns the first prompt that is neither labelled nor skipped, with
// its answers (the same ones until it is decided), or nil when none is
// left. It also starts sampling the prompt after it.
func (l *Labeller) Next(ctx context.Context) (*Item, error) {
	l.mu.Lock()
	i := l.nextOpen(0)
	if i < 0 {
		l.mu.Unlock()
		return nil, nil
	}
	f := l.start(i)
	l.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if f.err != nil {
		if l.items[i] == f {
			delete(l.items, i) // the next call tries again
		}
		return nil, f.err
	}
	f.shown = true
	if j := l.nextOpen(i + 1); j >= 0 {
		l.start(j)
	}
	return f.item, nil
}

// start returns prompt i's future, starting its generation if needed.
// Call with l.mu held.
func (l *Labeller) start(i int) *future {
	if f, ok := l.items[i]; ok {
		return f
	}
	f := &future{done: make(chan struct{})}
	l.items[i] = f
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer close(f.done)
		l.genMu.Lock()
		defer l.genMu.Unlock()
		f.item, f.err = l.sample(l.ctx, i)
	}()
	return f
}

// sample generates prompt i's answers, drops repeats and orders them by
// score when there is a scorer.
func (l *Labeller) sample(ctx context.Context, i int) (*Item, error) {
	prompt := l.prompts[i]
	texts, err := l.gen.Generate(ctx, prompt, l.opts.K)
	if err != nil {
		return nil, fmt.Errorf("label: sampling answers to prompt %d: %w", i+1, err)
	}
	it := &Item{Index: i, Prompt: prompt}
	seen := map[string]bool{}
	for _, t := range texts {
		t = strings.TrimSpace(t)
		if seen[t] {
			continue
		}
		seen[t] = true
		a := Answer{Text: t}
		if l.opts.Scorer != nil {
			s, err := l.opts.Scorer.Score(ctx, prompt, t)
			if err != nil {
				return nil, fmt.Errorf("label: scoring an answer to prompt %d: %w", i+1, err)
			}
			a.Score = &s
		}
		it.Answers = append(it.Answers, a)
	}
	if l.opts.Scorer != nil {
		slices.SortStableFunc(it.Answers, func(a, b Answer) int { return cmp.Compare(*b.Score, *a.Score) })
	}
	return it, nil
}

// ErrStale is wrapped when a decision or skip names a prompt that is not
// waiting for one (decided already, e.g. in another tab, or never shown).
var ErrStale = errors.New("prompt is not waiting for a decision")

// item returns the shown item for index, or ErrStale. Call with l.mu held.
func (l *Labeller) item(index int, prompt string) (*Item, error) {
	f, ok := l.items[index]
	if !ok || !f.shown || !l.open(index) || f.item.Prompt != prompt {
		return nil, fmt.Errorf("label: %w: prompt %d", ErrStale, index+1)
	}
	return f.item, nil
}

// Decide saves d for the prompt at index, whose text must be prompt (so a
// stale page cannot label the wrong one).
func (l *Labeller) Decide(index int, prompt string, d Decision) (Outcome, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	it, err := l.item(index, prompt)
	if err != nil {
		return Outcome{}, err
	}
	out, err := l.store.Save(it.Prompt, it.Texts(), d)
	if err != nil {
		return Outcome{}, err
	}
	delete(l.items, index)
	return out, nil
}

// Skip passes over the prompt at index for the rest of this session,
// saving nothing: it comes back on the next start.
func (l *Labeller) Skip(index int, prompt string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.item(index, prompt); err != nil {
		return err
	}
	l.skipped[index] = true
	delete(l.items, index)
	return nil
}
