package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/llmos/llmos/defaultmodel"
	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/sample"
	"github.com/spf13/cobra"
)

// modelFlags are the flags every command that loads a model shares.
type modelFlags struct {
	path    string
	threads int
	ctx     int
}

func (f *modelFlags) register(c *cobra.Command) {
	c.Flags().StringVarP(&f.path, "model", "m", "", "GGUF model file (default: the built-in assistant)")
	c.Flags().IntVarP(&f.threads, "threads", "t", 0, "compute threads (0: one per core)")
	c.Flags().IntVarP(&f.ctx, "ctx-size", "c", 0, "context length in tokens (0: the model's, at most 4096)")
}

// open loads the model named by -m, or the built-in assistant.
func (f *modelFlags) open() (*engine.Engine, error) {
	opts := engine.Options{Threads: f.threads, Context: f.ctx}
	if f.path == "" {
		m, err := defaultmodel.Open()
		if err != nil {
			return nil, err
		}
		return engine.New(m, opts)
	}
	return engine.Open(f.path, opts)
}

// promptFlags read a prompt from -p TEXT or, byte for byte, from -f FILE.
type promptFlags struct {
	text string
	file string
}

func (p *promptFlags) register(c *cobra.Command) {
	c.Flags().StringVarP(&p.text, "prompt", "p", "", "prompt text")
	c.Flags().StringVarP(&p.file, "file", "f", "", "read the prompt from a file (its exact bytes)")
}

// read returns the prompt; args may supply it as a positional argument.
func (p *promptFlags) read(args []string) (string, error) {
	sources := 0
	for _, set := range []bool{p.text != "", p.file != "", len(args) > 0} {
		if set {
			sources++
		}
	}
	switch {
	case sources > 1:
		return "", errors.New("give the prompt once: -p TEXT, -f FILE or an argument")
	case p.file != "":
		b, err := os.ReadFile(p.file)
		if err != nil {
			return "", err
		}
		return string(b), nil
	case len(args) > 0:
		if len(args) > 1 {
			return "", fmt.Errorf("one prompt argument expected, got %d (quote the text)", len(args))
		}
		return args[0], nil
	case p.text != "":
		return p.text, nil
	}
	return "", errors.New("no prompt: pass -p TEXT or -f FILE")
}

// samplingFlags are the generation settings of run, generate and chat.
type samplingFlags struct {
	params    sample.Params
	seed      int64
	maxTokens int
	stops     []string
	ignoreEOS bool
}

func (s *samplingFlags) register(c *cobra.Command, defaultMax int) {
	d := sample.DefaultParams()
	fl := c.Flags()
	fl.IntVarP(&s.maxTokens, "n-predict", "n", defaultMax, "most tokens to generate (-1: until end of text or a full context)")
	fl.Float32Var(&s.params.Temperature, "temp", d.Temperature, "temperature; 0 is greedy")
	fl.IntVar(&s.params.TopK, "top-k", d.TopK, "keep the K most likely tokens (0: off)")
	fl.Float32Var(&s.params.TopP, "top-p", d.TopP, "nucleus sampling mass (1: off)")
	fl.Float32Var(&s.params.MinP, "min-p", d.MinP, "drop tokens below this share of the best one's probability (0: off)")
	fl.Float32Var(&s.params.RepeatPenalty, "repeat-penalty", d.RepeatPenalty, "penalise repeated tokens (1: off)")
	fl.IntVar(&s.params.RepeatLastN, "repeat-last-n", d.RepeatLastN, "tokens the penalties look back over (-1: all)")
	fl.Float32Var(&s.params.FrequencyPenalty, "frequency-penalty", 0, "subtract this per earlier occurrence")
	fl.Float32Var(&s.params.PresencePenalty, "presence-penalty", 0, "subtract this once if the token occurred")
	fl.Int64Var(&s.seed, "seed", -1, "random seed (-1: a fresh one each run)")
	fl.StringArrayVar(&s.stops, "stop", nil, "stop when this text appears (repeatable)")
	fl.BoolVar(&s.ignoreEOS, "ignore-eos", false, "keep generating past end-of-generation tokens")
}

// request builds an engine request for prompt.
func (s *samplingFlags) request(prompt []int32) engine.Request {
	p := s.params
	if s.seed < 0 {
		p.Seed = rand.Uint64()
	} else {
		p.Seed = uint64(s.seed)
	}
	return engine.Request{Prompt: prompt, MaxTokens: s.maxTokens, Sampling: p, Stop: s.stops, IgnoreEOS: s.ignoreEOS}
}

// openPrompt reads the prompt, opens the model and a session, and tokenizes
// the prompt as llama.cpp does (BOS where the vocabulary wants it). The
// caller closes the engine.
func openPrompt(mf *modelFlags, pf *promptFlags, args []string) (*engine.Engine, *engine.Session, []int32, error) {
	text, err := pf.read(args)
	if err != nil {
		return nil, nil, nil, err
	}
	e, err := mf.open()
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := e.NewSession()
	if err != nil {
		e.Close()
		return nil, nil, nil, err
	}
	return e, s, e.Tokenizer.Encode(text, true, false), nil
}
