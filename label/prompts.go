package label

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// LoadPrompts reads a prompt file: JSONL with each prompt under "prompt"
// (a .jsonl name, or a first line that is such an object), or else plain
// text with one prompt per non-blank line.
func LoadPrompts(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("label: prompts: %w", err)
	}
	defer f.Close()
	prompts, err := ReadPrompts(f, strings.EqualFold(filepath.Ext(path), ".jsonl"))
	if err != nil {
		return nil, fmt.Errorf("label: prompts %s: %w", path, err)
	}
	return prompts, nil
}

// ReadPrompts reads prompts as LoadPrompts does; jsonl forces JSONL.
func ReadPrompts(r io.Reader, jsonl bool) ([]string, error) {
	br := bufio.NewReader(r)
	var prompts []string
	first := true
	for line := 1; ; line++ {
		b, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, rerr
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			if first {
				jsonl = jsonl || isPromptObject(t)
				first = false
			}
			p := string(t)
			if jsonl {
				var rec struct {
					Prompt *string `json:"prompt"`
				}
				if err := json.Unmarshal(t, &rec); err != nil {
					return nil, fmt.Errorf("line %d: %w", line, err)
				}
				if rec.Prompt == nil || strings.TrimSpace(*rec.Prompt) == "" {
					return nil, fmt.Errorf("line %d: no \"prompt\"", line)
				}
				p = *rec.Prompt
			}
			prompts = append(prompts, p)
		}
		if rerr == io.EOF {
			break
		}
	}
	if len(prompts) == 0 {
		return nil, fmt.Errorf("no prompts")
	}
	return prompts, nil
}

// isPromptObject reports whether b is a JSON object with a string "prompt".
func isPromptObject(b []byte) bool {
	var rec map[string]json.RawMessage
	if json.Unmarshal(b, &rec) != nil {
		return false
	}
	var p string
	return json.Unmarshal(rec["prompt"], &p) == nil
}
