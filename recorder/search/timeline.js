// OwnTrace timeline: days -> sessions -> steps with their frames, and search over all of them.
// Everything is built with DOM calls and textContent: recorded text never becomes markup.
"use strict";

const $ = (id) => document.getElementById(id);
const REVIEWABLE = new Set(["redacted", "approved", "exported", "raw-deleted"]);

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin" });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error ? `${data.error}${data.hint ? " (" + data.hint + ")" : ""}` : `HTTP ${r.status}`);
  return data;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function note(text, warn = false) {
  $("note").textContent = text;
  $("note").className = warn ? "warning" : "";
}

function localTime(iso) {
  return new Date(iso).toLocaleString();
}

function fmtSecs(s) {
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, "0")}`;
}

// the snippet with its matched spans in <mark>, as text nodes
function snippet(hit) {
  const p = el("div", undefined, "snippet");
  let pos = 0;
  for (const [a, b] of hit.highlights) {
    p.append(hit.snippet.slice(pos, a), el("mark", hit.snippet.slice(a, b)));
    pos = b;
  }
  p.append(hit.snippet.slice(pos));
  return p;
}

function showFrame(session, frame, caption) {
  const img = $("frame");
  $("detail-head").textContent = caption;
  if (frame === null || frame === undefined) {
    img.hidden = true;
    return;
  }
  img.src = `frame/${encodeURIComponent(session)}/${frame}`;
  img.hidden = false;
}

async function openSession(sid, selectFrame) {
  const steps = $("steps");
  steps.replaceChildren();
  let data;
  try {
    data = await getJSON(`api/steps/${encodeURIComponent(sid)}?limit=500`);
  } catch (e) {
    note(e.message, true);
    return;
  }
  for (const st of data.steps) {
    const li = el("li");
    li.dataset.frame = st.frame ?? "";
    li.append(el("span", `${fmtSecs(st.t_start)}  `, "meta"), el("span", st.action),
              el("div", `${st.window.app || ""} — ${st.window.title || ""}`, "meta"));
    li.addEventListener("click", () => {
      for (const o of steps.children) o.classList.remove("selected");
      li.classList.add("selected");
      showFrame(sid, st.frame, `${sid} · step ${st.index} · ${localTime(st.wall_time)}`);
    });
    steps.append(li);
  }
  if (data.total > data.steps.length) steps.append(el("li", `… ${data.total - data.steps.length} more steps`, "meta"));
  if (selectFrame === undefined) {
    if (steps.children[0]) steps.children[0].click();
    return;
  }
  // a search hit: mark the first step shown on or after the hit's frame
  const at = [...steps.children].find((li) => li.dataset.frame !== "" && Number(li.dataset.frame) >= selectFrame);
  if (at) {
    at.classList.add("selected");
    at.scrollIntoView({ block: "nearest" });
  }
}

function sessionRow(s) {
  const div = el("div", undefined, "session");
  div.dataset.session = s.id;
  const open = el("button", `${s.local_time}  ${s.name || s.id}`);
  open.addEventListener("click", () => openSession(s.id));
  const info = `${Math.round(s.duration_s)} s · ${s.frames} frames · ${s.state}${s.indexed ? "" : " · not indexed"}`
               + (s.study ? ` · study ${s.study}` : "");
  div.append(open, el("span", ` ${info}`, "meta"));
  if (REVIEWABLE.has(s.state)) {
    const a = el("a", "review / export");
    a.href = `review/${encodeURIComponent(s.id)}`;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    div.append(a);
  } else if (s.state !== "recording") {
    div.append(el("span", ` · owntrace redact ${s.id}, then review / export`, "meta"));
  }
  return div;
}

async function loadDays() {
  const data = await getJSON("api/days");
  const days = $("days");
  days.replaceChildren();
  for (const d of data.days) {
    const box = el("section", undefined, "day");
    box.append(el("h2", d.day));
    for (const s of d.sessions) box.append(sessionRow(s));
    days.append(box);
  }
  if (data.not_indexed) note(`${data.not_indexed} session(s) not indexed yet: owntrace index --all`);
}

async function search(ev) {
  ev.preventDefault();
  const params = new URLSearchParams({ q: $("q").value, since: $("since").value, until: $("until").value });
  const results = $("results");
  results.replaceChildren();
  let data;
  try {
    data = await getJSON(`api/search?${params}`);
  } catch (e) {
    note(e.message, true);
    return;
  }
  note(`${data.hits.length} result(s)` + (data.not_indexed ? `; ${data.not_indexed} session(s) not indexed yet` : ""));
  for (const h of data.hits) {
    const li = el("li");
    li.dataset.session = h.session;
    li.append(el("div", `${localTime(h.wall_time)} · ${h.source} · ${h.app} — ${h.title}`, "meta"), snippet(h),
              el("div", `session ${h.session}${h.frame !== null ? " · frame " + h.frame : ""}`, "meta"));
    li.addEventListener("click", async () => {
      await openSession(h.session, h.frame ?? undefined);
      showFrame(h.session, h.frame, `${h.session} · ${localTime(h.wall_time)} · ${h.source}`);
    });
    results.append(li);
  }
}

$("search-form").addEventListener("submit", search);
loadDays().catch((e) => note(e.message, true)).finally(() => { document.body.dataset.ready = "1"; });
