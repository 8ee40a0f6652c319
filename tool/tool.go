// Package tool holds the tools a model may call during a conversation: each
// has a name, a description and JSON-schema parameters that the chat
// template shows the model, and a Call that runs it on the model's
// arguments.
package tool

import (
	"context"
	"encoding/json"

	"github.com/llmos/llmos/chat"
)

// Tool is a function the model can call.
type Tool interface {
	// Spec describes the tool to the model (name, description, parameters).
	Spec() chat.Tool
	// Call runs the tool on the JSON arguments the model wrote. The error
	// text is shown to the model, so it should say what was wrong.
	Call(ctx context.Context, args json.RawMessage) (string, error)
}

// Specs returns the specs of tools, in order.
func Specs(tools []Tool) []chat.Tool {
	specs := make([]chat.Tool, len(tools))
	for i, t := range tools {
		specs[i] = t.Spec()
	}
	return specs
}

// Find returns the tool called name.
func Find(tools []Tool, name string) (Tool, bool) {
	for _, t := range tools {
		if t.Spec().Function.Name == name {
			return t, true
		}
	}
	return nil, false
}
