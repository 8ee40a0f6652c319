//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llmos/llmos/scaling"
	"github.com/llmos/llmos/train"
)

// sweepTestData writes a small generated corpus and makes a data directory
// from it with the binary: a 300-token tokenizer and a 10% val split.
func sweepTestData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	kids := []string{"Lily", "Tom", "Sam", "Mia", "Ben"}
	toys := []string{"a red ball", "a blue kite", "a small boat", "a toy car"}
	for i := range 500 {
		fmt.Fprintf(&b, "%s had %s. %s played with it in the park, %d times.\n<|endoftext|>\n",
			kids[i%len(kids)], toys[(i/5)%len(toys)], kids[i%len(kids)], i%7+2)
	}
	corpus := filepath.Join(dir, "corpus.txt")
	if err := os.WriteFile(corpus, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(dir, "tok.gguf")
	llmos(t, "", false, "tokenizer", "train", "--vocab", "300", "-o", tok, corpus)
	ds := filepath.Join(dir, "data")
	llmos(t, "", false, "data", "prepare", "--tokenizer", tok, "-o", ds, "--val-fraction", "0.1", corpus)
	return ds
}

// tinySweepArgs is a sweep of tiny models (batches of 2×32 tokens).
func tinySweepArgs(data, dir, sizes, tokens string) []string {
	return []string{"scaling", "sweep", "--data", data, "-o", dir, "--sizes", sizes, "--tokens", tokens,
		"--batch", "2", "--seq", "32", "--eval-batches", "2", "--ckpt-every", "2"}
}

// TestScalingSweepCLI plans, runs with two workers, reruns and collects a
// 2 × 2 sweep through the binary (TestK8sSweepYAML fits one).
func TestScalingSweepCLI(t *testing.T) {
	data := sweepTestData(t)
	dir := filepath.Join(t.TempDir(), "sweep")
	args := tinySweepArgs(data, dir, "16x1,32x1", "256,512")

	out, _ := llmos(t, "", false, append(args, "--dry-run")...)
	jobs, err := os.ReadFile(filepath.Join(dir, scaling.JobsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if out != string(jobs) || len(lines) != 4 {
		t.Fatalf("--dry-run printed %d lines:\n%s\njobs.txt:\n%s", len(lines), out, jobs)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "llmos train --model "+filepath.Join(dir, scaling.ModelsDir)) {
			t.Errorf("job line %q is not an llmos train command", l)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, scaling.ResultsFile)); err == nil {
		t.Error("--dry-run wrote results")
	}

	out, errOut := llmos(t, "", false, append(args, "--workers", "2")...)
	if !strings.Contains(out, "4 jobs: 0 already recorded, 0 collected, 4 trained (0 resumed), 0 not finished") {
		t.Fatalf("sweep printed %q\nstderr: %s", out, errOut)
	}
	runs, err := scaling.ReadResults(dir)
	if err != nil || len(runs) != 4 {
		t.Fatalf("results: %d runs, %v", len(runs), err)
	}
	if !strings.Contains(errOut, "val loss") {
		t.Errorf("no progress lines on stderr: %s", errOut)
	}
	if !strings.Contains(errOut, "note: 4 jobs take fewer than 500 steps (16x1-D256: 4)") {
		t.Errorf("no warning about step-limited jobs on stderr: %s", errOut)
	}

	out, _ = llmos(t, "", false, args...)
	if !strings.Contains(out, "4 already recorded, 0 collected, 0 trained") {
		t.Errorf("rerun printed %q", out)
	}
	if err := os.Remove(filepath.Join(dir, scaling.ResultsFile)); err != nil {
		t.Fatal(err)
	}
	out, _ = llmos(t, "", false, append(args, "--collect-only")...)
	if !strings.Contains(out, "0 already recorded, 4 collected, 0 trained") {
		t.Errorf("collect printed %q", out)
	}

}

// TestScalingSweepCLIResumesKilledJob kills a sweep and its training
// process with SIGKILL once the job has a checkpoint; the rerun resumes the
// job instead of starting it again.
func TestScalingSweepCLIResumesKilledJob(t *testing.T) {
	data := sweepTestData(t)
	dir := filepath.Join(t.TempDir(), "sweep")
	args := tinySweepArgs(data, dir, "16x1", "24k") // one job of 375 steps, a checkpoint every 2
	run := filepath.Join(dir, scaling.RunsDir, "16x1-D24k")

	cmd := exec.Command(llmosBin, args...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(run, train.CheckpointFile)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			t.Fatalf("no checkpoint after a minute; stderr: %s", errOut.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, scaling.ResultsFile)); err == nil {
		t.Fatal("the job finished before the kill; make it longer")
	}

	out, errText := llmos(t, "", false, args...)
	if !strings.Contains(out, "1 trained (1 resumed)") || !strings.Contains(errText, "resuming") {
		t.Fatalf("rerun printed %q\nstderr: %s", out, errText)
	}
	log, err := train.ReadLog(filepath.Join(run, train.LogFile))
	if err != nil {
		t.Fatal(err)
	}
	step := 0
	for _, rec := range log {
		if rec.Kind == "train" {
			if rec.Step != step+1 {
				t.Fatalf("train steps jump from %d to %d", step, rec.Step)
			}
			step = rec.Step
		}
	}
	if step != 375 {
		t.Errorf("last step %d, want 375", step)
	}
	runs, err := scaling.ReadResults(dir)
	if err != nil || len(runs) != 1 || runs[0].D != 375*64 {
		t.Errorf("results %+v, %v; want one run of %d tokens", runs, err, 375*64)
	}
}
