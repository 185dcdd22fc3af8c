/* dqm review server: sign in with the token in the link's fragment (never sent to any server by
   the browser itself), then drop it from the address bar and open the review. Its words come
   translated in the page's data island (#dqm-words, the server's --lang). */
"use strict";

(async function () {
  const status = document.getElementById("login-status");
  const WORDS = JSON.parse(document.getElementById("dqm-words").textContent);
  const match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  history.replaceState(null, "", "/login");
  if (!match) {
    const probe = await fetch("/api/state", { credentials: "same-origin" });
    if (probe.ok) {
      location.replace("/");
      return;
    }
    status.textContent = WORDS.no_token;
    return;
  }
  const response = await fetch("/api/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: match[1] }),
  });
  if (response.ok) {
    location.replace("/");
  } else {
    const data = await response.json().catch(() => ({}));
    status.textContent = WORDS.refused.replace("{error}", () => String(data.error || response.status));
  }
})();
