package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmos/llmos/scaling"
)

// runScalingFitCLI runs a fresh `scaling fit` command, so flag values do
// not leak between cases.
func runScalingFitCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newScalingFitCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

// TestScalingFitCLI fits runs given with C instead of D (one full grid
// search, a few seconds); the sweep-directory path is exercised by the
// error cases below, which load results.jsonl before failing.
func TestScalingFitCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a 4500-start grid search")
	}
	law := scaling.Law{E: 1.69, A: 406.4, B: 410.7, Alpha: 0.34, Beta: 0.28}
	points := filepath.Join(t.TempDir(), "runs.csv")
	csv := "params,flops,loss\n"
	for _, n := range []float64{1e6, 1e7, 1e8} {
		for _, d := range []float64{1e8, 1e9, 1e10} {
			csv += strings.Join([]string{fmtFloat(n), fmtFloat(6 * n * d), fmtFloat(law.Loss(n, d))}, ",") + "\n"
		}
	}
	if err := os.WriteFile(points, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	plots := filepath.Join(t.TempDir(), "plots")
	stdout, stderr, err := runScalingFitCLI(t, "--points", points, "--c-col", "flops", "--json",
		"--bootstrap", "8", "--seed", "3", "-o", plots, "--budgets", "1e20,1e22")
	if err != nil {
		t.Fatalf("%v\nstderr: %s", err, stderr)
	}
	type estimate struct {
		Value   float64 `json:"value"`
		CILower float64 `json:"ci_lower"`
		CIUpper float64 `json:"ci_upper"`
	}
	var got struct {
		E       estimate `json:"E"`
		A       estimate `json:"A"`
		B       estimate `json:"B"`
		Alpha   estimate `json:"alpha"`
		Beta    estimate `json:"beta"`
		Runs    int      `json:"runs"`
		Optimal []struct {
			C float64 `json:"C"`
		} `json:"optimal"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if got.Runs != 9 || len(got.Optimal) != 2 || got.Optimal[1].C != 1e22 {
		t.Errorf("runs %d, budgets %v: want 9 runs and budgets 1e20, 1e22", got.Runs, got.Optimal)
	}
	for _, c := range []struct {
		name string
		e    estimate
		want float64
	}{{"E", got.E, 1.69}, {"A", got.A, 406.4}, {"B", got.B, 410.7}, {"alpha", got.Alpha, 0.34}, {"beta", got.Beta, 0.28}} {
		if math.Abs(c.e.Value-c.want) > 1e-3*c.want || !(c.e.CILower <= c.e.Value && c.e.Value <= c.e.CIUpper) {
			t.Errorf("%s = %+v, want %g inside its interval", c.name, c.e, c.want)
		}
	}
	entries, err := os.ReadDir(plots)
	if err != nil || len(entries) != 8 {
		t.Errorf("plots directory: %d files (%v), want 8", len(entries), err)
	}
	if !strings.Contains(stderr, "bootstrap: 8 refits") {
		t.Errorf("stderr lacks the bootstrap progress line:\n%s", stderr)
	}
}

func fmtFloat(x float64) string {
	b, _ := json.Marshal(x)
	return string(b)
}

func TestScalingFitCLIErrors(t *testing.T) {
	dir := t.TempDir()
	if err := scaling.AppendResult(dir, scaling.Run{N: 1e6, D: 1e8, Loss: 4}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing to fit", nil, "give a sweep directory or --points"},
		{"both sources", []string{dir, "--points", "x.csv"}, "not both"},
		{"columns without points", []string{dir, "--n-col", "params"}, "only to --points"},
		{"missing results", []string{t.TempDir()}, "results.jsonl"},
		{"missing points", []string{"--points", filepath.Join(dir, "none.csv")}, "none.csv"},
		{"too few runs", []string{dir}, "need at least 5"},
		{"bad level", []string{dir, "--level", "95"}, "--level"},
		{"negative bootstrap", []string{dir, "--bootstrap", "-1"}, "--bootstrap"},
		{"drop everything", []string{dir, "--drop-highest-loss", "1"}, "--drop-highest-loss"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runScalingFitCLI(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestScalingRegistered(t *testing.T) {
	cmd, _, err := rootCmd.Find([]string{"scaling", "fit"})
	if err != nil || cmd.Name() != "fit" || cmd.Parent().Name() != "scaling" {
		t.Errorf("llmos scaling fit: found %v, %v", cmd, err)
	}
}
