package data

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/llmos/llmos/internal/testenv"
	"github.com/llmos/llmos/tokenizer"
)

func TestTextDocs(t *testing.T) {
	cases := []struct {
		name string
		in   string
		seps []string
		want []string
	}{
		{"blank lines", "a b\nc\n\n\nd\n", DefaultSeparators, []string{"a b\nc", "d"}},
		{"endoftext lines", "One.\nTwo.\n<|endoftext|>\nThree.\n<|endoftext|>\n", DefaultSeparators, []string{"One.\nTwo.", "Three."}},
		{"CRLF and spaces on separators", "x\r\n  \r\ny\r\n", DefaultSeparators, []string{"x", "y"}},
		{"no final newline", "x\n\ny", DefaultSeparators, []string{"x", "y"}},
		{"custom separator keeps blank lines", "p1\n\np2\n===\nq\n", []string{"==="}, []string{"p1\n\np2", "q"}},
		{"empty input", "", DefaultSeparators, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			err := textDocs(strings.NewReader(c.in), c.seps, func(d string) error { got = append(got, d); return nil })
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("docs = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestJSONLDocs(t *testing.T) {
	cases := []struct {
		name, in, field string
		want            []string
		err             string
	}{
		{"text field", `{"text":"a\nb","id":1}` + "\n\n" + `{"text":"c"}`, "text", []string{"a\nb", "c"}, ""},
		{"other field", `{"story":"s","text":5}` + "\n", "story", []string{"s"}, ""},
		{"missing field", `{"text":"a"}` + "\n" + `{"body":"b"}`, "text", nil, `line 2: no field "text"`},
		{"not a string", `{"text":["a"]}`, "text", nil, "not a string"},
		{"not JSON", `{"text":`, "text", nil, "line 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			err := jsonlDocs(strings.NewReader(c.in), c.field, func(d string) error { got = append(got, d); return nil })
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want one mentioning %q", err, c.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("docs = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// trainTokenizer writes a small trained tokenizer and returns its path.
func trainTokenizer(t *testing.T, text string, opts tokenizer.TrainOptions) (string, *tokenizer.Tokenizer) {
	t.Helper()
	v, _, err := tokenizer.Train(context.Background(), strings.NewReader(text), opts)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tok.gguf")
	if err := v.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	return path, tok
}

// readSplit returns all tokens of a split, shard after shard.
func readSplit(t *testing.T, dir, split string, shards int) []int32 {
	t.Helper()
	var out []int32
	for i := range shards {
		b, err := os.ReadFile(filepath.Join(dir, ShardName(split, i)))
		if err != nil {
			t.Fatal(err)
		}
		h, err := decodeHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		for p := HeaderBytes; p < len(b); p += h.width {
			if h.width == 2 {
				out = append(out, int32(binary.LittleEndian.Uint16(b[p:])))
			} else {
				out = append(out, int32(binary.LittleEndian.Uint32(b[p:])))
			}
		}
	}
	return out
}

func storyCorpus(n int) []string {
	var docs []string
	for i := range n {
		docs = append(docs, strings.Repeat("Tom saw a dog number "+string(rune('a'+i%26))+".\nThe dog ran.", 1+i%4))
	}
	return docs
}

func TestPrepare(t *testing.T) {
	docs := storyCorpus(60)
	text := strings.Join(docs[:40], "\n<|endoftext|>\n") + "\n"
	var jsonl strings.Builder
	for _, d := range docs[40:] {
		jsonl.WriteString(`{"text":` + quoteJSON(d) + "}\n")
	}
	inDir := t.TempDir()
	textFile, jsonlFile := filepath.Join(inDir, "a.txt"), filepath.Join(inDir, "b.jsonl")
	os.WriteFile(textFile, []byte(text), 0o644)
	os.WriteFile(jsonlFile, []byte(jsonl.String()), 0o644)

	for _, c := range []struct {
		name    string
		vocab   int
		reserve int
		width   int
	}{{"uint16 tokens", 300, 4, 2}, {"uint32 tokens", 70000, 70000 - 290, 4}} {
		t.Run(c.name, func(t *testing.T) {
			tokPath, tok := trainTokenizer(t, text, tokenizer.TrainOptions{VocabSize: c.vocab, Reserved: c.reserve})
			var want [2][]int32 // train, val
			var wantDocs [2]int
			for _, d := range docs {
				s := 0
				if isVal(d, 0.2) {
					s = 1
				}
				want[s] = append(append(want[s], tok.BOS()), tok.Encode(d, false, false)...)
				wantDocs[s]++
			}
			if wantDocs[0] == 0 || wantDocs[1] == 0 {
				t.Fatalf("hash split put %v documents in train and val", wantDocs)
			}
			var first Meta
			for _, workers := range []int{1, 2, 3} {
				out := t.TempDir()
				var read int64
				m, err := Prepare(context.Background(), []string{textFile, jsonlFile}, PrepareOptions{
					Tokenizer: tokPath, Out: out, ValFraction: 0.2, ShardTokens: 50, Workers: workers,
					Progress: func(n int64) { read += n },
				})
				if err != nil {
					t.Fatal(err)
				}
				if read != int64(len(text)+jsonl.Len()) {
					t.Errorf("progress reported %d bytes, want %d", read, len(text)+jsonl.Len())
				}
				for s, split := range []string{Train, Val} {
					shards := []int{m.TrainShards, m.ValShards}[s]
					if got := readSplit(t, out, split, shards); !slices.Equal(got, want[s]) {
						t.Fatalf("%d workers: %s split holds %d tokens %v…, want %d %v…", workers, split, len(got), got[:min(8, len(got))], len(want[s]), want[s][:8])
					}
				}
				if m.TrainTokens != int64(len(want[0])) || m.ValTokens != int64(len(want[1])) ||
					m.TrainShards != (len(want[0])+49)/50 || m.VocabSize != c.vocab || m.BOS != tok.BOS() || m.EOS != tok.EOS() ||
					len(m.TokenizerSHA256) != 64 || !slices.Equal(m.Sources, []string{textFile, jsonlFile}) {
					t.Errorf("meta = %+v", m)
				}
				d := openDataset(t, out)
				if d.Meta.TrainTokens != m.TrainTokens || TokenBytes(d.Meta.VocabSize) != c.width {
					t.Errorf("reopened meta %+v", d.Meta)
				}
				if first.TokenizerSHA256 == "" {
					first = m
				} else if first.TrainTokens != m.TrainTokens || first.TrainShards != m.TrainShards {
					t.Errorf("%d workers gave %+v, 1 worker %+v", workers, m, first)
				}
			}
		})
	}
}

func quoteJSON(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func TestPrepareValFilesAndStaleShards(t *testing.T) {
	docs := storyCorpus(30)
	inDir := t.TempDir()
	trainFile, valFile := filepath.Join(inDir, "train.txt"), filepath.Join(inDir, "valid.txt")
	os.WriteFile(trainFile, []byte(strings.Join(docs[:25], "\n\n")), 0o644)
	os.WriteFile(valFile, []byte(strings.Join(docs[25:], "\n\n")), 0o644)
	tokPath, tok := trainTokenizer(t, strings.Join(docs, "\n"), tokenizer.TrainOptions{VocabSize: 320})
	out := t.TempDir()

	m, err := Prepare(context.Background(), []string{trainFile}, PrepareOptions{Tokenizer: tokPath, Out: out, ShardTokens: 20})
	if err != nil {
		t.Fatal(err)
	}
	if m.ValShards != 0 || m.TrainShards < 5 {
		t.Fatalf("without a val fraction: %d train and %d val shards", m.TrainShards, m.ValShards)
	}
	m, err = Prepare(context.Background(), []string{trainFile}, PrepareOptions{Tokenizer: tokPath, Out: out, ValFiles: []string{valFile}})
	if err != nil {
		t.Fatal(err)
	}
	var want []int32
	for _, d := range docs[25:] {
		want = append(append(want, tok.BOS()), tok.Encode(d, false, false)...)
	}
	if got := readSplit(t, out, Val, m.ValShards); !slices.Equal(got, want) {
		t.Fatalf("val split from %s: %d tokens, want %d", valFile, len(got), len(want))
	}
	if m.TrainShards != 1 || !slices.Equal(m.Sources, []string{trainFile, valFile}) {
		t.Fatalf("meta = %+v", m)
	}
	left, _ := filepath.Glob(filepath.Join(out, "*"))
	if len(left) != 3 {
		t.Fatalf("after rewriting the folder holds %q, want meta.json and one shard per split", left)
	}
	openDataset(t, out)
}

func TestPrepareErrors(t *testing.T) {
	inDir := t.TempDir()
	good := filepath.Join(inDir, "a.txt")
	bad := filepath.Join(inDir, "bad.jsonl")
	os.WriteFile(good, []byte("hello there\n\nbye now\n"), 0o644)
	os.WriteFile(bad, []byte("{\"text\":\"ok\"}\nnot json\n"), 0o644)
	tokPath, _ := trainTokenizer(t, "hello there bye now", tokenizer.TrainOptions{VocabSize: 280})
	cases := []struct {
		name  string
		files []string
		opts  PrepareOptions
		want  string
	}{
		{"no files", nil, PrepareOptions{Tokenizer: tokPath}, "no input files"},
		{"missing file", []string{filepath.Join(inDir, "nope.txt")}, PrepareOptions{Tokenizer: tokPath}, "no such file"},
		{"bad JSONL", []string{good, bad}, PrepareOptions{Tokenizer: tokPath}, "bad.jsonl: line 2"},
		{"no tokenizer", []string{good}, PrepareOptions{}, "no tokenizer"},
		{"tokenizer not GGUF", []string{good}, PrepareOptions{Tokenizer: good}, "tokenizer"},
		{"fraction", []string{good}, PrepareOptions{Tokenizer: tokPath, ValFraction: 1}, "fraction"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Out = t.TempDir()
			_, err := Prepare(context.Background(), c.files, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(c.opts.Out, MetaFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed Prepare left meta.json (%v)", err)
			}
			if tmp, _ := filepath.Glob(filepath.Join(c.opts.Out, ".*tmp*")); len(tmp) != 0 {
				t.Errorf("a failed Prepare left temporary files %q", tmp)
			}
		})
	}
}

func TestPrepareTinyStories(t *testing.T) {
	trainText, err := os.ReadFile(testenv.Data(t, "tinystories", "train_head_2mib.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() {
		trainText = trainText[:256<<10]
	}
	in := filepath.Join(t.TempDir(), "train.txt")
	os.WriteFile(in, trainText, 0o644)
	tokPath, tok := trainTokenizer(t, string(trainText), tokenizer.TrainOptions{VocabSize: 1024, Ignore: []string{"<|endoftext|>"}})
	out := t.TempDir()
	m, err := Prepare(context.Background(), []string{in}, PrepareOptions{Tokenizer: tokPath, Out: out,
		ValFiles: []string{testenv.Data(t, "tinystories", "valid_head.txt")}})
	if err != nil {
		t.Fatal(err)
	}
	stories := strings.Count(string(trainText), "<|endoftext|>")
	train := readSplit(t, out, Train, m.TrainShards)
	var bos int
	for _, id := range train {
		if id == tok.BOS() {
			bos++
		}
	}
	// A few blank lines inside stories split them too (12 in the whole
	// file), and the short slice cuts its last story.
	if bos < stories || bos > stories+13 {
		t.Errorf("%d documents in train, want one per story (%d)", bos, stories)
	}
	t.Logf("train %d tokens, val %d tokens, %.2f bytes/token", m.TrainTokens, m.ValTokens, float64(len(trainText))/float64(m.TrainTokens))
	l, err := openDataset(t, out).Loader(Val, 4, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	inputs, targets := make([]int32, 256), make([]int32, 256)
	if err := l.Next(inputs, targets); err != nil {
		t.Fatal(err)
	}
	if inputs[0] != tok.BOS() || !strings.HasPrefix(tok.Decode(inputs[1:64]), "Spot. Spot saw the shiny car") {
		t.Errorf("val starts %q", tok.Decode(inputs[:64]))
	}
}
