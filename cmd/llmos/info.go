package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/model"
	"github.com/llmos/llmos/tensor"
	"github.com/spf13/cobra"
)

func init() {
	var path string
	c := &cobra.Command{
		Use:   "info -m FILE",
		Short: "Describe a GGUF model: architecture, size, tensor types, context, template",
		Long: `info reads a GGUF file's metadata and tensor table and prints the
architecture, parameter count, tensor types, context length, tokenizer and
chat template. It loads no weights beyond mapping the file.`,
		Example: `  llmos info -m tinyllama.Q4_K_M.gguf`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if path == "" {
				return fmt.Errorf("no model given: pass -m FILE.gguf")
			}
			f, err := gguf.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			st, _ := os.Stat(path)
			w := os.Stdout
			fmt.Fprintf(w, "file:           %s (%s, GGUF v%d)\n", path, humanBytes(st.Size()), f.Version)
			m, loadErr := model.Load(f)
			if loadErr != nil {
				fmt.Fprintf(w, "model:          cannot run: %v\n", loadErr)
			} else {
				c := m.Config
				fmt.Fprintf(w, "architecture:   %s\n", c.Arch)
				if c.Name != "" {
					fmt.Fprintf(w, "name:           %s\n", c.Name)
				}
				fmt.Fprintf(w, "parameters:     %s (%d)\n", humanCount(c.Params()), c.Params())
				fmt.Fprintf(w, "layers:         %d, embedding %d, feed-forward %d\n", c.Layers, c.Dim, c.FFN)
				fmt.Fprintf(w, "attention:      %d heads, %d kv heads, head size %d\n", c.Heads, c.KVHeads, c.HeadDim)
				fmt.Fprintf(w, "rope:           base %g, %d dims, %s\n", c.RopeBase, c.RopeDim, map[bool]string{false: "adjacent pairs", true: "neox pairs"}[c.RopeNeox])
				fmt.Fprintf(w, "context length: %d\n", c.ContextLen)
				fmt.Fprintf(w, "vocabulary:     %d\n", c.Vocab)
				fmt.Fprintf(w, "output:         %s\n", map[bool]string{false: "separate output.weight", true: "tied to token_embd"}[c.TiedOutput])
			}
			counts := map[tensor.Type]int{}
			for _, t := range f.Tensors {
				counts[t.Type]++
			}
			var types []string
			for t, n := range counts {
				types = append(types, fmt.Sprintf("%s ×%d", t, n))
			}
			sort.Strings(types)
			fmt.Fprintf(w, "tensors:        %d (%s)\n", len(f.Tensors), strings.Join(types, ", "))
			tm, _ := f.String("tokenizer.ggml.model")
			pre, _ := f.String("tokenizer.ggml.pre")
			fmt.Fprintf(w, "tokenizer:      %s %s\n", tm, pre)
			if tmpl, ok := f.String("tokenizer.chat_template"); ok {
				fmt.Fprintf(w, "chat template:\n%s\n", tmpl)
			} else {
				fmt.Fprintf(w, "chat template:  none (llmos chat falls back to ChatML)\n")
			}
			return nil
		},
	}
	c.Flags().StringVarP(&path, "model", "m", "", "GGUF model file")
	rootCmd.AddCommand(c)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
