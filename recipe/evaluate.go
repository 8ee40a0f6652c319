package recipe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/llmos/llmos/arena"
	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/convo"
	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/tool"
	"github.com/llmos/llmos/train"
)

// Report is the evaluation of a recipe run, written to report.json.
type Report struct {
	Scale      string `json:"scale"`
	Model      string `json:"model"`      // path of assistant.gguf
	Type       string `json:"type"`       // its weight type
	Bytes      int64  `json:"bytes"`      // its size
	Parameters int64  `json:"parameters"` // weights in the model
	Vocab      int    `json:"vocab"`
	Dim        int    `json:"dim"`
	Layers     int    `json:"layers"`
	Context    int    `json:"context"`

	// TokensSeen counts the training tokens each stage processed
	// (pretraining and SFT: rows of tokens; reward and DPO: both sides of
	// every pair, padded), and under "total" those the assistant itself
	// was trained on: pretraining, SFT and DPO (the reward model is a
	// separate model).
	TokensSeen map[string]int64 `json:"tokens_seen"`
	Pretrain   StageReport      `json:"pretrain"`
	SFT        StageReport      `json:"sft"`
	RewardRun  StageReport      `json:"reward"`
	DPO        StageReport      `json:"dpo"`

	Arithmetic ArithmeticReport `json:"arithmetic"`
	WinRate    WinRateReport    `json:"dpo_vs_sft"`
}

// StageReport summarises a training run from its log.
type StageReport struct {
	Steps       int     `json:"steps"`
	Tokens      int64   `json:"tokens"`
	FirstLoss   float64 `json:"first_train_loss"`
	LastLoss    float64 `json:"last_train_loss"`
	ValLoss     float64 `json:"val_loss"`
	ValAccuracy float64 `json:"val_accuracy,omitempty"` // reward, DPO: share of held-out pairs ranked right
	Seconds     float64 `json:"seconds"`                // training time of the last (or resumed) session
}

// ArithmeticReport is the assistant's result on the held-out arithmetic
// problems, asked through the chat loop with the calculator.
type ArithmeticReport struct {
	Prompts int `json:"prompts"`
	// WellFormed is the share of questions whose first reply is a
	// calculator call that parses and evaluates.
	WellFormed float64 `json:"well_formed_tool_calls"`
	// CorrectCalls is the share whose call computes the right value.
	CorrectCalls float64 `json:"correct_tool_calls"`
	// Correct is the share whose final answer states the right result
	// (its last number).
	Correct  float64            `json:"correct_final_answers"`
	Examples []ArithmeticResult `json:"examples"`
}

// ArithmeticResult is one held-out question and what the assistant did.
type ArithmeticResult struct {
	Question string `json:"question"`
	Want     string `json:"want"`
	Call     string `json:"call,omitempty"` // the calculator arguments, if it called
	Result   string `json:"result,omitempty"`
	Answer   string `json:"answer"`
	Correct  bool   `json:"correct"`
}

// WinRateReport is how often the DPO model's answer beats the SFT model's
// as the reward model judges them.
type WinRateReport struct {
	Prompts int     `json:"prompts"`
	Wins    int     `json:"wins"`
	Ties    int     `json:"ties"`
	Losses  int     `json:"losses"`
	Rate    float64 `json:"win_rate"` // (wins + ties/2) / prompts
	Judge   string  `json:"judge"`
}

// ReadReport reads a report.json.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("recipe: %s: %w", path, err)
	}
	return &r, nil
}

// evaluate writes report.json.
func (p *pipeline) evaluate(ctx context.Context) error {
	r := &Report{Scale: p.sc.Name, Model: p.path(AssistantFile), Type: QuantType, TokensSeen: map[string]int64{}}
	st, err := os.Stat(r.Model)
	if err != nil {
		return err
	}
	r.Bytes = st.Size()
	for _, s := range []struct {
		dir string
		rep *StageReport
	}{{PretrainDir, &r.Pretrain}, {SFTDir, &r.SFT}, {RewardDir, &r.RewardRun}, {DPODir, &r.DPO}} {
		if *s.rep, err = readStage(p.path(s.dir)); err != nil {
			return err
		}
		r.TokensSeen[s.dir] = s.rep.Tokens
		if s.dir != RewardDir {
			r.TokensSeen["total"] += s.rep.Tokens
		}
	}

	e, err := p.open(AssistantFile)
	if err != nil {
		return err
	}
	defer e.Close()
	c := e.Model.Config
	r.Vocab, r.Dim, r.Layers, r.Context = c.Vocab, c.Dim, c.Layers, e.Context
	for _, t := range e.File.Tensors {
		r.Parameters += t.Elements()
	}

	held, err := readJSONL[Problem](p.path(GenDir, HeldOutFile))
	if err != nil {
		return err
	}
	fmt.Fprintf(p.out, "  %d held-out arithmetic questions\n", len(held))
	if r.Arithmetic, err = EvalArithmetic(ctx, e, held); err != nil {
		return err
	}
	fmt.Fprintf(p.out, "  well-formed calculator calls %.1f%%, correct final answers %.1f%%\n", 100*r.Arithmetic.WellFormed, 100*r.Arithmetic.Correct)

	recs, err := readJSONL[struct{ Prompt string }](p.path(GenDir, WinRateFile))
	if err != nil {
		return err
	}
	prompts := make([]string, len(recs))
	for i, q := range recs {
		prompts[i] = q.Prompt
	}
	if r.WinRate, err = p.winRate(ctx, prompts); err != nil {
		return err
	}
	fmt.Fprintf(p.out, "  DPO model beats the SFT model on %.1f%% of %d prompts (reward-model judge)\n", 100*r.WinRate.Rate, r.WinRate.Prompts)
	return writeAtomic(p.path(ReportFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	})
}

func (p *pipeline) open(rel ...string) (*engine.Engine, error) {
	return engine.Open(p.path(rel...), engine.Options{Threads: p.opts.Threads})
}

// readStage summarises the log of the run in dir.
func readStage(dir string) (StageReport, error) {
	var s StageReport
	err := eachJSONL(filepath.Join(dir, train.LogFile), func(b []byte) error {
		var rec train.Record
		if err := json.Unmarshal(b, &rec); err != nil {
			return err
		}
		switch rec.Kind {
		case "train":
			if s.Steps == 0 {
				s.FirstLoss = rec.Loss
			}
			s.Steps, s.Tokens, s.LastLoss, s.Seconds = rec.Step, rec.Tokens, rec.Loss, rec.Elapsed
		case "val":
			s.ValLoss, s.ValAccuracy = rec.Loss, rec.Accuracy
		}
		return nil
	})
	return s, err
}

// askTokens bounds each reply in the evaluations: an arithmetic answer or
// a call takes a few dozen tokens, a story about a hundred and fifty.
const (
	arithmeticTokens = 64
	answerTokens     = 200
)

// EvalArithmetic asks e each problem's question in a fresh conversation
// with the calculator, greedily, and scores the replies.
func EvalArithmetic(ctx context.Context, e *engine.Engine, problems []Problem) (ArithmeticReport, error) {
	conv, err := e.NewChat("")
	if err != nil {
		return ArithmeticReport{}, err
	}
	conv.Tools = []tool.Tool{tool.Calculator{}}
	var well, calls, correct int
	rep := ArithmeticReport{Prompts: len(problems)}
	for _, p := range problems {
		conv.Reset()
		res := ArithmeticResult{Question: p.Question, Want: p.Result}
		first := true
		ok := false
		conv.OnToolCall = func(call chat.ToolCall, result string, err error) {
			if !first {
				return
			}
			first = false
			res.Call, res.Result = call.Function.Arguments, result
			ok = call.Function.Name == tool.CalculatorName && err == nil
		}
		out, err := conv.Send(ctx, p.Question, engine.Request{MaxTokens: arithmeticTokens}, nil)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		if err != nil {
			res.Answer = "error: " + err.Error()
		} else {
			res.Answer = out.Text
		}
		res.Correct = err == nil && LastNumber(out.Text) == p.Result
		if ok {
			well++
			if res.Result == p.Result {
				calls++
			}
		}
		if res.Correct {
			correct++
		}
		if len(rep.Examples) < 10 {
			rep.Examples = append(rep.Examples, res)
		}
	}
	if n := float64(len(problems)); n > 0 {
		rep.WellFormed, rep.CorrectCalls, rep.Correct = float64(well)/n, float64(calls)/n, float64(correct)/n
	}
	return rep, nil
}

// winRate has the SFT and DPO models answer every prompt and the reward
// model judge each pair of answers.
func (p *pipeline) winRate(ctx context.Context, prompts []string) (WinRateReport, error) {
	rep := WinRateReport{Prompts: len(prompts)}
	rm, err := p.open(RewardDir, train.ModelFile)
	if err != nil {
		return rep, err
	}
	defer rm.Close()
	judge, err := arena.NewRewardModel(rm)
	if err != nil {
		return rep, err
	}
	enc, err := convo.EncoderFromGGUF(rm.File)
	if err != nil {
		return rep, err
	}
	rs, err := readStage(p.path(RewardDir))
	if err != nil {
		return rep, err
	}
	rep.Judge = fmt.Sprintf("reward model %s (held-out pairwise accuracy %.3f)", filepath.Join(RewardDir, train.ModelFile), rs.ValAccuracy)

	scores := make([][]float64, 2)
	for i, dir := range []string{DPODir, SFTDir} {
		e, err := p.open(dir, train.ModelFile)
		if err != nil {
			return rep, err
		}
		scores[i], err = scoreAnswers(ctx, e, judge, enc, prompts)
		e.Close()
		if err != nil {
			return rep, fmt.Errorf("%s: %w", dir, err)
		}
	}
	for i := range prompts {
		switch d := scores[0][i] - scores[1][i]; {
		case d > 1e-6:
			rep.Wins++
		case d < -1e-6:
			rep.Losses++
		default:
			rep.Ties++
		}
	}
	if len(prompts) > 0 {
		rep.Rate = (float64(rep.Wins) + float64(rep.Ties)/2) / float64(len(prompts))
	}
	return rep, nil
}

// scoreAnswers has e answer each prompt (greedy, with the calculator) and
// returns the reward of each resulting conversation.
func scoreAnswers(ctx context.Context, e *engine.Engine, judge *arena.RewardModel, enc *convo.Encoder, prompts []string) ([]float64, error) {
	conv, err := e.NewChat("")
	if err != nil {
		return nil, err
	}
	conv.Tools = []tool.Tool{tool.Calculator{}}
	scores := make([]float64, len(prompts))
	for i, q := range prompts {
		conv.Reset()
		if _, err := conv.Send(ctx, q, engine.Request{MaxTokens: answerTokens}, nil); err != nil {
			return nil, err
		}
		ex, err := enc.Encode(convo.Conversation{Messages: conv.Messages()})
		if err != nil {
			return nil, err
		}
		if scores[i], err = judge.ScoreTokens(ctx, ex.Tokens); err != nil {
			return nil, err
		}
	}
	return scores, nil
}
