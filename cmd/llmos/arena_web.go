package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/llmos/llmos/arena"
	"github.com/llmos/llmos/engine"
	"github.com/spf13/cobra"
)

// arenaModels are the flags of the arena commands that load several models.
type arenaModels struct {
	paths   []string
	threads int
	ctx     int
	sf      samplingFlags
}

func (a *arenaModels) register(c *cobra.Command, flag, usage string) {
	fl := c.Flags()
	if flag == "model" {
		fl.StringArrayVarP(&a.paths, "model", "m", nil, usage)
	} else {
		fl.StringSliceVar(&a.paths, flag, nil, usage)
	}
	fl.IntVarP(&a.threads, "threads", "t", 0, "compute threads per model (0: one per core)")
	fl.IntVarP(&a.ctx, "ctx-size", "c", 2048, "context length per model in tokens (0: the model's, at most 4096)")
	a.sf.register(c, 256)
}

// open loads every model as a contestant named after its file; the engines
// are returned for closing.
func (a *arenaModels) open() ([]arena.Contestant, []*engine.Engine, error) {
	if len(a.paths) < 2 {
		return nil, nil, fmt.Errorf("arena: give at least two models (got %d)", len(a.paths))
	}
	var cs []arena.Contestant
	var es []*engine.Engine
	for _, p := range a.paths {
		e, err := engine.Open(p, engine.Options{Threads: a.threads, Context: a.ctx})
		if err != nil {
			closeEngines(es)
			return nil, nil, err
		}
		es = append(es, e)
		req := a.sf.request(nil)
		if a.sf.seed < 0 {
			req.Sampling.Seed = 0 // a fresh seed per answer
		}
		c, err := arena.NewEngineContestant(arena.ModelName(p), e, req)
		if err != nil {
			closeEngines(es)
			return nil, nil, err
		}
		cs = append(cs, c)
	}
	return cs, es, nil
}

func closeEngines(es []*engine.Engine) {
	for _, e := range es {
		e.Close()
	}
}

func init() {
	var models arenaModels
	var votes, addr string
	var bootstrap int
	serve := func(cmd *cobra.Command, _ []string) error {
		cs, es, err := models.open()
		if err != nil {
			return err
		}
		defer closeEngines(es)
		store, err := arena.OpenStore(votes)
		if err != nil {
			return err
		}
		defer store.Close()
		s, err := arena.NewServer(store, cs, &arena.ServerOptions{Bootstrap: bootstrap})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("arena: %w", err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "arena: %d models, votes in %s, serving http://%s/ (leaderboard at /leaderboard)\n", len(cs), votes, ln.Addr())
		srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		go func() {
			<-ctx.Done()
			srv.Close()
		}()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("arena: %w", err)
		}
		return nil
	}
	c := &cobra.Command{
		Use:   "serve -m FILE -m FILE [-m FILE]… [--votes DB] [--addr HOST:PORT]",
		Short: "Serve the arena web page: blind side-by-side answers, votes, leaderboard",
		Long: `serve starts the arena's web page. A visitor types a prompt; two of the
models, drawn at random, answer it side by side (streamed as they generate,
through each model's chat template), labelled only "Model A" and "Model B".
The visitor votes: A is better, B is better, tie, or both are bad. Only then
are the names shown.

Votes are kept in a SQLite file (--votes) and survive restarts. A vote in
which an answer names its own model (e.g. "I am Llama") is kept but voided:
it does not count. /leaderboard shows Bradley–Terry ratings with 95%
bootstrap intervals, online Elo (K = 4), battle counts, the win-rate matrix
and a plot; 'llmos arena ratings' reads the same battles.

Each model is named after its file (without .gguf) and answers one prompt at
a time; answers are sampled with the sampling flags (a fresh seed each answer
unless --seed is given). 'llmos arena -m … -m …' is the same as
'llmos arena serve -m … -m …'.`,
		Example: `  llmos arena serve -m llama-3.2-1b.Q8_0.gguf -m qwen2.5-0.5b.Q8_0.gguf
  llmos arena -m a.gguf -m b.gguf -m c.gguf --votes arena.db --addr :8080 --temp 0.7`,
		Args: cobra.NoArgs,
		RunE: serve,
	}
	for _, cmd := range []*cobra.Command{c, arenaCmd} {
		models.register(cmd, "model", "GGUF model file (repeat: at least two)")
		cmd.Flags().StringVar(&votes, "votes", "arena.db", "SQLite file of the votes (created if absent)")
		cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
		cmd.Flags().IntVar(&bootstrap, "bootstrap", arena.DefaultBootstrap, "bootstrap resamples for the leaderboard's intervals")
	}
	arenaCmd.Args = cobra.NoArgs
	arenaCmd.RunE = serve
	arenaCmd.AddCommand(c)
}
