package server

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/defaultmodel"
	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/internal/testenv"
)

const testContext = 1024

// smallModel is the smallest fixture model: the API tests use it.
const smallModel = "llama2c-260K.f32.gguf"

// newTestServer serves the smallest fixture model over loopback.
func newTestServer(t testing.TB, opts Options) (*httptest.Server, *Server) {
	return newModelServer(t, opts, smallModel)
}

// newModelServer serves fixture models over loopback.
func newModelServer(t testing.TB, opts Options, names ...string) (*httptest.Server, *Server) {
	t.Helper()
	var paths []string
	for _, name := range names {
		paths = append(paths, testenv.Fixtures(t, "llama", "models", name))
	}
	models, err := Open(paths, engine.Options{Threads: 2, Context: testContext})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Scheduler.Parallel == 0 {
		opts.Scheduler.Parallel = 4
	}
	s, err := New(models, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		s.Close()
		closeModels(models)
	})
	return ts, s
}

func post(t testing.TB, url, body string, header ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s: response %q is not JSON: %v", url, data, err)
	}
	return resp, out
}

// TestErrors sends the client mistakes the API must answer with a 4xx in
// OpenAI's error shape, naming the problem.
func TestErrors(t *testing.T) {
	ts, _ := newTestServer(t, Options{})
	long := strings.Repeat("word ", 2*testContext)
	for _, tc := range []struct {
		name, path, body string
		status           int
		param, code, msg string
	}{
		{"bad JSON", "/v1/chat/completions", `{"messages": [`, 400, "", "", "invalid JSON"},
		{"empty body", "/v1/chat/completions", ``, 400, "", "", "empty request body"},
		{"not an object", "/v1/chat/completions", `[1]`, 400, "", "", "JSON object"},
		{"wrong type", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":"ten"}`, 400, "max_tokens", "", "integer"},
		{"wrong message type", "/v1/chat/completions", `{"messages":"hi"}`, 400, "messages", "", "wrong type for messages"},
		{"no messages", "/v1/chat/completions", `{"messages":[]}`, 400, "messages", "", "non-empty"},
		{"unknown model", "/v1/chat/completions", `{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}`, 404, "model", "model_not_found", "gpt-9"},
		{"prompt past the context", "/v1/completions", `{"prompt":"` + long + `"}`, 400, "prompt", "context_length_exceeded", "context"},
		{"chat past the context", "/v1/chat/completions", `{"messages":[{"role":"user","content":"` + long + `"}]}`, 400, "messages", "context_length_exceeded", "context"},
		{"max_tokens past the context", "/v1/completions", `{"prompt":"Hi","max_tokens":` + fmt.Sprint(testContext) + `}`, 400, "max_tokens", "", "max_tokens"},
		{"max_tokens zero", "/v1/completions", `{"prompt":"Hi","max_tokens":0}`, 400, "max_tokens", "", "at least 1"},
		{"temperature", "/v1/completions", `{"prompt":"Hi","temperature":7}`, 400, "temperature", "", "between 0 and 2"},
		{"n", "/v1/completions", `{"prompt":"Hi","n":100}`, 400, "n", "", "n must be"},
		{"stop", "/v1/completions", `{"prompt":"Hi","stop":5}`, 400, "", "", "stop must be"},
		{"no prompt", "/v1/completions", `{}`, 400, "prompt", "", "prompt is required"},
		{"echo", "/v1/completions", `{"prompt":"Hi","echo":true}`, 400, "echo", "", "not supported"},
		{"token out of range", "/v1/completions", `{"prompt":[1, 99999999]}`, 400, "", "", "vocabulary"},
		{"top_logprobs alone", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"top_logprobs":2}`, 400, "top_logprobs", "", "logprobs: true"},
		{"tool_choice unknown", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`, 400, "tool_choice", "", "not among the tools"},
		{"tool_choice without tools", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}`, 400, "tool_choice", "", "needs tools"},
		{"bad schema", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"anyOf":[]}}}}`, 400, "response_format", "", "anyOf"},
		{"bad response_format", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"yaml"}}`, 400, "response_format", "", "yaml"},
		{"embedding input", "/v1/embeddings", `{"input":{}}`, 400, "input", "", "input must be"},
		{"embedding format", "/v1/embeddings", `{"input":"hi","encoding_format":"hex"}`, 400, "encoding_format", "", "hex"},
		{"unknown endpoint", "/v1/edits", `{}`, 404, "", "unknown_url", "/v1/edits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := post(t, ts.URL+tc.path, tc.body)
			e, _ := out["error"].(map[string]any)
			if resp.StatusCode != tc.status || e == nil {
				t.Fatalf("status %d, body %v; want %d with an error", resp.StatusCode, out, tc.status)
			}
			msg, _ := e["message"].(string)
			if !strings.Contains(msg, tc.msg) || e["type"] == nil {
				t.Errorf("error %v; want a message with %q", e, tc.msg)
			}
			if tc.param != "" && e["param"] != tc.param {
				t.Errorf("param %v, want %s", e["param"], tc.param)
			}
			if tc.code != "" && e["code"] != tc.code {
				t.Errorf("code %v, want %s", e["code"], tc.code)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	ts, _ := newTestServer(t, Options{APIKey: "sekret"})
	body := `{"prompt":"Hi","max_tokens":2}`
	for _, tc := range []struct {
		name   string
		header []string
		status int
	}{
		{"missing", nil, 401},
		{"wrong", []string{"Authorization", "Bearer nope"}, 401},
		{"not bearer", []string{"Authorization", "sekret"}, 401},
		{"right", []string{"Authorization", "Bearer sekret"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := post(t, ts.URL+"/v1/completions", body, tc.header...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%v), want %d", resp.StatusCode, out, tc.status)
			}
			if tc.status == 401 && out["error"].(map[string]any)["code"] != "invalid_api_key" {
				t.Errorf("error %v", out)
			}
		})
	}
	if resp, err := http.Get(ts.URL + "/health"); err != nil || resp.StatusCode != 200 {
		t.Errorf("health needs no key: %v %v", resp.StatusCode, err)
	}
	if resp, err := http.Get(ts.URL + "/metrics"); err != nil || resp.StatusCode != 401 {
		t.Errorf("metrics without a key: %v %v", resp.StatusCode, err)
	}
}

// sseData reads a server-sent event stream and returns its data lines.
func sseData(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, line)
		}
	}
	return out
}

// TestCompletionsMatchEngine checks greedy text against a Session, and
// that the streamed pieces add up to the same text.
func TestCompletionsMatchEngine(t *testing.T) {
	ts, srv := newTestServer(t, Options{})
	e := srv.models[srv.order[0]].e
	ids := e.Tokenizer.Encode("Once upon a time", true, true)
	sess, _ := e.NewSession()
	want, err := sess.Generate(context.Background(), engine.Request{Prompt: ids, MaxTokens: 16}, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"prompt":"Once upon a time","max_tokens":16,"temperature":0`
	resp, out := post(t, ts.URL+"/v1/completions", body+`}`)
	if resp.StatusCode != 200 {
		t.Fatal(out)
	}
	ch := out["choices"].([]any)[0].(map[string]any)
	if ch["text"] != want.Text {
		t.Errorf("text %q, engine %q", ch["text"], want.Text)
	}
	u := out["usage"].(map[string]any)
	if int(u["prompt_tokens"].(float64)) != len(ids) || int(u["completion_tokens"].(float64)) != len(want.Tokens) {
		t.Errorf("usage %v, want %d prompt and %d completion tokens", u, len(ids), len(want.Tokens))
	}
	sresp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(body+`,"stream":true,"stream_options":{"include_usage":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	if ct := sresp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	data := sseData(t, sresp.Body)
	if len(data) < 3 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("stream %q does not end with [DONE]", data)
	}
	var text strings.Builder
	for _, d := range data[:len(data)-2] {
		var chunk struct {
			Choices []struct{ Text string }
		}
		json.Unmarshal([]byte(d), &chunk)
		text.WriteString(chunk.Choices[0].Text)
	}
	if text.String() != want.Text {
		t.Errorf("streamed %q, engine %q", text.String(), want.Text)
	}
	if !strings.Contains(data[len(data)-2], `"completion_tokens":`) {
		t.Errorf("last chunk %s has no usage", data[len(data)-2])
	}
}

// TestChoicesStopsLogprobs covers n, seeds, stop strings and logprobs.
func TestChoicesStopsLogprobs(t *testing.T) {
	ts, _ := newTestServer(t, Options{})
	_, out := post(t, ts.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"Tell a story"}],"n":3,"seed":7,"temperature":1,"max_tokens":12,"logprobs":true,"top_logprobs":2}`)
	choices := out["choices"].([]any)
	if len(choices) != 3 {
		t.Fatalf("choices %v", out)
	}
	texts := map[string]bool{}
	for i, c := range choices {
		c := c.(map[string]any)
		if int(c["index"].(float64)) != i {
			t.Errorf("choice %d has index %v", i, c["index"])
		}
		texts[c["message"].(map[string]any)["content"].(string)] = true
		lps := c["logprobs"].(map[string]any)["content"].([]any)
		if len(lps) == 0 || len(lps[0].(map[string]any)["top_logprobs"].([]any)) != 2 {
			t.Errorf("choice %d logprobs %v", i, lps)
		}
	}
	if len(texts) < 2 {
		t.Errorf("n=3 with seed 7 gave the same text each time: %v", texts)
	}
	// The same seed gives the same first choice.
	_, again := post(t, ts.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"Tell a story"}],"seed":7,"temperature":1,"max_tokens":12}`)
	first := choices[0].(map[string]any)["message"].(map[string]any)["content"]
	if got := again["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"]; got != first {
		t.Errorf("seed 7 gave %q, then %q", first, got)
	}
	// A stop string cuts the text before it.
	_, full := post(t, ts.URL+"/v1/completions", `{"prompt":"Once upon a time","max_tokens":20,"temperature":0}`)
	text := full["choices"].([]any)[0].(map[string]any)["text"].(string)
	if len(text) < 6 {
		t.Fatalf("too little text to cut: %q", text)
	}
	stop := text[3:6]
	body, _ := json.Marshal(map[string]any{"prompt": "Once upon a time", "max_tokens": 20, "temperature": 0, "stop": []string{stop, "zzzz"}})
	_, cut := post(t, ts.URL+"/v1/completions", string(body))
	c := cut["choices"].([]any)[0].(map[string]any)
	if c["text"] != text[:strings.Index(text, stop)] || c["finish_reason"] != "stop" {
		t.Errorf("stop %q: %v", stop, c)
	}
}

func TestEmbeddings(t *testing.T) {
	ts, srv := newTestServer(t, Options{})
	dim := srv.models[srv.order[0]].e.Model.Config.Dim
	_, out := post(t, ts.URL+"/v1/embeddings", `{"input":["The cat","A dog"]}`)
	data := out["data"].([]any)
	if len(data) != 2 || len(data[0].(map[string]any)["embedding"].([]any)) != dim {
		t.Fatalf("embeddings %v", out)
	}
	_, b64 := post(t, ts.URL+"/v1/embeddings", `{"input":"The cat","encoding_format":"base64"}`)
	raw, err := base64.StdEncoding.DecodeString(b64["data"].([]any)[0].(map[string]any)["embedding"].(string))
	if err != nil || len(raw) != 4*dim {
		t.Errorf("base64 embedding: %d bytes, %v", len(raw), err)
	}
	if u := out["usage"].(map[string]any); u["prompt_tokens"].(float64) < 4 {
		t.Errorf("usage %v", u)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	ts, _ := newTestServer(t, Options{})
	post(t, ts.URL+"/v1/completions", `{"prompt":"Hi","max_tokens":3}`)
	post(t, ts.URL+"/v1/completions", `{"prompt":`)
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`llmos_requests_total{endpoint="POST /v1/completions",code="200"} 1`,
		`llmos_requests_total{endpoint="POST /v1/completions",code="400"} 1`,
		`llmos_request_duration_seconds_count{endpoint="POST /v1/completions"} 2`,
		`llmos_completion_tokens_total{model="llama2c-260K.f32"} 3`,
		`llmos_queue_depth{model="llama2c-260K.f32"} 0`,
		`llmos_slots{model="llama2c-260K.f32"} 4`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
	resp, err = http.Get(ts.URL + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v", err)
	}
}

// TestBusyAndDisconnect fills the one slot and the one queue place: the
// next request gets 503 with Retry-After; then the client of the running
// stream goes away and its generation stops.
func TestBusyAndDisconnect(t *testing.T) {
	ts, srv := newTestServer(t, Options{Scheduler: engine.SchedulerOptions{Parallel: 1, Queue: 1}})
	sched := srv.models[srv.order[0]].sched
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	long := `{"prompt":"Once","max_tokens":200,"stream":true}`
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions", strings.NewReader(long))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(resp.Body)
	if _, err := rd.ReadString('\n'); err != nil { // generating
		t.Fatal(err)
	}
	qctx, qcancel := context.WithCancel(context.Background())
	defer qcancel()
	go func() {
		req, _ := http.NewRequestWithContext(qctx, "POST", ts.URL+"/v1/completions", strings.NewReader(long))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	waitFor(t, "a queued request", func() bool { return sched.Stats().Queued == 1 })
	busy, out := post(t, ts.URL+"/v1/completions", `{"prompt":"Hi"}`)
	if busy.StatusCode != 503 || busy.Header.Get("Retry-After") == "" || out["error"] == nil {
		t.Errorf("full queue: status %d, Retry-After %q, %v", busy.StatusCode, busy.Header.Get("Retry-After"), out)
	}
	qcancel()
	cancel()
	resp.Body.Close()
	waitFor(t, "generations to stop", func() bool { st := sched.Stats(); return st.Active == 0 && st.Queued == 0 })
	if n := sched.Stats().GeneratedTokens; n >= 200 {
		t.Errorf("the abandoned stream ran to %d tokens", n)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRecoverPanics(t *testing.T) {
	s := &Server{log: discardLogger()}
	h := s.recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"type":"server_error"`) {
		t.Errorf("panic gave %d %s", rec.Code, rec.Body)
	}
}

func TestModelNames(t *testing.T) {
	for path, want := range map[string]string{"/m/llama-3.Q4_K_M.gguf": "llama-3.Q4_K_M", "x.bin": "x.bin", "dir/a.gguf": "a"} {
		if got := ModelName(path); got != want {
			t.Errorf("ModelName(%q) = %q, want %q", path, got, want)
		}
	}
	if _, err := Open([]string{"/nonexistent.gguf"}, engine.Options{}); err == nil || !strings.Contains(err.Error(), "nonexistent") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("no models accepted")
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestToolCallsParsed checks that with tools offered an answer written the
// way a template teaches (here Hermes/ChatML) comes back as tool_calls,
// and that plain text stays content.
func TestToolCallsParsed(t *testing.T) {
	for _, tc := range []struct {
		text, reason string
		calls        int
		content      any
	}{
		{"<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_call>", "tool_calls", 1, nil},
		{"Let me check.\n<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call><tool_call>{\"name\": \"g\", \"arguments\": {}}</tool_call>", "tool_calls", 2, "Let me check."},
		{"It is sunny.", "stop", 0, "It is sunny."},
	} {
		c := chatWriter{response: response{done: []*engine.Event{{Done: true, FinishReason: "stop"}}}, plan: &chatPlan{parseTools: true}, choices: []choice{{text: []byte(tc.text)}}}
		msg, reason := c.message(0)
		calls, _ := msg["tool_calls"].([]chat.ToolCall)
		if reason != tc.reason || len(calls) != tc.calls || msg["content"] != tc.content {
			t.Errorf("%q: reason %s, %d calls, content %v", tc.text, reason, len(calls), msg["content"])
		}
		for _, call := range calls {
			if call.ID == "" || call.Type != "function" {
				t.Errorf("%q: call %+v lacks an id or type", tc.text, call)
			}
		}
	}
}

// TestIgnoreEOS checks that ignore_eos carries the built-in assistant's
// answer past the end of its turn, where it otherwise stops, to exactly
// max_tokens.
func TestIgnoreEOS(t *testing.T) {
	f, err := defaultmodel.Open()
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(f, engine.Options{Threads: 2, Context: 512})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, err := New([]Model{{Name: defaultmodel.Name, Engine: e}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s)
	defer ts.Close()
	const body = `{"messages":[{"role":"user","content":"Hello! Who are you?"}],"max_tokens":200,"temperature":0`
	tests := []struct {
		extra  string
		reason string
		full   bool // completion_tokens == max_tokens
	}{
		{``, "stop", false},
		{`,"ignore_eos":false`, "stop", false},
		{`,"ignore_eos":true`, "length", true},
	}
	for _, tt := range tests {
		resp, out := post(t, ts.URL+"/v1/chat/completions", body+tt.extra+`}`)
		if resp.StatusCode != 200 {
			t.Fatal(out)
		}
		ch := out["choices"].([]any)[0].(map[string]any)
		n := int(out["usage"].(map[string]any)["completion_tokens"].(float64))
		if ch["finish_reason"] != tt.reason || (n == 200) != tt.full {
			t.Errorf("%q: finish_reason %v after %d tokens, want %s (all 200: %v)", tt.extra, ch["finish_reason"], n, tt.reason, tt.full)
		}
	}
	resp, out := post(t, ts.URL+"/v1/chat/completions", body+`,"ignore_eos":"yes"}`)
	if resp.StatusCode != 400 {
		t.Errorf("ignore_eos of the wrong type: status %d, %v", resp.StatusCode, out)
	}
}
