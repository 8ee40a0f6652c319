package scaling

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestReportJSON(t *testing.T) {
	fit := &Fit{Law: chinchillaPaper, Runs: 3, Objective: 0.01, RMSLogResidual: 0.005}
	boot := &Bootstrap{Laws: []Law{
		{E: 1.6, A: 400, B: 400, Alpha: 0.33, Beta: 0.27},
		{E: 1.8, A: 420, B: 420, Alpha: 0.35, Beta: 0.29},
	}}
	tests := []struct {
		name     string
		boot     *Bootstrap
		wantE    string
		wantRuns int
	}{
		{"with bootstrap", boot, `{"value":1.69,"ci_lower":1.605,"ci_upper":1.795}`, 2},
		{"without bootstrap", nil, `{"value":1.69,"ci_lower":null,"ci_upper":null}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReport(fit, tt.boot, 0.95, []float64{1e20, 1e21})
			data, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(data, &obj); err != nil {
				t.Fatal(err)
			}
			if got := string(obj["E"]); !sameJSON(t, got, tt.wantE) {
				t.Errorf("E = %s, want %s", got, tt.wantE)
			}
			for _, key := range []string{"A", "B", "alpha", "beta", "n_opt_exponent", "d_opt_exponent"} {
				var e map[string]*float64
				if err := json.Unmarshal(obj[key], &e); err != nil || e["value"] == nil || len(e) != 3 {
					t.Errorf("%s = %s: want value, ci_lower, ci_upper", key, obj[key])
				}
			}
			var opt []struct {
				C    float64
				N, D map[string]*float64
				Loss map[string]*float64
			}
			if err := json.Unmarshal(obj["optimal"], &opt); err != nil || len(opt) != 2 || opt[1].C != 1e21 {
				t.Fatalf("optimal = %s (%v)", obj["optimal"], err)
			}
			n, d := chinchillaPaper.Optimal(1e21)
			if relErr(*opt[1].N["value"], n) > 1e-12 || relErr(*opt[1].D["value"], d) > 1e-12 {
				t.Errorf("optimal at 1e21 = %v, %v; want %g, %g", *opt[1].N["value"], *opt[1].D["value"], n, d)
			}
			var resamples int
			if err := json.Unmarshal(obj["bootstrap_resamples"], &resamples); err != nil || resamples != tt.wantRuns {
				t.Errorf("bootstrap_resamples = %s, want %d", obj["bootstrap_resamples"], tt.wantRuns)
			}
		})
	}
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y map[string]any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	for k, v := range y {
		xv, ok := x[k]
		if !ok {
			return false
		}
		if v == nil || xv == nil {
			if v != xv {
				return false
			}
			continue
		}
		if math.Abs(xv.(float64)-v.(float64)) > 1e-9 {
			return false
		}
	}
	return len(x) == len(y)
}

func TestReportText(t *testing.T) {
	fit := &Fit{Law: chinchillaPaper, Runs: 42}
	var b strings.Builder
	if err := NewReport(fit, nil, 0.95, []float64{1e22}).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	n, _ := chinchillaPaper.Optimal(1e22)
	for _, want := range []string{"42 runs", "E ", "1.69", "406.4", "410.7", "0.34", "0.28", "no bootstrap", "1e+22", fmt.Sprintf("%.3g", n)} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
}
