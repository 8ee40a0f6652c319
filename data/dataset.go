package data

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
)

// MetaVersion is the version of meta.json this package writes and reads.
const MetaVersion = 1

// MetaFile is the name of a data directory's description.
const MetaFile = "meta.json"

// Meta is a data directory's meta.json.
type Meta struct {
	Version         int      `json:"version"`
	Tokenizer       string   `json:"tokenizer"` // path of the tokenizer GGUF as given
	TokenizerSHA256 string   `json:"tokenizer_sha256"`
	VocabSize       int      `json:"vocab_size"`
	BOS             int32    `json:"bos_id"`
	EOS             int32    `json:"eos_id"`
	TrainTokens     int64    `json:"train_tokens"`
	ValTokens       int64    `json:"val_tokens"`
	TrainShards     int      `json:"train_shards"`
	ValShards       int      `json:"val_shards"`
	Sources         []string `json:"sources"`
}

// Dataset is an opened data directory. Shards are opened on first read
// and read with ReadAt, so loaders of one Dataset may run concurrently.
type Dataset struct {
	Dir  string
	Meta Meta

	shards map[string][]shard
	mu     sync.Mutex
}

type shard struct {
	path   string
	tokens int64
	width  int
	f      *os.File
}

// OpenDataset reads dir/meta.json and checks every shard it lists: header,
// vocabulary, size and token counts.
func OpenDataset(dir string) (*Dataset, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	d := &Dataset{Dir: dir, shards: map[string][]shard{}}
	if err := json.Unmarshal(b, &d.Meta); err != nil {
		return nil, fmt.Errorf("data: %s: %w", filepath.Join(dir, MetaFile), err)
	}
	m := d.Meta
	if m.Version != MetaVersion {
		return nil, fmt.Errorf("data: %s: version %d, want %d", filepath.Join(dir, MetaFile), m.Version, MetaVersion)
	}
	if m.VocabSize <= 0 || m.TrainShards < 0 || m.ValShards < 0 {
		return nil, fmt.Errorf("data: %s: vocabulary %d, %d train and %d val shards", filepath.Join(dir, MetaFile), m.VocabSize, m.TrainShards, m.ValShards)
	}
	for _, s := range []struct {
		split  string
		n      int
		tokens int64
	}{{Train, m.TrainShards, m.TrainTokens}, {Val, m.ValShards, m.ValTokens}} {
		var total int64
		for i := range s.n {
			sh, err := checkShard(filepath.Join(dir, ShardName(s.split, i)), m.VocabSize)
			if err != nil {
				return nil, err
			}
			total += sh.tokens
			d.shards[s.split] = append(d.shards[s.split], sh)
		}
		if total != s.tokens {
			return nil, fmt.Errorf("data: %s: %s shards hold %d tokens, meta.json says %d", dir, s.split, total, s.tokens)
		}
	}
	return d, nil
}

func checkShard(path string, vocab int) (shard, error) {
	f, err := os.Open(path)
	if err != nil {
		return shard{}, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	h, err := readHeader(f)
	if err != nil {
		return shard{}, fmt.Errorf("data: %s: %w", path, err)
	}
	if h.vocab != vocab {
		return shard{}, fmt.Errorf("data: %s: vocabulary %d, meta.json says %d", path, h.vocab, vocab)
	}
	return shard{path: path, tokens: h.tokens, width: h.width}, nil
}

// Tokens returns the number of tokens in a split.
func (d *Dataset) Tokens(split string) int64 {
	var n int64
	for _, s := range d.shards[split] {
		n += s.tokens
	}
	return n
}

// Close closes the shard files that reading opened.
func (d *Dataset) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for _, shards := range d.shards {
		for i := range shards {
			if shards[i].f != nil {
				errs = append(errs, shards[i].f.Close())
				shards[i].f = nil
			}
		}
	}
	return errors.Join(errs...)
}

// file returns the open file of a split's i-th shard.
func (d *Dataset) file(split string, i int) (*os.File, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := &d.shards[split][i]
	if s.f == nil {
		f, err := os.Open(s.path)
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		s.f = f
	}
	return s.f, nil
}

// Position is where a Loader reads next: a token offset in a shard (the
// shard's number in its split) and the epoch. A checkpoint stores it so a
// resumed run continues on the identical token stream.
type Position struct {
	Shard  int   `json:"shard"`
	Offset int64 `json:"offset"`
	Epoch  int   `json:"epoch"`
}

// Loader reads one split as consecutive windows of seqLen+1 tokens, the
// next window starting where the last one's inputs ended. Each epoch visits
// the shards in an order drawn from the seed and the epoch (file order for
// seed 0); a window may span shards, and at the end of an epoch the
// leftover tokens too few for a window are skipped and the next epoch
// starts. A Loader is not safe for concurrent use.
type Loader struct {
	d            *Dataset
	split        string
	batch, seq   int
	seed         uint64
	shards       []shard
	order, place []int // order[k] is the k-th shard of the epoch; place inverts it
	after        []int64
	epoch        int
	k            int   // index into order
	off          int64 // token offset in shard order[k]
	buf          []byte
	window       []int32
}

// Loader returns a loader over split ("train" or "val") that fills batch
// rows of seqLen tokens, starting at the beginning of epoch 0.
func (d *Dataset) Loader(split string, batch, seqLen int, seed uint64) (*Loader, error) {
	if split != Train && split != Val {
		return nil, fmt.Errorf("data: split %q, want %q or %q", split, Train, Val)
	}
	if batch <= 0 || seqLen <= 0 {
		return nil, fmt.Errorf("data: batch %d and sequence length %d must be positive", batch, seqLen)
	}
	if n := d.Tokens(split); n < int64(seqLen)+1 {
		return nil, fmt.Errorf("data: %s: the %s split has %d tokens, fewer than one window of %d", d.Dir, split, n, seqLen+1)
	}
	l := &Loader{d: d, split: split, batch: batch, seq: seqLen, seed: seed, shards: d.shards[split],
		window: make([]int32, seqLen+1)}
	l.startEpoch(0)
	return l, nil
}

// startEpoch sets the shard order of an epoch and moves to its start.
func (l *Loader) startEpoch(e int) {
	n := len(l.shards)
	l.epoch, l.k, l.off = e, 0, 0
	l.order = l.order[:0]
	for i := range n {
		l.order = append(l.order, i)
	}
	if l.seed != 0 {
		r := rand.New(rand.NewPCG(l.seed, uint64(e)))
		r.Shuffle(n, func(i, j int) { l.order[i], l.order[j] = l.order[j], l.order[i] })
	}
	l.place = append(l.place[:0], make([]int, n)...)
	l.after = append(l.after[:0], make([]int64, n)...)
	var rest int64
	for k := n - 1; k >= 0; k-- {
		l.place[l.order[k]] = k
		l.after[k] = rest
		rest += l.shards[l.order[k]].tokens
	}
}

// remaining is the number of tokens from the position to the epoch's end.
func (l *Loader) remaining() int64 {
	return l.shards[l.order[l.k]].tokens - l.off + l.after[l.k]
}

// Next fills inputs and targets (batch*seqLen each) with the next batch:
// row r holds a window's first seqLen tokens in inputs and its last
// seqLen tokens in targets, so targets[i] is the token after inputs[i].
func (l *Loader) Next(inputs, targets []int32) error {
	if n := l.batch * l.seq; len(inputs) != n || len(targets) != n {
		return fmt.Errorf("data: Next got %d inputs and %d targets, want %d×%d = %d", len(inputs), len(targets), l.batch, l.seq, n)
	}
	for r := range l.batch {
		if l.remaining() < int64(l.seq)+1 {
			l.startEpoch(l.epoch + 1)
		}
		if err := l.read(l.window); err != nil {
			return err
		}
		copy(inputs[r*l.seq:], l.window[:l.seq])
		copy(targets[r*l.seq:], l.window[1:])
		l.advance(int64(l.seq))
	}
	return nil
}

// read fills dst with the tokens from the position on, across shards.
func (l *Loader) read(dst []int32) error {
	k, off := l.k, l.off
	for len(dst) > 0 {
		s := l.shards[l.order[k]]
		if off == s.tokens {
			k, off = k+1, 0
			continue
		}
		n := min(int64(len(dst)), s.tokens-off)
		f, err := l.d.file(l.split, l.order[k])
		if err != nil {
			return err
		}
		need := int(n) * s.width
		if cap(l.buf) < need {
			l.buf = make([]byte, need)
		}
		b := l.buf[:need]
		if _, err := f.ReadAt(b, HeaderBytes+off*int64(s.width)); err != nil {
			return fmt.Errorf("data: reading %s: %w", s.path, err)
		}
		for i := range dst[:n] {
			var t int32
			if s.width == 2 {
				t = int32(binary.LittleEndian.Uint16(b[2*i:]))
			} else {
				t = int32(binary.LittleEndian.Uint32(b[4*i:]))
			}
			if t < 0 || int(t) >= l.d.Meta.VocabSize {
				return fmt.Errorf("data: %s: token %d at %d is outside the vocabulary of %d (corrupt shard)", s.path, t, off+int64(i), l.d.Meta.VocabSize)
			}
			dst[i] = t
		}
		dst, off = dst[n:], off+n
	}
	return nil
}

// advance moves the position n tokens on within the epoch.
func (l *Loader) advance(n int64) {
	for {
		left := l.shards[l.order[l.k]].tokens - l.off
		if n < left || l.k == len(l.order)-1 {
			l.off += min(n, left)
			return
		}
		n -= left
		l.k, l.off = l.k+1, 0
	}
}

// Position returns where the next batch starts.
func (l *Loader) Position() Position {
	return Position{Shard: l.order[l.k], Offset: l.off, Epoch: l.epoch}
}

// Seek moves to a position that Position returned, for this split.
func (l *Loader) Seek(p Position) error {
	if p.Epoch < 0 || p.Shard < 0 || p.Shard >= len(l.shards) || p.Offset < 0 || p.Offset > l.shards[p.Shard].tokens {
		return fmt.Errorf("data: position %+v is outside the %s split (%d shards)", p, l.split, len(l.shards))
	}
	l.startEpoch(p.Epoch)
	l.k, l.off = l.place[p.Shard], p.Offset
	return nil
}
