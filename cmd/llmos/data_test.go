package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmos/llmos/data"
)

// TestTokenizerAndDataCommands trains a tokenizer, encodes with it and
// prepares shards from text and JSONL, through the binary.
func TestTokenizerAndDataCommands(t *testing.T) {
	dir := t.TempDir()
	story := "Once upon a time, Lily saw a big red ball.\nShe played with it all day."
	corpus := filepath.Join(dir, "stories.txt")
	os.WriteFile(corpus, []byte(strings.Repeat(story+"\n<|endoftext|>\n", 30)), 0o644)
	jsonl := filepath.Join(dir, "more.jsonl")
	os.WriteFile(jsonl, []byte(strings.Repeat(`{"body":"Tom ran to the park."}`+"\n", 10)), 0o644)
	tok := filepath.Join(dir, "tok.gguf")

	out, _ := llmos(t, "", false, "tokenizer", "train", "--vocab", "300", "-o", tok, corpus)
	if !strings.Contains(out, "wrote "+tok+": 300 tokens") || !strings.Contains(out, "bytes/token") {
		t.Fatalf("tokenizer train printed %q", out)
	}

	out, _ = llmos(t, "", false, "tokenizer", "encode", "-t", tok, "--json", "Lily saw a ball.")
	var ids []int32
	if err := json.Unmarshal([]byte(out), &ids); err != nil || len(ids) < 2 || len(ids) > 10 {
		t.Fatalf("encode printed %q (%v)", out, err)
	}
	out, _ = llmos(t, "", false, "tokenizer", "encode", "-t", tok, "--no-bos", "saw Lily")
	if strings.Contains(out, "begin_of_text") || strings.Count(out, "\n") >= len("saw Lily") {
		t.Errorf("encode without BOS printed %q", out)
	}

	ds := filepath.Join(dir, "ds")
	out, _ = llmos(t, "", false, "data", "prepare", "--tokenizer", tok, "-o", ds, "--val-fraction", "0",
		"--text-field", "body", "--shard-tokens", "500", corpus, jsonl)
	if !strings.Contains(out, "val 0 tokens") || !strings.Contains(out, "val split is empty") {
		t.Errorf("data prepare printed %q", out)
	}
	d, err := data.OpenDataset(ds)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Meta.TrainShards < 2 || d.Meta.VocabSize != 300 || d.Meta.Tokenizer != tok {
		t.Errorf("meta = %+v", d.Meta)
	}

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"train without output", []string{"tokenizer", "train", corpus}, "-o TOK.gguf"},
		{"train with tiny vocab", []string{"tokenizer", "train", "--vocab", "10", "-o", tok, corpus}, "below"},
		{"encode without tokenizer", []string{"tokenizer", "encode", "hi"}, "-t FILE.gguf"},
		{"prepare without tokenizer", []string{"data", "prepare", "-o", ds, corpus}, "--tokenizer"},
		{"prepare with both splits", []string{"data", "prepare", "--tokenizer", tok, "-o", ds, "--val", corpus, "--val-fraction", "0.1", corpus}, "not both"},
		{"prepare a missing file", []string{"data", "prepare", "--tokenizer", tok, "-o", ds, filepath.Join(dir, "nope.txt")}, "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errOut := llmos(t, "", true, c.args...)
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr %q does not mention %q", errOut, c.want)
			}
		})
	}
}
