package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// StreamsOptions configures Streams: how many clients hit an
// OpenAI-compatible /v1/completions endpoint at once, and with what.
type StreamsOptions struct {
	URL          string         // server base URL, e.g. http://127.0.0.1:8080
	Model        string         // "model" field; empty leaves it out
	Concurrency  int            // requests in flight at once, all started together
	PromptTokens int            // prompt length, sent as token ids
	MaxTokens    int            // max_tokens of each request
	Vocab        int            // prompt ids are drawn from [3, Vocab), past the usual specials
	Seed         uint64         // seeds the prompts; request i gets its own
	Prompts      [][]int        // if set, request i sends Prompts[i] instead of a random prompt
	Stream       bool           // server-sent events with stream_options.include_usage
	Extra        map[string]any // further body fields (temperature, ignore_eos …)
	Client       *http.Client   // nil: http.DefaultClient
}

// StreamsResult is one batch of concurrent requests.
type StreamsResult struct {
	Concurrency      int
	PromptTokens     int           // sum of usage.prompt_tokens
	CompletionTokens int           // sum of usage.completion_tokens
	CachedTokens     int           // sum of usage.prompt_tokens_details.cached_tokens: prompt tokens the server reused
	Wall             time.Duration // first request sent to last response read
}

// TokensPerSecond is the batch's aggregate generation rate: completion
// tokens over wall time.
func (r StreamsResult) TokensPerSecond() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(r.CompletionTokens) / r.Wall.Seconds()
}

// usage is the part of an OpenAI response the load generator reads.
type usage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

// Streams sends Concurrency completion requests at once, each with its
// own random prompt (so no server can reuse another's cached prefix), and
// waits for all of them. Token counts come from the servers' usage, not
// from max_tokens, so a generation that stops early is counted as it is.
// Any failed request fails the batch: a partial aggregate would flatter.
func Streams(ctx context.Context, o StreamsOptions) (StreamsResult, error) {
	switch {
	case o.URL == "":
		return StreamsResult{}, errors.New("bench: streams: no server URL")
	case o.Concurrency < 1:
		return StreamsResult{}, fmt.Errorf("bench: streams: concurrency must be at least 1, got %d", o.Concurrency)
	case o.MaxTokens < 1:
		return StreamsResult{}, fmt.Errorf("bench: streams: max tokens must be at least 1, got %d", o.MaxTokens)
	case o.Prompts != nil && len(o.Prompts) < o.Concurrency:
		return StreamsResult{}, fmt.Errorf("bench: streams: %d prompts for %d requests", len(o.Prompts), o.Concurrency)
	case o.Prompts != nil:
	case o.PromptTokens < 1:
		return StreamsResult{}, fmt.Errorf("bench: streams: prompt tokens must be at least 1, got %d", o.PromptTokens)
	case o.Vocab <= 3:
		return StreamsResult{}, fmt.Errorf("bench: streams: vocabulary must have more than 3 tokens, got %d", o.Vocab)
	}
	bodies := make([][]byte, o.Concurrency)
	for i := range bodies {
		b, err := requestBody(o, i)
		if err != nil {
			return StreamsResult{}, err
		}
		bodies[i] = b
	}
	client := o.Client
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	url := strings.TrimSuffix(o.URL, "/") + "/v1/completions"
	usages := make([]usage, o.Concurrency)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error // the first failure; the cancellations it causes are not news
	)
	start := time.Now()
	for i := range bodies {
		wg.Go(func() {
			var err error
			usages[i], err = complete(ctx, client, url, bodies[i], o.Stream)
			if err != nil {
				once.Do(func() {
					first = fmt.Errorf("bench: streams: request %d of %d: %w", i+1, o.Concurrency, err)
					cancel() // the batch has failed; don't wait for the others
				})
			}
		})
	}
	wg.Wait()
	if first != nil {
		return StreamsResult{}, first
	}
	res := StreamsResult{Concurrency: o.Concurrency, Wall: time.Since(start)}
	for _, u := range usages {
		res.PromptTokens += u.PromptTokens
		res.CompletionTokens += u.CompletionTokens
		res.CachedTokens += u.PromptTokensDetails.CachedTokens
	}
	return res, nil
}

// requestBody builds request i's JSON: Extra first, so that the fields the
// measurement depends on cannot be overridden by it.
func requestBody(o StreamsOptions, i int) ([]byte, error) {
	body := map[string]any{}
	for k, v := range o.Extra {
		body[k] = v
	}
	if o.Prompts != nil {
		body["prompt"] = o.Prompts[i]
	} else {
		body["prompt"] = randomPrompt(o.Seed, i, o.PromptTokens, o.Vocab)
	}
	body["max_tokens"] = o.MaxTokens
	body["stream"] = o.Stream
	if o.Stream {
		body["stream_options"] = map[string]any{"include_usage": true}
	}
	if o.Model != "" {
		body["model"] = o.Model
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("bench: streams: request body: %w", err)
	}
	return b, nil
}

// randomPrompt returns prompt i of seed: n token ids drawn from [3, vocab),
// past the usual special tokens. The length is part of the seed, so that a
// shorter prompt is not the prefix of a longer one a server may have cached.
func randomPrompt(seed uint64, i, n, vocab int) []int {
	rng := rand.New(rand.NewPCG(seed, uint64(i)<<32|uint64(n)))
	prompt := make([]int, n)
	for j := range prompt {
		prompt[j] = 3 + rng.IntN(vocab-3)
	}
	return prompt
}

// complete sends one request and returns its usage.
func complete(ctx context.Context, client *http.Client, url string, body []byte, stream bool) (usage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return usage{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return usage{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return usage{}, fmt.Errorf("status %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	if !stream {
		var r struct{ Usage *usage }
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return usage{}, fmt.Errorf("decoding response: %w", err)
		}
		if r.Usage == nil {
			return usage{}, errors.New("response has no usage")
		}
		return *r.Usage, nil
	}
	return streamUsage(resp.Body)
}

// streamUsage reads server-sent events to the end and returns the usage
// one of them carried.
func streamUsage(r io.Reader) (usage, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var got *usage
	done := false
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			done = true
			break
		}
		var ev struct {
			Usage *usage
			Error json.RawMessage
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return usage{}, fmt.Errorf("decoding event %.80q: %w", data, err)
		}
		if len(ev.Error) > 0 && string(ev.Error) != "null" {
			return usage{}, fmt.Errorf("error event: %s", ev.Error)
		}
		if ev.Usage != nil {
			got = ev.Usage
		}
	}
	if err := sc.Err(); err != nil {
		return usage{}, fmt.Errorf("reading events: %w", err)
	}
	switch {
	case !done:
		return usage{}, errors.New("event stream ended without data: [DONE]")
	case got == nil:
		return usage{}, errors.New("event stream carried no usage")
	}
	return *got, nil
}
