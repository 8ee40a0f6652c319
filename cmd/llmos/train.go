package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/llmos/llmos/tensor"
	"github.com/llmos/llmos/train"
)

func init() {
	cfg := train.DefaultRunConfig()
	var out, resume string
	c := &cobra.Command{
		Use:   "train (--model INIT.gguf | --shape NAME) --data DIR -o RUNDIR [flags] | train --resume RUNDIR",
		Short: "Pretrain a Llama-architecture model on token shards",
		Long: `train runs next-token pretraining in float32 on the CPU: AdamW (decay on
2-D weights), linear warmup and cosine decay, global-norm clipping, gradient
accumulation. The model starts from a llama GGUF (--model; any tensor type,
dequantized) or from a named shape initialised from --seed (stories260K,
stories15M, stories110M; vocabulary from the data). Data is a directory made
by 'llmos data prepare'.

RUNDIR receives init.gguf (the initial weights), log.jsonl (one JSON line per step and per evaluation),
loss.png and loss.svg (train and val curves), checkpoint.gguf (every
--ckpt-every steps and at the end, written atomically; Ctrl-C writes one
too) and model.gguf (the trained model with the data's tokenizer, runnable
with 'llmos run -m RUNDIR/model.gguf' and llama.cpp). After a crash or kill,
'llmos train --resume RUNDIR' continues on the same loss curve.`,
		Example: `  llmos train --shape stories260K --data tinystories -o runs/260K --steps 2000 --batch 8 --seq 512
  llmos train --resume runs/260K
  llmos train export runs/260K -o 260K-q8.gguf --type Q8_0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := runOrResume(cmd, cfg, out, resume)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d steps: train loss %.4f, val loss %.4f; model in %s\n", res.Steps, res.TrainLoss, res.ValLoss, res.Model)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.Model, "model", "", "initial model (llama GGUF)")
	f.StringVar(&cfg.Shape, "shape", "", "initial shape: stories260K, stories15M or stories110M")
	f.StringVar(&cfg.Data, "data", "", "data directory (llmos data prepare)")
	f.StringVarP(&out, "output", "o", "", "run directory")
	f.StringVar(&resume, "resume", "", "continue the run in this directory from its checkpoint")
	runFlags(c, &cfg, "sequences per micro-batch")
	f.Float64Var(&cfg.Beta1, "beta1", cfg.Beta1, "AdamW β1")
	f.Float64Var(&cfg.Beta2, "beta2", cfg.Beta2, "AdamW β2")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the initial weights and the shard order")
	c.AddCommand(trainExportCmd(), trainPlotCmd())
	rootCmd.AddCommand(c)
}

func trainExportCmd() *cobra.Command {
	var out, typ string
	c := &cobra.Command{
		Use:   "export RUNDIR -o OUT.gguf [--type F16|Q8_0|…]",
		Short: "Write a run's model as a GGUF, optionally quantized",
		Long: `export writes the model of RUNDIR's checkpoint as a llama GGUF with the
data's tokenizer and a chat template. --type stores the 2-D weights as that
tensor type (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K, …); weights whose rows
are not a whole number of the type's blocks, and the norm gains, stay F32.`,
		Example: `  llmos train export runs/260K -o 260K-f16.gguf --type F16`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("no output file: pass -o OUT.gguf")
			}
			t, err := tensor.ParseType(strings.ToUpper(typ))
			if err != nil {
				return err
			}
			if err := train.Export(args[0], out, t); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%s)\n", out, t)
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "GGUF file to write")
	c.Flags().StringVar(&typ, "type", "F32", "tensor type of the 2-D weights")
	return c
}

func trainPlotCmd() *cobra.Command {
	var out, title string
	var labels []string
	c := &cobra.Command{
		Use:   "plot RUNDIR|LOG.jsonl... -o OUT.png",
		Short: "Plot the loss curves of one or more runs in one figure",
		Long: `plot reads each run's log.jsonl (or a log file in the same format) and
draws its train and val losses against the step, writing OUT's base name
with .png and .svg.`,
		Example: `  llmos train plot runs/260K runs/260K-torch --label llmos --label pytorch -o docs/tinystories-260K.png`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("no output file: pass -o OUT.png")
			}
			if len(labels) != 0 && len(labels) != len(args) {
				return fmt.Errorf("%d labels for %d runs", len(labels), len(args))
			}
			var curves []train.Curve
			for i, a := range args {
				path := a
				if st, err := os.Stat(a); err == nil && st.IsDir() {
					path = filepath.Join(a, train.LogFile)
				}
				log, err := train.ReadLog(path)
				if err != nil {
					return err
				}
				name := filepath.Base(filepath.Clean(a))
				if len(labels) != 0 {
					name = labels[i]
				}
				tr, val := train.LogCurves(log, name)
				curves = append(curves, tr, val)
			}
			base := strings.TrimSuffix(strings.TrimSuffix(out, ".png"), ".svg")
			return train.PlotLoss(base, title, curves)
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "image to write (.png; an .svg is written beside it)")
	c.Flags().StringArrayVar(&labels, "label", nil, "legend name of each run, in order")
	c.Flags().StringVar(&title, "title", "loss", "plot title")
	return c
}
