package recipe

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"

	"github.com/llmos/llmos/tool"
)

// Problem is an arithmetic question the assistant answers by calling the
// calculator: the user's words, the expression to evaluate, the
// calculator's result and the final answer that uses it.
type Problem struct {
	Question string `json:"question"`
	Expr     string `json:"expression"`
	Result   string `json:"result"` // the calculator's output for Expr
	Answer   string `json:"answer"` // the final reply, mentioning Result
}

// phrasing is one way of asking: templates for the question and the final
// answer over the operand slots {a} {b} {c}, the expression {e} and the
// result {r}.
type phrasing struct {
	q, a string
}

// opKind is an operation with its phrasings and operand draws.
type opKind struct {
	expr      string // expression template over {a} {b} {c}
	phrasings []phrasing
	draw      func(rng *rand.Rand) (a, b, c string)
}

var opKinds = []opKind{
	{"{a} + {b}", []phrasing{
		{"What is {a} plus {b}?", "{a} plus {b} is {r}."},
		{"What is {a} + {b}?", "{a} + {b} = {r}."},
		{"What's {a}+{b}?", "{a} + {b} = {r}."},
		{"Add {a} and {b}.", "{a} plus {b} is {r}."},
		{"How much is {a} plus {b}?", "{a} plus {b} is {r}."},
		{"What is the sum of {a} and {b}?", "The sum of {a} and {b} is {r}."},
		{"Can you add {a} and {b} for me?", "Sure! {a} plus {b} is {r}."},
		{"Calculate {a} + {b}.", "{a} + {b} = {r}."},
		{"Tom has {a} apples and gets {b} more. How many apples does he have now?", "Tom has {r} apples now."},
	}, drawSum},
	{"{a} - {b}", []phrasing{
		{"What is {a} minus {b}?", "{a} minus {b} is {r}."},
		{"What is {a} - {b}?", "{a} - {b} = {r}."},
		{"Subtract {b} from {a}.", "{a} minus {b} is {r}."},
		{"How much is {a} take away {b}?", "{a} take away {b} is {r}."},
		{"What is the difference between {a} and {b}?", "The difference between {a} and {b} is {r}."},
		{"Calculate {a} - {b}.", "{a} - {b} = {r}."},
		{"Sara had {a} candies and ate {b} of them. How many candies are left?", "Sara has {r} candies left."},
	}, drawDifference},
	{"{a} * {b}", []phrasing{
		{"What is {a} times {b}?", "{a} times {b} is {r}."},
		{"What is {a} * {b}?", "{a} * {b} = {r}."},
		{"What is {a} x {b}?", "{a} x {b} = {r}."},
		{"Multiply {a} by {b}.", "{a} times {b} is {r}."},
		{"What is the product of {a} and {b}?", "The product of {a} and {b} is {r}."},
		{"How much is {a} multiplied by {b}?", "{a} multiplied by {b} is {r}."},
		{"Calculate {a} * {b}.", "{a} * {b} = {r}."},
		{"There are {a} boxes with {b} toys in each box. How many toys are there?", "There are {r} toys."},
	}, drawProduct},
	{"{a} / {b}", []phrasing{
		{"What is {a} divided by {b}?", "{a} divided by {b} is {r}."},
		{"What is {a} / {b}?", "{a} / {b} = {r}."},
		{"Divide {a} by {b}.", "{a} divided by {b} is {r}."},
		{"How much is {a} over {b}?", "{a} over {b} is {r}."},
		{"Calculate {a} / {b}.", "{a} / {b} = {r}."},
		{"{a} cookies are shared equally by {b} children. How many cookies does each child get?", "Each child gets {r} cookies."},
	}, drawQuotient},
	{"({a} + {b}) * {c}", []phrasing{
		{"What is ({a} + {b}) * {c}?", "({a} + {b}) * {c} = {r}."},
		{"Calculate ({a} + {b}) * {c}.", "({a} + {b}) * {c} = {r}."},
		{"What do you get if you add {a} and {b} and then multiply by {c}?", "You get {r}."},
	}, drawThree},
	{"{a} + {b} * {c}", []phrasing{
		{"What is {a} + {b} * {c}?", "{a} + {b} * {c} = {r}."},
		{"Calculate {a} + {b} * {c}.", "{a} + {b} * {c} = {r}."},
	}, drawThree},
	{"{a} - {b} + {c}", []phrasing{
		{"What is {a} - {b} + {c}?", "{a} - {b} + {c} = {r}."},
		{"How much is {a} minus {b} plus {c}?", "{a} minus {b} plus {c} is {r}."},
	}, drawThree},
}

func num(n int) string { return fmt.Sprint(n) }

// small draws operands as people ask them: mostly one or two digits,
// sometimes three.
func small(rng *rand.Rand) int {
	switch rng.IntN(10) {
	case 0:
		return rng.IntN(10)
	case 1, 2:
		return 100 + rng.IntN(900)
	}
	return rng.IntN(100)
}

func drawSum(rng *rand.Rand) (string, string, string) {
	if rng.IntN(8) == 0 { // a decimal now and then
		return fmt.Sprintf("%d.%d", rng.IntN(20), 1+rng.IntN(9)), fmt.Sprintf("%d.%d", rng.IntN(20), 1+rng.IntN(9)), ""
	}
	return num(small(rng)), num(small(rng)), ""
}

func drawDifference(rng *rand.Rand) (string, string, string) {
	a, b := small(rng), small(rng)
	if a < b && rng.IntN(4) != 0 { // mostly non-negative, as in the word problems
		a, b = b, a
	}
	return num(a), num(b), ""
}

func drawProduct(rng *rand.Rand) (string, string, string) {
	if rng.IntN(4) == 0 {
		return num(2 + rng.IntN(98)), num(2 + rng.IntN(30)), ""
	}
	if rng.IntN(10) == 0 {
		return fmt.Sprintf("%d.5", rng.IntN(10)), num(2 + rng.IntN(10)), ""
	}
	return num(2 + rng.IntN(19)), num(2 + rng.IntN(19)), ""
}

func drawQuotient(rng *rand.Rand) (string, string, string) {
	b := 2 + rng.IntN(11)
	if rng.IntN(5) == 0 { // a result with decimals
		return num(1 + rng.IntN(99)), num([]int{2, 4, 5, 8, 10}[rng.IntN(5)]), ""
	}
	return num(b * (1 + rng.IntN(20))), num(b), ""
}

func drawThree(rng *rand.Rand) (string, string, string) {
	return num(1 + rng.IntN(30)), num(1 + rng.IntN(30)), num(2 + rng.IntN(9))
}

// Arithmetic draws a problem whose expression is not in exclude (nil: no
// exclusions), phrased in one of several ways.
func Arithmetic(rng *rand.Rand, exclude map[string]bool) Problem {
	for {
		k := opKinds[rng.IntN(len(opKinds))]
		ph := k.phrasings[rng.IntN(len(k.phrasings))]
		a, b, c := k.draw(rng)
		ops := strings.NewReplacer("{a}", a, "{b}", b, "{c}", c)
		expr := ops.Replace(k.expr)
		if exclude[expr] {
			continue
		}
		v, err := tool.Evaluate(expr)
		if err != nil { // unreachable: the draws make valid expressions
			continue
		}
		r := tool.Format(v)
		full := strings.NewReplacer("{a}", a, "{b}", b, "{c}", c, "{e}", expr, "{r}", r)
		return Problem{Question: vary(rng, full.Replace(ph.q)), Expr: expr, Result: r, Answer: full.Replace(ph.a)}
	}
}

// vary changes the surface of a question the way people type: a polite
// opening, a lower-case start, a missing question mark.
func vary(rng *rand.Rand, q string) string {
	switch rng.IntN(12) {
	case 0:
		q = "Please, " + strings.ToLower(q[:1]) + q[1:]
	case 1:
		q = "Can you tell me: " + strings.ToLower(q[:1]) + q[1:]
	case 2:
		q = strings.ToLower(q[:1]) + q[1:]
	case 3:
		q = strings.TrimRight(q, "?.")
	case 4:
		q = "Quick question. " + q
	}
	return q
}

// HeldOut returns n arithmetic problems with distinct expressions, drawn
// from seed, for evaluation; training data excludes their expressions.
func HeldOut(seed uint64, n int) []Problem {
	rng := rand.New(rand.NewPCG(seed, 0x4e1d))
	seen := map[string]bool{}
	out := make([]Problem, 0, n)
	for len(out) < n {
		p := Arithmetic(rng, seen)
		seen[p.Expr] = true
		out = append(out, p)
	}
	return out
}

// Expressions returns the set of the problems' expressions.
func Expressions(ps []Problem) map[string]bool {
	m := make(map[string]bool, len(ps))
	for _, p := range ps {
		m[p.Expr] = true
	}
	return m
}

var number = regexp.MustCompile(`-?[0-9]+(\.[0-9]+)?`)

// LastNumber returns the last number written in text ("" if none): the
// result in every final answer the recipe teaches.
func LastNumber(text string) string {
	all := number.FindAllString(text, -1)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}
