package convo

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tokenizer"
)

// Encoder renders conversations with a model's chat template and tokenizes
// them as inference does (special-token texts parsed, BOS added once), and
// marks the assistant's tokens.
type Encoder struct {
	Tok  *tokenizer.Tokenizer
	tmpl *chat.Template
}

// NewEncoder returns an encoder for tok and the Jinja chat template source
// ("" means chat.ChatML).
func NewEncoder(tok *tokenizer.Tokenizer, template string) (*Encoder, error) {
	tmpl, err := chat.NewTemplate(template)
	if err != nil {
		return nil, fmt.Errorf("convo: %w", err)
	}
	return &Encoder{Tok: tok, tmpl: tmpl}, nil
}

// EncoderFromGGUF returns the encoder of a model file: its tokenizer and its
// tokenizer.chat_template, ChatML when it has none.
func EncoderFromGGUF(f *gguf.File) (*Encoder, error) {
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("convo: %w", err)
	}
	src, _ := f.String("tokenizer.chat_template")
	return NewEncoder(tok, src)
}

// Example is a tokenized conversation. Scored[i] says that token i is one
// the assistant writes (its content, tool calls and end-of-turn marker): a
// fine-tuning loss is on these tokens only.
type Example struct {
	Tokens []int32
	Scored []bool
}

// NumScored returns the number of scored tokens.
func (e Example) NumScored() int {
	n := 0
	for _, s := range e.Scored {
		if s {
			n++
		}
	}
	return n
}

// Encode tokenizes a conversation with every assistant turn scored.
func (e *Encoder) Encode(c Conversation) (Example, error) {
	return e.encode(c.Messages, c.Tools, 0)
}

// EncodePair tokenizes the two conversations of a pair, prompt + chosen and
// prompt + rejected, with only the continuation's assistant turns scored.
func (e *Encoder) EncodePair(p Pair) (chosen, rejected Example, err error) {
	join := func(tail []chat.Message) []chat.Message {
		return append(slices.Clip(p.Prompt), tail...)
	}
	if chosen, err = e.encode(join(p.Chosen), p.Tools, len(p.Prompt)); err != nil {
		return chosen, rejected, fmt.Errorf("chosen: %w", err)
	}
	if rejected, err = e.encode(join(p.Rejected), p.Tools, len(p.Prompt)); err != nil {
		return chosen, rejected, fmt.Errorf("rejected: %w", err)
	}
	return chosen, rejected, nil
}

// ErrNotPrefix is returned for a template that does not render a
// conversation as an extension of the rendering of its beginning (one that
// rewrites earlier turns, say), so that the assistant's tokens cannot be
// told apart by rendering prefixes.
var ErrNotPrefix = errors.New("chat template does not render conversations prefix by prefix")

// encode renders and tokenizes msgs, scoring the assistant turns at index
// from or later. It renders prefixes, the standard way to find which tokens
// a turn adds: for assistant turn i, msgs[:i] with the generation prompt is
// the text the model is prompted with, and msgs[:i+1] adds what it writes.
// Each rendering must extend the last. The new text's tokens are those by
// which the whole rendering's tokens extend the tokens so far; where a merge
// crosses the boundary (rare: the templates put a newline or special token
// before a turn's content) the new text is tokenized on its own instead.
// Tokens after the turn's last end-of-generation token (ChatML's newline
// after <|im_end|>) are not scored: the model stops before writing them.
func (e *Encoder) encode(msgs []chat.Message, tools []chat.Tool, from int) (Example, error) {
	var ex Example
	text := ""
	extend := func(next string, scored bool) error {
		if !strings.HasPrefix(next, text) {
			return ErrNotPrefix
		}
		whole := e.tokens(next)
		var add []int32
		if len(whole) >= len(ex.Tokens) && slices.Equal(whole[:len(ex.Tokens)], ex.Tokens) {
			add = whole[len(ex.Tokens):]
		} else {
			add = e.Tok.Encode(next[len(text):], false, true)
		}
		end := 0
		if scored {
			end = len(add)
			for k := len(add) - 1; k >= 0; k-- {
				if e.Tok.IsEOG(add[k]) {
					end = k + 1
					break
				}
			}
		}
		ex.Tokens = append(ex.Tokens, add...)
		for i := range add {
			ex.Scored = append(ex.Scored, i < end)
		}
		text = next
		return nil
	}
	for i, m := range msgs {
		if m.Role != "assistant" || i < from {
			continue
		}
		prompt, err := e.render(msgs[:i], tools, true)
		if err != nil {
			return ex, err
		}
		if err := extend(prompt, false); err != nil {
			return ex, fmt.Errorf("convo: message %d: %w", i, err)
		}
		full, err := e.render(msgs[:i+1], tools, false)
		if err != nil {
			return ex, err
		}
		if err := extend(full, true); err != nil {
			return ex, fmt.Errorf("convo: message %d: %w", i, err)
		}
	}
	all, err := e.render(msgs, tools, false)
	if err != nil {
		return ex, err
	}
	if err := extend(all, false); err != nil {
		return ex, fmt.Errorf("convo: whole conversation: %w", err)
	}
	if ex.NumScored() == 0 {
		return ex, errors.New("convo: no assistant tokens to score")
	}
	return ex, nil
}

func (e *Encoder) render(msgs []chat.Message, tools []chat.Tool, generation bool) (string, error) {
	tok := e.Tok
	s, err := e.tmpl.Render(msgs, chat.RenderOptions{
		AddGenerationPrompt: generation,
		BOSToken:            tok.TokenText(tok.BOS()),
		EOSToken:            tok.TokenText(tok.EOS()),
		Tools:               tools,
	})
	if err != nil {
		return "", fmt.Errorf("convo: %w", err)
	}
	return s, nil
}

// tokens tokenizes a rendering like the engine tokenizes a prompt: special
// texts parsed, BOS added, and not twice when the template writes it too.
func (e *Encoder) tokens(text string) []int32 {
	tok := e.Tok
	ids := tok.Encode(text, true, true)
	if len(ids) >= 2 && tok.AddBOS() && ids[0] == tok.BOS() && ids[1] == tok.BOS() {
		ids = ids[1:]
	}
	return ids
}
