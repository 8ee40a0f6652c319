package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/llmos/llmos/internal/testenv"
)

// TestWebChat drives the web chat in headless Chromium: an answer streams in
// and is stored exactly as the API gives it; the stop button ends a long
// answer and its generation; the markdown renderer escapes HTML. With
// LLMOS_WEBCHAT_SCREENSHOT=FILE it saves a screenshot there.
func TestWebChat(t *testing.T) {
	// The small model writes TinyStories-like text; the one with a large
	// vocabulary writes slowly enough (about 50 tokens a second here) for
	// the stop button to land mid-answer.
	const slow = "llama3-bpe-tied.q8_0"
	ts, srv := newModelServer(t, Options{}, smallModel, slow+".gguf")
	sched := srv.models[slow].sched
	bctx := testenv.Browser(t, 1200, 800)
	if err := chromedp.Do(bctx, chromedp.Navigate(ts.URL+"/")); err != nil {
		t.Fatal(err)
	}
	ctx, cancelTime := context.WithTimeout(bctx, 90*time.Second)
	defer cancelTime()
	err := chromedp.Do(ctx,
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#model option").length > 0`),
		chromedp.SetValue("#model", ModelName(smallModel)),
		chromedp.SetValue("#temperature", "0"),
		chromedp.SetValue("#max-tokens", "24"),
		chromedp.SetValue("#system", "You are a storyteller."),
		chromedp.SendKeys("#input", "Tell me a story"),
		chromedp.Click("#send"),
		chromedp.WaitVisible(".msg.assistant[data-done]"),
	)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.parse(localStorage.getItem("llmos.chat.v1")).conversations[0].messages[1].content`))
	if err != nil {
		t.Fatal(err)
	}
	_, want := post(t, ts.URL+"/v1/chat/completions", `{"model":"`+ModelName(smallModel)+`","messages":[{"role":"system","content":"You are a storyteller."},{"role":"user","content":"Tell me a story"}],"temperature":0,"max_tokens":24}`)
	wantText := want["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
	if stored == "" || stored != wantText {
		t.Errorf("web chat stored %q, the API answers %q", stored, wantText)
	}

	testenv.Screenshot(t, ctx, "LLMOS_WEBCHAT_SCREENSHOT")

	// A long answer, stopped once it has begun.
	err = chromedp.Do(ctx,
		chromedp.SetValue("#model", slow),
		chromedp.SetValue("#max-tokens", "150"),
		chromedp.SetValue("#temperature", "1"),
		chromedp.SendKeys("#input", "Another one"),
		chromedp.Click("#send"),
		chromedp.Poll[chromedp.Void](`(() => { const m = document.querySelector(".msg.assistant.streaming .body"); return m && m.textContent.length > 0; })()`),
		chromedp.Click("#stop"),
		chromedp.WaitVisible(`.msg.assistant[data-done="stopped"]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	status, err := chromedp.Run(ctx, chromedp.Text("#status"))
	if err != nil {
		t.Fatal(err)
	}
	if status != "Stopped." {
		t.Errorf("status after stop: %q", status)
	}
	waitFor(t, "the stopped generation to end", func() bool { return sched.Stats().Active == 0 })
	if n := sched.Stats().GeneratedTokens; n >= 150 {
		t.Errorf("the stopped answer ran on: %d tokens generated in all", n)
	}

	html, err := chromedp.Run(ctx, chromedp.Evaluate[string]("renderMarkdown("+jsString("<img src=x onerror=alert(1)> **bold** and `<b>`\n\n```go\nx := \"<script>\"\n```\n- one\n- [two](javascript:alert(1))")+")"))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click("#new-chat")); err != nil {
		t.Fatal(err)
	}
	items, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#conversations li").length`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"&lt;img src=x", "<strong>bold</strong>", "<code>&lt;b&gt;</code>", `<pre><code class="language-go">x := &quot;&lt;script&gt;&quot;</code></pre>`, "<ul><li>one</li>"} {
		if !strings.Contains(html, want) {
			t.Errorf("markdown %q lacks %q", html, want)
		}
	}
	if strings.Contains(html, "<img") || strings.Contains(html, "<script") || strings.Contains(html, `href="javascript`) {
		t.Errorf("markdown let HTML through: %q", html)
	}
	if items != 2 {
		t.Errorf("%d conversations after New chat, want 2", items)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
