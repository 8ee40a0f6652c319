package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

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
	evalCmd.AddCommand(c)
	rootCmd.AddCommand(evalCmd)
}
