package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ardanlabs/jinja"
)

// ChatML is the template used when a model carries none, and the one llmos
// writes into the models it trains:
//
//	<|im_start|>system
//	You are helpful.<|im_end|>
//	<|im_start|>user
//	Hi<|im_end|>
//	<|im_start|>assistant
//
// Assistant tool calls are written in the Hermes/Qwen style that
// ParseToolCalls reads back, and tools are listed in the system turn.
const ChatML = `{%- if tools %}
{{- '<|im_start|>system\n' }}
{%- if messages[0].role == 'system' %}{{ messages[0].content + '\n\n' }}{% endif %}
{{- '# Tools\n\nYou may call one or more functions. Function signatures are within <tools></tools> XML tags:\n<tools>' }}
{%- for tool in tools %}{{ '\n' + tool | tojson }}{% endfor %}
{{- '\n</tools>\n\nFor each call, return a JSON object with the function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' }}
{%- elif messages[0].role == 'system' %}
{{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
{%- endif %}
{%- for message in messages %}
{%- if message.role != 'system' or not loop.first %}
{{- '<|im_start|>' + message.role + '\n' }}
{%- if message.content is defined %}{{ message.content }}{% endif %}
{%- for call in message.tool_calls | default([]) %}
{%- if not loop.first or message.content %}{{ '\n' }}{% endif %}
{{- '<tool_call>\n{"name": "' + call.function.name + '", "arguments": ' }}
{%- if call.function.arguments is string %}{{ call.function.arguments }}{% else %}{{ call.function.arguments | tojson }}{% endif %}
{{- '}\n</tool_call>' }}
{%- endfor %}
{{- '<|im_end|>\n' }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`

// Template is a compiled chat template. It is safe for concurrent use.
type Template struct {
	tmpl *jinja.Template
}

// RenderOptions are the variables a chat template sees besides messages.
type RenderOptions struct {
	// AddGenerationPrompt ends the prompt with the opening of an assistant
	// turn, so that the model writes the reply.
	AddGenerationPrompt bool
	// BOSToken and EOSToken are the texts of the model's special tokens
	// (bos_token, eos_token); templates often write them out.
	BOSToken, EOSToken string
	// Tools are the functions the model may call (the `tools` variable).
	// With none, `tools` is none, as in transformers.
	Tools []Tool
	// Vars are further variables some templates read, such as
	// enable_thinking or date_string. They must be JSON-marshalable; they
	// cannot override messages, tools or the fields above.
	Vars map[string]any
}

// ErrTemplate is wrapped by every error that comes from compiling or
// rendering a template, including a template's own raise_exception.
var ErrTemplate = errors.New("chat template")

// NewTemplate compiles a Jinja chat template, such as the GGUF metadata
// value tokenizer.chat_template. An empty source means ChatML.
func NewTemplate(source string) (*Template, error) {
	if source == "" {
		source = ChatML
	}
	normalized, err := applyWhitespace(source)
	if err != nil {
		return nil, fmt.Errorf("%w: compile: %w", ErrTemplate, err)
	}
	t, err := jinja.Compile(normalized)
	if err != nil {
		return nil, fmt.Errorf("%w: compile: %w", ErrTemplate, err)
	}
	return &Template{tmpl: t}, nil
}

// Render formats a conversation into the prompt text the model expects,
// with the variables transformers' apply_chat_template passes: messages,
// tools, documents (always none), add_generation_prompt, bos_token and
// eos_token (the Jinja globals
// raise_exception and strftime_now come with the engine).
//
// Messages reach the template as transformers users write them: an
// assistant turn that only calls tools has no content key, tool-call
// arguments that are a JSON object are passed as a mapping (templates
// write them with tojson), and empty optional fields are left out.
func (t *Template) Render(msgs []Message, opts RenderOptions) (string, error) {
	data, err := renderData(msgs, opts)
	if err != nil {
		return "", err
	}
	out, err := t.tmpl.RenderValues(data)
	if err != nil {
		return "", fmt.Errorf("%w: render: %w", ErrTemplate, err)
	}
	return out, nil
}

func renderData(msgs []Message, opts RenderOptions) (map[string]jinja.Value, error) {
	data := make(map[string]jinja.Value, len(opts.Vars)+5)
	for k, v := range opts.Vars {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("chat: template variable %q: %w", k, err)
		}
		if data[k], err = jsonValue(b); err != nil {
			return nil, fmt.Errorf("chat: template variable %q: %w", k, err)
		}
	}
	list := make([]jinja.Value, len(msgs))
	for i, m := range msgs {
		v, err := messageValue(m)
		if err != nil {
			return nil, fmt.Errorf("chat: message %d: %w", i, err)
		}
		list[i] = v
	}
	data["messages"] = jinja.NewList(list)
	// transformers passes tools and documents even when there are none.
	data["tools"] = jinja.None()
	data["documents"] = jinja.None()
	if len(opts.Tools) > 0 {
		b, err := json.Marshal(opts.Tools)
		if err != nil {
			return nil, fmt.Errorf("chat: tools: %w", err)
		}
		if data["tools"], err = jsonValue(b); err != nil {
			return nil, fmt.Errorf("chat: tools: %w", err)
		}
	}
	data[toJSONFunc] = jinja.NewCallable(toJSONFunc, pyToJSON)
	data["add_generation_prompt"] = jinja.NewBool(opts.AddGenerationPrompt)
	data["bos_token"] = jinja.NewString(opts.BOSToken)
	data["eos_token"] = jinja.NewString(opts.EOSToken)
	return data, nil
}

// messageValue builds the mapping a template sees for one message.
func messageValue(m Message) (jinja.Value, error) {
	v := jinja.NewDict()
	d := v.AsDict()
	d.Set("role", jinja.NewString(m.Role))
	if m.Content != "" || len(m.ToolCalls) == 0 {
		d.Set("content", jinja.NewString(m.Content))
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]jinja.Value, len(m.ToolCalls))
		for i, c := range m.ToolCalls {
			args := jinja.NewString(c.Function.Arguments)
			if parsed, err := jsonValue([]byte(c.Function.Arguments)); err == nil && parsed.IsDict() {
				args = parsed
			}
			fn := jinja.NewDict()
			fn.AsDict().Set("name", jinja.NewString(c.Function.Name))
			fn.AsDict().Set("arguments", args)
			call := jinja.NewDict()
			if c.ID != "" {
				call.AsDict().Set("id", jinja.NewString(c.ID))
			}
			typ := c.Type
			if typ == "" {
				typ = "function"
			}
			call.AsDict().Set("type", jinja.NewString(typ))
			call.AsDict().Set("function", fn)
			calls[i] = call
		}
		d.Set("tool_calls", jinja.NewList(calls))
	}
	if m.ToolCallID != "" {
		d.Set("tool_call_id", jinja.NewString(m.ToolCallID))
	}
	if m.Name != "" {
		d.Set("name", jinja.NewString(m.Name))
	}
	return v, nil
}

// jsonValue decodes one JSON document into a template value, keeping the
// order of object keys: templates print schemas with tojson, and Python
// keeps insertion order, so sorting keys would change the prompt.
func jsonValue(b []byte) (jinja.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return jinja.Value{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jinja.Value{}, errors.New("trailing data after JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (jinja.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return jinja.Value{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			v := jinja.NewDict()
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return jinja.Value{}, err
				}
				item, err := decodeValue(dec)
				if err != nil {
					return jinja.Value{}, err
				}
				v.AsDict().Set(k.(string), item)
			}
			_, err := dec.Token() // '}'
			return v, err
		case '[':
			var items []jinja.Value
			for dec.More() {
				item, err := decodeValue(dec)
				if err != nil {
					return jinja.Value{}, err
				}
				items = append(items, item)
			}
			_, err := dec.Token() // ']'
			return jinja.NewList(items), err
		}
		return jinja.Value{}, fmt.Errorf("unexpected %v", t)
	default:
		return jinja.FromGoValue(t), nil
	}
}
