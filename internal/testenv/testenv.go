// Package testenv finds what the tests of every llmos package share: the
// llama.cpp fixtures and the data sets kept beside the repository. A test
// that needs one of them skips, naming the environment variable to set,
// rather than failing on a machine that lacks them.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The environment variables that override the default folders.
const (
	// FixturesEnv names the fixtures folder (llama.cpp models and references).
	FixturesEnv = "LLMOS_FIXTURES"
	// DataEnv names the data folder (TinyStories, GSM8K, BLiMP …).
	DataEnv = "LLMOS_DATA"
)

// ModuleRoot returns the folder holding go.mod, found by walking up from the
// working directory, which `go test` sets to the package's folder.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// FixturesDir returns $LLMOS_FIXTURES, else ../shared/fixtures beside the
// module root, as an absolute path. It returns "" when the variable is unset
// and there is no module root; it does not check that the folder exists.
func FixturesDir() string { return sharedDir(FixturesEnv, "fixtures") }

// DataDir returns $LLMOS_DATA, else ../shared/data beside the module root, as
// FixturesDir does for the fixtures.
func DataDir() string { return sharedDir(DataEnv, "data") }

// sharedDir is the absolute form of $env, else of ../shared/name beside the
// module root; "" when neither can be found.
func sharedDir(env, name string) string {
	dir := os.Getenv(env)
	if dir == "" {
		root, err := ModuleRoot()
		if err != nil {
			return ""
		}
		dir = filepath.Join(root, "..", "shared", name)
	}
	// Absolute, so that a path handed to a subprocess or kept past a
	// t.Chdir still names the same file.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return dir
}

// Fixtures returns the path elem names under the fixtures folder, skipping
// the test when nothing is there.
func Fixtures(t testing.TB, elem ...string) string {
	t.Helper()
	return existing(t, FixturesDir(), FixturesEnv, "fixture", elem)
}

// Data returns the path elem names under the data folder, skipping the test
// when nothing is there.
func Data(t testing.TB, elem ...string) string {
	t.Helper()
	return existing(t, DataDir(), DataEnv, "data", elem)
}

// FixtureFiles returns the files under the fixtures folder that match the
// glob pattern elem joins to, in lexical order, skipping the test when none
// match; tests list their cases with it rather than naming files.
func FixtureFiles(t testing.TB, elem ...string) []string {
	t.Helper()
	dir := FixturesDir()
	if dir == "" {
		t.Skipf("no fixtures: %s is unset and there is no go.mod above the test", FixturesEnv)
	}
	pattern := filepath.Join(append([]string{dir}, elem...)...)
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatalf("testenv: pattern %s: %v", pattern, err)
	}
	if len(files) == 0 {
		t.Skipf("no fixtures match %s (set %s)", pattern, FixturesEnv)
	}
	return files
}

// existing joins elem under dir and skips the test, saying which kind of
// shared file is missing and naming env, when the result does not exist.
func existing(t testing.TB, dir, env, kind string, elem []string) string {
	t.Helper()
	if dir == "" {
		t.Skipf("no shared folder: %s is unset and there is no go.mod above the test", env)
	}
	path := filepath.Join(append([]string{dir}, elem...)...)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s absent: %v (set %s)", kind, err, env)
	}
	return path
}
