package server

import (
	"encoding/json"
	"net/http"

	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/tokenizer"
)

// completionRequest is the body of POST /v1/completions.
type completionRequest struct {
	genParams
	Prompt   json.RawMessage `json:"prompt"`
	Logprobs *int            `json:"logprobs"`
	Echo     bool            `json:"echo"`
	Suffix   string          `json:"suffix"`
	BestOf   *int            `json:"best_of"`
}

// prompts reads OpenAI's prompt forms: a string, an array of strings, an
// array of token ids, or an array of such arrays. Text gets BOS as the
// vocabulary wants, and special tokens written in it are parsed.
func prompts(raw json.RawMessage, tok *tokenizer.Tokenizer) ([][]int32, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, badRequest("prompt", "prompt is required")
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return [][]int32{tok.Encode(one, true, true)}, nil
	}
	var texts []string
	if json.Unmarshal(raw, &texts) == nil && len(texts) > 0 {
		var out [][]int32
		for _, t := range texts {
			out = append(out, tok.Encode(t, true, true))
		}
		return out, nil
	}
	var ids []int32
	if json.Unmarshal(raw, &ids) == nil && len(ids) > 0 {
		return [][]int32{ids}, nil
	}
	var many [][]int32
	if json.Unmarshal(raw, &many) == nil && len(many) > 0 {
		return many, nil
	}
	return nil, badRequest("prompt", "prompt must be a string, an array of strings, an array of token ids or an array of such arrays (non-empty)")
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	m := s.begin(w, r, &req)
	if m == nil {
		return
	}
	var err error
	switch {
	case req.Echo:
		err = badRequest("echo", "echo is not supported")
	case req.Suffix != "":
		err = badRequest("suffix", "suffix is not supported")
	case req.BestOf != nil && *req.BestOf != 1:
		err = badRequest("best_of", "best_of is not supported")
	case req.Logprobs != nil && (*req.Logprobs < 0 || *req.Logprobs > 5):
		err = badRequest("logprobs", "logprobs must be between 0 and 5, got %d", *req.Logprobs)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	ps, err := prompts(req.Prompt, m.e.Tokenizer)
	if err != nil {
		writeError(w, err)
		return
	}
	top := 0
	if req.Logprobs != nil {
		top = *req.Logprobs
	}
	var jobs []engine.Job
	for _, p := range ps {
		js, err := m.jobs(&req.genParams, req.MaxTokens, p, req.Stop, nil, req.Logprobs != nil, top)
		if err != nil {
			ae := toAPIError(err)
			if ae.code == "context_length_exceeded" {
				ae.param = "prompt"
			}
			writeError(w, ae)
			return
		}
		jobs = append(jobs, js...)
	}
	if len(jobs) > maxChoices {
		writeError(w, badRequest("n", "prompts × n must be at most %d, got %d", maxChoices, len(jobs)))
		return
	}
	s.respond(w, r, m, jobs, &req.genParams, &completionWriter{response: newResponse(m, "cmpl", len(jobs)), logprobs: req.Logprobs != nil, choices: make([]completionChoice, len(jobs))})
}

// completionChoice accumulates one choice in the legacy logprobs shape.
type completionChoice struct {
	text   []byte
	tokens []string
	lps    []float32
	top    []map[string]float32
	offset []int
}

type completionWriter struct {
	response
	logprobs bool
	choices  []completionChoice
}

// add folds an event into its choice and returns the logprobs of this one
// token, in the legacy shape, when asked for.
func (c *completionWriter) add(ce choiceEvent) any {
	ch := &c.choices[ce.index]
	if ce.ev.Done {
		ev := ce.ev
		c.done[ce.index] = &ev
		ch.text = append(ch.text, ev.Text...)
		return nil
	}
	if !c.logprobs {
		ch.text = append(ch.text, ce.ev.Text...)
		return nil
	}
	e := c.m.logprobEntry(ce.ev.Logprob, ce.ev.Top, true)
	top := map[string]float32{}
	for _, t := range e.Top {
		top[t.Token] = t.Logprob
	}
	ch.tokens = append(ch.tokens, e.Token)
	ch.lps = append(ch.lps, e.Logprob)
	ch.top = append(ch.top, top)
	ch.offset = append(ch.offset, len(ch.text))
	ch.text = append(ch.text, ce.ev.Text...)
	return map[string]any{"tokens": []string{e.Token}, "token_logprobs": []float32{e.Logprob}, "top_logprobs": []map[string]float32{top}, "text_offset": []int{ch.offset[len(ch.offset)-1]}}
}

func (c *completionWriter) logprobsField(i int) any {
	if !c.logprobs {
		return nil
	}
	ch := &c.choices[i]
	return map[string]any{"tokens": nonNil(ch.tokens), "token_logprobs": nonNil(ch.lps), "top_logprobs": nonNil(ch.top), "text_offset": nonNil(ch.offset)}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (c *completionWriter) whole(w http.ResponseWriter, events <-chan choiceEvent) {
	for ce := range events {
		c.add(ce)
	}
	var out []map[string]any
	for i, ev := range c.done {
		if ev == nil {
			return // the client went away
		}
		if ev.Err != nil {
			writeError(w, ev.Err)
			return
		}
		out = append(out, map[string]any{"index": i, "text": string(c.choices[i].text), "logprobs": c.logprobsField(i), "finish_reason": finishReason(ev)})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": c.id, "object": "text_completion", "created": c.created, "model": c.m.name,
		"choices": out, "usage": c.usage(),
	})
}

func (c *completionWriter) stream(w http.ResponseWriter, events <-chan choiceEvent, includeUsage bool) {
	out := startSSE(w)
	chunk := func(choices []map[string]any) map[string]any {
		return map[string]any{"id": c.id, "object": "text_completion", "created": c.created, "model": c.m.name, "choices": choices}
	}
	for ce := range events {
		lp := c.add(ce)
		if ce.ev.Done && ce.ev.Err != nil {
			out.sendError(ce.ev.Err)
			continue
		}
		var reason any
		if ce.ev.Done {
			reason = finishReason(&ce.ev)
		}
		if ce.ev.Text != "" || lp != nil || reason != nil {
			out.send(chunk([]map[string]any{{"index": ce.index, "text": ce.ev.Text, "logprobs": lp, "finish_reason": reason}}))
		}
	}
	if includeUsage {
		last := chunk([]map[string]any{})
		last["usage"] = c.usage()
		out.send(last)
	}
	out.end()
}
