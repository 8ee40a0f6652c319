package chat

import (
	"fmt"
	"strings"
	"unicode"
)

// applyWhitespace rewrites a template so that ardanlabs/jinja renders it
// with Jinja2's whitespace rules as transformers configures them
// (trim_blocks, lstrip_blocks, keep_trailing_newline off, "-" and "+"
// markers). jinja v1.8.0 implements those rules itself but looks past
// expressions for the text to trim: in `{% if x %}{{ y }}\n` it drops the
// newline after `{{ y }}`, which Jinja2 keeps. So the rules are applied here,
// on the source, and every piece of literal text becomes a string
// expression `{{ '...' }}`: with no bare text left and no markers on the
// tags, the engine has nothing to trim. Comments are dropped, and tojson
// calls with arguments are redirected (see rewriteToJSON).
func applyWhitespace(src string) (string, error) {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	src = strings.TrimSuffix(src, "\n")

	var out strings.Builder
	var text strings.Builder // literal text not yet written out
	flush := func() {
		if text.Len() > 0 {
			out.WriteString("{{ '")
			out.WriteString(quote(text.String()))
			out.WriteString("' }}")
			text.Reset()
		}
	}
	pos := 0
	// lineStarting is Jinja2's line_starting: the text about to be read
	// follows a newline (or the start of the template), so a tag after
	// nothing but indentation sits at the start of a line.
	lineStarting := true
	trimNext := false    // a "-" closer: strip leading whitespace of the next text
	newlineNext := false // trim_blocks: drop one newline right after the tag
	for {
		open := nextOpener(src, pos)
		data := src[pos:]
		if open >= 0 {
			data = src[pos:open]
		}
		switch {
		case trimNext:
			rest := strings.TrimLeftFunc(data, unicode.IsSpace)
			lineStarting = len(rest) < len(data) && data[len(data)-len(rest)-1] == '\n'
			data = rest
		case newlineNext && strings.HasPrefix(data, "\n"):
			data = data[1:]
			lineStarting = true
		}
		if open < 0 {
			text.WriteString(data)
			flush()
			return out.String(), nil
		}

		kind := src[open+1] // '{', '%' or '#'
		i := open + 2
		marker := byte(0)
		if i < len(src) && (src[i] == '-' || src[i] == '+') {
			marker = src[i]
			i++
		}
		switch {
		case marker == '-':
			data = strings.TrimRightFunc(data, unicode.IsSpace)
		case marker == '+' || kind == '{':
		default:
			// lstrip_blocks: indentation between the start of a line and
			// a block or comment tag is not output.
			l := strings.LastIndexByte(data, '\n') + 1
			if (l > 0 || lineStarting) && strings.TrimLeftFunc(data[l:], unicode.IsSpace) == "" {
				data = data[:l]
			}
		}
		text.WriteString(data)

		end, bodyEnd, closeMarker, err := findCloser(src, i, kind)
		if err != nil {
			return "", fmt.Errorf("at byte %d: %w", open, err)
		}
		body := src[i:bodyEnd]
		trimNext = closeMarker == '-'
		newlineNext = closeMarker == 0 && kind != '{'
		lineStarting = false
		pos = end
		if kind == '#' {
			continue
		}
		flush()
		if kind == '{' {
			out.WriteString("{{" + splitBraces(rewriteToJSON(body)) + "}}")
		} else {
			out.WriteString("{%" + rewriteToJSON(body) + "%}")
		}
	}
}

// nextOpener returns the index of the next "{{", "{%" or "{#" at or after
// pos, or -1.
func nextOpener(src string, pos int) int {
	for {
		i := strings.IndexByte(src[pos:], '{')
		if i < 0 || pos+i+1 >= len(src) {
			return -1
		}
		pos += i
		if c := src[pos+1]; c == '{' || c == '%' || c == '#' {
			return pos
		}
		pos++
	}
}

// findCloser finds the end of a tag whose body starts at i. It skips string
// literals and, like Jinja2's lexer, closers inside brackets (a dict literal
// ending in "}}"). It returns the index after the closer, the end of the
// body, and the whitespace marker before the closer ('-', '+' or 0).
func findCloser(src string, start int, kind byte) (end, bodyEnd int, marker byte, err error) {
	closer := "}}"
	switch kind {
	case '%':
		closer = "%}"
	case '#':
		closer = "#}"
	}
	depth := 0
	for i := start; i < len(src); i++ {
		c := src[i]
		if kind == '#' {
			if strings.HasPrefix(src[i:], closer) {
				return closeAt(src, start, i, closer)
			}
			continue
		}
		switch c {
		case '\'', '"':
			j := i + 1
			for j < len(src) && src[j] != c {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) {
				return 0, 0, 0, fmt.Errorf("unterminated string literal")
			}
			i = j
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		case '{':
			depth++
		case '}', '%':
			if depth > 0 && c == '}' {
				depth--
				continue
			}
			if depth <= 0 && strings.HasPrefix(src[i:], closer) {
				return closeAt(src, start, i, closer)
			}
		}
	}
	return 0, 0, 0, fmt.Errorf("tag not closed with %q", closer)
}

func closeAt(src string, start, i int, closer string) (end, bodyEnd int, marker byte, err error) {
	bodyEnd = i
	if c := src[i-1]; i > start && (c == '-' || c == '+') {
		marker = c
		bodyEnd--
	}
	return i + len(closer), bodyEnd, marker, nil
}

// splitBraces separates the closing braces of nested dict literals
// (`{'a': {'b': 1}}`) in an expression body: the engine's scanner would
// take their "}}" for the end of the tag.
func splitBraces(body string) string {
	var out strings.Builder
	for i := 0; i < len(body); i++ {
		if c := body[i]; c == '\'' || c == '"' {
			j := min(skipString(body, i), len(body)-1)
			out.WriteString(body[i : j+1])
			i = j
			continue
		}
		out.WriteByte(body[i])
		if body[i] == '}' && i+1 < len(body) && body[i+1] == '}' {
			out.WriteByte(' ')
		}
	}
	return out.String()
}

// quote escapes text for a single-quoted string literal of ardanlabs/jinja,
// which understands \n, \t, \\ and \' escapes.
func quote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\t", `\t`).Replace(s)
}
