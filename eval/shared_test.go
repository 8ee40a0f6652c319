package eval

import (
	"os"
	"testing"

	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/internal/testenv"
)

// openModel opens a fixture model by file name, skipping when it is absent.
func openModel(t testing.TB, name string) *engine.Engine {
	t.Helper()
	e, err := engine.Open(testenv.Fixtures(t, "llama", "models", name), engine.Options{Threads: 2, Context: 256})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// readData reads the first n bytes (all when n is 0) of a shared data file,
// skipping when it is absent.
func readData(t testing.TB, rel string, n int) string {
	t.Helper()
	b, err := os.ReadFile(testenv.Data(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	if n > 0 && len(b) > n {
		b = b[:n]
	}
	return string(b)
}
