package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/convo"
	"github.com/llmos/llmos/gguf"
)

// The fine-tuning objectives a RunConfig may name. They share Run and
// Resume with pretraining (checkpoints, resume, progress, log and plots);
// what differs is the data and the loss, which an objective supplies.
const (
	// SFT is supervised fine-tuning: next-token cross-entropy on the
	// assistant's tokens of conversations, packed into rows.
	SFT = "sft"
	// Reward trains a reward model: the trunk of the model with a scalar
	// head (reward_head.weight) in place of output.weight, and the
	// Bradley–Terry loss on preference pairs.
	Reward = "reward"
	// DPO is direct preference optimisation against the frozen starting
	// model.
	DPO = "dpo"
)

// KeyRewardModel is the metadata key (bool, true) that marks a reward model:
// a llama trunk with reward_head.weight [1, Dim] and no output.weight.
const KeyRewardModel = "llmos.reward_model"

const rewardHeadName = "reward_head.weight"

// objective is a fine-tuning run's data and loss: it draws the batches of
// each step, sets the gradients, evaluates on its validation split, and
// saves and restores its place in the data.
type objective interface {
	// start allocates the workspace of model m (and may compute fixed
	// quantities, such as DPO's reference log-probabilities).
	start(m *Model, progress io.Writer) (*Workspace, error)
	tokensPerStep() int64
	// gradients sets m.Grads for the next step and returns its loss and
	// metrics.
	gradients(m *Model) (Record, error)
	evaluate(m *Model) (Record, error)
	position() any
	seek(pos string) error
}

func (c RunConfig) validateFinetune() error {
	switch {
	case c.Objective != SFT && c.Objective != Reward && c.Objective != DPO:
		return fmt.Errorf("train: unknown objective %q (want %s, %s or %s)", c.Objective, SFT, Reward, DPO)
	case c.Model == "":
		return fmt.Errorf("train: %s starts from a model: give one", c.Objective)
	case c.ValFraction < 0 || c.ValFraction >= 1:
		return fmt.Errorf("train: validation fraction %g outside [0, 1)", c.ValFraction)
	case c.Objective == DPO && !(c.Beta > 0):
		return fmt.Errorf("train: dpo needs a positive beta, got %g", c.Beta)
	}
	return nil
}

// newFinetuneRunner reads the starting model's tokenizer and chat template,
// and the data, which it tokenizes, splits and (for SFT) packs.
func newFinetuneRunner(cfg RunConfig, progress io.Writer) (*runner, error) {
	f, err := gguf.Open(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", cfg.Objective, err)
	}
	defer f.Close()
	r := &runner{cfg: cfg, progress: progress}
	template := false
	for _, kv := range f.KV {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			r.tok = append(r.tok, kv)
			template = template || kv.Key == "tokenizer.chat_template"
		}
	}
	if !template {
		r.tok = append(r.tok, gguf.KV{Key: "tokenizer.chat_template", Type: gguf.TypeString, Value: chat.ChatML})
	}
	enc, err := convo.EncoderFromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", cfg.Model, err)
	}
	mc, err := ConfigFromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", cfg.Model, err)
	}
	r.T = cfg.SeqLen
	if r.T == 0 {
		r.T = mc.SeqLen
	}
	if r.T > mc.SeqLen {
		return nil, fmt.Errorf("train: sequence length %d is past the model's context of %d", r.T, mc.SeqLen)
	}
	if cfg.Objective == SFT {
		r.obj, err = newSFT(cfg, enc, r.T, r.progressOut())
	} else {
		r.obj, err = newPairObjective(cfg, enc, r.T, r.progressOut())
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// initFinetuneModel loads the starting model; a reward model keeps its
// trunk and gets a new scalar head, drawn from N(0, 0.02²) with the seed.
func (r *runner) initFinetuneModel() error {
	f, err := gguf.Open(r.cfg.Model)
	if err != nil {
		return fmt.Errorf("train: initial model: %w", err)
	}
	defer f.Close()
	m, err := LoadGGUF(f)
	if err != nil {
		return fmt.Errorf("train: initial model %s: %w", r.cfg.Model, err)
	}
	if r.cfg.Objective == Reward {
		rm, err := New(m.Config, RewardHead)
		if err != nil {
			return err
		}
		for _, t := range rm.Params.Tensors {
			if src, ok := m.Params.Lookup(t.Name); ok {
				copy(t.Data, src.Data)
			}
		}
		rng := rand.New(rand.NewPCG(r.cfg.Seed, 0x726577617264))
		for i := range rm.Params.Head {
			rm.Params.Head[i] = float32(0.02 * rng.NormFloat64())
		}
		m = rm
	}
	r.m = m
	c := r.cfg
	r.opt = NewAdamW(r.m.Params, c.Beta1, c.Beta2, c.Eps, c.WeightDecay)
	return nil
}

// metrics formats a record's pairwise metrics for the progress output.
func (r *runner) metrics(rec Record) string {
	switch r.cfg.Objective {
	case Reward:
		return fmt.Sprintf(", val accuracy %.3f", rec.Accuracy)
	case DPO:
		return fmt.Sprintf(", val accuracy %.3f, val margin %.4f", rec.Accuracy, rec.Margin)
	}
	return ""
}

// cursor walks a training set epoch after epoch, each epoch in an order
// drawn from the seed and the epoch number, so that a position (epoch,
// next) is all a checkpoint needs to continue it.
type cursor struct {
	n     int
	seed  uint64
	order []int
	Epoch int `json:"epoch"`
	Next  int `json:"next"`
}

func newCursor(n int, seed uint64) *cursor {
	c := &cursor{n: n, seed: seed}
	c.shuffle()
	return c
}

func (c *cursor) shuffle() {
	c.order = rand.New(rand.NewPCG(c.seed, uint64(c.Epoch))).Perm(c.n)
}

// take returns the index of the next example.
func (c *cursor) take() int {
	if c.Next == c.n {
		c.Epoch, c.Next = c.Epoch+1, 0
		c.shuffle()
	}
	c.Next++
	return c.order[c.Next-1]
}

func (c *cursor) seek(pos string) error {
	var p struct {
		Epoch, Next int
	}
	if err := json.Unmarshal([]byte(pos), &p); err != nil {
		return fmt.Errorf("train: data position %q: %w", pos, err)
	}
	if p.Epoch < 0 || p.Next < 0 || p.Next > c.n {
		return fmt.Errorf("train: data position %q is outside the %d training examples", pos, c.n)
	}
	c.Epoch, c.Next = p.Epoch, p.Next
	c.shuffle()
	return nil
}

// sft is supervised fine-tuning on packed conversations.
type sft struct {
	cfg        RunConfig
	T          int
	train, val []convo.Row
	cur        *cursor
	ws         *Workspace
	micro      []Batch
}

func newSFT(cfg RunConfig, enc *convo.Encoder, T int, progress io.Writer) (*sft, error) {
	convs, err := convo.ReadConversations(cfg.Data)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	exs := make([]convo.Example, len(convs))
	for i, c := range convs {
		if exs[i], err = enc.Encode(c); err != nil {
			return nil, fmt.Errorf("train: %s: conversation %d: %w", cfg.Data, i+1, err)
		}
	}
	trainIdx, valIdx := convo.Split(len(exs), cfg.ValFraction, cfg.Seed)
	if len(valIdx) == 0 && cfg.EvalBatches > 0 {
		return nil, fmt.Errorf("train: %d conversations leave none for validation at fraction %g: raise it or set eval batches to 0", len(exs), cfg.ValFraction)
	}
	pick := func(idx []int) []convo.Example {
		out := make([]convo.Example, len(idx))
		for i, k := range idx {
			out[i] = exs[k]
		}
		return out
	}
	pad := padToken(enc)
	s := &sft{cfg: cfg, T: T}
	var st, vst convo.PackStats
	s.train, st = convo.Pack(pick(trainIdx), T, pad)
	s.val, vst = convo.Pack(pick(valIdx), T, pad)
	if len(s.train) == 0 {
		return nil, fmt.Errorf("train: %s: no training rows (every conversation was cut to nothing at %d tokens)", cfg.Data, T)
	}
	fmt.Fprintf(progress, "sft data: %d conversations → train %d in %d rows of %d (%d tokens, %d scored), val %d in %d rows; %d cut to the row length, %d dropped\n",
		len(exs), st.Examples, st.Rows, T, st.Tokens, st.Scored, vst.Examples, vst.Rows, st.Truncated+vst.Truncated, st.Dropped+vst.Dropped)
	s.cur = newCursor(len(s.train), cfg.Seed)
	return s, nil
}

// padToken is the token that fills rows and sequences: EOS, never scored.
func padToken(enc *convo.Encoder) int32 {
	if eos := enc.Tok.EOS(); eos >= 0 {
		return eos
	}
	return 0
}

func (s *sft) start(m *Model, _ io.Writer) (*Workspace, error) {
	var err error
	if s.ws, err = m.NewWorkspace(s.cfg.Batch, s.T, s.cfg.Threads); err != nil {
		return nil, err
	}
	s.micro = make([]Batch, s.cfg.GradAccum)
	for i := range s.micro {
		s.micro[i] = Batch{Tokens: make([]int32, s.cfg.Batch*s.T), Targets: make([]int32, s.cfg.Batch*s.T)}
	}
	return s.ws, nil
}

func (s *sft) tokensPerStep() int64 { return int64(s.cfg.Batch * s.T * s.cfg.GradAccum) }

func (s *sft) gradients(m *Model) (Record, error) {
	for _, b := range s.micro {
		for k := range s.cfg.Batch {
			row := s.train[s.cur.take()]
			copy(b.Tokens[k*s.T:], row.Tokens)
			copy(b.Targets[k*s.T:], row.Targets)
		}
	}
	loss, err := m.LMGradients(s.ws, s.micro)
	return Record{Loss: loss}, err
}

// evaluate returns the mean cross-entropy per scored token over the first
// EvalBatches batches of validation rows (a short last batch is filled
// with unscored rows).
func (s *sft) evaluate(m *Model) (Record, error) {
	b := s.micro[0]
	var sum float64
	var n int
	for i := 0; i < len(s.val) && i < s.cfg.EvalBatches*s.cfg.Batch; i += s.cfg.Batch {
		for k := range s.cfg.Batch {
			if i+k < len(s.val) {
				copy(b.Tokens[k*s.T:], s.val[i+k].Tokens)
				copy(b.Targets[k*s.T:], s.val[i+k].Targets)
			} else {
				fill32(b.Targets[k*s.T:(k+1)*s.T], -1)
			}
		}
		if err := m.Forward(s.ws, b.Tokens); err != nil {
			return Record{}, err
		}
		sc, k, err := s.ws.CrossEntropy(b.Targets, 1)
		if err != nil {
			return Record{}, err
		}
		sum, n = sum+sc, n+k
	}
	if n == 0 {
		return Record{}, errors.New("train: validation: no scored tokens")
	}
	return Record{Loss: sum / float64(n)}, nil
}

func (s *sft) position() any         { return s.cur }
func (s *sft) seek(pos string) error { return s.cur.seek(pos) }

func fill32(s []int32, v int32) {
	for i := range s {
		s[i] = v
	}
}

// pair is a tokenized preference pair, cut to fit the sequence length.
type pair struct{ chosen, rejected convo.Example }

// pairObjective trains a reward model or runs DPO on preference pairs.
type pairObjective struct {
	cfg        RunConfig
	T          int
	train, val []pair
	cur        *cursor
	ws         *Workspace
	batch      Pairs
	acc        []float32 // the mean gradient over micro-batches, with GradAccum > 1

	// DPO: the reference model's log-probabilities of each pair's
	// responses, [chosen, rejected], computed once by start.
	refTrain, refVal [][2]float64
}

func newPairObjective(cfg RunConfig, enc *convo.Encoder, T int, progress io.Writer) (*pairObjective, error) {
	ps, err := convo.ReadPairs(cfg.Data)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	all := make([]pair, len(ps))
	cut := 0
	for i, p := range ps {
		c, r, err := enc.EncodePair(p)
		if err != nil {
			return nil, fmt.Errorf("train: %s: pair %d: %w", cfg.Data, i+1, err)
		}
		var trimmed bool
		c, r, trimmed = convo.FitPair(c, r, T)
		if trimmed {
			cut++
		}
		all[i] = pair{c, r}
	}
	trainIdx, valIdx := convo.Split(len(all), cfg.ValFraction, cfg.Seed)
	if len(valIdx) == 0 && cfg.EvalBatches > 0 {
		return nil, fmt.Errorf("train: %d pairs leave none for validation at fraction %g: raise it or set eval batches to 0", len(all), cfg.ValFraction)
	}
	o := &pairObjective{cfg: cfg, T: T}
	for _, k := range trainIdx {
		o.train = append(o.train, all[k])
	}
	for _, k := range valIdx {
		o.val = append(o.val, all[k])
	}
	fmt.Fprintf(progress, "%s data: %d pairs → %d train, %d val; %d cut to %d tokens\n", cfg.Objective, len(all), len(o.train), len(o.val), cut, T)
	o.cur = newCursor(len(o.train), cfg.Seed)
	return o, nil
}

func (o *pairObjective) start(m *Model, progress io.Writer) (*Workspace, error) {
	c := o.cfg
	var err error
	if o.ws, err = m.NewWorkspace(2*c.Batch, o.T, c.Threads); err != nil {
		return nil, err
	}
	n := c.Batch * o.T
	o.batch = Pairs{
		Chosen:    Batch{Tokens: make([]int32, n), Targets: make([]int32, n)},
		Rejected:  Batch{Tokens: make([]int32, n), Targets: make([]int32, n)},
		ChosenLen: make([]int, c.Batch), RejectedLen: make([]int, c.Batch),
	}
	if c.GradAccum > 1 {
		o.acc = make([]float32, len(m.Params.Data))
	}
	if c.Objective == DPO {
		return o.ws, o.reference(progress)
	}
	return o.ws, nil
}

// reference computes the frozen reference model's log-probabilities of
// every pair once. The reference is the starting model, read again from
// its file, so a resumed run gets the same numbers.
func (o *pairObjective) reference(progress io.Writer) error {
	f, err := gguf.Open(o.cfg.Model)
	if err != nil {
		return fmt.Errorf("train: dpo reference: %w", err)
	}
	defer f.Close()
	ref, err := LoadGGUF(f)
	if err != nil {
		return fmt.Errorf("train: dpo reference %s: %w", o.cfg.Model, err)
	}
	fmt.Fprintf(progress, "dpo: reference log-probabilities of %d pairs\n", len(o.train)+len(o.val))
	if o.refTrain, err = o.logProbs(ref, o.train); err != nil {
		return err
	}
	o.refVal, err = o.logProbs(ref, o.val)
	return err
}

func (o *pairObjective) logProbs(m *Model, set []pair) ([][2]float64, error) {
	out := make([][2]float64, len(set))
	for i := 0; i < len(set); i += o.cfg.Batch {
		o.fill(set, i)
		c, r, err := m.ResponseLogProbs(o.ws, o.batch)
		if err != nil {
			return nil, err
		}
		for k := 0; k < o.cfg.Batch && i+k < len(set); k++ {
			out[i+k] = [2]float64{c[k], r[k]}
		}
	}
	return out, nil
}

// fill lays out set[i:i+Batch] as o.batch; past the end of set it repeats
// set[i], whose results the caller ignores.
func (o *pairObjective) fill(set []pair, i int) {
	for k := range o.cfg.Batch {
		p := set[i]
		if i+k < len(set) {
			p = set[i+k]
		}
		o.batch.ChosenLen[k] = o.place(o.batch.Chosen, k, p.chosen)
		o.batch.RejectedLen[k] = o.place(o.batch.Rejected, k, p.rejected)
	}
}

// place writes ex as sequence k of b (right-padded, targets on the scored
// tokens) and returns its length.
func (o *pairObjective) place(b Batch, k int, ex convo.Example) int {
	toks, tgts := b.Tokens[k*o.T:(k+1)*o.T], b.Targets[k*o.T:(k+1)*o.T]
	fill32(toks, 0)
	fill32(tgts, -1)
	copy(toks, ex.Tokens)
	for j := 0; j+1 < len(ex.Tokens); j++ {
		if ex.Scored[j+1] {
			tgts[j] = ex.Tokens[j+1]
		}
	}
	return len(ex.Tokens)
}

func (o *pairObjective) tokensPerStep() int64 {
	return int64(2 * o.cfg.Batch * o.T * o.cfg.GradAccum)
}

func (o *pairObjective) gradients(m *Model) (Record, error) {
	var total Record
	accum := o.cfg.GradAccum
	clear(o.acc)
	for range accum {
		idx := make([]int, o.cfg.Batch)
		set := make([]pair, o.cfg.Batch)
		for k := range idx {
			idx[k] = o.cur.take()
			set[k] = o.train[idx[k]]
		}
		o.fill(set, 0)
		var rec Record
		var err error
		if o.cfg.Objective == DPO {
			rc, rr := make([]float64, len(idx)), make([]float64, len(idx))
			for k, i := range idx {
				rc[k], rr[k] = o.refTrain[i][0], o.refTrain[i][1]
			}
			var res *DPOResult
			if res, err = m.DPOGradientsRef(o.ws, o.batch, rc, rr, o.cfg.Beta); err == nil {
				rec = pairRecord(res.Loss, res.ChosenRewards, res.RejectedRewards)
			}
		} else {
			var res *RewardResult
			if res, err = m.RewardGradients(o.ws, o.batch); err == nil {
				rec = pairRecord(res.Loss, res.Chosen, res.Rejected)
			}
		}
		if err != nil {
			return Record{}, err
		}
		total.Loss += rec.Loss / float64(accum)
		total.Accuracy += rec.Accuracy / float64(accum)
		total.Margin += rec.Margin / float64(accum)
		if o.acc != nil {
			axpy(o.acc, 1/float32(accum), m.Grads.Data)
		}
	}
	if o.acc != nil {
		copy(m.Grads.Data, o.acc)
	}
	return total, nil
}

// pairRecord summarises scores of the chosen and rejected sides: the loss,
// the share of pairs ranked right and the mean margin.
func pairRecord(loss float64, chosen, rejected []float64) Record {
	rec := Record{Loss: loss}
	for i, c := range chosen {
		if c > rejected[i] {
			rec.Accuracy++
		}
		rec.Margin += c - rejected[i]
	}
	rec.Accuracy /= float64(len(chosen))
	rec.Margin /= float64(len(chosen))
	return rec
}

// evaluate scores the first EvalBatches batches of validation pairs without
// gradients: the loss, the share of pairs whose chosen side gets the higher
// reward (the reward model's, or DPO's implicit β·(log π − log ref)), and
// the mean margin between them.
func (o *pairObjective) evaluate(m *Model) (Record, error) {
	var chosen, rejected []float64
	var loss float64
	limit := min(len(o.val), o.cfg.EvalBatches*o.cfg.Batch)
	for i := 0; i < limit; i += o.cfg.Batch {
		o.fill(o.val, i)
		var c, r []float64
		if o.cfg.Objective == DPO {
			pc, pr, err := m.ResponseLogProbs(o.ws, o.batch)
			if err != nil {
				return Record{}, err
			}
			c, r = make([]float64, len(pc)), make([]float64, len(pr))
			for k := range pc {
				if i+k < limit {
					c[k] = o.cfg.Beta * (pc[k] - o.refVal[i+k][0])
					r[k] = o.cfg.Beta * (pr[k] - o.refVal[i+k][1])
				}
			}
		} else {
			res, err := m.Rewards(o.ws, o.batch)
			if err != nil {
				return Record{}, err
			}
			c, r = res.Chosen, res.Rejected
		}
		n := min(o.cfg.Batch, limit-i)
		for k := range n {
			loss += softplus(r[k] - c[k])
		}
		chosen, rejected = append(chosen, c[:n]...), append(rejected, r[:n]...)
	}
	if len(chosen) == 0 {
		return Record{}, errors.New("train: validation: no pairs")
	}
	return pairRecord(loss/float64(len(chosen)), chosen, rejected), nil
}

func (o *pairObjective) position() any         { return o.cur }
func (o *pairObjective) seek(pos string) error { return o.cur.seek(pos) }
