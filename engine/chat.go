package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/tokenizer"
	"github.com/llmos/llmos/tool"
)

// ChatFormat turns conversations into prompts for one model: its own chat
// template (tokenizer.chat_template), or ChatML when it has none.
type ChatFormat struct {
	tok      *tokenizer.Tokenizer
	tmpl     *chat.Template
	fallback bool
}

// ChatFormat reads the model's chat template.
func (e *Engine) ChatFormat() (*ChatFormat, error) {
	src, _ := e.File.String("tokenizer.chat_template")
	tmpl, err := chat.NewTemplate(src)
	if err != nil {
		return nil, err
	}
	return &ChatFormat{tok: e.Tokenizer, tmpl: tmpl, fallback: src == ""}, nil
}

// Prompt renders msgs (and the tools' specs, if any) with a generation
// prompt and tokenizes the text, special tokens parsed, BOS added where the
// vocabulary wants it and the template did not already write it.
func (f *ChatFormat) Prompt(msgs []chat.Message, tools []chat.Tool) ([]int32, error) {
	text, err := f.tmpl.Render(msgs, chat.RenderOptions{
		AddGenerationPrompt: true,
		BOSToken:            f.tok.TokenText(f.tok.BOS()),
		EOSToken:            f.tok.TokenText(f.tok.EOS()),
		Tools:               tools,
	})
	if err != nil {
		return nil, err
	}
	ids := f.tok.Encode(text, true, true)
	if len(ids) >= 2 && f.tok.AddBOS() && ids[0] == f.tok.BOS() && ids[1] == f.tok.BOS() {
		ids = ids[1:]
	}
	return ids, nil
}

// Stops returns stops plus the text stops the format needs: with the
// ChatML fallback, the turn markers, which may not be single tokens in the
// model's vocabulary.
func (f *ChatFormat) Stops(stops []string) []string {
	if !f.fallback {
		return stops
	}
	return append(stops[:len(stops):len(stops)], "<|im_end|>", "<|im_start|>")
}

// Chat is a conversation with the model: its messages, rendered with the
// model's own chat template (tokenizer.chat_template) or ChatML when it has
// none, over a Session whose KV cache keeps the conversation so far.
type Chat struct {
	// Tools are run when the model calls them; their results go back to
	// the model as tool messages and it continues its answer.
	Tools []tool.Tool
	// ShowTools renders the tools' specs into the prompt (the template's
	// `tools` variable). Models trained to call a tool unprompted, like
	// llmos's own assistant and its calculator, do not need it.
	ShowTools bool
	// OnToolCall, if set, is told of each call and its result.
	OnToolCall func(call chat.ToolCall, result string, err error)

	s        *Session
	generate func(context.Context, Request, func(string) error) (Result, error) // s.Generate; tests script it
	format   *ChatFormat
	system   string
	messages []chat.Message
}

// NewChat starts a conversation, with an optional system prompt.
func (e *Engine) NewChat(system string) (*Chat, error) {
	format, err := e.ChatFormat()
	if err != nil {
		return nil, err
	}
	s, err := e.NewSession()
	if err != nil {
		return nil, err
	}
	return &Chat{s: s, generate: s.Generate, format: format, system: system}, nil
}

// Reset forgets the conversation, keeping the system prompt.
func (c *Chat) Reset() { c.messages = nil }

// SetSystem replaces the system prompt and starts a new conversation.
func (c *Chat) SetSystem(text string) {
	c.system = text
	c.Reset()
}

// Messages returns the conversation so far, system prompt first.
func (c *Chat) Messages() []chat.Message {
	var msgs []chat.Message
	if c.system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: c.system})
	}
	return append(msgs, c.messages...)
}

// Prompt renders msgs with the model's chat format and tokenizes them.
func (c *Chat) Prompt(msgs []chat.Message) ([]int32, error) {
	var tools []chat.Tool
	if c.ShowTools {
		tools = tool.Specs(c.Tools)
	}
	return c.format.Prompt(msgs, tools)
}

// maxToolRounds bounds how many times one answer may call tools.
const maxToolRounds = 4

// Send adds a user turn and generates the assistant's answer with req's
// settings (its Prompt is replaced), streaming text to emit. When the answer
// calls one of c.Tools, the call runs, its result joins the conversation as
// a tool message, and the model goes on (at most maxToolRounds times). The
// turns join the conversation, also when cut short by cancellation; the
// Result is the last generation's.
func (c *Chat) Send(ctx context.Context, user string, req Request, emit func(string) error) (Result, error) {
	turn := []chat.Message{{Role: "user", Content: user}}
	var res Result
	for round := 0; ; round++ {
		prompt, err := c.Prompt(append(c.Messages(), turn...))
		if err != nil {
			return Result{}, err
		}
		r := req
		r.Prompt = prompt
		r.Stop = c.format.Stops(req.Stop)
		if res, err = c.generate(ctx, r, emit); err != nil {
			return res, err
		}
		content, calls, ok := chat.ParseToolCalls(res.Text)
		if !ok || len(calls) == 0 || len(c.Tools) == 0 || round == maxToolRounds || res.StopReason == "cancelled" {
			turn = append(turn, chat.Message{Role: "assistant", Content: strings.TrimSpace(res.Text)})
			break
		}
		for i := range calls {
			if calls[i].ID == "" {
				calls[i].ID = fmt.Sprintf("call_%d_%d", len(c.messages)+len(turn), i)
			}
		}
		turn = append(turn, chat.Message{Role: "assistant", Content: strings.TrimSpace(content), ToolCalls: calls})
		for _, call := range calls {
			result, err := c.runTool(ctx, call)
			if c.OnToolCall != nil {
				c.OnToolCall(call, result, err)
			}
			if err != nil {
				result = "error: " + err.Error()
			}
			turn = append(turn, chat.Message{Role: "tool", Content: result, ToolCallID: call.ID, Name: call.Function.Name})
		}
	}
	c.messages = append(c.messages, turn...)
	return res, nil
}

// runTool runs one call against c.Tools.
func (c *Chat) runTool(ctx context.Context, call chat.ToolCall) (string, error) {
	t, ok := tool.Find(c.Tools, call.Function.Name)
	if !ok {
		return "", fmt.Errorf("no tool named %q", call.Function.Name)
	}
	args := json.RawMessage(call.Function.Arguments)
	if !json.Valid(args) {
		return "", fmt.Errorf("arguments are not JSON: %s", call.Function.Arguments)
	}
	return t.Call(ctx, args)
}
