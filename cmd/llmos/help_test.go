package main

import (
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandExplainsItself walks the command tree: every command has
// a short and a long description, and every runnable one an example.
func TestEveryCommandExplainsItself(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			t.Run(sub.CommandPath(), func(t *testing.T) {
				if sub.Short == "" || sub.Long == "" {
					t.Errorf("%s lacks a short or long description", sub.CommandPath())
				}
				if sub.Runnable() && sub.Example == "" {
					t.Errorf("%s has no example", sub.CommandPath())
				}
			})
			walk(sub)
		}
	}
	walk(rootCmd)
}
