package label

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// storePaths returns an SFT and a preference path in a fresh folder.
func storePaths(t *testing.T) (string, string) {
	dir := t.TempDir()
	return filepath.Join(dir, "sft.jsonl"), filepath.Join(dir, "prefs.jsonl")
}

func openStore(t *testing.T, sft, prefs string) *Store {
	t.Helper()
	s, err := OpenStore(sft, prefs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newLabeller labels prompts with gen into fresh files, whose paths it
// returns; the labeller is closed when the test ends.
func newLabeller(t *testing.T, prompts []string, gen Generator, opts *Options) (l *Labeller, sft, prefs string) {
	t.Helper()
	sft, prefs = storePaths(t)
	l, err := New(prompts, gen, openStore(t, sft, prefs), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l, sft, prefs
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStoreSaveAndReopen(t *testing.T) {
	sft, prefs := storePaths(t)
	s := openStore(t, sft, prefs)
	if _, err := s.Save("Say <hi>", []string{"hello & bye", "no"}, Decision{Ranking: []int{0}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save("Q2", []string{"x"}, Decision{Text: "mine"}); err != nil {
		t.Fatal(err)
	}
	wantSFT := `{"messages":[{"role":"user","content":"Say <hi>"},{"role":"assistant","content":"hello & bye"}]}
{"messages":[{"role":"user","content":"Q2"},{"role":"assistant","content":"mine"}]}
`
	wantPrefs := `{"prompt":"Say <hi>","chosen":"hello & bye","rejected":"no"}
{"prompt":"Q2","chosen":"mine","rejected":"x"}
`
	if got := readFile(t, sft); got != wantSFT {
		t.Errorf("SFT file:\n%s\nwant\n%s", got, wantSFT)
	}
	if got := readFile(t, prefs); got != wantPrefs {
		t.Errorf("preference file:\n%s\nwant\n%s", got, wantPrefs)
	}
	if _, err := s.Save("Q2", []string{"x"}, Decision{Text: "again"}); !errors.Is(err, ErrLabelled) {
		t.Errorf("saving a labelled prompt again: %v, want ErrLabelled", err)
	}
	s.Close()

	r := openStore(t, sft, prefs)
	for _, p := range []string{"Say <hi>", "Q2"} {
		if !r.Labelled(p) {
			t.Errorf("after reopening, %q is not labelled", p)
		}
	}
	if r.Labelled("Q3") || len(r.Repaired) != 0 {
		t.Errorf("Q3 labelled %v, repairs %q", r.Labelled("Q3"), r.Repaired)
	}
	if _, err := r.Save("Q3", []string{"a", "b"}, Decision{Ranking: []int{1, 0}}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, sft); !strings.HasPrefix(got, wantSFT) || strings.Count(got, "\n") != 3 {
		t.Errorf("after reopening, the SFT file is not appended to:\n%s", got)
	}
}

func TestStoreRepairsTail(t *testing.T) {
	const line = `{"messages":[{"role":"user","content":"A"},{"role":"assistant","content":"a"}]}`
	cases := []struct {
		name, before, after string
		repaired            bool
	}{
		{"empty", "", "", false},
		{"whole", line + "\n", line + "\n", false},
		{"cut mid-record", line + "\n" + line[:30], line + "\n", true},
		{"only a cut record", line[:10], "", true},
		{"missing newline", line, line + "\n", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sft, prefs := storePaths(t)
			if err := os.WriteFile(sft, []byte(c.before), 0o644); err != nil {
				t.Fatal(err)
			}
			s := openStore(t, sft, prefs)
			if got := readFile(t, sft); got != c.after {
				t.Errorf("after opening: %q, want %q", got, c.after)
			}
			if (len(s.Repaired) > 0) != c.repaired {
				t.Errorf("repairs %q, want some: %v", s.Repaired, c.repaired)
			}
			if _, err := s.Save("B", []string{"b"}, Decision{Ranking: []int{0}}); err != nil {
				t.Fatal(err)
			}
			checkJSONL(t, sft)
		})
	}
}

// checkJSONL fails unless every line of path is a whole JSON object and
// the file ends with a newline; it returns the number of lines.
func checkJSONL(t *testing.T, path string) int {
	t.Helper()
	text := readFile(t, path)
	if text != "" && !strings.HasSuffix(text, "\n") {
		t.Errorf("%s does not end with a newline", path)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil && text != "" {
			t.Errorf("%s line %d: %v: %q", path, i+1, err, l)
		}
	}
	if text == "" {
		return 0
	}
	return len(lines)
}

func TestStoreCompletesCutDecision(t *testing.T) {
	sft, prefs := storePaths(t)
	s := openStore(t, sft, prefs)
	if _, err := s.Save("A", []string{"a1", "a2"}, Decision{Ranking: []int{1}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// A crash after the preferences of "B" were written, before its SFT line.
	out, err := Resolve("B", []string{"b1", "b2", "b3"}, Decision{Ranking: []int{2, 0}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(prefs, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := appendRecords(f, out.Pairs...); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := openStore(t, sft, prefs)
	if !r.Labelled("B") || len(r.Repaired) != 1 {
		t.Fatalf("B labelled %v, repairs %q", r.Labelled("B"), r.Repaired)
	}
	want := `{"messages":[{"role":"user","content":"A"},{"role":"assistant","content":"a2"}]}
{"messages":[{"role":"user","content":"B"},{"role":"assistant","content":"b3"}]}
`
	if got := readFile(t, sft); got != want {
		t.Errorf("SFT file:\n%s\nwant\n%s", got, want)
	}
}

func TestOpenStoreErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"prompt\":\"a\",\"chosen\":\"b\",\"rejected\":\"c\"}\nnot json\n{}\n"), 0o644)
	cases := []struct{ name, sft, prefs, want string }{
		{"same file", filepath.Join(dir, "x.jsonl"), filepath.Join(dir, "x.jsonl"), "must differ"},
		{"bad line", filepath.Join(dir, "s.jsonl"), bad, "bad.jsonl line 2"},
		{"no folder", filepath.Join(dir, "none", "s.jsonl"), filepath.Join(dir, "p.jsonl"), "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := OpenStore(c.sft, c.prefs)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q lacks %q", err, c.want)
			}
		})
	}
}

// TestStoreSurvivesKill saves labels in a child process, kills it with
// SIGKILL once it has reported some as saved, adds the torn line a write
// cut by a crash leaves, and reopens: every reported label is there, and
// both files are whole JSONL.
func TestStoreSurvivesKill(t *testing.T) {
	if dir := os.Getenv("LLMOS_LABEL_CRASH_DIR"); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreSurvivesKill$")
	cmd.Env = append(os.Environ(), "LLMOS_LABEL_CRASH_DIR="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const reported = 20
	sc := bufio.NewScanner(stdout)
	var saved []string
	for len(saved) < reported && sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "saved "); ok {
			saved = append(saved, p)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if len(saved) < reported {
		t.Fatalf("the child reported %d labels before it ended", len(saved))
	}
	sft, prefs := filepath.Join(dir, "sft.jsonl"), filepath.Join(dir, "prefs.jsonl")
	f, err := os.OpenFile(sft, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"messages":[{"role":"user","con`)
	f.Close()
	s := openStore(t, sft, prefs)
	for _, p := range saved {
		if !s.Labelled(p) {
			t.Errorf("%q was reported saved but is not in the files", p)
		}
	}
	n := checkJSONL(t, sft)
	if m := checkJSONL(t, prefs); n < reported || m < 2*n-2 {
		t.Errorf("%d SFT lines and %d pairs after %d labels of 3 answers", n, m, reported)
	}
}

// crashChild saves labels until it is killed, reporting each after Save
// returns, that is after its fsync.
func crashChild(dir string) {
	s, err := OpenStore(filepath.Join(dir, "sft.jsonl"), filepath.Join(dir, "prefs.jsonl"))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for i := 0; ; i++ {
		p := fmt.Sprintf("prompt %d", i)
		if _, err := s.Save(p, []string{"a " + p, "b " + p, "c " + p}, Decision{Ranking: []int{i % 3}}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("saved", p)
	}
}

func BenchmarkOpenStore(b *testing.B) {
	dir := b.TempDir()
	sft, prefs := filepath.Join(dir, "sft.jsonl"), filepath.Join(dir, "prefs.jsonl")
	s, err := OpenStore(sft, prefs)
	if err != nil {
		b.Fatal(err)
	}
	var sb, pb strings.Builder
	for i := range 2000 {
		out, _ := Resolve(fmt.Sprintf("prompt number %d", i), []string{"first answer", "second answer", "third answer", "fourth"}, Decision{Ranking: []int{i % 4}})
		json.NewEncoder(&sb).Encode(out.SFT)
		for _, p := range out.Pairs {
			json.NewEncoder(&pb).Encode(p)
		}
	}
	s.Close()
	os.WriteFile(sft, []byte(sb.String()), 0o644)
	os.WriteFile(prefs, []byte(pb.String()), 0o644)
	for b.Loop() {
		s, err := OpenStore(sft, prefs)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkSave measures one decision on disk: two appends, two fsyncs.
func BenchmarkSave(b *testing.B) {
	dir := b.TempDir()
	s, err := OpenStore(filepath.Join(dir, "sft.jsonl"), filepath.Join(dir, "prefs.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	answers := []string{"first answer", "second answer", "third answer", "fourth answer"}
	i := 0
	for b.Loop() {
		if _, err := s.Save(fmt.Sprintf("prompt %d", i), answers, Decision{Ranking: []int{i % 4}}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
