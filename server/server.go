// Package server serves models over HTTP: an OpenAI-compatible API
// (/v1/models, /v1/chat/completions, /v1/completions, /v1/embeddings), a
// health check, Prometheus metrics and a web chat at /. Requests share one
// engine.Scheduler per model, which batches them together.
package server

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/sample"
)

// Options configures a Server. The zero value serves without a key, with
// the scheduler's defaults.
type Options struct {
	// APIKey, if set, must be sent as "Authorization: Bearer KEY" to every
	// /v1/ endpoint and /metrics.
	APIKey string
	// Scheduler configures each model's batching (slots, queue).
	Scheduler engine.SchedulerOptions
	// Logger receives request errors and recovered panics; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Model is an opened model and the name clients ask for it by.
type Model struct {
	Name   string
	Engine *engine.Engine
}

// Server is the HTTP handler. Create it with New; Close stops its
// schedulers (the engines stay open: they belong to the caller).
type Server struct {
	opts    Options
	log     *slog.Logger
	models  map[string]*served
	order   []string
	handler http.Handler
	metrics *metrics
}

// served is a model with its scheduler and what requests reuse.
type served struct {
	name    string
	e       *engine.Engine
	sched   *engine.Scheduler
	format  *engine.ChatFormat
	created int64

	trieOnce sync.Once
	trie     *sample.TokenTrie
}

// tokenTrie builds the vocabulary trie for constrained decoding on first use.
func (m *served) tokenTrie() *sample.TokenTrie {
	m.trieOnce.Do(func() {
		tok := m.e.Tokenizer
		pieces := make([][]byte, tok.VocabSize())
		for id := range pieces {
			if !tok.IsControl(int32(id)) { // control tokens write no text
				pieces[id] = tok.Piece(int32(id))
			}
		}
		m.trie = sample.NewTokenTrie(pieces)
	})
	return m.trie
}

// New starts a scheduler for every model and returns the server.
func New(models []Model, opts Options) (*Server, error) {
	if len(models) == 0 {
		return nil, errors.New("server: no models")
	}
	s := &Server{opts: opts, log: opts.Logger, models: map[string]*served{}, metrics: newMetrics()}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, m := range models {
		if _, dup := s.models[m.Name]; dup || m.Name == "" {
			s.Close()
			return nil, fmt.Errorf("server: model name %q is empty or used twice", m.Name)
		}
		format, err := m.Engine.ChatFormat()
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("server: model %s: %w", m.Name, err)
		}
		sched, err := m.Engine.NewScheduler(opts.Scheduler)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("server: model %s: %w", m.Name, err)
		}
		s.models[m.Name] = &served{name: m.Name, e: m.Engine, sched: sched, format: format, created: time.Now().Unix()}
		s.order = append(s.order, m.Name)
	}
	s.handler = s.routes()
	return s, nil
}

// ModelName is the name a model file is served under: its base name
// without the .gguf extension.
func ModelName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".gguf")
}

// Open opens each model file with opts and names it by ModelName.
func Open(paths []string, opts engine.Options) ([]Model, error) {
	var models []Model
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			closeModels(models)
			return nil, fmt.Errorf("server: %w", err)
		}
		e, err := engine.Open(p, opts)
		if err != nil {
			closeModels(models)
			return nil, err
		}
		models = append(models, Model{Name: ModelName(p), Engine: e})
	}
	return models, nil
}

func closeModels(models []Model) {
	for _, m := range models {
		m.Engine.Close()
	}
}

// Close stops the schedulers; generations in flight end with an error.
func (s *Server) Close() {
	for _, m := range s.models {
		m.sched.Close()
	}
}

// ServeHTTP serves the API, the metrics and the web chat.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /metrics", s.auth(s.metrics.serve(s)))
	mux.HandleFunc("GET /v1/models", s.auth(s.listModels))
	mux.HandleFunc("POST /v1/chat/completions", s.auth(s.chatCompletions))
	mux.HandleFunc("POST /v1/completions", s.auth(s.completions))
	mux.HandleFunc("POST /v1/embeddings", s.auth(s.embeddings))
	mux.HandleFunc("/v1/", s.auth(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("unknown endpoint %s %s", r.Method, r.URL.Path), typ: "invalid_request_error", code: "unknown_url"})
	}))
	web := webHandler()
	mux.Handle("GET /{$}", web)
	mux.Handle("GET /app.js", web)
	mux.Handle("GET /style.css", web)
	return s.recover(s.metrics.instrument(mux))
}

// auth checks the bearer token when the server has a key.
func (s *Server) auth(next http.HandlerFunc) http.HandlerFunc {
	if s.opts.APIKey == "" {
		return next
	}
	want := []byte("Bearer " + s.opts.APIKey)
	return func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if got == "" {
			writeError(w, &apiError{status: http.StatusUnauthorized, msg: "missing API key: send Authorization: Bearer KEY", typ: "invalid_request_error", code: "invalid_api_key"})
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			writeError(w, &apiError{status: http.StatusUnauthorized, msg: "incorrect API key", typ: "invalid_request_error", code: "invalid_api_key"})
			return
		}
		next(w, r)
	}
}

// recover turns a panic into a 500 (when nothing was written yet) and a
// log line, so one bad request cannot take the server down.
func (s *Server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil || v == http.ErrAbortHandler {
				if v != nil {
					panic(v)
				}
				return
			}
			s.log.Error("panic serving request", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if !rec.wrote {
				writeError(rec, &apiError{status: http.StatusInternalServerError, msg: "internal error", typ: "server_error"})
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// recorder remembers the status written, and passes Flush through for
// streaming.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

// Flush sends buffered data to the client (server-sent events need it).
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "models": s.order})
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	type entry struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
		Context int    `json:"context_length"`
	}
	data := []entry{}
	for _, name := range s.order {
		m := s.models[name]
		data = append(data, entry{name, "model", m.created, "llmos", m.sched.Context()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

// model finds the model a request names; with one model served, an empty
// name means it.
func (s *Server) model(name string) (*served, error) {
	if name == "" {
		if len(s.order) == 1 {
			return s.models[s.order[0]], nil
		}
		return nil, &apiError{status: http.StatusBadRequest, msg: "model is required: one of " + strings.Join(s.order, ", "), typ: "invalid_request_error", param: "model", code: "missing_model"}
	}
	m, ok := s.models[name]
	if !ok {
		return nil, &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("the model %q does not exist; served: %s", name, strings.Join(s.order, ", ")), typ: "invalid_request_error", param: "model", code: "model_not_found"}
	}
	return m, nil
}

// modelRequest is a request body that names a model.
type modelRequest interface{ modelName() string }

// begin decodes the body into req and finds its model; on failure it has
// answered with the error and returns nil.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, req modelRequest) *served {
	if err := decodeBody(w, r, req); err != nil {
		writeError(w, err)
		return nil
	}
	m, err := s.model(req.modelName())
	if err != nil {
		writeError(w, err)
		return nil
	}
	return m
}
