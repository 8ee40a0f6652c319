package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/llmos/llmos/arena"
	"github.com/spf13/cobra"
)

var arenaCmd = &cobra.Command{
	Use:   "arena [-m FILE]…",
	Short: "Rank models by blind pairwise votes (Elo, Bradley–Terry)",
	Long: `arena ranks models the way LMSYS's Chatbot Arena does: people compare two
anonymous answers to one prompt and vote, and the votes become online Elo and
Bradley–Terry ratings with bootstrap 95% intervals.

  serve    the web page that collects votes (also what 'llmos arena -m …'
           runs): blind side-by-side answers, names shown after the vote,
           votes kept in SQLite, and a leaderboard page
  auto     battles between models on a prompt set, judged by a reward
           model or by a model asked to compare the answers
  ratings  the leaderboard from a battle log in FastChat's format`,
	Example: `  llmos arena -m a.gguf -m b.gguf --votes arena.db
  llmos arena auto --models a.gguf,b.gguf --prompts prompts.txt --judge reward.gguf
  llmos arena ratings --votes clean_battle.json
  llmos arena ratings --votes battles.jsonl --json`,
}

var arenaRatingsFlags struct {
	votes     string
	json      bool
	bootstrap int
	seed      uint64
	plot      string
	matrix    bool
}

var arenaRatingsCmd = &cobra.Command{
	Use:   "ratings --votes FILE",
	Short: "Compute the arena leaderboard from a battle log",
	Long: `ratings reads battles in FastChat's format — a JSON array or JSON Lines of
objects with model_a, model_b and winner ("model_a", "model_b", "tie" or
"tie (bothbad)"; other keys are ignored) — and prints, best first:

  rank     1 + the number of models whose 95% interval lies wholly above
           this one's (FastChat's rank; models that cannot be told apart
           share a rank)
  rating   Bradley–Terry maximum-likelihood rating on the Elo scale (400
           points = 10:1 odds, mean 1000), a tie counting as half a win
  95% CI   2.5% and 97.5% quantiles of the rating over bootstrap resamples
  elo      online Elo (K = 4, start 1000) over the battles in file order
  battles  battles the model fought, ties included

With --json it prints an array of objects with the keys model, rating,
ci_lower, ci_upper, elo and battles instead. --matrix adds the pairwise
win-rate matrix (share of non-tie battles the row model won).`,
	Example: `  llmos arena ratings --votes clean_battle.json
  llmos arena ratings --votes battles.jsonl --json --bootstrap 2000 --seed 7
  llmos arena ratings --votes battles.jsonl --plot ratings.svg --matrix`,
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		f := arenaRatingsFlags
		if f.votes == "" {
			return errors.New("arena ratings: --votes FILE is required")
		}
		if f.bootstrap < 1 {
			return fmt.Errorf("arena ratings: --bootstrap must be at least 1, got %d", f.bootstrap)
		}
		battles, err := arena.LoadBattles(f.votes)
		if err != nil {
			return err
		}
		lb, err := arena.ComputeLeaderboard(cmd.Context(), battles, &arena.Options{Bootstrap: f.bootstrap, Seed: f.seed})
		if err != nil {
			return err
		}
		if f.plot != "" {
			if err := lb.SavePlot(f.plot); err != nil {
				return err
			}
		}
		out := cmd.OutOrStdout()
		if f.json {
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			return enc.Encode(lb.Ratings)
		}
		if err := lb.WriteTable(out); err != nil {
			return err
		}
		if f.matrix {
			fmt.Fprintln(out, "\nwin rate of row over column (non-tie battles):")
			return lb.WriteWinRates(out)
		}
		return nil
	},
}

func init() {
	fl := arenaRatingsCmd.Flags()
	fl.StringVar(&arenaRatingsFlags.votes, "votes", "", "battle log: JSON array or JSON Lines in FastChat's format")
	fl.BoolVar(&arenaRatingsFlags.json, "json", false, "print a JSON array instead of a table")
	fl.IntVar(&arenaRatingsFlags.bootstrap, "bootstrap", arena.DefaultBootstrap, "bootstrap resamples for the 95% intervals")
	fl.Uint64Var(&arenaRatingsFlags.seed, "seed", 1, "seed for the bootstrap resamples")
	fl.StringVar(&arenaRatingsFlags.plot, "plot", "", "also draw ratings with intervals to this file (.png or .svg)")
	fl.BoolVar(&arenaRatingsFlags.matrix, "matrix", false, "also print the pairwise win-rate matrix")
	arenaCmd.AddCommand(arenaRatingsCmd)
	rootCmd.AddCommand(arenaCmd)
}
