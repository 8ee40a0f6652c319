package convo

import (
	"context"
	"errors"
	"github.com/llmos/llmos/internal/testenv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/tokenizer"
)

// byteTokenizer is a trained vocabulary with no merges: every byte is its
// own token (id = byte value), then <|begin_of_text|> 256,
// <|end_of_text|> 257, <|im_start|> 258, <|im_end|> 259. Token positions
// can then be counted by hand.
func byteTokenizer(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	v, _, err := tokenizer.Train(context.Background(), strings.NewReader("hello"), tokenizer.TrainOptions{VocabSize: 260})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const (
	bos     = 256
	imStart = 258
	imEnd   = 259
)

// seg is a piece of an expected token sequence: bytes of a text, or one
// special token, scored or not.
type seg struct {
	text    string
	special int32
	scored  bool
}

func expand(segs []seg) Example {
	var ex Example
	for _, s := range segs {
		if s.text == "" {
			ex.Tokens = append(ex.Tokens, s.special)
			ex.Scored = append(ex.Scored, s.scored)
			continue
		}
		for _, b := range []byte(s.text) {
			ex.Tokens = append(ex.Tokens, int32(b))
			ex.Scored = append(ex.Scored, s.scored)
		}
	}
	return ex
}

func scoredPositions(ex Example) []int {
	var p []int
	for i, s := range ex.Scored {
		if s {
			p = append(p, i)
		}
	}
	return p
}

// TestEncodeChatMLMask checks the tokens and the mask of a conversation
// with a system prompt, two user turns, a tool call and its result against
// the ChatML layout written out by hand.
func TestEncodeChatMLMask(t *testing.T) {
	enc, err := NewEncoder(byteTokenizer(t), chat.ChatML)
	if err != nil {
		t.Fatal(err)
	}
	c := Conversation{Messages: []chat.Message{
		{Role: "system", Content: "S"},
		{Role: "user", Content: "Hi"},
		{Role: "assistant", Content: "Yo"},
		{Role: "user", Content: "2+3?"},
		{Role: "assistant", ToolCalls: []chat.ToolCall{{Type: "function", Function: chat.FunctionCall{Name: "calc", Arguments: `{"x":"2+3"}`}}}},
		{Role: "tool", Content: "5"},
		{Role: "assistant", Content: "It is 5."},
	}}
	got, err := enc.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	want := expand([]seg{
		{special: bos}, {special: imStart}, {text: "system\nS"}, {special: imEnd}, {text: "\n"},
		{special: imStart}, {text: "user\nHi"}, {special: imEnd}, {text: "\n"},
		{special: imStart}, {text: "assistant\n"}, {text: "Yo", scored: true}, {special: imEnd, scored: true}, {text: "\n"},
		{special: imStart}, {text: "user\n2+3?"}, {special: imEnd}, {text: "\n"},
		{special: imStart}, {text: "assistant\n"},
		{text: "<tool_call>\n{\"name\": \"calc\", \"arguments\": {\"x\": \"2+3\"}}\n</tool_call>", scored: true}, {special: imEnd, scored: true}, {text: "\n"},
		{special: imStart}, {text: "tool\n5"}, {special: imEnd}, {text: "\n"},
		{special: imStart}, {text: "assistant\n"}, {text: "It is 5.", scored: true}, {special: imEnd, scored: true}, {text: "\n"},
	})
	if !slices.Equal(got.Tokens, want.Tokens) {
		t.Fatalf("tokens\n got %v\nwant %v\n(%q)", got.Tokens, want.Tokens, enc.Tok.Decode(got.Tokens))
	}
	if !slices.Equal(got.Scored, want.Scored) {
		t.Errorf("scored positions %v, want %v", scoredPositions(got), scoredPositions(want))
	}
	// Counted by hand: BOS 0, <|im_start|> 1, "system\nS" 2–9, <|im_end|> 10,
	// "\n" 11, <|im_start|> 12, "user\nHi" 13–19, <|im_end|> 20, "\n" 21,
	// <|im_start|> 22, "assistant\n" 23–32, "Yo" 33–34, <|im_end|> 35.
	if p := scoredPositions(got); len(p) < 3 || !slices.Equal(p[:3], []int{33, 34, 35}) {
		t.Errorf("first assistant turn scored at %v, want [33 34 35]", p)
	}
	// The pair encoding scores only the continuation.
	ch, rj, err := enc.EncodePair(Pair{Prompt: c.Messages[:4], Chosen: c.Messages[4:], Rejected: []chat.Message{{Role: "assistant", Content: "6"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Tokens, got.Tokens) || ch.NumScored() != got.NumScored()-3 {
		t.Errorf("chosen side: %d scored tokens, want those of the last two turns (%d)", ch.NumScored(), got.NumScored()-3)
	}
	if d := enc.Tok.Decode(maskTokens(rj)); d != "6" {
		t.Errorf("rejected side scores %q, want \"6\" and <|im_end|>", d)
	}
}

// maskTokens returns the scored tokens that are not control tokens.
func maskTokens(ex Example) []int32 {
	var out []int32
	for i, id := range ex.Tokens {
		if ex.Scored[i] && id < bos {
			out = append(out, id)
		}
	}
	return out
}

func TestEncodeErrors(t *testing.T) {
	tok := byteTokenizer(t)
	reversed, err := NewEncoder(tok, `{% for m in messages | reverse %}{{ m.role + ':' + m.content + '\n' }}{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}`)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []chat.Message{{Role: "user", Content: "a"}, {Role: "assistant", Content: "b"}}
	if _, err := reversed.Encode(Conversation{Messages: msgs}); !errors.Is(err, ErrNotPrefix) {
		t.Errorf("reversing template: %v, want ErrNotPrefix", err)
	}
	chatml, _ := NewEncoder(tok, "")
	if _, err := chatml.Encode(Conversation{Messages: msgs[:1]}); err == nil {
		t.Error("a conversation without assistant turn: no error")
	}
	if _, err := NewEncoder(tok, "{% if %}"); err == nil {
		t.Error("a broken template: no error")
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "data.jsonl")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadConversations(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       [][]chat.Message
	}{
		{"openai jsonl", `{"messages":[{"role":"system","content":"S"},{"role":"user","content":"Hi"},{"role":"assistant","content":"Yo"}]}

{"messages":[{"role":"user","content":"1+1"},{"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"calc","arguments":"{\"e\":\"1+1\"}"}}]},{"role":"tool","content":"2"},{"role":"assistant","content":"2"}]}`,
			[][]chat.Message{
				{{Role: "system", Content: "S"}, {Role: "user", Content: "Hi"}, {Role: "assistant", Content: "Yo"}},
				{{Role: "user", Content: "1+1"}, {Role: "assistant", ToolCalls: []chat.ToolCall{{Type: "function", Function: chat.FunctionCall{Name: "calc", Arguments: `{"e":"1+1"}`}}}},
					{Role: "tool", Content: "2"}, {Role: "assistant", Content: "2"}},
			}},
		{"alpaca array", `[{"instruction":"Add","input":"1 and 2","output":"3","system":"Be brief","history":[["hi","hello"]]},{"instruction":"Say hi","input":"","output":"hi"}]`,
			[][]chat.Message{
				{{Role: "system", Content: "Be brief"}, {Role: "user", Content: "hi"}, {Role: "assistant", Content: "hello"},
					{Role: "user", Content: "Add\n1 and 2"}, {Role: "assistant", Content: "3"}},
				{{Role: "user", Content: "Say hi"}, {Role: "assistant", Content: "hi"}},
			}},
		{"sharegpt", `{"system":"S","conversations":[{"from":"human","value":"2*3"},{"from":"function_call","value":"{\"name\":\"calc\",\"arguments\":{\"e\":\"2*3\"}}"},{"from":"observation","value":"6"},{"from":"gpt","value":"6"}]}`,
			[][]chat.Message{{{Role: "system", Content: "S"}, {Role: "user", Content: "2*3"},
				{Role: "assistant", ToolCalls: []chat.ToolCall{{Type: "function", Function: chat.FunctionCall{Name: "calc", Arguments: `{"e":"2*3"}`}}}},
				{Role: "tool", Content: "6"}, {Role: "assistant", Content: "6"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadConversations(writeFile(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d conversations, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if !sameMessages(got[i].Messages, tc.want[i]) {
					t.Errorf("conversation %d:\n got %+v\nwant %+v", i, got[i].Messages, tc.want[i])
				}
			}
		})
	}
}

func sameMessages(a, b []chat.Message) bool {
	return slices.EqualFunc(a, b, func(x, y chat.Message) bool {
		return x.Role == y.Role && x.Content == y.Content && slices.Equal(x.ToolCalls, y.ToolCalls)
	})
}

func TestReadPairs(t *testing.T) {
	user := chat.Message{Role: "user", Content: "Q"}
	good, bad := chat.Message{Role: "assistant", Content: "good"}, chat.Message{Role: "assistant", Content: "bad"}
	for _, tc := range []struct {
		name, body string
		prompt     []chat.Message
	}{
		{"prompt string", `{"prompt":"Q","chosen":"good","rejected":"bad"}`, []chat.Message{user}},
		{"prompt string and system", `{"system":"S","prompt":"Q","chosen":"good","rejected":"bad"}`, []chat.Message{{Role: "system", Content: "S"}, user}},
		{"prompt messages", `{"prompt":[{"role":"user","content":"Q"}],"chosen":[{"role":"assistant","content":"good"}],"rejected":{"role":"assistant","content":"bad"}}`, []chat.Message{user}},
		{"messages", `{"messages":[{"role":"user","content":"Q"}],"chosen":"good","rejected":"bad"}`, []chat.Message{user}},
		{"sharegpt", `[{"conversations":[{"from":"human","value":"Q"}],"chosen":{"from":"gpt","value":"good"},"rejected":{"from":"gpt","value":"bad"}}]`, []chat.Message{user}},
		{"alpaca", `{"instruction":"Q","input":"","chosen":"good","rejected":"bad"}`, []chat.Message{user}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadPairs(writeFile(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d pairs, want 1", len(got))
			}
			p := got[0]
			if !sameMessages(p.Prompt, tc.prompt) || !sameMessages(p.Chosen, []chat.Message{good}) || !sameMessages(p.Rejected, []chat.Message{bad}) {
				t.Errorf("got %+v", p)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
		pairs            bool
	}{
		{"bad json line", `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}` + "\n{oops", "line 2", false},
		{"unknown role", `{"messages":[{"role":"user","content":"a"},{"role":"robot","content":"b"}]}`, "unknown role", false},
		{"no assistant", `{"messages":[{"role":"user","content":"a"}]}`, "no assistant turn", false},
		{"assistant first", `{"messages":[{"role":"assistant","content":"a"}]}`, "starts with an assistant", false},
		{"no format", `{"text":"a"}`, "no \"messages\"", false},
		{"alpaca without output", `[{"instruction":"a"}]`, "record 1", false},
		{"bad sharegpt role", `{"conversations":[{"from":"alien","value":"a"}]}`, "unknown ShareGPT role", false},
		{"bad function call", `{"conversations":[{"from":"human","value":"a"},{"from":"function_call","value":"x"}]}`, "function_call", false},
		{"empty file", "\n\n", "no conversations", false},
		{"pair without rejected", `{"prompt":"a","chosen":"b"}`, "rejected: missing", true},
		{"pair with empty prompt", `{"prompt":[],"chosen":"b","rejected":"c"}`, "empty prompt", true},
		{"pair with bad continuation", `{"prompt":"a","chosen":3,"rejected":"c"}`, "chosen", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.pairs {
				_, err = ReadPairs(writeFile(t, tc.body))
			} else {
				_, err = ReadConversations(writeFile(t, tc.body))
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := ReadConversations(filepath.Join(t.TempDir(), "none.jsonl")); err == nil {
		t.Error("a missing file: no error")
	}
}

// TestSharedDemoSets loads every file of the SFT and DPO demo sets and
// encodes each record with ChatML.
func TestSharedDemoSets(t *testing.T) {
	root := testenv.Data(t)
	enc, err := NewEncoder(byteTokenizer(t), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []struct {
		dir   string
		pairs bool
	}{{"sft-demo", false}, {"dpo-demo", true}} {
		files, _ := filepath.Glob(filepath.Join(root, set.dir, "*.json*"))
		if len(files) == 0 {
			t.Logf("%s: no files", set.dir)
		}
		for _, f := range files {
			t.Run(set.dir+"/"+filepath.Base(f), func(t *testing.T) {
				n := 0
				if set.pairs {
					ps, err := ReadPairs(f)
					if err != nil {
						t.Fatal(err)
					}
					for i, p := range ps {
						c, r, err := enc.EncodePair(p)
						if err != nil || c.NumScored() == 0 || r.NumScored() == 0 {
							t.Fatalf("pair %d: %v (%d and %d scored tokens)", i, err, c.NumScored(), r.NumScored())
						}
					}
					n = len(ps)
				} else {
					cs, err := ReadConversations(f)
					if err != nil {
						t.Fatal(err)
					}
					for i, c := range cs {
						if _, err := enc.Encode(c); err != nil {
							t.Fatalf("conversation %d: %v", i, err)
						}
					}
					n = len(cs)
				}
				t.Logf("%d records", n)
			})
		}
	}
}

func FuzzParseRecords(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}`,
		`{"conversations":[{"from":"human","value":"a"},{"from":"function_call","value":"{\"name\":\"f\",\"arguments\":\"{}\"}"}],"chosen":{"from":"gpt","value":"x"},"rejected":"y"}`,
		`{"instruction":"a","input":"b","output":"c","history":[["d","e"]]}`,
		`{"prompt":[{"role":"user","content":[{"type":"text","text":"a"}]}],"chosen":[{"role":"assistant","content":"b"}],"rejected":"c"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := parseConversation(b); err == nil {
			_ = checkConversation(c.Messages)
		}
		_, _ = parsePair(b)
	})
}
