"""The review web application (Starlette): pages, the JSON API, Deep Zoom tiles, security headers.

Routes
------
``GET /login`` (the page that reads the token from the link's fragment), ``POST /api/login``,
``POST /api/logout``; ``GET /`` the review page; ``GET /api/state`` the reviewer's own verdicts and
the slide list; ``GET /api/slides/{n}`` one slide's record and outlines; ``POST /api/verdicts``;
``GET /api/disagreements`` (adjudicators); ``GET /dz/{n}.dzi`` and ``GET /dz/{n}_files/{level}/{col}_{row}.jpeg``;
``/static/…``. Slides are named by their number in the plan's sample, never by a path.

Every route but ``/login``, ``/api/login`` and ``/static`` needs a session (401 without). Handlers
are plain functions: Starlette runs them in its thread pool, so tile encoding and SQLite writes do
not block the event loop.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, cast

from dqm.i18n import N_, gettext, markup_translator, msg
from dqm.i18n import Message as Text
from dqm.output import visible
from dqm.semantic.server import auth
from dqm.semantic.server.db import LogRow, ReviewDB, ReviewDBError
from dqm.semantic.server.sample import ReviewSample
from dqm.semantic.server.tiles import (
    BUSY,
    SlideNotChecked,
    SlideUnavailable,
    TilesBusy,
    TileSource,
    plan_recorded,
)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
VIEWER_JS = STATIC / "vendor" / "openseadragon.min.js"
MAX_BODY = 64 * 1024
RETRY_SECONDS = 5
"""What a 503 for a slide that could not be checked against the audit's record just now (a
transient error: :class:`~dqm.semantic.server.tiles.SlideNotChecked`) says in ``Retry-After``:
its tile, its Deep Zoom descriptor, a verdict on it."""
TILES_PER_CLIENT = 8
"""Tile requests one client (:func:`~dqm.semantic.server.auth.sign_in_key`) has in the server at
once; one more is answered 503 with ``Retry-After`` (the viewer asks again): one client asking for
hundreds held all 40 threads of the server, the other reviewers and the sync routes waiting."""

SCRIPT_WORDS = {
    "open_failed": N_("the slide could not be opened"),
    "tiles_failed": N_(
        "some tiles of this slide could not be shown at this scale (it has no level near it): zoom in to see them"
    ),
    "tiles_busy": N_(
        "some tiles of this slide were not shown: the server was busy. Move or zoom the view to ask for them again"
    ),
    "tiles_unread": N_("some tiles of this slide could not be read"),
    "load_failed": N_("cannot load the slide: {error}. Move to another slide and back to ask again."),
    "load_retrying": N_(
        "cannot load the slide: {error}. Asking again in {seconds} s; or move to another slide and back."
    ),
    "no_image": N_("no image"),
    "saved": N_("saved {when}"),
    "no_verdict": N_("no verdict yet"),
    "not_saved": N_("not saved: {error}"),
    "comment_not_saved": N_("comment on slide {slide} not saved ({error}), kept here: {comment}"),
    "nothing_to_comment": N_(
        "nothing to comment on: this slide's record did not load. Move to another slide and back to ask again."
    ),
    "not_started": N_(
        "no slide to comment on yet: the page is still starting. Press c again once a slide shows."
    ),
    "no_slides": N_("no slide to comment on: this review holds no slides"),
    "comment_not_kept": N_(
        "comment not kept, nothing to comment on: this slide's record did not load. Move to another slide "
        "and back to ask again. Typed: {comment}"
    ),
    "start_failed": N_("cannot start: {error}"),
    "none_yet": N_("none yet"),
    "pass": N_("PASS"),
    "fail": N_("FAIL"),
    "no_token": N_("No sign-in token in this address."),
    "refused": N_("Sign-in refused: {error}"),
    "link_of": N_("This link signs in as {name}."),
    "signed_in_now": N_("This browser is signed in as {name} now."),
    "not_signed_in": N_("This browser is not signed in now."),
    "sign_in_as": N_("Sign in as {name}"),
    "stay_as": N_("Stay signed in as {name}"),
}
"""What the pages' scripts (review.js, login.js) write, sent translated in the page's data island
``#dqm-words`` (the scripts fill the placeholders)."""

OSD_STYLE = "@media (hover: none) {    .openseadragon-canvas:focus {        outline: none !important;    }}"
"""The one <style> element OpenSeadragon adds to the page; the CSP allows exactly it by hash."""


class BodyTooLarge(ValueError):
    """A request body over :data:`MAX_BODY` bytes (refused with 413 before the rest is read)."""


class ClientGone(Exception):
    """The client closed its connection before its request's body was whole (or the server closed
    it at the request's deadline: :mod:`~dqm.semantic.server.guard`): nobody to answer."""


class ServerSetupError(RuntimeError):
    """The server cannot start (viewer not installed, plan or database unusable)."""


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(OSD_STYLE.encode("utf-8")).digest()).decode("ascii")
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'self' 'sha256-{digest}'",
            "img-src 'self' data: blob:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


CSP = _csp()
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` (and ``Cache-Control: no-store`` unless a route set one) to
    every HTTP response, errors included. With ``hosts``, a request whose ``Host`` is not one of
    them (:func:`host_allowed`) is refused (421) before any route sees it; so is one whose
    ``Content-Length`` is over :data:`MAX_BODY` (413, and the connection is closed unread), and one
    that gives both ``Transfer-Encoding`` and ``Content-Length`` (400, closed: :func:`_framed_twice`)."""

    def __init__(self, app: Any, hosts: frozenset[str] | None = None) -> None:
        self.app = app
        self.hosts = hosts
        self.state = app.state
        """The wrapped application's state (database, sample, tiles), for the commands and tests."""

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        if self.hosts is not None and not host_allowed(_host_name(scope), self.hosts):
            await self.refuse(scope, receive, with_headers, 421, OTHER_HOST)
            return
        if _too_long(scope):
            await self.refuse(scope, receive, with_headers, 413, N_("request too large"))
            return
        if _framed_twice(scope):
            await self.refuse(scope, receive, with_headers, 400, FRAMED_TWICE)
            return
        await self.app(scope, receive, with_headers)

    async def refuse(self, scope: Scope, receive: Any, send: Any, status: int, message: str) -> None:
        """Answer ``status`` with ``message`` (a msgid) in the server's language, before any route;
        a 413 or a 400 closes the connection (the body it announced is never read)."""
        from starlette.responses import JSONResponse

        text = gettext(message, self.app.state.lang)
        headers = {"connection": "close"} if status in (400, 413) else None
        await JSONResponse({"error": text}, status_code=status, headers=headers)(scope, receive, send)


def _too_long(scope: Scope) -> bool:
    """Whether the request announces a body over :data:`MAX_BODY` bytes (no route takes more)."""
    stated = next((v for k, v in scope.get("headers", []) if k == b"content-length"), b"0")
    return not stated.isdigit() or len(stated) > 12 or int(stated) > MAX_BODY


def _framed_twice(scope: Scope) -> bool:
    """Whether the request gives both ``Transfer-Encoding`` and ``Content-Length``: h11 reads its
    body by the first and the request was answered, but a reverse proxy in front that reads it by
    the second sees another end of the body, and the rest as a request of its own (request
    smuggling: RFC 9112 6.3 lets a server refuse it, and asks it to close the connection)."""
    names = {k for k, _ in scope.get("headers", [])}
    return b"transfer-encoding" in names and b"content-length" in names


FRAMED_TWICE = N_("a request with both Transfer-Encoding and Content-Length is refused")
OTHER_HOST = N_(
    "this server answers only at an IP address, localhost, this machine's name and the names given to "
    "dqm review serve --allowed-host: the request names another name"
)
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})


def host_allowed(name: str, hosts: frozenset[str]) -> bool:
    """Whether a request naming host ``name`` is answered: an IP address (a page can point only a
    *name* of its own at this machine: DNS rebinding), ``localhost``, or one of ``hosts``
    (lower case, no trailing dot; ``*`` for any)."""
    import ipaddress

    name = name.lower().rstrip(".")
    if name in hosts or name in LOCAL_NAMES or "*" in hosts:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _host_name(scope: Scope) -> str:
    """The host a request names (its ``Host`` header without the port; empty when it has none)."""
    value = next((v for k, v in scope.get("headers", []) if k == b"host"), b"").decode("latin-1")
    if value.startswith("["):
        return value[1:].partition("]")[0]
    return value.rpartition(":")[0] if ":" in value else value


def check_viewer() -> None:
    """Raise :class:`ServerSetupError` when the OpenSeadragon copy is missing from the package."""
    if not VIEWER_JS.is_file():
        raise ServerSetupError(
            f"the slide viewer (OpenSeadragon) is not installed at {VIEWER_JS}: run `make setup` "
            "(npm ci, then the copy into the package), or `make viewer` in the source tree"
        )


def create_app(
    review_dir: Path,
    batch: Path,
    profile: Any,
    mask_key: bytes,
    plan: Any = None,
    max_open: int = 8,
    lang: str = "en",
    hosts: frozenset[str] | None = None,
) -> Any:
    """The Starlette application of one review folder over one batch; its pages, their scripts'
    words, reasons, class names and the API's error texts in ``lang``; with ``hosts``, only
    for requests that name one of them, an IP address or localhost as their host
    (:class:`SecurityHeaders`, :func:`host_allowed`).

    Raises
    ------
    ServerSetupError
        When the viewer is not installed, or the plan or the database cannot be used.
    """
    import jinja2
    from markupsafe import Markup
    from starlette.applications import Starlette
    from starlette.convertors import CONVERTOR_TYPES, register_url_convertor
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from dqm.identifiers import Masker
    from dqm.semantic.planfile import PlanError, read_plan
    from dqm.semantic.server.db import DB_NAME

    check_viewer()
    try:
        plan = plan or read_plan(review_dir)
    except PlanError as exc:
        raise ServerSetupError(str(exc)) from None
    try:
        db = ReviewDB(review_dir / DB_NAME, plan.plan_id)
    except ReviewDBError as exc:
        raise ServerSetupError(str(exc)) from None
    masker = Masker(profile.deid, mask_key)
    sample = ReviewSample(plan, batch, profile, masker, lang)

    def unavailable(exc: SlideUnavailable) -> str:
        """Why a slide is not served, as the reviewer sees it: masked (it may name the slide's
        file or a part's by its place in the batch, and a file name may hold an identifier)."""
        return sample.text(reason(exc, lang))

    def not_audited(n: int, exc: SlideUnavailable) -> None:
        """Slide ``n`` refused as not the file the audit checked: logged, and marked in the
        database as not reviewable (no verdict taken on it, none exported)."""
        why = unavailable(exc)
        db.mark_not_reviewable(sample.slides[n].slide_id, why)
        logging.getLogger("uvicorn.error").warning(
            msg(
                "slide {n} ({id}) is not the file the audit checked: its tiles are refused and it is marked "
                "not reviewable: {why}",
                n=n + 1,
                id=sample.text(sample.slides[n].slide_id),
                why=why,
            )
        )

    recorded = {s.n: plan_recorded(p.files, masker) for s, p in zip(sample.slides, plan.sample, strict=True)}
    tiles = TileSource(
        batch,
        {s.n: s.image_path for s in sample.slides},
        max_open=max_open,
        recorded={n: r for n, r in recorded.items() if r is not None},
        not_audited=not_audited,
    )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.globals.update(
        _=markup_translator(lang),
        lang=lang,
        code=lambda text: Markup("<code>{}</code>").format(text),
        bold=lambda text: Markup('<b id="reviewer">{}</b>').format(text),
        words=Markup(script_words(lang)),
    )

    def page(template: str, http_status: int = 200, **values: Any) -> Response:
        """A page, every text in it shown as it is (:func:`~dqm.output.visible`): a reviewer's
        name or a refusal naming a file cannot display reversed."""
        return HTMLResponse(visible(env.get_template(template).render(**values)), status_code=http_status)

    sign_ins = auth.SignInLimit()

    def client_address(request: Request) -> str:
        return auth.sign_in_key(request.client.host if request.client is not None else "")

    def too_many(request: Request, wait: int) -> Response:
        """429: the client address used up its failed sign-ins (:class:`~auth.SignInLimit`)."""
        response = refused(
            request,
            429,
            msg("too many failed sign-ins from this address: try again in {seconds} s", seconds=wait),
        )
        response.headers["retry-after"] = str(wait)
        return response

    def unserved(request: Request, exc: SlideUnavailable) -> Response:
        """Why slide ``exc`` is not served or takes no verdict: 503 with ``Retry-After`` where it
        could not be checked against the audit's record just now (:class:`SlideNotChecked`: a
        transient error, to be asked again, as the other transient answers say), else 404."""
        if isinstance(exc, SlideNotChecked):
            response = refused(request, 503, unavailable(exc))
            response.headers["retry-after"] = str(1 if isinstance(exc, TilesBusy) else RETRY_SECONDS)
            return response
        return refused(request, 404, unavailable(exc))

    def refused(request: Request, status: int, message: str) -> Response:
        """The refusal, its ``message`` (a msgid, or a :func:`~dqm.i18n.msg`) in ``lang``: JSON
        ``{"error": …}`` for the API and the tiles, else a page."""
        text = visible(message.rendered(lang) if isinstance(message, Text) else gettext(message, lang))
        response: Response
        if request.url.path.startswith(("/api/", "/dz/")):
            response = JSONResponse({"error": text}, status_code=status)
        else:
            response = page("refused.html", status, status=status, message=text)
        if status == 413:  # the rest of the body is not read: the connection cannot go on
            response.headers["connection"] = "close"
        return response

    def need(request: Request) -> auth.Session | Response:
        """The request's session (its cookie, else its bearer token: a sign-in, limited), or the
        refusal."""
        session = auth.read_session(db, request.cookies.get(auth.COOKIE))
        header = request.headers.get("authorization")
        if session is None and header is not None and header.lower().startswith("bearer "):
            address = client_address(request)
            wait = sign_ins.wait(address)
            if wait:
                return too_many(request, wait)
            session = auth.bearer(db, header)
            if session is None:
                sign_ins.failed(address)
        if session is None:
            return refused(request, 401, N_("sign in with the link dqm review add-reviewer printed for you"))
        auth.mark_signed_in(request.scope)  # its network is a reviewer's (the handshake guard)
        return session

    def need_write(request: Request) -> auth.Session | Response:
        """The session of a write, or the refusal (no session, other origin, not JSON, bad CSRF)."""
        got = need(request)
        if isinstance(got, Response):
            return got
        return write_check(request, got) or got

    def write_check(request: Request, session: auth.Session) -> Response | None:
        if from_another_site(request):
            return refused(request, 403, N_("a write from another site is refused"))
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return refused(request, 415, N_("send JSON"))
        if not auth.csrf_ok(db, session, request.headers.get(auth.CSRF_HEADER)):
            return refused(request, 403, N_("missing or wrong CSRF token: reload the page"))
        return None

    async def json_body(request: Request) -> Any:
        """The request's JSON, read no further than :data:`MAX_BODY` bytes (raises
        :class:`BodyTooLarge` past it: a body is never held whole before it is measured; one whose
        ``Content-Length`` says more never gets here, :class:`SecurityHeaders` refuses it) and
        parsed as one JSON object (:func:`json_object`). Raises :class:`ClientGone` where the
        connection closed before the body was whole (Starlette's ``ClientDisconnect`` went up to
        uvicorn: "Exception in ASGI application" and its traceback in the log for each request
        whose ``Content-Length`` promised more than came, or whose client left mid-body)."""
        from starlette.requests import ClientDisconnect

        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY:
                    raise BodyTooLarge(N_("request too large"))
                chunks.append(chunk)
        except ClientDisconnect:
            raise ClientGone from None
        return json_object(b"".join(chunks))

    def gone() -> Response:
        """The answer to a request whose client left mid-body (:class:`ClientGone`): never sent,
        but the request ends as every other does (its access log line)."""
        return Response(status_code=400, headers={"connection": "close"})

    def slide_number(request: Request) -> int | None:
        n = int(request.path_params["n"])
        return n if 0 <= n < len(sample.slides) else None

    # ------------------------------------------------------------------ pages
    def login_page(request: Request) -> Response:
        # whether this browser is signed in, said in the page: login.js asked /api/state, whose 401
        # in a browser not signed in was a red console line on every /login opened with no link
        signed_in = auth.read_session(db, request.cookies.get(auth.COOKIE)) is not None
        return page("login.html", signed_in=signed_in)

    async def login(request: Request) -> Response:
        address = client_address(request)
        wait = sign_ins.wait(address)
        if wait:  # before the token is looked at
            return too_many(request, wait)
        if from_another_site(request):  # login CSRF: another site's page signing this browser in
            return refused(request, 403, N_("a sign-in from another site is refused"))
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return refused(request, 415, N_("send JSON"))
        try:
            body = await json_body(request)
        except ClientGone:
            return gone()
        except BodyTooLarge:
            return refused(request, 413, N_("request too large"))
        except ValueError:
            return refused(request, 400, N_("bad request"))
        peek = body.get("peek", False) if isinstance(body, dict) else False
        if not isinstance(peek, bool):  # "peek": 1 or "true" signed in for real: a caller's mistake
            return refused(request, 400, N_('"peek" must be true or false'))
        token = body.get("token") if isinstance(body, dict) else None
        reviewer = db.reviewer_by_token(token) if isinstance(token, str) else None
        if reviewer is None:
            sign_ins.failed(address)
            return refused(request, 401, N_("this link is not valid (ask for a new one)"))
        from starlette.concurrency import run_in_threadpool

        if peek:  # whose link this is, and who this browser is signed in as now: no session made
            now = await run_in_threadpool(auth.read_session, db, request.cookies.get(auth.COOKIE))
            return JSONResponse(
                {"reviewer": reviewer.name, "current": None if now is None else now.reviewer.name}
            )

        cookie = await run_in_threadpool(auth.new_session, db, reviewer)  # a database write: off the loop
        auth.mark_signed_in(request.scope)
        response = JSONResponse({"reviewer": reviewer.name})
        response.set_cookie(
            auth.COOKIE,
            cookie,
            max_age=auth.SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    def logout(request: Request) -> Response:
        got = need_write(request)
        if isinstance(got, Response):
            return got
        auth.end_session(db, got)
        response = JSONResponse({"ok": True})
        response.delete_cookie(auth.COOKIE, httponly=True, samesite="strict")
        return response

    def index(request: Request) -> Response:
        got = need(request)
        if isinstance(got, Response):
            return got
        return page(
            "index.html",
            reviewer=got.reviewer.name,
            adjudicator=got.reviewer.adjudicator,
            csrf=auth.csrf_token(db, got),
        )

    # ------------------------------------------------------------------ API
    def state(request: Request) -> Response:
        got = need(request)
        if isinstance(got, Response):
            return got
        by_id = {s.slide_id: s.n for s in sample.slides}
        mine = {
            str(by_id[r.slide_id]): {
                "verdict": r.verdict,
                "reasons": list(r.reasons),
                "comment": r.comment,
                "at": r.created_at,
            }
            for r in db.current(got.reviewer)
            if r.slide_id in by_id and r.verdict
        }
        return JSONResponse(
            {
                "reviewer": got.reviewer.name,
                "adjudicator": got.reviewer.adjudicator,
                "csrf": auth.csrf_token(db, got),
                "plan_id": plan.plan_id,
                "sample_size": len(sample.slides),
                "reasons": sample.reasons(),
                "classes": sample.classes(),
                "slides": sample.summary(),
                "verdicts": mine,
                "unreadable": unreadable(),
            }
        )

    def unreadable() -> list[str]:
        """Why each database row met so far is left out (another program's rows, badly typed):
        said on the page, not dropped without a word."""
        return [
            sample.text(why.rendered(lang) if isinstance(why, Text) else gettext(why, lang))
            for why in db.unreadable
        ]

    def slide(request: Request) -> Response:
        got = need(request)
        if isinstance(got, Response):
            return got
        n = slide_number(request)
        if n is None:
            return refused(request, 404, NO_SUCH_SLIDE)
        detail = dict(sample.detail(n))
        try:
            info = tiles.info(n)
            detail["image"] = info
            detail["image_error"] = None
        except SlideNotChecked as exc:  # not "no image": to be asked again, as its tiles answer
            return unserved(request, exc)
        except SlideUnavailable as exc:
            detail["image"] = None
            detail["image_error"] = unavailable(exc)
        detail["history"] = [
            {"verdict": r.verdict, "reasons": list(r.reasons), "comment": r.comment, "at": r.created_at}
            for r in db.log(got.reviewer, sample.slides[n].slide_id)
        ]
        detail["unreadable"] = unreadable()
        return JSONResponse(detail)

    async def verdict(request: Request) -> Response:
        got = need_write(request)
        if isinstance(got, Response):
            return got
        try:
            body = await json_body(request)
        except ClientGone:
            return gone()
        except BodyTooLarge:
            return refused(request, 413, N_("request too large"))
        except ValueError as exc:
            return refused(request, 400, msg("bad verdict: {error}", error=reason(exc, lang)))
        try:
            n = body["slide"]
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < len(sample.slides):
                raise ValueError(NO_SUCH_SLIDE)
            reasons = body.get("reasons", [])
            comment = body.get("comment", "")
            if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
                raise ValueError(N_("reasons must be a list of reason ids"))
            if not isinstance(comment, str) or not isinstance(body.get("verdict"), str):
                raise ValueError(N_("verdict and comment must be text"))
        except (ValueError, KeyError, TypeError) as exc:
            return refused(request, 400, msg("bad verdict: {error}", error=reason(exc, lang)))
        from starlette.concurrency import run_in_threadpool

        def taken() -> LogRow:
            """The verdict recorded, its slide checked against the audit's record first (a verdict
            may come for a slide never shown, never opened: one swapped since the audit is marked
            not reviewable then, and the database refuses its verdict)."""
            if body["verdict"]:
                try:
                    tiles.check_audited(n)
                except SlideNotChecked:  # a transient error: answered 503, nothing recorded
                    raise
                except SlideUnavailable:
                    pass
            return db.record(got.reviewer, sample.slides[n].slide_id, body["verdict"], reasons, comment)

        try:
            row = await run_in_threadpool(taken)
        except ReviewDBError as exc:
            return refused(request, 400, reason(exc, lang))
        except SlideNotChecked as exc:
            return unserved(request, exc)
        return JSONResponse(
            {
                "slide": n,
                "verdict": row.verdict,
                "reasons": list(row.reasons),
                "comment": row.comment,
                "at": row.created_at,
            }
        )

    def disagreements(request: Request) -> Response:
        got = need(request)
        if isinstance(got, Response):
            return got
        if not got.reviewer.adjudicator:
            return refused(request, 403, N_("only an adjudicator sees other reviewers' verdicts"))
        n_of = {s.slide_id: s.n for s in sample.slides}
        rows = db.disagreements([s.slide_id for s in sample.slides])
        return JSONResponse(
            [
                {
                    "n": n_of[d["slide_id"]],
                    "id": sample.text(d["slide_id"]),
                    "verdicts": [{**v, "comment": sample.text(v["comment"])} for v in d["verdicts"]],
                }
                for d in rows
            ]
        )

    # ------------------------------------------------------------------ tiles
    def dzi(request: Request) -> Response:
        got = need(request)
        if isinstance(got, Response):
            return got
        n = slide_number(request)
        try:
            if n is None:
                raise SlideUnavailable(NO_SUCH_SLIDE)
            # asked again each time (no-cache: a browser keeps it but revalidates, here a full fetch
            # of a few hundred bytes): a part replaced since, the next open is refused, not shown
            # from the browser's copy; a tile keeps its hour (each fetched is checked here)
            return Response(
                tiles.dzi(n), media_type="application/xml", headers={"cache-control": "private, no-cache"}
            )
        except SlideUnavailable as exc:
            return unserved(request, exc)

    in_flight: dict[str, int] = {}
    in_flight_lock = threading.Lock()

    def tile(request: Request) -> Response:
        got = need(request)
        if isinstance(got, Response):
            return got
        n = slide_number(request)
        p = request.path_params
        client = client_address(request)
        with in_flight_lock:  # one client's flood of tiles holds at most its share of the threads
            if in_flight.get(client, 0) >= TILES_PER_CLIENT:
                return unserved(request, TilesBusy(BUSY))
            in_flight[client] = in_flight.get(client, 0) + 1
        try:
            if n is None:
                raise SlideUnavailable(NO_SUCH_SLIDE)
            data = tiles.tile(n, int(p["level"]), int(p["col"]), int(p["row"]))
        except SlideUnavailable as exc:
            return unserved(request, exc)
        finally:
            with in_flight_lock:
                in_flight[client] -= 1
                if not in_flight[client]:
                    del in_flight[client]
        return Response(data, media_type="image/jpeg", headers={"cache-control": "private, max-age=3600"})

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        return refused(request, status, N_("not found") if status == 404 else N_("refused"))

    if "dqm_index" not in CONVERTOR_TYPES:
        register_url_convertor("dqm_index", cast(Any, IndexConvertor()))  # Convertor's protocol
    routes = [
        Route("/", index),
        Route("/login", login_page),
        Route("/api/login", login, methods=["POST"]),
        Route("/api/logout", logout, methods=["POST"]),
        Route("/api/state", state),
        Route("/api/slides/{n:dqm_index}", slide),
        Route("/api/verdicts", verdict, methods=["POST"]),
        Route("/api/disagreements", disagreements),
        Route("/dz/{n:dqm_index}.dzi", dzi),
        Route("/dz/{n:dqm_index}_files/{level:dqm_index}/{col:dqm_index}_{row:dqm_index}.jpeg", tile),
        Mount("/static", StaticFiles(directory=STATIC, follow_symlink=False), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        yield
        tiles.close()
        db.close()

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found}, lifespan=lifespan)
    app.state.db = db
    app.state.sample = sample
    app.state.tiles = tiles
    app.state.sign_ins = sign_ins
    app.state.lang = lang
    return SecurityHeaders(app, hosts)


NO_SUCH_SLIDE = N_("no such slide in the sample")


class IndexConvertor:
    """A slide number, Deep Zoom level, column or row in a path: 1 to 9 digits. Starlette's
    ``int`` took any number of digits and ``int()`` of over 4,300 of them raised ValueError in the
    router: a 500 and a traceback in the log for ``/dz/99…9.dzi``; a longer number now matches no
    route (404), and none is that large (levels are under 40, tiles of a level under 10^6)."""

    regex = "[0-9]{1,9}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(int(value))


def from_another_site(request: Any) -> bool:
    """Whether a browser says the request comes from a page of another site: an ``Origin`` other
    than the server's own (``scheme://host:port``), or, without one, a ``Referer`` whose origin is
    another. A request with neither (a script, curl), or with an empty ``Referer``, is not from
    another site: the other checks (JSON, CSRF token, the token itself) still apply to it."""
    own = f"{request.url.scheme}://{request.url.netloc}"
    origin = request.headers.get("origin")
    if origin is not None:
        return bool(origin != own)
    referer = request.headers.get("referer")
    if not referer:  # absent, or empty (as a browser never sends it; an odd script may): no site named
        return False
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(referer)
    except ValueError:
        return True
    return f"{parts.scheme}://{parts.netloc}" != own


def reason(exc: Exception, lang: str) -> str:
    """Why ``exc`` was raised, in ``lang``: its message built with :func:`~dqm.i18n.msg` (or a
    msgid) rendered, else its text as it is (a key error names the missing key)."""
    said = exc.args[0] if len(exc.args) == 1 else None
    if isinstance(said, Text):
        return said.rendered(lang)
    return gettext(said, lang) if isinstance(said, str) and not isinstance(exc, KeyError) else str(exc)


def json_object(data: bytes) -> dict[str, Any]:
    """``data`` parsed as one JSON object, or a ``ValueError`` saying why not: not UTF-8 or not
    JSON, nested deeper than the parser's recursion, not an object, a key given twice in an
    object (json.loads kept the last one: ``{"verdict": "pass", "verdict": "fail"}`` was a FAIL
    that a proxy or a log reading the first key would call a PASS), or text that is not valid
    Unicode (an escaped lone surrogate such as ``\\ud800`` could not be hashed nor stored: 500)."""

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            raise ValueError(N_("a key is given twice in a JSON object"))
        return obj

    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=unique)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise ValueError(N_("the JSON is nested too deeply")) from None
    except UnicodeEncodeError:
        raise ValueError(N_("the JSON holds text that is not valid Unicode (a lone surrogate)")) from None
    if not isinstance(value, dict):
        raise ValueError(N_("send a JSON object"))
    return value


def script_words(lang: str) -> str:
    """:data:`SCRIPT_WORDS` in ``lang`` as JSON safe inside ``<script type="application/json">``."""
    text = json.dumps({k: gettext(w, lang) for k, w in SCRIPT_WORDS.items()}, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only listens on this machine."""
    import ipaddress

    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url(host: str, port: int, tls: bool = False) -> str:
    """The server's base URL as a reviewer types it."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    if host in ("0.0.0.0", "::"):
        shown = "HOST"
    scheme = "https" if tls else "http"
    default = 443 if tls else 80
    return f"{scheme}://{shown}" + ("" if port == default else f":{port}")
