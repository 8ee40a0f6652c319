package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/spf13/cobra"
)

// generateOutput is the JSON that generate prints.
type generateOutput struct {
	PromptIDs  []int32 `json:"prompt_ids"`
	IDs        []int32 `json:"ids"`
	Text       string  `json:"text"`
	StopReason string  `json:"stop_reason"`
}

func init() {
	var mf modelFlags
	var pf promptFlags
	var sf samplingFlags
	var asJSON bool
	c := &cobra.Command{
		Use:   "generate -m FILE (-p TEXT | -f FILE) -n N [--temp 0] [--json]",
		Short: "Generate and report prompt ids, generated ids and text",
		Long: `generate runs one generation and prints the result at the end, for tests and
tools: with --json an object {"prompt_ids", "ids", "text", "stop_reason"}.
Generated ids exclude the end-of-generation token that stopped it.`,
		Example: `  llmos generate -m model.gguf -f prompt.txt -n 32 --temp 0 --json`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, s, ids, err := openPrompt(&mf, &pf, args)
			if err != nil {
				return err
			}
			defer e.Close()
			res, err := s.Generate(context.Background(), sf.request(ids), nil)
			if err != nil {
				return err
			}
			if !asJSON {
				_, err = os.Stdout.WriteString(res.Text + "\n")
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			return enc.Encode(generateOutput{PromptIDs: ids, IDs: nonNil(res.Tokens), Text: res.Text, StopReason: res.StopReason})
		},
	}
	mf.register(c)
	pf.register(c)
	sf.register(c, 32)
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	rootCmd.AddCommand(c)
}

// nonNil makes an empty list print as [] rather than null.
func nonNil(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}
