package engine

import (
	"context"
	"strings"

	"github.com/llmos/llmos/chat"
)

// Chat is a conversation with the model: its messages, rendered with the
// model's own chat template (tokenizer.chat_template) or ChatML when it has
// none, over a Session whose KV cache keeps the conversation so far.
type Chat struct {
	s        *Session
	tmpl     *chat.Template
	fallback bool // the model has no template: ChatML, with text stops
	system   string
	messages []chat.Message
}

// NewChat starts a conversation, with an optional system prompt.
func (e *Engine) NewChat(system string) (*Chat, error) {
	src, _ := e.File.String("tokenizer.chat_template")
	tmpl, err := chat.NewTemplate(src)
	if err != nil {
		return nil, err
	}
	s, err := e.NewSession()
	if err != nil {
		return nil, err
	}
	return &Chat{s: s, tmpl: tmpl, fallback: src == "", system: system}, nil
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

// Prompt renders msgs with the template and tokenizes the result, special
// tokens parsed, BOS added where the vocabulary wants it and the template
// did not already write it.
func (c *Chat) Prompt(msgs []chat.Message) ([]int32, error) {
	tok := c.s.e.Tokenizer
	text, err := c.tmpl.Render(msgs, chat.RenderOptions{
		AddGenerationPrompt: true,
		BOSToken:            tok.TokenText(tok.BOS()),
		EOSToken:            tok.TokenText(tok.EOS()),
	})
	if err != nil {
		return nil, err
	}
	ids := tok.Encode(text, true, true)
	if len(ids) >= 2 && tok.AddBOS() && ids[0] == tok.BOS() && ids[1] == tok.BOS() {
		ids = ids[1:]
	}
	return ids, nil
}

// Send adds a user turn and generates the assistant's answer with req's
// settings (its Prompt is replaced), streaming text to emit. The answer
// joins the conversation, also when it was cut short by cancellation.
func (c *Chat) Send(ctx context.Context, user string, req Request, emit func(string) error) (Result, error) {
	msgs := append(c.Messages(), chat.Message{Role: "user", Content: user})
	prompt, err := c.Prompt(msgs)
	if err != nil {
		return Result{}, err
	}
	req.Prompt = prompt
	if c.fallback {
		// ChatML's markers may not be single tokens in this vocabulary.
		req.Stop = append(req.Stop[:len(req.Stop):len(req.Stop)], "<|im_end|>", "<|im_start|>")
	}
	res, err := c.s.Generate(ctx, req, emit)
	if err != nil {
		return res, err
	}
	c.messages = append(c.messages,
		chat.Message{Role: "user", Content: user},
		chat.Message{Role: "assistant", Content: strings.TrimSpace(res.Text)})
	return res, nil
}
