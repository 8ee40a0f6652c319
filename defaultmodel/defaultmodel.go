// Package defaultmodel holds the small assistant that ships inside llmos,
// built by `llmos recipe default` (see the recipe package), so that a new
// user can chat offline right after install: llmos chat, run and serve use
// it when no -m is given.
package defaultmodel

import (
	_ "embed"
	"fmt"

	"github.com/llmos/llmos/gguf"
)

//go:embed assistant.gguf
var assistant []byte

// Name is the name the default model is served under.
const Name = "llmos-assistant"

// Open parses the embedded model. Its tensors alias the binary's read-only
// data, so nothing is copied; closing the File is a no-op.
func Open() (*gguf.File, error) {
	f, err := gguf.Parse(assistant)
	if err != nil {
		return nil, fmt.Errorf("defaultmodel: the embedded model is corrupt: %w", err)
	}
	return f, nil
}

// Size is the embedded file's size in bytes.
func Size() int { return len(assistant) }
