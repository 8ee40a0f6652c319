package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmos/llmos/internal/testenv"
	"github.com/llmos/llmos/recipe"
)

// TestRecipeTiny runs the whole default recipe at the tiny scale on the
// shared TinyStories slices, then loads the result in llmos run and llmos
// chat.
func TestRecipeTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end recipe takes seconds")
	}
	stories := filepath.Dir(testenv.Data(t, "tinystories", "valid_head.txt"))
	dir := t.TempDir()
	out, progress := llmos(t, "", false, "recipe", "default", "-o", dir, "--scale", "tiny", "--tinystories", stories, "-t", "2")
	for _, want := range []string{"parameters", "tokens seen", "held-out arithmetic (10)", "win rate", "report: "} {
		if !strings.Contains(out, want) {
			t.Errorf("recipe printed no %q:\n%s", want, out)
		}
	}
	if !strings.Contains(progress, "[9/9] evaluate") {
		t.Errorf("progress shows no evaluation stage:\n%s", progress)
	}
	b, err := os.ReadFile(filepath.Join(dir, recipe.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	var r recipe.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if !(r.Pretrain.LastLoss < r.Pretrain.FirstLoss-0.5) {
		t.Errorf("pretraining loss %.3f → %.3f: not falling", r.Pretrain.FirstLoss, r.Pretrain.LastLoss)
	}

	model := filepath.Join(dir, recipe.AssistantFile)
	out, _ = llmos(t, "", false, "run", "-m", model, "-p", "Once upon a time", "-n", "12", "--temp", "0")
	if strings.TrimSpace(out) == "" {
		t.Errorf("llmos run printed %q", out)
	}
	out, _ = llmos(t, "Hello\nWhat is 2 plus 3?\n", false, "chat", "-m", model, "-n", "16", "--temp", "0")
	if strings.Count(out, "\n") < 2 {
		t.Errorf("piped chat printed %q, want two answers, one per line", out)
	}

	// Run again: every stage is done, nothing is redone.
	_, progress = llmos(t, "", false, "recipe", "default", "-o", dir, "--scale", "tiny", "--tinystories", stories)
	if n := strings.Count(progress, "done before"); n != 9 {
		t.Errorf("second run skipped %d stages, want 9:\n%s", n, progress)
	}
}

func TestRecipeErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"recipe", "default"}, "no output directory"},
		{[]string{"recipe", "default", "-o", t.TempDir(), "--scale", "huge"}, "unknown scale"},
		{[]string{"recipe", "default", "-o", t.TempDir(), "--tinystories", t.TempDir()}, "TinyStories"},
	} {
		_, errOut := llmos(t, "", true, c.args...)
		if !strings.Contains(errOut, c.want) {
			t.Errorf("llmos %s: stderr %q, want %q", strings.Join(c.args, " "), errOut, c.want)
		}
	}
}
