package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown prints results as llama-bench's default table.
func WriteMarkdown(w io.Writer, results []Result) error {
	header := []string{"model", "size", "params", "backend", "threads", "test", "t/s"}
	rows := [][]string{}
	for _, r := range results {
		test := fmt.Sprintf("pp%d", r.NPrompt)
		if r.NGen > 0 {
			test = fmt.Sprintf("tg%d", r.NGen)
		}
		rows = append(rows, []string{
			r.ModelType, humanSize(r.ModelSize), humanParams(r.ModelParams), r.Backends,
			fmt.Sprint(r.Threads), test, fmt.Sprintf("%.2f ± %.2f", r.AvgTs, r.StddevTs),
		})
	}
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = len(h)
		for _, row := range rows {
			width[i] = max(width[i], len([]rune(row[i])))
		}
	}
	// Text columns align left, numbers right, as llama-bench does.
	right := map[string]bool{"size": true, "params": true, "threads": true, "test": true, "t/s": true}
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if right[header[i]] {
				b.WriteString(" " + pad + c + " |")
			} else {
				b.WriteString(" " + c + pad + " |")
			}
		}
		b.WriteString("\n")
	}
	line(header)
	b.WriteString("|")
	for i, h := range header {
		if right[h] {
			b.WriteString(" " + strings.Repeat("-", width[i]-1) + ": |")
		} else {
			b.WriteString(" " + strings.Repeat("-", width[i]) + " |")
		}
	}
	b.WriteString("\n")
	for _, row := range rows {
		line(row)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints results as llama-bench -o json does: an array of
// objects.
func WriteJSON(w io.Writer, results []Result) error {
	if results == nil {
		results = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}

func humanSize(b int64) string {
	if b < 1<<30 {
		return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
}

func humanParams(n int64) string {
	if n < 1e9 {
		return fmt.Sprintf("%.2f M", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f B", float64(n)/1e9)
}
