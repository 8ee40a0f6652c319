package label

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/llmos/llmos/internal/testenv"
)

// TestPageInChromium labels four prompts in headless Chromium, one with each
// way of deciding (the Best button, a number key, a ranking, an edit, one's
// own answer), skips the fifth and checks the files. With
// LLMOS_LABEL_SCREENSHOT=FILE it saves a screenshot of the first prompt.
func TestPageInChromium(t *testing.T) {
	sft, prefs := storePaths(t)
	s := newLabelServer(t, sft, prefs, []string{"P1", "P2", "P3", "P4", "P5", "P6"}, &Options{K: 3, Scorer: lastDigitScorer{}})
	bctx := testenv.Browser(t, 1000, 900)
	if err := chromedp.Do(bctx, chromedp.Navigate(s.url+"/")); err != nil {
		t.Fatal(err)
	}
	ctx, cancelTime := context.WithTimeout(bctx, 60*time.Second)
	defer cancelTime()
	showing := func(prompt string) chromedp.Action[chromedp.Void] {
		// The prompts are plain ASCII, which Go and JavaScript quote alike.
		return chromedp.Poll[chromedp.Void](`document.getElementById("prompt").textContent === ` + strconv.Quote(prompt) + ` && !document.getElementById("work").hidden`)
	}
	answer := func(n int, button string) string {
		return "#answers li:nth-child(" + string(rune('0'+n)) + ") ." + button
	}
	err := chromedp.Do(ctx, showing("P1"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := chromedp.Run(ctx, chromedp.Text("#answers"))
	if err != nil {
		t.Fatal(err)
	}
	// The reward model ranks answer 3 first.
	if i3, i1 := strings.Index(first, "P1: answer 3"), strings.Index(first, "P1: answer 1"); i3 < 0 || i1 < i3 || !strings.Contains(first, "reward 3.000") {
		t.Errorf("answers not shown best first with rewards:\n%s", first)
	}
	testenv.Screenshot(t, ctx, "LLMOS_LABEL_SCREENSHOT")
	err = chromedp.Do(ctx,
		chromedp.Click(answer(2, "pick")), // "P1: answer 2"
		showing("P2"),
		chromedp.KeyEvent("3"), // "P2: answer 1"
		showing("P3"),
		chromedp.Click(answer(3, "rank")), // "P3: answer 1" first
		chromedp.Click(answer(1, "rank")), // then "P3: answer 3"
		chromedp.Poll[chromedp.Void](`document.getElementById("ranking").textContent === "#3 > #1"`),
		chromedp.Click("#save-rank"),
		showing("P4"),
		chromedp.Click(answer(1, "edit")),
		chromedp.Poll[chromedp.Void](`document.getElementById("text").value === "P4: answer 3"`),
		chromedp.SendKeys("#text", ", edited"),
		chromedp.Click("#save-text"),
		showing("P5"),
		chromedp.Click("#write"),
		chromedp.SendKeys("#text", "<b>mine</b>"),
		chromedp.Click("#save-text"),
		showing("P6"),
		chromedp.Click("#skip"),
		chromedp.WaitVisible("#done"),
	)
	if err != nil {
		t.Fatal(err)
	}
	progress, err := chromedp.Run(ctx, chromedp.Text("#progress"))
	if err != nil {
		t.Fatal(err)
	}
	if progress != "5 of 6 labelled" {
		t.Errorf("progress %q", progress)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, sft)), "\n") {
		var r SFTRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Messages[0].Content+" → "+r.Messages[1].Content)
	}
	want := []string{"P1 → P1: answer 2", "P2 → P2: answer 1", "P3 → P3: answer 1", "P4 → P4: answer 3, edited", "P5 → <b>mine</b>"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("SFT records:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Pick, pick, a ranking of two of three, edit, own: 2 + 2 + 3 + 3 + 3 pairs.
	if n := checkJSONL(t, prefs); n != 2+2+3+3+3 {
		t.Errorf("%d preference pairs", n)
	}
}
