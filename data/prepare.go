package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tokenizer"
)

// DefaultShardTokens is the number of tokens per shard unless told
// otherwise (as llm.c's shards).
const DefaultShardTokens = 100_000_000

// PrepareOptions configure Prepare.
type PrepareOptions struct {
	Tokenizer string // path of the tokenizer GGUF (any GGUF with tokenizer.ggml.* metadata)
	Out       string // data directory to write; created if missing

	// ValFraction is the share of documents that go to the val split,
	// chosen by a hash of each document's text, so the split is the same
	// on every run. Ignored when ValFiles is set.
	ValFraction float64
	// ValFiles, if set, are the val split; all of the inputs are train.
	ValFiles []string

	ShardTokens int64    // tokens per shard; 0 means DefaultShardTokens
	TextField   string   // JSONL field holding a document; "" means "text"
	Separators  []string // plain-text separator lines; nil means DefaultSeparators
	Workers     int      // tokenizing goroutines; 0 means 2

	// Progress, if set, is called with the number of input bytes read
	// since its last call.
	Progress func(n int64)
}

// job is a run of documents tokenized together; out receives them in order.
type job struct {
	docs  []string
	val   []bool
	toks  [][]int32
	err   error
	ready chan struct{}
}

// batchBytes is how much text a job holds at most (besides one document).
const batchBytes = 1 << 20

// Prepare tokenizes the documents of files — plain text split at separator
// lines, or JSONL (see IsJSONL) — into a data directory: each document
// becomes BOS followed by its tokens, appended to the train or val split's
// shards in input order. Documents are tokenized by opts.Workers
// goroutines; memory holds a few batches of documents, not shards or the
// corpus. Shards and then meta.json are written atomically (temporary file,
// rename), and shards a previous run left beyond the new counts are
// removed.
func Prepare(ctx context.Context, files []string, opts PrepareOptions) (Meta, error) {
	if len(files) == 0 {
		return Meta{}, errors.New("data: no input files")
	}
	if opts.ValFraction < 0 || opts.ValFraction >= 1 {
		return Meta{}, fmt.Errorf("data: validation fraction %g, want 0 ≤ f < 1", opts.ValFraction)
	}
	if opts.ShardTokens == 0 {
		opts.ShardTokens = DefaultShardTokens
	}
	if opts.ShardTokens < 0 || opts.ShardTokens > 1<<31-1 {
		return Meta{}, fmt.Errorf("data: %d tokens per shard, want 1 to 2^31-1", opts.ShardTokens)
	}
	if opts.TextField == "" {
		opts.TextField = "text"
	}
	if opts.Separators == nil {
		opts.Separators = DefaultSeparators
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	tok, sum, err := loadTokenizer(opts.Tokenizer)
	if err != nil {
		return Meta{}, err
	}
	if tok.BOS() == tokenizer.NoToken {
		return Meta{}, fmt.Errorf("data: tokenizer %s has no BOS token to start documents with", opts.Tokenizer)
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return Meta{}, fmt.Errorf("data: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan *job, opts.Workers)
	order := make(chan *job, 2*opts.Workers)
	readErr := make(chan error, 1)
	go func() {
		defer close(todo)
		defer close(order)
		readErr <- readAll(ctx, files, opts, todo, order)
	}()
	for range opts.Workers {
		go func() {
			for j := range todo {
				j.toks = make([][]int32, len(j.docs))
				for i, d := range j.docs {
					j.toks[i] = append([]int32{tok.BOS()}, tok.Encode(d, false, false)...)
				}
				close(j.ready)
			}
		}()
	}

	vocab := tok.VocabSize()
	train := newShardWriter(opts.Out, Train, opts.ShardTokens, vocab)
	val := newShardWriter(opts.Out, Val, opts.ShardTokens, vocab)
	defer train.abort()
	defer val.abort()
	for j := range order {
		select {
		case <-j.ready:
		case <-ctx.Done():
			return Meta{}, ctx.Err()
		}
		for i, t := range j.toks {
			w := train
			if j.val[i] {
				w = val
			}
			if err := w.write(t); err != nil {
				cancel()
				return Meta{}, err
			}
		}
	}
	if err := <-readErr; err != nil {
		return Meta{}, err
	}
	if err := train.finish(); err != nil {
		return Meta{}, err
	}
	if err := val.finish(); err != nil {
		return Meta{}, err
	}

	m := Meta{
		Version: MetaVersion, Tokenizer: opts.Tokenizer, TokenizerSHA256: sum,
		VocabSize: vocab, BOS: tok.BOS(), EOS: tok.EOS(),
		TrainTokens: train.total, ValTokens: val.total, TrainShards: train.shards, ValShards: val.shards,
		Sources: append(append([]string{}, files...), opts.ValFiles...),
	}
	if err := writeMeta(opts.Out, m); err != nil {
		return Meta{}, err
	}
	return m, removeStale(opts.Out, m)
}

// readAll reads the documents of every file into jobs, sending each job to
// the workers and, in order, to the writer.
func readAll(ctx context.Context, files []string, opts PrepareOptions, todo, order chan<- *job) error {
	j := &job{ready: make(chan struct{})}
	size := 0
	send := func() error {
		if len(j.docs) == 0 {
			return nil
		}
		select {
		case order <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case todo <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
		j, size = &job{ready: make(chan struct{})}, 0
		return nil
	}
	inputs := append(append([]string{}, files...), opts.ValFiles...)
	for n, name := range inputs {
		fromValFile := n >= len(files)
		emit := func(doc string) error {
			val := fromValFile
			if len(opts.ValFiles) == 0 {
				val = isVal(doc, opts.ValFraction)
			}
			j.docs = append(j.docs, doc)
			j.val = append(j.val, val)
			size += len(doc)
			if size >= batchBytes {
				return send()
			}
			return nil
		}
		if err := readFile(name, opts, emit); err != nil {
			return err
		}
	}
	return send()
}

func readFile(name string, opts PrepareOptions, emit func(string) error) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if opts.Progress != nil {
		r = progressReader{f, opts.Progress}
	}
	if IsJSONL(name) {
		err = jsonlDocs(r, opts.TextField, emit)
	} else {
		err = textDocs(r, opts.Separators, emit)
	}
	if err != nil {
		return fmt.Errorf("data: %s: %w", name, err)
	}
	return nil
}

type progressReader struct {
	r        io.Reader
	progress func(int64)
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.progress(int64(n))
	return n, err
}

// isVal places a document in the val split when its text hashes below the
// fraction: deterministic, and duplicates land in the same split.
func isVal(doc string, fraction float64) bool {
	if fraction == 0 {
		return false
	}
	h := fnv.New64a()
	io.WriteString(h, doc)
	return float64(h.Sum64()>>11)/(1<<53) < fraction
}

// loadTokenizer reads the tokenizer of a GGUF file and the file's SHA-256.
func loadTokenizer(path string) (*tokenizer.Tokenizer, string, error) {
	if path == "" {
		return nil, "", errors.New("data: no tokenizer file given")
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("data: tokenizer: %w", err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, "", fmt.Errorf("data: %s: %w", path, err)
	}
	raw, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("data: %w", err)
	}
	defer raw.Close()
	h := sha256.New()
	if _, err := io.Copy(h, raw); err != nil {
		return nil, "", fmt.Errorf("data: hashing %s: %w", path, err)
	}
	return tok, hex.EncodeToString(h.Sum(nil)), nil
}

// writeMeta writes meta.json atomically.
func writeMeta(dir string, m Meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+MetaFile+".tmp*")
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Chmod(0o644) // CreateTemp made it private
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, MetaFile))
	}
	if err != nil {
		return fmt.Errorf("data: writing %s: %w", filepath.Join(dir, MetaFile), err)
	}
	return nil
}

var shardFile = regexp.MustCompile(`^(train|val)_([0-9]{6})\.bin$`)

// removeStale deletes shard files numbered beyond the counts in m.
func removeStale(dir string, m Meta) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	for _, e := range entries {
		g := shardFile.FindStringSubmatch(e.Name())
		if g == nil {
			continue
		}
		i, _ := strconv.Atoi(g[2])
		if (g[1] == Train && i >= m.TrainShards) || (g[1] == Val && i >= m.ValShards) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("data: removing a stale shard: %w", err)
			}
		}
	}
	return nil
}
