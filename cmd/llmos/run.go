package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"
)

func init() {
	var mf modelFlags
	var pf promptFlags
	var sf samplingFlags
	var verbose bool
	c := &cobra.Command{
		Use:   "run -m FILE (-p TEXT | -f FILE) [flags]",
		Short: "Generate text from a prompt, streaming it",
		Long: `run continues a prompt with a GGUF model and streams the text to standard
output as it is generated. The prompt is tokenized as llama.cpp does (BOS added
when the vocabulary asks for it). Ctrl-C stops the generation.`,
		Example: `  llmos run -m tinyllama.Q4_K_M.gguf -p "Once upon a time" -n 64
  llmos run -m model.gguf -f prompt.txt --temp 0 --seed 1`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, s, ids, err := openPrompt(&mf, &pf, args)
			if err != nil {
				return err
			}
			defer e.Close()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			out := bufio.NewWriter(os.Stdout)
			start := time.Now()
			res, err := s.Generate(ctx, sf.request(ids), func(piece string) error {
				out.WriteString(piece)
				return out.Flush()
			})
			fmt.Fprintln(out)
			out.Flush()
			if err != nil {
				return err
			}
			if verbose {
				el := time.Since(start).Seconds()
				fmt.Fprintf(os.Stderr, "prompt %d tokens, generated %d tokens in %.2fs (%.1f tokens/s), stop: %s\n",
					res.PromptTokens, len(res.Tokens), el, float64(len(res.Tokens))/el, res.StopReason)
			}
			return nil
		},
	}
	mf.register(c)
	pf.register(c)
	sf.register(c, -1)
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "print token counts and speed to standard error")
	rootCmd.AddCommand(c)
}
