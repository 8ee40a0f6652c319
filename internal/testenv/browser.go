package testenv

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// chromiumNames are the names a Chromium binary goes by on PATH.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "chrome"}

// Chromium returns the path of a Chromium binary on PATH, skipping the test
// when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skipf("no chromium on PATH (tried %v): %s needs it (Debian: apt-get install -y chromium)", chromiumNames, t.Name())
	return ""
}

// Browser starts headless Chromium with a window of width×height pixels and
// a fresh profile, and returns the context of its first tab; the browser
// closes when the test ends. The browser lives as long as that context, so
// give each step a timeout with a context derived from it, never the
// browser itself. Call it after starting the servers the page talks to:
// cleanups run last first, and httptest.Server.Close waits for the page's
// open requests, so the browser must close before the servers. It skips the
// test when Chromium is not installed.
func Browser(t testing.TB, width, height int) context.Context {
	t.Helper()
	exe := Chromium(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// The first run starts the browser and binds its life to ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return ctx
}

// Screenshot saves a full-page PNG of the tab to the file named by the
// environment variable env, and does nothing when env is unset: tests use
// it to refresh the pictures in the docs.
func Screenshot(t testing.TB, ctx context.Context, env string) {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot for %s: %v", env, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("screenshot for %s: %v", env, err)
	}
}
