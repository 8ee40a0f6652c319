package sample

import "strings"

// StopMatcher finds stop strings in text that arrives in pieces, as a
// streaming generation decodes it token by token. It holds back the end of
// the text while it could still be the start of a stop string, so a stream
// never shows a partial stop string that later turns out to be one.
type StopMatcher struct {
	stops   []string
	pending string // text received but not yet released
	matched string // the stop string found, once found
	done    bool
}

// NewStopMatcher returns a matcher for the given stop strings. Empty
// strings are ignored; with no stop strings every piece passes through.
func NewStopMatcher(stops []string) *StopMatcher {
	m := &StopMatcher{}
	for _, s := range stops {
		if s != "" {
			m.stops = append(m.stops, s)
		}
	}
	return m
}

// Feed adds the next piece of text. It returns the text that is now safe to
// emit and whether a stop string has appeared. On a match, emit is the text
// up to (not including) the earliest stop string, and the generation should
// end; the text after it is discarded. After a match Feed returns "", true.
func (m *StopMatcher) Feed(piece string) (emit string, stopped bool) {
	if m.done {
		return "", true
	}
	text := m.pending + piece
	at, stop := -1, ""
	for _, s := range m.stops {
		// The earliest occurrence wins; among stops starting at the same
		// place the longest is reported, since it covers the others.
		if i := strings.Index(text, s); i >= 0 && (at < 0 || i < at || (i == at && len(s) > len(stop))) {
			at, stop = i, s
		}
	}
	if at >= 0 {
		m.done, m.matched, m.pending = true, stop, ""
		return text[:at], true
	}
	keep := m.partialSuffix(text)
	m.pending = text[len(text)-keep:]
	return text[:len(text)-keep], false
}

// partialSuffix returns the length of the longest suffix of text that is a
// proper prefix of some stop string.
func (m *StopMatcher) partialSuffix(text string) int {
	longest := 0
	for _, s := range m.stops {
		for n := min(len(s)-1, len(text)); n > longest; n-- {
			if strings.HasSuffix(text, s[:n]) {
				longest = n
				break
			}
		}
	}
	return longest
}

// Flush returns the held-back text when generation ends without a stop
// string (end of sequence, length limit); it is "" after a match.
func (m *StopMatcher) Flush() string {
	rest := m.pending
	m.pending = ""
	return rest
}

// Matched returns the stop string that ended the text, or "" if none has.
func (m *StopMatcher) Matched() string {
	return m.matched
}
