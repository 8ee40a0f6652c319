// Command llmos runs, trains, evaluates and serves large language models
// stored as GGUF files.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// rootCmd is the llmos command; each subcommand file adds itself in init.
var rootCmd = &cobra.Command{
	Use:           "llmos",
	Short:         "Run, train, evaluate and serve large language models (GGUF)",
	Long:          "llmos runs, trains, fine-tunes, evaluates and serves large language models stored as GGUF files, in one Go binary.",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "llmos:", err)
		os.Exit(1)
	}
}
