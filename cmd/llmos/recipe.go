package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/llmos/llmos/recipe"
)

func init() {
	c := &cobra.Command{
		Use:   "recipe",
		Short: "Rebuild models from scratch with llmos's own recipes",
		Long: `recipe groups the end-to-end recipes: each runs every stage from raw text to
a finished, evaluated model.`,
	}
	c.AddCommand(recipeDefaultCmd())
	rootCmd.AddCommand(c)
}

func recipeDefaultCmd() *cobra.Command {
	var opts recipe.Options
	var scale string
	c := &cobra.Command{
		Use:   "default -o DIR [--scale default|tiny] [-t N]",
		Short: "Rebuild the default assistant that ships inside llmos",
		Long: `default rebuilds llmos's built-in assistant from nothing, in stages:

  1. generate data (seeded): template stories; conversations — greetings,
     "who are you", short stories on request, arithmetic answered through a
     calculator call whose result the answer uses; preference pairs (a good
     answer against a repetitive, off-topic or wrong-result one); 200
     held-out arithmetic problems
  2. train a byte-level BPE tokenizer with the ChatML control tokens
  3. tokenize TinyStories (--tinystories) and the generated text into shards
  4. pretrain a small Llama on them
  5. supervised fine-tuning on the generated conversations
  6. train a reward model on the generated pairs
  7. DPO on the generated pairs
  8. quantize the DPO model to Q8_0: DIR/assistant.gguf
  9. evaluate: DIR/report.json with parameters, tokens seen, losses, the
     share of well-formed calculator calls and of correct final answers on
     the held-out arithmetic, and the DPO model's win rate over the SFT
     model as the reward model judges them

A stage whose output exists is skipped, and an interrupted training stage
resumes from its checkpoint, so running the same command again continues
where it stopped; delete a stage's output to redo it. --scale default is
about 40 minutes on two cores; --scale tiny runs in seconds (tests).`,
		Example: `  llmos recipe default -o runs/assistant
  llmos chat -m runs/assistant/assistant.gguf
  llmos recipe default -o /tmp/tiny --scale tiny`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Dir == "" {
				return errors.New("no output directory: pass -o DIR")
			}
			sc, err := recipe.LookupScale(scale)
			if err != nil {
				return err
			}
			opts.Scale = sc
			opts.Progress = cmd.ErrOrStderr()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			r, err := recipe.Run(ctx, opts)
			if err != nil {
				return err
			}
			printReport(cmd, r, filepath.Join(opts.Dir, recipe.ReportFile))
			return nil
		},
	}
	c.Flags().StringVarP(&opts.Dir, "output", "o", "", "output directory")
	c.Flags().StringVar(&scale, "scale", "default", "size: "+strings.Join(recipe.ScaleNames(), ", "))
	c.Flags().IntVarP(&opts.Threads, "threads", "t", 0, "compute threads (0: all cores)")
	c.Flags().StringVar(&opts.TinyStories, "tinystories", filepath.Join("..", "shared", "data", "tinystories"), "directory with the TinyStories text files")
	c.Flags().Uint64Var(&opts.Seed, "seed", 1, "seed of the generated data, the initial weights and the data order")
	return c
}

func printReport(cmd *cobra.Command, r *recipe.Report, path string) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "%s: %d parameters (dim %d, %d layers, vocab %d, context %d), %s, %.1f MB\n",
		r.Model, r.Parameters, r.Dim, r.Layers, r.Vocab, r.Context, r.Type, float64(r.Bytes)/1e6)
	fmt.Fprintf(w, "tokens seen: %d (pretraining %d, SFT %d, DPO %d; the reward model %d more)\n",
		r.TokensSeen["total"], r.TokensSeen["pretrain"], r.TokensSeen["sft"], r.TokensSeen["dpo"], r.TokensSeen["reward"])
	fmt.Fprintf(w, "val loss: pretraining %.3f, SFT %.3f\n", r.Pretrain.ValLoss, r.SFT.ValLoss)
	fmt.Fprintf(w, "held-out arithmetic (%d): well-formed calculator calls %.1f%%, correct final answers %.1f%%\n",
		r.Arithmetic.Prompts, 100*r.Arithmetic.WellFormed, 100*r.Arithmetic.Correct)
	fmt.Fprintf(w, "DPO vs SFT: win rate %.1f%% (%d wins, %d ties, %d losses) judged by the %s\n",
		100*r.WinRate.Rate, r.WinRate.Wins, r.WinRate.Ties, r.WinRate.Losses, r.WinRate.Judge)
	fmt.Fprintf(w, "report: %s\n", path)
}
