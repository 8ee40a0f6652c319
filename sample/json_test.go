package sample

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// testSchemas are the schemas the property tests run over.
var testSchemas = map[string]string{
	"object":  `{"type":"object"}`,
	"any":     `{}`,
	"person":  `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"email":{"type":["string","null"]},"tags":{"type":"array","items":{"type":"string"},"maxItems":3}},"required":["name","age"],"additionalProperties":false}`,
	"nested":  `{"type":"object","properties":{"a":{"type":"object","properties":{"ab":{"type":"boolean"},"a":{"type":"number"}},"required":["a","ab"],"additionalProperties":false},"list":{"type":"array","items":{"type":"array","items":{"type":"integer"}},"minItems":2}},"required":["list","a"],"additionalProperties":{"type":"null"}}`,
	"enums":   `{"type":"object","properties":{"color":{"enum":["red","green","blue",1,12,null,{"x":[1]}]},"size":{"const":"L"}},"required":["color","size"],"additionalProperties":false}`,
	"array":   `{"type":"array","items":{"type":["integer","boolean"]},"minItems":1,"maxItems":4}`,
	"number":  `{"type":"number"}`,
	"unicode": `{"type":"object","properties":{"näme":{"type":"string"},"nä":{"type":"integer"}},"required":["nä"]}`,
}

// compileBoth compiles doc and also decodes it for the validator.
func compileBoth(t testing.TB, doc string) (*Schema, any) {
	var raw any
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		t.Fatal(err)
	}
	return mustCompile(t, doc), raw
}

func mustCompile(t testing.TB, doc string) *Schema {
	t.Helper()
	s, err := CompileSchema([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// feedAll feeds text and reports how many bytes were accepted.
func feedAll(st *jsonState, text string) int {
	for i := 0; i < len(text); i++ {
		if !st.feed(text[i]) {
			return i
		}
	}
	return len(text)
}

func TestJSONStateDocuments(t *testing.T) {
	for _, tc := range []struct {
		schema, doc string
		ok          bool
	}{
		{"object", `{}`, true},
		{"object", `{"a": [1, -2.5e3, true, null, "x\"\u00e9\n"], "b": {"c": {}}}`, true},
		{"object", "{\n  \"a\": 0\n}", true},
		{"object", `[1]`, false},
		{"object", `{"a" 1}`, false},
		{"object", `{"a":01}`, false},
		{"object", `{"a":1,}`, false},
		{"object", `{"a":"\x"}`, false},
		{"object", "{\"a\":\"\x01\"}", false},
		{"object", `{"a":1}  `, false},
		{"object", `{"a":  1}`, false},
		{"object", "{\"a\":\"\xff\"}", false},
		{"object", `{"a\u0041":1}`, false},
		{"person", `{"name":"Ann","age":41}`, true},
		{"person", `{"age":41,"tags":["a","b"],"name":"Ann","email":null}`, true},
		{"person", `{"name":"Ann"}`, false},
		{"person", `{"name":"Ann","age":4.5}`, false},
		{"person", `{"name":"Ann","age":1,"name":"Bob"}`, false},
		{"person", `{"name":"Ann","age":1,"x":1}`, false},
		{"person", `{"name":"Ann","age":1,"tags":["a","b","c","d"]}`, false},
		{"person", `{"name":"Ann","age":1234567890123456}`, false},
		{"nested", `{"a":{"ab":true,"a":1.5},"list":[[],[1,2]],"zz":null}`, true},
		{"nested", `{"a":{"ab":true,"a":1.5},"list":[[]]}`, false},
		{"nested", `{"a":{"ab":true,"a":1.5},"list":[[],[]],"zz":1}`, false},
		{"enums", `{"color":12,"size":"L"}`, true},
		{"enums", `{"color":{"x":[1]},"size":"L"}`, true},
		{"enums", `{"color":"red","size":"M"}`, false},
		{"enums", `{"color":13,"size":"L"}`, false},
		{"array", `[1,true,3]`, true},
		{"array", `[]`, false},
		{"array", `[1,2,3,4,5]`, false},
		{"number", `-0.5E+12`, true},
		{"number", `1e123`, false},
		{"unicode", `{"nä":1,"näme":"x","other":2}`, true},
		{"unicode", `{"nä":1,"nö":2}`, false},
	} {
		t.Run(tc.schema+"/"+tc.doc, func(t *testing.T) {
			st := newJSONState(mustCompile(t, testSchemas[tc.schema]).root)
			n := feedAll(&st, tc.doc)
			ok := n == len(tc.doc) && st.planLen() == 0
			if ok != tc.ok {
				t.Errorf("accepted %d of %d bytes, complete %v; want valid=%v", n, len(tc.doc), st.planLen() == 0, tc.ok)
			}
			if ok && json.Valid([]byte(tc.doc)) != true {
				t.Errorf("accepted invalid JSON")
			}
		})
	}
}

func TestCompileSchemaErrors(t *testing.T) {
	for _, doc := range []string{
		`[`, `[]`, `false`, `{"type":"text"}`, `{"type":[]}`, `{"anyOf":[{}]}`, `{"$ref":"#/x"}`,
		`{"type":"string","pattern":"a"}`, `{"properties":{"a":1}}`, `{"required":["x"]}`,
		`{"properties":[]}`, `{"enum":[]}`, `{"type":"integer","enum":["a"]}`, `{"enum":[1],"items":{}}`,
		`{"items":[{}]}`, `{"minItems":-1}`, `{"minItems":3,"maxItems":2}`, `{"properties":{"a\"b":{}}}`,
		`{} {}`,
	} {
		if _, err := CompileSchema([]byte(doc)); !errors.Is(err, ErrSchema) {
			t.Errorf("%s: err = %v", doc, err)
		}
	}
}

// TestJSONPlans walks each schema's automaton with random valid bytes and
// checks at every step that the closing plan completes a document that
// parses and validates, and that plans are consistent: after a plan's
// first byte, the plan is the rest of it.
func TestJSONPlans(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for name, doc := range testSchemas {
		t.Run(name, func(t *testing.T) {
			s, raw := compileBoth(t, doc)
			for walk := 0; walk < 40; walk++ {
				st := newJSONState(s.root)
				var text []byte
				for steps := 0; steps < 60 && !st.done(); steps++ {
					checkPlan(t, raw, &st, string(text))
					var valid []byte
					for c := 0; c < 256; c++ {
						var cp jsonState
						cp.copyFrom(&st)
						if cp.feed(byte(c)) {
							valid = append(valid, byte(c))
						}
					}
					if len(valid) == 0 {
						if st.planLen() > 0 {
							t.Fatalf("dead end after %q", text)
						}
						break // a top-level number at its digit cap
					}
					c := valid[rng.IntN(len(valid))]
					st.feed(c)
					text = append(text, c)
				}
			}
		})
	}
}

func checkPlan(t *testing.T, schema any, st *jsonState, prefix string) {
	t.Helper()
	plan := st.planText()
	if len(plan) != st.planLen() {
		t.Fatalf("after %q: plan %q, planLen %d", prefix, plan, st.planLen())
	}
	var cp jsonState
	cp.copyFrom(st)
	for i := 0; i < len(plan); i++ {
		if !cp.feed(plan[i]) {
			t.Fatalf("after %q: plan %q refused at byte %d", prefix, plan, i)
		}
		if rest := cp.planText(); rest != plan[i+1:] {
			t.Fatalf("after %q: plan %q, then after %q the plan is %q", prefix, plan, plan[:i+1], rest)
		}
	}
	doc := prefix + plan
	if err := validateText(doc, schema); err != nil {
		t.Fatalf("after %q: plan %q gives %q: %v", prefix, plan, doc, err)
	}
}

// validateText parses doc and checks it against schema (the supported
// subset), independently of the automaton.
func validateText(doc string, schema any) error {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the value")
	}
	return validate(v, schema, "#")
}

func validate(v any, schema any, path string) error {
	s, ok := schema.(map[string]any)
	if !ok {
		return nil // true or {}
	}
	if e, ok := s["enum"].([]any); ok {
		if !containsJSON(e, v) {
			return fmt.Errorf("%s: %v not in enum", path, v)
		}
	}
	if c, ok := s["const"]; ok && !containsJSON([]any{c}, v) {
		return fmt.Errorf("%s: %v is not the const", path, v)
	}
	if t, ok := s["type"]; ok {
		var types []any
		if str, isStr := t.(string); isStr {
			types = []any{str}
		} else {
			types = t.([]any)
		}
		match := false
		for _, ty := range types {
			match = match || hasType(v, ty.(string))
		}
		if !match {
			return fmt.Errorf("%s: %v is not %v", path, v, t)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := x[r.(string)]; !ok {
				return fmt.Errorf("%s: missing %v", path, r)
			}
		}
		for k, val := range x {
			sub, declared := props[k]
			if !declared {
				if ap, ok := s["additionalProperties"]; ok {
					if b, isBool := ap.(bool); isBool && !b {
						return fmt.Errorf("%s: undeclared %q", path, k)
					}
					sub = ap
				}
			}
			if err := validate(val, sub, path+"/"+k); err != nil {
				return err
			}
		}
	case []any:
		if n, ok := s["minItems"].(float64); ok && float64(len(x)) < n {
			return fmt.Errorf("%s: %d items < %v", path, len(x), n)
		}
		if n, ok := s["maxItems"].(float64); ok && float64(len(x)) > n {
			return fmt.Errorf("%s: %d items > %v", path, len(x), n)
		}
		for i, el := range x {
			if err := validate(el, s["items"], fmt.Sprintf("%s/%d", path, i)); err != nil {
				return err
			}
		}
	case json.Number:
		if f, err := x.Float64(); err != nil || math.IsInf(f, 0) {
			return fmt.Errorf("%s: number %s out of range", path, x)
		}
	}
	return nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

func hasType(v any, t string) bool {
	switch x := v.(type) {
	case map[string]any:
		return t == "object"
	case []any:
		return t == "array"
	case string:
		return t == "string"
	case bool:
		return t == "boolean"
	case nil:
		return t == "null"
	case json.Number:
		if t == "number" {
			return true
		}
		_, err := x.Int64()
		return t == "integer" && err == nil
	}
	return false
}

func containsJSON(list []any, v any) bool {
	b, _ := json.Marshal(v)
	for _, x := range list {
		if xb, _ := json.Marshal(x); bytes.Equal(xb, b) {
			return true
		}
	}
	return false
}

// testVocab is every single byte plus multi-byte tokens that cross JSON
// structure, ids in order.
func testVocab() [][]byte {
	var v [][]byte
	for c := 0; c < 256; c++ {
		v = append(v, []byte{byte(c)})
	}
	for _, s := range []string{`{"`, `":`, `", "`, `"}`, `}}`, `},`, `[1,`, `true`, `null`, `name`, `age`, ` "`, `red`, `"red"`, "\n  ", `0.5`, `e+`, `\u00`, "\xc3\xa4", `nä`, `},{"`, ``, `12`} {
		v = append(v, []byte(s))
	}
	return append(v, nil) // an id with no text
}

// TestJSONConstraintMask compares Mask with checking every token alone, at
// random points of random walks and with a shrinking budget.
func TestJSONConstraintMask(t *testing.T) {
	vocab := testVocab()
	trie := NewTokenTrie(vocab)
	eog := []int32{int32(len(vocab) - 1)}
	rng := rand.New(rand.NewPCG(3, 4))
	for name, doc := range testSchemas {
		t.Run(name, func(t *testing.T) {
			s, raw := compileBoth(t, doc)
			for walk := 0; walk < 10; walk++ {
				c := NewJSONConstraint(s, trie, eog)
				budget := len(s.root.minText) + rng.IntN(40)
				var text []byte
				for remaining := budget; remaining > 0 && !c.Done(); remaining-- {
					logits := make([]float32, len(vocab))
					c.Mask(logits, remaining)
					var allowed []int32
					for id, p := range vocab {
						want := false
						if id == int(eog[0]) {
							want = c.state.planLen() == 0
						} else if len(p) > 0 {
							var st jsonState
							st.copyFrom(&c.state)
							want = feedAll(&st, string(p)) == len(p) && st.planLen() <= remaining-1
						}
						if got := !math.IsInf(float64(logits[id]), -1); got != want {
							t.Fatalf("after %q, %d left: token %q allowed=%v, want %v", text, remaining, p, got, want)
						}
						if want {
							allowed = append(allowed, int32(id))
						}
					}
					if len(allowed) == 0 {
						t.Fatalf("after %q: nothing allowed", text)
					}
					id := allowed[rng.IntN(len(allowed))]
					if err := c.Accept(id); err != nil {
						t.Fatal(err)
					}
					if id != eog[0] {
						text = append(text, vocab[id]...)
					}
				}
				if err := validateText(string(text), raw); err != nil {
					t.Fatalf("budget %d: %q: %v", budget, text, err)
				}
			}
		})
	}
}

func FuzzJSONState(f *testing.F) {
	for _, doc := range []string{`{"a":[1,2.5e-3,"x"]}`, `{"name":"A","age":1,"tags":[]}`, `[true,1]`} {
		f.Add(doc)
	}
	schemas := make([]*Schema, 0, len(testSchemas))
	for _, doc := range testSchemas {
		schemas = append(schemas, mustCompile(f, doc))
	}
	f.Fuzz(func(t *testing.T, doc string) {
		for _, s := range schemas {
			st := newJSONState(s.root)
			n := feedAll(&st, doc)
			st.planText()
			if n == len(doc) && st.done() && !json.Valid([]byte(doc)) {
				t.Fatalf("accepted invalid JSON %q", doc)
			}
		}
	})
}

// FuzzCompileSchema checks that any schema text either fails with
// ErrSchema or compiles to a schema whose shortest document the automaton
// accepts as complete.
func FuzzCompileSchema(f *testing.F) {
	for _, doc := range testSchemas {
		f.Add(doc)
	}
	f.Add(`{"type":["integer","null"],"enum":[1,null,"x"]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		s, err := CompileSchema([]byte(doc))
		if err != nil {
			if !errors.Is(err, ErrSchema) {
				t.Fatalf("error %v does not wrap ErrSchema", err)
			}
			return
		}
		st := newJSONState(s.root)
		if n := feedAll(&st, s.MinText()); n != len(s.MinText()) || st.planLen() != 0 {
			t.Fatalf("schema %s: shortest text %q refused at byte %d", doc, s.MinText(), n)
		}
	})
}
