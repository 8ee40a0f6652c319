package arena

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testLeaderboard(t *testing.T) *Leaderboard {
	t.Helper()
	bs := simulate(newRand(2), []float64{1100, 1000, 950}, 300, 0.3)
	lb, err := ComputeLeaderboard(context.Background(), bs, &Options{Bootstrap: 50})
	if err != nil {
		t.Fatal(err)
	}
	return lb
}

func TestSavePlot(t *testing.T) {
	lb := testLeaderboard(t)
	dir := t.TempDir()
	tests := []struct {
		file  string
		magic []byte
		has   string // text the file must contain
	}{
		{"ratings.png", []byte("\x89PNG\r\n\x1a\n"), ""},
		{"ratings.SVG", []byte("<?xml"), "m0"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			if err := lb.SavePlot(path); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, tt.magic) {
				t.Errorf("starts with %q, want %q", data[:min(len(data), 8)], tt.magic)
			}
			if tt.has != "" && !bytes.Contains(data, []byte(tt.has)) {
				t.Errorf("does not contain %q", tt.has)
			}
		})
	}
}

func TestSavePlotErrors(t *testing.T) {
	lb := testLeaderboard(t)
	dir := t.TempDir()
	for _, name := range []string{"ratings", "ratings.doc"} {
		path := filepath.Join(dir, name)
		if err := lb.SavePlot(path); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s: a failed plot left a file behind", name)
		}
	}
	if err := lb.SavePlot(filepath.Join(dir, "missing", "r.png")); err == nil {
		t.Error("missing directory: no error")
	}
	var empty Leaderboard
	if err := empty.WritePlot(&bytes.Buffer{}, "png"); err == nil || !strings.Contains(err.Error(), "no models") {
		t.Errorf("empty leaderboard: error %v", err)
	}
}
