package scaling

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestReadRuns(t *testing.T) {
	tests := []struct {
		name  string
		input string
		opts  LoadOptions
		want  []Run
	}{
		{
			name:  "csv N D loss",
			input: "N,D,loss\n1e6,2e7,4.5\n2e6,2e7,4.2\n",
			want:  []Run{{N: 1e6, D: 2e7, C: 1.2e14, Loss: 4.5}, {N: 2e6, D: 2e7, C: 2.4e14, Loss: 4.2}},
		},
		{
			name:  "csv C instead of D",
			input: "name,N,C,loss\nsmall,1e6,6e13,4.5\n",
			want:  []Run{{Name: "small", N: 1e6, D: 1e7, C: 6e13, Loss: 4.5}},
		},
		{
			name:  "csv D wins over C",
			input: "N,D,C,loss\n1e6,2e7,7e13,4.5\n",
			want:  []Run{{N: 1e6, D: 2e7, C: 7e13, Loss: 4.5}},
		},
		{
			name:  "csv aliases, spaces, BOM, CRLF, extra columns",
			input: "\ufeffx, Model Size,Training FLOP,color,Loss\r\n1,1e6,6e13,#fff,4.5\r\n",
			want:  []Run{{N: 1e6, D: 1e7, C: 6e13, Loss: 4.5}},
		},
		{
			name:  "csv explicit columns",
			input: "params,toks,val_loss,loss\n1e6,1e7,3.5,9\n",
			opts:  LoadOptions{Columns: Columns{D: "toks", Loss: "val_loss"}},
			want:  []Run{{N: 1e6, D: 1e7, C: 6e13, Loss: 3.5}},
		},
		{
			name:  "jsonl",
			input: "{\"N\": 1e6, \"D\": 2e7, \"loss\": 4.5, \"name\": \"a\", \"steps\": 100}\n\n{\"n\": \"2e6\", \"C\": 1.2e14, \"loss\": 4.1}\n",
			want:  []Run{{Name: "a", N: 1e6, D: 2e7, C: 1.2e14, Loss: 4.5}, {N: 2e6, D: 1e7, C: 1.2e14, Loss: 4.1}},
		},
		{
			name:  "jsonl sniffed after blank lines",
			input: "\n  {\"N\": 1e6, \"D\": 2e7, \"loss\": 4.5}",
			want:  []Run{{N: 1e6, D: 2e7, C: 1.2e14, Loss: 4.5}},
		},
		{
			name:  "csv forced",
			input: "N,D,loss\n1e6,2e7,4.5\n",
			opts:  LoadOptions{Format: FormatCSV},
			want:  []Run{{N: 1e6, D: 2e7, C: 1.2e14, Loss: 4.5}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadRuns(strings.NewReader(tt.input), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d runs %+v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if !sameRun(got[i], tt.want[i]) {
					t.Errorf("run %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func sameRun(a, b Run) bool {
	close := func(x, y float64) bool { return math.Abs(x-y) <= 1e-12*math.Abs(y) }
	return a.Name == b.Name && close(a.N, b.N) && close(a.D, b.D) && close(a.C, b.C) && close(a.Loss, b.Loss)
}

func TestReadRunsErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		opts  LoadOptions
		want  string // substring of the error
	}{
		{"empty", "", LoadOptions{}, "empty CSV"},
		{"header only", "N,D,loss\n", LoadOptions{}, "no runs"},
		{"no loss column", "N,D\n1,2\n", LoadOptions{}, "want columns N, D (or C) and loss"},
		{"no D or C column", "N,loss\n1,2\n", LoadOptions{}, "want columns N, D (or C) and loss"},
		{"unknown explicit column", "N,D,loss\n1,2,3\n", LoadOptions{Columns: Columns{Loss: "val"}}, `no column "val"`},
		{"not a number", "N,D,loss\n1e6,2e7,4.5\n1e6,2e7,abc\n", LoadOptions{}, `line 3: column "loss": "abc" is not a number`},
		{"negative", "N,D,loss\n1e6,-2e7,4.5\n", LoadOptions{}, "line 2: column \"D\": -2e7 must be a positive"},
		{"zero", "N,D,loss\n0,2e7,4.5\n", LoadOptions{}, "line 2: column \"N\""},
		{"infinite", "N,D,loss\n1e6,2e7,Inf\n", LoadOptions{}, "line 2: column \"loss\""},
		{"C overflows", "N,D,loss\n1e300,1e300,3\n", LoadOptions{}, "line 2: N = 1e+300 with D = 1e+300 and C = +Inf is out of range"},
		{"missing cell", "N,D,loss\n1e6,,4.5\n", LoadOptions{}, "line 2: missing D and C"},
		{"ragged row", "N,D,loss\n1e6,2e7\n", LoadOptions{}, "line 2"},
		{"jsonl bad json", "{\"N\": 1, \"D\": 2, \"loss\": 3}\n{\"N\": 1,\n", LoadOptions{}, "line 2: not a JSON object"},
		{"jsonl missing loss", "{\"N\": 1, \"D\": 2}\n", LoadOptions{}, "line 1: missing loss"},
		{"jsonl missing N", "{\"D\": 2, \"loss\": 3}\n", LoadOptions{}, "line 1: missing N"},
		{"jsonl null", "{\"N\": 1, \"D\": null, \"loss\": 3}\n", LoadOptions{}, "line 1: missing D and C"},
		{"jsonl two values", "{\"N\": 1, \"D\": 2, \"loss\": 3} {}\n", LoadOptions{}, "line 1: more than one JSON value"},
		{"jsonl torn tail is an error in a points file", "{\"N\": 1, \"D\": 2, \"loss\": 3}\n{\"N\": 1, \"D", LoadOptions{}, "line 2"},
		{"unknown format", "N,D,loss\n1,2,3\n", LoadOptions{Format: Format(9)}, "unknown points format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs, err := ReadRuns(strings.NewReader(tt.input), tt.opts)
			if err == nil {
				t.Fatalf("got %+v, want an error containing %q", runs, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadRunsByExtension(t *testing.T) {
	dir := t.TempDir()
	// Content that sniffing would take for CSV; the extension says JSONL.
	path := filepath.Join(dir, "runs.jsonl")
	if err := os.WriteFile(path, []byte("N,D,loss\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadRuns(path, LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "runs.jsonl: scaling: line 1: not a JSON object") {
		t.Errorf("error = %v, want a JSONL parse error naming the file", err)
	}
	if _, err := LoadRuns(filepath.Join(dir, "absent.csv"), LoadOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: error = %v, want fs.ErrNotExist", err)
	}
}

func TestResultsRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sweep")
	want := []Run{
		{Name: "n1-d1", N: 1e6, D: 1e8, Loss: 4.25},
		{Name: "n1-d2", N: 1e6, D: 2e8, C: 1.3e15, Loss: 4.0},
	}
	for _, r := range want {
		if err := AppendResult(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	want[0].C = 6e14
	got, err := ReadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d runs, want %d", len(got), len(want))
	}
	for i := range want {
		if !sameRun(got[i], want[i]) {
			t.Errorf("run %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if err := AppendResult(dir, Run{Name: "bad", N: 1, D: 0, Loss: 1}); err == nil {
		t.Error("appending a run with D = 0 succeeded")
	}
	if _, err := ReadResults(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty directory: error = %v, want fs.ErrNotExist", err)
	}
}

// A worker that crashed mid-write leaves a torn last line: readers skip it
// and the next append starts a fresh line.
func TestResultsTornTail(t *testing.T) {
	dir := t.TempDir()
	if err := AppendResult(dir, Run{Name: "ok", N: 1e6, D: 1e8, Loss: 4}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ResultsFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"name":"torn","N":2e6,"D":`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	runs, err := ReadResults(dir)
	if err != nil || len(runs) != 1 || runs[0].Name != "ok" {
		t.Fatalf("after torn write: %+v, %v; want the one whole run", runs, err)
	}
	if err := AppendResult(dir, Run{Name: "next", N: 3e6, D: 1e8, Loss: 3.5}); err != nil {
		t.Fatal(err)
	}
	// The torn line is now in the middle, where it is an error worth seeing.
	if _, err := ReadResults(dir); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("torn line in the middle: error = %v, want one naming line 2", err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ResultsFile))
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 3 || !strings.Contains(lines[2], `"next"`) {
		t.Errorf("file after append:\n%s\nwant the new record on a line of its own", data)
	}
}

func TestResultsConcurrentAppend(t *testing.T) {
	dir := t.TempDir()
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- AppendResult(dir, Run{Name: fmt.Sprintf("w%d-%d", w, i), N: float64(1e6 * (w + 1)), D: float64(1e8 * (i + 1)), Loss: 3})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	runs, err := ReadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range runs {
		seen[r.Name] = true
	}
	if len(runs) != workers*each || len(seen) != workers*each {
		t.Errorf("read %d runs (%d distinct), want %d", len(runs), len(seen), workers*each)
	}
}

func TestDropHighestLoss(t *testing.T) {
	runs := []Run{{Name: "a", Loss: 3}, {Name: "b", Loss: 5}, {Name: "c", Loss: 2}, {Name: "d", Loss: 4}}
	tests := []struct {
		k    int
		want string
	}{{0, "abcd"}, {1, "acd"}, {2, "ac"}, {4, ""}, {9, ""}, {-1, "abcd"}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.k), func(t *testing.T) {
			var got strings.Builder
			for _, r := range DropHighestLoss(runs, tt.k) {
				got.WriteString(r.Name)
			}
			if got.String() != tt.want {
				t.Errorf("DropHighestLoss(%d) = %q, want %q", tt.k, got.String(), tt.want)
			}
		})
	}
}

func FuzzReadRuns(f *testing.F) {
	f.Add("N,D,loss\n1e6,2e7,4.5\n")
	f.Add("{\"N\": 1e6, \"C\": 2e7, \"loss\": 4.5}\n")
	f.Add("Model Size,Training FLOP,loss\n1,2,3\n")
	f.Fuzz(func(t *testing.T, input string) {
		runs, err := ReadRuns(strings.NewReader(input), LoadOptions{})
		if err != nil {
			return
		}
		for _, r := range runs {
			if !(r.N > 0 && r.D > 0 && r.Loss > 0 && r.C > 0) || math.IsInf(r.N+r.Loss, 0) {
				t.Fatalf("accepted invalid run %+v", r)
			}
		}
	})
}
