package scaling

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// Estimate is a fitted value with its bootstrap confidence interval. The
// interval ends are NaN (null in JSON) when no bootstrap was run.
type Estimate struct {
	Value   float64
	CILower float64
	CIUpper float64
}

// MarshalJSON writes {"value": v, "ci_lower": lo, "ci_upper": hi}, with
// null for a missing interval end.
func (e Estimate) MarshalJSON() ([]byte, error) {
	num := func(x float64) *float64 {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return &x
	}
	return json.Marshal(struct {
		Value   *float64 `json:"value"`
		CILower *float64 `json:"ci_lower"`
		CIUpper *float64 `json:"ci_upper"`
	}{num(e.Value), num(e.CILower), num(e.CIUpper)})
}

// Allocation is the compute-optimal model for one FLOP budget.
type Allocation struct {
	// C is the budget in training FLOPs.
	C float64 `json:"C"`
	// N and D are the optimal parameters and tokens, with C = 6ND.
	N Estimate `json:"N"`
	D Estimate `json:"D"`
	// Loss is the loss the law predicts at (N, D).
	Loss Estimate `json:"loss"`
}

// Report gathers a fit, its intervals and the compute-optimal allocation
// for a few budgets; it is what `llmos scaling fit` prints.
type Report struct {
	E     Estimate `json:"E"`
	A     Estimate `json:"A"`
	B     Estimate `json:"B"`
	Alpha Estimate `json:"alpha"`
	Beta  Estimate `json:"beta"`
	// NExponent and DExponent are a and b in N_opt ∝ C^a, D_opt ∝ C^b.
	NExponent Estimate `json:"n_opt_exponent"`
	DExponent Estimate `json:"d_opt_exponent"`
	// Level is the confidence level of the intervals, e.g. 0.95.
	Level float64 `json:"ci_level"`
	// Resamples is the number of bootstrap refits behind the intervals.
	Resamples int `json:"bootstrap_resamples"`
	// Runs is the number of runs fitted.
	Runs int `json:"runs"`
	// Objective is the summed Huber loss at the optimum.
	Objective float64 `json:"huber_objective"`
	// RMSLogResidual is the root mean square of log(predicted/actual).
	RMSLogResidual float64 `json:"rms_log_residual"`
	// Optimal holds the compute-optimal allocation per budget.
	Optimal []Allocation `json:"optimal"`
}

// DefaultBudgets are the FLOP budgets a report lists: 1e18 to 1e24.
var DefaultBudgets = []float64{1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24}

// NewReport summarises fit with intervals from boot (nil for none) at the
// given confidence level, and the optimal allocation for each budget.
func NewReport(fit *Fit, boot *Bootstrap, level float64, budgets []float64) Report {
	est := func(stat func(Law) float64) Estimate {
		lo, hi := boot.Interval(level, stat)
		return Estimate{Value: stat(fit.Law), CILower: lo, CIUpper: hi}
	}
	r := Report{
		E:              est(func(l Law) float64 { return l.E }),
		A:              est(func(l Law) float64 { return l.A }),
		B:              est(func(l Law) float64 { return l.B }),
		Alpha:          est(func(l Law) float64 { return l.Alpha }),
		Beta:           est(func(l Law) float64 { return l.Beta }),
		NExponent:      est(func(l Law) float64 { a, _ := l.Exponents(); return a }),
		DExponent:      est(func(l Law) float64 { _, b := l.Exponents(); return b }),
		Level:          level,
		Runs:           fit.Runs,
		Objective:      fit.Objective,
		RMSLogResidual: fit.RMSLogResidual,
	}
	if boot != nil {
		r.Resamples = len(boot.Laws)
	}
	for _, c := range budgets {
		r.Optimal = append(r.Optimal, Allocation{
			C:    c,
			N:    est(func(l Law) float64 { n, _ := l.Optimal(c); return n }),
			D:    est(func(l Law) float64 { _, d := l.Optimal(c); return d }),
			Loss: est(func(l Law) float64 { n, d := l.Optimal(c); return l.Loss(n, d) }),
		})
	}
	return r
}

// WriteText prints the report as aligned tables.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "L(N, D) = E + A/N^alpha + B/D^beta fitted to %d runs (Huber objective %.4g, RMS log residual %.3g)\n", r.Runs, r.Objective, r.RMSLogResidual)
	interval := fmt.Sprintf("%g%% interval (%d bootstrap refits)", 100*r.Level, r.Resamples)
	if r.Resamples == 0 {
		interval = "interval (no bootstrap)"
	}
	fmt.Fprintf(tw, "\nconstant\tvalue\t%s\n", interval)
	for _, row := range []struct {
		name string
		e    Estimate
	}{{"E", r.E}, {"A", r.A}, {"B", r.B}, {"alpha", r.Alpha}, {"beta", r.Beta},
		{"a (N_opt ∝ C^a)", r.NExponent}, {"b (D_opt ∝ C^b)", r.DExponent}} {
		fmt.Fprintf(tw, "%s\t%.4g\t%s\n", row.name, row.e.Value, span(row.e))
	}
	if len(r.Optimal) > 0 {
		fmt.Fprintf(tw, "\nbudget C (FLOPs)\tN_opt\tD_opt\tD/N\tpredicted loss\tN_opt interval\tD_opt interval\n")
		for _, a := range r.Optimal {
			fmt.Fprintf(tw, "%.0e\t%.3g\t%.3g\t%.3g\t%.4g\t%s\t%s\n", a.C, a.N.Value, a.D.Value, a.D.Value/a.N.Value, a.Loss.Value, span(a.N), span(a.D))
		}
	}
	return tw.Flush()
}

func span(e Estimate) string {
	if math.IsNaN(e.CILower) || math.IsNaN(e.CIUpper) {
		return "-"
	}
	return fmt.Sprintf("[%.4g, %.4g]", e.CILower, e.CIUpper)
}
