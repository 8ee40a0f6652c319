package arena

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed static
var staticFiles embed.FS

// ServerOptions tune NewServer; nil means the defaults.
type ServerOptions struct {
	// Bootstrap is the number of resamples behind the leaderboard's
	// intervals; zero means DefaultBootstrap.
	Bootstrap int
	// MaxPrompt is the longest prompt accepted, in bytes; zero means 16 KiB.
	MaxPrompt int
	// BattleTTL is how long an unvoted battle is kept; zero means an hour.
	BattleTTL time.Duration
}

// Server is the arena's web application: a page where a prompt goes to two
// anonymous contestants drawn at random, their answers stream side by side,
// and the visitor votes before the names are shown; and a leaderboard page.
// Votes go to a Store, so they survive restarts.
type Server struct {
	store       *Store
	contestants []Contestant
	opts        ServerOptions
	mux         *http.ServeMux

	mu      sync.Mutex
	battles map[string]*battle

	lbMu    sync.Mutex
	lbVotes int // the battle count lbCache was computed from
	lbCache *Leaderboard
}

// battle is a prompt put to two contestants, waiting for its vote.
type battle struct {
	created time.Time
	prompt  string
	a, b    Contestant

	mu       sync.Mutex
	streamed bool      // a stream has started generating
	done     bool      // both answers finished
	failed   string    // why the answers are unusable, if they are
	answers  [2]string // A's and B's
}

// NewServer serves the arena over contestants, which need at least two
// different names, recording votes in store.
func NewServer(store *Store, contestants []Contestant, opts *ServerOptions) (*Server, error) {
	if len(contestants) < 2 {
		return nil, fmt.Errorf("arena: a battle needs two models, got %d", len(contestants))
	}
	seen := map[string]bool{}
	for _, c := range contestants {
		if c.Name() == "" {
			return nil, errors.New("arena: a model has an empty name")
		}
		if seen[c.Name()] {
			return nil, fmt.Errorf("arena: two models are named %q", c.Name())
		}
		seen[c.Name()] = true
	}
	s := &Server{store: store, contestants: contestants, battles: map[string]*battle{}, lbVotes: -1}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Bootstrap == 0 {
		s.opts.Bootstrap = DefaultBootstrap
	}
	if s.opts.MaxPrompt == 0 {
		s.opts.MaxPrompt = 16 << 10
	}
	if s.opts.BattleTTL == 0 {
		s.opts.BattleTTL = time.Hour
	}
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.HandleFunc("POST /api/battles", s.handleNewBattle)
	mux.HandleFunc("GET /api/battles/{id}/stream", s.handleStream)
	mux.HandleFunc("POST /api/battles/{id}/vote", s.handleVote)
	mux.HandleFunc("GET /api/leaderboard", s.handleLeaderboardJSON)
	mux.HandleFunc("GET /leaderboard", s.handleLeaderboardPage)
	mux.HandleFunc("GET /leaderboard.svg", s.handlePlot)
	s.mux = mux
	return s, nil
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// httpError writes a JSON error with status code.
func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// handleNewBattle draws two contestants for a prompt. The reply holds only
// the battle's id: who answers stays secret until the vote.
func (s *Server) handleNewBattle(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Prompt string `json:"prompt"`
	}
	// JSON escapes can make the body several times the prompt's length.
	body := http.MaxBytesReader(w, r.Body, 6*int64(s.opts.MaxPrompt)+1024)
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the prompt is longer than %d bytes", s.opts.MaxPrompt))
			return
		}
		httpError(w, http.StatusBadRequest, "body must be a JSON object {\"prompt\": \"...\"}: "+err.Error())
		return
	}
	req.Prompt = strings.TrimSpace(req.Prompt)
	switch {
	case req.Prompt == "":
		httpError(w, http.StatusBadRequest, "the prompt is empty")
		return
	case len(req.Prompt) > s.opts.MaxPrompt:
		httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the prompt is longer than %d bytes", s.opts.MaxPrompt))
		return
	}
	i := mrand.IntN(len(s.contestants))
	j := mrand.IntN(len(s.contestants) - 1)
	if j >= i {
		j++
	}
	var raw [16]byte
	rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	now := time.Now()
	s.mu.Lock()
	for k, b := range s.battles {
		if now.Sub(b.created) > s.opts.BattleTTL {
			delete(s.battles, k)
		}
	}
	s.battles[id] = &battle{created: now, prompt: req.Prompt, a: s.contestants[i], b: s.contestants[j]}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func (s *Server) battle(id string) *battle {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.battles[id]
}

// streamEvent is one server-sent event: a piece of an answer, or the end of
// one, by side ("a" or "b"), never by model name.
type streamEvent struct {
	Side  string `json:"side"`
	Text  string `json:"text,omitempty"`
	Error string `json:"error,omitempty"`
	event string
}

// handleStream generates both answers at once and streams them as
// server-sent events: "token" events carry text, a "done" or "error" event
// ends a side, and "end" closes the stream. A battle streams once; a
// client that goes away stops the generation and the battle cannot be
// voted on.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	b := s.battle(r.PathValue("id"))
	if b == nil {
		httpError(w, http.StatusNotFound, "no such battle (it may have been voted on or expired)")
		return
	}
	b.mu.Lock()
	if b.streamed {
		b.mu.Unlock()
		httpError(w, http.StatusConflict, "this battle is already streaming or done")
		return
	}
	b.streamed = true
	b.mu.Unlock()

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc.Flush()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	events := make(chan streamEvent)
	var answers [2]string
	var errs [2]error
	var wg sync.WaitGroup
	for k, c := range []Contestant{b.a, b.b} {
		side := string(rune('a' + k))
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[k], errs[k] = c.Answer(ctx, b.prompt, func(piece string) error {
				select {
				case events <- streamEvent{event: "token", Side: side, Text: piece}:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			ev := streamEvent{event: "done", Side: side}
			if errs[k] != nil {
				// The error may carry the model's name; the side
				// learns only that its answer failed.
				ev = streamEvent{event: "error", Side: side, Error: "the model failed to answer"}
			}
			select {
			case events <- ev:
			case <-ctx.Done():
			}
		}()
	}
	go func() {
		wg.Wait()
		close(events)
	}()
	for ev := range events {
		data, _ := json.Marshal(ev)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.event, data); err != nil {
			cancel()
			continue // drain, so the generators can finish
		}
		rc.Flush()
	}

	b.mu.Lock()
	b.answers = answers
	switch {
	case ctx.Err() != nil:
		b.failed = "the answers were cut short"
	case errs[0] != nil || errs[1] != nil:
		b.failed = "a model failed to answer: " + errors.Join(errs[0], errs[1]).Error()
	default:
		b.done = true
	}
	b.mu.Unlock()
	fmt.Fprint(w, "event: end\ndata: {}\n\n")
	rc.Flush()
}

// VoteResult is the reply to a vote: the names, now revealed, and whether
// the vote counts.
type VoteResult struct {
	ID     int64  `json:"id"`
	ModelA string `json:"model_a"`
	ModelB string `json:"model_b"`
	Winner string `json:"winner"`
	Voided bool   `json:"voided"`
}

// handleVote records the verdict on a battle whose answers are complete,
// then reveals the names. A battle takes one vote.
func (s *Server) handleVote(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Winner string `json:"winner"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1024)).Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, "body must be a JSON object {\"winner\": ...}: "+err.Error())
		return
	}
	switch req.Winner {
	case WinnerA, WinnerB, WinnerTie, WinnerBothBad:
	default:
		httpError(w, http.StatusBadRequest, fmt.Sprintf("winner must be %q, %q, %q or %q", WinnerA, WinnerB, WinnerTie, WinnerBothBad))
		return
	}
	id := r.PathValue("id")
	b := s.battle(id)
	if b == nil {
		httpError(w, http.StatusNotFound, "no such battle (it may have been voted on or expired)")
		return
	}
	b.mu.Lock()
	done, failed, answers := b.done, b.failed, b.answers
	b.mu.Unlock()
	if failed != "" {
		httpError(w, http.StatusConflict, "this battle cannot be voted on: the answers were cut short or failed")
		return
	}
	if !done {
		httpError(w, http.StatusConflict, "the answers are not finished yet")
		return
	}
	// Remove the battle before storing, so two racing votes cannot both
	// count.
	s.mu.Lock()
	if s.battles[id] != b {
		s.mu.Unlock()
		httpError(w, http.StatusNotFound, "this battle has already been voted on")
		return
	}
	delete(s.battles, id)
	s.mu.Unlock()
	v, err := s.store.Add(r.Context(), Vote{
		ModelA: b.a.Name(), ModelB: b.b.Name(), Winner: req.Winner,
		Prompt: b.prompt, AnswerA: answers[0], AnswerB: answers[1],
	})
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, VoteResult{ID: v.ID, ModelA: v.ModelA, ModelB: v.ModelB, Winner: v.Winner, Voided: v.Voided})
}

// leaderboard returns the leaderboard of the counted votes, recomputed only
// when their number has changed (votes are only ever added), or nil when
// there are none.
func (s *Server) leaderboard(ctx context.Context) (*Leaderboard, int, error) {
	battles, err := s.store.Battles(ctx)
	if err != nil {
		return nil, 0, err
	}
	s.lbMu.Lock()
	defer s.lbMu.Unlock()
	if len(battles) == s.lbVotes {
		return s.lbCache, len(battles), nil
	}
	var lb *Leaderboard
	if len(battles) > 0 {
		lb, err = ComputeLeaderboard(ctx, battles, &Options{Bootstrap: s.opts.Bootstrap, Seed: 1})
		if err != nil {
			return nil, 0, err
		}
	}
	s.lbCache, s.lbVotes = lb, len(battles)
	return lb, len(battles), nil
}

// leaderboardJSON is the leaderboard as /api/leaderboard serves it; a
// win rate without decisive battles is null.
type leaderboardJSON struct {
	Battles   int          `json:"battles"`
	Bootstrap int          `json:"bootstrap"`
	Ratings   []Rating     `json:"ratings"`
	Counts    [][]int      `json:"battle_counts"`
	WinRate   [][]*float64 `json:"win_rate"`
}

func (s *Server) handleLeaderboardJSON(w http.ResponseWriter, r *http.Request) {
	lb, n, err := s.leaderboard(r.Context())
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := leaderboardJSON{Battles: n, Bootstrap: s.opts.Bootstrap, Ratings: []Rating{}, Counts: [][]int{}, WinRate: [][]*float64{}}
	if lb != nil {
		out.Ratings, out.Counts = lb.Ratings, lb.Battles
		for _, row := range lb.WinRate {
			r := make([]*float64, len(row))
			for j, f := range row {
				if !math.IsNaN(f) {
					r[j] = &f
				}
			}
			out.WinRate = append(out.WinRate, r)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handlePlot(w http.ResponseWriter, r *http.Request) {
	lb, _, err := s.leaderboard(r.Context())
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if lb == nil {
		httpError(w, http.StatusNotFound, "no votes yet")
		return
	}
	var buf strings.Builder
	if err := lb.WritePlot(&buf, "svg"); err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	io.WriteString(w, buf.String())
}

var leaderboardPage = template.Must(template.New("leaderboard").Funcs(template.FuncMap{
	"pct": func(f float64) string {
		if math.IsNaN(f) {
			return "–"
		}
		return fmt.Sprintf("%.0f%%", 100*f)
	},
	"pts": func(f float64) string { return fmt.Sprintf("%.0f", f) },
}).ParseFS(staticFiles, "static/leaderboard.html"))

func (s *Server) handleLeaderboardPage(w http.ResponseWriter, r *http.Request) {
	lb, n, err := s.leaderboard(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	data := struct {
		LB        *Leaderboard
		Battles   int
		Bootstrap int
		K         int
	}{lb, n, s.opts.Bootstrap, EloK}
	if err := leaderboardPage.ExecuteTemplate(w, "leaderboard.html", data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
