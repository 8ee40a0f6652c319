#!/usr/bin/env python3
"""Check or fill the expected outputs of the chat template test cases.

Every testdata/*.json case is rendered with Jinja2 configured exactly as
Hugging Face transformers' apply_chat_template configures it
(transformers/utils/chat_template_utils.py: ImmutableSandboxedEnvironment with
trim_blocks and lstrip_blocks, the loopcontrols extension and a no-op
{% generation %} tag, tojson without ASCII escaping, raise_exception and
strftime_now globals; render(messages=..., tools=..., documents=None,
add_generation_prompt=..., bos_token=..., eos_token=..., **extra)).
Messages are converted the way chat.Template.Render converts them.

    python3 render_hf.py           # check every case, exit 1 on a mismatch
    python3 render_hf.py --write   # fill "expected" of jinja2-sourced cases

Cases with "expected_from": "llama.cpp" keep llama.cpp's strings; this script
only checks that Jinja2 agrees with them. Tested with Jinja2 3.1.6.
"""
import glob, json, os, sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


class AssistantTracker(jinja2.ext.Extension):
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body).set_lineno(lineno)


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def message(m):
    out = {"role": m["role"]}
    calls = m.get("tool_calls") or []
    if m.get("content", "") != "" or not calls:
        out["content"] = m.get("content", "")
    if calls:
        conv = []
        for c in calls:
            args = c["function"]["arguments"]
            try:
                parsed = json.loads(args)
                if isinstance(parsed, dict):
                    args = parsed
            except ValueError:
                pass
            call = {}
            if c.get("id"):
                call["id"] = c["id"]
            call["type"] = c.get("type") or "function"
            call["function"] = {"name": c["function"]["name"], "arguments": args}
            conv.append(call)
        out["tool_calls"] = conv
    for k in ("tool_call_id", "name"):
        if m.get(k):
            out[k] = m[k]
    return out


def render(env, case, here):
    src = case.get("template")
    if src is None:
        with open(os.path.join(here, case["template_file"]), encoding="utf-8") as f:
            src = f.read()
    kwargs = dict(case.get("vars") or {})
    kwargs.update(messages=[message(m) for m in case["messages"]], tools=case.get("tools"), documents=None,
                  add_generation_prompt=case["add_generation_prompt"],
                  bos_token=case["bos_token"], eos_token=case["eos_token"])
    try:
        return env.from_string(src).render(**kwargs), None
    except TemplateError as e:
        return None, str(e)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    write = "--write" in sys.argv
    env = environment()
    bad = 0
    for path in sorted(glob.glob(os.path.join(here, "*.json"))):
        with open(path, encoding="utf-8") as f:
            case = json.load(f)
        out, err = render(env, case, here)
        name = os.path.basename(path)
        if "expected_error" in case:
            if err is None or case["expected_error"] not in err:
                print(f"{name}: want error {case['expected_error']!r}, got {err!r} / {out!r}")
                bad += 1
            continue
        if err is not None:
            print(f"{name}: error {err}")
            bad += 1
            continue
        if write and case["expected_from"] == "jinja2":
            case["expected"] = out
            with open(path, "w", encoding="utf-8") as f:
                json.dump(case, f, ensure_ascii=False, indent=1)
                f.write("\n")
        elif out != case["expected"]:
            print(f"{name}: jinja2 renders\n{out!r}\nexpected\n{case['expected']!r}")
            bad += 1
    print("mismatches:", bad)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
