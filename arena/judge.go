package arena

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/model"
	"github.com/llmos/llmos/tensor"
)

// Judge decides a battle in place of a person: given the prompt and the two
// answers, it returns WinnerA, WinnerB, WinnerTie or WinnerBothBad.
type Judge interface {
	Judge(ctx context.Context, prompt, answerA, answerB string) (string, error)
}

// Comparer prefers one of two answers shown in a given order. Models asked
// to compare tend to favour one position; SwapJudge cancels that.
type Comparer interface {
	// PreferFirst reports whether the answer shown first is the better.
	PreferFirst(ctx context.Context, prompt, first, second string) (bool, error)
}

// SwapJudge asks its Comparer twice, with the answers in both orders, and
// declares a winner only when both verdicts pick the same answer; when they
// disagree, the preference was for a position, and the battle is a tie.
type SwapJudge struct {
	Comparer Comparer
}

// Judge implements Judge.
func (j SwapJudge) Judge(ctx context.Context, prompt, answerA, answerB string) (string, error) {
	aFirst, err := j.Comparer.PreferFirst(ctx, prompt, answerA, answerB)
	if err != nil {
		return "", err
	}
	bFirst, err := j.Comparer.PreferFirst(ctx, prompt, answerB, answerA)
	if err != nil {
		return "", err
	}
	switch {
	case aFirst && !bFirst:
		return WinnerA, nil
	case !aFirst && bFirst:
		return WinnerB, nil
	}
	return WinnerTie, nil
}

// judgeInstructions is the judging prompt; the answers are labelled by
// position only, so the judge never sees which model wrote them.
const judgeInstructions = `You are judging two answers to a user's question. Decide which answer is better: more helpful, correct, clear and to the point.

[Question]
%s

[Answer A]
%s

[Answer B]
%s

Which answer is better? Reply with a single letter: A or B.`

// ModelComparer is a language model given a judging prompt through its chat
// template: it prefers the first answer when, at the start of its reply,
// the letter A is more likely than B. Reading the two logits, rather than
// generating, always gives a verdict, even from a model that would not
// answer in the format asked.
type ModelComparer struct {
	e    *engine.Engine
	tmpl *chat.Template
	ids  [2][]int32 // candidate first tokens of "A" and of "B"

	mu sync.Mutex
	s  *engine.Session
}

// NewModelComparer prepares e to judge.
func NewModelComparer(e *engine.Engine) (*ModelComparer, error) {
	src, _ := e.File.String("tokenizer.chat_template")
	tmpl, err := chat.NewTemplate(src)
	if err != nil {
		return nil, fmt.Errorf("arena: judge: %w", err)
	}
	s, err := e.NewSession()
	if err != nil {
		return nil, fmt.Errorf("arena: judge: %w", err)
	}
	c := &ModelComparer{e: e, tmpl: tmpl, s: s}
	for k, letter := range []string{"A", "B"} {
		// The reply may begin with the bare letter or with a space
		// before it, which many vocabularies spell as another token.
		for _, text := range []string{letter, " " + letter} {
			if ids := e.Tokenizer.Encode(text, false, false); len(ids) > 0 && !slices.Contains(c.ids[k], ids[0]) {
				c.ids[k] = append(c.ids[k], ids[0])
			}
		}
		if len(c.ids[k]) == 0 {
			return nil, fmt.Errorf("arena: judge: the vocabulary cannot spell %q", letter)
		}
	}
	if slices.Equal(c.ids[0], c.ids[1]) {
		return nil, fmt.Errorf("arena: judge: the vocabulary spells A and B alike")
	}
	return c, nil
}

// PreferFirst implements Comparer.
func (c *ModelComparer) PreferFirst(ctx context.Context, prompt, first, second string) (bool, error) {
	msgs := []chat.Message{{Role: "user", Content: fmt.Sprintf(judgeInstructions, prompt, first, second)}}
	ids, err := renderIDs(c.e, c.tmpl, msgs, true)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return false, err
	}
	logits, err := c.s.Logits(ids)
	if err != nil {
		return false, fmt.Errorf("arena: judge: %w", err)
	}
	best := func(ids []int32) float32 {
		m := float32(math.Inf(-1))
		for _, id := range ids {
			m = max(m, logits[id])
		}
		return m
	}
	return best(c.ids[0]) > best(c.ids[1]), nil
}

// renderIDs renders msgs with the template and tokenizes them with special
// tokens parsed and BOS added once, as engine.Chat does for its prompts.
func renderIDs(e *engine.Engine, tmpl *chat.Template, msgs []chat.Message, generationPrompt bool) ([]int32, error) {
	tok := e.Tokenizer
	text, err := tmpl.Render(msgs, chat.RenderOptions{
		AddGenerationPrompt: generationPrompt,
		BOSToken:            tok.TokenText(tok.BOS()),
		EOSToken:            tok.TokenText(tok.EOS()),
	})
	if err != nil {
		return nil, fmt.Errorf("arena: judge: %w", err)
	}
	ids := tok.Encode(text, true, true)
	if len(ids) >= 2 && tok.AddBOS() && ids[0] == tok.BOS() && ids[1] == tok.BOS() {
		ids = ids[1:]
	}
	return ids, nil
}

// RewardHeadName is the tensor of a reward model's scalar head, [1, Dim]:
// a llama trunk whose final-normed hidden state it maps to one number.
const RewardHeadName = "reward_head.weight"

// HasRewardHead reports whether the opened model is a reward model.
func HasRewardHead(e *engine.Engine) bool {
	_, ok := e.File.Tensor(RewardHeadName)
	return ok
}

// RewardModel scores an answer to a prompt with a reward model: the
// conversation (the prompt as the user's turn, the answer as the
// assistant's) is rendered with the model's chat template, and the reward
// is the head applied to the final-normed hidden state of its last token.
type RewardModel struct {
	e    *engine.Engine
	tmpl *chat.Template
	head []float32

	mu     sync.Mutex
	runner *model.Runner
	cache  *model.Cache
	batch  model.Batch
	hidden []float32
}

// NewRewardModel reads e's reward head.
func NewRewardModel(e *engine.Engine) (*RewardModel, error) {
	t, ok := e.File.Tensor(RewardHeadName)
	dim := e.Model.Config.Dim
	if !ok {
		return nil, fmt.Errorf("arena: reward model: no %s tensor (not a reward model)", RewardHeadName)
	}
	if t.Elements() != int64(dim) {
		return nil, fmt.Errorf("arena: reward model: %s has shape %v, want [%d 1]", RewardHeadName, t.Dims, dim)
	}
	head := make([]float32, dim)
	if err := tensor.Dequantize(t.Type, t.Data, head); err != nil {
		return nil, fmt.Errorf("arena: reward model: %s: %w", RewardHeadName, err)
	}
	src, _ := e.File.String("tokenizer.chat_template")
	tmpl, err := chat.NewTemplate(src)
	if err != nil {
		return nil, fmt.Errorf("arena: reward model: %w", err)
	}
	cache, err := e.Model.NewCache(1, e.Context)
	if err != nil {
		return nil, fmt.Errorf("arena: reward model: %w", err)
	}
	return &RewardModel{e: e, tmpl: tmpl, head: head, runner: e.Model.NewRunner(e.Pool), cache: cache}, nil
}

// Score returns the reward of answer as the reply to prompt.
func (r *RewardModel) Score(ctx context.Context, prompt, answer string) (float64, error) {
	ids, err := renderIDs(r.e, r.tmpl, []chat.Message{{Role: "user", Content: prompt}, {Role: "assistant", Content: answer}}, false)
	if err != nil {
		return 0, err
	}
	return r.ScoreTokens(ctx, ids)
}

// ScoreTokens returns the reward of a tokenized sequence: the head applied
// to the final-normed hidden state of its last token.
func (r *RewardModel) ScoreTokens(ctx context.Context, ids []int32) (float64, error) {
	if len(ids) == 0 {
		return 0, fmt.Errorf("arena: reward model: empty sequence")
	}
	if len(ids) > r.cache.Context {
		return 0, fmt.Errorf("arena: reward model: %w: %d tokens, context of %d", engine.ErrContext, len(ids), r.cache.Context)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	dim := r.e.Model.Config.Dim
	r.batch.Reset()
	for p, id := range ids {
		r.batch.Add(id, p, 0, false)
	}
	if need := len(ids) * dim; len(r.hidden) < need {
		r.hidden = make([]float32, need)
	}
	if err := r.runner.Hidden(&r.batch, r.cache, r.hidden); err != nil {
		return 0, fmt.Errorf("arena: reward model: %w", err)
	}
	last := r.hidden[(len(ids)-1)*dim : len(ids)*dim]
	return float64(tensor.Dot(r.head, last)), nil
}

// RewardJudge prefers the answer with the higher reward; rewards within
// Margin of each other tie. Rewards do not depend on the order of the
// answers, so there is no position bias to cancel.
type RewardJudge struct {
	Model  *RewardModel
	Margin float64
}

// Judge implements Judge.
func (j RewardJudge) Judge(ctx context.Context, prompt, answerA, answerB string) (string, error) {
	ra, err := j.Model.Score(ctx, prompt, answerA)
	if err != nil {
		return "", err
	}
	rb, err := j.Model.Score(ctx, prompt, answerB)
	if err != nil {
		return "", err
	}
	switch {
	case ra-rb > j.Margin:
		return WinnerA, nil
	case rb-ra > j.Margin:
		return WinnerB, nil
	}
	return WinnerTie, nil
}
