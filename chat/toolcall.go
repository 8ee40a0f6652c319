package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// ParseToolCalls finds the tool calls in a model's reply. It recognizes
// the formats common models are trained to write:
//
//   - Hermes, Qwen 2.5/3 and llmos's ChatML: one or more
//     <tool_call>{"name": ..., "arguments": {...}}</tool_call> blocks, with
//     any text around them as content (a last block cut off before its
//     closing tag is accepted);
//   - Mistral: [TOOL_CALLS] followed by a JSON array of calls, or by
//     name[ARGS]{...} pairs (newer tokenizers), with the text before it as
//     content;
//   - Llama 3.1+: the whole reply is one JSON object {"name": ...,
//     "parameters": {...}} (or a JSON array of them), optionally after
//     <|python_tag|>.
//
// Arguments are returned as compact JSON object text; a call's ID is set
// only when the model wrote one. ok is false when the reply holds no tool
// call or a malformed one; content is then the whole text, unchanged, so
// nothing the model wrote is lost. Only call it when tools were offered: a
// reply that is merely JSON with a "name" key would otherwise read as a call.
func ParseToolCalls(text string) (content string, calls []ToolCall, ok bool) {
	var err error
	switch {
	case strings.Contains(text, hermesOpen):
		content, calls, err = parseHermes(text)
	case strings.Contains(text, mistralTag):
		content, calls, err = parseMistral(text)
	default:
		calls, err = parseJSONCalls(strings.TrimPrefix(strings.TrimSpace(text), "<|python_tag|>"))
	}
	if err != nil || len(calls) == 0 {
		return text, nil, false
	}
	return content, calls, true
}

const (
	hermesOpen  = "<tool_call>"
	hermesClose = "</tool_call>"
	mistralTag  = "[TOOL_CALLS]"
	mistralArgs = "[ARGS]"
)

var errNoCall = errors.New("no tool call")

func parseHermes(text string) (string, []ToolCall, error) {
	var content strings.Builder
	var calls []ToolCall
	rest := text
	for {
		i := strings.Index(rest, hermesOpen)
		if i < 0 {
			content.WriteString(rest)
			break
		}
		content.WriteString(rest[:i])
		rest = rest[i+len(hermesOpen):]
		body := rest
		if j := strings.Index(rest, hermesClose); j >= 0 {
			body, rest = rest[:j], rest[j+len(hermesClose):]
		} else {
			rest = ""
		}
		call, err := parseCall([]byte(body))
		if err != nil {
			return "", nil, err
		}
		calls = append(calls, call)
	}
	return strings.TrimSpace(content.String()), calls, nil
}

func parseMistral(text string) (string, []ToolCall, error) {
	i := strings.Index(text, mistralTag)
	content := strings.TrimSpace(text[:i])
	rest := strings.TrimSpace(text[i+len(mistralTag):])
	if strings.HasPrefix(rest, "[") {
		calls, err := parseJSONCalls(rest)
		return content, calls, err
	}
	// Newer Mistral tokenizers: name[ARGS]{json}, each call after its own
	// [TOOL_CALLS].
	var calls []ToolCall
	for _, part := range strings.Split(rest, mistralTag) {
		name, args, found := strings.Cut(strings.TrimSpace(part), mistralArgs)
		if !found || strings.TrimSpace(name) == "" {
			return "", nil, errNoCall
		}
		a, err := objectArgs([]byte(args))
		if err != nil {
			return "", nil, err
		}
		calls = append(calls, ToolCall{Type: "function", Function: FunctionCall{Name: strings.TrimSpace(name), Arguments: a}})
	}
	return content, calls, nil
}

// parseJSONCalls reads text that is entirely one call object or an array
// of them.
func parseJSONCalls(text string) ([]ToolCall, error) {
	b := []byte(strings.TrimSpace(text))
	if len(b) == 0 || (b[0] != '{' && b[0] != '[') {
		return nil, errNoCall
	}
	if b[0] == '{' {
		call, err := parseCall(b)
		if err != nil {
			return nil, err
		}
		return []ToolCall{call}, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	calls := make([]ToolCall, 0, len(raw))
	for _, r := range raw {
		call, err := parseCall(r)
		if err != nil {
			return nil, err
		}
		calls = append(calls, call)
	}
	return calls, nil
}

// parseCall reads one {"name": ..., "arguments"|"parameters": {...}} object
// (an optional "id" is kept).
func parseCall(b []byte) (ToolCall, error) {
	var c struct {
		Name       string          `json:"name"`
		Arguments  json.RawMessage `json:"arguments"`
		Parameters json.RawMessage `json:"parameters"`
		ID         string          `json:"id"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(b), &c); err != nil {
		return ToolCall{}, err
	}
	if c.Name == "" {
		return ToolCall{}, errNoCall
	}
	args := c.Arguments
	if len(args) == 0 {
		args = c.Parameters
	}
	a, err := objectArgs(args)
	if err != nil {
		return ToolCall{}, err
	}
	return ToolCall{ID: c.ID, Type: "function", Function: FunctionCall{Name: c.Name, Arguments: a}}, nil
}

// objectArgs returns arguments as compact JSON object text. Missing
// arguments are {}; arguments written as a string holding JSON (as some
// models do, copying OpenAI's wire format) are unwrapped.
func objectArgs(raw []byte) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "{}", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || raw[0] != '{' {
		return "", errors.New("tool call arguments are not a JSON object")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", err
	}
	return buf.String(), nil
}
