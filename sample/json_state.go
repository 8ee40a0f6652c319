package sample

// jsonState is a character-level automaton for JSON documents valid under a
// Schema: feed accepts a byte only if some valid document starts with the
// bytes fed so far. It is a stack of frames, one per value being written,
// and is copied often, so frames are plain values.
type jsonState struct {
	stack  []frame
	ws     int8 // whitespace run: 0 none, -1 one space, n > 0 a newline and n-1 indents
	spaced bool // the byte being fed was whitespace between tokens
}

type frameKind uint8

const (
	fValue   frameKind = iota // a value not started: whitespace, then its first byte
	fObject                   // inside {...}
	fArray                    // inside [...]
	fString                   // inside "...", after the opening quote
	fNumber                   // a number, which ends at the first byte that cannot extend it
	fLiteral                  // one of a node's literal texts (enum, true, false, null)
)

// Object phases.
const (
	objOpen  = iota // after '{'
	objKey          // inside a key
	objColon        // after a key's closing quote
	objValue        // the value is being written (a frame above)
	objNext         // after a value: ',' or '}'
	objComma        // after ',': a key
)

// Array phases.
const (
	arrOpen  = iota // after '['
	arrValue        // an item is being written (a frame above)
	arrNext         // after an item: ',' or ']'
)

// Number phases; numComplete marks the ones where the number may end.
const (
	numMinus    = 1 + iota // after '-'
	numZero                // a leading 0
	numInt                 // integer digits
	numDot                 // after '.'
	numFrac                // fraction digits
	numExp                 // after 'e'
	numExpSign             // after the exponent's sign
	numExpDigit            // exponent digits
)

const (
	maxIntDigits  = 15
	maxFracDigits = 15
	maxExpDigits  = 2
	maxIndent     = 20
)

type frame struct {
	node     *schemaNode
	kind     frameKind
	phase    uint8
	esc      uint8 // strings: 1 after '\', 2..5 inside \uXXXX; keys: 1 once non-ASCII
	utf      uint8 // strings and keys: UTF-8 continuation bytes still due
	ulo, uhi byte  // the range of the next continuation byte
	lo, hi   int32 // the candidate range of node.props (keys) or node.lits
	pos      int32 // bytes of the key or literal matched so far
	key      int32 // the property being valued, -1 for an undeclared one
	count    int32 // arrays: items started; numbers: digits of the current part
	seen     uint64
}

type stepResult uint8

const (
	rejected stepResult = iota
	accepted
	ended // the top value ended before this byte: pop it and retry below
	retry // a frame was pushed: feed the byte to it
)

func newJSONState(root *schemaNode) jsonState {
	return jsonState{stack: []frame{{node: root, kind: fValue}}}
}

func (s *jsonState) copyFrom(o *jsonState) {
	s.stack = append(s.stack[:0], o.stack...)
	s.ws = o.ws
}

// done reports that the document is complete: nothing may follow.
func (s *jsonState) done() bool { return len(s.stack) == 0 }

// feed advances the automaton by one byte, reporting whether it was valid.
// A rejected byte leaves the state undefined.
func (s *jsonState) feed(c byte) bool {
	s.spaced = false
	for len(s.stack) > 0 {
		switch s.step(&s.stack[len(s.stack)-1], c) {
		case rejected:
			return false
		case accepted:
			if !s.spaced {
				s.ws = 0
			}
			return true
		case ended:
			s.complete()
		}
	}
	return false
}

// complete pops the finished top value and moves its container on.
func (s *jsonState) complete() {
	s.stack = s.stack[:len(s.stack)-1]
	if len(s.stack) == 0 {
		return
	}
	p := &s.stack[len(s.stack)-1]
	switch p.kind {
	case fObject:
		p.phase = objNext
	case fArray:
		p.phase = arrNext
	}
}

// push starts a value of node n above the current frame.
func (s *jsonState) push(n *schemaNode) {
	s.stack = append(s.stack, frame{node: n, kind: fValue})
}

// space accepts whitespace between tokens: one space, or a newline and up
// to maxIndent spaces or tabs.
func (s *jsonState) space(c byte) bool {
	ok := false
	switch {
	case c == ' ' && s.ws == 0:
		s.ws, ok = -1, true
	case c == '\n' && s.ws == 0:
		s.ws, ok = 1, true
	case (c == ' ' || c == '\t') && s.ws > 0 && s.ws <= maxIndent:
		s.ws++
		ok = true
	}
	s.spaced = ok
	return ok
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

func (s *jsonState) step(f *frame, c byte) stepResult {
	switch f.kind {
	case fValue:
		return s.stepValue(f, c)
	case fObject:
		return s.stepObject(f, c)
	case fArray:
		return s.stepArray(f, c)
	case fString:
		return s.stepString(f, c)
	case fNumber:
		return stepNumber(f, c)
	}
	return s.stepLiteral(f, c)
}

func (s *jsonState) stepValue(f *frame, c byte) stepResult {
	n := f.node
	if isSpace(c) {
		return result(s.space(c))
	}
	switch {
	case n.enum || (len(n.lits) > 0 && (c == 't' || c == 'f' || c == 'n')):
		f.kind, f.lo, f.hi, f.pos = fLiteral, 0, int32(len(n.lits)), 0
		return s.stepLiteral(f, c)
	case c == '{' && n.types&tObject != 0:
		f.kind, f.phase, f.seen = fObject, objOpen, 0
	case c == '[' && n.types&tArray != 0:
		f.kind, f.phase, f.count = fArray, arrOpen, 0
	case c == '"' && n.types&tString != 0:
		f.kind = fString
	case (c == '-' || isDigit(c)) && n.types&(tNumber|tInteger) != 0:
		f.kind, f.phase, f.count = fNumber, numMinus, 0
		if c != '-' {
			f.phase = 0
			return stepNumber(f, c)
		}
	default:
		return rejected
	}
	return accepted
}

func result(ok bool) stepResult {
	if ok {
		return accepted
	}
	return rejected
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// stepNumber follows JSON's number grammar, integers only for integer
// nodes, with the digit caps of Schema.
func stepNumber(f *frame, c byte) stepResult {
	integer := f.node.types&tNumber == 0
	digit := func(next uint8, limit int32) stepResult {
		if f.phase != next {
			f.phase, f.count = next, 0
		}
		if f.count >= limit {
			return rejected
		}
		f.count++
		return accepted
	}
	switch f.phase {
	case 0, numMinus:
		if c == '0' {
			f.phase = numZero
			return accepted
		}
		if c >= '1' && c <= '9' {
			return digit(numInt, maxIntDigits)
		}
		return rejected
	case numZero, numInt:
		switch {
		case isDigit(c) && f.phase == numInt:
			return digit(numInt, maxIntDigits)
		case c == '.' && !integer:
			f.phase = numDot
			return accepted
		case (c == 'e' || c == 'E') && !integer:
			f.phase = numExp
			return accepted
		}
		return ended
	case numDot:
		if isDigit(c) {
			return digit(numFrac, maxFracDigits)
		}
		return rejected
	case numFrac:
		switch {
		case isDigit(c):
			return digit(numFrac, maxFracDigits)
		case c == 'e' || c == 'E':
			f.phase = numExp
			return accepted
		}
		return ended
	case numExp:
		if c == '+' || c == '-' {
			f.phase = numExpSign
			return accepted
		}
		fallthrough
	case numExpSign:
		if isDigit(c) {
			return digit(numExpDigit, maxExpDigits)
		}
		return rejected
	case numExpDigit:
		if isDigit(c) {
			return digit(numExpDigit, maxExpDigits)
		}
		return ended
	}
	return rejected
}

// numberComplete reports whether a number in phase p may end there.
func numberComplete(p uint8) bool {
	return p == numZero || p == numInt || p == numFrac || p == numExpDigit
}

// narrow returns the sub-range of list[lo:hi] (sorted, sharing their first
// pos bytes) whose byte at pos is c.
func narrow(list []string, lo, hi, pos int32, c byte) (int32, int32) {
	for lo < hi && (int32(len(list[lo])) <= pos || list[lo][pos] < c) {
		lo++
	}
	end := lo
	for end < hi && int32(len(list[end])) > pos && list[end][pos] == c {
		end++
	}
	return lo, end
}

func (s *jsonState) stepLiteral(f *frame, c byte) stepResult {
	lits := f.node.lits
	lo, hi := narrow(lits, f.lo, f.hi, f.pos, c)
	if lo == hi {
		if f.lo < f.hi && int32(len(lits[f.lo])) == f.pos {
			return ended
		}
		return rejected
	}
	f.lo, f.hi = lo, hi
	f.pos++
	if f.hi-f.lo == 1 && int32(len(lits[f.lo])) == f.pos {
		s.complete()
	}
	return accepted
}

// stepUTF8 checks one byte of string content against UTF-8.
func stepUTF8(f *frame, c byte) bool {
	if f.utf > 0 {
		if c < f.ulo || c > f.uhi {
			return false
		}
		f.utf--
		f.ulo, f.uhi = 0x80, 0xBF
		return true
	}
	if c < 0x80 {
		return c >= 0x20
	}
	f.ulo, f.uhi = 0x80, 0xBF
	switch {
	case c >= 0xC2 && c <= 0xDF:
		f.utf = 1
	case c == 0xE0:
		f.utf, f.ulo = 2, 0xA0
	case c == 0xED:
		f.utf, f.uhi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		f.utf = 2
	case c == 0xF0:
		f.utf, f.ulo = 3, 0x90
	case c == 0xF4:
		f.utf, f.uhi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		f.utf = 3
	default:
		return false
	}
	return true
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (s *jsonState) stepString(f *frame, c byte) stepResult {
	switch {
	case f.esc == 1:
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			f.esc = 0
		case 'u':
			f.esc = 2
		default:
			return rejected
		}
		return accepted
	case f.esc >= 2:
		if !isHex(c) {
			return rejected
		}
		if f.esc++; f.esc == 6 {
			f.esc = 0
		}
		return accepted
	case f.utf == 0 && c == '"':
		s.complete()
		return accepted
	case f.utf == 0 && c == '\\':
		f.esc = 1
		return accepted
	}
	return result(stepUTF8(f, c))
}

// missing returns the required properties of f's object not yet written.
func (f *frame) missing() uint64 { return f.node.reqMask &^ f.seen }

// keyPossible reports whether another key may be written.
func (f *frame) keyPossible() bool {
	return f.node.additional != nil || f.node.allMask&^f.seen != 0
}

// unseenIn reports whether a declared property of props[lo:hi] is unwritten.
func (f *frame) unseenIn(lo, hi int32) bool {
	for i := lo; i < hi; i++ {
		if f.seen&(1<<i) == 0 {
			return true
		}
	}
	return false
}

// exact reports whether the key typed so far is a declared name.
func (f *frame) exact() bool {
	return f.lo < f.hi && int32(len(f.node.props[f.lo].name)) == f.pos
}

func plainKeyByte(c byte) bool { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\' }

func (s *jsonState) stepObject(f *frame, c byte) stepResult {
	n := f.node
	switch f.phase {
	case objOpen, objComma, objNext:
		if isSpace(c) {
			return result(s.space(c))
		}
		switch {
		case c == '"' && f.phase != objNext && f.keyPossible():
			f.phase, f.lo, f.hi, f.pos, f.esc = objKey, 0, int32(len(n.props)), 0, 0
			return accepted
		case c == '}' && f.phase != objComma && f.missing() == 0:
			s.complete()
			return accepted
		case c == ',' && f.phase == objNext && f.keyPossible():
			f.phase = objComma
			return accepted
		}
		return rejected
	case objKey:
		if c == '"' {
			if f.exact() {
				if f.seen&(1<<f.lo) != 0 {
					return rejected
				}
				f.key = f.lo
				f.seen |= 1 << f.lo
			} else if n.additional != nil && f.esc == 0 {
				f.key = -1
			} else {
				return rejected
			}
			f.phase = objColon
			return accepted
		}
		if c < 0x20 || c == '\\' {
			return rejected
		}
		lo, hi := narrow(n.names, f.lo, f.hi, f.pos, c)
		if !f.unseenIn(lo, hi) && (n.additional == nil || f.esc != 0 || !plainKeyByte(c)) {
			return rejected
		}
		if c >= 0x80 {
			f.esc = 1 // only a declared name may hold non-ASCII bytes
		}
		f.lo, f.hi = lo, hi
		f.pos++
		return accepted
	case objColon:
		if isSpace(c) {
			return result(s.space(c))
		}
		if c != ':' {
			return rejected
		}
		f.phase = objValue
		s.push(f.valueNode())
		return accepted
	}
	return rejected
}

// valueNode is the schema of the value of the key just written.
func (f *frame) valueNode() *schemaNode {
	if f.key < 0 {
		return f.node.additional
	}
	return f.node.props[f.key].node
}

func (s *jsonState) stepArray(f *frame, c byte) stepResult {
	n := f.node
	if isSpace(c) {
		return result(s.space(c))
	}
	switch {
	case c == ']' && int(f.count) >= n.minItems:
		s.complete()
		return accepted
	case f.phase == arrNext && c == ',' && (n.maxItems < 0 || int(f.count) < n.maxItems):
		f.count++
		f.phase = arrValue
		s.push(n.items)
		return accepted
	case f.phase == arrOpen && n.maxItems != 0:
		f.count++
		f.phase = arrValue
		s.push(n.items)
		return retry
	}
	return rejected
}
