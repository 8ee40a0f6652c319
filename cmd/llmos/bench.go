package main

import (
	"fmt"

	"github.com/llmos/llmos/bench"
	"github.com/spf13/cobra"
)

func init() {
	var (
		path   string
		o      bench.Options
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "bench -m FILE [-p 512] [-n 128] [-t N] [-r 5] [--json]",
		Short: "Measure prompt processing and generation speed, as llama-bench does",
		Long: `bench runs two tests on a model, as llama.cpp's llama-bench does:

  pp<N>  prompt processing: one prefill of -p random tokens (batches of 512)
  tg<N>  text generation: -n single-token decode steps

each -r times after an untimed warm-up, and prints tokens per second as mean
± sample standard deviation in llama-bench's markdown table, or with --json
llama-bench's JSON array (n_prompt, n_gen, n_threads, avg_ts, stddev_ts,
samples_ts, model_type, model_size, model_n_params, test_time, ...), so tools
that read llama-bench output read this too. Set LLMOS_NOASM=1 to measure the
pure-Go kernels.`,
		Example: `  llmos bench -m tinyllama.Q4_0.gguf
  llmos bench -m tinyllama.Q4_K_M.gguf -p 128 -n 32 -t 2 -r 3 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if path == "" {
				return fmt.Errorf("bench: no model given: pass -m FILE.gguf")
			}
			res, err := bench.Run(cmd.Context(), path, o)
			if err != nil {
				return err
			}
			if asJSON {
				return bench.WriteJSON(cmd.OutOrStdout(), res)
			}
			return bench.WriteMarkdown(cmd.OutOrStdout(), res)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&path, "model", "m", "", "GGUF model file")
	fl.IntVarP(&o.Prompt, "n-prompt", "p", 512, "prompt tokens (0: skip the pp test)")
	fl.IntVarP(&o.Gen, "n-gen", "n", 128, "generated tokens (0: skip the tg test)")
	fl.IntVarP(&o.Threads, "threads", "t", 0, "compute threads (0: one per core)")
	fl.IntVarP(&o.Repetitions, "repetitions", "r", 5, "timed repetitions per test")
	fl.BoolVar(&asJSON, "json", false, "print llama-bench's JSON instead of the table")
	rootCmd.AddCommand(c)
}
