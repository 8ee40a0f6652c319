package recipe

import (
	"math/rand/v2"
	"strings"
)

// Character is who a generated story is about: the phrase a user would ask
// for ("a cat"), the noun the story calls it, and how it is referred to.
type Character struct {
	Phrase  string   // with its article, as in "a story about a cat"
	Noun    string   // "cat"
	Names   []string // names the story may give it
	Pronoun string   // "she", "he" or "it"
	Moves   []string // things it does happily, in the past tense
}

// Characters are the story topics: animals, people, creatures and toys
// that come to life. A topic outside the list still gets a story from the
// model, which learns to copy the noun from the question.
var Characters = []Character{
	{"a cat", "cat", []string{"Mimi", "Tom", "Luna", "Whiskers", "Kitty"}, "she", []string{"chased a yarn ball", "purred in the sun", "climbed a fence"}},
	{"a dog", "dog", []string{"Max", "Buddy", "Spot", "Rex", "Daisy"}, "he", []string{"wagged his tail", "ran after a stick", "barked at a leaf"}},
	{"a little bird", "bird", []string{"Tweety", "Pip", "Sky", "Kiwi"}, "she", []string{"sang a sweet song", "flew over the trees", "hopped on a branch"}},
	{"a mouse", "mouse", []string{"Squeak", "Milo", "Tiny", "Nibbles"}, "he", []string{"nibbled some cheese", "ran under the bed", "peeked out of a hole"}},
	{"a dragon", "dragon", []string{"Blaze", "Ember", "Spike", "Flame"}, "he", []string{"flapped his big wings", "blew warm smoke", "flew up to the clouds"}},
	{"a robot", "robot", []string{"Beep", "Bolt", "Robo", "Gizmo"}, "it", []string{"rolled around the room", "beeped a happy song", "blinked its lights"}},
	{"a princess", "princess", []string{"Lily", "Rose", "Emma", "Mia"}, "she", []string{"danced in the hall", "picked flowers", "read a big book"}},
	{"a fish", "fish", []string{"Bubbles", "Finn", "Goldie", "Nemo"}, "he", []string{"swam in circles", "blew little bubbles", "hid behind a rock"}},
	{"a bunny", "bunny", []string{"Hoppy", "Fluffy", "Coco", "Snow"}, "she", []string{"hopped in the grass", "ate a carrot", "wiggled her nose"}},
	{"a bear", "bear", []string{"Teddy", "Bruno", "Honey", "Benny"}, "he", []string{"ate sweet honey", "took a long nap", "climbed a tall tree"}},
	{"a frog", "frog", []string{"Hopper", "Freddy", "Lilly", "Ribbit"}, "he", []string{"jumped into the pond", "caught a fly", "sat on a lily pad"}},
	{"a duck", "duck", []string{"Daisy", "Quacky", "Dotty", "Puddles"}, "she", []string{"splashed in the water", "waddled along", "quacked loudly"}},
	{"an owl", "owl", []string{"Hoot", "Ollie", "Wise", "Luna"}, "he", []string{"watched the stars", "hooted softly", "blinked his big eyes"}},
	{"a lion", "lion", []string{"Leo", "Simba", "King", "Roary"}, "he", []string{"roared loudly", "shook his mane", "napped in the shade"}},
	{"a turtle", "turtle", []string{"Shelly", "Tim", "Slow", "Myrtle"}, "she", []string{"walked very slowly", "hid in her shell", "swam in the pond"}},
	{"an elephant", "elephant", []string{"Ellie", "Jumbo", "Peanut", "Dumbo"}, "she", []string{"sprayed water with her trunk", "stomped her big feet", "ate some peanuts"}},
	{"a boy", "boy", []string{"Tim", "Ben", "Sam", "Jack", "Leo"}, "he", []string{"played with his ball", "built a sand castle", "rode his bike"}},
	{"a girl", "girl", []string{"Lily", "Sue", "Anna", "Mia", "Sara"}, "she", []string{"played with her doll", "drew a picture", "jumped rope"}},
	{"a pirate", "pirate", []string{"Captain Jack", "Red Beard", "Pete", "Sam"}, "he", []string{"sailed his ship", "looked for gold", "sang a sea song"}},
	{"a little car", "car", []string{"Zoom", "Beep", "Speedy", "Red"}, "it", []string{"zoomed down the road", "honked its horn", "raced up the hill"}},
	{"a train", "train", []string{"Choo Choo", "Puff", "Thomas", "Toot"}, "it", []string{"puffed along the tracks", "blew its whistle", "carried many toys"}},
	{"a snowman", "snowman", []string{"Frosty", "Snowy", "Chilly", "Olaf"}, "he", []string{"smiled in the snow", "waved his stick arms", "wore a warm hat"}},
	{"a teddy bear", "teddy bear", []string{"Teddy", "Fuzzy", "Button", "Cuddles"}, "he", []string{"sat on the bed", "gave warm hugs", "went on a picnic"}},
	{"a monkey", "monkey", []string{"Coco", "Bobo", "Momo", "Chip"}, "he", []string{"swung from a tree", "ate a banana", "made funny faces"}},
	{"a puppy", "puppy", []string{"Spot", "Lucky", "Biscuit", "Pepper"}, "she", []string{"chewed a toy", "rolled in the grass", "licked faces"}},
	{"a kitten", "kitten", []string{"Snowy", "Mittens", "Socks", "Pumpkin"}, "she", []string{"played with a string", "drank warm milk", "napped in a box"}},
	{"a horse", "horse", []string{"Star", "Thunder", "Daisy", "Storm"}, "she", []string{"galloped in the field", "ate fresh hay", "jumped over a log"}},
	{"a cow", "cow", []string{"Bella", "Moo", "Daisy", "Clover"}, "she", []string{"ate green grass", "mooed happily", "rang her bell"}},
	{"a pig", "pig", []string{"Piggy", "Wilbur", "Penny", "Oink"}, "he", []string{"rolled in the mud", "ate an apple", "snorted happily"}},
	{"a sheep", "sheep", []string{"Woolly", "Fluff", "Baa", "Cloud"}, "she", []string{"ate soft grass", "jumped over a fence", "slept in the barn"}},
	{"a fox", "fox", []string{"Rusty", "Foxy", "Red", "Ginger"}, "he", []string{"ran through the woods", "sniffed the ground", "hid in the bushes"}},
	{"a squirrel", "squirrel", []string{"Nutty", "Chip", "Hazel", "Acorn"}, "she", []string{"gathered nuts", "ran up a tree", "waved her fluffy tail"}},
	{"a butterfly", "butterfly", []string{"Flutter", "Rainbow", "Wings", "Petal"}, "she", []string{"flew from flower to flower", "danced in the wind", "rested on a leaf"}},
	{"a bee", "bee", []string{"Buzzy", "Bumble", "Honey", "Stripe"}, "she", []string{"buzzed around the garden", "made sweet honey", "visited the flowers"}},
	{"a penguin", "penguin", []string{"Pingu", "Waddles", "Flip", "Ice"}, "he", []string{"slid on the ice", "swam in the cold sea", "waddled in the snow"}},
	{"a giraffe", "giraffe", []string{"Gina", "Tall", "Spots", "Jerry"}, "she", []string{"ate leaves from tall trees", "looked over the fence", "stretched her long neck"}},
	{"a tiger", "tiger", []string{"Tiggy", "Stripes", "Raja", "Sunny"}, "he", []string{"ran very fast", "played in the river", "napped in the grass"}},
	{"a dinosaur", "dinosaur", []string{"Dino", "Rexy", "Stomp", "Spike"}, "he", []string{"stomped his big feet", "ate lots of leaves", "roared a friendly roar"}},
	{"a unicorn", "unicorn", []string{"Sparkle", "Star", "Glitter", "Magic"}, "she", []string{"galloped over a rainbow", "made flowers grow", "shined her horn"}},
	{"a fairy", "fairy", []string{"Tink", "Bell", "Daisy", "Twinkle"}, "she", []string{"sprinkled magic dust", "flew around the garden", "lit tiny lights"}},
	{"a king", "king", []string{"King Tom", "King Max", "King Leo", "King Ben"}, "he", []string{"sat on his throne", "wore his gold crown", "walked in his garden"}},
	{"a queen", "queen", []string{"Queen Rose", "Queen Anna", "Queen Lily", "Queen Sue"}, "she", []string{"wore a shiny crown", "danced at the ball", "gave everyone cake"}},
	{"a wizard", "wizard", []string{"Merlin", "Zed", "Oz", "Tim"}, "he", []string{"waved his wand", "read old books", "made colorful sparks"}},
	{"a ghost", "ghost", []string{"Boo", "Casper", "Misty", "Wisp"}, "it", []string{"floated through the walls", "said boo softly", "played hide and seek"}},
	{"a little cloud", "cloud", []string{"Fluffy", "Puff", "Misty", "Nimbus"}, "it", []string{"floated in the sky", "made soft rain", "changed its shape"}},
	{"a tree", "tree", []string{"Oak", "Willow", "Green", "Mossy"}, "it", []string{"waved its branches", "grew red apples", "gave cool shade"}},
	{"a star", "star", []string{"Twinkle", "Shiny", "Glow", "Sparkle"}, "it", []string{"twinkled at night", "shined very bright", "watched over the town"}},
	{"a balloon", "balloon", []string{"Red", "Bobby", "Floaty", "Pop"}, "it", []string{"floated up high", "danced in the wind", "bounced on the ceiling"}},
	{"a boat", "boat", []string{"Sailor", "Splash", "Bobby", "Wave"}, "it", []string{"sailed on the lake", "bobbed on the waves", "carried a happy family"}},
	{"a spaceship", "spaceship", []string{"Rocket", "Comet", "Zoom", "Star"}, "it", []string{"flew to the moon", "zoomed past the stars", "landed on a red planet"}},
	{"a doll", "doll", []string{"Rosie", "Molly", "Polly", "Dot"}, "she", []string{"sat by the window", "had a tea party", "wore a pretty dress"}},
	{"a farmer", "farmer", []string{"Farmer Joe", "Farmer Tom", "Farmer Bob", "Farmer Dan"}, "he", []string{"fed the animals", "planted seeds", "drove his tractor"}},
	{"a baker", "baker", []string{"Mrs. Pie", "Mrs. Bun", "Rosa", "Anna"}, "she", []string{"baked warm bread", "made sweet cakes", "sold cookies"}},
	{"a knight", "knight", []string{"Sir Max", "Sir Tom", "Sir Leo", "Sir Ben"}, "he", []string{"rode his horse", "held his shiny shield", "guarded the castle"}},
	{"a snail", "snail", []string{"Slimy", "Speedy", "Shelly", "Sam"}, "he", []string{"crawled along a leaf", "left a shiny trail", "hid in his shell"}},
	{"a ladybug", "ladybug", []string{"Dotty", "Ruby", "Lady", "Spot"}, "she", []string{"crawled on a flower", "flew in the sun", "counted her spots"}},
}

var (
	places = []string{"the park", "the forest", "the beach", "a big garden", "a small town", "a farm",
		"the jungle", "a quiet village", "the mountains", "a sunny meadow", "the city", "a little house by the lake",
		"the zoo", "a castle", "the woods", "a field of flowers", "the sea shore", "a snowy hill"}
	objects = []string{"a red ball", "a shiny stone", "a blue kite", "a little boat", "a big box", "a yellow hat",
		"a soft blanket", "a magic key", "a golden coin", "a toy drum", "a tiny bell", "a green leaf", "a pretty shell",
		"a purple crayon", "a round cookie", "a new book", "a silver spoon", "a warm scarf", "a small map", "a bright lamp"}
	friendKinds = []string{"rabbit", "squirrel", "bird", "dog", "cat", "frog", "duck", "owl", "mouse", "bear",
		"turtle", "fox", "girl", "boy", "puppy", "lamb"}
	friendNames = []string{"Sam", "Lucy", "Ben", "Kim", "Joe", "Amy", "Max", "Zoe", "Tom", "Ella", "Dan", "Rosy",
		"Bob", "Nina", "Ted", "Ivy"}
	adjectives = []string{"little", "happy", "curious", "brave", "kind", "small", "playful", "friendly", "shy", "clever"}
	weathers   = []string{"sunny", "bright", "windy", "warm", "cold", "rainy", "cloudy", "snowy"}
	feelings   = []string{"happy", "glad", "excited", "proud", "thankful", "joyful"}
)

// plot is a story's middle: sentence templates in order, each picked from
// its variants. Slots: {N} name, {n} noun, {p} pronoun, {poss}
// possessive, {obj} object pronoun, {place}, {thing}, {F} friend's name,
// {f} friend's kind, {adj}, {feel}, {move}. Sentences are capitalized
// after the slots are filled, so a pronoun slot can start one.
type plot [][]string

var openings = []string{
	"Once upon a time, there was a {adj} {n} named {N}.",
	"Once upon a time, in {place}, there lived a {adj} {n} called {N}.",
	"There once was a {adj} {n} named {N}.",
	"One {weather} day, a {adj} {n} named {N} woke up early.",
	"{N} was a {adj} {n} who lived in {place}.",
	"Long ago, a {adj} {n} named {N} lived in {place}.",
}

var settings = []string{
	"{p} lived in {place} and loved to play all day.",
	"Every day, {N} {move}.",
	"{p} liked to go to {place} with {poss} friends.",
	"{N} loved {place} because it was full of surprises.",
	"{p} was very {adj} and liked to explore.",
}

var plots = []plot{
	{ // lost and found
		{"One day, {N} found {thing} in {place}.", "One morning, {N} saw {thing} on the ground."},
		{"{p} played with it all day and was very {feel}.", "{p} picked it up and smiled. It was so pretty!"},
		{"But then, the wind blew and the {thingNoun} was gone.", "Later, {N} looked for the {thingNoun}, but it was lost."},
		{"{N} felt sad and started to cry.", "{N} was very sad. {p} looked everywhere."},
		{"A {f} named {F} came by and asked, \"Why are you sad?\"", "Then {p} met a {f} named {F}, who wanted to help."},
		{"They looked together, and soon {F} found the {thingNoun} under a bush.", "Together they searched, and they found the {thingNoun} behind a tree."},
		{"{N} said, \"Thank you, {F}! You are a good friend.\"", "{N} hugged {F} and said thank you."},
	},
	{ // new friend
		{"One day, {N} went to {place} to play.", "On a {weather} morning, {N} walked to {place}."},
		{"There, {p} saw a {f} sitting all alone.", "{p} met a shy {f} named {F}."},
		{"\"Do you want to play with me?\" asked {N}.", "{N} said, \"Hello! My name is {N}. Can we be friends?\""},
		{"The {f} smiled and said, \"Yes, I would love to!\"", "{F} was happy and said yes."},
		{"They played with {thing} and laughed a lot.", "They ran, jumped and played until the sun went down."},
		{"From that day on, {N} and {F} were best friends.", "Now {N} had a new friend, and {p} was very {feel}."},
	},
	{ // sharing
		{"One day, {N} had {thing}.", "{N} got {thing} as a present from {poss} mom."},
		{"{p} loved it very much and did not want to share.", "{p} wanted to keep it all for {obj}self."},
		{"{poss} friend {F} the {f} asked, \"Can I play with it too?\"", "Then {F} the {f} came and wanted to play too."},
		{"At first, {N} said no, and {F} looked sad.", "{N} thought about it for a long time."},
		{"Then {N} remembered that sharing is kind.", "{p} saw that {F} was sad, and {p} did not like that."},
		{"So {p} gave {F} a turn, and they played together.", "So {N} shared the {thingNoun}, and {F} smiled a big smile."},
		{"Playing together was more fun than playing alone.", "{N} learned that sharing makes everyone happy."},
	},
	{ // being brave
		{"One night, {N} heard a loud noise outside.", "One day, {N} had to cross a dark part of {place}."},
		{"{p} was scared and wanted to hide.", "{p} felt very scared and {poss} legs were shaking."},
		{"But {N} took a deep breath and said, \"I can be brave.\"", "Then {p} remembered what {poss} mom said: \"Be brave, little one.\""},
		{"{p} went slowly to see what it was.", "Step by step, {p} walked on."},
		{"It was only a {f} named {F} who was lost.", "At the end, {p} found a {f} named {F} who needed help."},
		{"{N} helped {F} find the way home.", "{N} showed {F} the way, and they were both safe."},
		{"{N} was proud, because {p} had been brave.", "After that, {N} was not scared any more."},
	},
	{ // helping
		{"One day, {N} saw a {f} named {F} who was stuck in a tree.", "One {weather} day, {N} saw that {F} the {f} could not reach {thing}."},
		{"\"Help! Help!\" cried {F}.", "{F} looked sad and said, \"I need help.\""},
		{"{N} wanted to help, so {p} thought very hard.", "{N} said, \"Don't worry, I will help you!\""},
		{"{p} found a long stick and held it up high.", "{p} climbed on a big rock and reached up."},
		{"With a little push, {F} was safe.", "Soon, {F} had what {F} needed."},
		{"\"Thank you, {N}!\" said {F}. \"You are very kind.\"", "{F} gave {N} a big hug and said thank you."},
		{"{N} felt warm inside. Helping others made {obj} {feel}.", "{N} learned that it feels good to help a friend."},
	},
	{ // a trip
		{"One day, {N} and {poss} mom went on a trip to {place}.", "One {weather} morning, {N} packed a bag and went to {place}."},
		{"{p} saw tall trees, pretty flowers and many animals.", "There were so many new things to see!"},
		{"{N} {move}.", "{p} met a {f} named {F}, who showed {obj} around."},
		{"Then {p} found {thing} and took it home to keep.", "They had a picnic with bread, apples and juice."},
		{"When the sun went down, it was time to go home.", "In the evening, {N} was tired but happy."},
		{"{N} said, \"This was the best day ever!\"", "That night, {N} dreamed about {place}."},
	},
	{ // a mistake
		{"One day, {N} wanted to make a cake for {poss} friend {F}.", "{N} wanted to paint a picture for {F} the {f}."},
		{"{p} worked hard, but made a big mess.", "But {p} was in a hurry, and it did not turn out well."},
		{"{N} felt bad and said, \"Oh no! It is all wrong.\"", "{N} was sad and wanted to give up."},
		{"{F} came and said, \"It is okay. We can try again together.\"", "Then {poss} friend {F} came to help."},
		{"They tried again, slowly and carefully.", "This time, they took their time and did it step by step."},
		{"It was beautiful! {N} and {F} were very {feel}.", "In the end, it was perfect, and they laughed together."},
		{"{N} learned that it is okay to make mistakes.", "{N} learned that trying again is the best thing to do."},
	},
}

var endings = []string{
	"The end.",
	"And they all lived happily ever after.",
	"{N} smiled and went to sleep, dreaming of the next adventure.",
	"It was a very good day for {N}.",
	"From then on, {N} was always {feel}.",
	"",
	"",
}

// pronouns maps a subject pronoun to its possessive and object forms;
// "{obj}self" then reads herself, himself or itself.
var pronouns = map[string][2]string{"she": {"her", "her"}, "he": {"his", "him"}, "it": {"its", "it"}}

// Story writes a short story (six to ten sentences) about c, picking names,
// places, objects and plot lines from rng.
func Story(rng *rand.Rand, c Character) string {
	thing := pick(rng, objects)
	f := pick(rng, friendKinds)
	fname := pick(rng, friendNames)
	name := pick(rng, c.Names)
	if fname == name {
		fname = "Pat"
	}
	p := c.Pronoun
	forms := pronouns[p]
	poss, obj := forms[0], forms[1]
	r := strings.NewReplacer(
		"{N}", name, "{n}", c.Noun, "{p}", p, "{poss}", poss,
		"{obj}", obj, "{place}", pick(rng, places), "{thingNoun}", lastWord(thing), "{thing}", thing,
		"{F}", fname, "{f}", f, "{adj}", pick(rng, adjectives), "{feel}", pick(rng, feelings),
		"{move}", pick(rng, c.Moves), "{weather}", pick(rng, weathers),
	)
	var sb strings.Builder
	add := func(s string) {
		if s == "" {
			return
		}
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(capitalizeSentences(r.Replace(s)))
	}
	add(pick(rng, openings))
	add(pick(rng, settings))
	pl := plots[rng.IntN(len(plots))]
	for _, step := range pl {
		// Skipping a middle step now and then varies the length and keeps
		// a model from learning one fixed sequence.
		if len(pl) > 5 && rng.IntN(6) == 0 && step[0] != pl[0][0] {
			continue
		}
		add(pick(rng, step))
	}
	add(pick(rng, endings))
	return sb.String()
}

// Stories returns n stories about characters drawn from Characters.
func Stories(rng *rand.Rand, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = Story(rng, Characters[rng.IntN(len(Characters))])
	}
	return out
}

func pick(rng *rand.Rand, s []string) string { return s[rng.IntN(len(s))] }

// capitalizeSentences upper-cases the first letter of text and of every
// sentence after ". ", "! " or "? ", also inside quotes.
func capitalizeSentences(text string) string {
	b := []byte(text)
	start := true
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z' && start:
			b[i] = c - 'a' + 'A'
			start = false
		case c == '.' || c == '!' || c == '?':
			start = i+1 < len(b) && (b[i+1] == ' ' || b[i+1] == '"')
		case c != ' ' && c != '"':
			start = false
		}
	}
	return string(b)
}

func lastWord(s string) string { return s[strings.LastIndexByte(s, ' ')+1:] }
