package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/sample"
)

// choiceEvent is an engine event of one choice.
type choiceEvent struct {
	index int
	ev    engine.Event
}

// start submits one job per choice and merges their events into one
// channel, closed when every choice is done or ctx ends. If a submission
// fails, the ones before it are cancelled.
func start(ctx context.Context, m *served, jobs []engine.Job) (<-chan choiceEvent, context.CancelFunc, error) {
	ctx, cancel := context.WithCancel(ctx)
	streams := make([]*engine.Stream, len(jobs))
	for i, j := range jobs {
		st, err := m.sched.Submit(ctx, j)
		if err != nil {
			cancel()
			return nil, nil, err
		}
		streams[i] = st
	}
	ch := make(chan choiceEvent, 16)
	var wg sync.WaitGroup
	for i, st := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ev, err := st.Next(ctx)
				if err != nil {
					return
				}
				select {
				case ch <- choiceEvent{i, ev}:
				case <-ctx.Done():
					return
				}
				if ev.Done {
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(ch)
	}()
	return ch, cancel, nil
}

// choice accumulates one chat choice's output.
type choice struct {
	text     []byte
	logprobs []tokenLogprob
}

// response is what chat and text completion answers share: an id, a
// creation time and each choice's last event.
type response struct {
	m       *served
	id      string
	created int64
	done    []*engine.Event
}

func newResponse(m *served, prefix string, choices int) response {
	return response{m: m, id: newID(prefix), created: time.Now().Unix(), done: make([]*engine.Event, choices)}
}

func (r *response) usage() usage { return sumUsage(r.done) }

// tokenLogprob is a token's log-probability in the chat API's shape.
type tokenLogprob struct {
	Token   string         `json:"token"`
	Logprob float32        `json:"logprob"`
	Bytes   []int          `json:"bytes"`
	Top     []tokenLogprob `json:"top_logprobs,omitempty"`
}

func (m *served) logprobEntry(lp sample.TokenLogprob, top []sample.TokenLogprob, withTop bool) tokenLogprob {
	piece := m.e.Tokenizer.Piece(lp.ID)
	if m.e.Tokenizer.IsControl(lp.ID) {
		piece = nil
	}
	e := tokenLogprob{Token: string(piece), Logprob: lp.Logprob, Bytes: make([]int, len(piece))}
	for i, b := range piece {
		e.Bytes[i] = int(b)
	}
	if withTop {
		e.Top = []tokenLogprob{}
		for _, t := range top {
			e.Top = append(e.Top, m.logprobEntry(t, nil, false))
		}
	}
	return e
}

// finishReason maps the engine's reason to OpenAI's.
func finishReason(ev *engine.Event) string {
	if ev.FinishReason == "length" {
		return "length"
	}
	return "stop"
}

// sumUsage adds up the token counts of finished choices; the prompt counts
// once, as OpenAI counts it.
func sumUsage(done []*engine.Event) usage {
	var u usage
	for i, ev := range done {
		if ev == nil {
			continue
		}
		if i == 0 {
			u.PromptTokens, u.Details.CachedTokens = ev.PromptTokens, ev.CachedTokens
		}
		u.CompletionTokens += ev.Completion
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

// sse writes server-sent events.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &sse{w: w, rc: http.NewResponseController(w)}
}

func (s *sse) send(v any) error {
	var buf bytes.Buffer
	buf.WriteString("data: ")
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.WriteString("\n")
	if _, err := s.w.Write(buf.Bytes()); err != nil {
		return err
	}
	return s.rc.Flush()
}

// sendError reports a failure after the stream began, in OpenAI's shape.
func (s *sse) sendError(err error) {
	e := toAPIError(err)
	s.send(map[string]any{"error": map[string]any{"message": e.msg, "type": e.typ, "param": nil, "code": nil}})
}

func (s *sse) end() {
	s.w.Write([]byte("data: [DONE]\n\n"))
	s.rc.Flush()
}

// answer writes a generation's events as a response: whole, or streamed.
type answer interface {
	whole(w http.ResponseWriter, events <-chan choiceEvent)
	stream(w http.ResponseWriter, events <-chan choiceEvent, includeUsage bool)
	usage() usage
}

// respond runs jobs and writes their answer with a.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, m *served, jobs []engine.Job, gp *genParams, a answer) {
	events, cancel, err := start(r.Context(), m, jobs)
	if err != nil {
		writeError(w, err)
		return
	}
	defer cancel()
	if gp.Stream {
		a.stream(w, events, gp.StreamOptions != nil && gp.StreamOptions.IncludeUsage)
	} else {
		a.whole(w, events)
	}
	s.record(m, a.usage())
}

// record counts a finished request's tokens in the metrics.
func (s *Server) record(m *served, u usage) {
	s.metrics.tokens(m.name, u.PromptTokens, u.CompletionTokens)
}
