package chat

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ardanlabs/jinja"
)

// toJSONFunc is the name under which Render passes pyToJSON to templates.
const toJSONFunc = "__llmos_tojson"

// rewriteToJSON turns `operand | tojson(args)` in a tag body into
// `__llmos_tojson(operand, args)`. jinja v1.8.0 encodes tojson with
// arguments through Go maps, so tojson(indent=4), which Llama 3.x templates
// use to list tools, comes out with keys sorted and <, > and & escaped,
// where transformers keeps the schema's key order and the characters.
// Plain `| tojson` is left to the engine, whose encoder matches Python's.
// An operand that is itself a filter result (`x | a | tojson(...)`) is left
// alone too: finding where it starts would need a full expression parser.
func rewriteToJSON(body string) string {
	const filter = "tojson("
	var out strings.Builder
	last := 0 // body[:last] is already in out
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c == '\'' || c == '"':
			i = skipString(body, i)
		case strings.HasPrefix(body[i:], filter):
			bar := strings.TrimRight(body[last:i], " \t\n")
			if !strings.HasSuffix(bar, "|") {
				continue
			}
			opEnd := last + len(bar) - 1 // index of '|'
			opEnd = len(strings.TrimRight(body[:opEnd], " \t\n"))
			opStart := operandStart(body, last, opEnd)
			if opStart == opEnd || strings.HasSuffix(strings.TrimRight(body[:opStart], " \t\n"), "|") {
				continue
			}
			args := i + len(filter)
			out.WriteString(body[last:opStart])
			out.WriteString(toJSONFunc + "(" + body[opStart:opEnd])
			if strings.TrimSpace(body[args:closingParen(body, args)]) != "" {
				out.WriteString(", ")
			}
			last = args
			i = args - 1
		}
	}
	out.WriteString(body[last:])
	return out.String()
}

// skipString returns the index of the quote that closes the string literal
// opening at i (or the end of s).
func skipString(s string, i int) int {
	q := s[i]
	for i++; i < len(s) && s[i] != q; i++ {
		if s[i] == '\\' {
			i++
		}
	}
	return i
}

// closingParen returns the index of the ')' that closes a call whose
// arguments start at i, or len(s).
func closingParen(s string, i int) int {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '\'', '"':
			i = skipString(s, i)
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return len(s)
}

// operandStart walks back from end over a primary expression with its
// attribute, subscript and call suffixes (`tool`, `t['function']`,
// `messages[0].tools`), not past floor.
func operandStart(s string, floor, end int) int {
	i := end
	for i > floor {
		c := s[i-1]
		switch {
		case c == ']' || c == ')':
			open, depth := byte('['), 0
			if c == ')' {
				open = '('
			}
			j := i - 1
			for ; j >= floor; j-- {
				if s[j] == c {
					depth++
				} else if s[j] == open {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if j < floor {
				return end
			}
			i = j
		case c == '.' || c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			i--
		default:
			return i
		}
	}
	return i
}

// pyToJSON is tojson as transformers defines it: json.dumps with
// ensure_ascii=False and the indent, separators and sort_keys arguments.
func pyToJSON(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Value{}, fmt.Errorf("tojson: no value")
	}
	e := jsonEncoder{indent: -1, item: ", ", key: ": "}
	if v, ok := kwargs["indent"]; ok && !v.IsNone() && !v.IsUndefined() {
		switch {
		case v.IsInt():
			e.indent = int(max(v.AsInt(), 0))
			e.pad = strings.Repeat(" ", e.indent)
		case v.IsString():
			e.indent, e.pad = 1, v.AsString()
		default:
			return jinja.Value{}, fmt.Errorf("tojson: indent must be an integer or a string")
		}
		e.item = ","
	}
	if v, ok := kwargs["separators"]; ok && !v.IsNone() {
		if !v.IsList() || v.AsList().Len() != 2 || !v.AsList().Get(0).IsString() || !v.AsList().Get(1).IsString() {
			return jinja.Value{}, fmt.Errorf("tojson: separators must be two strings")
		}
		e.item, e.key = v.AsList().Get(0).AsString(), v.AsList().Get(1).AsString()
	}
	if v, ok := kwargs["sort_keys"]; ok {
		e.sortKeys = v.IsTruthy()
	}
	if err := e.encode(args[0], 0); err != nil {
		return jinja.Value{}, fmt.Errorf("tojson: %w", err)
	}
	return jinja.NewString(e.sb.String()), nil
}

type jsonEncoder struct {
	sb        strings.Builder
	indent    int    // -1: all on one line
	pad       string // one level of indentation
	item, key string // separators
	sortKeys  bool
}

func (e *jsonEncoder) newline(level int) {
	if e.indent >= 0 {
		e.sb.WriteByte('\n')
		for range level {
			e.sb.WriteString(e.pad)
		}
	}
}

func (e *jsonEncoder) encode(v jinja.Value, level int) error {
	switch {
	case v.IsNone() || v.IsUndefined():
		e.sb.WriteString("null")
	case v.IsBool():
		e.sb.WriteString(strconv.FormatBool(v.AsBool()))
	case v.IsInt():
		e.sb.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		e.sb.WriteString(pyFloat(v.AsFloat()))
	case v.IsString():
		pyString(&e.sb, v.AsString())
	case v.IsList():
		items := v.AsList().Items
		return e.container('[', ']', len(items), level, func(i int) error {
			return e.encode(items[i], level+1)
		})
	case v.IsDict():
		d := v.AsDict()
		keys := d.OrderedKeys()
		if e.sortKeys {
			slices.Sort(keys)
		}
		return e.container('{', '}', len(keys), level, func(i int) error {
			pyString(&e.sb, keys[i])
			e.sb.WriteString(e.key)
			return e.encode(d.Data[keys[i]], level+1)
		})
	default:
		return fmt.Errorf("cannot encode %s", v.String())
	}
	return nil
}

// container writes n items between open and close, separated and
// indented as json.dumps does; empty containers stay on one line.
func (e *jsonEncoder) container(open, close byte, n, level int, item func(int) error) error {
	e.sb.WriteByte(open)
	for i := range n {
		if i > 0 {
			e.sb.WriteString(e.item)
		}
		e.newline(level + 1)
		if err := item(i); err != nil {
			return err
		}
	}
	if n > 0 {
		e.newline(level)
	}
	e.sb.WriteByte(close)
	return nil
}

// pyFloat formats f like Python's repr: shortest round-trip digits, always
// with a fraction or exponent, exponent form below 1e-4 and from 1e16.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// pyString writes s as a JSON string the way json.dumps(ensure_ascii=False)
// does: only quotes, backslashes and control characters are escaped.
func pyString(sb *strings.Builder, s string) {
	sb.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(sb, `\u%04x`, r)
			} else {
				sb.WriteRune(r)
			}
		}
	}
	sb.WriteByte('"')
}
