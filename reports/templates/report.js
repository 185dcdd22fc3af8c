"use strict";
/* dqm report: findings and slides explorers. The data island is base64 of gzip of JSON; every
   value from the batch is inserted with textContent, never parsed as HTML. */
(function () {
  const timing = (window.dqmTiming = { scriptStart: performance.now() });
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  };
  const fmtN = (n) => n.toLocaleString("en");
  /* a translated template's {name} placeholders filled from params (the words travel in the data) */
  const fill = (template, params) => template.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  const status = $("findings-status");

  async function unpack(b64) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }

  function debounce(fn, ms) {
    let t = 0;
    return () => { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  function start(data) {
    timing.decoded = performance.now();
    const S = data.strings;
    const W = data.words || {};
    const say = (key, english, params) => fill(W[key] || english, params);
    /* a severity or aspect value as shown (translated); filters and classes keep the value */
    const L = data.labels || {};
    const label = (i) => L[S[i]] || S[i];
    const cols = (c) => Object.fromEntries(c.map((name, i) => [name, i]));
    const FR = data.findings.rows, FC = cols(data.findings.columns);
    const IR = data.items.rows, IC = cols(data.items.columns);
    const n = FR.length;
    const itemOf = new Map();
    IR.forEach((r, i) => itemOf.set(r[IC.slide_id], i));
    const fItem = new Int32Array(n), fInst = new Int32Array(n), fCls = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const it = itemOf.get(FR[i][FC.item]);
      fItem[i] = it === undefined ? -1 : it;
      fInst[i] = it === undefined ? 0 : IR[it][IC.institution];
      fCls[i] = it === undefined ? 0 : IR[it][IC.diagnosis];
    }
    let lower = null;
    const matching = (q) => {
      if (!q) return null;
      lower = lower || S.map((s) => s.toLowerCase());
      const m = new Uint8Array(S.length);
      for (let i = 0; i < lower.length; i++) if (lower[i].includes(q)) m[i] = 1;
      return m;
    };
    const indexOf = new Map(S.map((s, i) => [s, i]));

    /* ---------------- findings ---------------- */
    const PAGE = 100;
    const f = { page: 0, code: 0, severity: 0, aspect: 0, institution: 0, cls: 0, file: null, search: null };
    const selects = { code: "f-code", severity: "f-severity", aspect: "f-aspect", institution: "f-institution", cls: "f-class" };

    function fillSelect(id, values, show = (v) => S[v]) {
      const sel = $(id);
      for (const v of values) { const o = el("option", show(v)); o.value = String(v); sel.appendChild(o); }
    }
    const distinct = (get) => { const s = new Set(); for (let i = 0; i < n; i++) { const v = get(i); if (v) s.add(v); } return [...s]; };
    const byText = (a, b) => (S[a] < S[b] ? -1 : S[a] > S[b] ? 1 : 0);
    const sevOrder = { error: 0, warning: 1, info: 2 };
    fillSelect("f-code", distinct((i) => FR[i][FC.code]).sort(byText));
    fillSelect("f-severity", distinct((i) => FR[i][FC.severity]).sort((a, b) => (sevOrder[S[a]] ?? 9) - (sevOrder[S[b]] ?? 9)), label);
    fillSelect("f-aspect", distinct((i) => FR[i][FC.aspect]).sort(byText), label);
    fillSelect("f-institution", distinct((i) => fInst[i]).sort(byText));
    fillSelect("f-class", distinct((i) => fCls[i]).sort(byText));

    const totals = new Map();
    for (let i = 0; i < n; i++) { const c = FR[i][FC.code]; totals.set(c, (totals.get(c) || 0) + 1); }
    const chips = new Map();
    const chipBox = $("code-chips");
    for (const [code] of [...totals.entries()].sort((a, b) => b[1] - a[1] || byText(a[0], b[0]))) {
      const b = el("button", S[code], "chip");
      b.type = "button"; b.dataset.code = String(code); b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", () => setCode(f.code === code ? 0 : code));
      chipBox.appendChild(b); chips.set(code, b);
    }

    function setCode(code) {
      f.code = code; f.page = 0; $("f-code").value = code ? String(code) : "";
      renderFindings();
    }

    function passes(i) {
      const r = FR[i];
      if (f.severity && r[FC.severity] !== f.severity) return false;
      if (f.aspect && r[FC.aspect] !== f.aspect) return false;
      if (f.institution && fInst[i] !== f.institution) return false;
      if (f.cls && fCls[i] !== f.cls) return false;
      if (f.file && !f.file[r[FC.file]]) return false;
      const m = f.search;
      if (m && !(m[r[FC.item]] || m[r[FC.message]] || m[r[FC.where]] || m[r[FC.file]] || m[r[FC.code]] ||
                 m[r[FC.check]] || m[fInst[i]] || m[fCls[i]])) return false;
      return true;
    }

    function renderFindings() {
      const t = performance.now();
      const shown = [];
      const perCode = new Map();
      for (let i = 0; i < n; i++) {
        if (!passes(i)) continue;
        const c = FR[i][FC.code];
        perCode.set(c, (perCode.get(c) || 0) + 1);
        if (!f.code || c === f.code) shown.push(i);
      }
      for (const [code, b] of chips) {
        const k = perCode.get(code) || 0;
        b.textContent = S[code] + " " + fmtN(k);
        b.setAttribute("aria-pressed", String(code === f.code));
        b.disabled = k === 0 && code !== f.code;
      }
      const pages = Math.max(1, Math.ceil(shown.length / PAGE));
      f.page = Math.min(Math.max(f.page, 0), pages - 1);
      const frag = document.createDocumentFragment();
      for (const i of shown.slice(f.page * PAGE, (f.page + 1) * PAGE)) {
        const r = FR[i];
        const tr = el("tr");
        const td = el("td");
        if (fItem[i] >= 0) {
          const a = el("a", S[r[FC.item]], "item-link");
          a.href = "#item-" + fItem[i];  // a row number: a link carries no slide name
          td.appendChild(a);
        } else td.textContent = S[r[FC.item]];
        tr.appendChild(td);
        tr.appendChild(el("td", label(r[FC.severity]), "sev-" + S[r[FC.severity]]));
        tr.appendChild(el("td", S[r[FC.code]], "code"));
        tr.appendChild(el("td", S[r[FC.message]]));
        tr.appendChild(el("td", S[r[FC.file]], "path"));
        tr.appendChild(el("td", S[r[FC.where]], "path"));
        frag.appendChild(tr);
      }
      $("findings-body").replaceChildren(frag);
      const first = shown.length ? f.page * PAGE + 1 : 0, last = Math.min((f.page + 1) * PAGE, shown.length);
      $("shown").textContent = say("shown", "{first}–{last} of {total} findings", { first: fmtN(first), last: fmtN(last), total: fmtN(shown.length) }) +
        (shown.length !== n ? say("filtered", " (filtered from {n})", { n: fmtN(n) }) : "") + say("page", ", page {page} of {pages}", { page: f.page + 1, pages });
      $("prev").disabled = f.page === 0; $("next").disabled = f.page >= pages - 1;
      timing.lastFilterMs = performance.now() - t;
    }

    for (const [key, id] of Object.entries(selects)) {
      $(id).addEventListener("change", (e) => {
        const v = Number(e.target.value || 0);
        if (key === "code") setCode(v); else { f[key] = v; f.page = 0; renderFindings(); }
      });
    }
    // The text each box's filter was made from: a late debounced call (after "change" or the reset
    // button already applied it) finds nothing new and leaves the page alone.
    const typed = { search: "", file: "" };
    const onText = (key, id) => () => {
      const text = $(id).value.trim().toLowerCase();
      if (text === typed[key]) return;
      typed[key] = text; f[key] = matching(text); f.page = 0; renderFindings();
    };
    const onSearch = onText("search", "f-search"), onFile = onText("file", "f-file");
    $("f-search").addEventListener("input", debounce(onSearch, 150));
    $("f-file").addEventListener("input", debounce(onFile, 150));
    $("f-search").addEventListener("change", onSearch);
    $("f-file").addEventListener("change", onFile);
    $("prev").addEventListener("click", () => { f.page -= 1; renderFindings(); });
    $("next").addEventListener("click", () => { f.page += 1; renderFindings(); });
    $("f-reset").addEventListener("click", () => {
      Object.assign(f, { page: 0, code: 0, severity: 0, aspect: 0, institution: 0, cls: 0, file: null, search: null });
      for (const id of Object.values(selects)) $(id).value = "";
      $("f-search").value = ""; $("f-file").value = ""; typed.search = ""; typed.file = "";
      renderFindings();
    });
    document.querySelectorAll("a.code-link").forEach((a) => a.addEventListener("click", () => {
      const code = indexOf.get(a.dataset.code);
      if (code !== undefined) setCode(code);
    }));

    /* ---------------- slides ---------------- */
    const IPAGE = 50;
    const it = { page: 0, search: null, flagged: false };
    let itemTyped = "";  // the text it.search was made from (as typed.search above)
    const itemText = [IC.slide_id, IC.institution, IC.diagnosis, IC.clinical, IC.lesions, IC.image_path, IC.annotation_path];
    function itemPasses(r) {
      if (it.flagged && !(r[IC.errors] || r[IC.warnings])) return false;
      const m = it.search;
      return !m || itemText.some((c) => m[r[c]]);
    }
    function itemsShown() { const out = []; for (let i = 0; i < IR.length; i++) if (itemPasses(IR[i])) out.push(i); return out; }
    function renderItems(highlight) {
      const shown = itemsShown();
      const pages = Math.max(1, Math.ceil(shown.length / IPAGE));
      it.page = Math.min(Math.max(it.page, 0), pages - 1);
      const frag = document.createDocumentFragment();
      let target = null;
      for (const i of shown.slice(it.page * IPAGE, (it.page + 1) * IPAGE)) {
        const r = IR[i];
        const tr = el("tr");
        tr.id = "item-" + i;
        tr.appendChild(el("td", S[r[IC.slide_id]]));
        tr.appendChild(el("td", S[r[IC.institution]]));
        tr.appendChild(el("td", S[r[IC.diagnosis]]));
        tr.appendChild(el("td", r[IC.n_lesions], "num"));
        tr.appendChild(el("td", r[IC.errors], r[IC.errors] ? "num sev-error" : "num"));
        tr.appendChild(el("td", r[IC.warnings], r[IC.warnings] ? "num sev-warning" : "num"));
        tr.appendChild(el("td", S[r[IC.lesions]]));
        tr.appendChild(el("td", S[r[IC.clinical]], "clinical"));
        if (i === highlight) { tr.classList.add("target"); target = tr; }
        frag.appendChild(tr);
      }
      $("items-body").replaceChildren(frag);
      $("i-shown").textContent = say("slides_page", "{n} slides, page {page} of {pages}", { n: fmtN(shown.length), page: it.page + 1, pages });
      $("i-prev").disabled = it.page === 0; $("i-next").disabled = it.page >= pages - 1;
      return { shown, target };
    }
    function showItem(i) {
      if (!itemPasses(IR[i])) { it.search = null; it.flagged = false; $("i-search").value = ""; itemTyped = ""; $("i-flagged").checked = false; }
      const pos = itemsShown().indexOf(i);
      it.page = Math.floor(pos / IPAGE);
      const { target } = renderItems(i);
      if (target) target.scrollIntoView({ block: "center" });
    }
    const onItemSearch = () => {
      const text = $("i-search").value.trim().toLowerCase();
      if (text === itemTyped) return;
      itemTyped = text; it.search = matching(text); it.page = 0; renderItems();
    };
    $("i-search").addEventListener("input", debounce(onItemSearch, 150));
    $("i-search").addEventListener("change", onItemSearch);
    $("i-flagged").addEventListener("change", (e) => { it.flagged = e.target.checked; it.page = 0; renderItems(); });
    $("i-prev").addEventListener("click", () => { it.page -= 1; renderItems(); });
    $("i-next").addEventListener("click", () => { it.page += 1; renderItems(); });
    const onHash = () => {
      if (!location.hash.startsWith("#item-")) return;
      const i = Number(location.hash.slice(6));
      if (Number.isInteger(i) && i >= 0 && i < IR.length) showItem(i);
    };
    window.addEventListener("hashchange", onHash);

    status.hidden = true;
    renderFindings();
    renderItems();
    onHash();
    timing.firstRender = performance.now();
    document.documentElement.dataset.ready = "1";
  }

  if (typeof DecompressionStream === "undefined") {
    status.textContent = status.dataset.noStream || "This browser cannot open the findings explorer (no DecompressionStream); the certificate above is complete without it.";
    return;
  }
  unpack($("dqm-data").textContent.trim()).then(start).catch((err) => {
    status.textContent = fill(status.dataset.unreadable || "The findings could not be read: {error}", { error: String(err) });
    document.documentElement.dataset.ready = "error";
  });
})();
