package scaling

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Run is one training run: its parameter count N, its training tokens D,
// its training compute C in FLOPs, and its final loss. It is also one line
// of a sweep's results file (see [ResultsFile]).
type Run struct {
	// Name identifies the run within a sweep (for example "n1e6-d2e7");
	// a sweep uses it to tell finished jobs from pending ones.
	Name string `json:"name,omitempty"`
	// N is the number of model parameters.
	N float64 `json:"N"`
	// D is the number of training tokens.
	D float64 `json:"D"`
	// C is the training compute in FLOPs; loaders set it to 6ND when the
	// input gives only D.
	C float64 `json:"C,omitempty"`
	// Loss is the final (validation) loss in nats per token.
	Loss float64 `json:"loss"`
}

// Format is the syntax of a points file.
type Format int

const (
	// FormatAuto picks CSV or JSONL from the file name's extension, else
	// from the first non-blank byte ('{' means JSONL).
	FormatAuto Format = iota
	// FormatCSV is comma-separated values with a header row.
	FormatCSV
	// FormatJSONL is one JSON object per line.
	FormatJSONL
)

// Columns names the fields that hold N, D, C and the loss. An empty name
// means "find it by its usual names" (compared case-insensitively):
//
//	N:    N, params, parameters, model size, model_size
//	D:    D, tokens, training tokens, training_tokens
//	C:    C, flops, compute, training flop, training flops, training_flops
//	loss: loss, final loss, final_loss
//	name: name, run
//
// D wins when a row has both D and C; with only C, D = C/(6N).
type Columns struct {
	N, D, C, Loss, Name string
}

var columnAliases = map[string][]string{
	"N":    {"n", "params", "parameters", "model size", "model_size"},
	"D":    {"d", "tokens", "training tokens", "training_tokens"},
	"C":    {"c", "flops", "compute", "training flop", "training flops", "training_flops"},
	"loss": {"loss", "final loss", "final_loss"},
	"name": {"name", "run"},
}

// LoadOptions says how to read a points file. The zero value detects the
// format and the columns.
type LoadOptions struct {
	Format  Format
	Columns Columns
}

// LoadRuns reads the runs in the CSV or JSONL file at path.
func LoadRuns(path string, opts LoadOptions) ([]Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scaling: %w", err)
	}
	defer f.Close()
	if opts.Format == FormatAuto {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".csv":
			opts.Format = FormatCSV
		case ".jsonl", ".ndjson":
			opts.Format = FormatJSONL
		}
	}
	runs, err := ReadRuns(f, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return runs, nil
}

// ReadRuns reads runs from CSV (with a header row) or JSONL. Every row must
// give N, D or C, and the loss as positive finite numbers; an error names
// the offending line.
func ReadRuns(r io.Reader, opts LoadOptions) ([]Run, error) {
	br := bufio.NewReader(r)
	if opts.Format == FormatAuto {
		opts.Format = sniffFormat(br)
	}
	var (
		runs []Run
		err  error
	)
	switch opts.Format {
	case FormatCSV:
		runs, err = readCSV(br, opts.Columns)
	case FormatJSONL:
		runs, err = readJSONL(br, opts.Columns, false)
	default:
		return nil, fmt.Errorf("scaling: unknown points format %d", opts.Format)
	}
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, errors.New("scaling: no runs in input")
	}
	return runs, nil
}

func sniffFormat(br *bufio.Reader) Format {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if len(b) < i || err != nil {
			return FormatCSV
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return FormatJSONL
		default:
			return FormatCSV
		}
	}
}

// field looks up one column of a row by name.
type field func(name string) (value string, ok bool)

// rowToRun turns a row into a Run using the column names in cols.
func rowToRun(get field, names map[string]string) (Run, error) {
	var run Run
	num := func(key string) (float64, bool, error) {
		col := names[key]
		if col == "" {
			return 0, false, nil
		}
		s, ok := get(col)
		s = strings.TrimSpace(s)
		if !ok || s == "" {
			return 0, false, nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, false, fmt.Errorf("column %q: %q is not a number", col, s)
		}
		if !(v > 0) || math.IsInf(v, 0) {
			return 0, false, fmt.Errorf("column %q: %s must be a positive finite number", col, s)
		}
		return v, true, nil
	}
	var (
		hasN, hasD, hasC, hasL bool
		err                    error
	)
	if run.N, hasN, err = num("N"); err != nil {
		return run, err
	}
	if run.D, hasD, err = num("D"); err != nil {
		return run, err
	}
	if run.C, hasC, err = num("C"); err != nil {
		return run, err
	}
	if run.Loss, hasL, err = num("loss"); err != nil {
		return run, err
	}
	switch {
	case !hasN:
		return run, fmt.Errorf("missing N (column %s)", orDash(names["N"]))
	case !hasL:
		return run, fmt.Errorf("missing loss (column %s)", orDash(names["loss"]))
	case hasD && !hasC:
		run.C = 6 * run.N * run.D
	case !hasD && hasC:
		run.D = run.C / (6 * run.N)
	case !hasD && !hasC:
		return run, fmt.Errorf("missing D and C (columns %s, %s): one is needed", orDash(names["D"]), orDash(names["C"]))
	}
	if !(run.D > 0 && run.C > 0) || math.IsInf(run.D, 0) || math.IsInf(run.C, 0) {
		return run, fmt.Errorf("N = %g with D = %g and C = %g is out of range (C = 6ND)", run.N, run.D, run.C)
	}
	if col := names["name"]; col != "" {
		run.Name, _ = get(col)
	}
	return run, nil
}

func orDash(s string) string {
	if s == "" {
		return "(none found)"
	}
	return strconv.Quote(s)
}

// resolveColumns maps the keys N, D, C, loss and name to column names among
// available, honouring explicit names in cols.
func resolveColumns(available []string, cols Columns) (map[string]string, error) {
	explicit := map[string]string{"N": cols.N, "D": cols.D, "C": cols.C, "loss": cols.Loss, "name": cols.Name}
	names := make(map[string]string, len(explicit))
	for key, want := range explicit {
		if want != "" {
			found := ""
			for _, a := range available {
				if strings.EqualFold(strings.TrimSpace(a), want) {
					found = a
					break
				}
			}
			if found == "" {
				return nil, fmt.Errorf("no column %q (have %s)", want, strings.Join(available, ", "))
			}
			names[key] = found
			continue
		}
		for _, a := range available {
			for _, alias := range columnAliases[key] {
				if strings.EqualFold(strings.TrimSpace(a), alias) {
					names[key] = a
				}
			}
		}
	}
	return names, nil
}

func readCSV(r io.Reader, cols Columns) ([]Run, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("scaling: empty CSV: want a header row")
	}
	if err != nil {
		return nil, fmt.Errorf("scaling: CSV header: %w", err)
	}
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	names, err := resolveColumns(header, cols)
	if err != nil {
		return nil, fmt.Errorf("scaling: CSV header: %w", err)
	}
	if names["N"] == "" || names["loss"] == "" || (names["D"] == "" && names["C"] == "") {
		return nil, fmt.Errorf("scaling: CSV header %q: want columns N, D (or C) and loss", strings.Join(header, ","))
	}
	index := make(map[string]int, len(header))
	for i, h := range header {
		index[h] = i
	}
	var runs []Run
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return runs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("scaling: %w", err)
		}
		line, _ := cr.FieldPos(0)
		run, err := rowToRun(func(name string) (string, bool) {
			i, ok := index[name]
			return rec[i], ok
		}, names)
		if err != nil {
			return nil, fmt.Errorf("scaling: line %d: %w", line, err)
		}
		runs = append(runs, run)
	}
}

// readJSONL reads one JSON object per line. With tornTail, a last line that
// has no newline and does not parse is dropped: it is a record whose write
// was cut short by a crash.
func readJSONL(r io.Reader, cols Columns, tornTail bool) ([]Run, error) {
	br := bufio.NewReader(r)
	var runs []Run
	for line := 1; ; line++ {
		text, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("scaling: line %d: %w", line, err)
		}
		last := err == io.EOF
		if trimmed := bytes.TrimSpace(text); len(trimmed) > 0 {
			run, perr := parseJSONLine(trimmed, cols)
			switch {
			case perr != nil && last && tornTail:
				return runs, nil
			case perr != nil:
				return nil, fmt.Errorf("scaling: line %d: %w", line, perr)
			}
			runs = append(runs, run)
		}
		if last {
			return runs, nil
		}
	}
}

func parseJSONLine(text []byte, cols Columns) (Run, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return Run{}, fmt.Errorf("not a JSON object: %w", err)
	}
	if dec.More() {
		return Run{}, errors.New("more than one JSON value on the line")
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	names, err := resolveColumns(keys, cols)
	if err != nil {
		return Run{}, err
	}
	return rowToRun(func(name string) (string, bool) {
		switch v := obj[name].(type) {
		case json.Number:
			return v.String(), true
		case string:
			return v, true
		case nil:
			return "", false
		default:
			return fmt.Sprint(v), true
		}
	}, names)
}

// ResultsFile is the name of a sweep's results file inside its directory:
// JSONL, one [Run] per line, with keys "name", "N", "D", "C" and "loss".
// Readers ignore other keys, so a sweep may record more about each run.
const ResultsFile = "results.jsonl"

// ReadResults reads the results file of the sweep directory dir. A last
// line cut short by a crash is ignored, so a sweep that died mid-write
// still loads.
func ReadResults(dir string) ([]Run, error) {
	path := filepath.Join(dir, ResultsFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scaling: %w", err)
	}
	defer f.Close()
	runs, err := readJSONL(f, Columns{}, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return runs, nil
}

// AppendResult appends run as one line to the results file of the sweep
// directory dir, creating both if needed, and syncs it to disk before
// returning. The line goes out in one write to a file opened O_APPEND, so
// workers on one machine appending at once do not interleave; if an
// earlier writer crashed mid-line, the new record starts on a line of its
// own.
func AppendResult(dir string, run Run) error {
	if !(run.N > 0) || !(run.D > 0) || !(run.Loss > 0) ||
		math.IsInf(run.N, 0) || math.IsInf(run.D, 0) || math.IsInf(run.Loss, 0) {
		return fmt.Errorf("scaling: append result %q: N, D and loss must be positive and finite (got %g, %g, %g)", run.Name, run.N, run.D, run.Loss)
	}
	if run.C == 0 {
		run.C = 6 * run.N * run.D
	}
	line, err := json.Marshal(run)
	if err != nil {
		return fmt.Errorf("scaling: append result %q: %w", run.Name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("scaling: append result: %w", err)
	}
	path := filepath.Join(dir, ResultsFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("scaling: append result: %w", err)
	}
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		var lastByte [1]byte
		if _, err := f.ReadAt(lastByte[:], st.Size()-1); err == nil && lastByte[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	line = append(line, '\n')
	_, werr := f.Write(line)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("scaling: append result to %s: %w", path, err)
	}
	return nil
}

// DropHighestLoss returns runs without the k runs of highest loss, in the
// original order. Replications of Chinchilla's fit leave out the few
// highest-loss runs as outliers of the data extraction.
func DropHighestLoss(runs []Run, k int) []Run {
	if k <= 0 {
		return slices.Clone(runs)
	}
	if k >= len(runs) {
		return nil
	}
	order := make([]int, len(runs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(runs[b].Loss, runs[a].Loss) })
	drop := make(map[int]bool, k)
	for _, i := range order[:k] {
		drop[i] = true
	}
	out := make([]Run, 0, len(runs)-k)
	for i, r := range runs {
		if !drop[i] {
			out = append(out, r)
		}
	}
	return out
}
