// Package convo holds the datasets of the fine-tuning stages: conversations
// for supervised fine-tuning (SFT) and preference pairs for reward models and
// DPO. It reads them from JSON Lines or JSON arrays in OpenAI's messages
// form, the Alpaca form and the ShareGPT form; renders them with a model's
// chat template; tokenizes them with a mask of the assistant's tokens (the
// only ones a fine-tuning loss is on); and packs short conversations into
// fixed-length training rows.
package convo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/llmos/llmos/chat"
)

// Conversation is one SFT example: the messages, in OpenAI's chat format
// (system, user, assistant with content or tool calls, tool results), and
// the tools the system turn offers, if any.
type Conversation struct {
	Messages []chat.Message `json:"messages"`
	Tools    []chat.Tool    `json:"tools,omitempty"`
}

// Pair is one preference: a prompt (the conversation so far, ending before
// an assistant turn) and two continuations of it, the chosen one better
// than the rejected one. A continuation is one or more messages, typically a
// single assistant turn.
type Pair struct {
	Prompt   []chat.Message `json:"prompt"`
	Chosen   []chat.Message `json:"chosen"`
	Rejected []chat.Message `json:"rejected"`
	Tools    []chat.Tool    `json:"tools,omitempty"`
}

// ReadConversations reads SFT examples from path: a JSON array of records
// or JSON Lines (one record per line). A record is any of
//
//	{"messages": [{"role": "user", "content": ...}, ...], "tools": [...]}     OpenAI
//	{"instruction": ..., "input": ..., "output": ..., "system": ..., "history": [[q, a], ...]}   Alpaca
//	{"conversations": [{"from": "human", "value": ...}, ...], "system": ...}  ShareGPT
//
// and must contain at least one assistant turn.
func ReadConversations(path string) ([]Conversation, error) {
	var out []Conversation
	err := readRecords(path, func(raw json.RawMessage) error {
		c, err := parseConversation(raw)
		if err == nil {
			err = checkConversation(c.Messages)
		}
		if err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("convo: %s: no conversations", path)
	}
	return out, nil
}

// ReadPairs reads preference pairs from path (a JSON array or JSON Lines).
// A record holds a prompt and two continuations:
//
//	{"prompt": "text" | [messages], "chosen": C, "rejected": C}
//	{"messages": [messages], "chosen": C, "rejected": C}
//	{"conversations": [{"from", "value"}...], "chosen": C, "rejected": C}   ShareGPT (LLaMA-Factory)
//	{"instruction": ..., "input": ..., "chosen": C, "rejected": C}          Alpaca
//
// where a continuation C is a string (the assistant's answer), a message
// ({"role", "content"} or ShareGPT's {"from", "value"}), or a list of them.
func ReadPairs(path string) ([]Pair, error) {
	var out []Pair
	err := readRecords(path, func(raw json.RawMessage) error {
		p, err := parsePair(raw)
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("convo: %s: no preference pairs", path)
	}
	return out, nil
}

// readRecords calls each with every record of a JSON array or JSON Lines
// file, wrapping its errors with the record's place.
func readRecords(path string, each func(json.RawMessage) error) error {
	buf, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("convo: %w", err)
	}
	trimmed := bytes.TrimSpace(buf)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var recs []json.RawMessage
		if err := json.Unmarshal(trimmed, &recs); err != nil {
			return fmt.Errorf("convo: %s: %w", path, err)
		}
		for i, r := range recs {
			if err := each(r); err != nil {
				return fmt.Errorf("convo: %s: record %d: %w", path, i+1, err)
			}
		}
		return nil
	}
	for i, line := range bytes.Split(buf, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if err := each(line); err != nil {
			return fmt.Errorf("convo: %s: line %d: %w", path, i+1, err)
		}
	}
	return nil
}

// record is the union of the fields of every accepted format.
type record struct {
	Messages      json.RawMessage `json:"messages"`
	Tools         []chat.Tool     `json:"tools"`
	Conversations []shareGPTTurn  `json:"conversations"`
	System        string          `json:"system"`
	Instruction   *string         `json:"instruction"`
	Input         string          `json:"input"`
	Output        *string         `json:"output"`
	History       [][2]string     `json:"history"`
	Prompt        json.RawMessage `json:"prompt"`
	Chosen        json.RawMessage `json:"chosen"`
	Rejected      json.RawMessage `json:"rejected"`
}

// shareGPTTurn is a turn of ShareGPT's format.
type shareGPTTurn struct {
	From  string `json:"from"`
	Value string `json:"value"`
}

func parseRecord(raw json.RawMessage) (record, error) {
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, err
	}
	return r, nil
}

func parseConversation(raw json.RawMessage) (Conversation, error) {
	r, err := parseRecord(raw)
	if err != nil {
		return Conversation{}, err
	}
	c := Conversation{Tools: r.Tools}
	switch {
	case len(r.Messages) > 0:
		if err := json.Unmarshal(r.Messages, &c.Messages); err != nil {
			return c, fmt.Errorf("messages: %w", err)
		}
	case r.Conversations != nil:
		if c.Messages, err = fromShareGPT(r.System, r.Conversations); err != nil {
			return c, err
		}
	case r.Instruction != nil:
		if r.Output == nil {
			return c, errors.New(`alpaca record without "output"`)
		}
		c.Messages = append(alpacaPrompt(r), chat.Message{Role: "assistant", Content: *r.Output})
	default:
		return c, errors.New(`no "messages", "conversations" or "instruction"`)
	}
	return c, nil
}

// alpacaPrompt turns an Alpaca record's system, history, instruction and
// input into messages, as LLaMA-Factory does: the input follows the
// instruction after a newline.
func alpacaPrompt(r record) []chat.Message {
	var msgs []chat.Message
	if r.System != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: r.System})
	}
	for _, qa := range r.History {
		msgs = append(msgs, chat.Message{Role: "user", Content: qa[0]}, chat.Message{Role: "assistant", Content: qa[1]})
	}
	user := *r.Instruction
	if r.Input != "" {
		user += "\n" + r.Input
	}
	return append(msgs, chat.Message{Role: "user", Content: user})
}

// fromShareGPT converts ShareGPT turns: human/user, gpt/assistant, system,
// function_call (an assistant tool call whose value is {"name", "arguments"})
// and observation/tool (the tool's result).
func fromShareGPT(system string, turns []shareGPTTurn) ([]chat.Message, error) {
	var msgs []chat.Message
	if system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: system})
	}
	for i, t := range turns {
		m, err := shareGPTMessage(t)
		if err != nil {
			return nil, fmt.Errorf("conversations[%d]: %w", i, err)
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

func shareGPTMessage(t shareGPTTurn) (chat.Message, error) {
	switch t.From {
	case "human", "user":
		return chat.Message{Role: "user", Content: t.Value}, nil
	case "gpt", "assistant":
		return chat.Message{Role: "assistant", Content: t.Value}, nil
	case "system":
		return chat.Message{Role: "system", Content: t.Value}, nil
	case "observation", "tool":
		return chat.Message{Role: "tool", Content: t.Value}, nil
	case "function_call":
		var call struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := json.Unmarshal([]byte(t.Value), &call); err != nil || call.Name == "" {
			return chat.Message{}, fmt.Errorf("function_call value is not {\"name\", \"arguments\"}: %q", t.Value)
		}
		args := string(call.Arguments)
		if s := ""; json.Unmarshal(call.Arguments, &s) == nil {
			args = s // arguments given as a JSON text inside a string
		}
		return chat.Message{Role: "assistant", ToolCalls: []chat.ToolCall{{
			Type: "function", Function: chat.FunctionCall{Name: call.Name, Arguments: args},
		}}}, nil
	}
	return chat.Message{}, fmt.Errorf("unknown ShareGPT role %q (want human, gpt, system, function_call or observation)", t.From)
}

// checkConversation requires known roles, a first turn that is not the
// assistant's (it must answer something), and at least one assistant turn
// with content or tool calls.
func checkConversation(msgs []chat.Message) error {
	answers := 0
	for i, m := range msgs {
		switch m.Role {
		case "system", "user", "tool":
		case "assistant":
			if i == 0 {
				return errors.New("the conversation starts with an assistant turn")
			}
			if m.Content != "" || len(m.ToolCalls) > 0 {
				answers++
			}
		default:
			return fmt.Errorf("message %d: unknown role %q (want system, user, assistant or tool)", i, m.Role)
		}
	}
	if answers == 0 {
		return errors.New("no assistant turn to learn from")
	}
	return nil
}

func parsePair(raw json.RawMessage) (Pair, error) {
	r, err := parseRecord(raw)
	if err != nil {
		return Pair{}, err
	}
	p := Pair{Tools: r.Tools}
	switch {
	case len(r.Prompt) > 0:
		var s string
		if json.Unmarshal(r.Prompt, &s) == nil {
			p.Prompt = []chat.Message{{Role: "user", Content: s}}
		} else if err := json.Unmarshal(r.Prompt, &p.Prompt); err != nil {
			return p, fmt.Errorf("prompt is neither a string nor a list of messages: %w", err)
		}
		if r.System != "" {
			p.Prompt = append([]chat.Message{{Role: "system", Content: r.System}}, p.Prompt...)
		}
	case len(r.Messages) > 0:
		if err := json.Unmarshal(r.Messages, &p.Prompt); err != nil {
			return p, fmt.Errorf("messages: %w", err)
		}
	case r.Conversations != nil:
		if p.Prompt, err = fromShareGPT(r.System, r.Conversations); err != nil {
			return p, err
		}
	case r.Instruction != nil:
		p.Prompt = alpacaPrompt(r)
	default:
		return p, errors.New(`no "prompt", "messages", "conversations" or "instruction"`)
	}
	if len(p.Prompt) == 0 {
		return p, errors.New("empty prompt")
	}
	if p.Chosen, err = continuation(r.Chosen); err != nil {
		return p, fmt.Errorf("chosen: %w", err)
	}
	if p.Rejected, err = continuation(r.Rejected); err != nil {
		return p, fmt.Errorf("rejected: %w", err)
	}
	if err := checkConversation(append(append([]chat.Message(nil), p.Prompt...), p.Chosen...)); err != nil {
		return p, err
	}
	if err := checkConversation(append(append([]chat.Message(nil), p.Prompt...), p.Rejected...)); err != nil {
		return p, err
	}
	return p, nil
}

// continuation decodes a chosen or rejected answer: a string, a message in
// OpenAI or ShareGPT form, or a list of messages.
func continuation(raw json.RawMessage) ([]chat.Message, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("missing")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []chat.Message{{Role: "assistant", Content: s}}, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		var msgs []chat.Message
		for i, it := range items {
			m, err := oneMessage(it)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			return nil, errors.New("empty list")
		}
		return msgs, nil
	}
	m, err := oneMessage(raw)
	if err != nil {
		return nil, err
	}
	return []chat.Message{m}, nil
}

// oneMessage decodes {"role", "content", ...} or ShareGPT's {"from", "value"}.
func oneMessage(raw json.RawMessage) (chat.Message, error) {
	var probe struct {
		From *string `json:"from"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return chat.Message{}, err
	}
	if probe.From != nil {
		var t shareGPTTurn
		if err := json.Unmarshal(raw, &t); err != nil {
			return chat.Message{}, err
		}
		return shareGPTMessage(t)
	}
	var m chat.Message
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, err
	}
	if strings.TrimSpace(m.Role) == "" {
		return m, errors.New("message without a role")
	}
	return m, nil
}
