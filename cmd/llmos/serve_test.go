package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/llmos/llmos/internal/testenv"
)

func TestServeNeedsModel(t *testing.T) {
	_, errOut := llmos(t, "", true, "serve")
	if !strings.Contains(errOut, "pass -m") {
		t.Errorf("stderr %q does not say to pass -m", errOut)
	}
}

// TestServe starts llmos serve with two models and a key, lists the models
// over HTTP and stops it with SIGINT.
func TestServe(t *testing.T) {
	a := testenv.Fixtures(t, "llama", "models", "llama2c-260K.f32.gguf")
	b := testenv.Fixtures(t, "llama", "models", "spm512-llama.q8_0.gguf")
	cmd := exec.Command(llmosBin, "serve", "-m", a, "-m", b, "--addr", "127.0.0.1:0", "--ctx", "128", "--parallel", "2", "--api-key", "k", "-t", "1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v", err)
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	req, _ := http.NewRequest("GET", base+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Data []struct{ ID string } }
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Data) != 2 || list.Data[0].ID != "llama2c-260K.f32" || list.Data[1].ID != "spm512-llama.q8_0" {
		t.Errorf("models %+v", list.Data)
	}
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGINT", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("serve did not stop on SIGINT")
	}
}
