package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// recorder is a testing.TB that records a skip or a failure and ends the
// goroutine as the real one does, so that a helper's skip can be checked.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return "TestRecorded" }

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// record runs fn with a recorder on a goroutine of its own, which Skipf and
// Fatalf end, and returns the recorder.
func record(fn func(testing.TB)) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	// go test runs this in internal/testenv, two levels below go.mod.
	wd, _ := os.Getwd()
	if want := filepath.Dir(filepath.Dir(wd)); root != want {
		t.Errorf("ModuleRoot() = %s, want %s", root, want)
	}
	t.Chdir(t.TempDir())
	if root, err := ModuleRoot(); err == nil {
		t.Errorf("ModuleRoot() outside any module = %s, want an error", root)
	}
}

func TestSharedDirs(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	abs := t.TempDir()
	cases := []struct {
		name, env string
		dir       func() string
		want      string
	}{
		{"fixtures default", "", FixturesDir, filepath.Join(filepath.Dir(root), "shared", "fixtures")},
		{"fixtures absolute", abs, FixturesDir, abs},
		{"fixtures relative", "some/where", FixturesDir, filepath.Join(wd, "some", "where")},
		{"data default", "", DataDir, filepath.Join(filepath.Dir(root), "shared", "data")},
		{"data absolute", abs, DataDir, abs},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(FixturesEnv, c.env)
			t.Setenv(DataEnv, c.env)
			if got := c.dir(); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
	t.Run("no module", func(t *testing.T) {
		t.Setenv(FixturesEnv, "")
		t.Chdir(t.TempDir())
		if got := FixturesDir(); got != "" {
			t.Errorf("FixturesDir() with no env and no go.mod = %q, want \"\"", got)
		}
		r := record(func(tb testing.TB) { Fixtures(tb, "x") })
		if !strings.Contains(r.skipped, FixturesEnv) || !strings.Contains(r.skipped, "go.mod") {
			t.Errorf("skip message %q should name %s and go.mod", r.skipped, FixturesEnv)
		}
	})
}

// TestLookups checks Fixtures, Data and FixtureFiles on a made-up shared
// folder: found paths come back, absent ones skip naming the variable.
func TestLookups(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"llama/models/b.gguf", "llama/models/a.gguf", "llama/refs/x.json"} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(FixturesEnv, dir)
	t.Setenv(DataEnv, dir)
	cases := []struct {
		name     string
		call     func(testing.TB) any
		want     any
		skipEnv  string // the variable a skip message must name; "" for no skip
		failWith string
	}{
		{"fixture file", func(tb testing.TB) any { return Fixtures(tb, "llama", "models", "a.gguf") }, filepath.Join(dir, "llama/models/a.gguf"), "", ""},
		{"fixture folder", func(tb testing.TB) any { return Fixtures(tb, "llama") }, filepath.Join(dir, "llama"), "", ""},
		{"fixtures root", func(tb testing.TB) any { return Fixtures(tb) }, dir, "", ""},
		{"fixture absent", func(tb testing.TB) any { return Fixtures(tb, "llama", "nope.gguf") }, nil, FixturesEnv, ""},
		{"data file", func(tb testing.TB) any { return Data(tb, "llama", "refs", "x.json") }, filepath.Join(dir, "llama/refs/x.json"), "", ""},
		{"data absent", func(tb testing.TB) any { return Data(tb, "tinystories") }, nil, DataEnv, ""},
		{"glob", func(tb testing.TB) any { return strings.Join(FixtureFiles(tb, "llama", "models", "*.gguf"), ",") },
			filepath.Join(dir, "llama/models/a.gguf") + "," + filepath.Join(dir, "llama/models/b.gguf"), "", ""},
		{"glob no match", func(tb testing.TB) any { return FixtureFiles(tb, "llama", "models", "*.bin") }, nil, FixturesEnv, ""},
		{"glob bad pattern", func(tb testing.TB) any { return FixtureFiles(tb, "[") }, nil, "", "pattern"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got any
			r := record(func(tb testing.TB) { got = c.call(tb) })
			switch {
			case c.failWith != "":
				if !strings.Contains(r.failed, c.failWith) {
					t.Errorf("failure %q, want one mentioning %q", r.failed, c.failWith)
				}
			case c.skipEnv != "":
				if !strings.Contains(r.skipped, c.skipEnv) || !strings.Contains(r.skipped, dir) {
					t.Errorf("skip message %q should name %s and the folder %s", r.skipped, c.skipEnv, dir)
				}
			default:
				if r.skipped != "" || r.failed != "" {
					t.Fatalf("skipped %q, failed %q", r.skipped, r.failed)
				}
				if got != c.want {
					t.Errorf("got %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestChromiumLookup(t *testing.T) {
	empty, withChrome := t.TempDir(), t.TempDir()
	exe := filepath.Join(withChrome, "google-chrome")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, want string
	}{
		{"none", empty, ""},
		{"google-chrome", withChrome, exe},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("PATH", c.path)
			var got string
			r := record(func(tb testing.TB) { got = Chromium(tb) })
			if c.want == "" {
				if !strings.Contains(r.skipped, "no chromium on PATH") || !strings.Contains(r.skipped, "TestRecorded") {
					t.Errorf("skip message %q should say chromium is missing and for which test", r.skipped)
				}
				return
			}
			if r.skipped != "" || got != c.want {
				t.Errorf("Chromium() = %q (skipped %q), want %q", got, r.skipped, c.want)
			}
		})
	}
}

// TestBrowser starts the real browser: the window has the size asked for,
// pages load, and Screenshot writes a PNG only when its variable is set.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>testenv</title><p id="p">hello</p>`)
	}))
	defer srv.Close()
	ctx := Browser(t, 640, 480)
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(tctx, chromedp.Text("#p"))
	if err != nil || text != "hello" {
		t.Fatalf("text %q, %v; want hello", text, err)
	}
	width, err := chromedp.Run(tctx, chromedp.Evaluate[int]("window.innerWidth"))
	if err != nil || width != 640 {
		t.Errorf("window.innerWidth = %d, %v; want 640", width, err)
	}

	const env = "LLMOS_TESTENV_SCREENSHOT"
	path := filepath.Join(t.TempDir(), "shot.png")
	// Unset, Screenshot must not try to write (to "", which would fail).
	t.Setenv(env, "")
	Screenshot(t, tctx, env)
	t.Setenv(env, path)
	Screenshot(t, tctx, env)
	png, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot is not a PNG: % x", png[:min(8, len(png))])
	}
}
