package sample

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Schema is a compiled JSON schema that JSONConstraint can enforce while a
// model writes. It supports this subset of JSON Schema:
//
//   - type: "object", "array", "string", "number", "integer", "boolean",
//     "null", or an array of them (no type: any JSON value, or an object
//     when properties are given, an array when items are);
//   - properties, required (each a declared property), additionalProperties
//     (absent or true: any other key with any value; false: none; a schema:
//     other keys with such values) — at most 64 properties per object;
//   - items (one schema for every element), minItems, maxItems;
//   - enum and const, with values of any JSON type;
//   - annotations, which are ignored: title, description, default,
//     examples, format, $schema, $id, $comment.
//
// Anything else (anyOf, $ref, pattern, minimum …) is refused by
// CompileSchema rather than silently ignored, since the output must
// validate. The constraint writes keys as plain text (no escapes; an
// undeclared key is printable ASCII), at most one space or a newline and
// 20 indentation characters between tokens, integers of at most 15 digits,
// fractions of at most 15 and exponents of at most 2, and enum values in
// their compact JSON form.
type Schema struct {
	root *schemaNode
}

// JSON value types, as a bit set.
const (
	tObject = 1 << iota
	tArray
	tString
	tNumber
	tInteger
	tBoolean
	tNull
	tAny = tObject | tArray | tString | tNumber | tInteger | tBoolean | tNull
)

var typeNames = map[string]uint8{
	"object": tObject, "array": tArray, "string": tString, "number": tNumber,
	"integer": tInteger, "boolean": tBoolean, "null": tNull,
}

// schemaNode is one compiled (sub)schema.
type schemaNode struct {
	types      uint8
	props      []property // sorted by name
	names      []string   // the names of props
	reqMask    uint64     // bits of the required properties
	allMask    uint64     // bits of all properties
	additional *schemaNode
	items      *schemaNode
	minItems   int
	maxItems   int      // -1: no limit
	lits       []string // sorted literal texts: the enum, or false/null/true as the types allow
	enum       bool     // lits are the only values allowed
	minText    string   // the shortest valid text
}

type property struct {
	name string
	node *schemaNode
}

// anyNode accepts every JSON value.
var anyNode = func() *schemaNode {
	n := &schemaNode{types: tAny, maxItems: -1, lits: []string{"false", "null", "true"}, minText: "0"}
	n.additional, n.items = n, n
	return n
}()

// AnyJSONObject returns the schema of OpenAI's response_format json_object:
// any JSON object.
func AnyJSONObject() *Schema {
	return &Schema{root: &schemaNode{types: tObject, additional: anyNode, items: anyNode, maxItems: -1, minText: "{}"}}
}

// ErrSchema is wrapped by every error CompileSchema returns.
var ErrSchema = errors.New("json schema")

const maxSchemaDepth = 32

var annotations = map[string]bool{
	"title": true, "description": true, "default": true, "examples": true,
	"format": true, "$schema": true, "$id": true, "$comment": true,
}

// CompileSchema compiles a JSON schema document (see Schema for the
// supported subset).
func CompileSchema(doc []byte) (*Schema, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSchema, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the schema", ErrSchema)
	}
	n, err := compileNode(v, "#", 0)
	if err != nil {
		return nil, err
	}
	return &Schema{root: n}, nil
}

func compileNode(v any, path string, depth int) (*schemaNode, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrSchema, path, fmt.Sprintf(format, args...))
	}
	if depth > maxSchemaDepth {
		return nil, bad("nested deeper than %d", maxSchemaDepth)
	}
	if b, ok := v.(bool); ok {
		if !b {
			return nil, bad("the schema false allows nothing")
		}
		return anyNode, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, bad("a schema must be an object, got %T", v)
	}
	for k := range m {
		switch k {
		case "type", "properties", "required", "additionalProperties", "items", "enum", "const", "minItems", "maxItems":
		default:
			if !annotations[k] {
				return nil, bad("unsupported keyword %q (supported: type, properties, required, additionalProperties, items, minItems, maxItems, enum, const)", k)
			}
		}
	}
	if len(m) == 0 {
		return anyNode, nil
	}
	n := &schemaNode{maxItems: -1}
	var err error
	if n.types, err = compileTypes(m); err != nil {
		return nil, bad("%v", err)
	}
	if n.types&tNumber != 0 {
		n.types &^= tInteger // number covers integers
	}
	if err := compileEnum(n, m); err != nil {
		return nil, bad("%v", err)
	}
	if err := compileObject(n, m, path, depth); err != nil {
		return nil, err
	}
	if err := compileArray(n, m, path, depth); err != nil {
		return nil, err
	}
	if !n.enum {
		for _, l := range []struct {
			t    uint8
			text []string
		}{{tBoolean, []string{"false", "true"}}, {tNull, []string{"null"}}} {
			if n.types&l.t != 0 {
				n.lits = append(n.lits, l.text...)
			}
		}
		slices.Sort(n.lits)
	}
	n.minText = shortestText(n)
	return n, nil
}

// compileTypes reads "type", inferring object or array from the keywords
// that only apply to them when it is absent.
func compileTypes(m map[string]any) (uint8, error) {
	switch t := m["type"].(type) {
	case nil:
		switch {
		case m["properties"] != nil || m["required"] != nil || m["additionalProperties"] != nil:
			return tObject, nil
		case m["items"] != nil || m["minItems"] != nil || m["maxItems"] != nil:
			return tArray, nil
		}
		return tAny, nil
	case string:
		bit, ok := typeNames[t]
		if !ok {
			return 0, fmt.Errorf("unknown type %q", t)
		}
		return bit, nil
	case []any:
		var set uint8
		for _, x := range t {
			s, _ := x.(string)
			bit, ok := typeNames[s]
			if !ok {
				return 0, fmt.Errorf("unknown type %v", x)
			}
			set |= bit
		}
		if set == 0 {
			return 0, errors.New("empty type list")
		}
		return set, nil
	}
	return 0, fmt.Errorf("type must be a string or an array, got %T", m["type"])
}

// compileEnum turns enum or const into the sorted compact texts of the
// values that also have an allowed type.
func compileEnum(n *schemaNode, m map[string]any) error {
	var values []any
	if c, ok := m["const"]; ok {
		values = []any{c}
	} else if e, ok := m["enum"]; ok {
		list, ok := e.([]any)
		if !ok || len(list) == 0 {
			return errors.New("enum must be a non-empty array")
		}
		values = list
	} else {
		return nil
	}
	for _, k := range []string{"properties", "items", "minItems", "maxItems", "additionalProperties", "required"} {
		if _, ok := m[k]; ok {
			return fmt.Errorf("enum or const together with %s is not supported", k)
		}
	}
	for _, v := range values {
		if n.types&valueType(v) == 0 {
			continue
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
		n.lits = append(n.lits, strings.TrimSuffix(buf.String(), "\n"))
	}
	if len(n.lits) == 0 {
		return errors.New("no enum value has an allowed type")
	}
	slices.Sort(n.lits)
	n.lits = slices.Compact(n.lits)
	n.enum = true
	return nil
}

// valueType is the type bit of a decoded JSON value; integers count as
// both integer and number.
func valueType(v any) uint8 {
	switch x := v.(type) {
	case map[string]any:
		return tObject
	case []any:
		return tArray
	case string:
		return tString
	case json.Number:
		if !strings.ContainsAny(string(x), ".eE") {
			return tNumber | tInteger
		}
		return tNumber
	case bool:
		return tBoolean
	}
	return tNull
}

func compileObject(n *schemaNode, m map[string]any, path string, depth int) error {
	n.additional = anyNode
	if a, ok := m["additionalProperties"]; ok {
		if b, isBool := a.(bool); isBool && !b {
			n.additional = nil
		} else {
			sub, err := compileNode(a, path+"/additionalProperties", depth+1)
			if err != nil {
				return err
			}
			n.additional = sub
		}
	}
	if p, ok := m["properties"]; ok {
		props, ok := p.(map[string]any)
		if !ok {
			return fmt.Errorf("%w: %s: properties must be an object", ErrSchema, path)
		}
		if len(props) > 64 {
			return fmt.Errorf("%w: %s: %d properties, at most 64 are supported", ErrSchema, path, len(props))
		}
		for name, sub := range props {
			if strings.ContainsAny(name, "\"\\") || strings.IndexFunc(name, func(r rune) bool { return r < 0x20 }) >= 0 {
				return fmt.Errorf("%w: %s: property name %q needs escaping, which is not supported", ErrSchema, path, name)
			}
			node, err := compileNode(sub, path+"/properties/"+name, depth+1)
			if err != nil {
				return err
			}
			n.props = append(n.props, property{name, node})
		}
		sort.Slice(n.props, func(i, j int) bool { return n.props[i].name < n.props[j].name })
		n.allMask = 1<<len(n.props) - 1
		for _, p := range n.props {
			n.names = append(n.names, p.name)
		}
	}
	if r, ok := m["required"]; ok {
		list, ok := r.([]any)
		if !ok {
			return fmt.Errorf("%w: %s: required must be an array of names", ErrSchema, path)
		}
		for _, x := range list {
			name, _ := x.(string)
			i, found := slices.BinarySearchFunc(n.props, name, func(p property, s string) int { return strings.Compare(p.name, s) })
			if !found {
				return fmt.Errorf("%w: %s: required property %v is not declared in properties", ErrSchema, path, x)
			}
			n.reqMask |= 1 << i
		}
	}
	return nil
}

func compileArray(n *schemaNode, m map[string]any, path string, depth int) error {
	n.items = anyNode
	if it, ok := m["items"]; ok {
		if _, tuple := it.([]any); tuple {
			return fmt.Errorf("%w: %s: tuple items are not supported", ErrSchema, path)
		}
		sub, err := compileNode(it, path+"/items", depth+1)
		if err != nil {
			return err
		}
		n.items = sub
	}
	count := func(key string) (int, error) {
		v, ok := m[key]
		if !ok {
			return -1, nil
		}
		num, _ := v.(json.Number)
		i, err := num.Int64()
		if err != nil || i < 0 || i > 1<<20 {
			return 0, fmt.Errorf("%w: %s: %s must be a non-negative integer, got %v", ErrSchema, path, key, v)
		}
		return int(i), nil
	}
	var err error
	if n.minItems, err = count("minItems"); err != nil {
		return err
	}
	n.minItems = max(n.minItems, 0)
	if n.maxItems, err = count("maxItems"); err != nil {
		return err
	}
	if n.maxItems >= 0 && n.maxItems < n.minItems {
		return fmt.Errorf("%w: %s: maxItems %d < minItems %d", ErrSchema, path, n.maxItems, n.minItems)
	}
	return nil
}

// shortestText is the shortest valid text of n. Ties go to the first of
// number, string, literal, array, object; the closing plans rely on this
// choice being the same every time.
func shortestText(n *schemaNode) string {
	if n.enum {
		return shortest(n.lits, 0, len(n.lits))
	}
	best := ""
	try := func(s string) {
		if best == "" || len(s) < len(best) {
			best = s
		}
	}
	if n.types&(tNumber|tInteger) != 0 {
		try("0")
	}
	if n.types&tString != 0 {
		try(`""`)
	}
	if len(n.lits) > 0 {
		try(shortest(n.lits, 0, len(n.lits)))
	}
	if n.types&tArray != 0 {
		var b strings.Builder
		b.WriteByte('[')
		for i := range n.minItems {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(n.items.minText)
		}
		b.WriteByte(']')
		try(b.String())
	}
	if n.types&tObject != 0 {
		var b strings.Builder
		b.WriteByte('{')
		first := true
		for i, p := range n.props {
			if n.reqMask&(1<<i) == 0 {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(`"` + p.name + `":` + p.node.minText)
		}
		b.WriteByte('}')
		try(b.String())
	}
	return best
}

// shortest returns the first shortest string of list[lo:hi].
func shortest(list []string, lo, hi int) string {
	best := list[lo]
	for _, s := range list[lo+1 : hi] {
		if len(s) < len(best) {
			best = s
		}
	}
	return best
}

// MinText returns the shortest document the schema allows; a generation
// needs at least that many tokens to complete one.
func (s *Schema) MinText() string { return s.root.minText }
