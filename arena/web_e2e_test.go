package arena

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/llmos/llmos/internal/testenv"
)

// TestArenaPageInChromium drives the arena page in headless Chromium: a
// prompt, two streamed answers with no names, a vote, then the names; the
// leaderboard page then lists the models. With LLMOS_ARENA_SCREENSHOT set
// to a file name it saves a screenshot of the page after the vote.
func TestArenaPageInChromium(t *testing.T) {
	names := []string{"alpha-1b", "bravo-7b", "charlie-3b"}
	answers := map[string]string{
		"alpha-1b":   "Crisp leaves drift and fall,\nthe maple lets go of red —\nthe wind keeps the rest.",
		"bravo-7b":   "Autumn: the season between summer and winter, when days shorten and leaves change colour.",
		"charlie-3b": "Golden light, cold air;\napples heavy on the bough;\ngeese write south in ink.",
	}
	var cs []Contestant
	for _, n := range names {
		cs = append(cs, &stubContestant{name: n, answer: func(string) string { return answers[n] }})
	}
	c, store := newArena(t, filepath.Join(t.TempDir(), "votes.db"), cs)

	ctx, cancel := context.WithTimeout(testenv.Browser(t, 1200, 760), 60*time.Second)
	defer cancel()

	err := chromedp.Do(ctx,
		chromedp.Navigate(c.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("prompt")),
		chromedp.SendKeys(chromedp.ID("prompt"), "Write a haiku about autumn."),
		chromedp.Click(chromedp.ID("send")),
		chromedp.WaitEnabled(chromedp.ID("vote-a")),
	)
	if err != nil {
		t.Fatalf("sending a prompt: %v", err)
	}
	before := text(t, ctx, chromedp.CSS("body"))
	textA, textB := text(t, ctx, chromedp.ID("answer-a")), text(t, ctx, chromedp.ID("answer-b"))
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("vote-a")), chromedp.WaitVisible(chromedp.ID("new"))); err != nil {
		t.Fatalf("voting: %v", err)
	}
	nameA, nameB := text(t, ctx, chromedp.ID("name-a")), text(t, ctx, chromedp.ID("name-b"))
	status := text(t, ctx, chromedp.ID("status"))
	for _, n := range names {
		if strings.Contains(before, n) {
			t.Errorf("the page shows %q before the vote:\n%s", n, before)
		}
	}
	if !slices.Contains(names, nameA) || !slices.Contains(names, nameB) || nameA == nameB {
		t.Fatalf("revealed names %q and %q, want two of %v", nameA, nameB, names)
	}
	if strings.TrimSpace(textA) != answers[nameA] || strings.TrimSpace(textB) != answers[nameB] {
		t.Errorf("answers on the page do not belong to the revealed models: A (%s) %q, B (%s) %q", nameA, textA, nameB, textB)
	}
	if !strings.Contains(status, "Thanks") {
		t.Errorf("status after the vote: %q", status)
	}
	testenv.Screenshot(t, ctx, "LLMOS_ARENA_SCREENSHOT")
	votes, err := store.Votes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(votes) != 1 || votes[0].Winner != WinnerA || votes[0].ModelA != nameA || votes[0].ModelB != nameB {
		t.Fatalf("stored votes %+v, want one win for %s over %s", votes, nameA, nameB)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(c.srv.URL+"/leaderboard")); err != nil {
		t.Fatalf("leaderboard page: %v", err)
	}
	table := text(t, ctx, chromedp.ID("ratings"))
	if !strings.Contains(table, nameA) || !strings.Contains(table, nameB) {
		t.Errorf("leaderboard table lacks the models:\n%s", table)
	}
}

// text returns the visible text of the element sel finds.
func text[S chromedp.Selectable](t *testing.T, ctx context.Context, sel S) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("reading the text of %v: %v", sel, err)
	}
	return s
}
