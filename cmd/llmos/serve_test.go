package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/llmos/llmos/internal/testenv"
)

// TestServeDefaultModel starts llmos serve without -m: it serves the
// built-in assistant, which answers a chat completion.
func TestServeDefaultModel(t *testing.T) {
	cmd, base := startServing(t, "serve", "--addr", "127.0.0.1:0", "--ctx", "256", "--parallel", "1", "-t", "1")
	body := `{"model":"llmos-assistant","messages":[{"role":"user","content":"Hello"}],"max_tokens":24,"temperature":0}`
	resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Choices []struct{ Message struct{ Content string } }
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(out.Choices) != 1 || strings.TrimSpace(out.Choices[0].Message.Content) == "" {
		t.Errorf("status %d, answer %+v", resp.StatusCode, out)
	}
	interrupt(t, cmd)
}

// TestServe starts llmos serve with two models and a key, lists the models
// over HTTP and stops it with SIGINT.
func TestServe(t *testing.T) {
	a := testenv.Fixtures(t, "llama", "models", "llama2c-260K.f32.gguf")
	b := testenv.Fixtures(t, "llama", "models", "spm512-llama.q8_0.gguf")
	cmd, base := startServing(t, "serve", "-m", a, "-m", b, "--addr", "127.0.0.1:0", "--ctx", "128", "--parallel", "2", "--api-key", "k", "-t", "1")
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
	interrupt(t, cmd)
}
