/* dqm review server: the reviewer's page. Every text from the batch is set with textContent. Its
   own words come translated in the page's data island (#dqm-words, the server's --lang). */
"use strict";

(function () {
  const OSD = window.OpenSeadragon;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const WORDS = JSON.parse($("dqm-words").textContent);
  // A word of the page in its language, its {placeholders} filled from params.
  const word = (key, params = {}) =>
    (WORDS[key] || key).replace(/\{(\w+)\}/g, (all, name) => (name in params ? String(params[name]) : all));
  const SVG_NS = "http://www.w3.org/2000/svg";

  const state = {
    slides: [],
    reasons: [],
    verdicts: new Map(), // slide number -> {verdict, reasons, comment, at}
    current: -1,
    detail: null, // the record on screen (its .n: which slide); null while the current one loads
    showOutlines: true,
    opacity: 0.9,
    adjudicator: false,
  };
  let viewer = null;
  let overlay = null;
  let group = null;
  let loadToken = 0;
  let tilesNote = null; // the word of the tiles note shown, if any (tile-load-failed)
  // "c" pressed while the record loads ({token: that load, text: typed since}): the comment box takes
  // focus and the text when the record comes; meanwhile no key typed runs a shortcut ("pass" after
  // "c" stored a PASS, "ok" sent the page back a slide). Escape drops it.
  let commentWanted = null;
  // The load whose record failed for good (a 4xx, or no answer after every retry): nothing will come
  // to comment on, so "c" holds no key for the comment box there (each was typed into a box that
  // never opened, "j" to move on too, until Escape), and says so.
  let failedToken = -1; // no load has the token -1 (loadToken starts at 0, before the first slide asked)
  const unsaved = new Map(); // slide number -> {text, error}: a comment the server refused, kept on screen
  const LOAD_RETRIES = 3; // a record that failed (500, no network) is asked again after 1, 2, 4 s

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  async function api(path, body) {
    const init = body === undefined
      ? { credentials: "same-origin" }
      : {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify(body),
        };
    const response = await fetch(path, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(data.error || `${response.status}`);
      // 503: the slide could not be checked just now; Retry-After says when to ask again
      error.retryAfter = response.status === 503 ? Number(response.headers.get("Retry-After")) || 5 : 0;
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // ------------------------------------------------------------------ viewer
  function makeViewer() {
    viewer = OSD({
      element: $("viewer"),
      prefixUrl: "",
      showNavigationControl: false,
      showNavigator: false,
      drawer: "canvas",
      crossOriginPolicy: false,
      maxZoomPixelRatio: 4,
      visibilityRatio: 0.5,
      animationTime: 0.3,
      // a tile answered 503 (the server busy decoding others) is asked again
      tileRetryMax: 5,
      tileRetryDelay: 1500,
      // tiles asked at once, under the server's TILES_PER_CLIENT (8): over HTTP/2 (behind a proxy)
      // the default (no limit) sent 40-60 at once, the rest refused 503 and given up
      imageLoaderLimit: 6,
      gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
    });
    overlay = document.createElementNS(SVG_NS, "svg");
    overlay.setAttribute("class", "outlines");
    group = document.createElementNS(SVG_NS, "g");
    overlay.appendChild(group);
    viewer.canvas.appendChild(overlay);
    for (const event of ["animation", "animation-finish", "resize", "open", "update-viewport"]) {
      viewer.addHandler(event, placeOverlay);
    }
    viewer.addHandler("open-failed", () => showViewerError(word("open_failed")));
    // a tile refused after its retries (OpenSeadragon raises this on every try: maxReached says
    // they are used up), said once and by its cause, asked of the server again (an image load
    // has no status): 404, no level near this scale; 503, the server busy. Not a blank view the
    // reviewer might judge; a busy note is cleared once tiles load again.
    viewer.addHandler("tile-load-failed", (e) => {
      if (!e.maxReached || !$("viewer-error").hidden) return;
      const url = e.tile && (e.tile.getUrl ? e.tile.getUrl() : e.tile.url);
      tilesNote = "tiles_unread";
      showViewerError(word(tilesNote));
      if (!url) return;
      fetch(url, { credentials: "same-origin" })
        .then((response) => {
          if (!tilesNote) return; // another slide meanwhile, or tiles loaded
          if (response.ok || response.status === 503) tilesNote = "tiles_busy";
          else if (response.status === 404) tilesNote = "tiles_failed";
          showViewerError(word(tilesNote));
        })
        .catch(() => {});
    });
    viewer.addHandler("tile-loaded", () => {
      if (tilesNote && tilesNote !== "tiles_failed" && $("viewer-error").textContent === word(tilesNote)) {
        showViewerError("");
      }
    });
  }

  function placeOverlay() {
    const item = viewer && viewer.world.getItemAt(0);
    if (!item) return;
    const a = item.imageToViewerElementCoordinates(new OSD.Point(0, 0));
    const b = item.imageToViewerElementCoordinates(new OSD.Point(1000, 0));
    const scale = (b.x - a.x) / 1000;
    group.setAttribute("transform", `translate(${a.x} ${a.y}) scale(${scale})`);
    showZoom();
  }

  function showZoom() {
    const item = viewer && viewer.world.getItemAt(0);
    const info = state.detail && state.detail.image;
    if (!item || !info) return;
    const z = item.viewportToImageZoom(viewer.viewport.getZoom(true));
    const mpp = info.mpp ? ` · ${(info.mpp / z).toFixed(2)} µm/px` : "";
    $("zoom-text").textContent = `${(z * 100).toFixed(z < 0.1 ? 1 : 0)} %${mpp}`;
  }

  function showViewerError(message) {
    const box = $("viewer-error");
    if (!message) tilesNote = null;
    box.hidden = !message;
    box.textContent = message || "";
  }

  function drawOutlines() {
    while (group.firstChild) group.removeChild(group.firstChild);
    const detail = state.detail;
    if (!detail) return;
    const off = detail.image ? detail.image.bounds_offset : [0, 0];
    for (const shape of detail.shapes) {
      const d = shape.rings
        .map((ring) => "M" + ring.map((p) => `${p[0] - off[0]},${p[1] - off[1]}`).join(" ") + "Z")
        .join(" ");
      const path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", d);
      path.setAttribute("stroke", shape.colour);
      path.setAttribute("class", "outline");
      path.setAttribute("fill-rule", "evenodd");
      const title = document.createElementNS(SVG_NS, "title");
      title.textContent = shape.cls;
      path.appendChild(title);
      group.appendChild(path);
    }
    applyOutlineStyle();
    placeOverlay();
  }

  function applyOutlineStyle() {
    overlay.style.display = state.showOutlines ? "" : "none";
    overlay.style.opacity = String(state.opacity);
    $("toggle-outlines").checked = state.showOutlines;
  }

  // ------------------------------------------------------------------ slide list and panel
  function renderList() {
    const list = $("slide-list");
    list.replaceChildren();
    for (const s of state.slides) {
      const button = el("button", s.id);
      button.type = "button";
      button.dataset.n = String(s.n);
      button.setAttribute("role", "listitem");
      const v = state.verdicts.get(s.n);
      button.className = v ? `done ${v.verdict}` : "";
      if (s.n === state.current) button.classList.add("current");
      button.addEventListener("click", () => go(s.n));
      list.appendChild(button);
    }
    const done = state.verdicts.size;
    $("progress-text").textContent = `${done} / ${state.slides.length}`;
    $("progress-bar").max = Math.max(1, state.slides.length);
    $("progress-bar").value = done;
  }

  function renderVerdict() {
    const v = state.verdicts.get(state.current) || { verdict: "", reasons: [], comment: "" };
    $("btn-pass").setAttribute("aria-pressed", String(v.verdict === "pass"));
    $("btn-fail").setAttribute("aria-pressed", String(v.verdict === "fail"));
    for (const box of document.querySelectorAll("#reasons input")) {
      box.checked = v.reasons.includes(box.value);
    }
    const kept = unsaved.get(state.current);
    if (document.activeElement !== $("comment")) $("comment").value = kept ? kept.text : v.comment || "";
    $("saved").textContent = v.at
      ? word("saved", { when: new Date(v.at).toLocaleString(document.documentElement.lang) })
      : word("no_verdict");
  }

  function renderDetail() {
    const d = state.detail;
    $("slide-title").textContent = `${state.current + 1}. ${d.id}`;
    $("slide-stratum").textContent = d.stratum;
    const problem = $("annotation-problem");
    problem.hidden = !d.annotation_problem;
    problem.textContent = d.annotation_problem || "";
    const facts = $("facts");
    facts.replaceChildren();
    for (const [key, value] of d.record) {
      facts.appendChild(el("dt", key));
      facts.appendChild(el("dd", value));
    }
    const legend = $("legend");
    legend.replaceChildren();
    for (const c of d.classes) {
      const item = el("li");
      const swatch = el("span", "", "swatch");
      swatch.style.backgroundColor = c.colour;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(`${c.name} × ${c.count}`));
      legend.appendChild(item);
    }
  }

  async function go(n) {
    if (n < 0 || n >= state.slides.length) return;
    try {
      await saveComment();
    } catch (err) {
      // refused (400) or unreachable: the reviewer still moves on, the comment kept on screen as unsaved
      const text = $("comment").value;
      if (judgeable()) unsaved.set(state.current, { text, error: err.message });
      renderUnsaved();
    }
    // the last slide's record stays on screen until n's comes, but judges nothing meanwhile: a key
    // pressed then (p, f, 1-9) would have stored a verdict for n, unseen
    state.detail = null;
    state.current = n;
    history.replaceState(null, "", `#slide=${n + 1}`);
    renderList();
    renderVerdict();
    await load(n, ++loadToken);
  }

  // Whether the current slide's own record is on screen: only then does a verdict, a reason or a
  // comment reach the server (never on the last slide's record while the current one loads, or
  // when it failed to come: that would judge a slide unseen). Every judging action asks this.
  function judgeable() {
    return state.detail !== null && state.detail.n === state.current;
  }

  // The verdict buttons, reasons and comment box: enabled only once slide n's record is on screen.
  function setJudgeable(on) {
    for (const node of [$("btn-pass"), $("btn-fail"), $("comment"), ...document.querySelectorAll("#reasons input")]) {
      node.disabled = !on;
    }
  }

  function clearSlide(n) {
    state.detail = null;
    viewer.close();
    drawOutlines();
    $("slide-title").textContent = `${n + 1}. ${state.slides[n].id}`;
    $("slide-stratum").textContent = "";
    $("annotation-problem").hidden = true;
    $("facts").replaceChildren();
    $("legend").replaceChildren();
  }

  // Slide n's record, asked again while it cannot come: after Retry-After on a 503 (for as long as it
  // lasts), after 1, 2 and 4 s on a server error or no network. Only the answer for the load still
  // current (token) goes on screen; a retry judges nothing (judgeable() holds until the record comes).
  async function load(n, token, retry = 0) {
    setJudgeable(false);
    let detail;
    try {
      detail = await api(`/api/slides/${n}`);
    } catch (err) {
      if (token !== loadToken) return; // the reviewer moved on meanwhile
      clearSlide(n);
      let wait = 0;
      if (err.retryAfter) wait = Math.min(60, Math.max(1, err.retryAfter));
      else if ((!err.status || err.status >= 500) && retry < LOAD_RETRIES) wait = 2 ** retry++;
      showViewerError(word(wait ? "load_retrying" : "load_failed", { error: err.message, seconds: wait }));
      if (!wait) failedToken = token;
      if (!wait && commentWanted && commentWanted.token === token) {
        const typed = commentWanted.text;
        commentWanted = null; // the keys are shortcuts again
        say(typed ? word("comment_not_kept", { comment: typed }) : word("nothing_to_comment"));
      }
      if (wait) setTimeout(() => (token === loadToken ? load(n, token, retry).catch(report) : null), wait * 1000);
      return;
    }
    if (token !== loadToken) return; // the reviewer moved on meanwhile
    setJudgeable(true);
    state.detail = detail;
    renderDetail();
    drawOutlines();
    if (commentWanted && commentWanted.token === token) {
      const box = $("comment");
      box.value += commentWanted.text;
      commentWanted = null;
      box.focus();
      box.setSelectionRange(box.value.length, box.value.length);
    }
    if (detail.image) {
      showViewerError("");
      viewer.open(`/dz/${n}.dzi`);
    } else {
      viewer.close();
      showViewerError(detail.image_error || word("no_image"));
    }
    showUnreadable(detail.unreadable);
  }

  // ------------------------------------------------------------------ verdicts
  async function send(verdict, reasons, comment) {
    if (!judgeable()) return null; // the record on screen is not the current slide's: nothing sent
    const n = state.current;
    const saved = await api("/api/verdicts", { slide: n, verdict, reasons, comment });
    if (saved.verdict) state.verdicts.set(n, saved);
    else state.verdicts.delete(n);
    if (unsaved.delete(n)) renderUnsaved(); // the box's text went with it
    if (n === state.current) renderVerdict();
    renderList();
    return saved;
  }

  function currentVerdict() {
    return state.verdicts.get(state.current) || { verdict: "", reasons: [], comment: "" };
  }

  async function judge(verdict) {
    if (!judgeable()) return; // slide not on screen (loading, or its record failed to come)
    const reasons = verdict === "fail" ? checkedReasons() : [];
    await send(verdict, reasons, $("comment").value);
  }

  function checkedReasons() {
    return [...document.querySelectorAll("#reasons input")].filter((b) => b.checked).map((b) => b.value);
  }

  async function toggleReason(index) {
    if (!judgeable()) return;
    const box = document.querySelectorAll("#reasons input")[index];
    if (!box) return;
    box.checked = !box.checked;
    const v = currentVerdict();
    if (v.verdict === "fail") await send("fail", checkedReasons(), $("comment").value);
  }

  async function saveComment() {
    const v = currentVerdict();
    const text = $("comment").value;
    if (!judgeable() || !v.verdict || text === (v.comment || "")) return;
    // the boxes on screen, not the last saved reasons: a reason ticked just before may still be in flight
    await send(v.verdict, v.verdict === "fail" ? checkedReasons() : v.reasons, text);
  }

  // The comments the server refused, each naming its slide and keeping its text: shown until saved.
  function renderUnsaved() {
    const box = $("unsaved");
    box.replaceChildren();
    for (const [n, kept] of unsaved) {
      const slide = `${n + 1}. ${state.slides[n].id}`;
      box.appendChild(el("li", word("comment_not_saved", { slide, error: kept.error, comment: kept.text })));
    }
    box.hidden = unsaved.size === 0;
  }

  // ------------------------------------------------------------------ adjudication
  async function loadDisagreements() {
    const list = $("disagreement-list");
    if (!list) return;
    const rows = await api("/api/disagreements");
    list.replaceChildren();
    if (!rows.length) list.appendChild(el("li", word("none_yet")));
    const label = new Map(state.reasons.map((r) => [r.id, r.label]));
    for (const row of rows) {
      const item = el("li");
      const button = el("button", row.id);
      button.type = "button";
      button.addEventListener("click", () => go(row.n));
      item.appendChild(button);
      const votes = el("ul");
      for (const v of row.verdicts) {
        const reasons = v.reasons.length ? ` (${v.reasons.map((r) => label.get(r) || r).join(", ")})` : "";
        const comment = v.comment ? ` — ${v.comment}` : "";
        const verdict = word(v.verdict === "pass" ? "pass" : v.verdict === "fail" ? "fail" : v.verdict);
        votes.appendChild(el("li", `${v.reviewer}: ${verdict}${reasons}${comment}`));
      }
      item.appendChild(votes);
      list.appendChild(item);
    }
  }

  // ------------------------------------------------------------------ keyboard
  function zoomBy(factor) {
    viewer.viewport.zoomBy(factor);
    viewer.viewport.applyConstraints();
  }

  function panBy(dx, dy) {
    const bounds = viewer.viewport.getBounds();
    viewer.viewport.panBy(new OSD.Point(bounds.width * dx, bounds.height * dy));
    viewer.viewport.applyConstraints();
  }

  function nextOpen() {
    for (let k = 1; k <= state.slides.length; k++) {
      const n = (state.current + k) % state.slides.length;
      if (!state.verdicts.has(n)) return go(n);
    }
  }

  // whether start() ended (no slide asked then: the review holds none) or the error it failed
  // with: c said "still starting, press c again" for good in both
  let started = false;
  let startError = null;
  function notStartedWord() {
    if (startError !== null) return word("start_failed", { error: startError });
    return word(started ? "no_slides" : "not_started");
  }

  const keys = {
    p: () => judge("pass"),
    f: () => judge("fail"),
    j: () => go(state.current + 1),
    ArrowRight: () => go(state.current + 1),
    k: () => go(state.current - 1),
    ArrowLeft: () => go(state.current - 1),
    n: () => nextOpen(),
    c: () => {
      if (judgeable()) $("comment").focus();
      else if (state.current < 0) say(notStartedWord()); // no slide asked yet: starting, none, or failed
      else if (failedToken === loadToken) say(word("nothing_to_comment"));
      else commentWanted = { token: loadToken, text: "" };
    },
    o: () => {
      state.showOutlines = !state.showOutlines;
      applyOutlineStyle();
    },
    "+": () => zoomBy(2),
    "=": () => zoomBy(2),
    "-": () => zoomBy(0.5),
    "0": () => viewer.viewport.goHome(),
    w: () => panBy(0, -0.25),
    s: () => panBy(0, 0.25),
    a: () => panBy(-0.25, 0),
    d: () => panBy(0.25, 0),
    "?": () => $("help").showModal(),
  };

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing =
      target &&
      (target.tagName === "TEXTAREA" ||
        (target.tagName === "INPUT" && !["checkbox", "range", "radio", "button"].includes(target.type)));
    if (typing) {
      if (event.key === "Escape") {
        target.blur();
        saveComment().catch(report);
        event.preventDefault();
      }
      return;
    }
    if (commentWanted && commentWanted.token !== loadToken) commentWanted = null; // moved on since
    if (commentWanted) {
      holdForComment(event);
      return;
    }
    if (/^[1-9]$/.test(event.key) && Number(event.key) <= state.reasons.length) {
      event.preventDefault();
      toggleReason(Number(event.key) - 1).catch(report);
      return;
    }
    const action = keys[event.key];
    if (!action) return;
    event.preventDefault();
    event.stopPropagation();
    Promise.resolve(action()).catch(report);
  }

  // A key pressed after "c" while the record loads: kept for the comment box, never a shortcut.
  function holdForComment(event) {
    event.preventDefault();
    event.stopPropagation();
    if (event.key === "Escape") commentWanted = null;
    else if (event.key === "Backspace") commentWanted.text = commentWanted.text.slice(0, -1);
    else if (event.key === "Enter") commentWanted.text += "\n";
    else if (event.key.length === 1) commentWanted.text += event.key;
  }

  function report(err) {
    say(word("not_saved", { error: err.message }));
  }

  // A warning in the save line (what was not saved, or why nothing can be).
  function say(text) {
    $("saved").textContent = text;
    $("saved").classList.add("warn");
  }

  // the database rows left out (another program's, badly typed): a line of their own, which no save
  // message overwrites (in the save line, the next "saved" took their place); the list only grows
  function showUnreadable(list) {
    if (!list || !list.length) return;
    $("unreadable").textContent = list.join(" · ");
    $("unreadable").hidden = false;
  }

  // ------------------------------------------------------------------ start
  async function start() {
    makeViewer();
    const s = await api("/api/state");
    state.slides = s.slides;
    state.reasons = s.reasons;
    state.adjudicator = s.adjudicator;
    for (const [n, v] of Object.entries(s.verdicts)) state.verdicts.set(Number(n), v);
    showUnreadable(s.unreadable);
    const box = $("reasons");
    s.reasons.forEach((r, i) => {
      const label = el("label");
      const input = document.createElement("input");
      input.type = "checkbox";
      input.value = r.id;
      input.addEventListener("change", () => {
        if (judgeable() && currentVerdict().verdict === "fail") send("fail", checkedReasons(), $("comment").value).catch(report);
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(` ${i + 1} ${r.label}`));
      box.appendChild(label);
    });
    $("btn-pass").addEventListener("click", () => judge("pass").catch(report));
    $("btn-fail").addEventListener("click", () => judge("fail").catch(report));
    $("prev").addEventListener("click", () => go(state.current - 1));
    $("next").addEventListener("click", () => go(state.current + 1));
    $("comment").addEventListener("blur", () => saveComment().catch(report));
    $("toggle-outlines").addEventListener("change", (e) => {
      state.showOutlines = e.target.checked;
      applyOutlineStyle();
    });
    $("opacity").addEventListener("input", (e) => {
      state.opacity = Number(e.target.value) / 100;
      applyOutlineStyle();
    });
    $("help-button").addEventListener("click", () => $("help").showModal());
    $("help-close").addEventListener("click", () => $("help").close());
    $("logout").addEventListener("click", async () => {
      await api("/api/logout", {});
      location.replace("/login");
    });
    const refresh = $("refresh-disagreements");
    if (refresh) refresh.addEventListener("click", () => loadDisagreements().catch(report));
    document.addEventListener("keydown", onKey, true);
    const m = /slide=(\d+)/.exec(location.hash);
    let first = m ? Number(m[1]) - 1 : state.slides.findIndex((x) => !state.verdicts.has(x.n));
    if (!(first >= 0 && first < state.slides.length)) first = 0;
    if (state.adjudicator) await loadDisagreements();
    await go(first);
    started = true;
  }

  // read-only handles for scripted checks (the browser test) and the console
  window.dqmReview = {
    viewer: () => viewer,
    loaded: () => {
      const item = viewer && viewer.world.getItemAt(0);
      return Boolean(item && item.getFullyLoaded());
    },
    current: () => state.current,
  };

  start().catch((err) => {
    startError = err.message;
    showViewerError(word("start_failed", { error: err.message }));
  });
})();
