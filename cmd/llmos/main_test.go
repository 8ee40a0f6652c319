package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmos/llmos/internal/testenv"
)

// llmosBin is the llmos binary built once for the command tests.
var llmosBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "llmos-cmd")
	if err != nil {
		panic(err)
	}
	llmosBin = filepath.Join(dir, "llmos")
	if out, err := exec.Command("go", "build", "-o", llmosBin, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// llmos runs the binary with args and stdin, returning stdout; a failure to
// run is fatal unless wantErr.
func llmos(t *testing.T, stdin string, wantErr bool, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(llmosBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if (err != nil) != wantErr {
		t.Fatalf("llmos %s: err = %v, want error %v; stderr: %s", strings.Join(args, " "), err, wantErr, errOut.String())
	}
	return out.String(), errOut.String()
}

// addrPattern finds the address a serving command prints when it listens.
var addrPattern = regexp.MustCompile(`http://[^/\s]+`)

// startServing runs llmos with args, which make it serve on 127.0.0.1:0, and
// returns the process and the base URL it prints once it listens. The
// process is killed when the test ends.
func startServing(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(llmosBin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	br := bufio.NewReader(stdout)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("llmos %s printed no address: %v", args[0], err)
		}
		if base := addrPattern.FindString(line); base != "" {
			return cmd, base
		}
	}
}

// interrupt sends SIGINT to a serving command and requires it to exit
// cleanly within 10 s, so that what it saved can be checked next.
func interrupt(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	name := cmd.Args[1]
	cmd.Process.Signal(os.Interrupt)
	kill := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	if !kill.Stop() {
		t.Fatalf("llmos %s did not stop within 10 s of SIGINT", name)
	}
	if err != nil {
		t.Errorf("llmos %s exited with %v after SIGINT", name, err)
	}
}

func TestHelp(t *testing.T) {
	out, _ := llmos(t, "", false, "--help")
	for _, name := range []string{"run", "chat", "info", "tokenize", "generate", "logits"} {
		if !strings.Contains(out, name) {
			t.Errorf("llmos --help does not list %s", name)
		}
		sub, _ := llmos(t, "", false, name, "--help")
		if !strings.Contains(sub, "Usage:") || !strings.Contains(sub, "Examples:") {
			t.Errorf("llmos %s --help lacks usage or examples:\n%s", name, sub)
		}
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "-m", "/nonexistent.gguf", "-p", "hi"}, "no such file"},
		{[]string{"info", "-m", "main.go"}, "not a GGUF file"},
		{[]string{"tokenize", "-m", "x.gguf", "-p", "a", "-f", "b"}, "give the prompt once"},
	}
	for _, c := range cases {
		_, errOut := llmos(t, "", true, c.args...)
		if !strings.Contains(errOut, c.want) {
			t.Errorf("llmos %v: stderr %q, want it to mention %q", c.args, errOut, c.want)
		}
	}
}

// reference is the part of a llama.cpp reference the command tests read.
type reference struct {
	Tokens   []int32 `json:"tokens_add_special"`
	NoSpec   []int32 `json:"tokens_no_special"`
	Greedy   []int32 `json:"greedy_ids"`
	TextHex  string  `json:"greedy_text_hex"`
	NumVocab int     `json:"n_vocab"`
}

// TestIntrospection runs tokenize, generate and logits on the F32 fixture
// model (logits within 1e-4 of llama.cpp, so greedy ids agree exactly) and
// tokenize on every fixture model.
func TestIntrospection(t *testing.T) {
	refDirs := testenv.FixtureFiles(t, "llama", "refs", "*")
	root := filepath.Join(testenv.FixturesDir(), "llama")
	for _, dir := range refDirs {
		name := filepath.Base(dir)
		modelPath := filepath.Join(root, "models", name+".gguf")
		refs, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, refPath := range refs {
			prompt := strings.TrimSuffix(filepath.Base(refPath), ".json")
			promptFile := filepath.Join(root, "prompts", prompt+".txt")
			var ref reference
			data, _ := os.ReadFile(refPath)
			if err := json.Unmarshal(data, &ref); err != nil {
				t.Fatal(err)
			}
			t.Run(name+"/"+prompt, func(t *testing.T) {
				out, _ := llmos(t, "", false, "tokenize", "-m", modelPath, "--json", "-f", promptFile)
				var ids []int32
				if err := json.Unmarshal([]byte(out), &ids); err != nil || !slices.Equal(ids, ref.Tokens) {
					t.Errorf("tokenize: %v (%v), llama.cpp %v", ids, err, ref.Tokens)
				}
				out, _ = llmos(t, "", false, "tokenize", "-m", modelPath, "--json", "--no-bos", "-f", promptFile)
				if err := json.Unmarshal([]byte(out), &ids); err != nil || !slices.Equal(ids, ref.NoSpec) {
					t.Errorf("tokenize --no-bos: %v, llama.cpp %v", ids, ref.NoSpec)
				}
				if !strings.HasSuffix(name, ".f32") {
					return
				}
				out, _ = llmos(t, "", false, "generate", "-m", modelPath, "-f", promptFile, "-n", "32", "--temp", "0", "--ignore-eos", "--json")
				var gen generateOutput
				if err := json.Unmarshal([]byte(out), &gen); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(gen.PromptIDs, ref.Tokens) || !slices.Equal(gen.IDs, ref.Greedy) {
					t.Errorf("generate: prompt %v ids %v, llama.cpp %v %v", gen.PromptIDs, gen.IDs, ref.Tokens, ref.Greedy)
				}
				logitsPath := filepath.Join(t.TempDir(), "out.f32")
				llmos(t, "", false, "logits", "-m", modelPath, "-f", promptFile, "-o", logitsPath)
				got, _ := os.ReadFile(logitsPath)
				want, _ := os.ReadFile(strings.TrimSuffix(refPath, ".json") + ".logits.f32")
				if len(got) != len(want) || len(got) != 4*ref.NumVocab {
					t.Fatalf("logits file has %d bytes, want %d", len(got), len(want))
				}
				for i := 0; i < len(got); i += 4 {
					a := math.Float32frombits(binary.LittleEndian.Uint32(got[i:]))
					b := math.Float32frombits(binary.LittleEndian.Uint32(want[i:]))
					if math.Abs(float64(a-b)) > 1e-3 {
						t.Fatalf("logit %d: %g, llama.cpp %g", i/4, a, b)
					}
				}
			})
		}
	}
}

func TestChatPiped(t *testing.T) {
	path := testenv.Fixtures(t, "llama", "models", "llama2c-260K.f32.gguf")
	out, _ := llmos(t, "Hello\n/reset\nTell me a story\n", false, "chat", "-m", path, "-n", "8", "--temp", "0")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 || lines[1] != "(conversation cleared)" {
		t.Fatalf("piped chat printed %q, want an answer, the reset notice and an answer", out)
	}
}

// TestChatDefaultModel pipes a question to llmos chat without -m: the
// built-in assistant answers it.
func TestChatDefaultModel(t *testing.T) {
	out, _ := llmos(t, "Who are you?\n", false, "chat", "--temp", "0", "-n", "64")
	if !strings.Contains(strings.ToLower(out), "llmos") {
		t.Errorf("the built-in assistant's answer %q does not say what it is", out)
	}
}
