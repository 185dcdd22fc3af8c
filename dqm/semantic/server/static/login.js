/* dqm review server: sign in with the token in the link's fragment (never sent to any server by
   the browser itself), then drop it from the address bar and open the review. */
"use strict";

(async function () {
  const status = document.getElementById("login-status");
  const match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  history.replaceState(null, "", "/login");
  if (!match) {
    const probe = await fetch("/api/state", { credentials: "same-origin" });
    if (probe.ok) {
      location.replace("/");
      return;
    }
    status.textContent = "No sign-in token in this address.";
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
    status.textContent = `Sign-in refused: ${data.error || response.status}`;
  }
})();
