package scaling

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWritePlots(t *testing.T) {
	tests := []struct {
		name string
		runs []Run
	}{
		{"sweep grid", synthetic(chinchillaPaper, logSpace(1e6, 1e8, 4), logSpace(1e8, 1e10, 3), 0.005, 1)},
		{"one run", []Run{{N: 1e6, D: 1e8, C: 6e14, Loss: 4}}},
		{"scattered compute", synthetic(chinchillaPaper, logSpace(1e6, 1e9, 15), logSpace(1e8, 1e11, 15), 0.005, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "plots")
			files, err := WritePlots(dir, tt.runs, chinchillaPaper)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, name := range []string{PlotLossVsN, PlotLossVsD, PlotIsoFLOP, PlotFitVsActual} {
				want = append(want, filepath.Join(dir, name+".png"), filepath.Join(dir, name+".svg"))
			}
			if !slices.Equal(files, want) {
				t.Fatalf("wrote %v, want %v", files, want)
			}
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				switch filepath.Ext(f) {
				case ".png":
					img, err := png.Decode(bytes.NewReader(data))
					if err != nil {
						t.Fatalf("%s: %v", f, err)
					}
					if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 200 {
						t.Errorf("%s: %v is too small", f, b)
					}
				case ".svg":
					if !bytes.Contains(data, []byte("<svg")) || !bytes.Contains(data, []byte("loss")) {
						t.Errorf("%s: not an SVG with a loss axis", f)
					}
				}
			}
		})
	}
	if _, err := WritePlots(t.TempDir(), nil, chinchillaPaper); err == nil {
		t.Error("no runs: no error")
	}
}

func TestIsoFLOPLegendNamesBudgets(t *testing.T) {
	// Three IsoFLOP budgets with a little jitter, as an IsoFLOP sweep has.
	var runs []Run
	for _, c := range []float64{1e18, 1e19, 1e20} {
		for i, n := range logSpace(1e7, 1e9, 5) {
			cc := c * (1 + 0.01*float64(i))
			runs = append(runs, Run{N: n, D: cc / (6 * n), C: cc, Loss: chinchillaPaper.Loss(n, cc/(6*n))})
		}
	}
	dir := t.TempDir()
	if _, err := WritePlots(dir, runs, chinchillaPaper); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, PlotIsoFLOP+".svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"C ≈ 1e+18", "C ≈ 1e+19", "C ≈ 1e+20", "fitted optimum"} {
		if !strings.Contains(string(svg), label) {
			t.Errorf("IsoFLOP plot lacks legend %q", label)
		}
	}
}

func TestGroupLog(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		want   string
	}{
		{"one value", []float64{5, 5, 5}, "[[0 1 2]]"},
		{"grid values", []float64{1e6, 1e7, 1e6, 1e8, 1e7}, "[[0 2] [1 4] [3]]"},
		{"jittered budgets", []float64{1.02e19, 0.98e19, 1e20, 1.05e20}, "[[1 0] [2 3]]"},
		// Spread evenly over two decades: no natural clusters, six bins.
		{"continuous", logSpace(1, 100, 12), "[[0 1] [2 3] [4 5] [6 7] [8 9] [10 11]]"},
		// Eleven distinct values exceed the colours; binned instead.
		{"too many clusters", logSpace(1, 1e10, 11), "[[0 1] [2 3] [4] [5 6] [7 8] [9 10]]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(groupLog(tt.values)); got != tt.want {
				t.Errorf("groupLog(%v) = %s, want %s", tt.values, got, tt.want)
			}
		})
	}
}
