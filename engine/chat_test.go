package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/tool"
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

// TestChatRunsTools scripts the model's answers: a calculator call, then
// text using its result; the call runs and its result reaches the model.
func TestChatRunsTools(t *testing.T) {
	e := openFixture(t)
	c, err := e.NewChat("")
	if err != nil {
		t.Fatal(err)
	}
	c.Tools = []tool.Tool{tool.Calculator{}}
	var prompts []string
	answers := []string{
		`Let me compute. <tool_call>{"name": "calculator", "arguments": {"expression": "6*7"}}</tool_call>`,
		`<tool_call>{"name": "calculator", "arguments": {"expression": "1/0"}}</tool_call>`,
		"6 times 7 is 42.",
	}
	c.generate = func(_ context.Context, r Request, _ func(string) error) (Result, error) {
		prompts = append(prompts, e.Tokenizer.Decode(r.Prompt))
		text := answers[len(prompts)-1]
		return Result{Text: text, StopReason: "stop"}, nil
	}
	var results []string
	c.OnToolCall = func(call chat.ToolCall, result string, err error) {
		results = append(results, fmt.Sprint(call.Function.Name, " ", result, " ", err))
	}
	res, err := c.Send(context.Background(), "What is 6*7?", Request{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != answers[2] || len(prompts) != 3 {
		t.Fatalf("final text %q after %d generations", res.Text, len(prompts))
	}
	if !strings.Contains(prompts[1], "<|im_start|>tool\n42<|im_end|>") {
		t.Errorf("second prompt lacks the tool result:\n%s", prompts[1])
	}
	if !strings.Contains(prompts[2], "error: calculator: division by zero") {
		t.Errorf("third prompt lacks the tool error:\n%s", prompts[2])
	}
	roles := ""
	for _, m := range c.Messages() {
		roles += m.Role + " "
	}
	if roles != "user assistant tool assistant tool assistant " {
		t.Errorf("roles: %s", roles)
	}
	if len(results) != 2 || !strings.HasPrefix(results[0], "calculator 42") {
		t.Errorf("OnToolCall saw %q", results)
	}
}
