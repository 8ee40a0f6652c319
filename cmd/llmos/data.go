package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/llmos/llmos/data"
	"github.com/spf13/cobra"
)

func init() {
	c := &cobra.Command{
		Use:   "data",
		Short: "Prepare token shards for training",
		Long: `data groups the commands that turn text corpora into the token shards that
"llmos train" reads (a folder of train_NNNNNN.bin and val_NNNNNN.bin shards
and meta.json).`,
	}
	c.AddCommand(dataPrepareCmd())
	rootCmd.AddCommand(c)
}

func dataPrepareCmd() *cobra.Command {
	var opts data.PrepareOptions
	c := &cobra.Command{
		Use:   "prepare --tokenizer TOK.gguf -o DIR [--val-fraction F | --val FILE…] FILES…",
		Short: "Tokenize text or JSONL files into train/val token shards",
		Long: `prepare reads documents from FILES, tokenizes each as BOS followed by its
tokens, and writes them in input order to DIR as shards of --shard-tokens
tokens (uint16 when the vocabulary has at most 65536 tokens, else uint32),
then DIR/meta.json. Files are streamed: memory holds a few batches of
documents, never a shard or the corpus. Shards and meta.json are written to
temporary files and renamed into place; shards an earlier run left in DIR
beyond the new counts are removed.

Documents:
  *.jsonl, *.ndjson  one JSON object per line; the document is the string
                     field --text-field (default "text")
  anything else      plain UTF-8 text; documents are separated by separator
                     lines: by default a blank line or a line
                     "<|endoftext|>". Give --separator (repeatable) to
                     choose others ("" is a blank line); trailing spaces on
                     a line are ignored when matching. Lines inside a
                     document are joined with "\n".

Validation split: --val-fraction puts that share of documents in val,
chosen by a hash of each document's text (the same on every run), or --val
takes val from separate files and all of FILES is train.`,
		Example: `  llmos data prepare --tokenizer tok4k.gguf -o stories \
      --val ../shared/data/tinystories/valid_head.txt \
      --separator '<|endoftext|>' ../shared/data/tinystories/train_head_2mib.txt
  llmos data prepare --tokenizer tok.gguf -o web --val-fraction 0.01 --text-field content part-*.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if opts.Tokenizer == "" {
				return errors.New("no tokenizer given: pass --tokenizer TOK.gguf (see llmos tokenizer train)")
			}
			if opts.Out == "" {
				return errors.New("no output folder: pass -o DIR")
			}
			if len(opts.ValFiles) > 0 && cmd.Flags().Changed("val-fraction") {
				return errors.New("give either --val-fraction or --val, not both")
			}
			if len(opts.ValFiles) > 0 {
				opts.ValFraction = 0
			}
			var total int64
			for _, name := range append(append([]string{}, files...), opts.ValFiles...) {
				st, err := os.Stat(name)
				if err != nil {
					return err
				}
				total += st.Size()
			}
			bar := newBar(total, "tokenizing", true)
			opts.Progress = func(n int64) { bar.Add64(n) }
			m, err := data.Prepare(cmd.Context(), files, opts)
			if err != nil {
				return err
			}
			bar.Finish()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wrote %s: train %d tokens in %d shards, val %d tokens in %d shards (vocabulary %d, %d bytes per token)\n",
				opts.Out, m.TrainTokens, m.TrainShards, m.ValTokens, m.ValShards, m.VocabSize, data.TokenBytes(m.VocabSize))
			if m.ValTokens == 0 {
				fmt.Fprintln(out, "note: the val split is empty; pass --val FILE or a larger --val-fraction to measure validation loss")
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Tokenizer, "tokenizer", "", "GGUF file with the tokenizer (from llmos tokenizer train, or any model)")
	f.StringVarP(&opts.Out, "output", "o", "", "data folder to write")
	f.Float64Var(&opts.ValFraction, "val-fraction", 0.01, "share of documents for the val split (by a hash of the text)")
	f.StringArrayVar(&opts.ValFiles, "val", nil, "file for the val split instead of a fraction (repeatable)")
	f.Int64Var(&opts.ShardTokens, "shard-tokens", data.DefaultShardTokens, "tokens per shard")
	f.StringVar(&opts.TextField, "text-field", "text", "JSONL field holding the document text")
	f.StringArrayVar(&opts.Separators, "separator", data.DefaultSeparators, "plain-text document separator line (repeatable; \"\" is a blank line)")
	f.IntVar(&opts.Workers, "workers", 2, "tokenizing goroutines")
	return c
}
