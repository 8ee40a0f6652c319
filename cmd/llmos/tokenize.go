package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tokenizer"
	"github.com/spf13/cobra"
)

func init() {
	var mf modelFlags // only the path: tokenizing loads no weights
	var pf promptFlags
	var noBOS, asJSON, parseSpecial bool
	c := &cobra.Command{
		Use:   "tokenize -m FILE [--no-bos] [--json] (TEXT | -f FILE)",
		Short: "Print the token ids of a text",
		Long: `tokenize splits a text into the model's tokens as llama.cpp does. Without
--json it prints one "id -> 'piece'" line per token; with --json a JSON array
of ids. BOS is added when the vocabulary asks for it, unless --no-bos.`,
		Example: `  llmos tokenize -m model.gguf "Hello world"
  llmos tokenize -m model.gguf --json -f prompt.txt`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			text, err := pf.read(args)
			if err != nil {
				return err
			}
			if mf.path == "" {
				return errors.New("no model given: pass -m FILE.gguf (a model or a vocab-only GGUF)")
			}
			f, err := gguf.Open(mf.path)
			if err != nil {
				return err
			}
			defer f.Close()
			tok, err := tokenizer.FromGGUF(f)
			if err != nil {
				return fmt.Errorf("%s: %w", mf.path, err)
			}
			ids := tok.Encode(text, !noBOS, parseSpecial)
			if asJSON {
				return json.NewEncoder(os.Stdout).Encode(nonNil(ids))
			}
			for _, id := range ids {
				fmt.Printf("%6d -> %s\n", id, strconv.Quote(string(tok.Piece(id))))
			}
			return nil
		},
	}
	c.Flags().StringVarP(&mf.path, "model", "m", "", "GGUF model or vocab-only file")
	pf.register(c)
	c.Flags().BoolVar(&noBOS, "no-bos", false, "do not add BOS (or other special tokens the vocabulary adds)")
	c.Flags().BoolVar(&parseSpecial, "parse-special", false, "read special-token texts such as <s> as the special tokens")
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of ids")
	rootCmd.AddCommand(c)
}
