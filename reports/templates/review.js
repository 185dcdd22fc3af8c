"use strict";
(function () {
  const S = JSON.parse(document.getElementById("sheet-data").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const BASE = "dqm-review:" + S.plan_id;
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; };
  const svgEl = (tag, attrs) => { const e = document.createElementNS(SVG, tag); for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v)); return e; };
  const COLOUR = /^#[0-9a-fA-F]{6}$/;
  const colour = (c) => (COLOUR.test(c) ? c : "#888888");
  const vkey = (id) => "slide:" + id; // a prefix, so that a slide called "__proto__" is just a key

  // Progress is kept per plan and per reviewer, so two reviewers sharing a computer never see
  // each other's verdicts: "change" switches to the other reviewer's own progress.
  function read(key) { try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; } }
  function write(key, value) { try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* storage full or disabled: keep going in memory */ } }
  function stateFor(name) {
    const s = name ? read(BASE + ":reviewer:" + name) : null;
    const ok = s && typeof s === "object" && s.verdicts && typeof s.verdicts === "object";
    const current = ok ? Math.min(Math.max(0, s.current | 0), Math.max(0, S.slides.length - 1)) : 0;
    return { reviewer: name || "", verdicts: ok ? s.verdicts : {}, current: current };
  }
  const last = read(BASE + ":current");
  let state = stateFor(typeof last === "string" ? last : "");
  function save() { if (state.reviewer) write(BASE + ":reviewer:" + state.reviewer, state); }

  // ---- reviewer name, asked once
  function askName() {
    $("name-input").value = state.reviewer || "";
    $("name-dialog").hidden = false;
    $("name-input").focus();
  }
  $("name-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = $("name-input").value.trim();
    if (!name) { $("name-input").focus(); return; }
    if (name !== state.reviewer) { save(); state = stateFor(name); write(BASE + ":current", name); save(); }
    $("name-dialog").hidden = true; showName(); show(state.current);
  });
  $("change-name").addEventListener("click", askName);
  function showName() { $("reviewer-name").textContent = state.reviewer || "–"; }

  // ---- slide list and progress
  const list = $("slide-list");
  const items = S.slides.map((s, i) => {
    const li = el("li"); const b = el("button", s.id); b.type = "button"; b.title = s.id;
    b.addEventListener("click", () => show(i)); li.appendChild(b); list.appendChild(li); return b;
  });
  function status(i) { const v = state.verdicts[vkey(S.slides[i].id)]; return v && v.verdict ? v.verdict : "todo"; }
  function refreshList() {
    let done = 0;
    items.forEach((b, i) => { const st = status(i); if (st !== "todo") done++; b.className = "st-" + st + (i === state.current ? " current" : ""); });
    $("progress").value = done; $("progress-text").textContent = done + " / " + S.slides.length;
  }

  // ---- reasons
  const reasonBoxes = S.reasons.map((r, i) => {
    const lab = el("label"); const cb = el("input"); cb.type = "checkbox"; cb.value = r.id; cb.id = "reason-" + r.id;
    cb.addEventListener("change", () => toggleReason(r.id, cb.checked));
    lab.appendChild(cb); lab.appendChild(document.createTextNode(" " + (i + 1) + " · " + r.label)); $("reasons").appendChild(lab);
    return cb;
  });

  function current() { return S.slides[state.current]; }
  function record() {
    const id = current().id;
    if (!state.verdicts[vkey(id)]) state.verdicts[vkey(id)] = { verdict: "", reasons: [], comment: "", reviewed_at: "" };
    return state.verdicts[vkey(id)];
  }
  function stamp(v) { v.reviewed_at = new Date().toISOString(); }
  function setVerdict(verdict) {
    if (!state.reviewer) { askName(); return; }
    const v = record(); v.verdict = verdict; if (verdict === "pass") v.reasons = []; stamp(v); save(); paintVerdict(); refreshList();
  }
  function toggleReason(id, on) {
    if (!state.reviewer) { askName(); paintVerdict(); return; }
    const v = record();
    const set = new Set(v.reasons); if (on) set.add(id); else set.delete(id);
    v.reasons = S.reasons.map((r) => r.id).filter((r) => set.has(r));
    if (v.reasons.length) v.verdict = "fail";
    stamp(v); save(); paintVerdict(); refreshList();
  }
  function paintVerdict() {
    const v = state.verdicts[vkey(current().id)] || { verdict: "", reasons: [], comment: "" };
    $("btn-pass").setAttribute("aria-pressed", String(v.verdict === "pass"));
    $("btn-fail").setAttribute("aria-pressed", String(v.verdict === "fail"));
    reasonBoxes.forEach((cb) => { cb.checked = v.reasons.includes(cb.value); });
    $("comment").value = v.comment || "";
  }
  $("btn-pass").addEventListener("click", () => setVerdict("pass"));
  $("btn-fail").addEventListener("click", () => setVerdict("fail"));
  $("comment").addEventListener("input", () => { if (!state.reviewer) return; const v = record(); v.comment = $("comment").value; save(); });

  // ---- viewer: thumbnail + outlines, zoom by viewBox (no inline styles: the CSP forbids them)
  const canvas = $("canvas");
  let vb = null, full = null;
  function setViewBox() { canvas.setAttribute("viewBox", vb.x + " " + vb.y + " " + vb.w + " " + vb.h); }
  function fit() { if (full) { vb = Object.assign({}, full); setViewBox(); } }
  function zoom(factor, cx, cy) {
    if (!vb) return;
    const w = Math.min(full.w * 4, Math.max(full.w / 16, vb.w / factor)), h = vb.h * (w / vb.w);
    const px = cx === undefined ? vb.x + vb.w / 2 : cx, py = cy === undefined ? vb.y + vb.h / 2 : cy;
    vb = { x: px - (px - vb.x) * (w / vb.w), y: py - (py - vb.y) * (h / vb.h), w: w, h: h }; setViewBox();
  }
  function svgPoint(ev) { const m = canvas.getScreenCTM(); if (!m) return null; const p = canvas.createSVGPoint(); p.x = ev.clientX; p.y = ev.clientY; return p.matrixTransform(m.inverse()); }
  canvas.addEventListener("wheel", (ev) => { ev.preventDefault(); const p = svgPoint(ev); zoom(ev.deltaY < 0 ? 1.25 : 0.8, p && p.x, p && p.y); }, { passive: false });
  let drag = null;
  canvas.addEventListener("pointerdown", (ev) => {
    const m = canvas.getScreenCTM(); if (!vb || !m) return;
    drag = { x: ev.clientX, y: ev.clientY, vb: Object.assign({}, vb), a: m.a, d: m.d };
    canvas.classList.add("dragging"); canvas.setPointerCapture(ev.pointerId);
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    vb.x = drag.vb.x - (ev.clientX - drag.x) / drag.a; vb.y = drag.vb.y - (ev.clientY - drag.y) / drag.d; setViewBox();
  });
  const endDrag = () => { drag = null; canvas.classList.remove("dragging"); };
  canvas.addEventListener("pointerup", endDrag); canvas.addEventListener("pointercancel", endDrag);
  $("zoom-in").addEventListener("click", () => zoom(1.25)); $("zoom-out").addEventListener("click", () => zoom(0.8)); $("zoom-reset").addEventListener("click", fit);
  $("show-outlines").addEventListener("change", () => canvas.classList.toggle("no-outlines", !$("show-outlines").checked));

  function draw(s) {
    canvas.replaceChildren();
    full = vb = null;
    const err = $("image-error"); err.hidden = !s.image_error; err.textContent = s.image_error || "";
    if (!s.width || !s.height) { canvas.removeAttribute("viewBox"); return; }
    full = { x: 0, y: 0, w: s.width, h: s.height }; fit();
    if (s.image) canvas.appendChild(svgEl("image", { href: s.image, x: 0, y: 0, width: s.width, height: s.height }));
    const g = svgEl("g");
    for (const sh of s.shapes) {
      const p = svgEl("path", { d: sh.d, stroke: colour(sh.colour), fill: colour(sh.colour), class: "outline" });
      const t = svgEl("title"); t.textContent = sh.name; p.appendChild(t); g.appendChild(p);
    }
    canvas.appendChild(g);
  }

  function show(i) {
    if (!S.slides.length) return;
    state.current = Math.min(Math.max(0, i), S.slides.length - 1); save();
    const s = current();
    $("slide-title").textContent = (state.current + 1) + " / " + S.slides.length + " · " + s.id;
    draw(s);
    const legend = $("classes"); legend.replaceChildren();
    const words = S.words || {}, fields = S.fields || {};
    if (!s.classes.length) legend.appendChild(el("li", words.no_lesion || "no lesion annotated"));
    for (const c of s.classes) {
      const li = el("li"); const sw = svgEl("svg", { width: 14, height: 14, viewBox: "0 0 14 14", "aria-hidden": "true" });
      sw.appendChild(svgEl("rect", { x: 1, y: 1, width: 12, height: 12, fill: colour(c.colour), stroke: "#333" }));
      li.appendChild(sw); li.appendChild(document.createTextNode(c.name + " × " + c.count)); legend.appendChild(li);
    }
    const facts = $("facts"); facts.replaceChildren();
    const rows = [[words.diagnosis || "diagnosis", s.diagnosis], [words.institution || "institution", s.institution]].concat(Object.entries(s.clinical).filter(([k]) => k !== "diagnosis" && k !== "institution").map(([k, v]) => [fields[k] || k, v]));
    for (const [k, v] of rows) { if (v === "" || v === null || v === undefined) continue; facts.appendChild(el("dt", k)); facts.appendChild(el("dd", v)); }
    paintVerdict(); refreshList();
    const b = items[state.current]; if (b && b.scrollIntoView) b.scrollIntoView({ block: "nearest" });
  }
  $("prev").addEventListener("click", () => show(state.current - 1));
  $("next").addEventListener("click", () => show(state.current + 1));

  // ---- export
  function rows() {
    return S.slides.filter((s) => state.verdicts[vkey(s.id)] && state.verdicts[vkey(s.id)].verdict).map((s) => {
      const v = state.verdicts[vkey(s.id)];
      return { slide_id: s.id, reviewer: state.reviewer, verdict: v.verdict, reason: v.reasons.join(";"), comment: v.comment || "", reviewed_at: v.reviewed_at || "" };
    });
  }
  function download(text, type, ext) {
    const safe = (state.reviewer || "reviewer").replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 40);
    const a = el("a"); a.download = "verdicts-" + safe + "-" + S.plan_id.slice(0, 8) + "." + ext;
    a.href = URL.createObjectURL(new Blob([text], { type: type }));
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }
  function exportJson() {
    if (!state.reviewer) { askName(); return; }
    const doc = { format: S.verdicts_format, plan_id: S.plan_id, reviewer: state.reviewer, exported_at: new Date().toISOString(), verdicts: rows() };
    download(JSON.stringify(doc, null, 2) + "\n", "application/json", "json");
  }
  // A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR; OWASP) is stored as text: a leading '.
  function spreadsheetSafe(s) { return /^[=+\-@\t\r]/.test(s) && !/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s) ? "'" + s : s; }
  function csvCell(v) { const s = spreadsheetSafe(String(v)); return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; }
  function exportCsv() {
    if (!state.reviewer) { askName(); return; }
    const cols = ["slide_id", "reviewer", "verdict", "reason", "comment", "reviewed_at", "plan_id"];
    const lines = [cols.join(",")].concat(rows().map((r) => cols.map((c) => csvCell(c === "plan_id" ? S.plan_id : r[c])).join(",")));
    download(lines.join("\r\n") + "\r\n", "text/csv", "csv");
  }
  $("export-json").addEventListener("click", exportJson);
  $("export-csv").addEventListener("click", exportCsv);

  // ---- keyboard
  document.addEventListener("keydown", (ev) => {
    if (!$("name-dialog").hidden || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    if (t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT" && t.type !== "checkbox")) { if (ev.key === "Escape") t.blur(); return; }
    const k = ev.key;
    const n = Number(k);
    if (k === "p" || k === "P") setVerdict("pass");
    else if (k === "f" || k === "F") setVerdict("fail");
    else if (Number.isInteger(n) && n >= 1 && n <= reasonBoxes.length) { const cb = reasonBoxes[n - 1]; cb.checked = !cb.checked; toggleReason(cb.value, cb.checked); }
    else if (k === "j" || k === "J" || k === "ArrowRight") show(state.current + 1);
    else if (k === "k" || k === "K" || k === "ArrowLeft") show(state.current - 1);
    else if (k === "c" || k === "C") $("comment").focus();
    else if (k === "+" || k === "=") zoom(1.25);
    else if (k === "-" || k === "_") zoom(0.8);
    else if (k === "0") fit();
    else if (k === "o" || k === "O") { const c = $("show-outlines"); c.checked = !c.checked; c.dispatchEvent(new Event("change")); }
    else if (k === "e" || k === "E") exportJson();
    else return;
    ev.preventDefault();
  });

  showName();
  show(state.current);
  if (!state.reviewer) askName();
})();
