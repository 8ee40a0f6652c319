package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// runArena runs the llmos command line with args, flags reset to their
// defaults first since cobra keeps them between executions.
func runArena(t *testing.T, args ...string) (string, error) {
	t.Helper()
	arenaRatingsCmd.Flags().VisitAll(func(f *pflag.Flag) {
		f.Value.Set(f.DefValue)
		f.Changed = false
	})
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs(args)
	err := rootCmd.Execute()
	rootCmd.SetOut(nil)
	rootCmd.SetErr(nil)
	return out.String(), err
}

// writeVotes writes a JSONL battle log in which model "strong" beats
// "middle" and "middle" beats "weak" three times in four.
func writeVotes(t *testing.T) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	pairs := [][2]string{{"strong", "middle"}, {"middle", "weak"}, {"strong", "weak"}}
	for i := range 600 {
		p := pairs[i%3]
		winner := "model_a"
		if rng.Float64() < 0.25 {
			winner = "model_b"
		}
		if i%2 == 1 {
			p[0], p[1] = p[1], p[0]
			winner = map[string]string{"model_a": "model_b", "model_b": "model_a"}[winner]
		}
		fmt.Fprintf(&b, `{"model_a":%q,"model_b":%q,"winner":%q,"tstamp":%d}`+"\n", p[0], p[1], winner, i)
	}
	path := filepath.Join(t.TempDir(), "votes.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestArenaRatingsJSON(t *testing.T) {
	votes := writeVotes(t)
	out, err := runArena(t, "arena", "ratings", "--votes", votes, "--json", "--bootstrap", "200", "--seed", "3")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("output is not a JSON array: %v\n%s", err, out)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	wantKeys := []string{"battles", "ci_lower", "ci_upper", "elo", "model", "rating"}
	var models []string
	for _, r := range rows {
		var keys []string
		for k := range r {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if !reflect.DeepEqual(keys, wantKeys) {
			t.Errorf("keys %v, want %v", keys, wantKeys)
		}
		models = append(models, r["model"].(string))
		lo, rating, hi := r["ci_lower"].(float64), r["rating"].(float64), r["ci_upper"].(float64)
		if !(lo < rating && rating < hi) {
			t.Errorf("%s: rating %v outside [%v, %v]", r["model"], rating, lo, hi)
		}
		if r["battles"].(float64) != 400 {
			t.Errorf("%s: %v battles, want 400", r["model"], r["battles"])
		}
	}
	if !reflect.DeepEqual(models, []string{"strong", "middle", "weak"}) {
		t.Errorf("order %v", models)
	}
	// Three wins in four is about 191 Elo points; strong and weak met
	// directly too, so the gaps need only be about right.
	if gap := rows[0]["rating"].(float64) - rows[1]["rating"].(float64); gap < 120 || gap > 260 {
		t.Errorf("strong − middle = %.1f, want about 191", gap)
	}

	again, err := runArena(t, "arena", "ratings", "--votes", votes, "--json", "--bootstrap", "200", "--seed", "3")
	if err != nil || again != out {
		t.Errorf("same seed, different output (%v)", err)
	}
}

func TestArenaRatingsTableAndPlot(t *testing.T) {
	votes := writeVotes(t)
	plot := filepath.Join(t.TempDir(), "ratings.svg")
	out, err := runArena(t, "arena", "ratings", "--votes", votes, "--bootstrap", "100", "--plot", plot, "--matrix")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"rank", "95% CI", "strong", "600 battles between 3 models", "100 bootstrap resamples", "win rate of row over column"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if svg, err := os.ReadFile(plot); err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("plot not written as SVG (%v)", err)
	}
}

func TestArenaRatingsErrors(t *testing.T) {
	votes := writeVotes(t)
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(bad, []byte(`{"model_a":"a","model_b":"b","winner":"model_a"}`+"\n"+`{"model_a":"a","model_b":"b","winner":"A"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no votes flag", []string{"arena", "ratings"}, "--votes"},
		{"missing file", []string{"arena", "ratings", "--votes", filepath.Join(t.TempDir(), "none.json")}, "no such file"},
		{"bad record", []string{"arena", "ratings", "--votes", bad}, "line 2"},
		{"zero bootstrap", []string{"arena", "ratings", "--votes", votes, "--bootstrap", "0"}, "--bootstrap"},
		{"bad plot format", []string{"arena", "ratings", "--votes", votes, "--bootstrap", "10", "--plot", filepath.Join(t.TempDir(), "r.doc")}, "plot"},
		{"stray argument", []string{"arena", "ratings", "--votes", votes, "extra"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runArena(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
