package main

import (
	"errors"
	"fmt"

	"github.com/llmos/llmos/arena"
	"github.com/llmos/llmos/engine"
	"github.com/spf13/cobra"
)

func init() {
	var models arenaModels
	var prompts, judgePath, votes string
	var rounds, bootstrap int
	var seed uint64
	var margin float64
	var quiet bool
	c := &cobra.Command{
		Use:   "auto --models A.gguf,B.gguf[,…] --prompts FILE --judge J.gguf [--rounds N] [--votes DB]",
		Short: "Battles between models on a prompt set, decided by a judge model",
		Long: `auto plays arena battles without people. In each round every model answers
every prompt once (through its chat template, sampled with the sampling flags),
and every pair of models is judged on every prompt, which of the two is shown
as A drawn at random. The verdicts are stored as votes in the same SQLite file
as the web arena's (--votes), so they join its leaderboard, which auto prints
at the end. As in the web arena, a vote whose answer names its own model is
kept but does not count.

The judge (--judge) is a GGUF model of one of two kinds:

  reward model   a llama trunk with a scalar head, reward_head.weight [1, dim]:
                 each answer's reward is the head applied to the final-normed
                 hidden state of the last token of the conversation (prompt
                 as the user's turn, answer as the assistant's, rendered
                 with the judge's chat template); the higher reward wins,
                 rewards within --margin tie
  language model given a judging prompt with both answers, labelled A and
                 B, and read for whether "A" or "B" is the likelier first
                 token of its reply; it is asked twice, with the answers
                 swapped, and a verdict that follows the position rather
                 than the answer counts as a tie

Prompts (--prompts) are one per line of a text file, or, in a .jsonl file,
objects with a "prompt" key (for prompts of several lines).`,
		Example: `  llmos arena auto --models a.gguf,b.gguf,c.gguf --prompts prompts.txt --judge reward.gguf
  llmos arena auto --models a.gguf,b.gguf --prompts prompts.jsonl --judge big-instruct.gguf --rounds 3 --temp 0.7`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if prompts == "" || judgePath == "" {
				return errors.New("arena auto: --prompts FILE and --judge MODEL.gguf are required")
			}
			if rounds < 1 {
				return fmt.Errorf("arena auto: --rounds must be at least 1, got %d", rounds)
			}
			ps, err := arena.LoadPrompts(prompts)
			if err != nil {
				return err
			}
			cs, es, err := models.open()
			if err != nil {
				return err
			}
			defer closeEngines(es)
			je, err := engine.Open(judgePath, engine.Options{Threads: models.threads, Context: models.ctx})
			if err != nil {
				return err
			}
			defer je.Close()
			var judge arena.Judge
			kind := "reward model"
			if arena.HasRewardHead(je) {
				rm, err := arena.NewRewardModel(je)
				if err != nil {
					return err
				}
				judge = arena.RewardJudge{Model: rm, Margin: margin}
			} else {
				kind = "language model, answers swapped"
				cmp, err := arena.NewModelComparer(je)
				if err != nil {
					return err
				}
				judge = arena.SwapJudge{Comparer: cmp}
			}
			store, err := arena.OpenStore(votes)
			if err != nil {
				return err
			}
			defer store.Close()
			errOut := cmd.ErrOrStderr()
			fmt.Fprintf(errOut, "judge: %s (%s)\n", arena.ModelName(judgePath), kind)
			opts := &arena.AutoOptions{Rounds: rounds, Seed: seed}
			if !quiet {
				opts.Progress = func(done, total int, v arena.Vote) {
					void := ""
					if v.Voided {
						void = " (void: an answer names its model)"
					}
					fmt.Fprintf(errOut, "[%d/%d] %s vs %s: %s%s\n", done, total, v.ModelA, v.ModelB, v.Winner, void)
				}
			}
			if _, err := arena.PlayAuto(cmd.Context(), cs, ps, judge, store, opts); err != nil {
				return err
			}
			battles, err := store.Battles(cmd.Context())
			if err != nil {
				return err
			}
			if len(battles) == 0 {
				return errors.New("arena auto: every vote was voided; no leaderboard")
			}
			lb, err := arena.ComputeLeaderboard(cmd.Context(), battles, &arena.Options{Bootstrap: bootstrap, Seed: 1})
			if err != nil {
				return err
			}
			return lb.WriteTable(cmd.OutOrStdout())
		},
	}
	models.register(c, "models", "GGUF model files, comma-separated (at least two)")
	fl := c.Flags()
	fl.StringVar(&prompts, "prompts", "", "prompt set: one prompt per line, or .jsonl with a \"prompt\" key")
	fl.StringVar(&judgePath, "judge", "", "judge: a reward model (reward_head.weight) or a language model GGUF")
	fl.IntVar(&rounds, "rounds", 1, "passes over the prompt set")
	fl.Uint64Var(&seed, "battle-seed", 1, "seed for which model of a pair is shown as A")
	fl.Float64Var(&margin, "margin", 0, "reward judge: rewards closer than this tie")
	fl.StringVar(&votes, "votes", "arena.db", "SQLite file of the votes (created if absent; shared with llmos arena serve)")
	fl.IntVar(&bootstrap, "bootstrap", arena.DefaultBootstrap, "bootstrap resamples for the leaderboard's intervals")
	fl.BoolVarP(&quiet, "quiet", "q", false, "no line per battle on stderr")
	arenaCmd.AddCommand(c)
}
