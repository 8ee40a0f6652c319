package tool

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestEvaluate(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"1 + 2", "3"},
		{"0.1 + 0.2", "0.3"},
		{"2 * (3 + 4)", "14"},
		{"7 / 2", "3.5"},
		{"1 / 3", "0.333333333333"},
		{"2 / 3", "0.666666666667"},
		{"-5 + 3", "-2"},
		{"--4", "4"},
		{"2^10", "1024"},
		{"2^-2", "0.25"},
		{"2^3^2", "512"},
		{"-2^2", "-4"},
		{"(-2)^2", "4"},
		{"123456789123456789 * 987654321987654321", "121932631356500531347203169112635269"},
		{"1,000 + 2_000", "3000"},
		{"3 × 4 ÷ 2 − 1", "5"},
		{"1.50 * 2", "3"},
		{".5 + .25", "0.75"},
		{"10 - 10.0", "0"},
		{"-0.0", "0"},
		{"1 - 1/3 - 2/3", "0"},
	}
	for _, c := range cases {
		v, err := Evaluate(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		if got := Format(v); got != c.want {
			t.Errorf("%q = %s, want %s", c.expr, got, c.want)
		}
	}
}

func TestEvaluateErrors(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"", "ends too early"},
		{"1 +", "ends too early"},
		{"1 / 0", "division by zero"},
		{"0 ^ -1", "division by zero"},
		{"(1 + 2", `expected ")"`},
		{"1 + 2)", `unexpected ")"`},
		{"2 ^ 0.5", "must be an integer"},
		{"2 ^ 100000", "must be an integer between"},
		{"(10 ^ 1000) ^ 20", "more than"},
		{"1.2.3", "malformed number"},
		{"x + 1", `unexpected character "x"`},
		{"sqrt(4)", `unexpected character "s"`},
		{strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200), "nested too deeply"},
		{strings.Repeat("1+", 600) + "1", "longer than"},
	}
	for _, c := range cases {
		_, err := Evaluate(c.expr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.40q: err = %v, want %q", c.expr, err, c.want)
		}
	}
}

func TestCalculatorCall(t *testing.T) {
	c := Calculator{}
	if c.Spec().Function.Name != CalculatorName || !json.Valid(c.Spec().Function.Parameters) {
		t.Fatalf("bad spec %+v", c.Spec())
	}
	out, err := c.Call(context.Background(), json.RawMessage(`{"expression": "12 * 3.5"}`))
	if err != nil || out != "42" {
		t.Errorf("call = %q, %v", out, err)
	}
	for _, bad := range []string{`{}`, `[1]`, `{"expression": 5}`, `not json`} {
		if _, err := c.Call(context.Background(), json.RawMessage(bad)); err == nil {
			t.Errorf("arguments %s: no error", bad)
		}
	}
	if tl, ok := Find([]Tool{c}, CalculatorName); !ok || tl == nil {
		t.Error("Find does not find the calculator")
	}
	if len(Specs([]Tool{c})) != 1 {
		t.Error("Specs")
	}
}

func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{"1+2", "(3*4)^2/7", "-.5", "2^-3^2", "1,2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		v, err := Evaluate(expr)
		if err == nil {
			Format(v)
		}
	})
}
