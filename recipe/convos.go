package recipe

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/convo"
	"github.com/llmos/llmos/tool"
)

// Exchange is one user turn and the assistant's reply: for arithmetic, the
// assistant's calculator call, the tool's result and the final answer.
type Exchange struct {
	Kind     string // "greeting", "identity", "story", "arithmetic", "smalltalk" or "unknown"
	Messages []chat.Message
	// Topic is the character a story is about; Problem the arithmetic
	// problem. They let a generator build bad answers for preference pairs.
	Topic   *Character
	Problem *Problem
}

var greetings = []string{"Hello", "Hello!", "Hi", "Hi!", "Hey", "Hey there!", "Good morning!", "Good evening!",
	"Hello there", "Hi, how are you?", "Hello, how are you today?", "Hey! How is it going?", "hi", "hello", "Greetings!"}

var greetingReplies = []string{
	"Hello! How can I help you today?",
	"Hi! I am the small assistant of llmos. How can I help you?",
	"Hello! I can tell you a short story or do some arithmetic. What would you like?",
	"Hi there! What can I do for you?",
	"Hello! It is nice to meet you. How can I help?",
}

var howAreYouReplies = []string{
	"I am fine, thank you! How can I help you today?",
	"I am doing well, thanks for asking! What can I do for you?",
	"I am good, thank you! Would you like a short story or some arithmetic?",
}

// identity questions and answers: every answer says what the assistant is
// (llmos's small built-in model, trained by llmos's own recipe) and what
// that implies.
var identity = []struct {
	questions []string
	answers   []string
}{
	{[]string{"Who are you?", "What are you?", "Tell me about yourself.", "Introduce yourself.", "who are you", "Who am I talking to?"}, []string{
		"I am the small assistant built into llmos. llmos trained me from scratch with its own recipe, on short stories and simple conversations. I am a tiny model, so I know very little about the world, but I can chat, tell short stories and do arithmetic with a calculator.",
		"I am llmos's small built-in assistant. I was trained from scratch by llmos's own recipe on children's stories and simple conversations. I am very small, so I often make mistakes and I know little about the world. I can tell short stories and use a calculator for arithmetic.",
	}},
	{[]string{"What is your name?", "Do you have a name?", "What should I call you?"}, []string{
		"I am the llmos assistant, the small model that comes built into llmos.",
		"You can call me the llmos assistant. I am the small model built into llmos.",
	}},
	{[]string{"Who made you?", "Who trained you?", "Who created you?", "Where do you come from?"}, []string{
		"llmos made me. Its recipe trained me from scratch on short stories and conversations that it generated itself.",
		"I was trained by llmos's own recipe: first on simple stories, then on example conversations. Anyone can rebuild me with the command llmos recipe default.",
	}},
	{[]string{"Are you a person?", "Are you human?", "Are you a robot?", "Are you alive?"}, []string{
		"No, I am not a person. I am a small language model, the built-in assistant of llmos.",
		"No. I am a tiny language model that runs inside llmos. I only know simple things.",
	}},
	{[]string{"What can you do?", "How can you help me?", "What are you good at?", "Help"}, []string{
		"I can say hello, tell short stories and do arithmetic with my calculator. I am a very small model, so I cannot answer questions about the world.",
		"I can chat a little, tell you a short story about an animal or a toy, and work out sums with a calculator. I am tiny, so please do not trust me with anything important.",
	}},
	{[]string{"Are you ChatGPT?", "Are you a big AI?", "Are you smart?", "How big are you?"}, []string{
		"No. I am the small built-in assistant of llmos, a model with only a few million parameters. I am much smaller than the big assistants, so I know very little and make many mistakes.",
		"I am not a big AI. I am a tiny model trained by llmos on simple stories and conversations, so I can only do simple things.",
	}},
}

var storyRequests = []string{
	"Tell me a short story about {x}.", "Tell me a story about {x}.", "Tell a short story about {x}.",
	"Can you tell me a story about {x}?", "Write a short story about {x}.", "I want a story about {x}.",
	"Please tell me a bedtime story about {x}.", "Tell me a story about {x}, please.", "story about {x}",
	"Could you write a little story about {x}?",
}

var smallTalk = []struct {
	user, reply []string
}{
	{[]string{"Thank you!", "Thanks!", "Thank you very much.", "thanks", "Great, thanks!"},
		[]string{"You are welcome!", "You are welcome! Is there anything else I can do for you?", "Happy to help!"}},
	{[]string{"Bye!", "Goodbye.", "See you later!", "Good night!"},
		[]string{"Goodbye! Have a nice day.", "Bye! It was nice to talk with you.", "Good night! Sleep well."}},
	{[]string{"How are you?", "How are you doing?", "How do you feel?"}, howAreYouReplies},
	{[]string{"That was a nice story.", "I liked that story!", "Cool!", "Nice!"},
		[]string{"Thank you! I am glad you liked it.", "Thank you! Would you like another one?"}},
}

var unknownQuestions = []string{
	"What is the capital of France?", "Who won the world cup?", "How do I fix my car?",
	"What is the weather today?", "Translate hello into Spanish.", "Explain quantum physics.",
	"What time is it?", "Can you write a computer program?", "Who is the president?", "What is the meaning of life?",
	"How far away is the moon?", "What should I cook for dinner?", "Can you help me with my homework about history?",
	"What is the best phone to buy?", "How does the internet work?", "Write me a poem about the ocean.",
}

var unknownReplies = []string{
	"I am sorry, I do not know. I am a very small model and I only know simple things. I can tell you a short story or do arithmetic with my calculator.",
	"I am sorry, that is too hard for me. I am a tiny model built into llmos, and I know very little about the world. Would you like a short story instead?",
	"I do not know the answer. I am only a small assistant, trained on simple stories and conversations. I can do arithmetic with a calculator, if that helps.",
}

// Greeting generates a greeting and its reply.
func Greeting(rng *rand.Rand) Exchange {
	u := pick(rng, greetings)
	reply := pick(rng, greetingReplies)
	if strings.Contains(strings.ToLower(u), "how") {
		reply = pick(rng, howAreYouReplies)
	}
	return Exchange{Kind: "greeting", Messages: []chat.Message{{Role: "user", Content: u}, {Role: "assistant", Content: reply}}}
}

// Identity generates a question about the assistant and its answer.
func Identity(rng *rand.Rand) Exchange {
	g := identity[rng.IntN(len(identity))]
	return Exchange{Kind: "identity", Messages: []chat.Message{{Role: "user", Content: pick(rng, g.questions)}, {Role: "assistant", Content: pick(rng, g.answers)}}}
}

// StoryRequest generates a request for a story about c and the story.
func StoryRequest(rng *rand.Rand, c *Character) Exchange {
	u := strings.ReplaceAll(pick(rng, storyRequests), "{x}", c.Phrase)
	return Exchange{Kind: "story", Topic: c, Messages: []chat.Message{{Role: "user", Content: u}, {Role: "assistant", Content: Story(rng, *c)}}}
}

// Calculation turns p into an exchange: the question, the assistant's
// calculator call, the calculator's result and the answer using it.
func Calculation(p Problem, callID string) Exchange {
	args, _ := json.Marshal(map[string]string{"expression": p.Expr}) // a map of strings always marshals
	return Exchange{Kind: "arithmetic", Problem: &p, Messages: []chat.Message{
		{Role: "user", Content: p.Question},
		{Role: "assistant", ToolCalls: []chat.ToolCall{{ID: callID, Type: "function",
			Function: chat.FunctionCall{Name: tool.CalculatorName, Arguments: string(args)}}}},
		{Role: "tool", Content: p.Result, ToolCallID: callID, Name: tool.CalculatorName},
		{Role: "assistant", Content: p.Answer},
	}}
}

// SmallTalk generates thanks, goodbyes and how-are-you turns.
func SmallTalk(rng *rand.Rand) Exchange {
	g := smallTalk[rng.IntN(len(smallTalk))]
	return Exchange{Kind: "smalltalk", Messages: []chat.Message{{Role: "user", Content: pick(rng, g.user)}, {Role: "assistant", Content: pick(rng, g.reply)}}}
}

// Unknown generates a question beyond the assistant and a reply that says
// so.
func Unknown(rng *rand.Rand) Exchange {
	return Exchange{Kind: "unknown", Messages: []chat.Message{{Role: "user", Content: pick(rng, unknownQuestions)}, {Role: "assistant", Content: pick(rng, unknownReplies)}}}
}

// Generator draws the recipe's conversations and preference pairs. Its
// arithmetic never uses an expression of Exclude (the held-out problems).
type Generator struct {
	rng     *rand.Rand
	Exclude map[string]bool
	calls   int
}

// NewGenerator returns a generator seeded with seed.
func NewGenerator(seed uint64, exclude map[string]bool) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, 0x11e05)), Exclude: exclude}
}

// Exchange draws one exchange; first says whether it opens the
// conversation, where greetings are likelier.
func (g *Generator) Exchange(first bool) Exchange {
	r := g.rng.IntN(100)
	if first && r < 25 {
		return Greeting(g.rng)
	}
	switch {
	case r < 15:
		return Identity(g.rng)
	case r < 40:
		return StoryRequest(g.rng, &Characters[g.rng.IntN(len(Characters))])
	case r < 80:
		g.calls++
		return Calculation(Arithmetic(g.rng, g.Exclude), fmt.Sprintf("call_%d", g.calls))
	case r < 88:
		return SmallTalk(g.rng)
	case r < 94:
		return Unknown(g.rng)
	}
	return Greeting(g.rng)
}

// Conversation draws a conversation of one to four exchanges, as a
// piped chat session builds them up; a few start with a system prompt.
func (g *Generator) Conversation() convo.Conversation {
	var msgs []chat.Message
	if g.rng.IntN(10) == 0 {
		msgs = append(msgs, chat.Message{Role: "system", Content: pick(g.rng, systemPrompts)})
	}
	n := 1 + g.rng.IntN(4)
	for i := range n {
		msgs = append(msgs, g.Exchange(i == 0).Messages...)
	}
	return convo.Conversation{Messages: msgs}
}

var systemPrompts = []string{"You are a helpful assistant.", "You are a friendly assistant.", "Answer briefly."}

// Pair draws a preference pair: an exchange's good reply against a bad
// one — repetitive, off-topic, or (for arithmetic) a wrong result or a
// guess without the calculator. The prompt sometimes follows an earlier
// exchange.
func (g *Generator) Pair() convo.Pair {
	var prompt []chat.Message
	if g.rng.IntN(4) == 0 {
		prompt = append(prompt, g.Exchange(true).Messages...)
	}
	ex := g.Exchange(len(prompt) == 0)
	msgs := ex.Messages
	if ex.Kind == "arithmetic" && g.rng.IntN(3) != 0 {
		// The final answer, after the calculator's result.
		return convo.Pair{Prompt: append(prompt, msgs[:3]...), Chosen: msgs[3:], Rejected: []chat.Message{g.badAnswer(ex)}}
	}
	return convo.Pair{Prompt: append(prompt, msgs[0]), Chosen: msgs[1:], Rejected: []chat.Message{g.badReply(ex)}}
}

// badAnswer is an arithmetic answer that misstates the calculator's result.
func (g *Generator) badAnswer(ex Exchange) chat.Message {
	p := ex.Problem
	wrong := WrongResult(g.rng, p.Result)
	return chat.Message{Role: "assistant", Content: replaceLast(p.Answer, p.Result, wrong)}
}

// badReply is a first reply that is worse than ex's: repetitive,
// off-topic, or for arithmetic a guess without the calculator.
func (g *Generator) badReply(ex Exchange) chat.Message {
	good := ex.Messages[1].Content
	switch g.rng.IntN(3) {
	case 0:
		if ex.Kind == "arithmetic" {
			p := ex.Problem
			return chat.Message{Role: "assistant", Content: replaceLast(p.Answer, p.Result, WrongResult(g.rng, p.Result))}
		}
		return chat.Message{Role: "assistant", Content: Repetitive(g.rng, good)}
	case 1:
		if ex.Kind == "arithmetic" {
			return chat.Message{Role: "assistant", Content: Repetitive(g.rng, ex.Problem.Answer)}
		}
		return chat.Message{Role: "assistant", Content: Repetitive(g.rng, good)}
	}
	for {
		other := g.Exchange(false)
		if other.Kind == ex.Kind && (ex.Kind != "story" || other.Topic == ex.Topic) {
			continue
		}
		if other.Kind == "arithmetic" {
			return chat.Message{Role: "assistant", Content: other.Problem.Answer}
		}
		return other.Messages[1]
	}
}

// Repetitive makes a degenerate version of text: its first sentence (or
// first few words) said over and over, as an undertrained model does.
func Repetitive(rng *rand.Rand, text string) string {
	unit := text
	if i := strings.IndexAny(text, ".!?"); i > 0 && i < len(text)-1 {
		unit = text[:i+1]
	}
	if w := strings.Fields(unit); len(w) > 6 && rng.IntN(2) == 0 {
		unit = strings.Join(w[:2+rng.IntN(4)], " ")
	}
	n := 4 + rng.IntN(5)
	return strings.TrimSpace(strings.Repeat(unit+" ", n))
}

// WrongResult returns a number near result but not equal to it: two
// digits swapped, or off by a little.
func WrongResult(rng *rand.Rand, result string) string {
	if len(result) >= 2 && strings.Trim(result, "0123456789") == "" && rng.IntN(3) == 0 {
		b := []byte(result)
		i := rng.IntN(len(b) - 1)
		if b[i] != b[i+1] && (i > 0 || b[1] != '0') {
			b[i], b[i+1] = b[i+1], b[i]
			return string(b)
		}
	}
	v, err := tool.Evaluate(fmt.Sprintf("(%s) + (%d)", result, []int{-10, -2, -1, 1, 2, 10}[rng.IntN(6)]))
	if err != nil {
		return result + "1" // result is not a number: any other text is wrong
	}
	return tool.Format(v)
}

// replaceLast replaces the last occurrence of old in s.
func replaceLast(s, old, new string) string {
	i := strings.LastIndex(s, old)
	if i < 0 {
		return s
	}
	return s[:i] + new + s[i+len(old):]
}
