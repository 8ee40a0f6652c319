package eval

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/llmos/llmos/engine"
)

// sharedDir returns the folder named by env, or dflt under the folder that
// holds the module root (the one with go.mod).
func sharedDir(t testing.TB, env, dflt string) string {
	if d := os.Getenv(env); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", dflt)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func fixturesDir(t testing.TB) string { return sharedDir(t, "LLMOS_FIXTURES", "fixtures") }

func dataDir(t testing.TB) string { return sharedDir(t, "LLMOS_DATA", "data") }

// fixtureModels lists the fixture GGUF models, skipping when there are none.
func fixtureModels(t testing.TB) []string {
	paths, _ := filepath.Glob(filepath.Join(fixturesDir(t), "llama", "models", "*.gguf"))
	if len(paths) == 0 {
		t.Skipf("no fixture models under %s; set LLMOS_FIXTURES", fixturesDir(t))
	}
	return paths
}

// openModel opens a fixture model by file name, skipping when it is absent.
func openModel(t testing.TB, name string) *engine.Engine {
	t.Helper()
	path := filepath.Join(fixturesDir(t), "llama", "models", name)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("fixture model absent (%v); set LLMOS_FIXTURES", err)
	}
	e, err := engine.Open(path, engine.Options{Threads: 2, Context: 256})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// readData reads the first n bytes of a shared data file, skipping when it
// is absent.
func readData(t testing.TB, rel string, n int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir(t), rel))
	if err != nil {
		t.Skipf("data absent (%v); set LLMOS_DATA", err)
	}
	if n > 0 && len(b) > n {
		b = b[:n]
	}
	return string(b)
}
