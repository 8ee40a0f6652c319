package sample_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/internal/testenv"
	"github.com/llmos/llmos/sample"
)

// trieOf builds the token trie of e's vocabulary the way the engine writes
// text: control tokens write nothing.
func trieOf(e *engine.Engine) *sample.TokenTrie {
	tok := e.Tokenizer
	pieces := make([][]byte, tok.VocabSize())
	for id := range pieces {
		if !tok.IsControl(int32(id)) {
			pieces[id] = tok.Piece(int32(id))
		}
	}
	return sample.NewTokenTrie(pieces)
}

var modelSchemas = []string{
	`{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"ok":{"type":"boolean"},"tags":{"type":"array","items":{"enum":["a","b",3]}}},"required":["name","age","ok"],"additionalProperties":false}`,
	`{"type":"array","items":{"type":"object","properties":{"x":{"type":["number","null"]}},"required":["x"]},"minItems":1}`,
}

// TestJSONConstraintModels samples from every fixture model (random
// weights) at temperature 1 with several seeds under json_object and
// schemas: every output must parse and validate, also when max_tokens
// cuts the generation short.
func TestJSONConstraintModels(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4}
	if testing.Short() {
		seeds = seeds[:2]
	}
	for _, path := range testenv.FixtureFiles(t, "llama", "models", "*.gguf") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			e, err := engine.Open(path, engine.Options{Threads: 2, Context: 256})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			s, err := e.NewScheduler(engine.SchedulerOptions{Parallel: 4})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			trie := trieOf(e)
			prompt := e.Tokenizer.Encode("Write JSON:", true, false)
			type run struct {
				schema any
				stream *engine.Stream
				label  string
			}
			var runs []run
			for si, doc := range append([]string{""}, modelSchemas...) {
				schema := sample.AnyJSONObject()
				var raw any = map[string]any{"type": "object"}
				if doc != "" {
					schema, err = sample.CompileSchema([]byte(doc))
					if err != nil {
						t.Fatal(err)
					}
					json.Unmarshal([]byte(doc), &raw)
				}
				for i, seed := range seeds {
					// Every other run has a budget just above the shortest
					// document, which forces the closing plans early.
					maxTokens := 40
					if i%2 == 1 {
						maxTokens = len(schema.MinText()) + 2
					}
					job := engine.Job{Request: engine.Request{Prompt: prompt, MaxTokens: maxTokens,
						Sampling: sample.Params{Temperature: 1, Seed: seed}},
						Constraint: sample.NewJSONConstraint(schema, trie, e.Tokenizer.EOG())}
					st, err := s.Submit(context.Background(), job)
					if err != nil {
						t.Fatal(err)
					}
					runs = append(runs, run{raw, st, fmt.Sprintf("schema %d seed %d max %d", si, seed, maxTokens)})
				}
			}
			for _, r := range runs {
				res, _, err := r.stream.Wait(context.Background())
				if err != nil {
					t.Fatalf("%s: %v", r.label, err)
				}
				if err := validateDoc(res.Text, r.schema); err != nil {
					t.Errorf("%s: %q (%s, %d tokens): %v", r.label, res.Text, res.StopReason, len(res.Tokens), err)
				}
			}
		})
	}
}

// validateDoc parses doc and checks the keywords the test schemas use.
func validateDoc(doc string, schema any) error {
	if !json.Valid([]byte(doc)) {
		return fmt.Errorf("not JSON")
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	dec.Decode(&v)
	return check(v, schema)
}

func check(v, schema any) error {
	s, _ := schema.(map[string]any)
	if s == nil {
		return nil
	}
	if enum, ok := s["enum"].([]any); ok {
		b, _ := json.Marshal(v)
		for _, e := range enum {
			if eb, _ := json.Marshal(e); bytes.Equal(eb, b) {
				return nil
			}
		}
		return fmt.Errorf("%s not in enum", b)
	}
	types := fmt.Sprint(s["type"])
	switch x := v.(type) {
	case map[string]any:
		if s["type"] != nil && !strings.Contains(types, "object") {
			return fmt.Errorf("object where %s expected", types)
		}
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := x[r.(string)]; !ok {
				return fmt.Errorf("missing %v", r)
			}
		}
		for k, val := range x {
			sub, ok := props[k]
			if !ok && s["additionalProperties"] == false {
				return fmt.Errorf("undeclared key %q", k)
			}
			if err := check(val, sub); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
	case []any:
		if s["type"] != nil && !strings.Contains(types, "array") {
			return fmt.Errorf("array where %s expected", types)
		}
		if m, ok := s["minItems"].(float64); ok && float64(len(x)) < m {
			return fmt.Errorf("%d items, minItems %v", len(x), m)
		}
		for _, el := range x {
			if err := check(el, s["items"]); err != nil {
				return err
			}
		}
	case json.Number:
		_, isInt := x.Int64()
		if s["type"] != nil && !strings.Contains(types, "number") && !(strings.Contains(types, "integer") && isInt == nil) {
			return fmt.Errorf("number %s where %s expected", x, types)
		}
	case string:
		if s["type"] != nil && !strings.Contains(types, "string") {
			return fmt.Errorf("string where %s expected", types)
		}
	case bool:
		if s["type"] != nil && !strings.Contains(types, "boolean") {
			return fmt.Errorf("boolean where %s expected", types)
		}
	case nil:
		if s["type"] != nil && !strings.Contains(types, "null") {
			return fmt.Errorf("null where %s expected", types)
		}
	}
	return nil
}

// BenchmarkJSONMask measures masking a whole vocabulary inside a JSON
// string (where nearly every token is allowed: the slowest case) for each
// fixture vocabulary size.
func BenchmarkJSONMask(b *testing.B) {
	seen := map[int]bool{}
	for _, path := range testenv.FixtureFiles(b, "llama", "models", "*.gguf") {
		e, err := engine.Open(path, engine.Options{Threads: 1, Context: 64})
		if err != nil {
			b.Fatal(err)
		}
		n := e.Tokenizer.VocabSize()
		if seen[n] {
			e.Close()
			continue
		}
		seen[n] = true
		trie := trieOf(e)
		eog := e.Tokenizer.EOG()
		b.Run(fmt.Sprintf("vocab=%d", n), func(b *testing.B) {
			logits := make([]float32, n)
			c := sample.NewJSONConstraint(sample.AnyJSONObject(), trie, eog)
			for _, ch := range []byte(`{"a":"`) {
				id := int32(-1)
				for i := range n {
					if p := e.Tokenizer.Piece(int32(i)); len(p) == 1 && p[0] == ch && !e.Tokenizer.IsControl(int32(i)) {
						id = int32(i)
						break
					}
				}
				if err := c.Accept(id); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				c.Mask(logits, 100)
			}
		})
		e.Close()
	}
}
