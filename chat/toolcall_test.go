package chat

import (
	"reflect"
	"strings"
	"testing"
)

func call(id, name, args string) ToolCall {
	return ToolCall{ID: id, Type: "function", Function: FunctionCall{Name: name, Arguments: args}}
}

func TestParseToolCalls(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		content string
		calls   []ToolCall
		ok      bool
	}{
		{"plain text", "Paris is the capital of France.", "Paris is the capital of France.", nil, false},
		{"hermes one call", "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
			"", []ToolCall{call("", "get_weather", `{"city":"Paris"}`)}, true},
		{"hermes two calls with content", "Let me check.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {\"x\": [1, 2]}}\n</tool_call>",
			"Let me check.", []ToolCall{call("", "a", `{}`), call("", "b", `{"x":[1,2]}`)}, true},
		{"hermes unclosed last block", "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"q\": \"<b>\"}}",
			"", []ToolCall{call("", "f", `{"q":"<b>"}`)}, true},
		{"hermes string arguments", `<tool_call>{"name": "f", "arguments": "{\"n\": 1}"}</tool_call>`,
			"", []ToolCall{call("", "f", `{"n":1}`)}, true},
		{"hermes malformed json", "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"q\": }\n</tool_call>",
			"<tool_call>\n{\"name\": \"f\", \"arguments\": {\"q\": }\n</tool_call>", nil, false},
		{"hermes missing name", `<tool_call>{"arguments": {}}</tool_call>`, `<tool_call>{"arguments": {}}</tool_call>`, nil, false},
		{"hermes arguments not an object", `<tool_call>{"name": "f", "arguments": [1]}</tool_call>`, `<tool_call>{"name": "f", "arguments": [1]}</tool_call>`, nil, false},
		{"hermes truncated", "<tool_call>\n{\"name\": \"f\", \"argu", "<tool_call>\n{\"name\": \"f\", \"argu", nil, false},
		{"llama 3.1 json", `{"name": "get_weather", "parameters": {"city": "Oslo", "unit": "celsius"}}`,
			"", []ToolCall{call("", "get_weather", `{"city":"Oslo","unit":"celsius"}`)}, true},
		{"llama python tag", "<|python_tag|>{\"name\": \"f\", \"parameters\": {}}", "", []ToolCall{call("", "f", `{}`)}, true},
		{"llama no arguments", ` {"name": "now"} `, "", []ToolCall{call("", "now", `{}`)}, true},
		{"json array of calls", `[{"name": "a", "arguments": {"x": 1}}, {"name": "b", "parameters": {}}]`,
			"", []ToolCall{call("", "a", `{"x":1}`), call("", "b", `{}`)}, true},
		{"json without name", `{"answer": 42}`, `{"answer": 42}`, nil, false},
		{"json followed by text", `{"name": "f", "parameters": {}} and more`, `{"name": "f", "parameters": {}} and more`, nil, false},
		{"mistral array", `[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Rome"}, "id": "abcDEF123"}]`,
			"", []ToolCall{call("abcDEF123", "get_weather", `{"city":"Rome"}`)}, true},
		{"mistral with content before", "Sure.[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}]",
			"Sure.", []ToolCall{call("", "f", `{}`)}, true},
		{"mistral args format", `[TOOL_CALLS]get_weather[ARGS]{"city": "Rome"}[TOOL_CALLS]now[ARGS]{}`,
			"", []ToolCall{call("", "get_weather", `{"city":"Rome"}`), call("", "now", `{}`)}, true},
		{"mistral malformed", `[TOOL_CALLS] [{"name": "f", "arguments": {]`, `[TOOL_CALLS] [{"name": "f", "arguments": {]`, nil, false},
		{"mistral args without name", `[TOOL_CALLS][ARGS]{}`, `[TOOL_CALLS][ARGS]{}`, nil, false},
		{"empty", "", "", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			content, calls, ok := ParseToolCalls(tc.text)
			if content != tc.content || ok != tc.ok || !reflect.DeepEqual(calls, tc.calls) {
				t.Errorf("ParseToolCalls(%q) =\n%q, %+v, %v\nwant\n%q, %+v, %v", tc.text, content, calls, ok, tc.content, tc.calls, tc.ok)
			}
		})
	}
}

// TestChatMLToolCallRoundTrip renders an assistant turn with calls through
// the ChatML template and parses them back from the rendered text.
func TestChatMLToolCallRoundTrip(t *testing.T) {
	tmpl, err := NewTemplate(ChatML)
	if err != nil {
		t.Fatal(err)
	}
	want := []ToolCall{call("", "search", `{"query":"gguf format","limit":3}`), call("", "now", `{}`)}
	out, err := tmpl.Render([]Message{{Role: "assistant", Content: "Looking it up.", ToolCalls: want}}, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reply := strings.TrimSuffix(strings.TrimPrefix(out, "<|im_start|>assistant\n"), "<|im_end|>\n")
	content, got, ok := ParseToolCalls(reply)
	if !ok || content != "Looking it up." || !reflect.DeepEqual(got, want) {
		t.Errorf("rendered %q, parsed back %q %+v %v", out, content, got, ok)
	}
}

func FuzzParseToolCalls(f *testing.F) {
	for _, s := range []string{
		"<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>",
		"[TOOL_CALLS] [{\"name\": \"f\"}]",
		"[TOOL_CALLS]f[ARGS]{}",
		`{"name": "f", "parameters": {"a": "b"}}`,
		"text <tool_call> {",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		content, calls, ok := ParseToolCalls(s)
		if ok != (len(calls) > 0) {
			t.Fatalf("ok=%v with %d calls", ok, len(calls))
		}
		if !ok && content != s {
			t.Fatalf("failed parse changed the content to %q", content)
		}
		for _, c := range calls {
			if c.Function.Name == "" || !strings.HasPrefix(c.Function.Arguments, "{") {
				t.Fatalf("bad call %+v", c)
			}
		}
	})
}

func FuzzNewTemplate(f *testing.F) {
	for _, s := range []string{ChatML, "{% if x %}{{ y }}\n{% endif %}", "{{ {'a': {'b': 1}} | tojson(indent=2) }}", "{%- raw -%}", "{{ 'unterminated"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := NewTemplate(s)
		if err != nil {
			return
		}
		// Rendering may fail on templates that make no sense, but must not panic.
		_, _ = tmpl.Render([]Message{{Role: "user", Content: "Hi"}}, RenderOptions{Tools: []Tool{{Type: "function", Function: Function{Name: "f"}}}})
	})
}
