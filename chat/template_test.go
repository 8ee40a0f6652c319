package chat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// templateCase is one file of testdata: a template, a conversation and the
// exact text transformers (or llama.cpp's test suite) renders for it. See
// testdata/README.md for where each comes from.
type templateCase struct {
	Source              string         `json:"source"`
	Template            string         `json:"template"`
	TemplateFile        string         `json:"template_file"`
	BOSToken            string         `json:"bos_token"`
	EOSToken            string         `json:"eos_token"`
	AddGenerationPrompt bool           `json:"add_generation_prompt"`
	Messages            []Message      `json:"messages"`
	Tools               []Tool         `json:"tools"`
	Vars                map[string]any `json:"vars"`
	Expected            *string        `json:"expected"`
	ExpectedError       string         `json:"expected_error"`
}

func loadCase(t testing.TB, path string) (templateCase, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c templateCase
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	src := c.Template
	if c.TemplateFile != "" {
		b, err := os.ReadFile(filepath.Join("testdata", c.TemplateFile))
		if err != nil {
			t.Fatal(err)
		}
		src = string(b)
	}
	return c, src
}

func TestRenderMatchesReference(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test cases in testdata (%v)", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			c, src := loadCase(t, path)
			tmpl, err := NewTemplate(src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tmpl.Render(c.Messages, RenderOptions{
				AddGenerationPrompt: c.AddGenerationPrompt,
				BOSToken:            c.BOSToken,
				EOSToken:            c.EOSToken,
				Tools:               c.Tools,
				Vars:                c.Vars,
			})
			if c.ExpectedError != "" {
				if err == nil || !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), c.ExpectedError) {
					t.Fatalf("err = %v, want a template error containing %q (output %q)", err, c.ExpectedError, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Expected == nil {
				t.Fatal("case has no expected output: run testdata/render_hf.py --write")
			}
			if got != *c.Expected {
				t.Errorf("source: %s\ngot:\n%q\nwant:\n%q", c.Source, got, *c.Expected)
			}
		})
	}
}

func TestChatMLFileIsTheConstant(t *testing.T) {
	b, err := os.ReadFile("testdata/templates/chatml.jinja")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != ChatML {
		t.Error("testdata/templates/chatml.jinja differs from ChatML: copy the constant there and rerun testdata/render_hf.py --write")
	}
}

func TestEmptyTemplateIsChatML(t *testing.T) {
	tmpl, err := NewTemplate("")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Render([]Message{{Role: "user", Content: "Hi"}}, RenderOptions{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTemplateErrors(t *testing.T) {
	tests := []struct {
		name   string
		source string
		opts   RenderOptions
		want   string
	}{
		{"unclosed block", "{% for m in messages %}{{ m.content }}", RenderOptions{}, "compile"},
		{"bad expression", "{{ messages[ }}", RenderOptions{}, "compile"},
		{"raise_exception", "{{ raise_exception('no system role, please') }}", RenderOptions{}, "no system role, please"},
		{"unmarshalable var", "{{ x }}", RenderOptions{Vars: map[string]any{"x": func() {}}}, `template variable "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := NewTemplate(tc.source)
			if err == nil {
				_, err = tmpl.Render([]Message{{Role: "user", Content: "Hi"}}, tc.opts)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestMessageJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Message
		wantErr bool
	}{
		{"string content", `{"role":"user","content":"Hi"}`, Message{Role: "user", Content: "Hi"}, false},
		{"null content with tool calls",
			`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}`,
			Message{Role: "assistant", ToolCalls: []ToolCall{{ID: "c1", Type: "function", Function: FunctionCall{Name: "f", Arguments: `{"a":1}`}}}}, false},
		{"text parts", `{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}`, Message{Role: "user", Content: "ab"}, false},
		{"tool result", `{"role":"tool","content":"42","tool_call_id":"c1","name":"calc"}`, Message{Role: "tool", Content: "42", ToolCallID: "c1", Name: "calc"}, false},
		{"image part", `{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}`, Message{}, true},
		{"number content", `{"role":"user","content":3}`, Message{}, true},
		{"not an object", `[1]`, Message{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			err := json.Unmarshal([]byte(tc.in), &m)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			gotJSON, _ := json.Marshal(m)
			wantJSON, _ := json.Marshal(tc.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("got %s, want %s", gotJSON, wantJSON)
			}
		})
	}
}

func BenchmarkRender(b *testing.B) {
	c, src := loadCase(b, "testdata/hf-llama-3.2-tools.json")
	tmpl, err := NewTemplate(src)
	if err != nil {
		b.Fatal(err)
	}
	opts := RenderOptions{AddGenerationPrompt: true, BOSToken: c.BOSToken, EOSToken: c.EOSToken, Tools: c.Tools, Vars: c.Vars}
	for b.Loop() {
		if _, err := tmpl.Render(c.Messages, opts); err != nil {
			b.Fatal(err)
		}
	}
}
