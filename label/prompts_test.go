package label

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadPrompts(t *testing.T) {
	cases := []struct {
		name, file, text string
		want             []string
		err              string
	}{
		{"text", "p.txt", "Hello there\n\n  Tell me a story  \r\nlast line", []string{"Hello there", "Tell me a story", "last line"}, ""},
		{"jsonl by name", "p.jsonl", `{"prompt":"a\nb","id":1}` + "\n\n" + `{"prompt":"c"}`, []string{"a\nb", "c"}, ""},
		{"jsonl by content", "p.txt", `{"prompt":"x"}` + "\n" + `{"prompt":"y","source":"z"}`, []string{"x", "y"}, ""},
		{"text that looks like JSON later", "p.txt", "one\n{\"prompt\":\"two\"}", []string{"one", `{"prompt":"two"}`}, ""},
		{"text starting with a brace", "p.txt", "{curly} prompt\nnext", []string{"{curly} prompt", "next"}, ""},
		{"jsonl without prompt", "p.jsonl", `{"text":"x"}`, nil, `line 1: no "prompt"`},
		{"jsonl with a bad line", "p.txt", `{"prompt":"x"}` + "\nplain", nil, "line 2"},
		{"empty", "p.txt", "\n \n", nil, "no prompts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), c.file)
			if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := LoadPrompts(path)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err = %v, want one naming %s and saying %q", err, path, c.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("LoadPrompts = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	if _, err := LoadPrompts(filepath.Join(t.TempDir(), "absent.txt")); err == nil {
		t.Error("a missing file: no error")
	}
}

func FuzzReadPrompts(f *testing.F) {
	f.Add("a\nb\n", false)
	f.Add(`{"prompt":"x"}`+"\n"+`{"prompt":""}`, false)
	f.Add(`{"prompt":1}`, true)
	f.Fuzz(func(t *testing.T, text string, jsonl bool) {
		got, err := ReadPrompts(strings.NewReader(text), jsonl)
		if err == nil && len(got) == 0 {
			t.Error("no error and no prompts")
		}
		for _, p := range got {
			if strings.TrimSpace(p) == "" {
				t.Errorf("a blank prompt from %q", text)
			}
		}
	})
}
