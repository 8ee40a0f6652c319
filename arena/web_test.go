package arena

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// stubContestant answers with fixed text, in a few pieces, so that tests
// can tell from an answer which model wrote it.
type stubContestant struct {
	name   string
	answer func(prompt string) string
	fail   bool
}

func (c *stubContestant) Name() string { return c.name }

func (c *stubContestant) Answer(ctx context.Context, prompt string, emit func(string) error) (string, error) {
	if c.fail {
		return "", fmt.Errorf("%s: out of memory", c.name)
	}
	text := c.answer(prompt)
	for _, w := range strings.SplitAfter(text, " ") {
		if emit == nil {
			break
		}
		if err := emit(w); err != nil {
			return "", err
		}
	}
	return text, nil
}

// marker is what stub model name writes, without naming itself.
func marker(name string) string {
	return "answer-of-" + strings.ToUpper(name[:1]) + "-" + fmt.Sprint(len(name))
}

func stubs(names ...string) []Contestant {
	var cs []Contestant
	for _, n := range names {
		cs = append(cs, &stubContestant{name: n, answer: func(p string) string { return "Reply to " + p + ": " + marker(n) }})
	}
	return cs
}

type arenaClient struct {
	t   *testing.T
	srv *httptest.Server
}

func newArena(t *testing.T, dbPath string, cs []Contestant) (*arenaClient, *Store) {
	t.Helper()
	store, err := OpenStore(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(store, cs, &ServerOptions{Bootstrap: 50})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); store.Close() })
	return &arenaClient{t, srv}, store
}

// do sends a request and returns the status and body.
func (c *arenaClient) do(method, path, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	res, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

type sseEvent struct{ name, data string }

// stream reads a battle's event stream to its end.
func (c *arenaClient) stream(id string) (events []sseEvent, raw string) {
	c.t.Helper()
	res, err := c.srv.Client().Get(c.srv.URL + "/api/battles/" + id + "/stream")
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); res.StatusCode != 200 || ct != "text/event-stream" {
		c.t.Fatalf("stream: status %d, content type %q", res.StatusCode, ct)
	}
	var all strings.Builder
	sc := bufio.NewScanner(res.Body)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		all.WriteString(line + "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		case line == "":
			events = append(events, ev)
			ev = sseEvent{}
		}
	}
	return events, all.String()
}

func (c *arenaClient) newBattle(prompt string) string {
	c.t.Helper()
	code, body := c.do("POST", "/api/battles", fmt.Sprintf(`{"prompt": %q}`, prompt))
	if code != http.StatusCreated {
		c.t.Fatalf("new battle: %d %s", code, body)
	}
	var r struct{ ID string }
	json.Unmarshal([]byte(body), &r)
	return r.ID
}

func (c *arenaClient) vote(id, winner string) (int, VoteResult, string) {
	c.t.Helper()
	code, body := c.do("POST", "/api/battles/"+id+"/vote", fmt.Sprintf(`{"winner": %q}`, winner))
	var v VoteResult
	json.Unmarshal([]byte(body), &v)
	return code, v, body
}

// TestVoteFlow plays whole battles: nothing before the vote names a model,
// the streamed answers are the ones the revealed models wrote, and each
// vote lands in the store.
func TestVoteFlow(t *testing.T) {
	names := []string{"alpha-1b", "bravo-7b", "charlie-3b"}
	c, store := newArena(t, filepath.Join(t.TempDir(), "votes.db"), stubs(names...))
	winners := []string{WinnerA, WinnerB, WinnerTie, WinnerBothBad}
	for i, w := range winners {
		prompt := fmt.Sprintf("question %d", i)
		code, created := c.do("POST", "/api/battles", fmt.Sprintf(`{"prompt": %q}`, prompt))
		if code != http.StatusCreated {
			t.Fatalf("new battle: %d %s", code, created)
		}
		var r struct{ ID string }
		json.Unmarshal([]byte(created), &r)

		// Voting before the answers exist is refused.
		if code, _, body := c.vote(r.ID, w); code != http.StatusConflict {
			t.Fatalf("vote before streaming: %d %s, want 409", code, body)
		}
		events, raw := c.stream(r.ID)
		for _, n := range names {
			if strings.Contains(created+raw, n) {
				t.Fatalf("model name %q sent before the vote:\n%s%s", n, created, raw)
			}
		}
		text := map[string]string{}
		for _, ev := range events {
			var d streamEvent
			if ev.name != "end" {
				if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
					t.Fatalf("event %q data %q: %v", ev.name, ev.data, err)
				}
			}
			if ev.name == "token" {
				text[d.Side] += d.Text
			}
		}
		if last := events[len(events)-1].name; last != "end" {
			t.Fatalf("stream ends with %q, want end", last)
		}
		code, v, body := c.vote(r.ID, w)
		if code != http.StatusOK {
			t.Fatalf("vote: %d %s", code, body)
		}
		if v.ModelA == v.ModelB || v.Winner != w || v.Voided {
			t.Fatalf("vote result %+v", v)
		}
		if text["a"] != "Reply to "+prompt+": "+marker(v.ModelA) || text["b"] != "Reply to "+prompt+": "+marker(v.ModelB) {
			t.Fatalf("streamed A %q, B %q; revealed A %s, B %s", text["a"], text["b"], v.ModelA, v.ModelB)
		}
		if code, _, _ := c.vote(r.ID, w); code != http.StatusNotFound {
			t.Errorf("second vote on a battle: %d, want 404", code)
		}
	}
	votes, err := store.Votes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(votes) != len(winners) {
		t.Fatalf("%d votes stored, want %d", len(votes), len(winners))
	}
	for i, v := range votes {
		if v.Winner != winners[i] || v.Prompt != fmt.Sprintf("question %d", i) || !strings.Contains(v.AnswerA, marker(v.ModelA)) {
			t.Errorf("stored vote %d: %+v", i, v)
		}
	}
}

// TestSelfNamingVoids: an answer that names its model still takes the vote,
// but the vote does not count.
func TestSelfNamingVoids(t *testing.T) {
	cs := []Contestant{
		&stubContestant{name: "Qwen2.5-7B-Instruct", answer: func(string) string { return "I am Qwen, made by Alibaba." }},
		&stubContestant{name: "mistral-7b", answer: func(string) string { return "Hello there." }},
	}
	c, store := newArena(t, filepath.Join(t.TempDir(), "votes.db"), cs)
	id := c.newBattle("who are you?")
	c.stream(id)
	code, v, body := c.vote(id, WinnerA)
	if code != http.StatusOK || !v.Voided {
		t.Fatalf("vote: %d %s, want a voided vote", code, body)
	}
	battles, err := store.Battles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(battles) != 0 {
		t.Errorf("voided vote counted: %v", battles)
	}
	_, lb := c.do("GET", "/api/leaderboard", "")
	if !strings.Contains(lb, `"battles":0`) {
		t.Errorf("leaderboard counts the voided vote: %s", lb)
	}
}

// TestRestartKeepsVotes: votes cast before a restart are on the
// leaderboard after it.
func TestRestartKeepsVotes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "votes.db")
	names := []string{"alpha-1b", "bravo-7b"}
	c, store := newArena(t, db, stubs(names...))
	for range 3 {
		id := c.newBattle("hi")
		c.stream(id)
		if code, _, body := c.vote(id, WinnerA); code != 200 {
			t.Fatalf("vote: %d %s", code, body)
		}
	}
	c.srv.Close()
	store.Close()

	c2, _ := newArena(t, db, stubs(names...))
	code, body := c2.do("GET", "/api/leaderboard", "")
	var lb leaderboardJSON
	if err := json.Unmarshal([]byte(body), &lb); err != nil || code != 200 {
		t.Fatalf("leaderboard: %d %s (%v)", code, body, err)
	}
	if lb.Battles != 3 || len(lb.Ratings) != 2 || lb.Ratings[0].Battles != 3 || lb.Counts[0][1] != 3 {
		t.Fatalf("after restart: %+v, want 3 battles between 2 models", lb)
	}
}

// TestLeaderboardPage: the page shows the ratings, both matrices and the
// plot, whose endpoint serves SVG.
func TestLeaderboardPage(t *testing.T) {
	names := []string{"alpha-1b", "bravo-7b", "charlie-3b"}
	c, _ := newArena(t, filepath.Join(t.TempDir(), "votes.db"), stubs(names...))
	if code, page := c.do("GET", "/leaderboard", ""); code != 200 || !strings.Contains(page, "No votes yet") {
		t.Fatalf("empty leaderboard: %d %s", code, page)
	}
	if code, _ := c.do("GET", "/leaderboard.svg", ""); code != http.StatusNotFound {
		t.Errorf("plot without votes: %d, want 404", code)
	}
	for i := range 12 {
		id := c.newBattle(fmt.Sprint("q", i))
		c.stream(id)
		if code, _, body := c.vote(id, []string{WinnerA, WinnerB, WinnerTie}[i%3]); code != 200 {
			t.Fatalf("vote: %d %s", code, body)
		}
	}
	code, page := c.do("GET", "/leaderboard", "")
	if code != 200 {
		t.Fatalf("leaderboard: %d", code)
	}
	for _, want := range append(names, `id="ratings"`, `id="winrate"`, `id="counts"`, "/leaderboard.svg", "12 counted votes", "50 bootstrap") {
		if !strings.Contains(page, want) {
			t.Errorf("leaderboard page lacks %q", want)
		}
	}
	res, err := c.srv.Client().Get(c.srv.URL + "/leaderboard.svg")
	if err != nil {
		t.Fatal(err)
	}
	svg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(string(svg), "<svg") {
		t.Errorf("plot: %s, %.80q", res.Header.Get("Content-Type"), svg)
	}
	if code, index := c.do("GET", "/", ""); code != 200 || !strings.Contains(index, `src="/static/app.js"`) {
		t.Errorf("index: %d", code)
	}
	if code, js := c.do("GET", "/static/app.js", ""); code != 200 || !strings.Contains(js, "EventSource") {
		t.Errorf("app.js: %d", code)
	}
}

func TestServerErrors(t *testing.T) {
	failing := &stubContestant{name: "broken-1b", fail: true}
	c, _ := newArena(t, filepath.Join(t.TempDir(), "votes.db"), []Contestant{failing, stubs("bravo-7b")[0]})
	cases := []struct {
		name, method, path, body string
		code                     int
	}{
		{"empty prompt", "POST", "/api/battles", `{"prompt": "  "}`, 400},
		{"not json", "POST", "/api/battles", `prompt=hi`, 400},
		{"long prompt", "POST", "/api/battles", fmt.Sprintf(`{"prompt": %q}`, strings.Repeat("x", 17<<10)), 413},
		{"unknown battle stream", "GET", "/api/battles/nope/stream", "", 404},
		{"unknown battle vote", "POST", "/api/battles/nope/vote", `{"winner": "model_a"}`, 404},
		{"bad winner", "POST", "/api/battles/nope/vote", `{"winner": "model_c"}`, 400},
		{"wrong method", "GET", "/api/battles", "", 405},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := c.do(tc.method, tc.path, tc.body)
			if code != tc.code {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, code, body, tc.code)
			}
		})
	}
	// A battle in which a model failed cannot be voted on, and the error
	// event does not name the model.
	id := c.newBattle("hi")
	events, raw := c.stream(id)
	if strings.Contains(raw, "broken") {
		t.Errorf("stream names the failing model: %s", raw)
	}
	sawError := false
	for _, ev := range events {
		sawError = sawError || ev.name == "error"
	}
	if !sawError {
		t.Errorf("no error event in %s", raw)
	}
	if code, _, body := c.vote(id, WinnerA); code != http.StatusConflict {
		t.Errorf("vote on a failed battle: %d %s, want 409", code, body)
	}
	if code, _ := c.do("GET", "/api/battles/"+id+"/stream", ""); code != http.StatusConflict {
		t.Errorf("second stream: %d, want 409", code)
	}
	if _, err := NewServer(nil, stubs("a"), nil); err == nil {
		t.Error("one model: no error")
	}
	if _, err := NewServer(nil, stubs("a", "a"), nil); err == nil {
		t.Error("two models of one name: no error")
	}
}

// TestConcurrentBattles plays battles from many clients at once: every vote
// is stored once.
func TestConcurrentBattles(t *testing.T) {
	c, store := newArena(t, filepath.Join(t.TempDir(), "votes.db"), stubs("alpha-1b", "bravo-7b", "charlie-3b"))
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := c.newBattle(fmt.Sprint("q", i))
			c.stream(id)
			if code, _, body := c.vote(id, WinnerTie); code != 200 {
				errs <- errors.New(body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	votes, _ := store.Votes(context.Background())
	if len(votes) != n {
		t.Errorf("%d votes stored, want %d", len(votes), n)
	}
}
