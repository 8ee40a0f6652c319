package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmos/llmos/sample"
)

var schedPrompts = []string{
	"Once upon a time",
	"Lily and Tom went to the park to play with their big red ball. They",
	"The cat",
	"One day, a little girl named Sue found a shiny stone in the garden. She picked it up and",
	"Once upon a time, there was a dog",
}

// sessionResult is the single-sequence reference for prompt.
func sessionResult(t *testing.T, e *Engine, prompt []int32, maxTokens int) Result {
	t.Helper()
	s, err := e.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Generate(context.Background(), Request{Prompt: prompt, MaxTokens: maxTokens, IgnoreEOS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func newScheduler(t *testing.T, e *Engine, opts SchedulerOptions) *Scheduler {
	t.Helper()
	s, err := e.NewScheduler(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestSchedulerMatchesSession runs several greedy generations at once, with
// more requests than slots and prompts of different lengths, and expects
// each to equal the single-sequence result token for token. A small batch
// size makes prompt chunks share steps with other sequences' decoding.
func TestSchedulerMatchesSession(t *testing.T) {
	e := openFixture(t)
	const maxTokens = 12
	var prompts [][]int32
	var want []Result
	for _, p := range schedPrompts {
		ids := e.Tokenizer.Encode(p, true, false)
		prompts = append(prompts, ids)
		want = append(want, sessionResult(t, e, ids, maxTokens))
	}
	for _, tc := range []struct{ parallel, batch int }{{3, 512}, {2, 5}, {5, 3}} {
		t.Run(fmt.Sprintf("parallel=%d,batch=%d", tc.parallel, tc.batch), func(t *testing.T) {
			s := newScheduler(t, e, SchedulerOptions{Parallel: tc.parallel, BatchSize: tc.batch})
			var wg sync.WaitGroup
			got := make([]Result, len(prompts))
			errs := make([]error, len(prompts))
			for i, ids := range prompts {
				st, err := s.Submit(context.Background(), Job{Request: Request{Prompt: ids, MaxTokens: maxTokens, IgnoreEOS: true}})
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					got[i], _, errs[i] = st.Wait(context.Background())
				}()
			}
			wg.Wait()
			for i := range prompts {
				if errs[i] != nil {
					t.Fatalf("prompt %d: %v", i, errs[i])
				}
				if !slices.Equal(got[i].Tokens, want[i].Tokens) || got[i].Text != want[i].Text || got[i].StopReason != "length" {
					t.Errorf("prompt %d: batched %v %q (%s), single %v %q", i, got[i].Tokens, got[i].Text, got[i].StopReason, want[i].Tokens, want[i].Text)
				}
			}
			if st := s.Stats(); st.Active != 0 || st.Queued != 0 || st.GeneratedTokens != uint64(len(prompts)*maxTokens) {
				t.Errorf("stats after the run: %+v", st)
			}
		})
	}
}

// TestSchedulerPrefixReuse checks that a prompt extending a cached one (in
// an idle slot, or in another slot still decoding) reuses its KV cache and
// still generates exactly what a fresh session does.
func TestSchedulerPrefixReuse(t *testing.T) {
	e := openFixture(t)
	base := e.Tokenizer.Encode(schedPrompts[1], true, false)
	longer := e.Tokenizer.Encode(schedPrompts[1]+" ran home", true, false)
	if commonPrefix(base, longer) < len(base)-1 {
		t.Fatalf("prompts share only %d tokens", commonPrefix(base, longer))
	}
	want := sessionResult(t, e, longer, 8)
	s := newScheduler(t, e, SchedulerOptions{Parallel: 2})
	first, err := s.Submit(context.Background(), Job{Request: Request{Prompt: base, MaxTokens: 40, IgnoreEOS: true}})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := first.Next(context.Background()); err != nil || ev.Done {
		t.Fatalf("first event %+v, %v", ev, err)
	}
	// The first job is decoding in slot 0; the second must copy its prefix.
	second, err := s.Submit(context.Background(), Job{Request: Request{Prompt: longer, MaxTokens: 8, IgnoreEOS: true}})
	if err != nil {
		t.Fatal(err)
	}
	res, done, err := second.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	shared := commonPrefix(base, longer)
	if done.CachedTokens != shared || !slices.Equal(res.Tokens, want.Tokens) {
		t.Errorf("copied prefix: cached %d (want %d), tokens %v, want %v", done.CachedTokens, shared, res.Tokens, want.Tokens)
	}
	if _, _, err := first.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Now both slots are idle; the same prompt again reuses all but its
	// last token.
	again, err := s.Submit(context.Background(), Job{Request: Request{Prompt: longer, MaxTokens: 8, IgnoreEOS: true}})
	if err != nil {
		t.Fatal(err)
	}
	res, done, err = again.Wait(context.Background())
	if err != nil || done.CachedTokens != len(longer)-1 || !slices.Equal(res.Tokens, want.Tokens) {
		t.Errorf("idle slot: err %v, cached %d of %d, tokens %v, want %v", err, done.CachedTokens, len(longer), res.Tokens, want.Tokens)
	}
}

// TestSchedulerCancel cancels a generation from its third token: it must
// stop at the next step, and a queued job whose context ends never starts.
func TestSchedulerCancel(t *testing.T) {
	e := openFixture(t)
	s := newScheduler(t, e, SchedulerOptions{Parallel: 1})
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	prompt := e.Tokenizer.Encode("Once upon a time", true, false)
	st, err := s.Submit(ctx, Job{Request: Request{Prompt: prompt, IgnoreEOS: true, OnToken: func(int32) {
		if n++; n == 3 {
			cancel()
		}
	}}})
	if err != nil {
		t.Fatal(err)
	}
	qctx, qcancel := context.WithCancel(context.Background())
	queued, err := s.Submit(qctx, Job{Request: Request{Prompt: prompt, MaxTokens: 4}})
	if err != nil {
		t.Fatal(err)
	}
	qcancel()
	res, done, err := st.Wait(context.Background())
	if err != nil || res.StopReason != "cancelled" || len(res.Tokens) != 3 || done.Completion != 3 {
		t.Errorf("cancelled run: %v, %s after %d tokens", err, res.StopReason, len(res.Tokens))
	}
	res, _, err = queued.Wait(context.Background())
	if err != nil || res.StopReason != "cancelled" || len(res.Tokens) != 0 {
		t.Errorf("cancelled while queued: %v, %s, %d tokens", err, res.StopReason, len(res.Tokens))
	}
}

func TestSchedulerQueueFull(t *testing.T) {
	e := openFixture(t)
	s := newScheduler(t, e, SchedulerOptions{Parallel: 1, Queue: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prompt := e.Tokenizer.Encode("Once upon a time", true, false)
	job := Job{Request: Request{Prompt: prompt, IgnoreEOS: true}}
	running, err := s.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := running.Next(ctx); err != nil { // admitted: the queue is empty again
		t.Fatal(err)
	}
	if _, err := s.Submit(ctx, job); err != nil {
		t.Fatalf("one waiting job must fit: %v", err)
	}
	if _, err := s.Submit(ctx, job); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third job: err = %v, want ErrQueueFull", err)
	}
	if st := s.Stats(); st.Active != 1 || st.Queued != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSchedulerRejects(t *testing.T) {
	e := openFixture(t)
	s := newScheduler(t, e, SchedulerOptions{Parallel: 1})
	ctxLen := s.Context()
	for _, tc := range []struct {
		name string
		job  Job
		want error
	}{
		{"prompt fills the context", Job{Request: Request{Prompt: make([]int32, ctxLen)}}, ErrContext},
		{"prompt past the context", Job{Request: Request{Prompt: make([]int32, ctxLen+5)}}, ErrContext},
		{"max_tokens past the context", Job{Request: Request{Prompt: []int32{1, 2}, MaxTokens: ctxLen - 1}}, ErrMaxTokens},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Submit(context.Background(), tc.job); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	for _, job := range []Job{
		{Request: Request{}},
		{Request: Request{Prompt: []int32{1, 1 << 30}}},
		{Request: Request{Prompt: []int32{1}}, TopLogprobs: -1},
		{Request: Request{Prompt: []int32{1}, Sampling: sample.Params{TopP: -1}}},
	} {
		if _, err := s.Submit(context.Background(), job); err == nil {
			t.Errorf("job %+v accepted", job)
		}
	}
}

// TestSchedulerLogprobs checks that reported log-probabilities are those of
// the sampled token and that the top list is sorted and holds it (greedy).
func TestSchedulerLogprobs(t *testing.T) {
	e := openFixture(t)
	s := newScheduler(t, e, SchedulerOptions{Parallel: 2})
	prompt := e.Tokenizer.Encode("The cat", true, false)
	st, err := s.Submit(context.Background(), Job{Request: Request{Prompt: prompt, MaxTokens: 5, IgnoreEOS: true}, Logprobs: true, TopLogprobs: 3})
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := st.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ev.Done {
			break
		}
		if len(ev.Top) != 3 || ev.Top[0].ID != ev.Token || ev.Top[0].Logprob != ev.Logprob.Logprob || ev.Logprob.Logprob > 0 {
			t.Fatalf("token %d logprob %+v top %+v", ev.Token, ev.Logprob, ev.Top)
		}
	}
}

func TestSchedulerEmbed(t *testing.T) {
	e := openFixture(t)
	s := newScheduler(t, e, SchedulerOptions{Parallel: 1, BatchSize: 4})
	ctx := context.Background()
	a1, err := s.Embed(ctx, e.Tokenizer.Encode("The cat sat on the mat", true, false))
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := s.Embed(ctx, e.Tokenizer.Encode("The cat sat on the mat", true, false))
	b, _ := s.Embed(ctx, e.Tokenizer.Encode("A dog ran", true, false))
	norm, diff := 0.0, 0.0
	for i := range a1 {
		norm += float64(a1[i]) * float64(a1[i])
		diff += math.Abs(float64(a1[i] - b[i]))
		if a1[i] != a2[i] {
			t.Fatalf("same input, different embeddings at %d", i)
		}
	}
	if math.Abs(norm-1) > 1e-5 || diff < 1e-3 || len(a1) != e.Model.Config.Dim {
		t.Errorf("norm² %v, distance to another text %v, dim %d", norm, diff, len(a1))
	}
	if _, err := s.Embed(ctx, nil); err == nil {
		t.Error("empty input accepted")
	}
}

func TestSchedulerClose(t *testing.T) {
	e := openFixture(t)
	s, err := e.NewScheduler(SchedulerOptions{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	prompt := e.Tokenizer.Encode("Once", true, false)
	st, err := s.Submit(context.Background(), Job{Request: Request{Prompt: prompt, IgnoreEOS: true}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := st.Wait(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("unfinished job after Close: %v", err)
	}
	if _, err := s.Submit(ctx, Job{Request: Request{Prompt: prompt}}); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "closed") {
		t.Errorf("submit after Close: %v", err)
	}
}

// BenchmarkSchedulerStep measures one decode step of 4 sequences.
func BenchmarkSchedulerStep(b *testing.B) {
	e := openFixture(b)
	s, err := e.NewScheduler(SchedulerOptions{Parallel: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	prompt := e.Tokenizer.Encode("Once upon a time", true, false)
	b.ResetTimer()
	for i := 0; i < b.N; i += 4 * 32 {
		var wg sync.WaitGroup
		for range 4 {
			st, err := s.Submit(context.Background(), Job{Request: Request{Prompt: prompt, MaxTokens: 32, IgnoreEOS: true}})
			if err != nil {
				b.Fatal(err)
			}
			wg.Add(1)
			go func() { defer wg.Done(); st.Wait(context.Background()) }()
		}
		wg.Wait()
	}
}
