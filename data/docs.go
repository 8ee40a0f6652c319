package data

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultSeparators are the separator lines of plain text by default: a
// blank line, or a line "<|endoftext|>" (as in the TinyStories training
// files).
var DefaultSeparators = []string{"", "<|endoftext|>"}

// IsJSONL reports whether a file is read as JSON Lines (one JSON object per
// line), by its name: .jsonl or .ndjson.
func IsJSONL(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson":
		return true
	}
	return false
}

// textDocs calls emit with each document of plain text: the lines between
// separator lines, joined by "\n". A line is a separator when, without
// its line ending and trailing spaces, it equals one of separators ("" is
// a blank line); runs of separators and empty documents are skipped.
func textDocs(r io.Reader, separators []string, emit func(doc string) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var doc strings.Builder
	flush := func() error {
		if doc.Len() == 0 {
			return nil
		}
		s := doc.String()
		doc.Reset()
		return emit(s)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if line != "" {
			body := strings.TrimRight(line, "\r\n")
			if slices.Contains(separators, strings.TrimRight(body, " \t")) {
				if ferr := flush(); ferr != nil {
					return ferr
				}
			} else {
				if doc.Len() > 0 {
					doc.WriteByte('\n')
				}
				doc.WriteString(body)
			}
		}
		if err != nil {
			return flush()
		}
	}
}

// jsonlDocs calls emit with the string field of each JSON object line.
// Blank lines are skipped; a line that is not an object with a string
// field is an error naming the line.
func jsonlDocs(r io.Reader, field string, emit func(doc string) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if len(strings.TrimSpace(string(line))) > 0 {
			var obj map[string]json.RawMessage
			if jerr := json.Unmarshal(line, &obj); jerr != nil {
				return fmt.Errorf("line %d: %w", n, jerr)
			}
			raw, ok := obj[field]
			if !ok {
				return fmt.Errorf("line %d: no field %q", n, field)
			}
			var text string
			if jerr := json.Unmarshal(raw, &text); jerr != nil {
				return fmt.Errorf("line %d: field %q is not a string", n, field)
			}
			if text != "" {
				if eerr := emit(text); eerr != nil {
					return eerr
				}
			}
		}
		if err != nil {
			return nil
		}
	}
}
