package train

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Curve is one loss curve: losses against optimizer steps.
type Curve struct {
	Label  string
	Steps  []float64
	Loss   []float64
	Points bool // mark each point (sparse curves such as validation losses)
}

// LogCurves splits a run's log into its training and validation curves,
// labelled name+" train" and name+" val".
func LogCurves(log []Record, name string) (train, val Curve) {
	train = Curve{Label: name + " train"}
	val = Curve{Label: name + " val", Points: true}
	for _, r := range log {
		c := &train
		if r.Kind == "val" {
			c = &val
		}
		c.Steps = append(c.Steps, float64(r.Step))
		c.Loss = append(c.Loss, r.Loss)
	}
	return train, val
}

// ReadLog reads a log.jsonl.
func ReadLog(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	var log []Record
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("train: %s line %d: %w", path, line, err)
		}
		log = append(log, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}
	return log, nil
}

// WritePlots writes dir/loss.png and dir/loss.svg: the training loss of
// every step and the validation losses of a run's log.
func WritePlots(dir string, log []Record) error {
	train, val := LogCurves(log, "")
	train.Label, val.Label = "train", "val"
	return PlotLoss(filepath.Join(dir, "loss"), "loss of "+filepath.Base(filepath.Clean(dir)), []Curve{train, val})
}

// PlotLoss draws the curves in one plot and writes it as base.png and
// base.svg.
func PlotLoss(base, title string, curves []Curve) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = "cross-entropy (nats/token)"
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	drawn := 0
	for i, c := range curves {
		if len(c.Steps) == 0 {
			continue
		}
		xy := make(plotter.XYs, len(c.Steps))
		for j := range xy {
			xy[j].X, xy[j].Y = c.Steps[j], c.Loss[j]
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return fmt.Errorf("train: plot %q: %w", c.Label, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1)
		p.Add(l)
		if c.Points {
			s, err := plotter.NewScatter(xy)
			if err != nil {
				return fmt.Errorf("train: plot %q: %w", c.Label, err)
			}
			s.Color, s.Shape = plotutil.Color(i), draw.CircleGlyph{}
			p.Add(s)
			p.Legend.Add(c.Label, l, s)
		} else {
			p.Legend.Add(c.Label, l)
		}
		drawn++
	}
	if drawn == 0 {
		return fmt.Errorf("train: plot %s: no data", base)
	}
	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(8*vg.Inch, 5*vg.Inch, base+ext); err != nil {
			return fmt.Errorf("train: plot: %w", err)
		}
	}
	return nil
}
