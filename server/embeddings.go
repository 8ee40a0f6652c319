package server

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
)

// embeddingRequest is the body of POST /v1/embeddings.
type embeddingRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
}

func (r *embeddingRequest) modelName() string { return r.Model }

// maxEmbedInputs bounds the inputs of one request.
const maxEmbedInputs = 256

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	var req embeddingRequest
	m := s.begin(w, r, &req)
	if m == nil {
		return
	}
	if req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		writeError(w, badRequest("encoding_format", "encoding_format must be float or base64, got %q", req.EncodingFormat))
		return
	}
	inputs, err := prompts(req.Input, m.e.Tokenizer)
	if err != nil {
		writeError(w, badRequest("input", "input must be a string, an array of strings, an array of token ids or an array of such arrays (non-empty)"))
		return
	}
	if len(inputs) > maxEmbedInputs {
		writeError(w, badRequest("input", "at most %d inputs, got %d", maxEmbedInputs, len(inputs)))
		return
	}
	vocab := int32(m.e.Model.Config.Vocab)
	var data []map[string]any
	total := 0
	for i, ids := range inputs {
		for _, id := range ids {
			if id < 0 || id >= vocab {
				writeError(w, badRequest("input", "input %d: token %d outside the vocabulary of %d", i, id, vocab))
				return
			}
		}
		if len(ids) > m.sched.Context() {
			e := badRequest("input", "input %d is %d tokens, longer than the context of %d", i, len(ids), m.sched.Context())
			e.code = "context_length_exceeded"
			writeError(w, e)
			return
		}
		vec, err := m.sched.Embed(r.Context(), ids)
		if err != nil {
			writeError(w, fmt.Errorf("input %d: %w", i, err))
			return
		}
		total += len(ids)
		var emb any = vec
		if req.EncodingFormat == "base64" {
			buf := make([]byte, 4*len(vec))
			for k, v := range vec {
				binary.LittleEndian.PutUint32(buf[4*k:], math.Float32bits(v))
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": emb})
	}
	s.metrics.tokens(m.name, total, 0)
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list", "data": data, "model": m.name,
		"usage": map[string]int{"prompt_tokens": total, "total_tokens": total},
	})
}
