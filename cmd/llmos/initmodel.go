package main

import (
	"fmt"
	"strings"

	"github.com/llmos/llmos/convert"
	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
	"github.com/spf13/cobra"
)

func init() {
	var (
		arch, shape, typ, tok, out string
		s                          convert.Shape
		seed                       uint64
	)
	c := &cobra.Command{
		Use:   "init --arch llama (--shape NAME | --dim N --layers N --heads N --kv-heads N --ffn N --vocab N) -o OUT.gguf",
		Short: "Write a freshly initialised Llama model (random weights) as GGUF",
		Long: `init writes a new Llama model: every 2-D weight drawn from a normal
distribution with standard deviation 0.02 (seeded by --seed, so the same
flags give the same file), norm weights 1, and llama.cpp's metadata keys, so
llama.cpp loads it too. It is the starting point for training and the model
for benchmarks.

Shapes: ` + strings.Join(convert.ShapeNames(), ", ") + `; or give every size
with --dim, --layers, --heads, --kv-heads, --ffn, --vocab (and --ctx). Flags
given with --shape override the preset.

--type sets the type of the 2-D weights (F32, F16, BF16, Q8_0, Q4_0, Q4_1,
Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K); rows that do not split into the
type's blocks fall back as llama-quantize does. For mixes such as Q4_K_M,
init in F16 and run llmos quantize.

The tokenizer is copied from --tokenizer FILE.gguf (its tokenizer.* keys;
the vocabulary size must match). Without it, init writes a synthetic
SentencePiece vocabulary: <unk>, <s>, </s>, the 256 byte tokens, then filler
pieces up to the vocabulary size, so text tokenizes to bytes. For the 32000
tokens of the Llama 2 / TinyLlama shapes pass a Llama 2 vocabulary, e.g.
llama.cpp's models/ggml-vocab-llama-spm.gguf.`,
		Example: `  llmos init --shape stories260K -o stories260K.gguf
  llmos init --shape tinyllama-1.1b --type F16 --tokenizer ggml-vocab-llama-spm.gguf -o tinyllama-init.f16.gguf
  llmos init --dim 512 --layers 8 --heads 8 --kv-heads 4 --ffn 1376 --vocab 4096 --type Q8_0 -o small.gguf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if arch != "llama" {
				return fmt.Errorf("init: architecture %q is not supported (supported: llama)", arch)
			}
			if out == "" {
				return fmt.Errorf("init: no output file: pass -o OUT.gguf")
			}
			if shape != "" {
				preset, ok := convert.Shapes[shape]
				if !ok {
					return fmt.Errorf("init: unknown shape %q (known: %s)", shape, strings.Join(convert.ShapeNames(), ", "))
				}
				overrideUnset(cmd, &preset, s)
				s = preset
			}
			t, err := tensor.ParseType(strings.ToUpper(typ))
			if err != nil {
				return fmt.Errorf("init: --type: %w", err)
			}
			o := convert.InitOptions{Shape: s, Type: t, Seed: seed}
			if tok != "" {
				f, err := gguf.Open(tok)
				if err != nil {
					return fmt.Errorf("init: tokenizer: %w", err)
				}
				defer f.Close()
				o.Tokenizer = f
			}
			if err := convert.Init(out, o); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: llama %+v, %s\n", out, s, t)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&arch, "arch", "llama", "architecture (llama)")
	fl.StringVar(&shape, "shape", "", "preset shape: "+strings.Join(convert.ShapeNames(), ", "))
	fl.IntVar(&s.Dim, "dim", 0, "embedding size")
	fl.IntVar(&s.Layers, "layers", 0, "transformer blocks")
	fl.IntVar(&s.Heads, "heads", 0, "attention heads")
	fl.IntVar(&s.KVHeads, "kv-heads", 0, "key/value heads (0: same as --heads)")
	fl.IntVar(&s.FFN, "ffn", 0, "feed-forward size")
	fl.IntVar(&s.Vocab, "vocab", 0, "vocabulary size")
	fl.IntVar(&s.Context, "ctx", 2048, "context length (llama.context_length)")
	fl.StringVar(&typ, "type", "F32", "type of the 2-D weights")
	fl.StringVar(&tok, "tokenizer", "", "GGUF file to copy the tokenizer from")
	fl.Uint64Var(&seed, "seed", 1, "random seed")
	fl.StringVarP(&out, "output", "o", "", "output GGUF file")
	c.PreRun = func(cmd *cobra.Command, args []string) {
		if s.KVHeads == 0 {
			s.KVHeads = s.Heads
		}
	}
	rootCmd.AddCommand(c)
}

// overrideUnset replaces preset's sizes with those given on the command line.
func overrideUnset(cmd *cobra.Command, preset *convert.Shape, given convert.Shape) {
	for _, f := range []struct {
		flag string
		dst  *int
		v    int
	}{
		{"dim", &preset.Dim, given.Dim}, {"layers", &preset.Layers, given.Layers},
		{"heads", &preset.Heads, given.Heads}, {"kv-heads", &preset.KVHeads, given.KVHeads},
		{"ffn", &preset.FFN, given.FFN}, {"vocab", &preset.Vocab, given.Vocab}, {"ctx", &preset.Context, given.Context},
	} {
		if cmd.Flags().Changed(f.flag) {
			*f.dst = f.v
		}
	}
}
