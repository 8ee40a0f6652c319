package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/eval"
	"github.com/spf13/cobra"
)

var evalCmd = &cobra.Command{
	Use:   "eval",
	Short: "Measure a model: perplexity, task accuracy",
	Long: `eval measures a model where an answer key exists: perplexity and bits per
byte over a text (ppl), and accuracy on multiple-choice or exact-match tasks
(tasks).`,
	Example: `  llmos eval ppl -m model.gguf --data valid.txt --ctx 512
  llmos eval tasks -m model.gguf --task blimp --limit 100`,
}

func init() {
	var threads int
	var data string
	var opts eval.PPLOptions
	var asJSON bool
	var path string
	c := &cobra.Command{
		Use:   "ppl -m FILE --data TEXT [--ctx N] [--batch N] [--chunks N] [--json]",
		Short: "Perplexity and bits per byte over a text file, as llama-perplexity computes them",
		Long: `ppl computes the perplexity of the model on a text file exactly as llama.cpp's
llama-perplexity does: the whole file is tokenized once (with BOS), cut into
windows of --ctx tokens (a shorter remainder is dropped), each window's first
token is replaced by BOS, each window is run from an empty cache, and only the
predictions of its second half are scored, so every scored token sees at least
ctx/2 tokens of context.

It prints the running perplexity after each window ("[1]12.3456,[2]…") and
the final estimate with its standard error, then the bits per byte: the total
negative log-likelihood in bits over the UTF-8 length of the scored tokens, a
figure that can be compared across tokenizers. With --json it prints one
object instead (ctx, chunks, tokens, scored, nll, ppl, ppl_error, bytes,
bits_per_byte, running).

The file needs at least 2×ctx tokens.`,
		Example: `  llmos eval ppl -m model.gguf --data wiki.test.raw
  llmos eval ppl -m stories.gguf --data valid.txt --ctx 128 --chunks 20 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return errors.New("eval ppl: no model given: pass -m FILE.gguf")
			}
			if data == "" {
				return errors.New("eval ppl: no text given: pass --data FILE")
			}
			text, err := os.ReadFile(data)
			if err != nil {
				return fmt.Errorf("eval ppl: %w", err)
			}
			if opts.Context <= 0 {
				return fmt.Errorf("eval ppl: --ctx must be positive, got %d", opts.Context)
			}
			e, err := engine.Open(path, engine.Options{Threads: threads, Context: opts.Context})
			if err != nil {
				return err
			}
			defer e.Close()
			out := cmd.OutOrStdout()
			if !asJSON {
				opts.Progress = func(chunk int, ppl float64) { fmt.Fprintf(out, "[%d]%.4f,", chunk, ppl) }
			}
			res, err := eval.Perplexity(cmd.Context(), e, string(text), opts)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			fmt.Fprintf(out, "\nFinal estimate: PPL = %.4f +/- %.5f\n", res.PPL, res.PPLError)
			fmt.Fprintf(out, "%d windows of %d tokens, %d tokens scored (%d bytes): %.4f bits per byte, %.4f nats per token\n",
				res.Chunks, res.Context, res.Scored, res.Bytes, res.BitsPerByte, res.NLL)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVarP(&path, "model", "m", "", "GGUF model file")
	fl.IntVarP(&threads, "threads", "t", 0, "compute threads (0: one per core)")
	fl.StringVar(&data, "data", "", "text file to score")
	fl.IntVar(&opts.Context, "ctx", eval.DefaultPPLContext, "window length in tokens")
	fl.IntVar(&opts.Batch, "batch", 0, "most tokens per forward pass (0: a whole window)")
	fl.IntVar(&opts.Chunks, "chunks", 0, "score at most this many windows (0: all)")
	fl.BoolVar(&asJSON, "json", false, "print a JSON object")
	evalCmd.AddCommand(c, evalTasksCmd())
	rootCmd.AddCommand(evalCmd)
}

// defaultDataDir is where the built-in tasks' data sets are looked for
// unless --data-dir says otherwise.
func defaultDataDir() string {
	if d := os.Getenv("LLMOS_DATA"); d != "" {
		return d
	}
	return filepath.Join("..", "shared", "data")
}

func evalTasksCmd() *cobra.Command {
	var mf modelFlags
	var specs []string
	var load eval.LoadOptions
	var run eval.RunOptions
	var asJSON, quiet bool
	c := &cobra.Command{
		Use:   "tasks -m FILE --task NAME|FILE.jsonl [--limit N] [--json]",
		Short: "Task accuracy: multiple choice by log-likelihood, or generate and match",
		Long: `tasks measures accuracy with a 95% Wilson interval on one or more tasks
(--task is repeatable):

  blimp            BLiMP's 67 paradigms of minimal pairs, one line each and a
                   pooled "blimp" line; a pair is right when the grammatical
                   sentence has the higher total log-probability
  blimp:PARADIGM   one paradigm, e.g. blimp:anaphor_gender_agreement
  gsm8k            GSM8K's test set: greedy generation after
                   "Question: …
Answer:" (with --shots solved training
                   problems before it), stopped at "Question:" or a blank
                   line; right when the final number (after "####", else the
                   last number) equals the answer after "####"
  FILE.jsonl       a task of your own, one JSON object per line, either
                     {"context": "...", "choices": ["...", "..."], "answer": 0}
                   multiple choice: right when choice number "answer" has the
                   highest log-likelihood as a continuation of the context;
                   or
                     {"prompt": "...", "answer": "..."}
                   exact match: greedy generation for the prompt; a numeric
                   answer is compared with the final number generated, any
                   other with the first line of the generation, trimmed

For multiple choice, acc compares the summed log-probabilities of the
choices' tokens; acc_norm divides each by the choice's length in bytes. A tie
counts as wrong. The data of the built-in tasks is read from --data-dir
(default $LLMOS_DATA, else ../shared/data): blimp/blimp.zip and
gsm8k/{test,train}.jsonl.

Results print as a table, or with --json as an array of objects (task, kind,
n, correct, acc, acc_ci_lower, acc_ci_upper and, for multiple choice,
correct_norm, acc_norm, acc_norm_ci_lower, acc_norm_ci_upper).`,
		Example: `  llmos eval tasks -m stories.gguf --task blimp --limit 100
  llmos eval tasks -m model.gguf --task blimp:anaphor_gender_agreement --json
  llmos eval tasks -m instruct.gguf --task gsm8k --shots 5 --limit 50
  llmos eval tasks -m model.gguf --task my_quiz.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(specs) == 0 {
				return errors.New("eval tasks: no task given: pass --task blimp, gsm8k or FILE.jsonl")
			}
			if run.Limit < 0 {
				return fmt.Errorf("eval tasks: --limit must not be negative, got %d", run.Limit)
			}
			var tasks []*eval.Task
			for _, spec := range specs {
				ts, err := eval.LoadTasks(spec, load)
				if err != nil {
					return err
				}
				tasks = append(tasks, ts...)
			}
			e, err := mf.open()
			if err != nil {
				return err
			}
			defer e.Close()
			if !quiet {
				errOut := cmd.ErrOrStderr()
				run.Progress = func(task string, done, total int) {
					fmt.Fprintf(errOut, "\r%s %d/%d", task, done, total)
					if done == total {
						fmt.Fprintln(errOut)
					}
				}
			}
			results, err := eval.RunTasks(cmd.Context(), e, tasks, run)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(results)
			}
			return eval.WriteTable(out, results)
		},
	}
	mf.register(c)
	fl := c.Flags()
	fl.StringArrayVar(&specs, "task", nil, "task: blimp, blimp:PARADIGM, gsm8k or FILE.jsonl (repeatable)")
	fl.IntVar(&run.Limit, "limit", 0, "score at most N items of each task (0: all)")
	fl.IntVar(&run.MaxTokens, "max-tokens", 256, "most tokens generated per exact-match item")
	fl.IntVar(&load.Shots, "shots", 0, "solved GSM8K training problems put before each question")
	fl.StringVar(&load.DataDir, "data-dir", defaultDataDir(), "folder of the built-in data sets")
	fl.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	fl.BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr")
	return c
}
