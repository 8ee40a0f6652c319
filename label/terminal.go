package label

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Terminal runs the labelling loop on a text terminal: numbered answers,
// a line of keys to pick, rank, edit, write, skip or quit.
type Terminal struct {
	In  io.Reader
	Out io.Writer
	// Edit, if set, lets the person edit text in an editor (see EditWith)
	// and returns the result; nil means typing it inline, ended by a line
	// holding a single dot.
	Edit func(text string) (string, error)
}

const terminalHelp = `  N          answer N is the best (e.g. 2)
  r N N …    rank answers, best first (e.g. r 3 1); the others rank below
  e N        edit answer N; your text becomes the best answer
  w          write your own answer, which becomes the best
  s          skip this prompt for now (it comes back on the next start)
  q          quit (every saved label is kept)
`

// Run labels prompts until none is left, the person quits, the input
// ends or ctx is cancelled.
func (t Terminal) Run(ctx context.Context, l *Labeller) error {
	in := bufio.NewReader(t.In)
	out := t.Out
	for {
		it, err := l.Next(ctx)
		if err != nil {
			return err
		}
		done, total := l.Progress()
		if it == nil {
			fmt.Fprintf(out, "All done: %d of %d prompts labelled.\n", done, total)
			return nil
		}
		t.show(it, done, total)
		for decided := false; !decided; {
			fmt.Fprintf(out, "best 1-%d · r rank · e edit · w write · s skip · q quit · ? help > ", len(it.Answers))
			line, err := readLine(in)
			if err != nil {
				fmt.Fprintln(out)
				return eofIsQuit(err)
			}
			cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
			var d Decision
			switch cmd {
			case "":
				continue
			case "?", "h", "help":
				fmt.Fprint(out, terminalHelp)
				continue
			case "q", "quit":
				fmt.Fprintf(out, "%d of %d prompts labelled.\n", done, total)
				return nil
			case "s", "skip":
				if err := l.Skip(it.Index, it.Prompt); err != nil {
					return err
				}
				decided = true
				continue
			case "r", "rank":
				if d.Ranking, err = parseRanking(arg); err != nil {
					fmt.Fprintln(out, err)
					continue
				}
			case "e", "edit", "w", "write":
				initial := ""
				if cmd[0] == 'e' {
					n, err := strconv.Atoi(strings.TrimSpace(arg))
					if err != nil || n < 1 || n > len(it.Answers) {
						fmt.Fprintf(out, "which answer? e.g. e 1 (1 to %d)\n", len(it.Answers))
						continue
					}
					initial = it.Answers[n-1].Text
				}
				if d.Text, err = t.text(in, initial); err != nil {
					return eofIsQuit(err)
				}
				if strings.TrimSpace(d.Text) == "" {
					fmt.Fprintln(out, "nothing written; back to the answers")
					continue
				}
			default:
				n, err := strconv.Atoi(cmd)
				if err != nil || arg != "" {
					fmt.Fprintf(out, "unknown command %q; ? lists them\n", line)
					continue
				}
				d.Ranking = []int{n - 1}
			}
			res, err := l.Decide(it.Index, it.Prompt, d)
			if errors.Is(err, ErrDecision) {
				fmt.Fprintln(out, err)
				continue
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "saved: 1 SFT line, %d preference pairs\n", len(res.Pairs))
			decided = true
		}
	}
}

// show prints a prompt and its numbered answers.
func (t Terminal) show(it *Item, done, total int) {
	fmt.Fprintf(t.Out, "\n── prompt %d of %d (%d labelled) ──\n%s\n", it.Index+1, total, done, it.Prompt)
	for i, a := range it.Answers {
		score := ""
		if a.Score != nil {
			score = fmt.Sprintf(" (reward %.3f)", *a.Score)
		}
		text := a.Text
		if text == "" {
			text = "(empty answer)"
		}
		fmt.Fprintf(t.Out, "\n[%d]%s\n    %s\n", i+1, score, strings.ReplaceAll(text, "\n", "\n    "))
	}
	fmt.Fprintln(t.Out)
}

// text gets an edited or new answer, in the editor or inline.
func (t Terminal) text(in *bufio.Reader, initial string) (string, error) {
	if t.Edit != nil {
		return t.Edit(initial)
	}
	if initial != "" {
		fmt.Fprintln(t.Out, "Type the new version of the answer (copy what you keep).")
	}
	fmt.Fprintln(t.Out, "End with a line holding only a dot (.):")
	var lines []string
	for {
		line, err := readLine(in)
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(line) == "." {
			return strings.Join(lines, "\n"), nil
		}
		lines = append(lines, line)
	}
}

// parseRanking reads answer numbers, from 1, separated by spaces or commas.
func parseRanking(s string) ([]int, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '>' })
	if len(fields) == 0 {
		return nil, errors.New("rank which answers? e.g. r 2 1 3 (best first)")
	}
	ranking := make([]int, len(fields))
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an answer number; e.g. r 2 1 3", f)
		}
		ranking[i] = n - 1
	}
	return ranking, nil
}

// readLine reads one line without its line ending; a last line without a
// newline still counts.
func readLine(in *bufio.Reader) (string, error) {
	line, err := in.ReadString('\n')
	if err == io.EOF && line != "" {
		err = nil
	}
	return strings.TrimRight(line, "\r\n"), err
}

// eofIsQuit treats the end of the input as quitting.
func eofIsQuit(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// EditWith returns an Edit function that opens the text in editor (a
// command line such as "vim" or "code --wait", as in $EDITOR) on a
// temporary file, attached to this process's terminal.
func EditWith(editor string) func(string) (string, error) {
	return func(text string) (string, error) {
		args := strings.Fields(editor)
		if len(args) == 0 {
			return "", errors.New("label: no editor set ($EDITOR)")
		}
		f, err := os.CreateTemp("", "llmos-label-*.txt")
		if err != nil {
			return "", fmt.Errorf("label: %w", err)
		}
		defer os.Remove(f.Name())
		_, err = f.WriteString(text)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("label: %w", err)
		}
		cmd := exec.Command(args[0], append(args[1:], f.Name())...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("label: editor %q: %w", editor, err)
		}
		b, err := os.ReadFile(f.Name())
		if err != nil {
			return "", fmt.Errorf("label: %w", err)
		}
		return string(b), nil
	}
}
