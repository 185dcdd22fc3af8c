"""What ``dqm review serve``, ``dqm review add-reviewer`` and ``dqm review export`` do.

The command line only parses options and turns :class:`CommandError` into exit code 2.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dqm.i18n import Message, msg
from dqm.semantic.server.app import ServerSetupError, check_viewer, create_app, is_loopback, url

__all__ = [
    "CommandError",
    "add_reviewer",
    "build",
    "export",
    "exposure_warning",
    "serve",
    "server_options",
    "url",
]
from dqm.semantic.server.db import DB_NAME, ReviewDB, ReviewDBError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


class CommandError(ValueError):
    """A usage error: the message says what to do."""


def exposure_warning(host: str, tls: bool) -> str | None:
    """What to warn about when the server listens where other machines can reach it (else None)."""
    if is_loopback(host):
        return None
    if tls:
        return msg("listening on {host}: other machines can reach this server", host=host)
    return msg(
        "listening on {host}: other machines can reach this server; traffic is NOT encrypted (give "
        "--ssl-keyfile and --ssl-certfile, or a TLS reverse proxy)",
        host=host,
    )


def database(review_dir: Path, create: bool = False) -> ReviewDB:
    """The review folder's database (created with the plan's id when ``create``; else opened read
    only: ``dqm review export`` switched a database to WAL and added the tables of this dqm's schema
    to an older dqm's, writing to the folder it only reads)."""
    from dqm.semantic.planfile import PlanError, read_plan

    try:
        plan = read_plan(review_dir)
    except PlanError as exc:
        raise CommandError(str(exc)) from None
    path = review_dir / DB_NAME
    if not create and not path.is_file():
        raise CommandError(
            msg("{path} does not exist: add a reviewer first (dqm review add-reviewer)", path=path)
        )
    try:
        return ReviewDB(path, plan.plan_id, readonly=not create)
    except ReviewDBError as exc:
        raise CommandError(str(exc)) from None


def add_reviewer(
    review_dir: Path,
    name: str,
    adjudicator: bool = False,
    rotate: bool = False,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    tls: bool = False,
) -> str:
    """Register a reviewer and return their sign-in link (the token is shown only here)."""
    db = database(review_dir, create=True)
    try:
        token = db.add_reviewer(name, adjudicator=adjudicator, rotate=rotate)
    except ReviewDBError as exc:
        raise CommandError(*exc.args) from None  # its msg(), translated where it is printed
    finally:
        db.close()
    return f"{url(host, port, tls)}/login#token={token}"


def export(
    review_dir: Path,
    out: Path,
    mask: Callable[[str], str] | None = None,
    warn: Callable[[str], None] | None = None,
) -> int:
    """Write the current verdicts as a ``dqm.verdicts/1`` JSON file through ``mask``; returns how
    many. Each row left out because it cannot be read (:attr:`ReviewDB.unreadable`) is said
    through ``warn``, masked as the file is (it quotes the row's slide or reviewer_id): the file
    written lacks it."""
    from dqm.output import write_file

    db = database(review_dir)
    try:
        doc = db.export()
        left_out = list(db.unreadable)
    finally:
        db.close()
    for why in left_out:
        if warn is not None:
            warn(_masked(why, mask))
    write_file(out, json.dumps(doc, ensure_ascii=False, indent=2) + "\n", mask)
    return len(doc["verdicts"])


def _masked(text: str, mask: Callable[[str], str] | None) -> str:
    """``text`` through ``mask``; a :class:`~dqm.i18n.Message` keeps its msgid (it is still said in
    the command's language), each of its text parameters masked."""
    if mask is None:
        return text
    if isinstance(text, Message):
        params = {k: mask(v) if isinstance(v, str) else v for k, v in text.params.items()}
        return Message(text.template, params, text.context)
    return mask(text)


def build(
    review_dir: Path,
    batch: Path,
    profile: Any,
    mask_key: bytes | None = None,
    lang: str = "en",
    host: str | None = None,
    behind_proxy: bool = False,
    allowed_hosts: Sequence[str] = (),
) -> Any:
    """The application, or a :class:`CommandError` saying why it cannot start. Listening on
    ``host``, it answers only requests that name an IP address, localhost, this machine, ``host``
    or one of ``allowed_hosts`` (:func:`host_names`): a page of another site whose name was
    pointed at this server (DNS rebinding) is refused."""
    from dqm.identifiers import load_mask_key

    if not batch.is_dir():
        raise CommandError(msg("batch folder {path} not found", path=batch))
    hosts = host_names(host, allowed_hosts, behind_proxy)
    try:
        check_viewer()  # before the masking key is loaded (or created)
        app = create_app(
            review_dir, batch.resolve(), profile, mask_key or load_mask_key(), lang=lang, hosts=hosts
        )
    except (ServerSetupError, ValueError, OSError) as exc:
        raise CommandError(str(exc)) from None
    sample = app.state.sample
    if sample.slides and len(sample.missing_from_batch) == len(sample.slides):
        app.state.db.close()
        raise CommandError(
            msg(
                "none of the {n} sampled slides is in {path}: give --batch the folder the sample was drawn "
                "from ({drawn_from})",
                n=len(sample.slides),
                path=batch,
                drawn_from=sample.plan.batch.path,
            )
        )
    return app


def not_recorded(plan: Any) -> Any:
    """The start-up warning of a review plan (:class:`~dqm.semantic.models.ReviewPlan`) that holds
    no record of some drawn slides' files (written by an older ``dqm sample``): those slides are
    checked against their first open in the server only, as before; None when every slide with an
    image has its record."""
    unrecorded = [s for s in plan.sample if s.image_path and s.files is None]
    if not unrecorded:
        return None
    return msg(
        "{n} of {total} sampled slides have no record of the audit's files in the review plan (a plan of "
        "an older dqm sample): their tiles are checked against their first open in this server only, not "
        "against the audit (a slide swapped before it is shown as the audited one)",
        n=len(unrecorded),
        total=len(plan.sample),
    )


HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?")


def host_names(host: str | None, allowed: Sequence[str], behind_proxy: bool) -> frozenset[str] | None:
    """The host names the server answers to besides IP addresses and localhost
    (:func:`~dqm.semantic.server.app.host_allowed`): this machine's name, ``host`` where it is a
    name, and ``allowed`` (``--allowed-host``; ``*`` for any). None, every name, without ``host``
    (an application built for tests) or behind a reverse proxy given no ``allowed`` (the proxy
    chooses the names it forwards)."""
    if host is None or (behind_proxy and not allowed):
        return None
    names = {name.lower().rstrip(".") for name in allowed}
    for name in names:
        if name != "*" and not HOST_NAME.fullmatch(name):
            raise CommandError(
                msg(
                    "--allowed-host {name!r} is not a host name (a name such as review.example.org, no port)",
                    name=name,
                )
            )
    if not behind_proxy:
        own = socket.gethostname().lower().rstrip(".")
        names |= {own, own.partition(".")[0], host.lower().strip("[]").rstrip(".")}
    return frozenset(names - {""})


def serve(
    review_dir: Path,
    batch: Path,
    profile: Any,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    ssl_keyfile: Path | None = None,
    ssl_certfile: Path | None = None,
    warn: Callable[[str], None] | None = None,
    mask_key: bytes | None = None,
    lang: str = "en",
    behind_proxy: bool = False,
    allowed_hosts: Sequence[str] = (),
) -> None:
    """Run the server until interrupted (uvicorn, one process; tiles in its thread pool); its
    pages in ``lang``; the host names it answers to besides its addresses in ``allowed_hosts``."""
    import uvicorn

    if (ssl_keyfile is None) != (ssl_certfile is None):
        raise CommandError(msg("give both --ssl-keyfile and --ssl-certfile, or neither"))
    app = build(review_dir, batch, profile, mask_key, lang, host, behind_proxy, allowed_hosts)
    missing = app.state.sample.missing_from_batch
    if missing and warn is not None:
        warn(
            msg(
                "{n} sampled slide(s) are not in the batch any more (first: {first}): they show no image",
                n=len(missing),
                first=missing[0],
            )
        )
    unrecorded = not_recorded(app.state.sample.plan)
    if unrecorded is not None and warn is not None:  # said once, at start
        warn(unrecorded)
    from dqm.semantic.server.guard import GuardedServer

    options = server_options(host, port, ssl_keyfile, ssl_certfile, behind_proxy)
    server = GuardedServer(uvicorn.Config(app, **options), lang)
    with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run: Ctrl-C ends the server
        server.run()
    if not server.started:  # uvicorn logged why (the port is taken, a certificate is unreadable)
        raise CommandError(msg("the review server did not start: see the log above"))


def server_options(
    host: str, port: int, ssl_keyfile: Path | None, ssl_certfile: Path | None, behind_proxy: bool
) -> dict[str, Any]:
    """uvicorn's options for the server. ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are
    believed only ``behind_proxy``, and then only from 127.0.0.1 (the TLS reverse proxy on this
    machine says the reviewer's address, for the sign-in limit, and that the scheme was https, for
    the Secure cookie and the Origin check). Otherwise every client of a server on this machine
    connects from 127.0.0.1 and could name any address in the header, a new one for each wrong
    token, and never be limited. Connections are bounded and a request must arrive whole in time
    (:mod:`~dqm.semantic.server.guard`); run them with
    :class:`~dqm.semantic.server.guard.GuardedServer` (the TLS handshake bounded too, on
    asyncio's loop)."""
    from dqm.semantic.server.guard import guarded_protocol

    return {
        "host": host,
        "port": port,
        "ssl_keyfile": str(ssl_keyfile) if ssl_keyfile else None,
        "ssl_certfile": str(ssl_certfile) if ssl_certfile else None,
        "log_level": "info",
        "proxy_headers": behind_proxy,
        "forwarded_allow_ips": "127.0.0.1" if behind_proxy else "",
        "server_header": False,
        "http": guarded_protocol(behind_proxy),
        "loop": "asyncio",
    }
