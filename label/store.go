package label

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Message is one turn of a conversation in OpenAI's messages form.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// SFTRecord is one line of the SFT file: the prompt as the user's turn and
// the best answer as the assistant's.
type SFTRecord struct {
	Messages []Message `json:"messages"`
}

// PrefRecord is one line of the preference file: of two answers to the
// prompt, the person preferred Chosen.
type PrefRecord struct {
	Prompt   string `json:"prompt"`
	Chosen   string `json:"chosen"`
	Rejected string `json:"rejected"`
}

// Store appends labels to an SFT file and a preference file, both JSONL.
// Each decision is one write and one fsync per file, preferences first and
// the SFT line last: the SFT line commits the decision. A prompt counts as
// labelled when either file has it, so a crash between the two writes never
// leads to the same prompt being labelled twice; OpenStore completes such a
// decision's missing SFT line from its preferences.
type Store struct {
	mu       sync.Mutex
	sft      *os.File
	prefs    *os.File
	labelled map[string]bool
	// Repaired says what OpenStore mended: cut partial lines, a completed
	// decision. Empty when the files were whole.
	Repaired []string
}

// OpenStore opens (creating them if needed) the SFT and preference files,
// repairs what an earlier crash may have left, and reads which prompts are
// already labelled. A partial last line (a write cut short) is cut off; a
// complete last record missing only its newline gets one.
func OpenStore(sftPath, prefsPath string) (*Store, error) {
	if sftPath == prefsPath {
		return nil, fmt.Errorf("label: the SFT and preference files must differ (both %s)", sftPath)
	}
	s := &Store{labelled: map[string]bool{}}
	var err error
	if s.sft, err = openLog(sftPath, &s.Repaired); err != nil {
		return nil, err
	}
	if s.prefs, err = openLog(prefsPath, &s.Repaired); err != nil {
		s.sft.Close()
		return nil, err
	}
	inSFT := map[string]bool{}
	err = scanLog(s.sft, func(line int, b []byte) error {
		var r SFTRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("label: %s line %d: %w", sftPath, line, err)
		}
		if p, ok := userPrompt(r); ok {
			inSFT[p] = true
		}
		return nil
	})
	// The trailing run of preferences for one prompt is the last decision
	// written; if its SFT line is missing, a crash came between the writes.
	var tail []PrefRecord
	if err == nil {
		err = scanLog(s.prefs, func(line int, b []byte) error {
			var r PrefRecord
			if err := json.Unmarshal(b, &r); err != nil {
				return fmt.Errorf("label: %s line %d: %w", prefsPath, line, err)
			}
			if len(tail) > 0 && tail[0].Prompt != r.Prompt {
				tail = tail[:0]
			}
			tail = append(tail, r)
			s.labelled[r.Prompt] = true
			return nil
		})
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	for p := range inSFT {
		s.labelled[p] = true
	}
	if len(tail) > 0 && !inSFT[tail[0].Prompt] {
		// Preferences are written with the best answer chosen in the
		// first pair, so it is the decision's SFT answer.
		if err := appendRecords(s.sft, sftRecord(tail[0].Prompt, tail[0].Chosen)); err != nil {
			s.Close()
			return nil, err
		}
		s.Repaired = append(s.Repaired, fmt.Sprintf("%s: added the SFT line of the last decision in %s (cut off by a crash)", sftPath, prefsPath))
	}
	return s, nil
}

// openLog opens path for appending after mending its end.
func openLog(path string, repaired *[]string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	msg, err := mendTail(f)
	if err == nil {
		_, err = f.Seek(0, io.SeekEnd)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("label: %s: %w", path, err)
	}
	if msg != "" {
		*repaired = append(*repaired, path+": "+msg)
	}
	return f, nil
}

// mendTail makes f end with a newline: a last line that is valid JSON only
// lacks it; anything else after the last newline is a cut-off write.
func mendTail(f *os.File) (string, error) {
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	size := st.Size()
	if size == 0 {
		return "", nil
	}
	// Find the last newline, reading backwards in chunks.
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	end := size
	lastNL := int64(-1)
	for end > 0 && lastNL < 0 {
		start := max(0, end-chunk)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			lastNL = start + int64(i)
		}
		end = start
	}
	if lastNL == size-1 {
		return "", nil
	}
	tail := make([]byte, size-lastNL-1)
	if _, err := f.ReadAt(tail, lastNL+1); err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if json.Valid(bytes.TrimSpace(tail)) {
		if _, err := f.WriteAt([]byte{'\n'}, size); err != nil {
			return "", err
		}
		return "added the last line's missing newline", f.Sync()
	}
	if err := f.Truncate(lastNL + 1); err != nil {
		return "", err
	}
	return fmt.Sprintf("cut a partial last line of %d bytes (an interrupted write)", len(tail)), f.Sync()
}

// scanLog calls fn with each non-blank line of f, numbered from 1.
func scanLog(f *os.File, fn func(line int, b []byte) error) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReaderSize(f, 64<<10)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if t := bytes.TrimSpace(b); len(t) > 0 {
			if ferr := fn(line, t); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("label: %s: %w", f.Name(), err)
		}
	}
	_, err := f.Seek(0, io.SeekEnd)
	return err
}

// userPrompt is the first user turn of an SFT record.
func userPrompt(r SFTRecord) (string, bool) {
	for _, m := range r.Messages {
		if m.Role == "user" {
			return m.Content, true
		}
	}
	return "", false
}

func sftRecord(prompt, answer string) SFTRecord {
	return SFTRecord{Messages: []Message{{Role: "user", Content: prompt}, {Role: "assistant", Content: answer}}}
}

// jsonLines encodes records as JSON lines, leaving <, > and & as they are.
func jsonLines[T any](recs ...T) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return "", fmt.Errorf("label: %w", err)
		}
	}
	return buf.String(), nil
}

// appendRecords writes the records as JSON lines in one write, then syncs.
func appendRecords[T any](f *os.File, recs ...T) error {
	lines, err := jsonLines(recs...)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(lines); err != nil {
		return fmt.Errorf("label: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("label: %s: %w", f.Name(), err)
	}
	return nil
}

// Labelled reports whether prompt has a saved decision.
func (s *Store) Labelled(prompt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.labelled[prompt]
}

// Save appends the decision d on prompt's sampled answers: its preference
// pairs, then its SFT line. It returns what was written.
func (s *Store) Save(prompt string, answers []string, d Decision) (Outcome, error) {
	out, err := Resolve(prompt, answers, d)
	if err != nil {
		return Outcome{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.labelled[prompt] {
		return Outcome{}, fmt.Errorf("label: %w: %q", ErrLabelled, prompt)
	}
	if len(out.Pairs) > 0 {
		if err := appendRecords(s.prefs, out.Pairs...); err != nil {
			return Outcome{}, err
		}
		s.labelled[prompt] = true
	}
	if err := appendRecords(s.sft, out.SFT); err != nil {
		return Outcome{}, err
	}
	s.labelled[prompt] = true
	return out, nil
}

// ErrLabelled is wrapped when a decision is saved for a prompt that has one.
var ErrLabelled = errors.New("prompt already labelled")

// Close closes both files.
func (s *Store) Close() error {
	return errors.Join(s.sft.Close(), s.prefs.Close())
}
