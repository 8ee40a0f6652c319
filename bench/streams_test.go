package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeCompletions imitates /v1/completions. It holds every request until
// want of them are in flight at once (or fails them after a while), so a
// test passes only if Streams really sends them concurrently, and answers
// request k (in arrival order) with max_tokens − k%2 completion tokens, so
// the sum comes from usage rather than from max_tokens.
type fakeCompletions struct {
	t       *testing.T
	want    int
	mu      sync.Mutex
	arrived int
	all     chan struct{}
	prompts [][]int
	extra   []any
	stream  func(w http.ResponseWriter, u usage) // nil: write the usual events
}

func newFake(t *testing.T, want int) *fakeCompletions {
	return &fakeCompletions{t: t, want: want, all: make(chan struct{})}
}

func (f *fakeCompletions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/completions" || r.Method != http.MethodPost {
		http.Error(w, "wrong endpoint "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	var req struct {
		Prompt        []int `json:"prompt"`
		MaxTokens     int   `json:"max_tokens"`
		Stream        bool  `json:"stream"`
		IgnoreEOS     any   `json:"ignore_eos"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	k := f.arrived
	f.arrived++
	f.prompts = append(f.prompts, req.Prompt)
	f.extra = append(f.extra, req.IgnoreEOS)
	if f.arrived == f.want {
		close(f.all)
	}
	f.mu.Unlock()
	select {
	case <-f.all:
	case <-time.After(5 * time.Second):
		http.Error(w, "concurrency not reached", http.StatusInternalServerError)
		return
	}
	u := usage{PromptTokens: len(req.Prompt), CompletionTokens: req.MaxTokens - k%2}
	u.PromptTokensDetails.CachedTokens = k % 3
	if !req.Stream {
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"text": "x"}}, "usage": u})
		return
	}
	if req.StreamOptions == nil || !req.StreamOptions.IncludeUsage {
		http.Error(w, "stream without include_usage", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	if f.stream != nil {
		f.stream(w, u)
		return
	}
	for range u.CompletionTokens {
		fmt.Fprint(w, "data: {\"choices\":[{\"text\":\"x\"}]}\n\n")
	}
	b, _ := json.Marshal(map[string]any{"choices": []any{}, "usage": u})
	fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", b)
}

func TestStreams(t *testing.T) {
	cases := []struct {
		name        string
		concurrency int
		stream      bool
		prompts     [][]int
	}{
		{"one", 1, false, nil},
		{"four", 4, false, nil},
		{"stream-one", 1, true, nil},
		{"stream-sixteen", 16, true, nil},
		{"given-prompts", 2, true, [][]int{{3, 4, 5, 6, 7, 8, 9}, {9, 8, 7, 6, 5, 4, 3}, {1, 1, 1, 1, 1, 1, 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, c.concurrency)
			srv := httptest.NewServer(f)
			defer srv.Close()
			res, err := Streams(context.Background(), StreamsOptions{
				URL: srv.URL + "/", Concurrency: c.concurrency, PromptTokens: 7, MaxTokens: 5,
				Vocab: 50, Seed: 3, Stream: c.stream, Prompts: c.prompts, Extra: map[string]any{"ignore_eos": true, "max_tokens": 999},
			})
			if err != nil {
				t.Fatal(err)
			}
			wantGen, wantCached := 5*c.concurrency-c.concurrency/2, 0
			for k := range c.concurrency {
				wantCached += k % 3
			}
			if res.Concurrency != c.concurrency || res.PromptTokens != 7*c.concurrency || res.CompletionTokens != wantGen || res.CachedTokens != wantCached || res.Wall <= 0 {
				t.Errorf("result %+v, want %d prompt, %d cached and %d completion tokens", res, 7*c.concurrency, wantCached, wantGen)
			}
			if got, want := res.TokensPerSecond(), float64(wantGen)/res.Wall.Seconds(); got != want {
				t.Errorf("tokens/s %v, want %v", got, want)
			}
			if c.prompts != nil {
				got := slices.Clone(f.prompts)
				slices.SortFunc(got, slices.Compare)
				if !slices.EqualFunc(got, c.prompts[:c.concurrency], slices.Equal) {
					t.Errorf("prompts sent %v, want %v", got, c.prompts[:c.concurrency])
				}
			}
			for i, p := range f.prompts {
				if len(p) != 7 || slices.ContainsFunc(p, func(id int) bool { return id < 3 || id >= 50 }) {
					t.Errorf("prompt %v: want 7 ids in [3, 50)", p)
				}
				for _, q := range f.prompts[:i] {
					if slices.Equal(p, q) {
						t.Errorf("two requests share the prompt %v", p)
					}
				}
				if f.extra[i] != true {
					t.Errorf("ignore_eos %v, want true", f.extra[i])
				}
			}
		})
	}
}

func TestStreamsErrors(t *testing.T) {
	ok := StreamsOptions{Concurrency: 2, PromptTokens: 4, MaxTokens: 3, Vocab: 100}
	cases := []struct {
		name    string
		mod     func(o *StreamsOptions)
		handler http.HandlerFunc // nil: a fake that answers properly
		events  func(w http.ResponseWriter, u usage)
		want    string
	}{
		{"no url", func(o *StreamsOptions) { o.URL = "" }, nil, nil, "no server URL"},
		{"no concurrency", func(o *StreamsOptions) { o.Concurrency = 0 }, nil, nil, "concurrency must be at least 1"},
		{"no prompt", func(o *StreamsOptions) { o.PromptTokens = 0 }, nil, nil, "at least 1"},
		{"no tokens", func(o *StreamsOptions) { o.MaxTokens = 0 }, nil, nil, "at least 1"},
		{"too few prompts", func(o *StreamsOptions) { o.Prompts = [][]int{{5}} }, nil, nil, "1 prompts for 2 requests"},
		{"tiny vocab", func(o *StreamsOptions) { o.Vocab = 3 }, nil, nil, "more than 3"},
		{"unserialisable extra", func(o *StreamsOptions) { o.Extra = map[string]any{"f": func() {}} }, nil, nil, "request body"},
		{"overloaded", nil, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":{"message":"queue full"}}`, http.StatusServiceUnavailable)
		}, nil, "503 Service Unavailable: {\"error\":{\"message\":\"queue full\"}}"},
		{"no usage", nil, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"choices":[]}`) }, nil, "no usage"},
		{"not json", nil, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `<html>`) }, nil, "decoding response"},
		{"stream without usage", func(o *StreamsOptions) { o.Stream = true }, nil, func(w http.ResponseWriter, u usage) {
			fmt.Fprint(w, "data: {\"choices\":[]}\n\ndata: [DONE]\n\n")
		}, "carried no usage"},
		{"stream cut short", func(o *StreamsOptions) { o.Stream = true }, nil, func(w http.ResponseWriter, u usage) {
			fmt.Fprint(w, "data: {\"choices\":[]}\n\n")
		}, "without data: [DONE]"},
		{"stream error event", func(o *StreamsOptions) { o.Stream = true }, nil, func(w http.ResponseWriter, u usage) {
			fmt.Fprint(w, "data: {\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]\n\n")
		}, `error event: {"message":"boom"}`},
		{"stream garbage", func(o *StreamsOptions) { o.Stream = true }, nil, func(w http.ResponseWriter, u usage) {
			fmt.Fprint(w, "data: {oops\n\n")
		}, "decoding event"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var h http.Handler = c.handler
			if c.handler == nil {
				f := newFake(t, ok.Concurrency)
				f.stream = c.events
				h = f
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			o := ok
			o.URL = srv.URL
			if c.mod != nil {
				c.mod(&o)
			}
			_, err := Streams(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// BenchmarkServeStreams measures a running server's aggregate completion
// tokens/s with 1, 4, 8 and 16 concurrent requests (BENCHMARKS.md,
// "Serving"). It needs the server, so it skips unless LLMOS_SERVE_URL is
// set; the other LLMOS_SERVE_* variables shape the load:
//
//	STREAMS  comma-separated concurrencies (1,4,8,16)
//	PROMPT   prompt tokens (32)     GEN    max_tokens (32)
//	VOCAB    prompt ids < VOCAB (32000)   SEED  prompt seed (1)
//	STREAM   1: server-sent events (1)    MODEL the "model" field
//	EXTRA    a JSON object of further body fields ({"temperature":0,"ignore_eos":true})
//	PROMPTS  a JSON file of prompts (arrays of token ids) to use instead of
//	         random ones: point k of a run takes the next CONCURRENCY of
//	         them, starting past the first SKIP of them
//	SKIP     prompts of PROMPTS to pass over first; default (SEED−1) × the
//	         sum of STREAMS, the prompts of runs 1…SEED−1 of the same
//	         STREAMS. A script that runs one point per process must set it,
//	         or its points would send the same prompts again
//	SCREEN   with PROMPTS naming a missing file: a server's URL; random
//	         prompts it answers without error are kept, SCREEN_N of them
//	         (64), and written to PROMPTS instead of measuring
//
// Screening exists because llama-server fails a request (500, "does not
// match the expected Content-only format") when a random-weight model's
// output is not valid UTF-8; greedy decoding makes a prompt's output the
// same on every run, so prompts screened once stay good.
func BenchmarkServeStreams(b *testing.B) {
	url := os.Getenv("LLMOS_SERVE_URL")
	if url == "" {
		b.Skip("set LLMOS_SERVE_URL to a running OpenAI-compatible server to measure it")
	}
	num := func(name string, def int) int {
		s := os.Getenv("LLMOS_SERVE_" + name)
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("LLMOS_SERVE_%s: %v", name, err)
		}
		return n
	}
	extra := map[string]any{"temperature": 0, "ignore_eos": true}
	if s := os.Getenv("LLMOS_SERVE_EXTRA"); s != "" {
		extra = nil
		if err := json.Unmarshal([]byte(s), &extra); err != nil {
			b.Fatalf("LLMOS_SERVE_EXTRA: %v", err)
		}
	}
	o := StreamsOptions{
		URL: url, Model: os.Getenv("LLMOS_SERVE_MODEL"), PromptTokens: num("PROMPT", 32), MaxTokens: num("GEN", 32),
		Vocab: num("VOCAB", 32000), Seed: uint64(num("SEED", 1)), Stream: num("STREAM", 1) == 1, Extra: extra,
	}
	var streams []int
	for _, s := range strings.Split(cmp.Or(os.Getenv("LLMOS_SERVE_STREAMS"), "1,4,8,16"), ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			b.Fatalf("LLMOS_SERVE_STREAMS: %v", err)
		}
		streams = append(streams, c)
	}
	var prompts [][]int
	if path := os.Getenv("LLMOS_SERVE_PROMPTS"); path != "" {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) && os.Getenv("LLMOS_SERVE_SCREEN") != "" {
			screen := o
			screen.URL = os.Getenv("LLMOS_SERVE_SCREEN")
			writePrompts(b, path, screenPrompts(b, screen, num("SCREEN_N", 64)))
			return
		}
		if err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal(data, &prompts); err != nil {
			b.Fatalf("LLMOS_SERVE_PROMPTS %s: %v", path, err)
		}
	}
	// One short untimed request pages the weights in and starts the
	// server's threads, so the first point does not pay for them.
	warm := o
	warm.Concurrency, warm.MaxTokens, warm.Seed = 1, 4, o.Seed+1<<32
	if prompts != nil {
		warm.Prompts = prompts[len(prompts)-1:]
	}
	if _, err := Streams(context.Background(), warm); err != nil {
		b.Fatal(err)
	}
	perRun := 0
	for _, c := range streams {
		perRun += c
	}
	next := num("SKIP", int(o.Seed-1)*perRun)
	for _, c := range streams {
		b.Run(fmt.Sprintf("streams=%d", c), func(b *testing.B) {
			var tokens, cached int
			var wall time.Duration
			for i := range b.N {
				p := o
				// A seed per point and iteration: no prompt repeats, so no
				// server reuses a cached prefix.
				p.Concurrency, p.Seed = c, o.Seed+uint64(c)<<8+uint64(i)<<20
				if prompts != nil {
					if next+c > len(prompts)-1 { // the last one is the warm-up's
						b.Fatalf("LLMOS_SERVE_PROMPTS: %d prompts, run %d needs %d", len(prompts), o.Seed, next+c+1)
					}
					p.Prompts = prompts[next : next+c]
					next += c
				}
				res, err := Streams(context.Background(), p)
				if err != nil {
					b.Fatal(err)
				}
				tokens += res.CompletionTokens
				cached += res.CachedTokens
				wall += res.Wall
			}
			b.ReportMetric(float64(tokens)/wall.Seconds(), "tokens/s")
			b.ReportMetric(float64(tokens)/float64(b.N), "completion-tokens/op")
			// Prompt tokens the server took from its cache: 0 unless a
			// prompt was sent twice.
			b.ReportMetric(float64(cached)/float64(b.N), "cached-tokens/op")
		})
	}
}

// screenPrompts returns n random prompts that o's server completes without
// error, trying them sixteen at a time.
func screenPrompts(b *testing.B, o StreamsOptions, n int) [][]int {
	var kept [][]int
	for k := 0; len(kept) < n; k += 16 {
		if k > 16*n {
			b.Fatalf("screening: only %d of %d prompts passed after %d tries", len(kept), n, k)
		}
		ok := make([]bool, 16)
		cand := make([][]int, 16)
		var wg sync.WaitGroup
		for i := range cand {
			cand[i] = randomPrompt(o.Seed+1<<48, k+i, o.PromptTokens, o.Vocab)
			wg.Go(func() {
				p := o
				p.Concurrency, p.Prompts = 1, cand[i:i+1]
				_, err := Streams(context.Background(), p)
				ok[i] = err == nil
			})
		}
		wg.Wait()
		for i, good := range ok {
			if good && len(kept) < n {
				kept = append(kept, cand[i])
			}
		}
		b.Logf("screening: %d of %d prompts kept", len(kept), k+16)
	}
	return kept
}

func writePrompts(b *testing.B, path string, prompts [][]int) {
	data, err := json.Marshal(prompts)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
}

// TestRandomPrompt checks that prompts are reproducible, in range, and
// that a shorter prompt is not the prefix of a longer one with the same
// seed and index, which a server could have cached.
func TestRandomPrompt(t *testing.T) {
	cases := []struct{ short, long int }{{1, 2}, {16, 32}, {32, 128}}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d-%d", c.short, c.long), func(t *testing.T) {
			short, long := randomPrompt(7, 3, c.short, 100), randomPrompt(7, 3, c.long, 100)
			if !slices.Equal(short, randomPrompt(7, 3, c.short, 100)) {
				t.Error("same seed, index and length gave different prompts")
			}
			if slices.Equal(short, long[:c.short]) {
				t.Errorf("prompt of %d tokens %v is the prefix of the one of %d", c.short, short, c.long)
			}
			for _, id := range long {
				if id < 3 || id >= 100 {
					t.Errorf("token %d outside [3, 100)", id)
				}
			}
		})
	}
}
