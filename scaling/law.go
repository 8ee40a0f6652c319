// Package scaling fits and uses scaling laws: the final loss of a language
// model as a function of its parameter count N and its training tokens D,
//
//	L(N, D) = E + A/N^α + B/D^β,
//
// fitted the way Hoffmann et al. 2022 ("Chinchilla", Approach 3) did, with
// bootstrap intervals, the compute-optimal split of a FLOP budget between N
// and D, and plots. Runs come from a sweep's results file or from any CSV or
// JSONL table of (N, D or C, loss).
package scaling

import (
	"fmt"
	"math"
)

// Law is the parametric loss L(N, D) = E + A/N^Alpha + B/D^Beta.
type Law struct {
	// E is the irreducible loss, reached with infinite N and D.
	E float64
	// A and Alpha set how the loss falls with parameters.
	A, Alpha float64
	// B and Beta set how the loss falls with training tokens.
	B, Beta float64
}

// Loss predicts the final loss of a model of n parameters trained on d tokens.
func (l Law) Loss(n, d float64) float64 {
	return l.E + l.A*math.Pow(n, -l.Alpha) + l.B*math.Pow(d, -l.Beta)
}

// Exponents returns a and b of the compute-optimal allocation
// N_opt ∝ C^a and D_opt ∝ C^b: a = β/(α+β), b = α/(α+β).
func (l Law) Exponents() (a, b float64) {
	s := l.Alpha + l.Beta
	return l.Beta / s, l.Alpha / s
}

// Optimal returns the parameter count and token count that minimise the
// predicted loss for a budget of c training FLOPs, taking C = 6ND:
// N_opt = G (C/6)^a and D_opt = (C/6)^b / G with
// G = (αA/(βB))^(1/(α+β)) (Hoffmann et al. 2022, eq. 4). Both are NaN when
// the law has no interior optimum (α or β not positive).
func (l Law) Optimal(c float64) (n, d float64) {
	if !(l.Alpha > 0) || !(l.Beta > 0) || !(l.A > 0) || !(l.B > 0) {
		return math.NaN(), math.NaN()
	}
	a, b := l.Exponents()
	g := math.Pow(l.Alpha*l.A/(l.Beta*l.B), 1/(l.Alpha+l.Beta))
	return g * math.Pow(c/6, a), math.Pow(c/6, b) / g
}

// String formats the law as an equation.
func (l Law) String() string {
	return fmt.Sprintf("L(N, D) = %.4g + %.4g/N^%.4g + %.4g/D^%.4g", l.E, l.A, l.Alpha, l.B, l.Beta)
}
