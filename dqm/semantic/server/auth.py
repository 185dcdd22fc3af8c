"""Who is asking: reviewer tokens, signed session cookies and CSRF tokens.

A reviewer signs in once with the token of their link (``/login#token=…``: the token sits in the
URL's fragment, which a browser never sends to a server, so it is in no access log and no
Referer). The server answers with a session cookie (HttpOnly, SameSite=Strict, Secure over TLS)
that names the reviewer, a random nonce and the issue time, signed with HMAC-SHA256 under the
database's secret and bound to the reviewer's current token hash: giving a reviewer a new token
(``dqm review add-reviewer --rotate``) ends their old sessions.

Each session is also recorded in the database (its nonce, when it was last used): signing out
(``POST /api/logout``) deletes it, so the cookie stops working on the server, not only in the
browser that signed out (a copy of it, stolen, is refused too); a session not used for
:data:`IDLE_SECONDS` ends by itself, and every session ends :data:`SESSION_SECONDS` after it
began. When it was used is written at most once every :data:`SEEN_EVERY` seconds (a page of
tiles is hundreds of requests: not a disk write each).

Writes need the session's CSRF token (an HMAC of its nonce) in the ``X-CSRF-Token`` header, a JSON
body and, where the browser sends one, an ``Origin`` equal to the server's (else a ``Referer`` of
this origin, where one is sent). The sign-in is held to the same origin rule, which keeps another
site's page from posting a token itself but not from sending a browser to ``/login#token=…`` of a
token of its own: that page (``login.js``) therefore signs in only when the reviewer clicks the
button naming the link's holder, next to who is signed in now (login CSRF; the button takes a
click only a moment after it is shown, so no surprise double-click lands on it). Scripts may use
``Authorization: Bearer TOKEN`` instead of the cookie; a browser never adds that header by itself,
so such requests need no CSRF token. ``POST /api/logout`` with a bearer token ends the token itself
(stored: a restart keeps it ended); the reviewer's link stops working with it, and their sessions
end, until the token is rotated.

Tokens are random (guessing one is hopeless), but each wrong one costs a lookup and a log line:
:class:`SignInLimit` lets one client address (an IPv6 /64 network: :func:`sign_in_key`) fail
:data:`SIGN_IN_BURST` times in a row, then one more time every :data:`SIGN_IN_EVERY` seconds (a
sign-in with a token or a bearer request).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from dqm.semantic.server.db import ReviewDB, Reviewer

COOKIE = "dqm_review_session"
SESSION_SECONDS = 7 * 24 * 3600
"""A session ends this long after the sign-in, used or not."""
IDLE_SECONDS = 8 * 3600
"""A session that made no request for this long (a working day) ends: sign in again with the link."""
SEEN_EVERY = 60
"""Seconds between two writes of when a session was last used."""
CSRF_HEADER = "x-csrf-token"
SIGN_IN_BURST = 10
"""Failed sign-ins one client address may make in a row."""
SIGN_IN_EVERY = 6.0
"""Seconds after which an address that used them up may fail once more."""
SIGN_IN_CLIENTS = 4096
"""Addresses followed at most (bounded memory): past it, the one that failed longest ago is
forgotten (its bucket was about full again in most cases)."""
SIGNED_IN = "dqm.signed_in"
"""The key a request's ASGI ``state`` holds (True) once the request proved a session or signed in
(:func:`mark_signed_in`): the server's TLS handshake guard then counts its client's network as a
reviewer's (:meth:`~dqm.semantic.server.guard.Handshakes.signed_in`)."""


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
    """A signed cookie value for ``reviewer``, its session recorded in ``db``."""
    issued = int(time.time()) if issued is None else issued
    nonce = secrets.token_urlsafe(18)
    db.open_session(reviewer, nonce, issued, IDLE_SECONDS)
    body = f"{reviewer.id}.{issued}.{nonce}"
    return f"{body}.{_mac(db.secret, 'session', body, reviewer.token_sha256)}"


def read_session(db: ReviewDB, value: str | None, now: float | None = None) -> Session | None:
    """The session a cookie value proves, or None (forged, expired, idle too long, signed out, or
    the token was rotated)."""
    if not value or len(value) > 300:
        return None
    parts = value.split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    rid, issued, nonce, mac = parts
    now = time.time() if now is None else now
    if now - int(issued) > SESSION_SECONDS:
        return None
    reviewer = db.reviewer_by_id(int(rid))
    if reviewer is None:
        return None
    expected = _mac(db.secret, "session", f"{rid}.{issued}.{nonce}", reviewer.token_sha256)
    if not hmac.compare_digest(expected, mac):
        return None
    seen = db.session_seen(reviewer, nonce)
    if seen is None or now - seen > IDLE_SECONDS:
        return None
    if now - seen >= SEEN_EVERY:
        db.session_used(nonce, int(now))
    return Session(reviewer, nonce, "cookie")


def end_session(db: ReviewDB, session: Session) -> None:
    """Sign ``session`` out: its cookie is refused from now on, wherever it is sent from. A bearer
    request has no session but its token: the token is ended (:meth:`ReviewDB.end_token`, kept in
    the database, so a restart keeps it ended): the reviewer's link and the sessions signed in with
    it end too, until ``dqm review add-reviewer --rotate`` gives them a new token."""
    if session.nonce:
        db.end_session(session.nonce)
    elif session.via == "bearer":
        db.end_token(session.reviewer)


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


def mark_signed_in(scope: MutableMapping[str, Any]) -> None:
    """Say in the request's ASGI ``state`` (shared with the server's protocol, which made it) that
    it proved a session or signed in: :data:`SIGNED_IN`."""
    state = scope.setdefault("state", {})
    state[SIGNED_IN] = True


def sign_in_key(address: str) -> str:
    """What :class:`SignInLimit` counts failures by: an IPv4 address, or the /64 network of an
    IPv6 one (one machine, one LAN: a client chooses the last 64 bits of its address itself, so
    counted per address it had 2^64 fresh buckets of :data:`SIGN_IN_BURST` tries); an IPv4
    address mapped into IPv6 is the IPv4 address. Anything else (a test client's name) as it is."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class SignInLimit:
    """A token bucket of failed sign-ins per client address: :data:`SIGN_IN_BURST` tries, one
    more every :data:`SIGN_IN_EVERY` seconds, :data:`SIGN_IN_CLIENTS` addresses at most. Handlers
    run in a thread pool: every call holds a lock."""

    def __init__(
        self,
        burst: int = SIGN_IN_BURST,
        every: float = SIGN_IN_EVERY,
        clients: int = SIGN_IN_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst, self.every, self.clients, self.clock = burst, every, clients, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        """address → (tries left, when counted), the one that failed longest ago first."""
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def _left(self, address: str, now: float) -> float:
        tries, when = self._buckets.get(address, (self.burst, now))
        return min(self.burst, tries + (now - when) / self.every)

    def wait(self, address: str) -> int:
        """Whole seconds before ``address`` may try to sign in again (0: now)."""
        with self._lock:
            left = self._left(address, self.clock())
        return 0 if left >= 1 else math.ceil((1 - left) * self.every)

    def failed(self, address: str) -> None:
        """Count a failed sign-in from ``address``."""
        with self._lock:
            now = self.clock()
            self._buckets[address] = (max(self._left(address, now) - 1, 0.0), now)
            self._buckets.move_to_end(address)
            while len(self._buckets) > self.clients:
                self._buckets.popitem(last=False)
