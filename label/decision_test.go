package label

import (
	"errors"
	"reflect"
	"testing"
)

func TestResolve(t *testing.T) {
	answers := []string{"A", "B", "C"}
	pair := func(c, r string) PrefRecord { return PrefRecord{Prompt: "P", Chosen: c, Rejected: r} }
	cases := []struct {
		name    string
		answers []string
		d       Decision
		best    string
		pairs   []PrefRecord
		err     bool
	}{
		{name: "pick", answers: answers, d: Decision{Ranking: []int{1}}, best: "B",
			pairs: []PrefRecord{pair("B", "A"), pair("B", "C")}},
		{name: "full ranking", answers: answers, d: Decision{Ranking: []int{2, 0, 1}}, best: "C",
			pairs: []PrefRecord{pair("C", "A"), pair("C", "B"), pair("A", "B")}},
		{name: "partial ranking", answers: append(answers, "D"), d: Decision{Ranking: []int{3, 1}}, best: "D",
			pairs: []PrefRecord{pair("D", "B"), pair("D", "A"), pair("D", "C"), pair("B", "A"), pair("B", "C")}},
		{name: "own answer", answers: answers, d: Decision{Text: "  mine\n"}, best: "mine",
			pairs: []PrefRecord{pair("mine", "A"), pair("mine", "B"), pair("mine", "C")}},
		{name: "edit with a ranking", answers: answers, d: Decision{Text: "B!", Ranking: []int{1, 0}}, best: "B!",
			pairs: []PrefRecord{pair("B!", "B"), pair("B!", "A"), pair("B!", "C"), pair("B", "A"), pair("B", "C"), pair("A", "C")}},
		{name: "unchanged edit is a pick", answers: answers, d: Decision{Text: "A"}, best: "A",
			pairs: []PrefRecord{pair("A", "B"), pair("A", "C")}},
		{name: "one answer picked", answers: []string{"A"}, d: Decision{Ranking: []int{0}}, best: "A"},
		{name: "own answer without samples", d: Decision{Text: "x"}, best: "x"},
		{name: "repeated texts", answers: []string{"A", "B", "A"}, d: Decision{Ranking: []int{0, 1}}, best: "A",
			pairs: []PrefRecord{pair("A", "B")}},
		{name: "nothing decided", answers: answers, d: Decision{Text: "  "}, err: true},
		{name: "out of range", answers: answers, d: Decision{Ranking: []int{3}}, err: true},
		{name: "negative", answers: answers, d: Decision{Ranking: []int{-1}}, err: true},
		{name: "ranked twice", answers: answers, d: Decision{Ranking: []int{0, 0}}, err: true},
		{name: "empty best", answers: []string{"", "B"}, d: Decision{Ranking: []int{0}}, err: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Resolve("P", c.answers, c.d)
			if c.err {
				if !errors.Is(err, ErrDecision) {
					t.Fatalf("err = %v, want ErrDecision", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := SFTRecord{Messages: []Message{{Role: "user", Content: "P"}, {Role: "assistant", Content: c.best}}}
			if !reflect.DeepEqual(out.SFT, want) {
				t.Errorf("SFT = %+v, want %+v", out.SFT, want)
			}
			if !reflect.DeepEqual(out.Pairs, c.pairs) {
				t.Errorf("pairs = %+v\nwant    %+v", out.Pairs, c.pairs)
			}
			// OpenStore's repair relies on this.
			if len(out.Pairs) > 0 && out.Pairs[0].Chosen != c.best {
				t.Errorf("first pair chooses %q, not the best answer", out.Pairs[0].Chosen)
			}
		})
	}
}

func BenchmarkResolve(b *testing.B) {
	answers := []string{"one answer", "another answer", "a third", "a fourth", "fifth", "sixth", "seventh", "eighth"}
	d := Decision{Ranking: []int{7, 6, 5, 4, 3, 2, 1, 0}}
	for b.Loop() {
		if _, err := Resolve("prompt", answers, d); err != nil {
			b.Fatal(err)
		}
	}
}
