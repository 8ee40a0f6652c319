package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFinetuneCommands runs sft, reward and dpo for a few steps on a model
// made by llmos init with a trained tokenizer, resumes one, and checks
// help and input errors.
func TestFinetuneCommands(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("What colour is the sky? The sky is blue. The grass is green.\n", 40)), 0o644)
	tok, base := filepath.Join(dir, "tok.gguf"), filepath.Join(dir, "base.gguf")
	llmos(t, "", false, "tokenizer", "train", "--vocab", "270", "-o", tok, corpus)
	llmos(t, "", false, "init", "--dim", "32", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn", "64",
		"--vocab", "270", "--ctx", "64", "--tokenizer", tok, "-o", base)

	var convs, pairs strings.Builder
	for i, thing := range []string{"sky", "grass", "sun", "snow", "coal", "sea", "rose", "leaf"} {
		color := []string{"blue", "green", "yellow", "white", "black", "blue", "red", "green"}[i]
		fmt.Fprintf(&convs, `{"messages":[{"role":"user","content":"What colour is the %s?"},{"role":"assistant","content":"The %s is %s."}]}`+"\n", thing, thing, color)
		fmt.Fprintf(&pairs, `{"prompt":"What colour is the %s?","chosen":"The %s is %s.","rejected":"The %s is pink."}`+"\n", thing, thing, color, thing)
	}
	convFile, pairFile := filepath.Join(dir, "convs.jsonl"), filepath.Join(dir, "pairs.jsonl")
	os.WriteFile(convFile, []byte(convs.String()), 0o644)
	os.WriteFile(pairFile, []byte(pairs.String()), 0o644)

	common := []string{"--steps", "4", "--batch", "2", "--seq", "48", "--eval-every", "2", "--eval-batches", "1",
		"--ckpt-every", "2", "--val-fraction", "0.25", "--lr", "1e-3", "-t", "2"}
	sftDir := filepath.Join(dir, "sft")
	out, errOut := llmos(t, "", false, append([]string{"sft", "--model", base, "--data", convFile, "-o", sftDir}, common...)...)
	if !strings.Contains(out, "4 steps: train loss") || !strings.Contains(errOut, "sft data: 8 conversations") {
		t.Errorf("sft printed %q, %q", out, errOut)
	}
	for _, f := range []string{"model.gguf", "checkpoint.gguf", "log.jsonl", "loss.png"} {
		if _, err := os.Stat(filepath.Join(sftDir, f)); err != nil {
			t.Errorf("sft run directory: %v", err)
		}
	}
	sft := filepath.Join(sftDir, "model.gguf")
	for _, cmd := range []string{"reward", "dpo"} {
		run := filepath.Join(dir, cmd)
		out, _ := llmos(t, "", false, append([]string{cmd, "--model", sft, "--data", pairFile, "-o", run}, common...)...)
		if !strings.Contains(out, "val pairwise accuracy") {
			t.Errorf("%s printed %q", cmd, out)
		}
	}
	out, errOut = llmos(t, "", false, "dpo", "--resume", filepath.Join(dir, "dpo"))
	if !strings.Contains(errOut, "resuming") || !strings.Contains(out, "4 steps") {
		t.Errorf("dpo --resume printed %q, %q", out, errOut)
	}

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"sft without output", []string{"sft", "--model", base, "--data", convFile}, "-o RUNDIR"},
		{"sft without data", []string{"sft", "--model", base, "-o", filepath.Join(dir, "x")}, "--data"},
		{"reward on conversations", []string{"reward", "--model", base, "--data", convFile, "-o", filepath.Join(dir, "y"), "--steps", "1"}, "chosen"},
		{"dpo with zero beta", []string{"dpo", "--model", base, "--data", pairFile, "-o", filepath.Join(dir, "z"), "--steps", "1", "--beta", "0"}, "beta"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errOut := llmos(t, "", true, c.args...)
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr %q, want it to mention %q", errOut, c.want)
			}
		})
	}
	for _, cmd := range []string{"sft", "reward", "dpo"} {
		out, _ := llmos(t, "", false, cmd, "--help")
		if !strings.Contains(out, "Examples:") || !strings.Contains(out, "--resume") {
			t.Errorf("%s --help lacks examples or --resume: %q", cmd, out)
		}
	}
}
