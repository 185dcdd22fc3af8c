/* dqm review server: the sign-in page of a reviewer's link (/login#token=…: the fragment is never
   sent to any server by the browser itself). The token is dropped from the address bar at once.
   The page asks the server whose link it is (a "peek": no session made) and signs in only when
   the reviewer clicks the button that names them, showing who this browser is signed in as now:
   another site's page that sends a browser to a link of its own (login CSRF) cannot sign it in
   unknowingly. Its words come translated in the page's data island (#dqm-words, the server's
   --lang). */
"use strict";

// Another link opened over this page is only a new fragment (no new page): read it afresh, so the
// button never names the holder of the link before.
window.addEventListener("hashchange", () => {
  document.getElementById("login-button").hidden = true;
  location.reload();
});

(async function () {
  const status = document.getElementById("login-status");
  const now = document.getElementById("login-now");
  const button = document.getElementById("login-button");
  const stay = document.getElementById("login-stay");
  const WORDS = JSON.parse(document.getElementById("dqm-words").textContent);
  const fill = (text, name) => text.replace("{name}", () => name);
  const match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  history.replaceState(null, "", "/login");
  const probe = await fetch("/api/state", { credentials: "same-origin" });
  const state = probe.ok ? await probe.json().catch(() => ({})) : {};
  const current = typeof state.reviewer === "string" ? state.reviewer : null;
  if (!match) {
    if (probe.ok) {
      location.replace("/");
      return;
    }
    status.textContent = WORDS.no_token;
    return;
  }
  now.textContent = current === null ? WORDS.not_signed_in : fill(WORDS.signed_in_now, current);
  now.hidden = false;
  const post = (extra) =>
    fetch("/api/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ token: match[1] }, extra)),
    });
  const refusedBy = async (response) => {
    const data = await response.json().catch(() => ({}));
    status.textContent = WORDS.refused.replace("{error}", () => String(data.error || response.status));
  };
  const peek = await post({ peek: true });
  if (!peek.ok) {
    await refusedBy(peek);
    return;
  }
  const holder = String((await peek.json().catch(() => ({}))).reviewer);
  status.textContent = fill(WORDS.link_of, holder);
  button.textContent = fill(WORDS.sign_in_as, holder);
  button.hidden = false;
  if (current !== null) {
    stay.textContent = fill(WORDS.stay_as, current);
    stay.hidden = false;
  }
  button.addEventListener("click", async () => {
    button.disabled = true;
    const response = await post({});
    if (response.ok) {
      location.replace("/");
    } else {
      button.disabled = false;
      await refusedBy(response);
    }
  });
})();
