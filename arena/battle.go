package arena

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Winner values, spelled as in FastChat's battle logs.
const (
	WinnerA       = "model_a"
	WinnerB       = "model_b"
	WinnerTie     = "tie"
	WinnerBothBad = "tie (bothbad)"
)

// Battle is one blind comparison between two models and its outcome.
type Battle struct {
	ModelA string `json:"model_a"`
	ModelB string `json:"model_b"`
	Winner string `json:"winner"`
}

// score is model A's result: 1 for a win, 0 for a loss, 0.5 for either kind
// of tie (FastChat counts "both bad" exactly like a tie).
func (b Battle) score() (float64, error) {
	switch b.Winner {
	case WinnerA:
		return 1, nil
	case WinnerB:
		return 0, nil
	case WinnerTie, WinnerBothBad:
		return 0.5, nil
	}
	return 0, fmt.Errorf("unknown winner %q (want %q, %q, %q or %q)", b.Winner, WinnerA, WinnerB, WinnerTie, WinnerBothBad)
}

// Validate reports whether b names two different models and a known winner.
func (b Battle) Validate() error {
	switch {
	case b.ModelA == "":
		return errors.New("missing model_a")
	case b.ModelB == "":
		return errors.New("missing model_b")
	case b.ModelA == b.ModelB:
		return fmt.Errorf("model_a and model_b are both %q", b.ModelA)
	}
	_, err := b.score()
	return err
}

// LoadBattles reads a battle log file; see ReadBattles for the format.
func LoadBattles(path string) ([]Battle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("arena: %w", err)
	}
	defer f.Close()
	bs, err := ReadBattles(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return bs, nil
}

// ReadBattles reads battles in FastChat's format: either a JSON array of
// objects or JSON Lines, one object per line, each with the keys model_a,
// model_b and winner. Other keys are ignored. A malformed record is an error
// naming its array index or line number.
func ReadBattles(r io.Reader) ([]Battle, error) {
	br := bufio.NewReader(r)
	first, err := firstNonSpace(br)
	if err == io.EOF {
		return nil, errors.New("arena: no battles: input is empty")
	}
	if err != nil {
		return nil, fmt.Errorf("arena: reading battles: %w", err)
	}
	var bs []Battle
	if first == '[' {
		bs, err = readArray(br)
	} else {
		bs, err = readLines(br)
	}
	if err != nil {
		return nil, fmt.Errorf("arena: %w", err)
	}
	if len(bs) == 0 {
		return nil, errors.New("arena: no battles in input")
	}
	return bs, nil
}

func firstNonSpace(br *bufio.Reader) (byte, error) {
	for {
		c, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if !isSpace(c) {
			return c, br.UnreadByte()
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// record decodes keys leniently enough to name what is wrong: a missing key
// and a key of the wrong type are different mistakes.
type record struct {
	ModelA *string `json:"model_a"`
	ModelB *string `json:"model_b"`
	Winner *string `json:"winner"`
}

func decodeRecord(raw []byte) (Battle, error) {
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return Battle{}, fmt.Errorf("record must be a JSON object, not a JSON %s", te.Value)
		}
		if errors.As(err, &te) {
			return Battle{}, fmt.Errorf("%s must be a string, not a JSON %s", te.Field, te.Value)
		}
		return Battle{}, err
	}
	for _, k := range []struct {
		name string
		v    *string
	}{{"model_a", rec.ModelA}, {"model_b", rec.ModelB}, {"winner", rec.Winner}} {
		if k.v == nil {
			return Battle{}, fmt.Errorf("missing or null key %q", k.name)
		}
	}
	b := Battle{ModelA: *rec.ModelA, ModelB: *rec.ModelB, Winner: *rec.Winner}
	return b, b.Validate()
}

func readArray(br *bufio.Reader) ([]Battle, error) {
	dec := json.NewDecoder(br)
	if _, err := dec.Token(); err != nil { // the opening '['
		return nil, fmt.Errorf("battle array: %w", err)
	}
	var bs []Battle
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("battle array index %d: %w", i, err)
		}
		b, err := decodeRecord(raw)
		if err != nil {
			return nil, fmt.Errorf("battle array index %d: %w", i, err)
		}
		bs = append(bs, b)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("battle array not closed after %d records: %w", len(bs), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("battle array: unexpected data after the closing bracket")
	}
	return bs, nil
}

func readLines(br *bufio.Reader) ([]Battle, error) {
	var bs []Battle
	for line := 1; ; line++ {
		// ReadBytes, not a Scanner: arena logs carry whole conversations,
		// and a line has no length limit.
		text, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if t := bytes.TrimSpace(text); len(t) > 0 {
			b, derr := decodeRecord(t)
			if derr != nil {
				return nil, fmt.Errorf("line %d: %w", line, derr)
			}
			bs = append(bs, b)
		}
		if err == io.EOF {
			return bs, nil
		}
	}
}
