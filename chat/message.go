// Package chat holds conversations and turns them into prompts: messages
// in OpenAI's chat format, the Jinja chat templates that GGUF models carry
// (tokenizer.chat_template), rendered the way Hugging Face transformers
// renders them, and parsing of the tool calls models write back.
package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Message is one turn of a conversation, in OpenAI's chat format.
type Message struct {
	// Role is "system", "user", "assistant" or "tool" (templates may know others).
	Role string `json:"role"`
	// Content is the text of the turn. When decoding, OpenAI's array of
	// content parts is accepted and its text parts are concatenated.
	Content string `json:"content"`
	// ToolCalls are the calls an assistant turn makes.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID ties a "tool" turn to the call it answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
	// Name names the author of the turn, e.g. the tool that answered.
	Name string `json:"name,omitempty"`
}

// ToolCall is a function call made by the assistant.
type ToolCall struct {
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type"`
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function called and holds its arguments as a JSON
// text, as OpenAI's API does.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Tool describes a function the model may call; it is passed to templates
// as the `tools` variable, like Hugging Face's apply_chat_template(tools=...).
type Tool struct {
	Type     string   `json:"type"`
	Function Function `json:"function"`
}

// Function is a tool's name, description and JSON-schema parameters.
type Function struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// UnmarshalJSON accepts content as a string, null, or an array of content
// parts of which only text parts are supported.
func (m *Message) UnmarshalJSON(b []byte) error {
	type plain Message
	var raw struct {
		plain
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("chat: message: %w", err)
	}
	*m = Message(raw.plain)
	content := bytes.TrimSpace(raw.Content)
	switch {
	case len(content) == 0 || string(content) == "null":
		m.Content = ""
	case content[0] == '[':
		var parts []struct {
			Type string  `json:"type"`
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(content, &parts); err != nil {
			return fmt.Errorf("chat: message content parts: %w", err)
		}
		var sb strings.Builder
		for i, p := range parts {
			if p.Type != "text" || p.Text == nil {
				return fmt.Errorf("chat: message content part %d: unsupported type %q (only text)", i, p.Type)
			}
			sb.WriteString(*p.Text)
		}
		m.Content = sb.String()
	default:
		if err := json.Unmarshal(content, &m.Content); err != nil {
			return fmt.Errorf("chat: message content: %w", err)
		}
	}
	return nil
}
