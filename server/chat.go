package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/sample"
)

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	genParams
	Messages            []chat.Message  `json:"messages"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Logprobs            bool            `json:"logprobs"`
	TopLogprobs         *int            `json:"top_logprobs"`
	Tools               []chat.Tool     `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ResponseFormat      *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

// chatPlan is what a chat request turns into besides its sampling.
type chatPlan struct {
	prompt     []int32
	stops      []string
	schema     *sample.Schema // constrained decoding, if any
	parseTools bool           // read tool calls from the answer
	logprobs   bool
	top        int
}

// toolMode reads tool_choice: "none", "auto", "required", or a function
// name for {"type":"function","function":{"name":...}}.
func toolMode(req *chatRequest) (mode, name string, err error) {
	raw := req.ToolChoice
	if len(raw) == 0 || string(raw) == "null" {
		if len(req.Tools) == 0 {
			return "none", "", nil
		}
		return "auto", "", nil
	}
	if json.Unmarshal(raw, &mode) == nil {
		switch mode {
		case "none", "auto", "required":
			if mode != "none" && len(req.Tools) == 0 {
				return "", "", badRequest("tool_choice", "tool_choice %q needs tools", mode)
			}
			return mode, "", nil
		}
		return "", "", badRequest("tool_choice", "tool_choice must be none, auto, required or a function, got %q", mode)
	}
	var named struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &named); err != nil || named.Type != "function" {
		return "", "", badRequest("tool_choice", "tool_choice must be none, auto, required or {\"type\":\"function\",\"function\":{\"name\":...}}")
	}
	if !slices.ContainsFunc(req.Tools, func(t chat.Tool) bool { return t.Function.Name == named.Function.Name }) {
		return "", "", badRequest("tool_choice", "tool_choice names %q, which is not among the tools", named.Function.Name)
	}
	return "function", named.Function.Name, nil
}

// callSchema is the JSON schema of a call the model must make: to the
// named tool with its parameters, or, with several tools, to any of them
// with an object of arguments (the subset has no anyOf to tie each name to
// its parameters).
func callSchema(tools []chat.Tool, name string) (*sample.Schema, error) {
	var names []string
	for _, t := range tools {
		if name == "" || t.Function.Name == name {
			names = append(names, t.Function.Name)
		}
	}
	args := json.RawMessage(`{"type":"object"}`)
	if len(names) == 1 {
		for _, t := range tools {
			if t.Function.Name == names[0] && len(t.Function.Parameters) > 0 && string(t.Function.Parameters) != "null" {
				args = t.Function.Parameters
			}
		}
	}
	nameJSON, _ := json.Marshal(names)
	doc := fmt.Sprintf(`{"type":"object","properties":{"name":{"enum":%s},"arguments":%s},"required":["name","arguments"],"additionalProperties":false}`, nameJSON, args)
	s, err := sample.CompileSchema([]byte(doc))
	if err != nil {
		return nil, badRequest("tools", "tool parameters: %v", err)
	}
	return s, nil
}

// planChat validates a chat request and renders its prompt.
func (m *served) planChat(req *chatRequest) (*chatPlan, error) {
	if len(req.Messages) == 0 {
		return nil, badRequest("messages", "messages must be a non-empty array")
	}
	for i, msg := range req.Messages {
		if msg.Role == "" {
			return nil, badRequest(fmt.Sprintf("messages[%d].role", i), "messages[%d] has no role", i)
		}
	}
	for i, t := range req.Tools {
		if t.Type != "function" || t.Function.Name == "" {
			return nil, badRequest(fmt.Sprintf("tools[%d]", i), "tools[%d] must be {\"type\":\"function\",\"function\":{\"name\":...}}", i)
		}
	}
	mode, name, err := toolMode(req)
	if err != nil {
		return nil, err
	}
	p := &chatPlan{logprobs: req.Logprobs}
	if req.TopLogprobs != nil {
		if *req.TopLogprobs < 0 || *req.TopLogprobs > 20 {
			return nil, badRequest("top_logprobs", "top_logprobs must be between 0 and 20, got %d", *req.TopLogprobs)
		}
		if !req.Logprobs {
			return nil, badRequest("top_logprobs", "top_logprobs needs logprobs: true")
		}
		p.top = *req.TopLogprobs
	}
	switch {
	case mode == "required" || mode == "function":
		if p.schema, err = callSchema(req.Tools, name); err != nil {
			return nil, err
		}
		p.parseTools = true
	case req.ResponseFormat != nil:
		rf := req.ResponseFormat
		switch rf.Type {
		case "", "text":
		case "json_object":
			p.schema = sample.AnyJSONObject()
		case "json_schema":
			if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
				return nil, badRequest("response_format", "response_format json_schema needs json_schema.schema")
			}
			if p.schema, err = sample.CompileSchema(rf.JSONSchema.Schema); err != nil {
				return nil, badRequest("response_format", "%v", err)
			}
		default:
			return nil, badRequest("response_format", "response_format type must be text, json_object or json_schema, got %q", rf.Type)
		}
	}
	if mode == "auto" {
		p.parseTools = true
	}
	if p.prompt, err = m.format.Prompt(req.Messages, req.Tools); err != nil {
		return nil, badRequest("messages", "%v", err)
	}
	p.stops = req.Stop
	if p.schema == nil {
		p.stops = m.format.Stops(p.stops)
	}
	return p, nil
}

// jobs builds the engine jobs of a request's choices.
func (m *served) jobs(gp *genParams, maxTokens *int, prompt []int32, stops []string, schema *sample.Schema, logprobs bool, top int) ([]engine.Job, error) {
	n, err := gp.choices()
	if err != nil {
		return nil, err
	}
	var jobs []engine.Job
	for i := range n {
		j, err := gp.job(prompt, maxTokens, i)
		if err != nil {
			return nil, err
		}
		j.Stop, j.Logprobs, j.TopLogprobs = stops, logprobs, top
		if schema != nil {
			j.Constraint = sample.NewJSONConstraint(schema, m.tokenTrie(), m.e.Tokenizer.EOG())
		}
		if err := m.sched.Check(j); err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	m := s.begin(w, r, &req)
	if m == nil {
		return
	}
	plan, err := m.planChat(&req)
	if err != nil {
		writeError(w, err)
		return
	}
	maxTokens := req.MaxCompletionTokens
	if maxTokens == nil {
		maxTokens = req.MaxTokens
	}
	jobs, err := m.jobs(&req.genParams, maxTokens, plan.prompt, plan.stops, plan.schema, plan.logprobs || plan.top > 0, plan.top)
	if err != nil {
		writeError(w, err)
		return
	}
	s.respond(w, r, m, jobs, &req.genParams, &chatWriter{response: newResponse(m, "chatcmpl", len(jobs)), plan: plan, choices: make([]choice, len(jobs))})
}

// chatWriter turns a chat request's events into responses.
type chatWriter struct {
	response
	plan    *chatPlan
	choices []choice
}

// add folds an event into its choice and returns the text it adds.
func (c *chatWriter) add(ce choiceEvent) (string, *tokenLogprob) {
	ch := &c.choices[ce.index]
	ch.text = append(ch.text, ce.ev.Text...)
	if ce.ev.Done {
		ev := ce.ev
		c.done[ce.index] = &ev
		return ce.ev.Text, nil
	}
	if !c.plan.logprobs {
		return ce.ev.Text, nil
	}
	lp := c.m.logprobEntry(ce.ev.Logprob, ce.ev.Top, true)
	ch.logprobs = append(ch.logprobs, lp)
	return ce.ev.Text, &lp
}

// message is the assistant's answer of a finished choice, with its tool
// calls parsed out when tools were offered.
func (c *chatWriter) message(i int) (map[string]any, string) {
	ch := &c.choices[i]
	text := string(ch.text)
	reason := finishReason(c.done[i])
	msg := map[string]any{"role": "assistant", "content": text}
	if c.plan.parseTools {
		if content, calls, ok := chat.ParseToolCalls(text); ok {
			for k := range calls {
				if calls[k].ID == "" {
					calls[k].ID = newID("call")
				}
			}
			msg["tool_calls"] = calls
			msg["content"] = nil
			if strings.TrimSpace(content) != "" {
				msg["content"] = content
			}
			reason = "tool_calls"
		}
	}
	return msg, reason
}

func (c *chatWriter) logprobsField(i int) any {
	if !c.plan.logprobs {
		return nil
	}
	lps := c.choices[i].logprobs
	if lps == nil {
		lps = []tokenLogprob{}
	}
	return map[string]any{"content": lps}
}

// failed returns the error of a choice that ended in one.
func (c *chatWriter) failed() error {
	for _, ev := range c.done {
		if ev != nil && ev.Err != nil {
			return ev.Err
		}
	}
	return nil
}

func (c *chatWriter) whole(w http.ResponseWriter, events <-chan choiceEvent) {
	for ce := range events {
		c.add(ce)
	}
	if err := c.failed(); err != nil {
		writeError(w, err)
		return
	}
	var out []map[string]any
	for i, ev := range c.done {
		if ev == nil { // the client went away
			return
		}
		msg, reason := c.message(i)
		out = append(out, map[string]any{"index": i, "message": msg, "logprobs": c.logprobsField(i), "finish_reason": reason})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": c.id, "object": "chat.completion", "created": c.created, "model": c.m.name,
		"choices": out, "usage": c.usage(),
	})
}

func (c *chatWriter) chunk(choices []map[string]any) map[string]any {
	return map[string]any{"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.m.name, "choices": choices}
}

// stream sends the answer as server-sent events. Text is streamed as it
// comes, except when tool calls are parsed: then the answer is held until
// it is complete, since a call is only known once written.
func (c *chatWriter) stream(w http.ResponseWriter, events <-chan choiceEvent, includeUsage bool) {
	out := startSSE(w)
	for i := range c.choices {
		out.send(c.chunk([]map[string]any{{"index": i, "delta": map[string]any{"role": "assistant", "content": ""}, "logprobs": nil, "finish_reason": nil}}))
	}
	for ce := range events {
		text, lp := c.add(ce)
		i := ce.index
		if !c.plan.parseTools && (text != "" || lp != nil) {
			var lpField any
			if lp != nil {
				lpField = map[string]any{"content": []tokenLogprob{*lp}}
			}
			out.send(c.chunk([]map[string]any{{"index": i, "delta": map[string]any{"content": text}, "logprobs": lpField, "finish_reason": nil}}))
		}
		if !ce.ev.Done {
			continue
		}
		if ce.ev.Err != nil {
			out.sendError(ce.ev.Err)
			continue
		}
		msg, reason := c.message(i)
		if c.plan.parseTools {
			delta := map[string]any{"content": msg["content"]}
			if calls, ok := msg["tool_calls"].([]chat.ToolCall); ok {
				var tc []map[string]any
				for k, call := range calls {
					tc = append(tc, map[string]any{"index": k, "id": call.ID, "type": "function", "function": call.Function})
				}
				delta["tool_calls"] = tc
			}
			out.send(c.chunk([]map[string]any{{"index": i, "delta": delta, "logprobs": c.logprobsField(i), "finish_reason": nil}}))
		}
		out.send(c.chunk([]map[string]any{{"index": i, "delta": map[string]any{}, "logprobs": nil, "finish_reason": reason}}))
	}
	if includeUsage {
		last := c.chunk([]map[string]any{})
		last["usage"] = c.usage()
		out.send(last)
	}
	out.end()
}
