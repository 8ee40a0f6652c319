package recipe

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/convo"
	"github.com/llmos/llmos/tokenizer"
	"github.com/llmos/llmos/tool"
)

func TestStoryAboutEveryCharacter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range Characters {
		t.Run(c.Noun, func(t *testing.T) {
			for range 20 {
				s := Story(rng, c)
				if !strings.Contains(s, c.Noun) && !containsAny(s, c.Names) {
					t.Fatalf("story names neither the %s nor %v: %q", c.Noun, c.Names, s)
				}
				if strings.ContainsAny(s, "{}") {
					t.Fatalf("unfilled slot: %q", s)
				}
				if n := len(sentenceEnd.FindAllString(s, -1)); n < 5 {
					t.Fatalf("story of %d sentences: %q", n, s)
				}
				if s[0] < 'A' || s[0] > 'Z' || strings.Contains(s, ". she") || strings.Contains(s, ". he ") || strings.Contains(s, ". it ") {
					t.Fatalf("a sentence starts in lower case: %q", s)
				}
			}
		})
	}
}

var sentenceEnd = regexp.MustCompile(`[.!?]"?( |$)`)

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

func TestStoriesVary(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	stories := Stories(rng, 2000)
	sentences := map[string]bool{}
	for _, s := range stories {
		for _, x := range strings.SplitAfter(s, ". ") {
			sentences[x] = true
		}
	}
	distinct := map[string]bool{}
	for _, s := range stories {
		distinct[s] = true
	}
	if len(distinct) < 1990 || len(sentences) < 10000 {
		t.Fatalf("%d distinct stories of 2000, %d distinct sentences: too little variety", len(distinct), len(sentences))
	}
}

func TestArithmeticIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for range 3000 {
		p := Arithmetic(rng, nil)
		v, err := tool.Evaluate(p.Expr)
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		if got := tool.Format(v); got != p.Result {
			t.Fatalf("%+v: calculator says %s", p, got)
		}
		if !strings.Contains(p.Answer, p.Result) || p.Question == "" || strings.ContainsAny(p.Question+p.Answer, "{}") {
			t.Fatalf("bad problem %+v", p)
		}
	}
}

func TestHeldOutIsHeldOut(t *testing.T) {
	held := HeldOut(7, 200)
	if len(held) != 200 || len(Expressions(held)) != 200 {
		t.Fatalf("%d held-out problems, %d distinct expressions; want 200 of each", len(held), len(Expressions(held)))
	}
	if !reflect.DeepEqual(held, HeldOut(7, 200)) {
		t.Fatal("the held-out set depends on more than its seed")
	}
	g := NewGenerator(1, Expressions(held))
	for range 3000 {
		for _, m := range g.Conversation().Messages {
			for _, c := range m.ToolCalls {
				var a struct{ Expression string }
				if err := json.Unmarshal([]byte(c.Function.Arguments), &a); err != nil {
					t.Fatal(err)
				}
				if g.Exclude[a.Expression] {
					t.Fatalf("training conversation uses held-out expression %q", a.Expression)
				}
			}
		}
	}
}

// TestConversationsRenderAsInference checks that generated conversations
// pass the SFT loader's checks, render calculator calls exactly as the
// chat loop parses them back, and give the assistant's turns as scored
// tokens.
func TestConversationsRenderAsInference(t *testing.T) {
	v, _, err := tokenizer.Train(context.Background(), strings.NewReader(strings.Repeat("Once upon a time there was a cat. ", 20)), tokenizer.TrainOptions{VocabSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := convo.NewEncoder(tok, chat.ChatML)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.NewTemplate(chat.ChatML)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGenerator(5, nil)
	calls := 0
	for range 300 {
		c := g.Conversation()
		ex, err := enc.Encode(c)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if ex.NumScored() == 0 {
			t.Fatalf("no scored tokens in %+v", c)
		}
		for i, m := range c.Messages {
			if len(m.ToolCalls) == 0 {
				continue
			}
			calls++
			text, err := tmpl.Render(c.Messages[:i+1], chat.RenderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			reply := text[strings.LastIndex(text, "<|im_start|>assistant\n")+len("<|im_start|>assistant\n"):]
			reply = strings.TrimSuffix(reply, "<|im_end|>\n")
			_, parsed, ok := chat.ParseToolCalls(reply)
			if !ok || len(parsed) != 1 || parsed[0].Function.Name != tool.CalculatorName {
				t.Fatalf("rendered call %q does not parse back", reply)
			}
			result, err := tool.Calculator{}.Call(context.Background(), json.RawMessage(parsed[0].Function.Arguments))
			if err != nil || result != c.Messages[i+1].Content {
				t.Fatalf("call %s gives %q, %v; the conversation's tool turn says %q", parsed[0].Function.Arguments, result, err, c.Messages[i+1].Content)
			}
		}
	}
	if calls < 100 {
		t.Fatalf("only %d calculator calls in 300 conversations", calls)
	}
}

func TestPairsPreferTheGoodAnswer(t *testing.T) {
	g := NewGenerator(9, nil)
	wrongResults := 0
	for range 1000 {
		p := g.Pair()
		if len(p.Prompt) == 0 || p.Prompt[len(p.Prompt)-1].Role == "assistant" || len(p.Chosen) == 0 || len(p.Rejected) != 1 {
			t.Fatalf("malformed pair %+v", p)
		}
		good, bad := p.Chosen[len(p.Chosen)-1].Content, p.Rejected[0].Content
		if good == bad {
			t.Fatalf("chosen and rejected agree: %+v", p)
		}
		// After the calculator's result, the rejected answer misstates it.
		if last := p.Prompt[len(p.Prompt)-1]; last.Role == "tool" {
			if LastNumber(good) != last.Content || LastNumber(bad) == last.Content || LastNumber(bad) == "" {
				t.Fatalf("result %s: chosen %q, rejected %q", last.Content, good, bad)
			}
			wrongResults++
		}
	}
	if wrongResults < 100 {
		t.Fatalf("%d wrong-result pairs of 1000", wrongResults)
	}
}

func TestWrongResult(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, r := range []string{"0", "7", "84", "100", "-12", "3.5", "0.25", "1000000"} {
		t.Run(r, func(t *testing.T) {
			for range 50 {
				w := WrongResult(rng, r)
				if w == r {
					t.Fatalf("WrongResult(%s) = %s", r, w)
				}
				if _, err := tool.Evaluate(w); err != nil {
					t.Fatalf("WrongResult(%s) = %q is not a number: %v", r, w, err)
				}
			}
		})
	}
}

func TestRepetitive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, text := range []string{"Hello! How can I help you today?", "I am sorry, I do not know. I am a very small model.", "Hi"} {
		r := Repetitive(rng, text)
		unit := strings.Fields(r)[0]
		if strings.Count(r, unit) < 4 {
			t.Fatalf("Repetitive(%q) = %q repeats %q fewer than 4 times", text, r, unit)
		}
	}
}

func TestGeneratorIsSeeded(t *testing.T) {
	a, b := NewGenerator(11, nil), NewGenerator(11, nil)
	for range 50 {
		if x, y := a.Conversation(), b.Conversation(); !reflect.DeepEqual(x, y) {
			t.Fatalf("same seed, different conversations:\n%+v\n%+v", x, y)
		}
		if x, y := a.Pair(), b.Pair(); !reflect.DeepEqual(x, y) {
			t.Fatalf("same seed, different pairs:\n%+v\n%+v", x, y)
		}
	}
}

func BenchmarkConversation(b *testing.B) {
	g := NewGenerator(1, nil)
	for b.Loop() {
		g.Conversation()
	}
}

func TestLastNumber(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"12 times 7 is 84.", "84"},
		{"(18 + 11) * 3 = 87.", "87"},
		{"23 minus 29 is -6.", "-6"},
		{"7 divided by 2 is 3.5.", "3.5"},
		{"Hello!", ""},
	} {
		if got := LastNumber(c.text); got != c.want {
			t.Errorf("LastNumber(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}
