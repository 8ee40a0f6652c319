package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

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
