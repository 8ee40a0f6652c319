package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/data"
	"github.com/llmos/llmos/gguf"
	"github.com/llmos/llmos/tensor"
)

// A checkpoint (RUNDIR/checkpoint.gguf) is a GGUF file holding the model as
// an export does (llama.* metadata, parameters under their GGUF names, the
// tokenizer) plus what a resumed run needs:
//
//	train.step      u32     optimizer steps done (AdamW's t)
//	train.config    string  the RunConfig, JSON
//	train.loader    string  the train loader's data.Position, JSON
//	train.log       string  log.jsonl so far
//	adamw.m.<name>  F32     first moments, shaped like the parameter
//	adamw.v.<name>  F32     second moments
//
// Training consumes no random numbers after initialisation (no dropout; the
// loader's shard order is a function of the seed and the epoch, which the
// position holds), so there is no generator state to store.

// Metadata keys of a checkpoint.
const (
	keyStep   = "train.step"
	keyConfig = "train.config"
	keyLoader = "train.loader"
	keyLog    = "train.log"
)

// checkpoint writes RUNDIR/checkpoint.gguf atomically (temporary file,
// fsync, rename): a kill at any moment leaves the previous checkpoint or the
// new one, never a torn file.
func (r *runner) checkpoint() error {
	w := gguf.NewWriter()
	if err := r.m.AddToAs(w, tensor.F32); err != nil {
		return err
	}
	setKV(w, r.tok)
	cfg, err := json.Marshal(r.cfg)
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	var pos []byte
	if r.obj != nil {
		pos, err = json.Marshal(r.obj.position())
	} else {
		pos, err = json.Marshal(r.train.Position())
	}
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	var log bytes.Buffer
	for _, rec := range r.log {
		b, _ := json.Marshal(rec)
		log.Write(append(b, '\n'))
	}
	w.Set(keyStep, uint32(r.opt.Step))
	w.Set(keyConfig, string(cfg))
	w.Set(keyLoader, string(pos))
	w.Set(keyLog, log.String())
	off := 0
	for _, t := range r.m.Params.Tensors {
		n := len(t.Data)
		w.AddTensor("adamw.m."+t.Name, tensor.F32, ne(t.Shape), f32Bytes(r.opt.M[off:off+n]))
		w.AddTensor("adamw.v."+t.Name, tensor.F32, ne(t.Shape), f32Bytes(r.opt.V[off:off+n]))
		off += n
	}
	if err := w.WriteFile(filepath.Join(r.cfg.Dir, CheckpointFile)); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return nil
}

// savedRun is a checkpoint read back.
type savedRun struct {
	cfg   RunConfig
	model *Model
	opt   *AdamW
	pos   data.Position
	// rawPos is the stored position as JSON: a fine-tuning objective's.
	rawPos string
	log    []Record
	f      *gguf.File
}

func (s *savedRun) close() { s.f.Close() }

// readCheckpoint reads a checkpoint written by (*runner).checkpoint.
func readCheckpoint(path string) (*savedRun, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train: checkpoint: %w", err)
	}
	s, err := parseCheckpoint(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	return s, nil
}

func parseCheckpoint(f *gguf.File) (*savedRun, error) {
	s := &savedRun{f: f}
	step, ok := f.Uint(keyStep)
	cfg, ok2 := f.String(keyConfig)
	pos, ok3 := f.String(keyLoader)
	log, ok4 := f.String(keyLog)
	if !ok || !ok2 || !ok3 || !ok4 {
		return nil, fmt.Errorf("not a training checkpoint (%s, %s, %s or %s missing)", keyStep, keyConfig, keyLoader, keyLog)
	}
	if err := json.Unmarshal([]byte(cfg), &s.cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", keyConfig, err)
	}
	s.rawPos = pos
	if err := json.Unmarshal([]byte(pos), &s.pos); s.cfg.Objective == "" && err != nil {
		return nil, fmt.Errorf("%s: %w", keyLoader, err)
	}
	for i, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if line == "" {
			continue
		}
		var rec Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", keyLog, i+1, err)
		}
		s.log = append(s.log, rec)
	}
	c, err := ConfigFromGGUF(f)
	if err != nil {
		return nil, err
	}
	head := LMHead
	if _, ok := f.Tensor(rewardHeadName); ok {
		head = RewardHead
	}
	if s.model, err = Load(f, c, head, ""); err != nil {
		return nil, err
	}
	s.opt = NewAdamW(s.model.Params, s.cfg.Beta1, s.cfg.Beta2, s.cfg.Eps, s.cfg.WeightDecay)
	s.opt.Step = int(step)
	off := 0
	for _, t := range s.model.Params.Tensors {
		n := len(t.Data)
		if err := ReadTensor(f, "adamw.m."+t.Name, t.Shape, s.opt.M[off:off+n]); err != nil {
			return nil, err
		}
		if err := ReadTensor(f, "adamw.v."+t.Name, t.Shape, s.opt.V[off:off+n]); err != nil {
			return nil, err
		}
		off += n
	}
	return s, nil
}

// Export writes the model of the run in runDir (its checkpoint) to out as a
// llama GGUF with its tokenizer, 2-D weights stored as typ (F32, F16, Q8_0,
// … — see AddToAs).
func Export(runDir, out string, typ tensor.Type) error {
	s, err := readCheckpoint(filepath.Join(runDir, CheckpointFile))
	if err != nil {
		return err
	}
	defer s.close()
	var tok []gguf.KV
	for _, kv := range s.f.KV {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			tok = append(tok, kv)
		}
	}
	return writeModel(s.model, tok, filepath.Base(filepath.Clean(runDir)), out, typ)
}

// export writes the run's current model to path.
func (r *runner) export(path string, typ tensor.Type) error {
	return writeModel(r.m, r.tok, filepath.Base(filepath.Clean(r.cfg.Dir)), path, typ)
}

// writeModel writes m with the tokenizer metadata tok as a GGUF that llmos
// and llama.cpp run.
func writeModel(m *Model, tok []gguf.KV, name, path string, typ tensor.Type) error {
	w := gguf.NewWriter()
	if err := m.AddToAs(w, typ); err != nil {
		return err
	}
	w.Set("general.name", name)
	if _, ok := m.Params.Lookup(rewardHeadName); ok {
		w.Set(KeyRewardModel, true)
	}
	setKV(w, tok)
	if err := w.WriteFile(path); err != nil {
		return fmt.Errorf("train: export: %w", err)
	}
	return nil
}

func setKV(w *gguf.Writer, kvs []gguf.KV) {
	for _, kv := range kvs {
		w.Set(kv.Key, kv.Value)
	}
}

// tokenizerKV returns the tokenizer.* metadata of the data's tokenizer, with
// a ChatML chat template when it has none. The tokenizer is found at the
// path meta.json gives, or beside the data directory's meta.json, and must
// have the SHA-256 the data was prepared with.
func tokenizerKV(ds *data.Dataset) ([]gguf.KV, error) {
	p := ds.Meta.Tokenizer
	candidates := []string{p}
	if !filepath.IsAbs(p) {
		candidates = append(candidates, filepath.Join(ds.Dir, p), filepath.Join(ds.Dir, filepath.Base(p)))
	}
	var buf []byte
	var err error
	for _, c := range candidates {
		if buf, err = os.ReadFile(c); err == nil {
			p = c
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("train: the data's tokenizer: %w", err)
	}
	if want := ds.Meta.TokenizerSHA256; want != "" {
		sum := sha256.Sum256(buf)
		if got := hex.EncodeToString(sum[:]); got != want {
			return nil, fmt.Errorf("train: tokenizer %s has SHA-256 %s, the data was prepared with %s", p, got, want)
		}
	}
	f, err := gguf.Parse(buf)
	if err != nil {
		return nil, fmt.Errorf("train: tokenizer %s: %w", p, err)
	}
	var kvs []gguf.KV
	template := false
	for _, kv := range f.KV {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			kvs = append(kvs, kv)
			template = template || kv.Key == "tokenizer.chat_template"
		}
	}
	if len(kvs) == 0 {
		return nil, fmt.Errorf("train: %s has no tokenizer.* metadata", p)
	}
	if !template {
		kvs = append(kvs, gguf.KV{Key: "tokenizer.chat_template", Type: gguf.TypeString, Value: chat.ChatML})
	}
	return kvs, nil
}

// ne converts a PyTorch-order shape to GGUF's ne (innermost first).
func ne(shape []int) []int64 {
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[len(dims)-1-i] = int64(d)
	}
	return dims
}

func f32Bytes(s []float32) []byte {
	b := make([]byte, 4*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}
