package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmos/llmos/internal/testenv"
)

// labelFixture returns a small fixture model and a prompt file of two
// prompts, skipping when the fixtures are absent.
func labelFixture(t *testing.T) (model, prompts string) {
	model = testenv.Fixtures(t, "llama", "models", "llama2c-260K.f32.gguf")
	prompts = filepath.Join(t.TempDir(), "prompts.txt")
	if err := os.WriteFile(prompts, []byte("Tell me a story.\nWhat is a cat?\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return model, prompts
}

func TestLabelErrors(t *testing.T) {
	model, prompts := labelFixture(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"label", "-m", model}, "pass --prompts"},
		{[]string{"label", "--prompts", prompts}, "pass -m"},
		{[]string{"label", "-m", model, "--prompts", "/nonexistent.txt"}, "no such file"},
		{[]string{"label", "-m", model, "--prompts", prompts, "--k", "0"}, "--k must be at least 1"},
		{[]string{"label", "-m", model, "--prompts", prompts, "--reward", model}, "not a reward model"},
		{[]string{"label", "-m", model, "--prompts", prompts, "--out-sft", "x.jsonl", "--out-prefs", "x.jsonl"}, "must differ"},
	}
	for _, c := range cases {
		_, errOut := llmos(t, "", true, c.args...)
		if !strings.Contains(errOut, c.want) {
			t.Errorf("llmos %s: stderr %q lacks %q", strings.Join(c.args, " "), errOut, c.want)
		}
	}
	help, _ := llmos(t, "", false, "label", "--help")
	for _, want := range []string{"Usage:", "Examples:", "--reward", "--terminal", "--out-prefs"} {
		if !strings.Contains(help, want) {
			t.Errorf("llmos label --help lacks %q", want)
		}
	}
}

// TestLabelTerminal labels one prompt in the terminal, quits, and starts
// again: the labelled prompt is skipped.
func TestLabelTerminal(t *testing.T) {
	model, prompts := labelFixture(t)
	dir := t.TempDir()
	sft, prefs := filepath.Join(dir, "sft.jsonl"), filepath.Join(dir, "prefs.jsonl")
	args := []string{"label", "-m", model, "--prompts", prompts, "--terminal", "--k", "2", "-n", "12", "--seed", "3", "-t", "1", "--out-sft", sft, "--out-prefs", prefs}
	t.Setenv("EDITOR", "")
	t.Setenv("VISUAL", "")
	out, _ := llmos(t, "w\nOnce there was a story.\n.\nq\n", false, args...)
	if !strings.Contains(out, "── prompt 1 of 2 (0 labelled) ──\nTell me a story.") || !strings.Contains(out, "[2]") || !strings.Contains(out, "saved: 1 SFT line, 2 preference pairs") {
		t.Errorf("first run:\n%s", out)
	}
	want := `{"messages":[{"role":"user","content":"Tell me a story."},{"role":"assistant","content":"Once there was a story."}]}` + "\n"
	if b, _ := os.ReadFile(sft); string(b) != want {
		t.Errorf("SFT file %q, want %q", b, want)
	}
	out, _ = llmos(t, "q\n", false, args...)
	if !strings.Contains(out, "1 of 2 prompts already labelled") || !strings.Contains(out, "── prompt 2 of 2 (1 labelled) ──\nWhat is a cat?") {
		t.Errorf("after a restart:\n%s", out)
	}
}

// TestLabelWeb serves the page, labels a prompt over its API and stops the
// server with SIGINT.
func TestLabelWeb(t *testing.T) {
	model, prompts := labelFixture(t)
	dir := t.TempDir()
	sft := filepath.Join(dir, "sft.jsonl")
	cmd, base := startServing(t, "label", "-m", model, "--prompts", prompts, "--addr", "127.0.0.1:0", "--k", "3", "-n", "12", "-t", "1",
		"--out-sft", sft, "--out-prefs", filepath.Join(dir, "prefs.jsonl"))
	res, err := http.Get(base + "/api/next")
	if err != nil {
		t.Fatal(err)
	}
	var next struct {
		Item struct {
			Index   int
			Prompt  string
			Answers []struct{ Text string }
		}
	}
	json.NewDecoder(res.Body).Decode(&next)
	res.Body.Close()
	if next.Item.Prompt != "Tell me a story." || len(next.Item.Answers) == 0 {
		t.Fatalf("next: %+v", next)
	}
	body := `{"index":0,"prompt":"Tell me a story.","text":"A short story."}`
	res, err = http.Post(base+"/api/decide", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("decide: %s", res.Status)
	}
	interrupt(t, cmd)
	if b, _ := os.ReadFile(sft); !strings.Contains(string(b), `"content":"A short story."`) {
		t.Errorf("SFT file %q", b)
	}
}
