package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmos/llmos/internal/testenv"
)

// TestEvalAndArenaCommands checks the help and the input errors of the eval
// and arena commands, then runs eval ppl and eval tasks on a fixture model.
func TestEvalAndArenaCommands(t *testing.T) {
	for _, args := range [][]string{{"eval", "ppl"}, {"eval", "tasks"}, {"arena", "serve"}, {"arena", "auto"}, {"arena"}} {
		out, _ := llmos(t, "", false, append(args, "--help")...)
		if !strings.Contains(out, "Usage:") || !strings.Contains(out, "Examples:") {
			t.Errorf("llmos %s --help lacks usage or examples:\n%s", strings.Join(args, " "), out)
		}
	}
	errCases := []struct {
		args []string
		want string
	}{
		{[]string{"eval", "ppl", "--data", "x.txt"}, "pass -m"},
		{[]string{"eval", "ppl", "-m", "x.gguf"}, "pass --data"},
		{[]string{"eval", "tasks", "-m", "x.gguf"}, "no task given"},
		{[]string{"eval", "tasks", "-m", "x.gguf", "--task", "mmlu"}, "unknown task"},
		{[]string{"arena", "-m", "a.gguf"}, "at least two models"},
		{[]string{"arena", "auto", "--models", "a.gguf,b.gguf"}, "--prompts FILE and --judge"},
	}
	for _, c := range errCases {
		_, errOut := llmos(t, "", true, c.args...)
		if !strings.Contains(errOut, c.want) {
			t.Errorf("llmos %s: stderr %q, want %q", strings.Join(c.args, " "), errOut, c.want)
		}
	}

	model := testenv.Fixtures(t, "llama", "models", "llama2c-260K.f32.gguf")
	text := testenv.Data(t, "tinystories", "valid_head.txt")
	out, _ := llmos(t, "", false, "eval", "ppl", "-m", model, "--data", text, "--ctx", "64", "--chunks", "3")
	if !strings.HasPrefix(out, "[1]") || !strings.Contains(out, ",[3]") || !strings.Contains(out, "Final estimate: PPL = ") {
		t.Errorf("eval ppl output:\n%s", out)
	}
	out, _ = llmos(t, "", false, "eval", "ppl", "-m", model, "--data", text, "--ctx", "64", "--chunks", "3", "--json")
	var ppl struct {
		Chunks int     `json:"chunks"`
		Scored int     `json:"scored"`
		PPL    float64 `json:"ppl"`
	}
	if err := json.Unmarshal([]byte(out), &ppl); err != nil || ppl.Chunks != 3 || ppl.Scored != 3*31 || ppl.PPL <= 1 {
		t.Errorf("eval ppl --json: %+v (%v) from %s", ppl, err, out)
	}

	task := filepath.Join(t.TempDir(), "quiz.jsonl")
	os.WriteFile(task, []byte(`{"context": "Once upon a", "choices": [" time", " zebra"], "answer": 0}`+"\n"), 0o644)
	out, _ = llmos(t, "", false, "eval", "tasks", "-m", model, "--task", task, "--json", "-q")
	var res []struct {
		Task string `json:"task"`
		N    int    `json:"n"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 || res[0].Task != "quiz" || res[0].N != 1 {
		t.Errorf("eval tasks --json: %+v (%v) from %s", res, err, out)
	}
}
