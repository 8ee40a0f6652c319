package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/llmos/llmos/defaultmodel"
	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/server"
	"github.com/spf13/cobra"
)

func init() {
	var (
		paths    []string
		addr     string
		parallel int
		queue    int
		ctxLen   int
		threads  int
		apiKey   string
	)
	c := &cobra.Command{
		Use:   "serve [-m FILE]… [flags]",
		Short: "Serve models over an OpenAI-compatible HTTP API with a web chat",
		Long: `serve loads one or more GGUF models and answers OpenAI-style requests:

  GET  /v1/models             the models served (each named by its file's base name)
  POST /v1/chat/completions   chat, streamed (server-sent events) or not; tools,
                              response_format json_object / json_schema
  POST /v1/completions        plain text completion
  POST /v1/embeddings         mean-pooled final hidden states, unit length
  GET  /health                liveness
  GET  /metrics               Prometheus metrics
  GET  /                      a web chat

Both completion endpoints also take llama.cpp's "ignore_eos": true, which
keeps generating past the end of the answer up to max_tokens (for load
tests).

Requests to one model are batched together (continuous batching over
--parallel sequences); a prompt reuses the KV cache of a prefix it shares
with an earlier one. Past --queue waiting requests the server answers 503
with Retry-After. With --api-key, /v1/ and /metrics need
"Authorization: Bearer KEY".`,
		Example: `  llmos serve -m tinyllama-chat.Q4_K_M.gguf
  llmos serve -m a.gguf -m b.gguf --addr 0.0.0.0:8080 --parallel 8 --api-key secret
  curl localhost:8080/v1/chat/completions -d '{"messages":[{"role":"user","content":"Hi"}]}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if apiKey == "" {
				apiKey = os.Getenv("LLMOS_API_KEY")
			}
			opts := engine.Options{Threads: threads, Context: ctxLen}
			var models []server.Model
			var err error
			if len(paths) == 0 {
				f, err := defaultmodel.Open()
				if err != nil {
					return err
				}
				e, err := engine.New(f, opts)
				if err != nil {
					return err
				}
				models = []server.Model{{Name: defaultmodel.Name, Engine: e}}
			} else if models, err = server.Open(paths, opts); err != nil {
				return err
			}
			defer func() {
				for _, m := range models {
					m.Engine.Close()
				}
			}()
			srv, err := server.New(models, server.Options{
				APIKey:    apiKey,
				Scheduler: engine.SchedulerOptions{Parallel: parallel, Queue: queue},
			})
			if err != nil {
				return err
			}
			defer srv.Close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			for _, m := range models {
				slog.Info("serving", "model", m.Name, "context", m.Engine.Context)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "listening on http://%s\n", ln.Addr())
			hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				hs.Shutdown(shutdown)
			}()
			if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringArrayVarP(&paths, "model", "m", nil, "GGUF model file (repeatable; default: the built-in assistant)")
	fl.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	fl.IntVar(&parallel, "parallel", 4, "sequences generated at once per model")
	fl.IntVar(&queue, "queue", 0, "requests that may wait for a free sequence (0: 8 per sequence)")
	fl.IntVarP(&ctxLen, "ctx", "c", 0, "context length per sequence (0: the model's, at most 4096)")
	fl.IntVarP(&threads, "threads", "t", 0, "compute threads (0: one per core)")
	fl.StringVar(&apiKey, "api-key", "", "require this bearer token (default $LLMOS_API_KEY)")
	rootCmd.AddCommand(c)
}
