package server

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmos/llmos/engine"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// client is OpenAI's Go SDK pointed at a test server.
func client(url string, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(url + "/v1/"), option.WithAPIKey("sk-test"), option.WithMaxRetries(0),
	}, opts...)...)
}

var smallModelName = ModelName(smallModel)

// TestOpenAIClientStream streams a chat answer through the SDK's
// accumulator: the text, the finish reason and the usage chunk arrive.
func TestOpenAIClientStream(t *testing.T) {
	ts, _ := newTestServer(t, Options{APIKey: "sk-test"})
	c := client(ts.URL)
	ctx := context.Background()
	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:         smallModelName,
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Tell me a story")},
		MaxTokens:     openai.Int(16),
		Temperature:   openai.Float(0),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	whole, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:       smallModelName,
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Tell me a story")},
		MaxTokens:   openai.Int(16),
		Temperature: openai.Float(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := acc.Choices[0]
	if got.Message.Content == "" || got.Message.Content != whole.Choices[0].Message.Content || got.FinishReason != "length" {
		t.Errorf("streamed %q (%s) in %d chunks, whole answer %q", got.Message.Content, got.FinishReason, chunks, whole.Choices[0].Message.Content)
	}
	if acc.Usage.CompletionTokens != 16 || acc.Usage.PromptTokens == 0 {
		t.Errorf("usage %+v", acc.Usage)
	}
	// A wrong key is refused in OpenAI's shape, which the SDK reads.
	bad := client(ts.URL, option.WithAPIKey("wrong"))
	_, err = bad.Models.List(ctx)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" {
		t.Errorf("wrong key: %v", err)
	}
}

// TestOpenAIClientTools asks for a named function: the answer is a tool
// call whose arguments follow the function's parameters.
func TestOpenAIClientTools(t *testing.T) {
	ts, _ := newTestServer(t, Options{})
	c := client(ts.URL)
	tool := openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:        "get_weather",
		Description: openai.String("Weather in a city"),
		Parameters: shared.FunctionParameters{
			"type":                 "object",
			"properties":           map[string]any{"city": map[string]any{"type": "string"}, "days": map[string]any{"type": "integer"}},
			"required":             []string{"city", "days"},
			"additionalProperties": false,
		},
	})
	for _, seed := range []int64{1, 2, 3} {
		resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model:       smallModelName,
			Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")},
			Tools:       []openai.ChatCompletionToolUnionParam{tool},
			ToolChoice:  openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "get_weather"}),
			MaxTokens:   openai.Int(60),
			Temperature: openai.Float(1),
			Seed:        openai.Int(seed),
		})
		if err != nil {
			t.Fatalf("%v: %s", err, err.(*openai.Error).RawJSON())
		}
		ch := resp.Choices[0]
		if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 {
			t.Fatalf("seed %d: finish %q, message %+v", seed, ch.FinishReason, ch.Message)
		}
		call := ch.Message.ToolCalls[0]
		var args struct {
			City *string `json:"city"`
			Days *int    `json:"days"`
		}
		dec := json.NewDecoder(strings.NewReader(call.Function.Arguments))
		dec.DisallowUnknownFields()
		if call.Function.Name != "get_weather" || call.ID == "" || dec.Decode(&args) != nil || args.City == nil || args.Days == nil {
			t.Errorf("seed %d: call %+v", seed, call)
		}
	}
}

// TestOpenAIClientJSONSchema asks for structured output: every answer
// parses into the schema's shape.
func TestOpenAIClientJSONSchema(t *testing.T) {
	ts, _ := newTestServer(t, Options{})
	c := client(ts.URL)
	schema := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"title":  map[string]any{"type": "string"},
			"rating": map[string]any{"type": "integer"},
			"genre":  map[string]any{"enum": []string{"fable", "mystery"}},
			"tags":   map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "maxItems": 2},
		},
		"required":             []string{"title", "rating", "genre", "tags"},
		"additionalProperties": false,
	}
	for _, seed := range []int64{1, 2, 3} {
		resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model:    smallModelName,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Describe a story as JSON")},
			ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "story", Schema: schema, Strict: openai.Bool(true)},
			}},
			MaxTokens:   openai.Int(64),
			Temperature: openai.Float(1),
			Seed:        openai.Int(seed),
		})
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Title  *string   `json:"title"`
			Rating *int      `json:"rating"`
			Genre  string    `json:"genre"`
			Tags   *[]string `json:"tags"`
		}
		text := resp.Choices[0].Message.Content
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil || got.Title == nil || got.Rating == nil || got.Tags == nil || len(*got.Tags) > 2 || (got.Genre != "fable" && got.Genre != "mystery") {
			t.Errorf("seed %d: %q does not fit the schema (%v)", seed, text, err)
		}
	}
}

func TestOpenAIClientEmbeddings(t *testing.T) {
	ts, srv := newTestServer(t, Options{})
	c := client(ts.URL)
	resp, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: smallModelName,
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"The cat", "The dog"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	dim := srv.models[smallModelName].e.Model.Config.Dim
	if len(resp.Data) != 2 || len(resp.Data[1].Embedding) != dim || resp.Usage.PromptTokens == 0 {
		t.Errorf("embeddings: %d vectors of %d, usage %+v", len(resp.Data), len(resp.Data[0].Embedding), resp.Usage)
	}
}

// TestLoad runs two rounds of 32 concurrent streaming clients on loopback:
// all must finish without error, and the heap in use after the second
// round must not have grown past the first's.
func TestLoad(t *testing.T) {
	ts, srv := newTestServer(t, Options{Scheduler: engine.SchedulerOptions{Parallel: 8, Queue: 64}})
	c := client(ts.URL)
	round := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
					Model:     smallModelName,
					Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Story number " + string(rune('A'+i)))},
					MaxTokens: openai.Int(6),
					Seed:      openai.Int(int64(i)),
				})
				var acc openai.ChatCompletionAccumulator
				for stream.Next() {
					acc.AddChunk(stream.Current())
				}
				if err := stream.Err(); err != nil {
					errs <- err
					return
				}
				if len(acc.Choices) != 1 || acc.Choices[0].FinishReason == "" {
					errs <- errors.New("stream ended without a finish reason")
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	round()
	first := heap()
	round()
	second := heap()
	t.Logf("heap in use after round 1: %.1f MiB, after round 2: %.1f MiB", float64(first)/(1<<20), float64(second)/(1<<20))
	if second > first+first/4+1<<20 {
		t.Errorf("heap grew from %d to %d bytes between identical rounds", first, second)
	}
	if st := srv.models[smallModelName].sched.Stats(); st.Active != 0 || st.Queued != 0 || st.GeneratedTokens == 0 {
		t.Errorf("scheduler after the load: %+v", st)
	}
}

// TestOpenAIClientToolsStream streams a required call among two tools
// through the SDK's accumulator.
func TestOpenAIClientToolsStream(t *testing.T) {
	ts, _ := newTestServer(t, Options{})
	c := client(ts.URL)
	tools := []openai.ChatCompletionToolUnionParam{
		openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "add", Parameters: shared.FunctionParameters{"type": "object"}}),
		openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "mul", Parameters: shared.FunctionParameters{"type": "object"}}),
	}
	stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:       smallModelName,
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("2+3?")},
		Tools:       tools,
		ToolChoice:  openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")},
		MaxTokens:   openai.Int(40),
		Temperature: openai.Float(1),
		Seed:        openai.Int(5),
	})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	ch := acc.Choices[0]
	if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 {
		t.Fatalf("finish %q, message %+v", ch.FinishReason, ch.Message)
	}
	call := ch.Message.ToolCalls[0].Function
	if (call.Name != "add" && call.Name != "mul") || !json.Valid([]byte(call.Arguments)) || !strings.HasPrefix(call.Arguments, "{") {
		t.Errorf("call %+v", call)
	}
}
