package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/llmos/llmos/scaling"
)

var scalingCmd = &cobra.Command{
	Use:   "scaling",
	Short: "Fit scaling laws: loss as a function of parameters N and tokens D",
	Long: `Scaling laws predict a model's final loss from its parameter count N and its
training tokens D, L(N, D) = E + A/N^alpha + B/D^beta, and from that how big a
model and how many tokens a compute budget should buy.`,
	Example: `  llmos scaling fit sweeps/tiny
  llmos scaling fit --points runs.csv --json`,
}

type scalingFitFlags struct {
	points      string
	asJSON      bool
	plotDir     string
	resamples   int
	seed        uint64
	level       float64
	budgets     []float64
	dropHighest int
	columns     scaling.Columns
}

func newScalingFitCmd() *cobra.Command {
	var f scalingFitFlags
	cmd := &cobra.Command{
		Use:   "fit (DIR | --points FILE)",
		Short: "Fit L(N, D) = E + A/N^alpha + B/D^beta to training runs",
		Long: `Fit the Chinchilla loss law L(N, D) = E + A/N^alpha + B/D^beta to training runs
the way Hoffmann et al. 2022 (Approach 3) did: Huber loss (delta 1e-3) on the
residuals of log loss, minimised by L-BFGS from a grid of 4500 starting points.
Bootstrap refits over resampled runs give confidence intervals. The command
prints the constants and the compute-optimal N_opt(C), D_opt(C) for budgets C
(training FLOPs, C = 6ND).

Runs come from a sweep directory DIR (its results.jsonl: one JSON object per
line with "N", "D", "loss" and optionally "C" and "name") or from --points FILE,
a CSV with a header row or a JSONL file. Columns are found by name, ignoring
case: N (params, parameters, "Model Size"), D (tokens, "training tokens"), C
(flops, compute, "Training FLOP"), loss ("final loss"); --n-col, --d-col,
--c-col and --loss-col name them explicitly. A row with C but no D uses
D = C/(6N). Epoch AI's extraction of Chinchilla's runs (columns "Model Size",
"Training FLOP", "loss") loads as is.

With -o DIR it writes plots as PNG and SVG: loss_vs_N, loss_vs_D, isoflop and
fit_vs_actual.

--json prints one object:
  {"E":     {"value": v, "ci_lower": lo, "ci_upper": hi},
   "A": {…}, "B": {…}, "alpha": {…}, "beta": {…},   (same shape)
   "n_opt_exponent": {…}, "d_opt_exponent": {…},    (a, b in N_opt ∝ C^a, D_opt ∝ C^b)
   "ci_level": 0.95, "bootstrap_resamples": 200, "runs": 240,
   "huber_objective": f, "rms_log_residual": r,
   "optimal": [{"C": c, "N": {…}, "D": {…}, "loss": {…}}, …]}
Interval ends are null with --bootstrap 0.`,
		Example: `  # refit Chinchilla's published runs, leaving out the 5 highest-loss outliers
  llmos scaling fit --points ../shared/data/chinchilla/chinchilla_fig4.csv --drop-highest-loss 5 -o plots

  # a sweep's results, as JSON, with 1000 bootstrap refits
  llmos scaling fit sweeps/tiny --json --bootstrap 1000 --seed 7`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScalingFit(cmd, args, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.points, "points", "", "CSV or JSONL file of runs (instead of a sweep directory)")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON (shape in --help)")
	fl.StringVarP(&f.plotDir, "output", "o", "", "write plots (PNG and SVG) into this directory")
	fl.IntVar(&f.resamples, "bootstrap", 200, "bootstrap refits for the intervals (0: none)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the bootstrap resampling")
	fl.Float64Var(&f.level, "level", 0.95, "confidence level of the intervals")
	fl.Float64SliceVar(&f.budgets, "budgets", scaling.DefaultBudgets, "FLOP budgets for the compute-optimal allocation")
	fl.IntVar(&f.dropHighest, "drop-highest-loss", 0, "leave out this many runs of highest loss (outliers)")
	fl.StringVar(&f.columns.N, "n-col", "", "column holding N (parameters)")
	fl.StringVar(&f.columns.D, "d-col", "", "column holding D (training tokens)")
	fl.StringVar(&f.columns.C, "c-col", "", "column holding C (training FLOPs)")
	fl.StringVar(&f.columns.Loss, "loss-col", "", "column holding the loss")
	return cmd
}

func runScalingFit(cmd *cobra.Command, args []string, f *scalingFitFlags) error {
	var (
		runs []scaling.Run
		err  error
	)
	switch {
	case f.points != "" && len(args) > 0:
		return errors.New("scaling fit: give a sweep directory or --points, not both")
	case f.points != "":
		runs, err = scaling.LoadRuns(f.points, scaling.LoadOptions{Columns: f.columns})
	case len(args) == 1:
		if f.columns != (scaling.Columns{}) {
			return errors.New("scaling fit: column flags apply only to --points")
		}
		runs, err = scaling.ReadResults(args[0])
	default:
		return errors.New("scaling fit: give a sweep directory or --points FILE")
	}
	if err != nil {
		return err
	}
	if f.resamples < 0 {
		return fmt.Errorf("scaling fit: --bootstrap %d: want 0 or more", f.resamples)
	}
	if !(f.level > 0 && f.level < 1) {
		return fmt.Errorf("scaling fit: --level %g: want a value between 0 and 1", f.level)
	}
	if f.dropHighest < 0 || f.dropHighest >= len(runs) {
		return fmt.Errorf("scaling fit: --drop-highest-loss %d: have %d runs", f.dropHighest, len(runs))
	}
	runs = scaling.DropHighestLoss(runs, f.dropHighest)

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "fitting %d runs from %d starting points…\n", len(runs), scaling.ChinchillaGrid().Size())
	fit, err := scaling.FitLaw(ctx, runs, nil)
	if err != nil {
		return err
	}
	var boot *scaling.Bootstrap
	if f.resamples > 0 {
		fmt.Fprintf(stderr, "bootstrap: %d refits…\n", f.resamples)
		boot, err = fit.Bootstrap(ctx, runs, &scaling.BootstrapOptions{Resamples: f.resamples, Seed: f.seed})
		if err != nil {
			return err
		}
		if boot.Failed > 0 {
			fmt.Fprintf(stderr, "bootstrap: %d of %d refits found no optimum and were left out\n", boot.Failed, f.resamples)
		}
	}
	report := scaling.NewReport(fit, boot, f.level, f.budgets)
	if f.plotDir != "" {
		files, err := scaling.WritePlots(f.plotDir, runs, fit.Law)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "plots: %d files in %s\n", len(files), filepath.Clean(f.plotDir))
	}
	out := cmd.OutOrStdout()
	if f.asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	return report.WriteText(out)
}

func init() {
	scalingCmd.AddCommand(newScalingFitCmd())
	rootCmd.AddCommand(scalingCmd)
}
