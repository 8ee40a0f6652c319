package chat

import (
	"math"
	"testing"
)

func TestRewriteToJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{" x | tojson(indent=2) ", " __llmos_tojson(x, indent=2) "},
		{"t['f'].g|tojson()", "__llmos_tojson(t['f'].g)"},
		{"'a' + m[0] | tojson(indent=1) + 'b'", "'a' + __llmos_tojson(m[0], indent=1) + 'b'"},
		{"f(x) | tojson(sort_keys=true)", "__llmos_tojson(f(x), sort_keys=true)"},
		{"x | tojson", "x | tojson"},
		{"a | list | tojson(indent=2)", "a | list | tojson(indent=2)"},
		{"'| tojson(indent=2)'", "'| tojson(indent=2)'"},
		{"mytojson(x)", "mytojson(x)"},
	}
	for _, tc := range tests {
		if got := rewriteToJSON(tc.in); got != tc.want {
			t.Errorf("rewriteToJSON(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// tenth is a variable so that tenth+0.2 is computed in float64, not as an exact constant.
var tenth = 0.1

// TestPyFloat pins Python's float repr, which json.dumps uses.
func TestPyFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{1, "1.0"}, {0.5, "0.5"}, {0, "0.0"}, {math.Copysign(0, -1), "-0.0"},
		{1e-5, "1e-05"}, {0.0001, "0.0001"}, {123456789, "123456789.0"},
		{1e16, "1e+16"}, {9999999999999998, "9999999999999998.0"}, {tenth + 0.2, "0.30000000000000004"},
		{math.Inf(1), "Infinity"}, {math.NaN(), "NaN"},
	}
	for _, tc := range tests {
		if got := pyFloat(tc.in); got != tc.want {
			t.Errorf("pyFloat(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
