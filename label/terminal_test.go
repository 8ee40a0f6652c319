package label

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

func TestTerminal(t *testing.T) {
	cases := []struct {
		name   string
		input  string
		edit   func(string) (string, error)
		sft    []string // assistant answers saved, in order
		pairs  int
		output []string // what the screen must show
	}{
		{
			name:  "every kind of decision",
			input: "?\n9\nr x\n2\nr 3 1\ne 1\nP3 edited\nsecond line\n.\nw\n  \n.\nw\nmine\n.\ns\n",
			sft:   []string{"P1: answer 2", "P2: answer 3", "P3 edited\nsecond line", "mine"},
			pairs: 2 + 3 + 3 + 3,
			output: []string{"── prompt 1 of 5 (0 labelled) ──\nP1\n\n[1]\n    P1: answer 1\n", "r N N …", "answer 9",
				`"x" is not an answer number`, "saved: 1 SFT line, 2 preference pairs", "nothing written", "All done: 4 of 5 prompts labelled."},
		},
		{
			name:   "quit",
			input:  "1\nq\n",
			sft:    []string{"P1: answer 1"},
			pairs:  2,
			output: []string{"1 of 5 prompts labelled."},
		},
		{
			name:  "end of input mid-edit",
			input: "1\nw\nhalf an answer",
			sft:   []string{"P1: answer 1"},
			pairs: 2,
		},
		{
			name:   "editor",
			input:  "e 2\n",
			edit:   func(s string) (string, error) { return strings.ToUpper(s) + "\n", nil },
			sft:    []string{"P1: ANSWER 2"},
			pairs:  3,
			output: []string{"saved: 1 SFT line, 3 preference pairs"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, sft, prefs := newLabeller(t, []string{"P1", "P2", "P3", "P4", "P5"}, &fakeGen{}, &Options{K: 3})
			var out strings.Builder
			if err := (Terminal{In: strings.NewReader(c.input), Out: &out, Edit: c.edit}).Run(context.Background(), l); err != nil {
				t.Fatal(err)
			}
			var want strings.Builder
			for i, a := range c.sft {
				out, err := Resolve("P"+string(rune('1'+i)), nil, Decision{Text: a})
				if err != nil {
					t.Fatal(err)
				}
				b, _ := jsonLines(out.SFT)
				want.WriteString(b)
			}
			if got := readFile(t, sft); got != want.String() {
				t.Errorf("SFT file\n%s\nwant\n%s", got, want.String())
			}
			if n := checkJSONL(t, prefs); n != c.pairs {
				t.Errorf("%d preference pairs, want %d", n, c.pairs)
			}
			for _, w := range c.output {
				if !strings.Contains(out.String(), w) {
					t.Errorf("the screen lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestEditWith(t *testing.T) {
	if _, err := exec.LookPath("sed"); err != nil {
		t.Skip("no sed to act as the editor")
	}
	got, err := EditWith("sed -i s/cat/dog/")("a cat\nsat")
	if err != nil || got != "a dog\nsat" {
		t.Errorf("EditWith = %q, %v", got, err)
	}
	if _, err := EditWith("false")("x"); err == nil || !strings.Contains(err.Error(), `editor "false"`) {
		t.Errorf("a failing editor: %v", err)
	}
	if _, err := EditWith(" ")("x"); err == nil {
		t.Error("no editor: no error")
	}
}
