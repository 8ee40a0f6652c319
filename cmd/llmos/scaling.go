package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/spf13/cobra"

	"github.com/llmos/llmos/scaling"
)

var scalingCmd = &cobra.Command{
	Use:   "scaling",
	Short: "Fit scaling laws: loss as a function of parameters N and tokens D",
	Long: `Scaling laws predict a model's final loss from its parameter count N and its
training tokens D, L(N, D) = E + A/N^alpha + B/D^beta, and from that how big a
model and how many tokens a compute budget should buy.`,
	Example: `  llmos scaling sweep --data stories512 --sizes 16x2,32x2,48x3,64x4,96x4 --tokens 100k,200k,500k,1M -o sweeps/tiny
  llmos scaling fit sweeps/tiny
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
	scalingCmd.AddCommand(newScalingFitCmd(), newScalingSweepCmd())
	rootCmd.AddCommand(scalingCmd)
}

type scalingSweepFlags struct {
	sweep       scaling.Sweep
	sizes       []string
	tokens      []string
	workers     int
	threads     int
	dryRun      bool
	collectOnly bool
}

func newScalingSweepCmd() *cobra.Command {
	f := scalingSweepFlags{sweep: scaling.DefaultSweep()}
	ladder := make([]string, len(scaling.Ladder))
	for i, z := range scaling.Ladder {
		ladder[i] = z.String()
	}
	cmd := &cobra.Command{
		Use:   "sweep --data DIR --sizes DIMxLAYERS,… --tokens D,… -o SWEEPDIR [--workers K] [--dry-run]",
		Short: "Train a grid of model sizes × token budgets for a scaling-law fit",
		Long: `sweep trains every model size on every token budget: a grid of independent
pretraining runs whose final validation losses 'llmos scaling fit' turns into
L(N, D).

Sizes are written DIMxLAYERS (width and depth); the rest of the shape follows:
heads of ` + fmt.Sprint(scaling.SweepHeadDim) + ` channels, a SwiGLU FFN 8/3 as wide rounded up to a multiple
of 16. N is the non-embedding parameter count (all weights but the token
embedding and the output matrix, as in Kaplan et al. 2020); D is the training
tokens, rounded up to whole steps of batch × seq tokens. Token budgets take
the suffixes k, M, G (200k, 1.6M). Every run has the same batch, context and
schedule shape (linear warmup over --warmup-frac of its steps, cosine decay to
--min-lr at its last step, as Chinchilla matched the schedule to D); with
--lr-dim W the rates of a model of width DIM are scaled by W/DIM, since
Adam's best learning rate falls as 1/width.

SWEEPDIR receives:
  models/SIZE.gguf   each size's initial weights (seeded: same flags, same bytes)
  jobs.txt           line i: job i's 'llmos train' command line; any scheduler can
                     run the lines on any machines that share SWEEPDIR
  runs/NAME/         job NAME's run directory (NAME = SIZE-DTOKENS, e.g. 64x4-D200k),
                     with the job's output in sweep.log
  results.jsonl      one line per finished job: name, N, D, C = 6ND, loss

Jobs already in results.jsonl are skipped; a job whose run finished elsewhere
is recorded without training; a killed job resumes from its last checkpoint
('llmos train --resume', every --ckpt-every steps); the others start afresh.
So rerunning the same command after a crash, a Ctrl-C or a cluster run
completes the sweep. --workers K runs K jobs at once as child processes of
this binary, each with cores/K threads unless --threads says otherwise.

--dry-run writes models/ and jobs.txt, prints the command lines and trains
nothing; --collect-only records finished runs and trains nothing (the last
step of a cluster run). Give paths without spaces that are the same on every
machine (absolute, on a shared volume) when other machines run jobs.txt.`,
		Example: `  # 4 sizes (N 6.7k–252k, 37×) × 5 budgets (128k–1.28M tokens, 10×; 500 to 5,000
  # steps of the default 2 × 128 tokens), largest first, two at a time
  llmos scaling sweep --data stories512 --sizes 64x5,48x3,32x2,16x2 \
      --tokens 1.28M,800k,512k,256k,128k -o sweeps/tiny --workers 2
  llmos scaling fit sweeps/tiny -o sweeps/tiny/plots

  # the same grid as command lines for a batch scheduler
  llmos scaling sweep --data /sweep/data --sizes 64x5,48x3,32x2,16x2 \
      --tokens 1.28M,800k,512k,256k,128k -o /sweep --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScalingSweep(cmd, &f)
		},
	}
	fl := cmd.Flags()
	s := &f.sweep
	fl.StringVar(&s.Data, "data", "", "data directory (llmos data prepare) with a val split")
	fl.StringVarP(&s.Dir, "output", "o", "", "sweep directory")
	fl.StringSliceVar(&f.sizes, "sizes", ladder, "model sizes, DIMxLAYERS")
	fl.StringSliceVar(&f.tokens, "tokens", nil, "training token budgets D (k, M, G suffixes)")
	fl.IntVar(&f.workers, "workers", 1, "jobs run at once on this machine")
	fl.IntVarP(&f.threads, "threads", "t", 0, "compute threads per job (0: cores / workers)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "write models/ and jobs.txt and print the jobs; train nothing")
	fl.BoolVar(&f.collectOnly, "collect-only", false, "record finished runs in results.jsonl; train nothing")
	fl.IntVar(&s.Batch, "batch", s.Batch, "sequences per step")
	fl.IntVar(&s.SeqLen, "seq", s.SeqLen, "tokens per sequence (and the models' context)")
	fl.Float64Var(&s.LR, "lr", s.LR, "peak learning rate")
	fl.Float64Var(&s.MinLR, "min-lr", s.MinLR, "final learning rate of the cosine decay")
	fl.IntVar(&s.LRDim, "lr-dim", s.LRDim, "scale both rates by this width / the model's width (0: the same rates for every size)")
	fl.Float64Var(&s.WarmupFrac, "warmup-frac", s.WarmupFrac, "share of each run's steps in linear warmup")
	fl.IntVar(&s.EvalBatches, "eval-batches", s.EvalBatches, "validation micro-batches of the final loss (the same windows for every job)")
	fl.IntVar(&s.CkptEvery, "ckpt-every", s.CkptEvery, "steps between checkpoints")
	fl.Uint64Var(&s.Seed, "seed", s.Seed, "seed of the initial weights and the shard order")
	return cmd
}

func runScalingSweep(cmd *cobra.Command, f *scalingSweepFlags) error {
	s := f.sweep
	for _, v := range f.sizes {
		z, err := scaling.ParseSize(v)
		if err != nil {
			return err
		}
		s.Sizes = append(s.Sizes, z)
	}
	for _, v := range f.tokens {
		d, err := scaling.ParseTokens(v)
		if err != nil {
			return err
		}
		s.Tokens = append(s.Tokens, d)
	}
	switch {
	case s.Data == "":
		return errors.New("scaling sweep: no data: pass --data DIR (llmos data prepare)")
	case s.Dir == "":
		return errors.New("scaling sweep: no sweep directory: pass -o SWEEPDIR")
	case len(s.Tokens) == 0:
		return errors.New("scaling sweep: no token budgets: pass --tokens, e.g. 80k,200k,400k,800k")
	case f.workers < 1:
		return fmt.Errorf("scaling sweep: --workers %d: want 1 or more", f.workers)
	case f.threads < 0:
		return fmt.Errorf("scaling sweep: --threads %d: want 0 or more", f.threads)
	case f.dryRun && f.collectOnly:
		return errors.New("scaling sweep: give --dry-run or --collect-only, not both")
	}
	plan, err := s.Plan()
	if err != nil {
		return err
	}
	if err := plan.Prepare(); err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "%d jobs (%d sizes × %d budgets) in %s\n", len(plan.Jobs), len(s.Sizes), len(s.Tokens), filepath.Join(s.Dir, scaling.JobsFile))
	if longest := slices.Max(s.Tokens); longest > plan.TrainTokens {
		fmt.Fprintf(stderr, "note: budgets up to %d tokens repeat the data's %d train tokens\n", longest, plan.TrainTokens)
	}
	if short := plan.ShortJobs(); len(short) > 0 {
		fmt.Fprintf(stderr, "note: %d jobs take fewer than %d steps (%s: %d); such runs are limited by their steps, not by N or D, and bend the fit: lower --batch or raise --tokens\n",
			len(short), scaling.MinSteps, short[0].Name, short[0].Steps)
	}
	if f.dryRun {
		out := cmd.OutOrStdout()
		for _, j := range plan.Jobs {
			fmt.Fprintln(out, j.CommandLine("llmos", f.threads))
		}
		return nil
	}
	threads := f.threads
	if threads == 0 && f.workers > 1 {
		threads = max(1, runtime.NumCPU()/f.workers)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("scaling sweep: finding this binary to run jobs: %w", err)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	sum, err := plan.Run(ctx, scaling.ExecRunner{Program: self, Threads: threads},
		scaling.RunOptions{Workers: f.workers, CollectOnly: f.collectOnly, Progress: stderr})
	fmt.Fprintf(cmd.OutOrStdout(), "%d jobs: %d already recorded, %d collected, %d trained (%d resumed), %d not finished; results in %s\n",
		len(plan.Jobs), sum.Skipped, sum.Collected, sum.Trained, sum.Resumed, sum.Pending, filepath.Join(s.Dir, scaling.ResultsFile))
	return err
}
