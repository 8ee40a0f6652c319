package sample

// The closing plan of a state is a short text that completes the document:
// JSONConstraint lets a token through only if the plan after it still fits
// in the tokens left, so the document always closes before max_tokens.
// Plans are consistent: after the first byte of a state's plan, the new
// state's plan is the rest of it. So a tokenizer with a token for each
// byte can always follow the plan to the end.

// planOut receives a plan: its bytes, or only their count.
type planOut struct {
	buf   []byte
	n     int
	write bool
}

func (p *planOut) str(s string) {
	p.n += len(s)
	if p.write {
		p.buf = append(p.buf, s...)
	}
}

func (p *planOut) byte(c byte) {
	p.n++
	if p.write {
		p.buf = append(p.buf, c)
	}
}

// planLen returns the length of the state's closing plan; 0 means the
// document may end here.
func (s *jsonState) planLen() int {
	var p planOut
	s.plan(&p)
	return p.n
}

// planText returns the closing plan itself.
func (s *jsonState) planText() string {
	p := planOut{write: true}
	s.plan(&p)
	return string(p.buf)
}

func (s *jsonState) plan(p *planOut) {
	for i := len(s.stack) - 1; i >= 0; i-- {
		f := &s.stack[i]
		top := i == len(s.stack)-1
		switch f.kind {
		case fValue:
			p.str(f.node.minText)
		case fString:
			planString(f, p)
		case fNumber:
			switch f.phase {
			case numMinus, numDot, numExp, numExpSign:
				p.byte('0')
			}
		case fLiteral:
			p.str(shortest(f.node.lits, int(f.lo), int(f.hi))[f.pos:])
		case fObject:
			switch {
			case !top || f.phase == objNext:
				planRest(f, f.missing(), p)
			case f.phase == objOpen && f.missing() == 0:
				p.byte('}')
			case f.phase == objOpen || f.phase == objComma:
				p.byte('"')
				fresh := *f
				fresh.lo, fresh.hi, fresh.pos, fresh.esc = 0, int32(len(f.node.props)), 0, 0
				planKey(&fresh, p)
			case f.phase == objKey:
				planKey(f, p)
			case f.phase == objColon:
				p.byte(':')
				p.str(f.valueNode().minText)
				planRest(f, f.missing(), p)
			}
		case fArray:
			n := f.node
			if top && f.phase == arrOpen {
				for k := range n.minItems {
					if k > 0 {
						p.byte(',')
					}
					p.str(n.items.minText)
				}
			} else {
				for k := int(f.count); k < n.minItems; k++ {
					p.byte(',')
					p.str(n.items.minText)
				}
			}
			p.byte(']')
		}
	}
}

func planString(f *frame, p *planOut) {
	switch {
	case f.esc == 1:
		p.byte('\\')
	case f.esc >= 2:
		for k := f.esc; k < 6; k++ {
			p.byte('0')
		}
	case f.utf > 0:
		p.byte(f.ulo)
		for k := uint8(1); k < f.utf; k++ {
			p.byte(0x80)
		}
	}
	p.byte('"')
}

// planRest writes the missing required properties, in name order, and the
// closing brace.
func planRest(f *frame, missing uint64, p *planOut) {
	for i, prop := range f.node.props {
		if missing&(1<<i) != 0 {
			p.str(`,"`)
			p.str(prop.name)
			p.str(`":`)
			p.str(prop.node.minText)
		}
	}
	p.byte('}')
}

// restCost is the length planRest writes.
func restCost(n *schemaNode, missing uint64) int {
	cost := 1
	for i, prop := range n.props {
		if missing&(1<<i) != 0 {
			cost += len(prop.name) + 4 + len(prop.node.minText)
		}
	}
	return cost
}

// planKey finishes the key being typed in the cheapest way: a declared
// unwritten name it is a prefix of (the first among equals), or, where
// undeclared keys are allowed, ending it here (after one more character if
// it is a declared name as it stands).
func planKey(f *frame, p *planOut) {
	n := f.node
	missing := f.missing()
	best, bestCost := int32(-1), 0
	for i := f.lo; i < f.hi; i++ {
		if f.seen&(1<<i) != 0 {
			continue
		}
		prop := n.props[i]
		cost := len(prop.name) - int(f.pos) + 2 + len(prop.node.minText) + restCost(n, missing&^(1<<i))
		if best < 0 || cost < bestCost {
			best, bestCost = i, cost
		}
	}
	var extra byte
	if n.additional != nil && f.esc == 0 {
		cost := 2 + len(n.additional.minText) + restCost(n, missing)
		if f.exact() {
			extra = f.escapeChar()
			cost++
		}
		if best < 0 || cost < bestCost {
			if extra != 0 {
				p.byte(extra)
			}
			p.str(`":`)
			p.str(n.additional.minText)
			planRest(f, missing, p)
			return
		}
	}
	prop := n.props[best]
	p.str(prop.name[f.pos:])
	p.str(`":`)
	p.str(prop.node.minText)
	planRest(f, missing&^(1<<best), p)
}

// escapeChar returns a key character after which the key typed so far is
// no longer a prefix of any declared name.
func (f *frame) escapeChar() byte {
	for c := byte('!'); c < 0x7F; c++ {
		if !plainKeyByte(c) {
			continue
		}
		if lo, hi := narrow(f.node.names, f.lo, f.hi, f.pos, c); lo == hi {
			return c
		}
	}
	return '_' // unreachable: at most 64 names share the range
}
