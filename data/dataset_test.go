package data

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeSplit writes a split whose token i is (i*7+3) % vocab, in shards of
// per tokens, and returns the stream.
func writeSplit(t *testing.T, dir, split string, n, per int64, vocab int) []int32 {
	t.Helper()
	w := newShardWriter(dir, split, per, vocab)
	stream := make([]int32, n)
	for i := range stream {
		stream[i] = int32((int64(i)*7 + 3) % int64(vocab))
	}
	// Uneven writes, so writes cross shard ends.
	for rest := stream; len(rest) > 0; {
		k := min(len(rest), 5)
		if err := w.write(rest[:k]); err != nil {
			t.Fatal(err)
		}
		rest = rest[k:]
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	return stream
}

// makeDataset writes a data directory with train and val splits.
func makeDataset(t *testing.T, trainTokens, valTokens, per int64, vocab int) (string, []int32, []int32) {
	t.Helper()
	dir := t.TempDir()
	train := writeSplit(t, dir, Train, trainTokens, per, vocab)
	val := writeSplit(t, dir, Val, valTokens, per, vocab)
	shards := func(n int64) int { return int((n + per - 1) / per) }
	m := Meta{Version: MetaVersion, Tokenizer: "tok.gguf", VocabSize: vocab, BOS: 1, EOS: 2,
		TrainTokens: trainTokens, ValTokens: valTokens, TrainShards: shards(trainTokens), ValShards: shards(valTokens)}
	if err := writeMeta(dir, m); err != nil {
		t.Fatal(err)
	}
	return dir, train, val
}

func openDataset(t *testing.T, dir string) *Dataset {
	t.Helper()
	d, err := OpenDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestOpenDatasetRejectsDamage(t *testing.T) {
	cases := []struct {
		name   string
		damage func(dir string) error
		want   string
	}{
		{"truncated shard", func(dir string) error {
			return os.Truncate(filepath.Join(dir, "train_000001.bin"), HeaderBytes+5)
		}, "truncated"},
		{"truncated header", func(dir string) error {
			return os.Truncate(filepath.Join(dir, "val_000000.bin"), 100)
		}, "header is 100 bytes"},
		{"bad magic", func(dir string) error { return poke(dir, "train_000000.bin", 0, 0x12345678) }, "not a token shard"},
		{"bad version", func(dir string) error { return poke(dir, "train_000000.bin", 1, 9) }, "version 9"},
		{"wrong width", func(dir string) error { return poke(dir, "train_000000.bin", 3, 4) }, "bytes per token"},
		{"token count vs size", func(dir string) error { return poke(dir, "train_000000.bin", 2, 11) }, "truncated or corrupt"},
		{"vocabulary vs meta", func(dir string) error { return poke(dir, "val_000000.bin", 4, 999) }, "meta.json says 1000"},
		{"missing shard", func(dir string) error { return os.Remove(filepath.Join(dir, "train_000002.bin")) }, "no such file"},
		{"meta total", func(dir string) error { return editMeta(dir, func(m *Meta) { m.TrainTokens++ }) }, "meta.json says 26"},
		{"meta version", func(dir string) error { return editMeta(dir, func(m *Meta) { m.Version = 2 }) }, "version 2"},
		{"meta not JSON", func(dir string) error { return os.WriteFile(filepath.Join(dir, MetaFile), []byte("{"), 0o644) }, "unexpected end"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, _, _ := makeDataset(t, 25, 8, 10, 1000)
			if err := c.damage(dir); err != nil {
				t.Fatal(err)
			}
			_, err := OpenDataset(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

// poke overwrites header field i of a shard.
func poke(dir, name string, i int, v uint32) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteAt(binary.LittleEndian.AppendUint32(nil, v), int64(4*i))
	return err
}

func editMeta(dir string, edit func(*Meta)) error {
	b, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		return err
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	edit(&m)
	return writeMeta(dir, m)
}

func TestLoaderRejectsCorruptTokens(t *testing.T) {
	dir, _, _ := makeDataset(t, 25, 8, 10, 1000)
	f, err := os.OpenFile(filepath.Join(dir, "train_000000.bin"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xff, 0xff}, HeaderBytes+2*3)
	f.Close()
	l, err := openDataset(t, dir).Loader(Train, 1, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	in, tg := make([]int32, 8), make([]int32, 8)
	if err := l.Next(in, tg); err == nil || !strings.Contains(err.Error(), "outside the vocabulary") {
		t.Fatalf("err = %v, want a corrupt-token error", err)
	}
}

// TestLoaderWindows checks batches against the stream read sequentially:
// windows of seq+1 starting every seq tokens, restarting when fewer than
// seq+1 tokens remain.
func TestLoaderWindows(t *testing.T) {
	cases := []struct {
		name               string
		tokens, per        int64
		vocab, batch, seq  int
		split              string
		batches, wantEpoch int
	}{
		{"uint16 across shard ends", 100, 13, 1000, 3, 5, Train, 6, 0},
		{"uint32 across shard ends", 100, 13, 70000, 2, 8, Train, 6, 0},
		{"epoch wraps", 50, 7, 300, 2, 6, Train, 9, 2},
		{"window equals the split", 9, 4, 300, 1, 8, Val, 3, 2},
		{"one shard", 40, 1000, 300, 4, 3, Val, 5, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, train, val := makeDataset(t, c.tokens, c.tokens, c.per, c.vocab)
			stream := train
			if c.split == Val {
				stream = val
			}
			l, err := openDataset(t, dir).Loader(c.split, c.batch, c.seq, 0)
			if err != nil {
				t.Fatal(err)
			}
			in, tg := make([]int32, c.batch*c.seq), make([]int32, c.batch*c.seq)
			p := 0
			for b := range c.batches {
				if err := l.Next(in, tg); err != nil {
					t.Fatal(err)
				}
				for r := range c.batch {
					if p+c.seq+1 > len(stream) {
						p = 0
					}
					want := stream[p : p+c.seq+1]
					if !slices.Equal(in[r*c.seq:(r+1)*c.seq], want[:c.seq]) || !slices.Equal(tg[r*c.seq:(r+1)*c.seq], want[1:]) {
						t.Fatalf("batch %d row %d: inputs %v targets %v, want window %v", b, r, in[r*c.seq:(r+1)*c.seq], tg[r*c.seq:(r+1)*c.seq], want)
					}
					p += c.seq
				}
			}
			if e := l.Position().Epoch; e != c.wantEpoch {
				t.Errorf("epoch %d after %d batches, want %d", e, c.batches, c.wantEpoch)
			}
		})
	}
}

func TestLoaderSeekResumes(t *testing.T) {
	dir, _, _ := makeDataset(t, 200, 30, 17, 1000)
	d := openDataset(t, dir)
	for _, seed := range []uint64{0, 42} {
		l, err := d.Loader(Train, 2, 9, seed)
		if err != nil {
			t.Fatal(err)
		}
		in, tg := make([]int32, 18), make([]int32, 18)
		for range 13 { // past an epoch end
			if err := l.Next(in, tg); err != nil {
				t.Fatal(err)
			}
		}
		saved, err := json.Marshal(l.Position())
		if err != nil {
			t.Fatal(err)
		}
		var rest [][]int32
		for range 20 {
			if err := l.Next(in, tg); err != nil {
				t.Fatal(err)
			}
			rest = append(rest, slices.Concat(in, tg))
		}

		var p Position
		if err := json.Unmarshal(saved, &p); err != nil {
			t.Fatal(err)
		}
		if p.Epoch == 0 {
			t.Fatalf("seed %d: position %s is still in epoch 0", seed, saved)
		}
		resumed, err := d.Loader(Train, 2, 9, seed)
		if err != nil {
			t.Fatal(err)
		}
		if err := resumed.Seek(p); err != nil {
			t.Fatal(err)
		}
		for i, want := range rest {
			if err := resumed.Next(in, tg); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(slices.Concat(in, tg), want) {
				t.Fatalf("seed %d: batch %d after resuming at %s differs", seed, i, saved)
			}
		}
	}
}

func TestLoaderShardOrder(t *testing.T) {
	dir, _, _ := makeDataset(t, 60, 10, 10, 1000) // six train shards
	d := openDataset(t, dir)
	orders := map[string]bool{}
	for _, seed := range []uint64{0, 1, 2} {
		l, err := d.Loader(Train, 1, 9, seed)
		if err != nil {
			t.Fatal(err)
		}
		for epoch := range 3 {
			l.startEpoch(epoch)
			got := slices.Clone(l.order)
			sorted := slices.Sorted(slices.Values(got))
			if !slices.Equal(sorted, []int{0, 1, 2, 3, 4, 5}) {
				t.Fatalf("seed %d epoch %d: order %v is not a permutation of the shards", seed, epoch, got)
			}
			if seed == 0 && !slices.Equal(got, sorted) {
				t.Fatalf("seed 0 epoch %d: order %v, want file order", epoch, got)
			}
			orders[fmt.Sprint(got)] = true
		}
	}
	if len(orders) < 4 {
		t.Errorf("only %d distinct shard orders over seeds and epochs", len(orders))
	}
}

func TestLoaderErrors(t *testing.T) {
	dir, _, _ := makeDataset(t, 30, 5, 10, 1000)
	d := openDataset(t, dir)
	cases := []struct {
		name       string
		split      string
		batch, seq int
		want       string
	}{
		{"unknown split", "test", 1, 4, "split"},
		{"zero batch", Train, 0, 4, "positive"},
		{"split shorter than a window", Val, 1, 5, "fewer than one window"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := d.Loader(c.split, c.batch, c.seq, 0); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
	l, err := d.Loader(Train, 2, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Next(make([]int32, 7), make([]int32, 8)); err == nil {
		t.Error("Next accepted 7 inputs for 2×4")
	}
	for _, p := range []Position{{Shard: 3}, {Shard: -1}, {Offset: 11}, {Epoch: -1}} {
		if err := l.Seek(p); err == nil {
			t.Errorf("Seek(%+v) accepted a position outside the split", p)
		}
	}
}

func FuzzDecodeHeader(f *testing.F) {
	f.Add(encodeHeader(header{tokens: 5, width: 2, vocab: 300}))
	f.Add(encodeHeader(header{tokens: 5, width: 4, vocab: 70000}))
	f.Add([]byte("SMLL"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHeader(b)
		if err == nil && (h.tokens < 0 || h.width != TokenBytes(h.vocab) || h.vocab <= 0) {
			t.Fatalf("accepted header %+v", h)
		}
	})
}

func BenchmarkLoaderNext(b *testing.B) {
	dir := b.TempDir()
	w := newShardWriter(dir, Train, 1<<20, 4096)
	toks := make([]int32, 1<<20)
	for i := range toks {
		toks[i] = int32(i % 4096)
	}
	if err := w.write(toks); err != nil {
		b.Fatal(err)
	}
	if err := w.finish(); err != nil {
		b.Fatal(err)
	}
	if err := writeMeta(dir, Meta{Version: MetaVersion, VocabSize: 4096, TrainTokens: 1 << 20, TrainShards: 1}); err != nil {
		b.Fatal(err)
	}
	d, err := OpenDataset(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	l, err := d.Loader(Train, 8, 256, 0)
	if err != nil {
		b.Fatal(err)
	}
	in, tg := make([]int32, 8*256), make([]int32, 8*256)
	b.SetBytes(int64(len(in)) * 2)
	for b.Loop() {
		if err := l.Next(in, tg); err != nil {
			b.Fatal(err)
		}
	}
}
