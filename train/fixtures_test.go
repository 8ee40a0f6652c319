package train

import (
	"encoding/binary"
	"github.com/llmos/llmos/internal/testenv"
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
)

// The PyTorch reference fixtures: ../shared/fixtures/train/README.md gives
// the formulas, tensor names and the tolerances used here.

// fixtureKinds maps a file's fixture.kind to its check.
var fixtureKinds = map[string]func(*testing.T, *gguf.File){
	"train_step":  checkTrainStep,
	"train_steps": checkTrainSteps,
	"dpo":         checkDPO,
	"reward":      checkReward,
}

func TestFixtures(t *testing.T) {
	dir := filepath.Join(testenv.Fixtures(t), "train")
	files, err := filepath.Glob(filepath.Join(dir, "*.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no training fixtures in %s (set LLMOS_FIXTURES)", dir)
	}
	eachKernel(t, func(t *testing.T) { runFixtures(t, files) })
}

func runFixtures(t *testing.T, files []string) {
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			kind, _ := f.String("fixture.kind")
			check, ok := fixtureKinds[kind]
			if !ok {
				t.Skipf("fixture.kind %q has no check in package train", kind)
			}
			check(t, f)
		})
	}
}

// decimal returns the decimal number an f32 metadata value was rounded
// from (the shortest decimal that rounds to it), as the README asks.
func decimal(t *testing.T, f *gguf.File, key string) float64 {
	t.Helper()
	v, ok := f.Float(key)
	if !ok {
		t.Fatalf("metadata %q missing", key)
	}
	return shortestDecimal(v)
}

func count(t *testing.T, f *gguf.File, key string) int {
	t.Helper()
	v, ok := f.Uint(key)
	if !ok {
		t.Fatalf("metadata %q missing", key)
	}
	return int(v)
}

func fixtureConfig(t *testing.T, f *gguf.File) Config {
	return Config{
		Dim: count(t, f, "cfg.dim"), Layers: count(t, f, "cfg.n_layers"),
		Heads: count(t, f, "cfg.n_heads"), KVHeads: count(t, f, "cfg.n_kv_heads"),
		HeadDim: count(t, f, "cfg.head_dim"), Hidden: count(t, f, "cfg.hidden_dim"),
		Vocab: count(t, f, "cfg.vocab_size"), SeqLen: count(t, f, "cfg.seq_len"),
		NormEps: decimal(t, f, "cfg.norm_eps"), RopeBase: decimal(t, f, "cfg.rope_base"),
	}
}

// tensorF32 returns the F32 tensor called name, whatever its shape.
func tensorF32(t *testing.T, f *gguf.File, name string) []float32 {
	t.Helper()
	ti, ok := f.Tensor(name)
	if !ok || ti.Type != tensor.F32 {
		t.Fatalf("F32 tensor %q missing", name)
	}
	out := make([]float32, len(ti.Data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(ti.Data[4*i:]))
	}
	return out
}

func tensorI32(t *testing.T, f *gguf.File, name string) []int32 {
	t.Helper()
	ti, ok := f.Tensor(name)
	if !ok || ti.Type != tensor.I32 {
		t.Fatalf("I32 tensor %q missing", name)
	}
	out := make([]int32, len(ti.Data)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(ti.Data[4*i:]))
	}
	return out
}

// relMax is the README's metric: max|got − ref| / max|ref|.
func relMax(got, ref []float32) float64 {
	var diff, scale float64
	for i := range ref {
		diff = max(diff, math.Abs(float64(got[i])-float64(ref[i])))
		scale = max(scale, math.Abs(float64(ref[i])))
	}
	return diff / max(scale, 1e-30)
}

func relErr(got, ref float64) float64 { return math.Abs(got-ref) / math.Abs(ref) }

// within fails the test when err exceeds tol and logs it either way, so a
// verbose run shows how much headroom each quantity has.
func within(t *testing.T, what string, err, tol float64) {
	t.Helper()
	if !(err <= tol) {
		t.Errorf("%s: error %.3g exceeds the tolerance %.3g", what, err, tol)
		return
	}
	t.Logf("%-40s error %.3g (tolerance %.3g)", what, err, tol)
}

type optConfig struct {
	lr, beta1, beta2, eps, wd, clip float64
}

func fixtureOpt(t *testing.T, f *gguf.File) optConfig {
	return optConfig{
		lr: decimal(t, f, "opt.lr"), beta1: decimal(t, f, "opt.beta1"), beta2: decimal(t, f, "opt.beta2"),
		eps: decimal(t, f, "opt.eps"), wd: decimal(t, f, "opt.weight_decay"), clip: decimal(t, f, "opt.grad_clip"),
	}
}

// lmFixture loads the model and batch shared by train_step and train_steps.
func lmFixture(t *testing.T, f *gguf.File) (*Model, *Workspace, Batch) {
	t.Helper()
	c := fixtureConfig(t, f)
	m, err := Load(f, c, LMHead, "param.")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := m.NewWorkspace(count(t, f, "cfg.batch"), c.SeqLen, 2)
	if err != nil {
		t.Fatal(err)
	}
	return m, ws, Batch{Tokens: tensorI32(t, f, "input.tokens"), Targets: tensorI32(t, f, "input.targets")}
}

func checkTrainStep(t *testing.T, f *gguf.File) {
	m, ws, batch := lmFixture(t, f)
	c := m.Config

	if err := m.Forward(ws, batch.Tokens); err != nil {
		t.Fatal(err)
	}
	within(t, "logits rel_max", relMax(ws.Logits, tensorF32(t, f, "ref.logits")), 1e-4)
	a := &ws.acts[0]
	acts := map[string][]float32{
		"ref.act.blk.0.attn_norm": a.xn1, "ref.act.blk.0.q_rope": a.q, "ref.act.blk.0.k_rope": a.k,
		"ref.act.blk.0.attn_probs": a.probs, "ref.act.blk.0.attn_out": a.att, "ref.act.final_norm": ws.Hidden,
	}
	for l := range c.Layers {
		acts["ref.act.resid."+strconv.Itoa(l)] = ws.resid[l+1]
	}
	for name, got := range acts {
		within(t, name+" rel_max", relMax(got, tensorF32(t, f, name)), 1e-4)
	}

	loss, err := m.LMGradients(ws, []Batch{batch})
	if err != nil {
		t.Fatal(err)
	}
	if n := batch.Scored(); n != count(t, f, "ref.n_targets") {
		t.Errorf("%d scored positions, fixture says %d", n, count(t, f, "ref.n_targets"))
	}
	refLoss, _ := f.Float("ref.loss")
	within(t, "loss relative", relErr(loss, refLoss), 1e-5)

	checkGrads(t, f, m.Grads)

	norm := GradNorm(m.Grads)
	refNorm, _ := f.Float("ref.grad_norm")
	within(t, "grad norm relative", relErr(norm, refNorm), 1e-5)
	o := fixtureOpt(t, f)
	coef := ClipCoef(norm, o.clip)
	refCoef, _ := f.Float("ref.clip_coef")
	within(t, "clip coef relative", relErr(coef, refCoef), 1e-5)

	// The optimizer alone, on the fixture's own gradients.
	alone, err := Load(f, c, LMHead, "param.")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range alone.Grads.Tensors {
		if err := ReadTensor(f, "grad."+g.Name, g.Shape, g.Data); err != nil {
			t.Fatal(err)
		}
	}
	opt := NewAdamW(alone.Params, o.beta1, o.beta2, o.eps, o.wd)
	if err := opt.Update(alone.Params, alone.Grads, o.lr, float32(ClipCoef(GradNorm(alone.Grads), o.clip))); err != nil {
		t.Fatal(err)
	}
	worstAlone := 0.0
	for _, p := range alone.Params.Tensors {
		ref := tensorF32(t, f, "adamw."+p.Name)
		for i, r := range ref {
			d := math.Abs(float64(p.Data[i]) - float64(r))
			worstAlone = max(worstAlone, d/(2e-7+1e-6*math.Abs(float64(r))))
		}
	}
	within(t, "adamw alone |Δ|/(2e-7+1e-6|ref|)", worstAlone, 1)

	// End to end: our gradients, our clipping, one step.
	opt = NewAdamW(m.Params, o.beta1, o.beta2, o.eps, o.wd)
	if err := opt.Update(m.Params, m.Grads, o.lr, float32(coef)); err != nil {
		t.Fatal(err)
	}
	worstTight, worstLoose := 0.0, 0.0
	for _, p := range m.Params.Tensors {
		ref := tensorF32(t, f, "adamw."+p.Name)
		refGrad := tensorF32(t, f, "grad."+p.Name)
		for i, r := range ref {
			d := math.Abs(float64(p.Data[i]) - float64(r))
			if math.Abs(refCoef*float64(refGrad[i])) >= 1e-4 {
				worstTight = max(worstTight, d/(2e-7+1e-6*math.Abs(float64(r))))
			} else {
				worstLoose = max(worstLoose, d)
			}
		}
	}
	within(t, "adamw end to end, |ĝ|≥1e-4: |Δ|/(2e-7+1e-6|ref|)", worstTight, 1)
	within(t, "adamw end to end, |ĝ|<1e-4: |Δ|", worstLoose, 1e-4)
}

func checkTrainSteps(t *testing.T, f *gguf.File) {
	m, ws, batch := lmFixture(t, f)
	o := fixtureOpt(t, f)
	steps := count(t, f, "ref.n_steps")
	refLosses, refNorms := tensorF32(t, f, "ref.losses"), tensorF32(t, f, "ref.grad_norms")
	if len(refLosses) != steps+1 || len(refNorms) != steps {
		t.Fatalf("fixture has %d losses and %d grad norms for %d steps", len(refLosses), len(refNorms), steps)
	}
	opt := NewAdamW(m.Params, o.beta1, o.beta2, o.eps, o.wd)
	worstLoss, worstNorm := 0.0, 0.0
	for s := range steps {
		loss, err := m.LMGradients(ws, []Batch{batch})
		if err != nil {
			t.Fatal(err)
		}
		norm := GradNorm(m.Grads)
		worstLoss = max(worstLoss, relErr(loss, float64(refLosses[s])))
		worstNorm = max(worstNorm, relErr(norm, float64(refNorms[s])))
		if err := opt.Update(m.Params, m.Grads, o.lr, float32(ClipCoef(norm, o.clip))); err != nil {
			t.Fatal(err)
		}
	}
	loss, err := m.LMGradients(ws, []Batch{batch})
	if err != nil {
		t.Fatal(err)
	}
	worstLoss = max(worstLoss, relErr(loss, float64(refLosses[steps])))
	within(t, "losses relative (worst of 6)", worstLoss, 1e-5)
	within(t, "grad norms relative (worst of 5)", worstNorm, 1e-5)

	total, outside, worst := 0, 0, 0.0
	for _, p := range m.Params.Tensors {
		ref := tensorF32(t, f, "final."+p.Name)
		for i, r := range ref {
			d := math.Abs(float64(p.Data[i]) - float64(r))
			total++
			if d > 2e-7+1e-6*math.Abs(float64(r)) {
				outside++
			}
			worst = max(worst, d)
		}
	}
	within(t, "final params: fraction outside the tight bound", float64(outside)/float64(total), 0.01)
	within(t, "final params: worst |Δ|", worst, 1e-4)
}

// fixturePairs reads the preference pairs of dpo.gguf and reward.gguf (the
// latter has no targets).
func fixturePairs(t *testing.T, f *gguf.File) Pairs {
	t.Helper()
	p := Pairs{
		Chosen:   Batch{Tokens: tensorI32(t, f, "input.chosen.tokens")},
		Rejected: Batch{Tokens: tensorI32(t, f, "input.rejected.tokens")},
	}
	if _, ok := f.Tensor("input.chosen.targets"); ok {
		p.Chosen.Targets = tensorI32(t, f, "input.chosen.targets")
		p.Rejected.Targets = tensorI32(t, f, "input.rejected.targets")
	} else {
		p.Chosen.Targets = make([]int32, len(p.Chosen.Tokens))
		p.Rejected.Targets = make([]int32, len(p.Rejected.Tokens))
	}
	for _, n := range tensorI32(t, f, "input.chosen.len") {
		p.ChosenLen = append(p.ChosenLen, int(n))
	}
	for _, n := range tensorI32(t, f, "input.rejected.len") {
		p.RejectedLen = append(p.RejectedLen, int(n))
	}
	return p
}

// absMax returns max_i |got_i − ref_i|.
func absMax(got []float64, ref []float32) float64 {
	var d float64
	for i := range ref {
		d = max(d, math.Abs(got[i]-float64(ref[i])))
	}
	return d
}

// checkGrads compares every gradient tensor with grad.<name>, exact zeros
// included.
func checkGrads(t *testing.T, f *gguf.File, g *Params) {
	t.Helper()
	worst := 0.0
	for _, ten := range g.Tensors {
		ref := tensorF32(t, f, "grad."+ten.Name)
		e := relMax(ten.Data, ref)
		if e > 1e-4 {
			t.Errorf("grad.%s: rel_max %.3g exceeds 1e-4", ten.Name, e)
		}
		worst = max(worst, e)
		// README: exact zeros (unused token rows) must come out exactly 0.
		for i := range ref {
			if ref[i] == 0 && ten.Data[i] != 0 {
				t.Errorf("grad.%s[%d] = %g, want exactly 0", ten.Name, i, ten.Data[i])
				break
			}
		}
	}
	within(t, "grad.* rel_max (worst tensor)", worst, 1e-4)
}

func checkDPO(t *testing.T, f *gguf.File) {
	c := fixtureConfig(t, f)
	policy, err := Load(f, c, LMHead, "param.")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Load(f, c, LMHead, "refmodel.")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := policy.NewWorkspace(2*count(t, f, "cfg.batch"), c.SeqLen, 2)
	if err != nil {
		t.Fatal(err)
	}
	res, err := DPOGradients(policy, ref, ws, fixturePairs(t, f), decimal(t, f, "dpo.beta"))
	if err != nil {
		t.Fatal(err)
	}
	refLoss, _ := f.Float("ref.loss")
	within(t, "loss relative", relErr(res.Loss, refLoss), 3e-5)
	logps := 0.0
	for name, got := range map[string][]float64{
		"ref.policy_chosen_logps": res.PolicyChosen, "ref.policy_rejected_logps": res.PolicyRejected,
		"ref.refmodel_chosen_logps": res.RefChosen, "ref.refmodel_rejected_logps": res.RefRejected,
	} {
		logps = max(logps, absMax(got, tensorF32(t, f, name)))
	}
	within(t, "log-probs absolute (worst)", logps, 2e-4)
	rewards := max(absMax(res.ChosenRewards, tensorF32(t, f, "ref.chosen_rewards")),
		absMax(res.RejectedRewards, tensorF32(t, f, "ref.rejected_rewards")))
	within(t, "implicit rewards absolute (worst)", rewards, 2e-5)
	checkGrads(t, f, policy.Grads)
}

func checkReward(t *testing.T, f *gguf.File) {
	c := fixtureConfig(t, f)
	m, err := Load(f, c, RewardHead, "param.")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := m.NewWorkspace(2*count(t, f, "cfg.batch"), c.SeqLen, 2)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.RewardGradients(ws, fixturePairs(t, f))
	if err != nil {
		t.Fatal(err)
	}
	refLoss, _ := f.Float("ref.loss")
	within(t, "loss relative", relErr(res.Loss, refLoss), 1e-5)
	rewards := max(absMax(res.Chosen, tensorF32(t, f, "ref.chosen_rewards")),
		absMax(res.Rejected, tensorF32(t, f, "ref.rejected_rewards")))
	within(t, "rewards absolute (worst)", rewards, 1e-5)
	checkGrads(t, f, m.Grads)
}
