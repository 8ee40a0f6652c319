package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/llmos/llmos/arena"
	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/label"
	"github.com/spf13/cobra"
)

func init() {
	var mf modelFlags
	var sf samplingFlags
	var promptsPath, rewardPath, sftPath, prefsPath, addr string
	var k int
	var terminal bool
	c := &cobra.Command{
		Use:   "label -m MODEL --prompts FILE [--reward RM.gguf] [--k 4] [--out-sft FILE] [--out-prefs FILE] [--addr HOST:PORT] [--terminal]",
		Short: "Label a model's answers by hand: pick, rank, edit or write; saves SFT and preference data",
		Long: `label shows, for each prompt of --prompts, k answers sampled from the model
(through its chat template), ranked best first by a reward model when
--reward names one (a GGUF llama trunk with reward_head.weight, as
'llmos reward' writes). A person then:

  picks the best answer,   ranks several (those left out rank below),
  edits one,               or writes their own.

Each decision is appended at once to two JSONL files:
  --out-sft    {"messages":[{"role":"user",…},{"role":"assistant",…}]}: the best answer
  --out-prefs  {"prompt","chosen","rejected"}: one line per (better, worse) pair the
               decision implies; an edited or written answer is chosen over every
               sampled one
Every decision is written with one write and an fsync per file, so a saved
label survives a crash; the files are only appended to. On a restart the
prompts already labelled are skipped (and a line cut short by a crash is
repaired), so labelling can stop and go on at any time.

By default the loop is a local web page (--addr; press a number key to pick
that answer). With --terminal it runs in the terminal instead: numbered
answers, then a command: N picks, "r 2 1 3" ranks, "e N" edits ($VISUAL or
$EDITOR, else typed inline and ended with a line holding "."), "w" writes,
"s" skips, "q" quits.

The prompt file holds one prompt per line, or JSONL with a "prompt" field.
Answers are sampled with the sampling flags; with --seed the answers to a
prompt are the same on every run.`,
		Example: `  llmos label -m sft.gguf --prompts prompts.txt
  llmos label -m sft.gguf --prompts prompts.jsonl --reward rm.gguf --k 6 --addr 127.0.0.1:8090
  llmos label -m sft.gguf --prompts prompts.txt --terminal --out-sft sft.jsonl --out-prefs prefs.jsonl
  llmos dpo --model sft.gguf --data prefs.jsonl -o dpo-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if promptsPath == "" {
				return errors.New("label: no prompts: pass --prompts FILE (one prompt per line, or JSONL with \"prompt\")")
			}
			if k < 1 {
				return fmt.Errorf("label: --k must be at least 1, got %d", k)
			}
			prompts, err := label.LoadPrompts(promptsPath)
			if err != nil {
				return err
			}
			if mf.path == "" { // labelling is for a model of one's own, not the built-in one
				return errors.New("label: no model given: pass -m FILE.gguf")
			}
			e, err := mf.open()
			if err != nil {
				return err
			}
			defer e.Close()
			gen, err := label.NewEngineGenerator(e, sf.request(nil))
			if err != nil {
				return err
			}
			opts := &label.Options{K: k}
			if rewardPath != "" {
				re, err := engine.Open(rewardPath, engine.Options{Threads: mf.threads, Context: mf.ctx})
				if err != nil {
					return fmt.Errorf("label: reward model: %w", err)
				}
				defer re.Close()
				rm, err := arena.NewRewardModel(re)
				if err != nil {
					return err
				}
				opts.Scorer = rm
			}
			store, err := label.OpenStore(sftPath, prefsPath)
			if err != nil {
				return err
			}
			defer store.Close()
			for _, r := range store.Repaired {
				fmt.Fprintln(cmd.ErrOrStderr(), "label: repaired", r)
			}
			l, err := label.New(prompts, gen, store, opts)
			if err != nil {
				return err
			}
			defer l.Close()
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if !terminal {
				// A terminal session may just die on Ctrl-C: its labels
				// are on disk. The server stops cleanly.
				var stop context.CancelFunc
				ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
				defer stop()
			}
			done, total := l.Progress()
			if terminal {
				fmt.Fprintf(cmd.OutOrStdout(), "label: %d of %d prompts already labelled; saving to %s and %s\n", done, total, sftPath, prefsPath)
				t := label.Terminal{In: cmd.InOrStdin(), Out: cmd.OutOrStdout()}
				for _, v := range []string{"VISUAL", "EDITOR"} {
					if ed := os.Getenv(v); ed != "" && t.Edit == nil {
						t.Edit = label.EditWith(ed)
					}
				}
				return t.Run(ctx, l)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("label: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "label: %d of %d prompts already labelled; saving to %s and %s\nlabel: open http://%s/ (Ctrl-C to stop; every saved label is kept)\n",
				done, total, sftPath, prefsPath, ln.Addr())
			srv := &http.Server{Handler: label.NewServer(l), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-ctx.Done()
				srv.Close()
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("label: %w", err)
			}
			return nil
		},
	}
	mf.register(c)
	sf.register(c, 256)
	fl := c.Flags()
	fl.StringVar(&promptsPath, "prompts", "", "prompt file: one prompt per line, or JSONL with \"prompt\"")
	fl.StringVar(&rewardPath, "reward", "", "reward model (GGUF with reward_head.weight) that ranks the answers")
	fl.IntVar(&k, "k", 4, "answers sampled per prompt (identical ones are shown once)")
	fl.StringVar(&sftPath, "out-sft", "sft.jsonl", "SFT file the best answers are appended to")
	fl.StringVar(&prefsPath, "out-prefs", "prefs.jsonl", "preference file the (chosen, rejected) pairs are appended to")
	fl.StringVar(&addr, "addr", "127.0.0.1:8090", "address the web page listens on")
	fl.BoolVar(&terminal, "terminal", false, "label in the terminal instead of a web page")
	rootCmd.AddCommand(c)
}
