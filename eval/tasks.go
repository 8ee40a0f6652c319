package eval

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Kind says how a task is scored.
type Kind string

const (
	// MultipleChoice items are right when the answer choice has the
	// highest log-likelihood as a continuation of the context.
	MultipleChoice Kind = "multiple_choice"
	// ExactMatch items are right when the greedy generation for the
	// prompt matches the answer.
	ExactMatch Kind = "exact_match"
)

// Item is one question of a task. Multiple-choice items use Context,
// Choices and Answer (an index into Choices); exact-match items use Prompt
// and Target.
type Item struct {
	Context string
	Choices []string
	Answer  int
	Prompt  string
	Target  string
}

// Task is a named set of items of one kind.
type Task struct {
	Name  string
	Kind  Kind
	Items []Item
	// Stop strings end the generation of exact-match items.
	Stop []string
}

// LoadOptions configure LoadTasks.
type LoadOptions struct {
	// DataDir holds the built-in data sets (blimp/blimp.zip,
	// gsm8k/test.jsonl and train.jsonl).
	DataDir string
	// Shots is the number of solved GSM8K training problems put before
	// each question; zero asks zero-shot.
	Shots int
}

// LoadTasks resolves a task specification:
//
//	blimp            every BLiMP paradigm, one task each
//	blimp:PARADIGM   one BLiMP paradigm (e.g. blimp:anaphor_gender_agreement)
//	gsm8k            GSM8K's test set, exact match on the final number
//	FILE.jsonl       a custom task, one JSON object per line: either
//	                 {"context": "...", "choices": ["...", ...], "answer": INDEX}
//	                 (multiple choice) or {"prompt": "...", "answer": "..."}
//	                 (exact match)
func LoadTasks(spec string, opts LoadOptions) ([]*Task, error) {
	switch {
	case spec == "blimp" || strings.HasPrefix(spec, "blimp:"):
		return loadBLiMP(filepath.Join(opts.DataDir, "blimp", "blimp.zip"), strings.TrimPrefix(strings.TrimPrefix(spec, "blimp"), ":"))
	case spec == "gsm8k":
		t, err := loadGSM8K(filepath.Join(opts.DataDir, "gsm8k"), opts.Shots)
		if err != nil {
			return nil, err
		}
		return []*Task{t}, nil
	case strings.HasSuffix(spec, ".jsonl"):
		t, err := LoadJSONL(spec)
		if err != nil {
			return nil, err
		}
		return []*Task{t}, nil
	}
	return nil, fmt.Errorf("eval: unknown task %q (want blimp, blimp:PARADIGM, gsm8k or a FILE.jsonl)", spec)
}

// loadBLiMP reads the BLiMP archive: each data/<paradigm>.jsonl becomes a
// task whose items have an empty context and the choices (sentence_good,
// sentence_bad), the good one right. subset "" means every paradigm.
func loadBLiMP(zipPath, subset string) ([]*Task, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return nil, fmt.Errorf("eval: blimp: %w", err)
	}
	defer zr.Close()
	var tasks []*Task
	var names []string
	for _, f := range zr.File {
		dir, base := path.Split(f.Name)
		paradigm, ok := strings.CutSuffix(base, ".jsonl")
		if !ok || dir != "data/" || strings.HasPrefix(base, ".") {
			continue // __MACOSX/ resource forks and the like
		}
		names = append(names, paradigm)
		if subset != "" && paradigm != subset {
			continue
		}
		t, err := readBLiMPFile(f, paradigm)
		if err != nil {
			return nil, fmt.Errorf("eval: blimp %s: %w", f.Name, err)
		}
		tasks = append(tasks, t)
	}
	if len(tasks) == 0 {
		slices.Sort(names)
		if subset == "" {
			return nil, fmt.Errorf("eval: blimp: %s holds no data/*.jsonl files", zipPath)
		}
		return nil, fmt.Errorf("eval: blimp has no paradigm %q; there are %d: %s", subset, len(names), strings.Join(names, ", "))
	}
	slices.SortFunc(tasks, func(a, b *Task) int { return strings.Compare(a.Name, b.Name) })
	return tasks, nil
}

func readBLiMPFile(f *zip.File, paradigm string) (*Task, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	t := &Task{Name: "blimp:" + paradigm, Kind: MultipleChoice}
	err = eachJSONLine(rc, func(raw []byte) error {
		var rec struct {
			Good *string `json:"sentence_good"`
			Bad  *string `json:"sentence_bad"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return err
		}
		if rec.Good == nil || rec.Bad == nil {
			return errors.New("missing sentence_good or sentence_bad")
		}
		t.Items = append(t.Items, Item{Choices: []string{*rec.Good, *rec.Bad}, Answer: 0})
		return nil
	})
	return t, err
}

// gsm8kStops end an answer where a model trained on the few-shot format
// would start the next question.
var gsm8kStops = []string{"Question:", "\n\n"}

// loadGSM8K builds GSM8K's test set in lm-evaluation-harness's format:
// "Question: …\nAnswer:" after shots solved training problems, each
// "Question: …\nAnswer: <worked solution ending in #### N>".
func loadGSM8K(dir string, shots int) (*Task, error) {
	if shots < 0 {
		return nil, fmt.Errorf("eval: gsm8k: shots must not be negative, got %d", shots)
	}
	type problem struct{ question, answer string }
	read := func(name string, n int) ([]problem, error) {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("eval: gsm8k: %w", err)
		}
		defer f.Close()
		var ps []problem
		err = eachJSONLine(f, func(raw []byte) error {
			if n >= 0 && len(ps) >= n {
				return errStop
			}
			var rec struct {
				Question *string `json:"question"`
				Answer   *string `json:"answer"`
			}
			if err := json.Unmarshal(raw, &rec); err != nil {
				return err
			}
			if rec.Question == nil || rec.Answer == nil {
				return errors.New("missing question or answer")
			}
			ps = append(ps, problem{*rec.Question, *rec.Answer})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("eval: gsm8k %s: %w", name, err)
		}
		return ps, nil
	}
	var prefix strings.Builder
	if shots > 0 {
		train, err := read("train.jsonl", shots)
		if err != nil {
			return nil, err
		}
		if len(train) < shots {
			return nil, fmt.Errorf("eval: gsm8k: %d shots asked, train.jsonl has %d problems", shots, len(train))
		}
		for _, p := range train {
			fmt.Fprintf(&prefix, "Question: %s\nAnswer: %s\n\n", p.question, p.answer)
		}
	}
	test, err := read("test.jsonl", -1)
	if err != nil {
		return nil, err
	}
	t := &Task{Name: "gsm8k", Kind: ExactMatch, Stop: gsm8kStops}
	for i, p := range test {
		_, gold, ok := strings.Cut(p.answer, "####")
		if !ok {
			return nil, fmt.Errorf("eval: gsm8k test.jsonl problem %d: answer has no \"####\"", i+1)
		}
		t.Items = append(t.Items, Item{Prompt: prefix.String() + "Question: " + p.question + "\nAnswer:", Target: strings.TrimSpace(gold)})
	}
	return t, nil
}

// LoadJSONL reads a custom task (see LoadTasks for the format). Every line
// must be of the same kind; an exact-match answer may be a JSON string or
// number.
func LoadJSONL(file string) (*Task, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("eval: task: %w", err)
	}
	defer f.Close()
	t := &Task{Name: strings.TrimSuffix(filepath.Base(file), ".jsonl")}
	err = eachJSONLine(f, func(raw []byte) error {
		var rec struct {
			Context *string         `json:"context"`
			Choices []string        `json:"choices"`
			Prompt  *string         `json:"prompt"`
			Answer  json.RawMessage `json:"answer"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return err
		}
		if len(rec.Answer) == 0 {
			return errors.New(`missing "answer"`)
		}
		var it Item
		var kind Kind
		switch {
		case rec.Choices != nil && rec.Prompt == nil:
			kind = MultipleChoice
			if len(rec.Choices) < 2 {
				return fmt.Errorf("%d choices; a multiple-choice item needs at least 2", len(rec.Choices))
			}
			if err := json.Unmarshal(rec.Answer, &it.Answer); err != nil {
				return fmt.Errorf(`"answer" must be the index of the right choice: %w`, err)
			}
			if it.Answer < 0 || it.Answer >= len(rec.Choices) {
				return fmt.Errorf(`"answer" %d is not an index into %d choices`, it.Answer, len(rec.Choices))
			}
			if rec.Context != nil {
				it.Context = *rec.Context
			}
			it.Choices = rec.Choices
		case rec.Prompt != nil && rec.Choices == nil:
			kind = ExactMatch
			it.Prompt = *rec.Prompt
			var s string
			var n json.Number
			switch {
			case json.Unmarshal(rec.Answer, &s) == nil:
				it.Target = s
			case json.Unmarshal(rec.Answer, &n) == nil:
				it.Target = n.String()
			default:
				return errors.New(`"answer" of an exact-match item must be a string or a number`)
			}
		default:
			return errors.New(`want {"context", "choices", "answer"} (multiple choice) or {"prompt", "answer"} (exact match)`)
		}
		if t.Kind != "" && t.Kind != kind {
			return fmt.Errorf("a %s item in a %s task", kind, t.Kind)
		}
		t.Kind = kind
		t.Items = append(t.Items, it)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("eval: task %s: %w", file, err)
	}
	if len(t.Items) == 0 {
		return nil, fmt.Errorf("eval: task %s: no items", file)
	}
	return t, nil
}

// errStop ends eachJSONLine early without an error.
var errStop = errors.New("stop")

// eachJSONLine calls fn with every non-blank line of r, wrapping its error
// with the line number.
func eachJSONLine(r io.Reader, fn func(raw []byte) error) error {
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		text, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if t := bytes.TrimSpace(text); len(t) > 0 {
			if ferr := fn(t); ferr == errStop {
				return nil
			} else if ferr != nil {
				return fmt.Errorf("line %d: %w", line, ferr)
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}
