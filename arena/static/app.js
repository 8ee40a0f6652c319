// The arena page: send a prompt, stream both anonymous answers, vote, and
// only then show the names the server reveals in its reply to the vote.
"use strict";

const $ = (id) => document.getElementById(id);
const voteButtons = [...document.querySelectorAll(".vote button")];
let battle = null;

function setStatus(text) { $("status").textContent = text; }

function setVoting(on) { voteButtons.forEach((b) => { b.disabled = !on; }); }

function reset() {
  battle = null;
  for (const side of ["a", "b"]) {
    $("answer-" + side).textContent = "";
    $("name-" + side).textContent = "";
    $("name-" + side).className = "name";
  }
  setVoting(false);
  $("new").hidden = true;
  $("send").disabled = false;
  $("prompt").disabled = false;
  setStatus("");
}

$("ask").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const prompt = $("prompt").value.trim();
  if (!prompt) return;
  reset();
  $("send").disabled = true;
  $("prompt").disabled = true;
  setStatus("The models are answering…");
  const res = await fetch("/api/battles", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ prompt }),
  });
  const body = await res.json();
  if (!res.ok) {
    setStatus("Error: " + body.error);
    $("send").disabled = false;
    $("prompt").disabled = false;
    return;
  }
  battle = body.id;
  const finished = { a: false, b: false };
  let failed = false;
  const es = new EventSource("/api/battles/" + battle + "/stream");
  es.addEventListener("token", (e) => {
    const d = JSON.parse(e.data);
    $("answer-" + d.side).textContent += d.text;
  });
  es.addEventListener("done", (e) => { finished[JSON.parse(e.data).side] = true; });
  es.addEventListener("error", (e) => {
    if (e.data) {
      failed = true;
      const d = JSON.parse(e.data);
      $("answer-" + d.side).textContent += "\n[" + d.error + "]";
    }
  });
  es.addEventListener("end", () => {
    es.close();
    if (failed || !finished.a || !finished.b) {
      setStatus("This round failed; start a new one.");
      $("new").hidden = false;
      return;
    }
    setStatus("Which answer is better?");
    setVoting(true);
  });
});

voteButtons.forEach((btn) => btn.addEventListener("click", async () => {
  if (!battle) return;
  setVoting(false);
  const res = await fetch("/api/battles/" + battle + "/vote", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ winner: btn.dataset.winner }),
  });
  const body = await res.json();
  if (!res.ok) {
    setStatus("Error: " + body.error);
    return;
  }
  battle = null;
  $("name-a").textContent = body.model_a;
  $("name-b").textContent = body.model_b;
  for (const [side, key] of [["a", "model_a"], ["b", "model_b"]]) {
    if (body.winner === key) $("name-" + side).classList.add("winner");
  }
  setStatus(body.voided
    ? "Thanks! This vote does not count: an answer named its own model."
    : "Thanks for voting!");
  $("new").hidden = false;
}));

$("new").addEventListener("click", () => { reset(); $("prompt").value = ""; $("prompt").focus(); });
