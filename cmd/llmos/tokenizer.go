package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tokenizer"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func init() {
	c := &cobra.Command{
		Use:   "tokenizer",
		Short: "Train and try byte-level BPE tokenizers",
		Long: `tokenizer groups the commands that make and inspect tokenizers stored as
GGUF tokenizer metadata (tokenizer.ggml.*), the form llama.cpp reads.`,
	}
	c.AddCommand(tokenizerTrainCmd(), tokenizerEncodeCmd())
	rootCmd.AddCommand(c)
}

func tokenizerTrainCmd() *cobra.Command {
	var opts tokenizer.TrainOptions
	var out string
	c := &cobra.Command{
		Use:   "train --vocab N -o TOK.gguf [--pre NAME] FILES…",
		Short: "Learn a byte-level BPE vocabulary from text files",
		Long: `train learns a byte-level BPE tokenizer (llama.cpp's "gpt2" model) from UTF-8
text files and writes it as a vocabulary-only GGUF file, which llmos and
llama.cpp (llama-tokenize) load and which later commands (data prepare, train)
build on.

The vocabulary holds the 256 bytes (so any text can be encoded), the learned
merges, and control tokens: <|begin_of_text|> (BOS, added to every document),
<|end_of_text|> (EOS), the ChatML markers <|im_start|> and <|im_end|> (EOT),
--reserved <|reserved_N|> tokens and any --special texts. Text is split into
pre-tokens the way --pre names (llama-bpe: Llama 3's rules) and the most
frequent adjacent pair is merged until --vocab tokens exist or no pair occurs
twice. Texts given with --ignore (default <|endoftext|>, the TinyStories story
separator) and special-token texts are cut out of the training text.`,
		Example: `  llmos tokenizer train --vocab 4096 -o tok4k.gguf ../shared/data/tinystories/train_head_2mib.txt
  llmos tokenizer train --vocab 512 --pre gpt-2 --reserved 0 -o tiny.gguf corpus.txt`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if out == "" {
				return errors.New("no output file: pass -o TOK.gguf")
			}
			return trainTokenizer(cmd, opts, out, files)
		},
	}
	c.Flags().IntVar(&opts.VocabSize, "vocab", 4096, "vocabulary size: bytes, merges and special tokens together")
	c.Flags().StringVarP(&out, "output", "o", "", "GGUF file to write")
	c.Flags().StringVar(&opts.Pre, "pre", tokenizer.DefaultPre, "pre-tokenizer (tokenizer.ggml.pre): "+strings.Join(tokenizer.PreTokenizers(), ", "))
	c.Flags().IntVar(&opts.Reserved, "reserved", 4, "number of <|reserved_N|> control tokens")
	c.Flags().StringArrayVar(&opts.Specials, "special", nil, "extra control token (repeatable)")
	c.Flags().StringArrayVar(&opts.Ignore, "ignore", []string{"<|endoftext|>"}, "text to cut out of the training text (repeatable)")
	return c
}

func trainTokenizer(cmd *cobra.Command, opts tokenizer.TrainOptions, out string, files []string) error {
	var total int64
	for _, name := range files {
		st, err := os.Stat(name)
		if err != nil {
			return err
		}
		total += st.Size()
	}
	bar := newBar(total, "counting", true)
	merging := newBar(-1, "merging", false)
	opts.Progress = func(done, want int) {
		if done == 1 {
			merging.ChangeMax(want)
		}
		merging.Set(done)
	}
	tr, err := tokenizer.NewTrainer(opts)
	if err != nil {
		return err
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		_, err = tr.ReadFrom(io.TeeReader(f, bar))
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	bar.Finish()
	v, stats, err := tr.Train(cmd.Context())
	if err != nil {
		return err
	}
	merging.Finish()
	if err := v.WriteFile(out); err != nil {
		return err
	}
	specials := len(v.Tokens) - 256 - stats.Merges
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d tokens (256 bytes, %d merges, %d special), pre-tokenizer %s\n",
		out, len(v.Tokens), stats.Merges, specials, opts.Pre)
	if stats.Merges < opts.VocabSize-256-specials {
		fmt.Fprintf(cmd.OutOrStdout(), "note: stopped at %d of %d merges: no pair of tokens occurs twice any more\n",
			stats.Merges, opts.VocabSize-256-specials)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "training text: %d bytes, %d distinct pre-tokens, %d tokens, %.2f bytes/token\n",
		stats.Bytes, stats.Words, stats.Tokens, stats.BytesPerToken())
	return nil
}

// newBar returns a progress bar on stderr, drawn only when stderr is a
// terminal; max -1 is a spinner until ChangeMax.
func newBar(max int64, desc string, bytes bool) *progressbar.ProgressBar {
	st, err := os.Stderr.Stat()
	visible := err == nil && st.Mode()&os.ModeCharDevice != 0
	return progressbar.NewOptions64(max,
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetVisibility(visible),
		progressbar.OptionShowBytes(bytes),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }),
	)
}

func tokenizerEncodeCmd() *cobra.Command {
	var pf promptFlags
	var path string
	var noBOS, asJSON, parseSpecial bool
	c := &cobra.Command{
		Use:   "encode -t TOK.gguf [--no-bos] [--json] (TEXT | -f FILE)",
		Short: "Print the token ids of a text under a tokenizer file",
		Long: `encode tokenizes a text with the tokenizer of any GGUF file, including a
vocabulary-only file from "llmos tokenizer train" (which "llmos tokenize"
cannot open, as it loads a whole model). Without --json it prints one
"id -> 'piece'" line per token; with --json a JSON array of ids.`,
		Example: `  llmos tokenizer encode -t tok4k.gguf "Once upon a time"
  llmos tokenizer encode -t tok4k.gguf --json --no-bos -f story.txt`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if path == "" {
				return errors.New("no tokenizer given: pass -t FILE.gguf")
			}
			text, err := pf.read(args)
			if err != nil {
				return err
			}
			tok, err := openTokenizer(path)
			if err != nil {
				return err
			}
			ids := tok.Encode(text, !noBOS, parseSpecial)
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(nonNil(ids))
			}
			for _, id := range ids {
				fmt.Fprintf(cmd.OutOrStdout(), "%6d -> %s\n", id, strconv.Quote(string(tok.Piece(id))))
			}
			return nil
		},
	}
	pf.register(c)
	c.Flags().StringVarP(&path, "tokenizer", "t", "", "GGUF file holding the tokenizer (a model or a vocabulary-only file)")
	c.Flags().BoolVar(&noBOS, "no-bos", false, "do not add BOS (or other special tokens the vocabulary adds)")
	c.Flags().BoolVar(&parseSpecial, "parse-special", false, "read special-token texts such as <|im_start|> as the special tokens")
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of ids")
	return c
}

// openTokenizer reads the tokenizer of a GGUF file.
func openTokenizer(path string) (*tokenizer.Tokenizer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tok, nil
}
