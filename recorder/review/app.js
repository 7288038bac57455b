// OwnTrace review page. Loads steps a page at a time and each frame only when its step is
// shown, so a long session opens at once. Every change is saved (sealed) by the server.
"use strict";

const CSRF = document.querySelector('meta[name="csrf"]').content;
const PAGE = 200;
const $ = (id) => document.getElementById(id);

const state = {
  info: null,
  steps: [],        // loaded so far, in order
  total: null,     // unknown until the first page arrives
  sel: -1,
  decisions: null,
  drawing: false,
  saving: Promise.resolve(),
  loading: null,
};

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin" });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

async function post(url, body) {
  const r = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF },
    body: JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error ? `${data.error}${data.hint ? " (" + data.hint + ")" : ""}` : `HTTP ${r.status}`);
  return data;
}

function say(text, warn = false) {
  const m = $("message");
  m.textContent = text;
  m.className = warn ? "warning" : "";
}

function fmtTime(s) {
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, "0")}`;
}

function describe(a) {
  switch (a.type) {
    case "click": case "double_click": case "right_click":
      return `${a.type.replace("_", " ")} at ${a.x_px},${a.y_px}`;
    case "drag": return `drag ${a.x_px},${a.y_px} → ${a.end_x_px},${a.end_y_px}`;
    case "scroll": return `scroll ${a.dy ? "dy " + a.dy : ""}${a.dx ? " dx " + a.dx : ""} at ${a.x_px},${a.y_px}`;
    case "type": return `type “${a.text}”`;
    case "hotkey": return `hotkey ${a.keys.join("+")}`;
    case "key": return `key ${a.keys[0]}`;
    default: return a.type;
  }
}

function isDeleted(step) {
  const d = state.decisions;
  return d.deleted_steps.includes(step.index) || d.deleted_ranges.some(([a, b]) => a <= step.t_start && step.t_start <= b);
}

function textOf(step) {
  const t = state.decisions.texts[String(step.index)];
  return t === undefined ? step.action.text : t;
}

// ---- saving ----

function save() {
  const snapshot = JSON.parse(JSON.stringify(state.decisions));
  state.saving = state.saving.then(async () => {
    try {
      const info = await post("api/decisions", snapshot);
      state.info = info;
      renderSummary();
    } catch (e) {
      say(`not saved: ${e.message}`, true);
    }
  });
  return state.saving;
}

// ---- the step list ----

function stepItem(step) {
  const li = document.createElement("li");
  li.dataset.index = step.index;
  const t = document.createElement("span");
  t.className = "t";
  t.textContent = fmtTime(step.t_start);
  const d = document.createElement("span");
  d.className = "d";
  d.textContent = describe({ ...step.action, text: textOf(step) });
  li.append(t, d);
  if (step.findings.length || step.withheld || step.flagged.length) {
    const b = document.createElement("span");
    b.className = "badge";
    b.textContent = step.withheld ? "withheld frame" : `${step.findings.length} redaction${step.findings.length === 1 ? "" : "s"}`;
    li.append(b);
  }
  li.addEventListener("click", () => select(step.index));
  return li;
}

function refreshItem(step) {
  const li = document.querySelector(`#steps li[data-index="${step.index}"]`);
  if (!li) return;
  li.classList.toggle("deleted", isDeleted(step));
  li.classList.toggle("sel", step.index === state.sel);
  li.querySelector(".d").textContent = describe({ ...step.action, text: textOf(step) });
}

function refreshList() {
  for (const s of state.steps) refreshItem(s);
}

async function loadMore() {
  if (state.loading) return state.loading;
  if (state.total !== null && state.steps.length >= state.total) return;
  state.loading = (async () => {
    const page = await getJSON(`api/steps?offset=${state.steps.length}&limit=${PAGE}`);
    state.total = page.total;
    const list = $("steps");
    const frag = document.createDocumentFragment();
    for (const s of page.steps) {
      state.steps.push(s);
      frag.append(stepItem(s));
    }
    list.append(frag);
    refreshList();
    $("more").textContent = state.steps.length < state.total
      ? `showing ${state.steps.length} of ${state.total} steps…` : `${state.total} steps`;
  })();
  try { await state.loading; } finally { state.loading = null; }
}

async function select(i) {
  if (i < 0 || (state.total !== null && i >= state.total)) return;
  while (i >= state.steps.length && state.steps.length < state.total) await loadMore();
  if (i >= state.steps.length) return;
  state.sel = i;
  refreshList();
  const li = document.querySelector(`#steps li[data-index="${i}"]`);
  if (li) li.scrollIntoView({ block: "nearest" });
  renderDetail();
}

// ---- the selected step ----

function pct(v, of) { return `${(100 * v) / of}%`; }

function addBox(overlay, size, bbox, cls, label) {
  const [x, y, w, h] = bbox;
  const div = document.createElement("div");
  div.className = `box ${cls}`;
  Object.assign(div.style, { left: pct(x, size[0]), top: pct(y, size[1]), width: pct(w, size[0]), height: pct(h, size[1]) });
  const span = document.createElement("span");
  span.textContent = label;
  div.append(span);
  overlay.append(div);
  return div;
}

function renderDetail() {
  const step = state.steps[state.sel];
  if (!step) return;
  const d = state.decisions;
  $("step-head").textContent = `Step ${step.index + 1} of ${state.total} · ${fmtTime(step.t_start)} · ` +
    `${describe({ ...step.action, text: textOf(step) })} · ${step.window.app} — ${step.window.title}` +
    (isDeleted(step) ? " · DELETED (will not be exported)" : "");
  $("toggle-delete").textContent = d.deleted_steps.includes(step.index) ? "Restore step" : "Delete step";
  const img = $("frame");
  const overlay = $("overlay");
  overlay.replaceChildren();
  const size = step.frame_size;
  if (step.frame !== null) {
    const src = `frame/${step.frame}`;
    if (img.getAttribute("src") !== src) img.src = src;
    img.hidden = false;
    $("frame-note").textContent = `frame ${step.frame} (${size[0]}×${size[1]}), just before the action`;
    for (const f of step.findings) {
      if (!f.bbox) continue;
      const undone = d.undone.includes(f.id);
      addBox(overlay, size, f.bbox, undone ? "undone" : "finding", undone ? `${f.entity} — UNDONE: original pixels will be exported` : f.entity);
    }
    for (const fl of step.flagged) if (fl.bbox) addBox(overlay, size, fl.bbox, "flag", `flagged: ${fl.reason}`);
    d.boxes.forEach((b) => { if (b.frame === step.frame) addBox(overlay, size, b.bbox, "manual", "your box"); });
  } else {
    img.removeAttribute("src");
    img.hidden = true;
    $("frame-note").textContent = step.withheld
      ? "the frame before this step was withheld by the redaction (see withheld items): it will not be exported"
      : "no frame was captured before this step";
  }
  $("draw").disabled = step.frame === null;
  const te = $("text-edit");
  te.hidden = step.action.type !== "type";
  if (!te.hidden) $("typed").value = textOf(step);
  renderRedactions(step);
}

function renderRedactions(step) {
  const d = state.decisions;
  const ul = $("redactions");
  ul.replaceChildren();
  const item = (text, button) => {
    const li = document.createElement("li");
    li.append(document.createTextNode(text + " "));
    if (button) li.append(button);
    ul.append(li);
  };
  for (const f of step.findings) {
    const undone = d.undone.includes(f.id);
    const b = document.createElement("button");
    b.className = undone ? "" : "warn";
    b.dataset.finding = f.id;
    b.textContent = undone ? "Redact again" : "Undo this redaction…";
    b.addEventListener("click", () => toggleUndo(f));
    const where = f.bbox ? `box ${f.bbox.join(",")}` : f.span ? `characters ${f.span[0]}–${f.span[1]}` : "";
    const by = f.detector ? `, found by ${f.detector}` : "";
    item(`${f.entity} in ${f.source} ${where} (score ${f.score ?? "?"}${by})${undone ? " — UNDONE" : ""}`, b);
    const same = f.group === undefined ? [] : (state.info.groups[String(f.group)] || []);
    if (same.length > 1 && !same.every((id) => d.undone.includes(id))) {
      const k = document.createElement("button");
      k.className = "warn";
      k.dataset.keep = f.id;
      k.textContent = `Not ${f.entity}: keep it everywhere (${same.length} places)…`;
      k.addEventListener("click", () => keepEverywhere(f, same));
      ul.lastChild.append(" ", k);
    }
  }
  d.boxes.forEach((box, k) => {
    if (box.frame !== step.frame) return;
    const b = document.createElement("button");
    b.textContent = "Remove box";
    b.addEventListener("click", () => { d.boxes.splice(k, 1); save(); renderDetail(); });
    item(`your box ${box.bbox.join(",")}`, b);
  });
  for (const fl of step.flagged) item(`flagged: ${fl.reason}`);
  if (!ul.children.length) item("none");
}

function toggleUndo(f) {
  const d = state.decisions;
  if (d.undone.includes(f.id)) {
    d.undone = d.undone.filter((x) => x !== f.id);
  } else {
    const what = f.source === "screen" ? "the original pixels inside this box" : "the original text";
    if (!window.confirm(`Undo the ${f.entity} redaction? ${what} will be exported as recorded. Only do this if the redaction is wrong.`)) return;
    d.undone = [...d.undone, f.id].sort((a, b) => a - b);
    say(`Warning: the ${f.entity} redaction is undone; ${what} will leave with the export.`, true);
  }
  save();
  renderDetail();
}

function keepEverywhere(f, ids) {
  // one decision for a false positive the detectors made all over the session ("Will" is no name)
  if (!window.confirm(`Keep this ${f.entity} unredacted in all ${ids.length} places of the session? ` +
                      "The original pixels and text there will be exported as recorded.")) return;
  const d = state.decisions;
  d.undone = [...new Set([...d.undone, ...ids])].sort((a, b) => a - b);
  say(`Warning: ${ids.length} ${f.entity} redactions of the same value are undone; they will leave with the export.`, true);
  save();
  renderDetail();
}

function toggleDelete() {
  const step = state.steps[state.sel];
  if (!step) return;
  const d = state.decisions;
  d.deleted_steps = d.deleted_steps.includes(step.index)
    ? d.deleted_steps.filter((x) => x !== step.index)
    : [...d.deleted_steps, step.index].sort((a, b) => a - b);
  save();
  refreshList();
  renderDetail();
}

// ---- drawing boxes on the frame ----

function framePoint(ev, step) {
  const r = $("frame").getBoundingClientRect();
  const [w, h] = step.frame_size;
  const x = Math.round(((ev.clientX - r.left) / r.width) * w);
  const y = Math.round(((ev.clientY - r.top) / r.height) * h);
  return [Math.max(0, Math.min(w, x)), Math.max(0, Math.min(h, y))];
}

function setDrawing(on) {
  state.drawing = on;
  $("frame-wrap").classList.toggle("drawing", on);
  $("draw").textContent = on ? "Drag on the frame… (Esc cancels)" : "Draw a redaction box";
}

function initDrawing() {
  const overlay = $("overlay");
  let start = null, draft = null;
  overlay.addEventListener("mousedown", (ev) => {
    const step = state.steps[state.sel];
    if (!state.drawing || !step || step.frame === null) return;
    ev.preventDefault();
    start = framePoint(ev, step);
    draft = addBox(overlay, step.frame_size, [...start, 0, 0], "draft", "new box");
  });
  overlay.addEventListener("mousemove", (ev) => {
    if (!start) return;
    const step = state.steps[state.sel];
    const p = framePoint(ev, step);
    const [w, h] = step.frame_size;
    Object.assign(draft.style, {
      left: pct(Math.min(start[0], p[0]), w), top: pct(Math.min(start[1], p[1]), h),
      width: pct(Math.abs(p[0] - start[0]), w), height: pct(Math.abs(p[1] - start[1]), h),
    });
  });
  window.addEventListener("mouseup", (ev) => {
    if (!start) return;
    const step = state.steps[state.sel];
    const p = framePoint(ev, step);
    const bbox = [Math.min(start[0], p[0]), Math.min(start[1], p[1]), Math.abs(p[0] - start[0]), Math.abs(p[1] - start[1])];
    start = null;
    setDrawing(false);
    if (bbox[2] >= 2 && bbox[3] >= 2) {
      state.decisions.boxes.push({ frame: step.frame, bbox });
      save();
      say(`box added on frame ${step.frame}: it will be filled black in the export`);
    }
    renderDetail();
  });
}

// ---- header, summary, withheld ----

function renderSummary() {
  const s = state.info.summary;
  const counts = Object.entries(s.counts).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
  $("summary").textContent = `${s.steps} steps to export (${s.steps_removed} removed), ${s.frames} frames · ` +
    `redactions: ${counts} · your boxes: ${s.manual_redactions} · undone: ${s.undone_redactions.length}` +
    (state.info.approved ? " · APPROVED" : "");
}

function renderWithheld() {
  const ul = $("withheld");
  ul.replaceChildren();
  const items = [
    ...state.info.withheld.map((w) => `withheld ${w.item}: ${w.reason}`),
    ...state.info.flagged.map((f) => `flagged ${f.item}: ${f.reason}`),
  ];
  $("withheld-count").textContent = items.length;
  for (const t of items) {
    const li = document.createElement("li");
    li.textContent = t;
    ul.append(li);
  }
}

function renderRanges() {
  const ul = $("ranges");
  ul.replaceChildren();
  state.decisions.deleted_ranges.forEach(([a, b], k) => {
    const li = document.createElement("li");
    li.textContent = `${fmtTime(a)} – ${fmtTime(b)} `;
    const btn = document.createElement("button");
    btn.textContent = "Restore";
    btn.addEventListener("click", () => { state.decisions.deleted_ranges.splice(k, 1); save(); renderRanges(); refreshList(); renderDetail(); });
    li.append(btn);
    ul.append(li);
  });
}

async function finish(url, body, text) {
  try {
    await state.saving;
    await post(url, body);
    $("done-text").textContent = text;
    $("done").hidden = false;
  } catch (e) {
    say(e.message, true);
  }
}

function initControls() {
  $("task").addEventListener("input", () => { state.decisions.task = $("task").value; });
  $("task").addEventListener("change", save);
  document.querySelectorAll('input[name="outcome"]').forEach((r) => r.addEventListener("change", () => {
    state.decisions.outcome = r.value;
    save();
  }));
  $("typed").addEventListener("input", () => {
    const step = state.steps[state.sel];
    state.decisions.texts[String(step.index)] = $("typed").value;
    refreshItem(step);
  });
  $("typed").addEventListener("change", save);
  $("toggle-delete").addEventListener("click", toggleDelete);
  $("draw").addEventListener("click", () => setDrawing(!state.drawing));
  $("range-delete").addEventListener("click", () => {
    const a = parseFloat($("range-from").value), b = parseFloat($("range-to").value);
    if (!(a <= b)) { say("a time range needs from ≤ to, in seconds", true); return; }
    state.decisions.deleted_ranges.push([a, b]);
    save();
    renderRanges();
    refreshList();
    renderDetail();
  });
  $("approve").addEventListener("click", () => {
    const s = state.info.summary;
    if (!window.confirm(`Approve ${s.steps} steps and ${s.frames} redacted frames for export?`)) return;
    finish("api/approve", state.decisions, "Approved. Export it with `owntrace export`. You can close this tab.");
  });
  $("close").addEventListener("click", () => finish("api/close", {}, "Review closed without approving. You can close this tab."));
  document.addEventListener("keydown", (ev) => {
    if (ev.target.matches("input, textarea")) return;
    if (ev.key === "j" || ev.key === "ArrowDown") { ev.preventDefault(); select(state.sel + 1); }
    else if (ev.key === "k" || ev.key === "ArrowUp") { ev.preventDefault(); select(state.sel - 1); }
    else if (ev.key === "d" || ev.key === "Delete") { toggleDelete(); }
    else if (ev.key === "b") { setDrawing(!state.drawing); }
    else if (ev.key === "Escape") { setDrawing(false); }
  });
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  }).observe($("more"));
}

async function main() {
  state.info = await getJSON("api/session");
  state.decisions = state.info.decisions;
  $("session-id").textContent = state.info.session;
  $("task").value = state.decisions.task ?? state.info.task;
  state.decisions.outcome ??= "success";  // the default the person sees checked, sent with the approval
  document.querySelector(`input[name="outcome"][value="${state.decisions.outcome}"]`).checked = true;
  renderSummary();
  renderWithheld();
  renderRanges();
  initControls();
  initDrawing();
  await loadMore();
  if (state.steps.length) await select(0);
  document.body.dataset.ready = "1";
}

main().catch((e) => say(`could not load the review: ${e.message}`, true));
