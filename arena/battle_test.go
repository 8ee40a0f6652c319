package arena

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadBattles(t *testing.T) {
	want := []Battle{
		{"vicuna-13b", "koala-13b", WinnerA},
		{"koala-13b", "alpaca-13b", WinnerTie},
		{"alpaca-13b", "vicuna-13b", WinnerBothBad},
		{"vicuna-13b", "alpaca-13b", WinnerB},
	}
	tests := []struct {
		name, in string
	}{
		{"array", `[{"model_a":"vicuna-13b","model_b":"koala-13b","winner":"model_a"},
			{"model_a":"koala-13b","model_b":"alpaca-13b","winner":"tie"},
			{"model_a":"alpaca-13b","model_b":"vicuna-13b","winner":"tie (bothbad)"},
			{"model_a":"vicuna-13b","model_b":"alpaca-13b","winner":"model_b"}]`},
		{"array with extra fields", `  [{"question_id":"q1","model_a":"vicuna-13b","model_b":"koala-13b","winner":"model_a","anony":true,"tstamp":1.5,"conversation_a":[{"role":"user","content":"hi"}]},
			{"model_a":"koala-13b","model_b":"alpaca-13b","winner":"tie","judge":null},
			{"model_a":"alpaca-13b","model_b":"vicuna-13b","winner":"tie (bothbad)","language":"English"},
			{"model_a":"vicuna-13b","model_b":"alpaca-13b","winner":"model_b"}]` + "\n"},
		{"jsonl", `{"model_a":"vicuna-13b","model_b":"koala-13b","winner":"model_a"}
{"model_a":"koala-13b","model_b":"alpaca-13b","winner":"tie"}
{"model_a":"alpaca-13b","model_b":"vicuna-13b","winner":"tie (bothbad)"}
{"model_a":"vicuna-13b","model_b":"alpaca-13b","winner":"model_b"}`},
		{"jsonl with blank lines, CRLF and extra fields", "\r\n{\"model_a\":\"vicuna-13b\",\"model_b\":\"koala-13b\",\"winner\":\"model_a\",\"tstamp\":3}\r\n\r\n" +
			`{"model_a":"koala-13b","model_b":"alpaca-13b","winner":"tie","turn":1}` + "\n" +
			`{"winner":"tie (bothbad)","model_b":"vicuna-13b","model_a":"alpaca-13b"}` + "\n" +
			`{"model_a":"vicuna-13b","model_b":"alpaca-13b","winner":"model_b"}` + "\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadBattles(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestReadBattlesErrors(t *testing.T) {
	ok := `{"model_a":"x","model_b":"y","winner":"model_a"}`
	tests := []struct {
		name, in string
		want     []string // substrings of the error
	}{
		{"empty", "", []string{"empty"}},
		{"only space", " \n\t", []string{"empty"}},
		{"empty array", "[]", []string{"no battles"}},
		{"jsonl unknown winner", ok + "\n" + `{"model_a":"x","model_b":"y","winner":"model_c"}`, []string{"line 2", `unknown winner "model_c"`}},
		{"jsonl missing key", ok + "\n\n" + `{"model_a":"x","winner":"tie"}`, []string{"line 3", `"model_b"`, "missing"}},
		{"jsonl null key", `{"model_a":"x","model_b":null,"winner":"tie"}`, []string{"line 1", `"model_b"`}},
		{"jsonl wrong type", `{"model_a":"x","model_b":"y","winner":1}`, []string{"line 1", "winner must be a string", "number"}},
		{"jsonl not an object", ok + "\n" + `"model_a"`, []string{"line 2", "JSON object"}},
		{"jsonl malformed", ok + "\n" + `{"model_a":"x",`, []string{"line 2"}},
		{"jsonl two objects on a line", ok + " " + ok, []string{"line 1"}},
		{"jsonl empty model", `{"model_a":"","model_b":"y","winner":"tie"}`, []string{"line 1", "model_a"}},
		{"jsonl same model", `{"model_a":"y","model_b":"y","winner":"tie"}`, []string{"line 1", `both "y"`}},
		{"array unknown winner", "[" + ok + `,{"model_a":"x","model_b":"y","winner":"draw"}]`, []string{"index 1", `unknown winner "draw"`}},
		{"array missing key", `[{"model_b":"y","winner":"tie"}]`, []string{"index 0", `"model_a"`}},
		{"array element not object", "[" + ok + ",[1]]", []string{"index 1", "JSON object"}},
		{"array truncated", "[" + ok + ",", []string{"index 1"}},
		{"array unclosed", "[" + ok, []string{"not closed after 1 records"}},
		{"array only bracket", "[", []string{"not closed after 0 records"}},
		{"array trailing data", "[" + ok + "] x", []string{"after the closing bracket"}},
		{"array case-sensitive winner", `[{"model_a":"x","model_b":"y","winner":"Model_A"}]`, []string{"index 0", "unknown winner"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadBattles(strings.NewReader(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadBattles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	if err := os.WriteFile(good, []byte(`{"model_a":"x","model_b":"y","winner":"tie"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	bs, err := LoadBattles(good)
	if err != nil || len(bs) != 1 {
		t.Fatalf("LoadBattles = %v, %v", bs, err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"model_a":"x"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBattles(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("error %v does not name the file", err)
	}
	if _, err := LoadBattles(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
}

func FuzzReadBattles(f *testing.F) {
	f.Add(`[{"model_a":"x","model_b":"y","winner":"model_a"}]`)
	f.Add(`{"model_a":"x","model_b":"y","winner":"tie (bothbad)"}` + "\n")
	f.Add(`[{"model_a":"x","model_b":"y","winner":"tie"}, 3]`)
	f.Fuzz(func(t *testing.T, in string) {
		bs, err := ReadBattles(strings.NewReader(in))
		if err != nil {
			return
		}
		if len(bs) == 0 {
			t.Fatal("no error and no battles")
		}
		for i, b := range bs {
			if err := b.Validate(); err != nil {
				t.Fatalf("battle %d accepted but invalid: %v", i, err)
			}
		}
	})
}
