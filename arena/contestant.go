package arena

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"

	"github.com/llmos/llmos/engine"
)

// Contestant is a model that answers prompts in the arena.
type Contestant interface {
	// Name identifies the model on the leaderboard; voters see it only
	// after they vote.
	Name() string
	// Answer writes an answer to prompt, streaming its text to emit, if
	// not nil, as it is generated, and returns the whole of it.
	Answer(ctx context.Context, prompt string, emit func(string) error) (string, error)
}

// EngineContestant answers with a model through its chat template, one
// prompt at a time: an Engine's session holds one KV cache, so concurrent
// battles that drew the same model wait for each other.
type EngineContestant struct {
	name string
	req  engine.Request
	mu   sync.Mutex
	chat *engine.Chat
}

// NewEngineContestant wraps e under name; req sets the sampling and the
// answer length (its Prompt is ignored). A zero Sampling.Seed draws a fresh
// seed for every answer, so repeated prompts get different answers.
func NewEngineContestant(name string, e *engine.Engine, req engine.Request) (*EngineContestant, error) {
	c, err := e.NewChat("")
	if err != nil {
		return nil, fmt.Errorf("arena: %s: %w", name, err)
	}
	return &EngineContestant{name: name, req: req, chat: c}, nil
}

// ModelName is the name a model file goes by in the arena: its file name
// without the .gguf extension.
func ModelName(path string) string {
	base := filepath.Base(path)
	if ext := filepath.Ext(base); strings.EqualFold(ext, ".gguf") {
		base = base[:len(base)-len(ext)]
	}
	return base
}

// Name returns the contestant's name.
func (c *EngineContestant) Name() string { return c.name }

// Answer starts a new conversation with prompt as its only user turn.
func (c *EngineContestant) Answer(ctx context.Context, prompt string, emit func(string) error) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	req := c.req
	if req.Sampling.Seed == 0 {
		req.Sampling.Seed = rand.Uint64()
	}
	c.chat.Reset()
	res, err := c.chat.Send(ctx, prompt, req, emit)
	if err != nil {
		return "", fmt.Errorf("arena: %s: %w", c.name, err)
	}
	return strings.TrimSpace(res.Text), nil
}
