package tool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode"

	"github.com/llmos/llmos/chat"
)

// Calculator evaluates arithmetic exactly: integers and decimals with
// + - * / ^ (integer powers), unary minus and parentheses, computed as
// rational numbers so that 0.1 + 0.2 is 0.3.
type Calculator struct{}

// CalculatorName is the name models call the calculator by.
const CalculatorName = "calculator"

// Spec describes the calculator to the model.
func (Calculator) Spec() chat.Tool {
	return chat.Tool{Type: "function", Function: chat.Function{
		Name:        CalculatorName,
		Description: "Evaluate an arithmetic expression exactly. Supports + - * / ^, parentheses, integers and decimals.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"expression":{"type":"string","description":"the expression, e.g. (12 + 30) * 2.5"}},"required":["expression"]}`),
	}}
}

// Call evaluates {"expression": "..."}.
func (c Calculator) Call(_ context.Context, args json.RawMessage) (string, error) {
	var a struct {
		Expression *string `json:"expression"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return "", fmt.Errorf("calculator: arguments must be a JSON object with an \"expression\" string: %v", err)
	}
	if a.Expression == nil {
		return "", errors.New("calculator: missing \"expression\"")
	}
	v, err := Evaluate(*a.Expression)
	if err != nil {
		return "", err
	}
	return Format(v), nil
}

// Limits that keep a hostile expression from exhausting memory or time.
const (
	maxExprLen  = 1000
	maxExponent = 1000
	maxDepth    = 100
	maxDigits   = 10000 // digits in any intermediate numerator or denominator
)

// Evaluate computes expr exactly.
func Evaluate(expr string) (*big.Rat, error) {
	if len(expr) > maxExprLen {
		return nil, fmt.Errorf("calculator: expression longer than %d characters", maxExprLen)
	}
	p := &parser{src: expr}
	p.next()
	v, err := p.sum(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errorf("unexpected %q", p.tok.text)
	}
	return v, nil
}

// Format writes v as a decimal: exactly when it terminates, else rounded to
// 12 decimal places (trailing zeros dropped).
func Format(v *big.Rat) string {
	if v.IsInt() {
		return v.Num().String()
	}
	// A fraction in lowest terms terminates iff its denominator has no
	// prime factors but 2 and 5.
	d := new(big.Int).Set(v.Denom())
	places := 0
	for _, f := range []int64{2, 5} {
		n := 0
		for new(big.Int).Mod(d, big.NewInt(f)).Sign() == 0 {
			d.Div(d, big.NewInt(f))
			n++
		}
		places = max(places, n)
	}
	if d.Cmp(big.NewInt(1)) != 0 {
		places = 12
	}
	s := v.FloatString(places)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokNum
	tokOp
	tokBad
)

type token struct {
	kind tokKind
	text string
	pos  int
}

type parser struct {
	src string
	pos int
	tok token
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("calculator: %s at position %d of %q", fmt.Sprintf(format, args...), p.tok.pos+1, p.src)
}

func (p *parser) next() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(p.src) {
		p.tok = token{tokEOF, "end of expression", start}
		return
	}
	c := p.src[p.pos]
	switch {
	case c >= '0' && c <= '9' || c == '.':
		for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.' || p.src[p.pos] == '_' || p.src[p.pos] == ',') {
			p.pos++
		}
		p.tok = token{tokNum, p.src[start:p.pos], start}
	case strings.IndexByte("+-*/^()", c) >= 0:
		p.pos++
		p.tok = token{tokOp, string(c), start}
	default:
		r := []rune(p.src[p.pos:])[0]
		switch r {
		case '×', '÷', '−':
			p.pos += len(string(r))
			p.tok = token{tokOp, map[rune]string{'×': "*", '÷': "/", '−': "-"}[r], start}
		default:
			p.pos += len(string(r))
			p.tok = token{tokBad, string(r), start}
		}
	}
}

// sum := product (('+' | '-') product)*
func (p *parser) sum(depth int) (*big.Rat, error) {
	v, err := p.product(depth)
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokOp && (p.tok.text == "+" || p.tok.text == "-") {
		op := p.tok.text
		p.next()
		w, err := p.product(depth)
		if err != nil {
			return nil, err
		}
		if op == "+" {
			v.Add(v, w)
		} else {
			v.Sub(v, w)
		}
		if err := p.checkSize(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// product := unary (('*' | '/') unary)*
func (p *parser) product(depth int) (*big.Rat, error) {
	v, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokOp && (p.tok.text == "*" || p.tok.text == "/") {
		op := p.tok.text
		p.next()
		w, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		if op == "*" {
			v.Mul(v, w)
		} else {
			if w.Sign() == 0 {
				return nil, fmt.Errorf("calculator: division by zero in %q", p.src)
			}
			v.Quo(v, w)
		}
		if err := p.checkSize(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// power := primary ('^' unary)?   (right-associative; -2^2 is -(2^2))
func (p *parser) power(depth int) (*big.Rat, error) {
	v, err := p.primary(depth)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokOp || p.tok.text != "^" {
		return v, nil
	}
	p.next()
	e, err := p.unary(depth + 1)
	if err != nil {
		return nil, err
	}
	if !e.IsInt() || e.Num().CmpAbs(big.NewInt(maxExponent)) > 0 {
		return nil, fmt.Errorf("calculator: exponent %s must be an integer between -%d and %d", Format(e), maxExponent, maxExponent)
	}
	n := e.Num().Int64()
	if float64(max(v.Num().BitLen(), v.Denom().BitLen()))*float64(abs(n))*0.30103 > maxDigits {
		return nil, fmt.Errorf("calculator: result has more than %d digits", maxDigits)
	}
	if v.Sign() == 0 && n < 0 {
		return nil, fmt.Errorf("calculator: division by zero (0 to a negative power) in %q", p.src)
	}
	num := new(big.Int).Exp(v.Num(), big.NewInt(abs(n)), nil)
	den := new(big.Int).Exp(v.Denom(), big.NewInt(abs(n)), nil)
	r := new(big.Rat).SetFrac(num, den)
	if n < 0 {
		r.Inv(r)
	}
	return r, p.checkSize(r)
}

// unary := ('-' | '+') unary | power
func (p *parser) unary(depth int) (*big.Rat, error) {
	if depth > maxDepth {
		return nil, p.errorf("expression nested too deeply")
	}
	if p.tok.kind == tokOp && (p.tok.text == "-" || p.tok.text == "+") {
		neg := p.tok.text == "-"
		p.next()
		v, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		if neg {
			v.Neg(v)
		}
		return v, nil
	}
	return p.power(depth)
}

// primary := number | '(' sum ')'
func (p *parser) primary(depth int) (*big.Rat, error) {
	switch {
	case p.tok.kind == tokNum:
		text := strings.NewReplacer("_", "", ",", "").Replace(p.tok.text)
		if strings.Count(text, ".") > 1 || text == "." {
			return nil, p.errorf("malformed number %q", p.tok.text)
		}
		v, ok := new(big.Rat).SetString(text)
		if !ok {
			return nil, p.errorf("malformed number %q", p.tok.text)
		}
		p.next()
		return v, nil
	case p.tok.kind == tokOp && p.tok.text == "(":
		p.next()
		v, err := p.sum(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokOp || p.tok.text != ")" {
			return nil, p.errorf("expected \")\" but found %q", p.tok.text)
		}
		p.next()
		return v, nil
	case p.tok.kind == tokEOF:
		return nil, p.errorf("expression ends too early")
	case p.tok.kind == tokBad:
		return nil, p.errorf("unexpected character %q (only numbers, + - * / ^ and parentheses)", p.tok.text)
	}
	return nil, p.errorf("unexpected %q", p.tok.text)
}

func (p *parser) checkSize(v *big.Rat) error {
	// Bits → decimal digits: log10(2) ≈ 0.30103.
	if float64(v.Num().BitLen())*0.30103 > maxDigits || float64(v.Denom().BitLen())*0.30103 > maxDigits {
		return fmt.Errorf("calculator: result has more than %d digits", maxDigits)
	}
	return nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
