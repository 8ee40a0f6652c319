package main

import (
	"fmt"
	"strings"

	"github.com/llmos/llmos/convert"
	"github.com/llmos/llmos/gguf"
	"github.com/spf13/cobra"
)

func init() {
	c := &cobra.Command{
		Use:   "quantize IN.gguf OUT.gguf TYPE",
		Short: "Convert a GGUF model's weights to another type, as llama-quantize does",
		Long: `quantize rewrites a model with its weights in TYPE, choosing each
tensor's type by llama-quantize's rules: 1-D tensors (norms) stay as they
are, output.weight becomes Q6_K for the quantized types other than Q8_0,
the _K_M mixes give some attn_v and ffn_down layers Q6_K, and rows that do
not split into a type's blocks fall back (Q4_K→Q5_0, Q6_K→Q8_0, else F16).
From an F16 source the bytes equal llama-quantize's.

TYPE: ` + strings.Join(convert.FileTypeNames(), ", ") + `.
Tensors are converted one at a time, so memory stays near the largest tensor.`,
		Example: `  llmos quantize tinyllama.f16.gguf tinyllama.Q4_K_M.gguf Q4_K_M
  llmos quantize model.f16.gguf model.q8_0.gguf q8_0`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			ft, err := convert.ParseFileType(args[2])
			if err != nil {
				return err
			}
			src, err := gguf.Open(args[0])
			if err != nil {
				return err
			}
			defer src.Close()
			if err := convert.Quantize(src, args[1], ft); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s)\n", args[1], ft.Name)
			return nil
		},
	}
	rootCmd.AddCommand(c)
}
