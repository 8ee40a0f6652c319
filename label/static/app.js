"use strict";
// The labelling page: fetch a prompt and its answers, send one decision,
// fetch the next. Texts are set with textContent only, never as HTML.

const $ = (id) => document.getElementById(id);
let item = null;     // the prompt on screen: {index, prompt, answers}
let ranking = [];    // answer indexes, best first
let editing = null;  // the answer index being edited, or -1 for one's own
let busy = false;

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").classList.toggle("error", !!isError);
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body ? {"Content-Type": "application/json"} : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || res.status + " " + res.statusText);
  return data;
}

function showProgress(r) {
  $("progress").textContent = r.labelled + " of " + r.total + " labelled";
}

async function loadNext() {
  item = null;
  ranking = [];
  closeEditor();
  $("work").hidden = true;
  setStatus("Sampling answers…");
  try {
    const r = await api("GET", "/api/next");
    showProgress(r);
    if (r.done) {
      $("done").hidden = false;
      setStatus("");
      return;
    }
    item = r.item;
    render();
    setStatus("");
  } catch (e) {
    setStatus("Could not load the next prompt: " + e.message, true);
  }
}

function render() {
  $("prompt").textContent = item.prompt;
  const list = $("answers");
  list.replaceChildren();
  item.answers.forEach((a, i) => {
    const li = $("answer-tmpl").content.firstElementChild.cloneNode(true);
    li.dataset.index = i;
    li.querySelector(".num").textContent = "#" + (i + 1);
    li.querySelector(".score").textContent = a.score === undefined ? "" : "reward " + a.score.toFixed(3);
    li.querySelector(".text").textContent = a.text;
    li.querySelector(".pick").addEventListener("click", () => decide({ranking: [i]}));
    li.querySelector(".rank").addEventListener("click", () => toggleRank(i));
    li.querySelector(".edit").addEventListener("click", () => openEditor(i));
    list.appendChild(li);
  });
  renderRanking();
  $("work").hidden = false;
}

function toggleRank(i) {
  const at = ranking.indexOf(i);
  if (at >= 0) ranking.splice(at, 1); else ranking.push(i);
  renderRanking();
}

function renderRanking() {
  document.querySelectorAll("#answers .answer").forEach((li) => {
    const at = ranking.indexOf(Number(li.dataset.index));
    li.classList.toggle("ranked", at >= 0);
    li.querySelector(".rank-badge").textContent = at >= 0 ? "rank " + (at + 1) : "";
    li.querySelector(".rank").textContent = at >= 0 ? "Unrank" : "Rank";
  });
  $("ranking").textContent = ranking.length ? ranking.map((i) => "#" + (i + 1)).join(" > ") : "none";
  $("save-rank").disabled = ranking.length === 0;
  $("clear-rank").disabled = ranking.length === 0;
}

function openEditor(i) {
  editing = i;
  $("editor-title").textContent = i >= 0 ? "Edit answer #" + (i + 1) : "Your answer";
  $("text").value = i >= 0 ? item.answers[i].text : "";
  $("editor").hidden = false;
  $("text").focus();
}

function closeEditor() {
  editing = null;
  $("editor").hidden = true;
  $("text").value = "";
}

async function decide(decision) {
  if (busy || !item) return;
  busy = true;
  setStatus("Saving…");
  try {
    const r = await api("POST", "/api/decide", Object.assign({index: item.index, prompt: item.prompt}, decision));
    showProgress(r);
    await loadNext();
  } catch (e) {
    setStatus("Not saved: " + e.message, true);
    if (/not waiting/.test(e.message)) await loadNext();
  } finally {
    busy = false;
  }
}

$("save-rank").addEventListener("click", () => decide({ranking: ranking.slice()}));
$("clear-rank").addEventListener("click", () => { ranking = []; renderRanking(); });
$("write").addEventListener("click", () => openEditor(-1));
$("cancel-text").addEventListener("click", closeEditor);
$("save-text").addEventListener("click", () => {
  const text = $("text").value;
  if (!text.trim()) { setStatus("The answer is empty.", true); return; }
  // A ranking of the sampled answers, if one is marked, is kept as well.
  decide({text, ranking: ranking.slice()});
});
$("skip").addEventListener("click", async () => {
  if (busy || !item) return;
  try {
    await api("POST", "/api/skip", {index: item.index, prompt: item.prompt});
  } catch (e) {
    setStatus("Could not skip: " + e.message, true);
    return;
  }
  await loadNext();
});
document.addEventListener("keydown", (ev) => {
  if (!item || editing !== null || ev.target.tagName === "TEXTAREA" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const n = Number(ev.key);
  if (n >= 1 && n <= item.answers.length) decide({ranking: [n - 1]});
});

loadNext();
