// Package data turns text corpora into token shards and reads them back as
// training batches.
//
// A data directory holds meta.json and shard files train_000000.bin, …,
// val_000000.bin, …. A shard is a 1024-byte header of 256 little-endian
// int32 values — magic 0x4c4c4d53, version 1, token count, bytes per token
// (2 when the vocabulary has at most 65536 tokens, else 4), vocabulary size,
// zeros — followed by the tokens as little-endian uint16 or uint32.
// Documents are concatenated, each preceded by the tokenizer's BOS.
package data

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Shard header fields.
const (
	Magic       = 0x4c4c4d53
	Version     = 1
	HeaderBytes = 1024
)

// Splits of a data directory.
const (
	Train = "train"
	Val   = "val"
)

// TokenBytes returns the bytes per token of shards for a vocabulary size.
func TokenBytes(vocab int) int {
	if vocab <= 1<<16 {
		return 2
	}
	return 4
}

// ShardName returns the file name of a split's i-th shard.
func ShardName(split string, i int) string { return fmt.Sprintf("%s_%06d.bin", split, i) }

// header is a decoded shard header.
type header struct {
	tokens int64
	width  int
	vocab  int
}

func encodeHeader(h header) []byte {
	b := make([]byte, HeaderBytes)
	for i, v := range []int64{Magic, Version, h.tokens, int64(h.width), int64(h.vocab)} {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(int32(v)))
	}
	return b
}

// decodeHeader checks a header's magic, version and width against vocab.
func decodeHeader(b []byte) (header, error) {
	if len(b) < HeaderBytes {
		return header{}, fmt.Errorf("header is %d bytes, want %d (truncated shard)", len(b), HeaderBytes)
	}
	at := func(i int) int32 { return int32(binary.LittleEndian.Uint32(b[4*i:])) }
	if m := uint32(at(0)); m != Magic {
		return header{}, fmt.Errorf("magic %#x, want %#x (not a token shard)", m, Magic)
	}
	if v := at(1); v != Version {
		return header{}, fmt.Errorf("version %d, want %d", v, Version)
	}
	h := header{tokens: int64(at(2)), width: int(at(3)), vocab: int(at(4))}
	switch {
	case h.tokens < 0:
		return h, fmt.Errorf("negative token count %d", h.tokens)
	case h.vocab <= 0:
		return h, fmt.Errorf("vocabulary size %d", h.vocab)
	case h.width != TokenBytes(h.vocab):
		return h, fmt.Errorf("%d bytes per token for a vocabulary of %d, want %d", h.width, h.vocab, TokenBytes(h.vocab))
	}
	return h, nil
}

// shardWriter writes one split's shards, each to a temporary file renamed
// into place once complete; tokens stream to disk, so memory does not
// grow with the shard.
type shardWriter struct {
	dir, split string
	max        int64 // tokens per shard
	vocab      int
	width      int

	f      *os.File
	w      *bufio.Writer
	n      int64 // tokens in the open shard
	shards int
	total  int64
	buf    []byte
}

func newShardWriter(dir, split string, maxTokens int64, vocab int) *shardWriter {
	return &shardWriter{dir: dir, split: split, max: maxTokens, vocab: vocab, width: TokenBytes(vocab)}
}

// write appends tokens, opening and closing shards as they fill.
func (s *shardWriter) write(tokens []int32) error {
	for len(tokens) > 0 {
		if s.f == nil {
			if err := s.open(); err != nil {
				return err
			}
		}
		n := min(int64(len(tokens)), s.max-s.n)
		s.buf = s.buf[:0]
		for _, t := range tokens[:n] {
			if t < 0 || int(t) >= s.vocab {
				return fmt.Errorf("data: token id %d outside the vocabulary of %d", t, s.vocab)
			}
			if s.width == 2 {
				s.buf = binary.LittleEndian.AppendUint16(s.buf, uint16(t))
			} else {
				s.buf = binary.LittleEndian.AppendUint32(s.buf, uint32(t))
			}
		}
		if _, err := s.w.Write(s.buf); err != nil {
			return fmt.Errorf("data: writing %s: %w", s.f.Name(), err)
		}
		s.n += n
		s.total += n
		tokens = tokens[n:]
		if s.n == s.max {
			if err := s.finish(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *shardWriter) open() error {
	name := ShardName(s.split, s.shards)
	f, err := os.CreateTemp(s.dir, "."+name+".tmp*")
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	s.f, s.w, s.n = f, bufio.NewWriterSize(f, 1<<20), 0
	// The token count is patched in when the shard is complete.
	if _, err := s.w.Write(encodeHeader(header{width: s.width, vocab: s.vocab})); err != nil {
		return fmt.Errorf("data: writing %s: %w", f.Name(), err)
	}
	return nil
}

// finish completes the open shard: header, sync, rename.
func (s *shardWriter) finish() error {
	if s.f == nil {
		return nil
	}
	f := s.f
	s.f = nil
	path := filepath.Join(s.dir, ShardName(s.split, s.shards))
	err := s.w.Flush()
	if err == nil {
		_, err = f.WriteAt(encodeHeader(header{tokens: s.n, width: s.width, vocab: s.vocab}), 0)
	}
	if err == nil {
		err = f.Chmod(0o644) // CreateTemp made it private
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("data: writing %s: %w", path, err)
	}
	s.shards++
	return nil
}

// abort removes the open shard's temporary file.
func (s *shardWriter) abort() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
		s.f = nil
	}
}

// readHeader reads and checks the header of an open shard against its size.
func readHeader(f *os.File) (header, error) {
	b := make([]byte, HeaderBytes)
	n, err := io.ReadFull(f, b)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return header{}, err
	}
	h, err := decodeHeader(b[:n])
	if err != nil {
		return h, err
	}
	st, err := f.Stat()
	if err != nil {
		return h, err
	}
	if want := HeaderBytes + h.tokens*int64(h.width); st.Size() != want {
		return h, fmt.Errorf("%d bytes, want %d for %d tokens of %d bytes (truncated or corrupt shard)", st.Size(), want, h.tokens, h.width)
	}
	return h, nil
}
