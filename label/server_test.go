package label

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGen answers prompt p with "p: answer i" for i from 1 to k, and
// records the prompts it was asked.
type fakeGen struct {
	mu    sync.Mutex
	asked []string
	fail  error
}

func (g *fakeGen) Generate(_ context.Context, prompt string, k int) ([]string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asked = append(g.asked, prompt)
	if g.fail != nil {
		return nil, g.fail
	}
	out := make([]string, k)
	for i := range out {
		out[i] = fmt.Sprintf("%s: answer %d", prompt, i+1)
	}
	return out, nil
}

func (g *fakeGen) prompts() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.asked)
}

// lastDigitScorer scores an answer by its last character, so "… answer 3"
// outranks "… answer 1".
type lastDigitScorer struct{}

func (lastDigitScorer) Score(_ context.Context, _, answer string) (float64, error) {
	return float64(answer[len(answer)-1] - '0'), nil
}

// labelServer serves a labeller over prompts with fake answers.
type labelServer struct {
	t          *testing.T
	url        string
	sft, prefs string
	gen        *fakeGen
	l          *Labeller
}

func newLabelServer(t *testing.T, sft, prefs string, prompts []string, opts *Options) *labelServer {
	gen := &fakeGen{}
	l, err := New(prompts, gen, openStore(t, sft, prefs), opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(NewServer(l))
	t.Cleanup(func() {
		ts.Close()
		l.Close()
	})
	return &labelServer{t: t, url: ts.URL, sft: sft, prefs: prefs, gen: gen, l: l}
}

// do sends a request and decodes the JSON answer into out, returning the
// status.
func (s *labelServer) do(method, path, body string, out any) int {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return res.StatusCode
}

func (s *labelServer) next() NextResponse {
	s.t.Helper()
	var r NextResponse
	if code := s.do("GET", "/api/next", "", &r); code != http.StatusOK {
		s.t.Fatalf("GET /api/next: %d", code)
	}
	return r
}

func TestServerFlow(t *testing.T) {
	sft, prefs := storePaths(t)
	prompts := []string{"P1", "P2", "P3", "P4", "P5", "P2"}
	s := newLabelServer(t, sft, prefs, prompts, &Options{K: 3})
	steps := []struct {
		prompt, body string
		sft          string
		prefs        []string
	}{
		{"P1", `"ranking":[1]`, "P1: answer 2", []string{`"P1: answer 2","rejected":"P1: answer 1"`, `"P1: answer 2","rejected":"P1: answer 3"`}},
		{"P2", `"ranking":[2,0]`, "P2: answer 3", []string{`"P2: answer 3","rejected":"P2: answer 1"`, `"P2: answer 3","rejected":"P2: answer 2"`, `"P2: answer 1","rejected":"P2: answer 2"`}},
		{"P3", `"text":"P3: answer 1, edited"`, "P3: answer 1, edited", []string{`"P3: answer 1, edited","rejected":"P3: answer 1"`, `"P3: answer 1, edited","rejected":"P3: answer 2"`, `"P3: answer 1, edited","rejected":"P3: answer 3"`}},
		{"P4", `"text":"my own \"answer\"\nline 2"`, `my own \"answer\"\nline 2`, []string{`"my own \"answer\"\nline 2","rejected":"P4: answer 1"`, `"my own \"answer\"\nline 2","rejected":"P4: answer 2"`, `"my own \"answer\"\nline 2","rejected":"P4: answer 3"`}},
	}
	var wantSFT, wantPrefs strings.Builder
	for i, st := range steps {
		r := s.next()
		if r.Done || r.Item == nil || r.Item.Index != i || r.Item.Prompt != st.prompt || r.Labelled != i || r.Total != 5 {
			t.Fatalf("step %d: next = %+v", i, r)
		}
		if got := r.Item.Texts(); len(got) != 3 || got[0] != st.prompt+": answer 1" || r.Item.Answers[0].Score != nil {
			t.Fatalf("step %d: answers %+v", i, r.Item.Answers)
		}
		// Asking again (a reload) shows the same item without sampling anew.
		if again := s.next(); again.Item.Prompt != st.prompt {
			t.Fatalf("a reload shows %q, not %q", again.Item.Prompt, st.prompt)
		}
		var res DecideResponse
		body := fmt.Sprintf(`{"index":%d,"prompt":%q,%s}`, i, st.prompt, st.body)
		if code := s.do("POST", "/api/decide", body, &res); code != http.StatusOK {
			t.Fatalf("step %d: decide: %d", i, code)
		}
		if res.Labelled != i+1 || len(res.Pairs) != len(st.prefs) || res.SFT.Messages[1].Content != strings.ReplaceAll(strings.ReplaceAll(st.sft, `\n`, "\n"), `\"`, `"`) {
			t.Errorf("step %d: decide answered %+v", i, res)
		}
		fmt.Fprintf(&wantSFT, `{"messages":[{"role":"user","content":%q},{"role":"assistant","content":"%s"}]}`+"\n", st.prompt, st.sft)
		for _, p := range st.prefs {
			fmt.Fprintf(&wantPrefs, `{"prompt":%q,"chosen":%s}`+"\n", st.prompt, p)
		}
		if got := readFile(t, sft); got != wantSFT.String() {
			t.Errorf("step %d: SFT file\n%s\nwant\n%s", i, got, wantSFT.String())
		}
		if got := readFile(t, prefs); got != wantPrefs.String() {
			t.Errorf("step %d: preference file\n%s\nwant\n%s", i, got, wantPrefs.String())
		}
	}
	r := s.next()
	if r.Item == nil || r.Item.Prompt != "P5" {
		t.Fatalf("after four decisions: %+v", r)
	}
	if code := s.do("POST", "/api/skip", `{"index":4,"prompt":"P5"}`, nil); code != http.StatusOK {
		t.Fatalf("skip: %d", code)
	}
	if r := s.next(); !r.Done || r.Labelled != 4 || r.Total != 5 {
		t.Fatalf("after the skip: %+v, want done with 4 of 5", r)
	}
	if asked := s.gen.prompts(); !slices.Equal(asked, []string{"P1", "P2", "P3", "P4", "P5"}) {
		t.Errorf("the generator was asked %q: each prompt once, repeats left out", asked)
	}

	// A restart skips the labelled prompts and offers the skipped one.
	s.l.Close()
	restarted := newLabelServer(t, sft, prefs, prompts, &Options{K: 3})
	if r := restarted.next(); r.Item == nil || r.Item.Prompt != "P5" || r.Labelled != 4 {
		t.Fatalf("after a restart: %+v, want P5 with 4 labelled", r)
	}
	if asked := restarted.gen.prompts(); !slices.Equal(asked, []string{"P5"}) {
		t.Errorf("after a restart the generator was asked %q", asked)
	}
}

func TestServerErrors(t *testing.T) {
	sft, prefs := storePaths(t)
	s := newLabelServer(t, sft, prefs, []string{"P1", "P2"}, &Options{K: 2})
	s.next()
	cases := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"no decision", "/api/decide", `{"index":0,"prompt":"P1"}`, 400, "pick, rank or write"},
		{"answer out of range", "/api/decide", `{"index":0,"prompt":"P1","ranking":[2]}`, 400, "no answer 3"},
		{"not JSON", "/api/decide", `{"index":`, 400, "bad request body"},
		{"unknown field", "/api/decide", `{"index":0,"prompt":"P1","best":1}`, 400, "unknown field"},
		{"wrong prompt", "/api/decide", `{"index":0,"prompt":"P2","ranking":[0]}`, 409, "not waiting"},
		{"not shown yet", "/api/decide", `{"index":1,"prompt":"P2","ranking":[0]}`, 409, "not waiting"},
		{"no such index", "/api/skip", `{"index":7,"prompt":"P2"}`, 409, "not waiting"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r map[string]string
			if code := s.do("POST", c.path, c.body, &r); code != c.status || !strings.Contains(r["error"], c.want) {
				t.Errorf("%d %q, want %d and %q", code, r["error"], c.status, c.want)
			}
		})
	}
	if got := readFile(t, sft) + readFile(t, prefs); got != "" {
		t.Errorf("failed decisions wrote %q", got)
	}
	// A decision sent twice (a double click) is saved once.
	var r map[string]string
	s.do("POST", "/api/decide", `{"index":0,"prompt":"P1","ranking":[0]}`, nil)
	if code := s.do("POST", "/api/decide", `{"index":0,"prompt":"P1","ranking":[1]}`, &r); code != 409 {
		t.Errorf("a second decision on P1: %d %q", code, r["error"])
	}
	if n := checkJSONL(t, sft); n != 1 {
		t.Errorf("%d SFT lines after one decision", n)
	}
}

func TestServerPage(t *testing.T) {
	sft, prefs := storePaths(t)
	s := newLabelServer(t, sft, prefs, []string{"P1"}, nil)
	for _, c := range []struct{ path, want string }{{"/", "<title>llmos label</title>"}, {"/app.js", "/api/decide"}, {"/style.css", ".answer"}} {
		res, err := http.Get(s.url + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), c.want) {
			t.Errorf("GET %s: %d, lacks %q", c.path, res.StatusCode, c.want)
		}
		if csp := res.Header.Get("Content-Security-Policy"); csp != "default-src 'self'" {
			t.Errorf("GET %s: Content-Security-Policy %q", c.path, csp)
		}
	}
}

func TestLabellerScoresAndPrefetches(t *testing.T) {
	gen := &fakeGen{}
	l, _, _ := newLabeller(t, []string{"P1", "P2", "P3"}, gen, &Options{K: 3, Scorer: lastDigitScorer{}})
	it, err := l.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var scores []float64
	for _, a := range it.Answers {
		scores = append(scores, *a.Score)
	}
	if !slices.Equal(scores, []float64{3, 2, 1}) || it.Answers[0].Text != "P1: answer 3" {
		t.Errorf("answers not ranked by reward: %+v", it.Answers)
	}
	// While P1 is being labelled, P2's answers are sampled.
	deadline := time.Now().Add(5 * time.Second)
	for len(gen.prompts()) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if asked := gen.prompts(); !slices.Equal(asked, []string{"P1", "P2"}) {
		t.Errorf("asked %q, want P1 then P2 sampled ahead", asked)
	}
	// A decision indexes answers as shown: 0 is the reward model's best.
	out, err := l.Decide(0, "P1", Decision{Ranking: []int{0}})
	if err != nil || out.SFT.Messages[1].Content != "P1: answer 3" {
		t.Errorf("Decide = %+v, %v", out, err)
	}
}

func TestLabellerErrors(t *testing.T) {
	sft, prefs := storePaths(t)
	store := openStore(t, sft, prefs)
	if _, err := New(nil, &fakeGen{}, store, nil); err == nil {
		t.Error("no prompts: no error")
	}
	if _, err := New([]string{"P"}, &fakeGen{}, store, &Options{K: -1}); err == nil {
		t.Error("negative k: no error")
	}
	gen := &fakeGen{fail: errors.New("out of memory")}
	l, _, _ := newLabeller(t, []string{"P"}, gen, nil)
	if _, err := l.Next(context.Background()); err == nil || !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("a failing generator: %v", err)
	}
	// The failure is not kept: the next call samples again.
	gen.mu.Lock()
	gen.fail = nil
	gen.mu.Unlock()
	if it, err := l.Next(context.Background()); err != nil || it == nil {
		t.Errorf("after the generator recovers: %v, %v", it, err)
	}
}
