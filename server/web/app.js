// llmos web chat: conversations kept in localStorage, answers streamed from
// /v1/chat/completions, rendered with a small markdown renderer that escapes
// all HTML first, so nothing the model writes can run as markup.
"use strict";

const $ = (id) => document.getElementById(id);
const STORE = "llmos.chat.v1";

// ---- markdown ----

function escapeHTML(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

// inline formats one line of already escaped text: code spans first (their
// content is left alone), then links, bold and italics.
function inline(text) {
  const parts = text.split(/(`[^`]+`)/);
  return parts.map((p, i) => {
    if (i % 2 === 1) return "<code>" + p.slice(1, -1) + "</code>";
    return p
      .replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, (m, label, url) =>
        '<a href="' + url + '" target="_blank" rel="noopener noreferrer">' + label + "</a>")
      .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
      .replace(/(^|[^*\w])\*([^*\s][^*]*)\*(?!\w)/g, "$1<em>$2</em>")
      .replace(/(^|[^_\w])_([^_\s][^_]*)_(?!\w)/g, "$1<em>$2</em>");
  }).join("");
}

// renderMarkdown turns markdown into HTML: fenced code blocks, headings,
// lists, block quotes and paragraphs. The input is escaped before any tag
// is added.
function renderMarkdown(src) {
  const lines = escapeHTML(src).split("\n");
  const out = [];
  let para = [];
  let list = null; // "ul" or "ol" while inside a list
  const flushPara = () => {
    if (para.length) out.push("<p>" + para.map(inline).join("<br>") + "</p>");
    para = [];
  };
  const closeList = () => {
    if (list) out.push("</" + list + ">");
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = line.match(/^\s*```\s*([\w+#.-]*)\s*$/);
    if (fence) {
      flushPara();
      closeList();
      const code = [];
      for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) code.push(lines[i]);
      const cls = fence[1] ? ' class="language-' + fence[1] + '"' : "";
      out.push("<pre><code" + cls + ">" + code.join("\n") + "</code></pre>");
      continue;
    }
    let m;
    if ((m = line.match(/^(#{1,6})\s+(.*)$/))) {
      flushPara();
      closeList();
      out.push("<h" + m[1].length + ">" + inline(m[2]) + "</h" + m[1].length + ">");
    } else if ((m = line.match(/^\s*([-*+]|\d+[.)])\s+(.*)$/))) {
      flushPara();
      const kind = /\d/.test(m[1]) ? "ol" : "ul";
      if (list !== kind) {
        closeList();
        out.push("<" + kind + ">");
        list = kind;
      }
      out.push("<li>" + inline(m[2]) + "</li>");
    } else if ((m = line.match(/^&gt;\s?(.*)$/))) {
      flushPara();
      closeList();
      out.push("<blockquote>" + inline(m[1]) + "</blockquote>");
    } else if (line.trim() === "") {
      flushPara();
      closeList();
    } else {
      closeList();
      para.push(line);
    }
  }
  flushPara();
  closeList();
  return out.join("");
}
window.renderMarkdown = renderMarkdown;

// ---- state ----

let state = { conversations: [], current: null };
try {
  state = Object.assign(state, JSON.parse(localStorage.getItem(STORE) || "{}"));
} catch (e) {
  console.warn("stored conversations unreadable; starting afresh", e);
}
let controller = null; // the AbortController of the answer being streamed

function save() {
  localStorage.setItem(STORE, JSON.stringify(state));
}

function current() {
  return state.conversations.find((c) => c.id === state.current);
}

function newConversation() {
  const c = { id: Date.now().toString(36) + Math.random().toString(36).slice(2, 6), title: "New chat", messages: [] };
  state.conversations.unshift(c);
  state.current = c.id;
  save();
  render();
  $("input").focus();
}

// ---- rendering ----

function messageElement(role, text, cls) {
  const el = document.createElement("div");
  el.className = "msg " + role + (cls ? " " + cls : "");
  const r = document.createElement("div");
  r.className = "role";
  r.textContent = role;
  const body = document.createElement("div");
  body.className = "body";
  body.innerHTML = renderMarkdown(text);
  el.append(r, body);
  return el;
}

function render() {
  const list = $("conversations");
  list.replaceChildren();
  for (const c of state.conversations) {
    const li = document.createElement("li");
    if (c.id === state.current) li.className = "active";
    const open = document.createElement("button");
    open.className = "open";
    open.type = "button";
    open.textContent = c.title;
    open.onclick = () => { if (!controller) { state.current = c.id; save(); render(); } };
    const del = document.createElement("button");
    del.className = "delete";
    del.type = "button";
    del.title = "Delete";
    del.textContent = "×";
    del.onclick = () => {
      if (controller) return;
      state.conversations = state.conversations.filter((x) => x !== c);
      if (state.current === c.id) state.current = state.conversations[0] ? state.conversations[0].id : null;
      save();
      render();
    };
    li.append(open, del);
    list.append(li);
  }
  const box = $("messages");
  box.replaceChildren();
  const conv = current();
  if (conv) for (const m of conv.messages) box.append(messageElement(m.role, m.content));
  box.scrollTop = box.scrollHeight;
}

function busy(on) {
  $("send").disabled = on;
  $("stop").hidden = !on;
}

// ---- talking to the server ----

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

async function loadModels() {
  try {
    const resp = await fetch("/v1/models", { headers: headers() });
    const data = await resp.json();
    if (!resp.ok) throw new Error(data.error ? data.error.message : resp.statusText);
    const sel = $("model");
    sel.replaceChildren();
    for (const m of data.data) {
      const o = document.createElement("option");
      o.value = o.textContent = m.id;
      sel.append(o);
    }
    $("status").textContent = "";
  } catch (e) {
    $("status").textContent = "Could not list models: " + e.message;
  }
}

function number(id) {
  const v = $(id).value.trim();
  return v === "" ? undefined : Number(v);
}

// readEvents yields the data of each server-sent event in a fetch body.
async function* readEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      for (const line of event.split("\n")) {
        if (line.startsWith("data: ")) yield line.slice(6);
      }
    }
  }
}

async function send(text) {
  let conv = current();
  if (!conv) {
    newConversation();
    conv = current();
  }
  conv.messages.push({ role: "user", content: text });
  if (conv.title === "New chat") conv.title = text.slice(0, 40);
  save();
  render();

  const messages = [];
  const system = $("system").value.trim();
  if (system) messages.push({ role: "system", content: system });
  messages.push(...conv.messages);
  const body = {
    model: $("model").value || undefined,
    messages,
    stream: true,
    temperature: number("temperature"),
    top_p: number("top-p"),
    max_tokens: number("max-tokens"),
    seed: number("seed"),
  };

  const el = messageElement("assistant", "", "streaming");
  $("messages").append(el);
  const out = el.querySelector(".body");
  let answer = "";
  controller = new AbortController();
  busy(true);
  $("status").textContent = "";
  let reason = "";
  try {
    const resp = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(), body: JSON.stringify(body), signal: controller.signal,
    });
    if (!resp.ok) {
      const data = await resp.json().catch(() => ({}));
      throw new Error(data.error ? data.error.message : resp.status + " " + resp.statusText);
    }
    for await (const data of readEvents(resp.body)) {
      if (data === "[DONE]") break;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) continue;
      if (choice.delta && choice.delta.content) {
        answer += choice.delta.content;
        out.innerHTML = renderMarkdown(answer);
        $("messages").scrollTop = $("messages").scrollHeight;
      }
      if (choice.finish_reason) reason = choice.finish_reason;
    }
    $("status").textContent = reason === "length" ? "Stopped at the token limit." : "";
  } catch (e) {
    if (e.name === "AbortError") {
      $("status").textContent = "Stopped.";
    } else {
      el.classList.add("error");
      answer += (answer ? "\n\n" : "") + "Error: " + e.message;
      out.innerHTML = renderMarkdown(answer);
    }
  } finally {
    el.classList.remove("streaming");
    el.dataset.done = reason || "stopped";
    conv.messages.push({ role: "assistant", content: answer });
    save();
    controller = null;
    busy(false);
  }
}

// ---- wiring ----

$("composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("input").value.trim();
  if (!text || controller) return;
  $("input").value = "";
  send(text);
});
$("input").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) {
    ev.preventDefault();
    $("composer").requestSubmit();
  }
});
$("stop").addEventListener("click", () => { if (controller) controller.abort(); });
$("new-chat").addEventListener("click", () => { if (!controller) newConversation(); });

const SETTINGS = ["system", "temperature", "top-p", "max-tokens", "seed", "api-key"];
for (const id of SETTINGS) {
  const saved = localStorage.getItem("llmos.setting." + id);
  if (saved !== null) $(id).value = saved;
  $(id).addEventListener("change", () => {
    localStorage.setItem("llmos.setting." + id, $(id).value);
    if (id === "api-key") loadModels();
  });
}

render();
loadModels();
