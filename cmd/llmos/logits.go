package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/spf13/cobra"
)

func init() {
	var mf modelFlags
	var pf promptFlags
	var out string
	c := &cobra.Command{
		Use:   "logits -m FILE (-p TEXT | -f FILE) -o OUT",
		Short: "Write the next-token logits after a prompt",
		Long: `logits runs the prompt (BOS added when the vocabulary asks for it) and
writes the logits of its last position to OUT as little-endian float32, one
per vocabulary entry (4 × n_vocab bytes, no header) — the layout of
llama.cpp's reference files.`,
		Example: `  llmos logits -m model.gguf -f prompt.txt -o prompt.logits.f32`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("no output file: pass -o OUT")
			}
			e, s, ids, err := openPrompt(&mf, &pf, args)
			if err != nil {
				return err
			}
			defer e.Close()
			logits, err := s.Logits(ids)
			if err != nil {
				return err
			}
			buf := make([]byte, 0, 4*len(logits))
			for _, v := range logits {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
			if err := os.WriteFile(out, buf, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "wrote %d logits to %s\n", len(logits), out)
			return nil
		},
	}
	mf.register(c)
	pf.register(c)
	c.Flags().StringVarP(&out, "output", "o", "", "output file")
	rootCmd.AddCommand(c)
}
