/* dqm review server: the sign-in page of a reviewer's link (/login#token=…: the fragment is never
   sent to any server by the browser itself). The token is dropped from the address bar at once.
   The page asks the server whose link it is (a "peek": no session made) and signs in only when
   the reviewer clicks the button that names them, showing who this browser is signed in as now:
   another site's page that sends a browser to a link of its own (login CSRF) cannot sign it in
   unknowingly. Its words come translated in the page's data island (#dqm-words, the server's
   --lang). */
"use strict";

const ARM_MS = 700; // the sign-in button takes no click this long after it is shown

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
  if (!match) {
    // no link: a browser signed in already goes to its page. The page says so (no /api/state,
    // whose 401 in a browser not signed in was a red console line)
    if (document.getElementById("login").dataset.signedIn === "yes") {
      location.replace("/");
      return;
    }
    status.textContent = WORDS.no_token;
    return;
  }
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
  // the peek (it carries the cookie) also says who this browser is signed in as now: no
  // /api/state first, whose 401 in a browser not signed in was a red console line
  const got = await peek.json().catch(() => ({}));
  const holder = String(got.reviewer);
  const current = typeof got.current === "string" ? got.current : null;
  now.textContent = current === null ? WORDS.not_signed_in : fill(WORDS.signed_in_now, current);
  now.hidden = false;
  status.textContent = fill(WORDS.link_of, holder);
  button.textContent = fill(WORDS.sign_in_as, holder);
  // Shown disabled, enabled only after ARM_MS with the page visible and focused: a page of
  // another site that asks for a double-click and sends the browser here between the two clicks
  // (double-clickjacking) does not land the second one on the button.
  let sending = false;
  let timer = 0;
  const arm = () => {
    clearTimeout(timer);
    button.disabled = true;
    if (!sending && document.visibilityState === "visible" && document.hasFocus()) {
      timer = setTimeout(() => {
        button.disabled = false;
      }, ARM_MS);
    }
  };
  button.disabled = true;
  button.hidden = false;
  if (current !== null) {
    stay.textContent = fill(WORDS.stay_as, current);
    stay.hidden = false;
  }
  window.addEventListener("focus", arm);
  window.addEventListener("blur", arm);
  document.addEventListener("visibilitychange", arm);
  arm();
  button.addEventListener("click", async () => {
    if (button.disabled) {
      return;
    }
    sending = true;
    button.disabled = true;
    const response = await post({});
    if (response.ok) {
      location.replace("/");
    } else {
      sending = false;
      arm();
      await refusedBy(response);
    }
  });
})();
