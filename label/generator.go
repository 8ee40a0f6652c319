package label

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/llmos/llmos/engine"
)

// EngineGenerator samples answers with a model through its chat template,
// the prompt as the only user turn.
type EngineGenerator struct {
	chat *engine.Chat
	req  engine.Request
}

// NewEngineGenerator samples from e with req's settings (its Prompt is
// ignored). Answer i to a prompt is sampled with a seed made from
// req.Sampling.Seed, the prompt and i, so the same settings give the same
// answers again after a restart, and the k answers differ.
func NewEngineGenerator(e *engine.Engine, req engine.Request) (*EngineGenerator, error) {
	c, err := e.NewChat("")
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	return &EngineGenerator{chat: c, req: req}, nil
}

// Generate implements Generator.
func (g *EngineGenerator) Generate(ctx context.Context, prompt string, k int) ([]string, error) {
	h := fnv.New64a()
	h.Write([]byte(prompt))
	base := h.Sum64() ^ g.req.Sampling.Seed
	answers := make([]string, 0, k)
	for i := range k {
		req := g.req
		// A golden-ratio step spreads the k seeds over the whole range.
		req.Sampling.Seed = base + uint64(i+1)*0x9e3779b97f4a7c15
		g.chat.Reset()
		res, err := g.chat.Send(ctx, prompt, req, nil)
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		answers = append(answers, strings.TrimSpace(res.Text))
	}
	return answers, nil
}
