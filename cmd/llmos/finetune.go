package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/llmos/llmos/train"
)

// finetuneCmd builds the command of a fine-tuning objective: the flags of
// llmos train over a starting model and a data file, and --resume.
func finetuneCmd(objective, use, short, long, example string) *cobra.Command {
	cfg := train.DefaultRunConfig()
	cfg.Objective, cfg.ValFraction, cfg.Beta = objective, 0.05, 0.1
	cfg.LR, cfg.MinLR, cfg.Warmup, cfg.WeightDecay = 1e-4, 1e-5, 10, 0
	cfg.EvalEvery, cfg.EvalBatches, cfg.CkptEvery = 50, 10, 100
	var out, resume string
	c := &cobra.Command{
		Use: use, Short: short, Long: long, Example: example,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if resume == "" && (cfg.Model == "" || cfg.Data == "") {
				return errors.New("pass the starting model (--model) and the data (--data)")
			}
			res, err := runOrResume(cmd, cfg, out, resume)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d steps: train loss %.4f, val loss %.4f", res.Steps, res.TrainLoss, res.ValLoss)
			if objective != train.SFT {
				fmt.Fprintf(cmd.OutOrStdout(), ", val pairwise accuracy %.3f", res.ValAccuracy)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "; model in %s\n", res.Model)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.Model, "model", "", "starting model (llama GGUF with a tokenizer)")
	f.StringVar(&cfg.Data, "data", "", "data file (JSONL or a JSON array)")
	f.StringVarP(&out, "output", "o", "", "run directory")
	f.StringVar(&resume, "resume", "", "continue the run in this directory from its checkpoint")
	f.Float64Var(&cfg.ValFraction, "val-fraction", cfg.ValFraction, "share of the examples held out for validation")
	runFlags(c, &cfg, "sequences (sft) or pairs (reward, dpo) per micro-batch")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the split, the data order (and a reward head's initial weights)")
	if objective == train.DPO {
		f.Float64Var(&cfg.Beta, "beta", cfg.Beta, "DPO β: how far the policy may move from the reference")
	}
	return c
}

// runFlags registers the flags every training command shares: batch shape,
// length, learning-rate schedule, optimizer, evaluation and checkpoints.
func runFlags(c *cobra.Command, cfg *train.RunConfig, batchHelp string) {
	f := c.Flags()
	f.IntVar(&cfg.Batch, "batch", cfg.Batch, batchHelp)
	f.IntVar(&cfg.SeqLen, "seq", 0, "tokens per sequence (0: the model's context length)")
	f.IntVar(&cfg.GradAccum, "grad-accum", cfg.GradAccum, "micro-batches per optimizer step")
	f.IntVar(&cfg.Steps, "steps", 0, "optimizer steps")
	f.Int64Var(&cfg.Tokens, "tokens", 0, "training tokens (when --steps is not given)")
	f.Float64Var(&cfg.LR, "lr", cfg.LR, "peak learning rate")
	f.Float64Var(&cfg.MinLR, "min-lr", cfg.MinLR, "final learning rate of the cosine decay")
	f.IntVar(&cfg.Warmup, "warmup", cfg.Warmup, "linear warmup steps")
	f.Float64Var(&cfg.WeightDecay, "weight-decay", cfg.WeightDecay, "AdamW decoupled weight decay (2-D weights)")
	f.Float64Var(&cfg.Clip, "clip", cfg.Clip, "global gradient-norm limit (0: none)")
	f.IntVar(&cfg.EvalEvery, "eval-every", cfg.EvalEvery, "steps between validations")
	f.IntVar(&cfg.EvalBatches, "eval-batches", cfg.EvalBatches, "validation micro-batches per evaluation (0: none)")
	f.IntVar(&cfg.CkptEvery, "ckpt-every", cfg.CkptEvery, "steps between checkpoints")
	f.IntVarP(&cfg.Threads, "threads", "t", 0, "compute threads (0: all cores)")
}

// runOrResume starts the run cfg describes in out, or continues the one in
// resume; Ctrl-C stops it after writing a checkpoint.
func runOrResume(cmd *cobra.Command, cfg train.RunConfig, out, resume string) (*train.Result, error) {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	if resume != "" {
		return train.Resume(ctx, resume, cfg.Threads, nil, cmd.ErrOrStderr())
	}
	if out == "" {
		return nil, errors.New("no run directory: pass -o RUNDIR (or --resume RUNDIR)")
	}
	cfg.Dir = out
	return train.Run(ctx, cfg, cmd.ErrOrStderr())
}

const runDirHelp = `
RUNDIR receives init.gguf (the starting weights), log.jsonl (one JSON line
per step and per validation), loss.png and loss.svg, checkpoint.gguf (every
--ckpt-every steps, at the end and on Ctrl-C; written atomically) and
model.gguf. After a crash or kill, --resume RUNDIR continues the run exactly
(the starting model and the data file must still be where they were).`

const dataFormats = `
Data is a JSON array or JSON Lines file of records. Conversations may be
{"messages": [{"role": "system"|"user"|"assistant"|"tool", "content": ...,
"tool_calls": [...]}, ...], "tools": [...]} (OpenAI), {"instruction", "input",
"output"} (Alpaca) or {"conversations": [{"from": "human"|"gpt"|"system"|
"function_call"|"observation", "value"}]} (ShareGPT).`

const pairFormats = dataFormats + `
A preference pair is {"prompt": "text" or [messages], "chosen": C,
"rejected": C}, or has the prompt as "messages", ShareGPT "conversations"
(as in LLaMA-Factory's dpo_en_demo.json) or Alpaca "instruction"/"input";
C is a string, one message ({"role","content"} or {"from","value"}) or a list
of messages. Pairs longer than --seq lose the start of the prompt first.`

func init() {
	rootCmd.AddCommand(
		finetuneCmd(train.SFT,
			"sft --model BASE.gguf --data CONVS.jsonl -o RUNDIR [flags] | sft --resume RUNDIR",
			"Fine-tune a model on conversations (loss on the assistant's tokens)",
			`sft trains a base model to answer as an assistant. Each conversation is
rendered with the model's chat template (tokenizer.chat_template; ChatML
when it has none, and the output then carries ChatML) and tokenized as
inference does; the loss is next-token cross-entropy on the assistant's
tokens only, its end-of-turn marker included (found by rendering each turn's
prefix with and without the turn). Short conversations are packed into rows
of --seq tokens; packed conversations attend to each other (no document
mask). --val-fraction of the conversations (a seeded draw) is held out for
the validation loss.
`+dataFormats+runDirHelp,
			`  llmos sft --model runs/base/model.gguf --data ../shared/data/sft-demo/alpaca_en_demo.json -o runs/sft --steps 500 --batch 8 --seq 256
  llmos sft --model base.gguf --data convs.jsonl -o runs/sft --steps 2000 --lr 3e-4 --eval-every 100 --ckpt-every 200
  llmos sft --resume runs/sft`),
		finetuneCmd(train.Reward,
			"reward --model SFT.gguf --data PREFS.jsonl -o RUNDIR [flags] | reward --resume RUNDIR",
			"Train a reward model on preference pairs (Bradley–Terry)",
			`reward trains a reward model: the starting model's trunk with a scalar head
(reward_head.weight [1, dim], replacing output.weight) read at the last token
of the rendered conversation, and the Bradley–Terry loss
−log σ(r_chosen − r_rejected). Validation reports the loss and the pairwise
accuracy on held-out pairs (--val-fraction). model.gguf holds the trunk and
the head, no output.weight, and llmos.reward_model = true; llmos arena
auto --judge uses it as a judge.
`+pairFormats+runDirHelp,
			`  llmos reward --model runs/sft/model.gguf --data ../shared/data/dpo-demo/dpo_en_demo.json -o runs/rm --steps 300 --batch 4 --seq 512
  llmos reward --resume runs/rm`),
		finetuneCmd(train.DPO,
			"dpo --model SFT.gguf --data PREFS.jsonl -o RUNDIR [--beta 0.1] [flags] | dpo --resume RUNDIR",
			"Align a model with direct preference optimisation (DPO)",
			`dpo optimises the starting model on preference pairs with the DPO loss
−log σ(β·[(log π(chosen) − log ref(chosen)) − (log π(rejected) − log ref(rejected))])
over the response tokens, against the frozen starting model as reference;
the reference log-probabilities are computed once before the first step.
Validation reports the loss, the share of held-out pairs whose implicit
reward β·(log π − log ref) is higher for the chosen answer, and the mean
margin between the two.
`+pairFormats+runDirHelp,
			`  llmos dpo --model runs/sft/model.gguf --data ../shared/data/dpo-demo/dpo_en_demo.json -o runs/dpo --steps 200 --batch 4 --beta 0.1
  llmos dpo --resume runs/dpo`),
	)
}
