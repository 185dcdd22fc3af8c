"use strict";
(function () {
  const data = JSON.parse(document.getElementById("dqm-data").textContent);
  const PAGE = 100;
  const F = data.findings, cols = F.columns, idx = Object.fromEntries(cols.map((c, i) => [c, i]));
  const state = { page: 0, code: null };
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; };

  function fillSelect(id, column) {
    const sel = $(id); if (!sel) return;
    const values = [...new Set(F.rows.map((r) => r[idx[column]]).filter((v) => v !== ""))].sort();
    for (const v of values) { const o = el("option", v); o.value = v; sel.appendChild(o); }
  }
  ["severity", "institution", "class", "aspect"].forEach((c) => fillSelect("f-" + c, c));

  function codeButtons() {
    const counts = {};
    for (const r of F.rows) counts[r[idx.code]] = (counts[r[idx.code]] || 0) + 1;
    const box = $("codes");
    for (const [code, n] of Object.entries(counts).sort((a, b) => b[1] - a[1])) {
      const b = el("button", code + " " + n); b.type = "button"; b.dataset.code = code; b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", () => { state.code = state.code === code ? null : code; state.page = 0;
        box.querySelectorAll("button").forEach((x) => x.setAttribute("aria-pressed", String(x.dataset.code === state.code))); render(); });
      box.appendChild(b);
    }
  }

  function filtered() {
    const sev = $("f-severity").value, inst = $("f-institution").value, cls = $("f-class").value, asp = $("f-aspect").value;
    const q = $("f-search").value.trim().toLowerCase();
    return F.rows.filter((r) => (!sev || r[idx.severity] === sev) && (!inst || r[idx.institution] === inst) &&
      (!cls || r[idx.class] === cls) && (!asp || r[idx.aspect] === asp) && (!state.code || r[idx.code] === state.code) &&
      (!q || r.some((v) => String(v).toLowerCase().includes(q))));
  }

  function render() {
    const rows = filtered();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const body = $("findings-body"); body.replaceChildren();
    for (const r of rows.slice(state.page * PAGE, (state.page + 1) * PAGE)) {
      const tr = el("tr");
      const id = el("td"); const a = el("a", r[idx.item_id]); a.href = "#item-" + encodeURIComponent(r[idx.item_id]); id.appendChild(a); tr.appendChild(id);
      tr.appendChild(el("td", r[idx.severity], "sev-" + r[idx.severity]));
      tr.appendChild(el("td", r[idx.code]));
      tr.appendChild(el("td", r[idx.message]));
      tr.appendChild(el("td", r[idx.where]));
      body.appendChild(tr);
    }
    $("shown").textContent = rows.length + " of " + F.rows.length + " findings, page " + (state.page + 1) + " of " + pages;
    $("prev").disabled = state.page === 0; $("next").disabled = state.page >= pages - 1;
  }

  function renderItems() {
    const I = data.items, body = $("items-body");
    const ii = Object.fromEntries(I.columns.map((c, i) => [c, i]));
    const frag = document.createDocumentFragment();
    for (const r of I.rows) {
      const tr = el("tr"); tr.id = "item-" + encodeURIComponent(r[ii.slide_id]);
      for (const c of ["slide_id", "institution", "diagnosis", "n_lesions", "errors", "warnings"]) tr.appendChild(el("td", r[ii[c]], typeof r[ii[c]] === "number" ? "num" : ""));
      frag.appendChild(tr);
    }
    body.appendChild(frag);
  }

  ["f-severity", "f-institution", "f-class", "f-aspect"].forEach((id) => $(id).addEventListener("change", () => { state.page = 0; render(); }));
  $("f-search").addEventListener("input", () => { state.page = 0; render(); });
  $("prev").addEventListener("click", () => { state.page -= 1; render(); });
  $("next").addEventListener("click", () => { state.page += 1; render(); });
  codeButtons(); render(); renderItems();
  if (location.hash) { const t = document.getElementById(location.hash.slice(1)); if (t) t.scrollIntoView(); }
})();
