package engine

import (
	"context"
	"strings"
	"testing"
)

func TestChatTurns(t *testing.T) {
	e := openFixture(t)
	c, err := e.NewChat("You are terse.")
	if err != nil {
		t.Fatal(err)
	}
	req := Request{MaxTokens: 8}
	first, err := c.Send(context.Background(), "Hello", req, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture has no template: ChatML renders the system prompt, the
	// turn and the generation prompt.
	msgs := c.Messages()
	if len(msgs) != 3 || msgs[0].Role != "system" || msgs[1].Content != "Hello" || msgs[2].Role != "assistant" {
		t.Fatalf("messages after one turn: %+v", msgs)
	}
	if strings.Contains(first.Text, "<|im_end|>") {
		t.Errorf("answer contains the end marker: %q", first.Text)
	}
	ids, _ := c.Prompt(msgs)
	if ids[0] != e.Tokenizer.BOS() || ids[1] == e.Tokenizer.BOS() {
		t.Errorf("prompt should start with exactly one BOS: %v", ids[:2])
	}
	if _, err := c.Send(context.Background(), "Again", req, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(c.Messages()); n != 5 {
		t.Errorf("%d messages after two turns", n)
	}
	c.Reset()
	if n := len(c.Messages()); n != 1 {
		t.Errorf("%d messages after reset, want the system prompt only", n)
	}
	c.SetSystem("")
	if n := len(c.Messages()); n != 0 {
		t.Errorf("%d messages after clearing the system prompt", n)
	}
}
