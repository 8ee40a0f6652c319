package train

import (
	"fmt"
	"math"
)

// AdamW is torch.optim.AdamW with decoupled weight decay applied to the 2-D
// weights only (Tensor.Decay). Its state (the step count and both moment
// estimates) is exported so a checkpoint can save and restore it.
type AdamW struct {
	Beta1, Beta2 float64 // moment decay rates (0.9, 0.95 in llama2.c and nanoGPT)
	Eps          float64 // added to the bias-corrected sqrt(v)
	WeightDecay  float64 // decoupled: p ← p·(1 − lr·wd) before the Adam step

	Step int       // updates done; the next is Step+1 (bias correction is 1-based)
	M, V []float32 // first and second moments, laid out as Params.Data
}

// NewAdamW returns an optimizer for parameters shaped like p, with zero
// moments.
func NewAdamW(p *Params, beta1, beta2, eps, weightDecay float64) *AdamW {
	return &AdamW{
		Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay,
		M: make([]float32, len(p.Data)), V: make([]float32, len(p.Data)),
	}
}

// Update applies one AdamW step with learning rate lr to p, using the
// gradient gradScale·g (gradScale carries the clipping factor, so the
// gradient itself is not rewritten):
//
//	p ← p·(1 − lr·wd)                  2-D weights only
//	m ← β1·m + (1−β1)·ĝ;  v ← β2·v + (1−β2)·ĝ²
//	p ← p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
func (o *AdamW) Update(p, g *Params, lr float64, gradScale float32) error {
	if len(p.Data) != len(o.M) || len(g.Data) != len(o.M) {
		return fmt.Errorf("train: adamw: state for %d parameters, got %d parameters and %d gradients",
			len(o.M), len(p.Data), len(g.Data))
	}
	o.Step++
	t := float64(o.Step)
	b1, b2 := o.Beta1, o.Beta2
	step := lr / (1 - math.Pow(b1, t))
	rbc2 := 1 / math.Sqrt(1-math.Pow(b2, t))
	scale := float64(gradScale)
	off := 0
	for _, ten := range p.Tensors {
		keep := 1.0
		if ten.Decay() {
			keep = 1 - lr*o.WeightDecay
		}
		n := len(ten.Data)
		pp, gg := p.Data[off:off+n], g.Data[off:off+n]
		mm, vv := o.M[off:off+n], o.V[off:off+n]
		for i := range pp {
			gi := float64(gg[i]) * scale
			m := b1*float64(mm[i]) + (1-b1)*gi
			v := b2*float64(vv[i]) + (1-b2)*gi*gi
			mm[i], vv[i] = float32(m), float32(v)
			pp[i] = float32(float64(pp[i])*keep - step*m/(math.Sqrt(v)*rbc2+o.Eps))
		}
		off += n
	}
	return nil
}

// GradNorm returns the global L2 norm of all gradients, accumulated in
// float64.
func GradNorm(g *Params) float64 {
	var s float64
	for _, v := range g.Data {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// ClipCoef returns the factor torch.nn.utils.clip_grad_norm_ multiplies the
// gradients by: maxNorm/(norm + 1e-6) when that is below 1, else 1.
func ClipCoef(norm, maxNorm float64) float64 {
	if c := maxNorm / (norm + 1e-6); c < 1 {
		return c
	}
	return 1
}

// Schedule is a learning-rate schedule: linear warmup from Peak/Warmup to
// Peak over the first Warmup steps, then a cosine decay from Peak to Min,
// reached at step Total and held after it.
type Schedule struct {
	Peak, Min     float64
	Warmup, Total int
}

// LR returns the learning rate of step (1-based, as AdamW.Step after the
// update).
func (s Schedule) LR(step int) float64 {
	if s.Warmup > 0 && step <= s.Warmup {
		return s.Peak * float64(step) / float64(s.Warmup)
	}
	if step >= s.Total {
		return s.Min
	}
	progress := float64(step-s.Warmup) / float64(s.Total-s.Warmup)
	return s.Min + 0.5*(1+math.Cos(math.Pi*progress))*(s.Peak-s.Min)
}
