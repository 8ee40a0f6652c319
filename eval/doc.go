// Package eval measures language models where an answer key exists:
// perplexity and bits per byte over a text, computed in windows exactly as
// llama.cpp's llama-perplexity does, and task accuracy — multiple choice by
// log-likelihood (BLiMP's minimal pairs, custom JSONL) and
// generate-then-exact-match (GSM8K) — with Wilson 95% intervals.
package eval
