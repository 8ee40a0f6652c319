package convo

import (
	"slices"
	"testing"

	"github.com/llmos/llmos/chat"
)

// ex builds an example from tokens; a negative token is scored (its
// absolute value is the id).
func ex(ids ...int32) Example {
	var e Example
	for _, id := range ids {
		e.Tokens = append(e.Tokens, max(id, -id))
		e.Scored = append(e.Scored, id < 0)
	}
	return e
}

func TestPack(t *testing.T) {
	const pad = 99
	for _, tc := range []struct {
		name    string
		exs     []Example
		T       int
		tokens  [][]int32
		targets [][]int32
		stats   PackStats
	}{
		{
			name: "two fit one row, the third starts the next",
			exs:  []Example{ex(1, 2, -3), ex(4, -5), ex(6, 7, -8, -9)},
			T:    5,
			// Row 0 holds 1 2 3 4 5 (T+1 = 6 tokens fit): targets are
			// the next token where that token is scored.
			tokens:  [][]int32{{1, 2, 3, 4, 5}, {6, 7, 8, 9, pad}},
			targets: [][]int32{{-1, 3, -1, 5, -1}, {-1, 8, 9, -1, -1}},
			stats:   PackStats{Examples: 3, Rows: 2, Tokens: 9, Scored: 4},
		},
		{
			name:    "a long example is cut and gets its own row",
			exs:     []Example{ex(1, -2), ex(3, 4, -5, -6, -7, -8), ex(9, -10)},
			T:       3,
			tokens:  [][]int32{{1, 2, pad}, {3, 4, 5}, {9, 10, pad}},
			targets: [][]int32{{2, -1, -1}, {-1, 5, 6}, {10, -1, -1}},
			stats:   PackStats{Examples: 3, Rows: 3, Truncated: 1, Tokens: 8, Scored: 4},
		},
		{
			name:    "a cut that leaves nothing scored drops the example",
			exs:     []Example{ex(1, 2, 3, 4, 5, -6), ex(7, -8)},
			T:       3,
			tokens:  [][]int32{{7, 8, pad}},
			targets: [][]int32{{8, -1, -1}},
			stats:   PackStats{Examples: 2, Rows: 1, Truncated: 1, Dropped: 1, Tokens: 2, Scored: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, st := Pack(tc.exs, tc.T, pad)
			if st != tc.stats {
				t.Errorf("stats %+v, want %+v", st, tc.stats)
			}
			if len(rows) != len(tc.tokens) {
				t.Fatalf("%d rows, want %d", len(rows), len(tc.tokens))
			}
			for i, r := range rows {
				if !slices.Equal(r.Tokens, tc.tokens[i]) || !slices.Equal(r.Targets, tc.targets[i]) {
					t.Errorf("row %d: tokens %v targets %v, want %v %v", i, r.Tokens, r.Targets, tc.tokens[i], tc.targets[i])
				}
			}
		})
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		n        int
		fraction float64
		val      int
	}{{100, 0.1, 10}, {5, 0.01, 1}, {1, 0.5, 0}, {10, 0, 0}, {3, 1, 2}} {
		tr, val := Split(tc.n, tc.fraction, 7)
		if len(val) != tc.val || len(tr)+len(val) != tc.n {
			t.Errorf("Split(%d, %g): %d train, %d val; want %d val", tc.n, tc.fraction, len(tr), len(val), tc.val)
		}
		all := slices.Sorted(slices.Values(append(slices.Clone(tr), val...)))
		for i, v := range all {
			if v != i {
				t.Fatalf("Split(%d, %g) is not a partition: %v", tc.n, tc.fraction, all)
			}
		}
		tr2, val2 := Split(tc.n, tc.fraction, 7)
		if !slices.Equal(tr, tr2) || !slices.Equal(val, val2) {
			t.Errorf("Split(%d, %g) differs for the same seed", tc.n, tc.fraction)
		}
	}
}

func TestFitPair(t *testing.T) {
	for _, tc := range []struct {
		name           string
		chosen, reject Example
		T              int
		wantC, wantR   Example
		cut            bool
	}{
		{"fits", ex(1, 2, -3), ex(1, 2, -4, -5), 4, ex(1, 2, -3), ex(1, 2, -4, -5), false},
		{"prompt loses its start", ex(1, 2, 3, 4, -5, -6), ex(1, 2, 3, 4, -7), 4, ex(3, 4, -5, -6), ex(3, 4, -7), true},
		{"long reply: half the row for the prompt, reply cut", ex(1, 2, 3, -4, -5, -6, -7, -8), ex(1, 2, 3, -9), 4, ex(2, 3, -4, -5), ex(2, 3, -9), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, r, cut := FitPair(tc.chosen, tc.reject, tc.T)
			same := func(a, b Example) bool { return slices.Equal(a.Tokens, b.Tokens) && slices.Equal(a.Scored, b.Scored) }
			if cut != tc.cut || !same(c, tc.wantC) || !same(r, tc.wantR) {
				t.Errorf("got %v %v (cut %v), want %v %v (cut %v)", c, r, cut, tc.wantC, tc.wantR, tc.cut)
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	enc, err := NewEncoder(byteTokenizer(b), "")
	if err != nil {
		b.Fatal(err)
	}
	c := Conversation{Messages: []chat.Message{{Role: "system", Content: "You are helpful."}, {Role: "user", Content: "Tell me a story about a cat."},
		{Role: "assistant", Content: "Once upon a time a cat found a ball and played with it all day."}, {Role: "user", Content: "Another"},
		{Role: "assistant", Content: "A dog saw a bird in the tree and barked until it flew away."}}}
	for b.Loop() {
		if _, err := enc.Encode(c); err != nil {
			b.Fatal(err)
		}
	}
}
