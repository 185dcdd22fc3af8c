"""Who is asking: reviewer tokens, signed session cookies and CSRF tokens.

A reviewer signs in once with the token of their link (``/login#token=…``: the token sits in the
URL's fragment, which a browser never sends to a server, so it is in no access log and no
Referer). The server answers with a session cookie (HttpOnly, SameSite=Strict, Secure over TLS)
that names the reviewer, a random nonce and the issue time, signed with HMAC-SHA256 under the
database's secret and bound to the reviewer's current token hash: giving a reviewer a new token
(``dqm review add-reviewer --rotate``) ends their old sessions.

Writes need the session's CSRF token (an HMAC of its nonce) in the ``X-CSRF-Token`` header, a JSON
body and, where the browser sends one, an ``Origin`` equal to the server's. Scripts may use
``Authorization: Bearer TOKEN`` instead of the cookie; a browser never adds that header by itself,
so such requests need no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from dqm.semantic.server.db import ReviewDB, Reviewer

COOKIE = "dqm_review_session"
SESSION_SECONDS = 7 * 24 * 3600
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True, slots=True)
class Session:
    reviewer: Reviewer
    nonce: str
    """Empty for bearer-token requests (no cookie, no CSRF token needed)."""
    via: str
    """``cookie`` or ``bearer``."""


def _mac(secret: bytes, *parts: str) -> str:
    return hmac.new(secret, "|".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()


def new_session(db: ReviewDB, reviewer: Reviewer, issued: int | None = None) -> str:
    """A signed cookie value for ``reviewer``."""
    issued = int(time.time()) if issued is None else issued
    nonce = secrets.token_urlsafe(18)
    body = f"{reviewer.id}.{issued}.{nonce}"
    return f"{body}.{_mac(db.secret, 'session', body, reviewer.token_sha256)}"


def read_session(db: ReviewDB, value: str | None, now: float | None = None) -> Session | None:
    """The session a cookie value proves, or None (forged, expired, or the token was rotated)."""
    if not value or len(value) > 300:
        return None
    parts = value.split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    rid, issued, nonce, mac = parts
    if (now if now is not None else time.time()) - int(issued) > SESSION_SECONDS:
        return None
    reviewer = db.reviewer_by_id(int(rid))
    if reviewer is None:
        return None
    expected = _mac(db.secret, "session", f"{rid}.{issued}.{nonce}", reviewer.token_sha256)
    if not hmac.compare_digest(expected, mac):
        return None
    return Session(reviewer, nonce, "cookie")


def bearer(db: ReviewDB, header: str | None) -> Session | None:
    """The session of an ``Authorization: Bearer TOKEN`` header, or None."""
    if not header or not header.lower().startswith("bearer "):
        return None
    reviewer = db.reviewer_by_token(header[7:].strip())
    return None if reviewer is None else Session(reviewer, "", "bearer")


def csrf_token(db: ReviewDB, session: Session) -> str:
    return _mac(db.secret, "csrf", session.nonce) if session.nonce else ""


def csrf_ok(db: ReviewDB, session: Session, given: str | None) -> bool:
    """Whether a write may go ahead: bearer requests always, cookie requests with the right token."""
    if session.via == "bearer":
        return True
    return bool(given) and hmac.compare_digest(csrf_token(db, session), given or "")
