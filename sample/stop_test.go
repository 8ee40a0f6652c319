package sample

import (
	"strings"
	"testing"
)

func TestStopMatcher(t *testing.T) {
	tests := []struct {
		name    string
		stops   []string
		pieces  []string
		emits   []string // what each Feed returns
		stopped int      // index of the Feed that reports the stop, -1 if none
		flush   string
		matched string
	}{
		{
			name: "no stops passes through", stops: nil,
			pieces: []string{"Hello", " world"}, emits: []string{"Hello", " world"},
			stopped: -1,
		},
		{
			name: "stop inside one piece", stops: []string{"</s>"},
			pieces: []string{"Hi</s>there"}, emits: []string{"Hi"},
			stopped: 0, matched: "</s>",
		},
		{
			name: "stop split across pieces", stops: []string{"<|im_end|>"},
			pieces: []string{"Sure", "!<|im", "_e", "nd|>", "more"}, emits: []string{"Sure", "!", "", ""},
			stopped: 3, matched: "<|im_end|>",
		},
		{
			name: "partial match released when it breaks", stops: []string{"User:"},
			pieces: []string{"a Us", "e", "ful"}, emits: []string{"a ", "", "Useful"},
			stopped: -1,
		},
		{
			name: "no false holdback at end", stops: []string{"###"},
			pieces: []string{"x #", "#"}, emits: []string{"x ", ""},
			stopped: -1, flush: "##",
		},
		{
			name: "earliest of several stops wins", stops: []string{"END", "\n\n"},
			pieces: []string{"one\n", "\ntwo END"}, emits: []string{"one", ""},
			stopped: 1, matched: "\n\n",
		},
		{
			name: "longest stop at the same position", stops: []string{"<", "<|eot|>"},
			pieces: []string{"ok<|eot|>"}, emits: []string{"ok"},
			stopped: 0, matched: "<|eot|>",
		},
		{
			name: "holdback uses the longest possible prefix", stops: []string{"ab", "aab"},
			pieces: []string{"xaa", "c"}, emits: []string{"x", "aac"},
			stopped: -1,
		},
		{
			name: "stop is the whole first piece", stops: []string{"STOP"},
			pieces: []string{"STOP", "later"}, emits: []string{"", ""},
			stopped: 0, matched: "STOP",
		},
		{
			name: "multibyte stop split inside a rune", stops: []string{"é!"},
			pieces: []string{"caf\xc3", "\xa9!"}, emits: []string{"caf", ""},
			stopped: 1, matched: "é!",
		},
		{
			name: "empty stop strings ignored", stops: []string{""},
			pieces: []string{"abc"}, emits: []string{"abc"},
			stopped: -1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewStopMatcher(tc.stops)
			var out strings.Builder
			for i, piece := range tc.pieces {
				emit, stopped := m.Feed(piece)
				out.WriteString(emit)
				if i < len(tc.emits) && emit != tc.emits[i] {
					t.Errorf("Feed(%q) emitted %q, want %q", piece, emit, tc.emits[i])
				}
				if want := tc.stopped >= 0 && i >= tc.stopped; stopped != want {
					t.Errorf("Feed(%q) stopped = %v, want %v", piece, stopped, want)
				}
				if stopped && emit != "" && i > tc.stopped {
					t.Errorf("Feed after the stop emitted %q", emit)
				}
			}
			if got := m.Flush(); got != tc.flush {
				t.Errorf("Flush = %q, want %q", got, tc.flush)
			}
			if m.Matched() != tc.matched {
				t.Errorf("Matched = %q, want %q", m.Matched(), tc.matched)
			}
			// What was emitted plus the flush is the text up to the stop.
			all := strings.Join(tc.pieces, "")
			if tc.matched != "" {
				all = all[:strings.Index(all, tc.matched)]
			}
			if got := out.String() + tc.flush; got != all {
				t.Errorf("emitted %q in total, want %q", got, all)
			}
		})
	}
}

// TestStopMatcherNeverLeaksPrefix feeds text one byte at a time and checks
// that the emitted stream never ends with the start of a stop string that
// the full text goes on to complete.
func TestStopMatcherNeverLeaksPrefix(t *testing.T) {
	text := "The answer is 42.\nObservation: done<|eot_id|>ignored"
	stops := []string{"<|eot_id|>", "Observation:"}
	m := NewStopMatcher(stops)
	var out strings.Builder
	for i := range len(text) {
		emit, stopped := m.Feed(text[i : i+1])
		out.WriteString(emit)
		if strings.Contains(out.String(), "Obs") {
			t.Fatalf("emitted %q: leaked the start of a stop string", out.String())
		}
		if stopped {
			break
		}
	}
	if out.String() != "The answer is 42.\n" || m.Matched() != "Observation:" {
		t.Errorf("emitted %q, matched %q", out.String(), m.Matched())
	}
}

func BenchmarkStopMatcher(b *testing.B) {
	pieces := strings.Fields(strings.Repeat("the quick brown fox jumps over the lazy dog ", 20))
	stops := []string{"<|im_end|>", "</s>", "\nUser:"}
	for b.Loop() {
		m := NewStopMatcher(stops)
		for _, p := range pieces {
			m.Feed(p)
		}
		m.Flush()
	}
}
