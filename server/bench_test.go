package server

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmos/llmos/engine"
	"github.com/openai/openai-go/v3"
)

// BenchmarkStreams measures aggregate generated tokens per second over
// HTTP with 1, 4, 8 and 16 concurrent streaming clients, each asking for
// 64 tokens. LLMOS_BENCH_MODEL names the fixture model (default the 32k
// SentencePiece one).
func BenchmarkStreams(b *testing.B) {
	name := os.Getenv("LLMOS_BENCH_MODEL")
	if name == "" {
		name = "llama2-spm32k-tied.q8_0.gguf"
	}
	ts, _ := newModelServer(b, Options{Scheduler: engine.SchedulerOptions{Parallel: 16}}, name)
	c := client(ts.URL)
	model := ModelName(name)
	for _, streams := range []int{1, 4, 8, 16} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			var tokens atomic.Int64
			began := time.Now()
			for range b.N {
				var wg sync.WaitGroup
				for i := range streams {
					wg.Add(1)
					go func() {
						defer wg.Done()
						stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
							Model:         model,
							Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage(fmt.Sprintf("Story %d", i))},
							MaxTokens:     openai.Int(64),
							Seed:          openai.Int(int64(i)),
							StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
						})
						for stream.Next() {
							if u := stream.Current().Usage; u.CompletionTokens > 0 {
								tokens.Add(u.CompletionTokens)
							}
						}
						if err := stream.Err(); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(tokens.Load())/time.Since(began).Seconds(), "tokens/s")
		})
	}
}
