package label

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
)

//go:embed static
var staticFiles embed.FS

// maxBody bounds a request body: a decision carries at most one answer text.
const maxBody = 1 << 20

// Server is the labelling web page and its JSON API:
//
//	GET  /api/next    the prompt to label and its answers, or done
//	POST /api/decide  {"index","prompt","ranking":[…],"text"} saves a decision
//	POST /api/skip    {"index","prompt"} passes over a prompt for now
type Server struct {
	l   *Labeller
	mux *http.ServeMux
}

// NewServer serves l.
func NewServer(l *Labeller) *Server {
	s := &Server{l: l, mux: http.NewServeMux()}
	static, _ := fs.Sub(staticFiles, "static")
	s.mux.Handle("GET /", http.FileServerFS(static))
	s.mux.HandleFunc("GET /api/next", s.next)
	s.mux.HandleFunc("POST /api/decide", s.decide)
	s.mux.HandleFunc("POST /api/skip", s.skip)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'self'")
	s.mux.ServeHTTP(w, r)
}

// NextResponse is the answer of GET /api/next.
type NextResponse struct {
	Done     bool  `json:"done"` // every prompt is labelled or skipped
	Labelled int   `json:"labelled"`
	Total    int   `json:"total"`
	Item     *Item `json:"item,omitempty"`
}

// DecideRequest is the body of POST /api/decide and /api/skip.
type DecideRequest struct {
	Index  int    `json:"index"`
	Prompt string `json:"prompt"`
	Decision
}

// DecideResponse is the answer of POST /api/decide: what was appended.
type DecideResponse struct {
	SFT      SFTRecord    `json:"sft"`
	Pairs    []PrefRecord `json:"pairs"`
	Labelled int          `json:"labelled"`
	Total    int          `json:"total"`
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	it, err := s.l.Next(r.Context())
	if err != nil {
		if r.Context().Err() != nil {
			return // the page went away
		}
		writeError(w, err)
		return
	}
	done, total := s.l.Progress()
	writeJSON(w, http.StatusOK, NextResponse{Done: it == nil, Labelled: done, Total: total, Item: it})
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	var req DecideRequest
	if !readJSON(w, r, &req) {
		return
	}
	out, err := s.l.Decide(req.Index, req.Prompt, req.Decision)
	if err != nil {
		writeError(w, err)
		return
	}
	done, total := s.l.Progress()
	if out.Pairs == nil {
		out.Pairs = []PrefRecord{}
	}
	writeJSON(w, http.StatusOK, DecideResponse{SFT: out.SFT, Pairs: out.Pairs, Labelled: done, Total: total})
}

func (s *Server) skip(w http.ResponseWriter, r *http.Request) {
	var req DecideRequest
	if !readJSON(w, r, &req) {
		return
	}
	if err := s.l.Skip(req.Index, req.Prompt); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "label: bad request body: " + err.Error()})
		return false
	}
	return true
}

// writeError answers with the status that fits err: a bad decision is the
// page's fault, a stale one a conflict, anything else the server's.
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrDecision):
		status = http.StatusBadRequest
	case errors.Is(err, ErrStale), errors.Is(err, ErrLabelled):
		status = http.StatusConflict
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) // the client is gone if this fails
}
