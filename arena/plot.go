package arena

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// ratingsPlot draws each model's rating with its 95% interval, one row per
// model, best at the top; models run down the vertical axis so that long
// names stay readable.
func (lb *Leaderboard) ratingsPlot() (*plot.Plot, error) {
	if len(lb.Ratings) == 0 {
		return nil, errors.New("arena: plot: leaderboard has no models")
	}
	n := len(lb.Ratings)
	pts := make(plotter.XYs, n)
	// The bars are centred on their interval rather than on the rating,
	// which a bootstrap interval need not contain.
	mids := make(plotter.XYs, n)
	errs := make(plotter.XErrors, n)
	names := make([]string, n)
	for r, rt := range lb.Ratings {
		y := n - 1 - r
		pts[y] = plotter.XY{X: rt.Rating, Y: float64(y)}
		half := (rt.CIUpper - rt.CILower) / 2
		mids[y] = plotter.XY{X: rt.CILower + half, Y: float64(y)}
		errs[y] = struct{ Low, High float64 }{half, half}
		names[y] = rt.Model
	}
	data := struct {
		plotter.XYs
		plotter.XErrors
	}{mids, errs}
	bars, err := plotter.NewXErrorBars(data)
	if err != nil {
		return nil, fmt.Errorf("arena: plot: %w", err)
	}
	bars.CapWidth = vg.Points(6)
	dots, err := plotter.NewScatter(pts)
	if err != nil {
		return nil, fmt.Errorf("arena: plot: %w", err)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Bradley–Terry ratings, 95%% bootstrap intervals (%d resamples)", lb.Bootstrap)
	p.X.Label.Text = "rating (Elo scale)"
	p.Add(plotter.NewGrid(), bars, dots)
	p.NominalY(names...)
	// Leave a margin so the outermost caps do not sit on the frame.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, rt := range lb.Ratings {
		lo, hi = min(lo, rt.CILower, rt.Rating), max(hi, rt.CIUpper, rt.Rating)
	}
	pad := max(0.05*(hi-lo), 10)
	p.X.Min, p.X.Max = lo-pad, hi+pad
	return p, nil
}

// plotSize grows with the number of models so rows do not crowd.
func (lb *Leaderboard) plotSize() (w, h vg.Length) {
	return 8 * vg.Inch, vg.Length(1.5+0.3*float64(len(lb.Ratings))) * vg.Inch
}

// WritePlot draws the ratings with their intervals to w in the given format:
// "png" or "svg" (or any other format gonum/plot writes, such as "pdf").
func (lb *Leaderboard) WritePlot(w io.Writer, format string) error {
	p, err := lb.ratingsPlot()
	if err != nil {
		return err
	}
	wd, ht := lb.plotSize()
	wt, err := p.WriterTo(wd, ht, strings.ToLower(format))
	if err != nil {
		return fmt.Errorf("arena: plot: %w", err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("arena: plot: %w", err)
	}
	return nil
}

// SavePlot writes the ratings plot to path, its format taken from the
// extension (.png, .svg …).
func (lb *Leaderboard) SavePlot(path string) error {
	ext := strings.TrimPrefix(filepath.Ext(path), ".")
	if ext == "" {
		return fmt.Errorf("arena: plot %s: no extension to choose the format by (use .png or .svg)", path)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("arena: plot: %w", err)
	}
	if err := lb.WritePlot(f, ext); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("%w (writing %s)", err, path)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("arena: plot: %w", err)
	}
	return nil
}
