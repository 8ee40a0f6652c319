package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/sample"
)

// apiError is an error in OpenAI's shape, with its HTTP status.
type apiError struct {
	status int
	msg    string
	typ    string
	param  string
	code   string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...), typ: "invalid_request_error", param: param}
}

// toAPIError maps an error to its status: the client's mistakes are 4xx,
// a full queue is 503, the rest 500.
func toAPIError(err error) *apiError {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mbe):
		return &apiError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body larger than %d bytes", mbe.Limit), typ: "invalid_request_error"}
	case errors.Is(err, engine.ErrQueueFull):
		return &apiError{status: http.StatusServiceUnavailable, msg: "the server is busy: too many requests are waiting; retry shortly", typ: "server_error", code: "server_overloaded"}
	case errors.Is(err, engine.ErrContext):
		e := badRequest("messages", "%v", err)
		e.code = "context_length_exceeded"
		return e
	case errors.Is(err, engine.ErrMaxTokens):
		return badRequest("max_tokens", "%v", err)
	case errors.Is(err, engine.ErrInvalid), errors.Is(err, sample.ErrInvalidParams), errors.Is(err, sample.ErrSchema), errors.Is(err, chat.ErrTemplate):
		return badRequest("", "%v", err)
	}
	return &apiError{status: http.StatusInternalServerError, msg: err.Error(), typ: "server_error"}
}

// writeError writes err in OpenAI's shape: {"error": {message, type, param, code}}.
func writeError(w http.ResponseWriter, err error) {
	e := toAPIError(err)
	if e.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	var param, code any
	if e.param != "" {
		param = e.param
	}
	if e.code != "" {
		code = e.code
	}
	writeJSON(w, e.status, map[string]any{"error": map[string]any{"message": e.msg, "type": e.typ, "param": param, "code": code}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

const maxBody = 32 << 20

// decodeBody reads a JSON request body into v, turning syntax and type
// errors into 400s that name the field.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("", "empty request body: expected a JSON object")
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch err := json.Unmarshal(body, v); {
	case err == nil:
		return nil
	case errors.As(err, &syn):
		return badRequest("", "invalid JSON in request body: %v (at byte %d)", syn, syn.Offset)
	case errors.As(err, &typ):
		field := strings.TrimPrefix(typ.Field, "genParams.")
		if field == "" {
			return badRequest("", "request body must be a JSON object, not %s", typ.Value)
		}
		return badRequest(field, "wrong type for %s: got %s, want %s", field, typ.Value, typeName(typ.Type.String()))
	default:
		return badRequest("", "invalid request body: %v", err)
	}
}

// typeName turns a Go type into the JSON words a client understands.
func typeName(goType string) string {
	switch {
	case strings.Contains(goType, "int"):
		return "an integer"
	case strings.Contains(goType, "float"):
		return "a number"
	case strings.Contains(goType, "string"):
		return "a string"
	case strings.Contains(goType, "bool"):
		return "a boolean"
	case strings.HasPrefix(goType, "[]") || strings.HasPrefix(goType, "*[]"):
		return "an array"
	}
	return "an object"
}

// stopList is OpenAI's stop: a string or an array of strings.
type stopList []string

func (s *stopList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stopList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return badRequest("stop", "stop must be a string or an array of strings")
	}
	if len(many) > 16 {
		return badRequest("stop", "at most 16 stop strings, got %d", len(many))
	}
	*s = many
	return nil
}

// genParams are the request fields chat and text completions share.
type genParams struct {
	Model            string   `json:"model"`
	MaxTokens        *int     `json:"max_tokens"`
	Temperature      *float32 `json:"temperature"`
	TopP             *float32 `json:"top_p"`
	Seed             *int64   `json:"seed"`
	Stop             stopList `json:"stop"`
	N                *int     `json:"n"`
	Stream           bool     `json:"stream"`
	FrequencyPenalty *float32 `json:"frequency_penalty"`
	PresencePenalty  *float32 `json:"presence_penalty"`
	// IgnoreEOS keeps generating past end-of-generation tokens until
	// max_tokens or a stop string (llama.cpp's server extension, which
	// benchmark clients send to fix the length of every answer).
	IgnoreEOS     bool `json:"ignore_eos"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func (p *genParams) modelName() string { return p.Model }

// maxChoices bounds n.
const maxChoices = 16

// job builds the engine job for choice i from the shared fields.
func (p *genParams) job(prompt []int32, maxTokens *int, i int) (engine.Job, error) {
	sp := sample.DefaultParams()
	if p.Temperature != nil {
		if *p.Temperature < 0 || *p.Temperature > 2 {
			return engine.Job{}, badRequest("temperature", "temperature must be between 0 and 2, got %v", *p.Temperature)
		}
		sp.Temperature = *p.Temperature
	}
	if p.TopP != nil {
		if *p.TopP <= 0 || *p.TopP > 1 {
			return engine.Job{}, badRequest("top_p", "top_p must be in (0, 1], got %v", *p.TopP)
		}
		sp.TopP = *p.TopP
	}
	if p.FrequencyPenalty != nil {
		sp.FrequencyPenalty = *p.FrequencyPenalty
	}
	if p.PresencePenalty != nil {
		sp.PresencePenalty = *p.PresencePenalty
	}
	if p.Seed != nil {
		sp.Seed = uint64(*p.Seed) + uint64(i)
	} else {
		sp.Seed = rand.Uint64()
	}
	j := engine.Job{Request: engine.Request{Prompt: prompt, Sampling: sp, Stop: p.Stop, IgnoreEOS: p.IgnoreEOS}}
	if maxTokens != nil {
		if *maxTokens < 1 {
			return j, badRequest("max_tokens", "max_tokens must be at least 1, got %d", *maxTokens)
		}
		j.MaxTokens = *maxTokens
	}
	return j, nil
}

// choices returns n, checked.
func (p *genParams) choices() (int, error) {
	if p.N == nil {
		return 1, nil
	}
	if *p.N < 1 || *p.N > maxChoices {
		return 0, badRequest("n", "n must be between 1 and %d, got %d", maxChoices, *p.N)
	}
	return *p.N, nil
}

// usage is OpenAI's token accounting.
type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	Details          struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func newID(prefix string) string {
	return fmt.Sprintf("%s-%016x", prefix, rand.Uint64())
}
