package scaling

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot names, without extension, that [WritePlots] writes.
const (
	PlotLossVsN     = "loss_vs_N"
	PlotLossVsD     = "loss_vs_D"
	PlotIsoFLOP     = "isoflop"
	PlotFitVsActual = "fit_vs_actual"
)

// maxGroups bounds the curves on one plot, so each keeps a colour one can
// tell apart.
const maxGroups = 10

// WritePlots draws the runs against law into dir as PNG and SVG: loss
// against N with one curve per group of similar D, loss against D per
// group of N, IsoFLOP curves (loss against N at fixed compute, with the
// runs of each budget and the law's optimum marked), and predicted against
// actual loss. It returns the paths written.
func WritePlots(dir string, runs []Run, law Law) ([]string, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("scaling: plots: no runs")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("scaling: plots: %w", err)
	}
	plots := []struct {
		name string
		draw func([]Run, Law) (*plot.Plot, error)
	}{
		{PlotLossVsN, plotLossVsN},
		{PlotLossVsD, plotLossVsD},
		{PlotIsoFLOP, plotIsoFLOP},
		{PlotFitVsActual, plotFitVsActual},
	}
	var written []string
	for _, pl := range plots {
		p, err := pl.draw(runs, law)
		if err != nil {
			return written, fmt.Errorf("scaling: plot %s: %w", pl.name, err)
		}
		for _, ext := range []string{".png", ".svg"} {
			path := filepath.Join(dir, pl.name+ext)
			if err := p.Save(7*vg.Inch, 5*vg.Inch, path); err != nil {
				return written, fmt.Errorf("scaling: plot %s: %w", path, err)
			}
			written = append(written, path)
		}
	}
	return written, nil
}

// palette is Tableau's ten categorical colours.
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
	{0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}, {0xbc, 0xbd, 0x22, 0xff},
	{0x17, 0xbe, 0xcf, 0xff},
}

func newLogLogPlot(title, xLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = "loss"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Scale = plot.LogScale{}
	// Losses span less than a decade, where LogTicks would label a single
	// value; plain ticks still fall at round losses on the log axis.
	p.Y.Tick.Marker = plot.DefaultTicks{}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// addGroup draws one group's runs as points and curve as a line, both in
// colour i, with one legend entry.
func addGroup(p *plot.Plot, i int, label string, points, curve plotter.XYs) error {
	c := palette[i%len(palette)]
	s, err := plotter.NewScatter(points)
	if err != nil {
		return err
	}
	s.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
	l, err := plotter.NewLine(curve)
	if err != nil {
		return err
	}
	l.LineStyle.Color = c
	l.LineStyle.Width = vg.Points(1.2)
	p.Add(l, s)
	p.Legend.Add(label, s, l)
	return nil
}

// logSpace returns n points evenly spaced in log between lo and hi.
func logSpace(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Exp(math.Log(lo) + (math.Log(hi)-math.Log(lo))*float64(i)/float64(n-1))
	}
	return out
}

// bounds returns the smallest and largest of values.
func bounds(values []float64) (lo, hi float64) {
	return slices.Min(values), slices.Max(values)
}

// geoMean is the centre of a group of values on a log axis.
func geoMean(values []float64) float64 {
	var s float64
	for _, v := range values {
		s += math.Log(v)
	}
	return math.Exp(s / float64(len(values)))
}

// groupLog splits values (all positive) into groups of similar magnitude:
// the natural clusters, when there are at most maxGroups and each is
// tight (a sweep's grid, or the budgets of IsoFLOP runs), else equal
// ranges of log value. It returns groups of indices into values, smallest
// values first, with no empty group.
func groupLog(values []float64) [][]int {
	const (
		gap   = 0.1 * math.Ln10  // a jump of 26% starts a new cluster
		tight = 0.15 * math.Ln10 // a cluster wider than 41% is not one value
	)
	order := make([]int, len(values))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(values[a], values[b]) })
	var clusters [][]int
	for k, i := range order {
		if k == 0 || math.Log(values[i])-math.Log(values[order[k-1]]) > gap {
			clusters = append(clusters, nil)
		}
		clusters[len(clusters)-1] = append(clusters[len(clusters)-1], i)
	}
	ok := len(clusters) <= maxGroups
	for _, c := range clusters {
		if math.Log(values[c[len(c)-1]])-math.Log(values[c[0]]) > tight {
			ok = false
		}
	}
	if ok {
		return clusters
	}
	const bins = 6
	lo, hi := math.Log(values[order[0]]), math.Log(values[order[len(order)-1]])
	groups := make([][]int, bins)
	for _, i := range order {
		b := int(float64(bins) * (math.Log(values[i]) - lo) / (hi - lo))
		groups[min(b, bins-1)] = append(groups[min(b, bins-1)], i)
	}
	return slices.DeleteFunc(groups, func(g []int) bool { return len(g) == 0 })
}

// plotAgainst draws loss against x (N or D) with one curve per group of
// the other variable held at its group's geometric mean.
func plotAgainst(runs []Run, law Law, title, xLabel, groupName string, x, other func(Run) float64, predict func(x, other float64) float64) (*plot.Plot, error) {
	p := newLogLogPlot(title, xLabel)
	xs := make([]float64, len(runs))
	others := make([]float64, len(runs))
	for i, r := range runs {
		xs[i], others[i] = x(r), other(r)
	}
	lo, hi := bounds(xs)
	grid := logSpace(lo/1.5, hi*1.5, 100)
	for gi, g := range groupLog(others) {
		vals := make([]float64, len(g))
		points := make(plotter.XYs, len(g))
		for k, i := range g {
			vals[k] = others[i]
			points[k] = plotter.XY{X: xs[i], Y: runs[i].Loss}
		}
		at := geoMean(vals)
		curve := make(plotter.XYs, len(grid))
		for k, v := range grid {
			curve[k] = plotter.XY{X: v, Y: predict(v, at)}
		}
		if err := addGroup(p, gi, fmt.Sprintf("%s ≈ %.2g", groupName, at), points, curve); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func plotLossVsN(runs []Run, law Law) (*plot.Plot, error) {
	return plotAgainst(runs, law, "Loss against parameters (lines: fit at each group's D)", "parameters N", "D",
		func(r Run) float64 { return r.N }, func(r Run) float64 { return r.D },
		func(n, d float64) float64 { return law.Loss(n, d) })
}

func plotLossVsD(runs []Run, law Law) (*plot.Plot, error) {
	return plotAgainst(runs, law, "Loss against training tokens (lines: fit at each group's N)", "tokens D", "N",
		func(r Run) float64 { return r.D }, func(r Run) float64 { return r.N },
		func(d, n float64) float64 { return law.Loss(n, d) })
}

func plotIsoFLOP(runs []Run, law Law) (*plot.Plot, error) {
	p := newLogLogPlot("IsoFLOP curves: loss against N at fixed compute C = 6ND (× = fitted optimum)", "parameters N")
	cs := make([]float64, len(runs))
	for i, r := range runs {
		cs[i] = r.C
	}
	var optima plotter.XYs
	for gi, g := range groupLog(cs) {
		vals := make([]float64, len(g))
		ns := make([]float64, len(g))
		points := make(plotter.XYs, len(g))
		for k, i := range g {
			vals[k], ns[k] = cs[i], runs[i].N
			points[k] = plotter.XY{X: runs[i].N, Y: runs[i].Loss}
		}
		c := geoMean(vals)
		lo, hi := bounds(ns)
		nOpt, dOpt := law.Optimal(c)
		if !math.IsNaN(nOpt) {
			lo, hi = min(lo, nOpt), max(hi, nOpt)
			optima = append(optima, plotter.XY{X: nOpt, Y: law.Loss(nOpt, dOpt)})
		}
		grid := logSpace(lo/2, hi*2, 100)
		curve := make(plotter.XYs, len(grid))
		for k, n := range grid {
			curve[k] = plotter.XY{X: n, Y: law.Loss(n, c/(6*n))}
		}
		if err := addGroup(p, gi, fmt.Sprintf("C ≈ %.2g", c), points, curve); err != nil {
			return nil, err
		}
	}
	if len(optima) > 0 {
		s, err := plotter.NewScatter(optima)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(4), Shape: draw.CrossGlyph{}}
		p.Add(s)
		p.Legend.Add("fitted optimum", s)
	}
	return p, nil
}

func plotFitVsActual(runs []Run, law Law) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Fitted against actual loss"
	p.X.Label.Text = "actual loss"
	p.Y.Label.Text = "predicted loss"
	p.Add(plotter.NewGrid())
	points := make(plotter.XYs, len(runs))
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, r := range runs {
		pred := law.Loss(r.N, r.D)
		points[i] = plotter.XY{X: r.Loss, Y: pred}
		lo, hi = min(lo, r.Loss, pred), max(hi, r.Loss, pred)
	}
	diag, err := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
	if err != nil {
		return nil, err
	}
	diag.LineStyle.Color = color.Gray{Y: 0x80}
	diag.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	s, err := plotter.NewScatter(points)
	if err != nil {
		return nil, err
	}
	s.GlyphStyle = draw.GlyphStyle{Color: palette[0], Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
	p.Add(diag, s)
	p.Legend.Add("runs", s)
	p.Legend.Add("predicted = actual", diag)
	p.Legend.Top = true
	p.Legend.Left = true
	return p, nil
}
