"""The review server against slow and greedy clients: real sockets on a real uvicorn server started
with the options ``dqm review serve`` gives it (:func:`~dqm.semantic.server.commands.server_options`),
its limits made small so that the tests are quick."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dqm.profile import load_profile
from dqm.semantic.server.app import VIEWER_JS
from dqm.semantic.server.commands import build, server_options
from tests.helpers import within
from tests.semantic.test_review_server import KEY, fresh, review, reviewer  # noqa: F401 (fixtures)

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_review_server.py"
"""The benchmark whose reviewer under a flood of handshakes (``handshake_step``) the tests use too."""
WAIT = 20.0
"""Seconds a test waits for an answer the server owes (far above the limits it runs with)."""


def start(server: Any, running: list[tuple[Any, threading.Thread]], **run: Any) -> None:
    """Runs ``server`` in a thread (``run``: the arguments of its ``run``) and waits until it listens."""
    thread = threading.Thread(target=server.run, kwargs=run, daemon=True)
    thread.start()
    running.append((server, thread))
    deadline = time.monotonic() + WAIT
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)


@pytest.fixture
def served(fresh: tuple[Path, Path]) -> Iterator[Any]:  # noqa: F811
    """``serve(**limits)`` starts the application on a free local port, the protocol class of its
    options given ``limits`` (:class:`~dqm.semantic.server.guard.GuardedH11Protocol`'s attributes);
    returns the port."""
    import uvicorn

    review_dir, batch = fresh
    running: list[tuple[Any, threading.Thread]] = []

    def serve(**limits: Any) -> int:
        app = build(review_dir, batch, load_profile(), KEY, host="127.0.0.1")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        options = server_options("127.0.0.1", port, None, None, False) | {"log_level": "warning"}
        for name, value in limits.items():  # on the class made for this server only
            setattr(options.get("http"), name, value)
        start(uvicorn.Server(uvicorn.Config(app, **options)), running)
        return port

    serve.running = running  # type: ignore[attr-defined]
    yield serve
    for server, thread in running:
        server.should_exit = True
        thread.join(10)


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT, source_address=(source, 0))
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a timeout fails the test)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def get(port: int, source: str = "127.0.0.1") -> int:
    """The status of ``GET /login`` on a new connection from ``source``."""
    with connect(port, source) as sock:
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return int(read_all(sock).split(b" ", 2)[1])


def test_a_client_that_never_finishes_its_headers_is_disconnected(served: Any) -> None:
    """A slowloris client (one header byte now and then, never the blank line) held its connection
    for as long as it kept sending: uvicorn only timed out idle keep-alive connections. Now the
    request must be whole within the deadline from its first byte: 408, then the connection is
    closed, however steadily the bytes trickle in."""
    port = served(request_seconds=1.0)
    with connect(port) as sock:
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sent = 0
        closed = b""
        for _ in range(int(WAIT / 0.2)):
            try:
                sock.sendall(b"X")
                sent += 1
            except OSError:
                break
            sock.settimeout(0.2)
            try:
                closed = sock.recv(65536)
                break
            except TimeoutError:
                continue
        assert closed.startswith(b"HTTP/1.1 408 "), closed
    assert sent < int(WAIT / 0.2)
    with connect(port) as sock:  # nothing sent at all
        assert read_all(sock).startswith(b"HTTP/1.1 408 ")


def test_a_body_that_never_arrives_whole_is_disconnected(served: Any) -> None:
    """Complete headers announcing 100 bytes of body, then silence: the handler waited for the body
    for ever. Now the connection is closed at the deadline."""
    port = served(request_seconds=1.0)
    with connect(port) as sock:
        sock.sendall(
            b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        assert read_all(sock).startswith(b"HTTP/1.1 408 ")


def answered(sock: socket.socket) -> bytes:
    """The answer to ``GET /login`` sent on ``sock``, the connection left open (keep-alive)."""
    sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_connections_are_bounded_per_client_address_and_in_all(served: Any) -> None:
    """Each connection was kept however many one address opened: a handful of slow clients could
    hold every descriptor of the process. Past the bound for one address a new connection is
    answered 503 (with Retry-After) before it is read, and a client at another address is still
    served. When every place is taken, the oldest connection whose request is unfinished gives
    its place up (408) to the new one: connections that a few addresses open and never finish a
    request on reset every other client's before. Only when no connection has an unfinished
    request is a new one refused, with 503 too."""
    port = served(per_client=4, max_connections=8, request_seconds=60.0)
    held = [connect(port) for _ in range(4)]  # nothing sent: unfinished
    try:
        with connect(port) as extra:
            assert read_all(extra).startswith(b"HTTP/1.1 503 ")
        assert get(port, "127.0.0.2") == 200
        held += [connect(port, "127.0.0.3") for _ in range(4)]
        time.sleep(0.2)  # the server has accepted them all
        assert get(port, "127.0.0.4") == 200
        assert read_all(held[0]).startswith(b"HTTP/1.1 408 ")  # the oldest unfinished
        for sock in held:
            sock.close()
        held = [connect(port, f"127.0.0.{5 + i // 4}") for i in range(8)]
        for sock in held:  # every place held by a connection whose requests are whole
            assert answered(sock).startswith(b"HTTP/1.1 200 ")
        with connect(port, "127.0.0.7") as extra:
            answer = read_all(extra)
        assert answer.startswith(b"HTTP/1.1 503 ") and b"\r\nretry-after: " in answer.lower()
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + WAIT
    while True:  # the closed ones free their places
        try:
            assert get(port, "127.0.0.4") == 200
            break
        except (AssertionError, ValueError, IndexError, OSError):
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_connections_are_counted_per_network_of_an_ipv6_client(served: Any, monkeypatch: Any) -> None:
    """The bound per client counted exact addresses: an IPv6 client chooses the last 64 bits of
    its address, so one machine took every place. Now connections are counted by the key sign-ins
    are limited by (:func:`~dqm.semantic.server.auth.sign_in_key`: the /64 network of an IPv6
    address); here every address is made one network."""
    from dqm.semantic.server import guard

    monkeypatch.setattr(guard, "sign_in_key", lambda address: "2001:db8::/64")
    port = served(per_client=4, max_connections=8, request_seconds=60.0)
    held = [connect(port, f"127.0.0.{2 + i}") for i in range(4)]
    try:
        with connect(port, "127.0.0.9") as extra:
            assert read_all(extra).startswith(b"HTTP/1.1 503 ")
    finally:
        for sock in held:
            sock.close()


@pytest.mark.parametrize("target", [b"POST /api/login", b"GET /login", b"POST /api/logout"])
def test_a_body_larger_than_any_route_takes_is_refused_before_it_is_read(served: Any, target: bytes) -> None:
    """A request announcing a 1 GB body: /api/login answered 413 but kept the connection, and
    routes that read no body answered and then swallowed what the client sent for as long as it
    sent it. Now every route answers 413 before the body and closes the connection."""
    port = served()
    with connect(port) as sock:
        sock.sendall(
            target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000\r\n\r\n" + b"x" * 1000
        )
        answer = read_all(sock)
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 413 "), answer
    assert b"\r\nconnection: close" in head


def test_a_client_that_never_reads_its_answers_is_cut_off(served: Any) -> None:
    """A "slow read": a client pipelines requests for a 350 kB file and reads nothing. uvicorn
    waited for ever for the buffers to drain, holding the connection and the answers it had
    made (several MB). Now, once the client has read nothing for the write limit, the connection
    is dropped with what was buffered for it."""
    port = served(write_seconds=1.0, request_seconds=60.0)
    server = served.running[-1][0]
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(WAIT)
    sock.bind(("127.0.0.1", 0))
    sock.connect(("127.0.0.1", port))
    try:
        request = b"GET /static/vendor/openseadragon.min.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        sock.sendall(request * 40)
        deadline = time.monotonic() + WAIT
        while not server.server_state.connections:  # accepted
            assert time.monotonic() < deadline
            time.sleep(0.01)
        while server.server_state.connections:  # the server dropped it, nothing read here
            assert time.monotonic() < deadline, "the connection is still held"
            time.sleep(0.1)
        got = b""
        with contextlib.suppress(ConnectionResetError):
            got = read_all(sock)  # what the kernel had already taken, then the end
        assert len(got) < 40 * VIEWER_JS.stat().st_size, "every answer was kept for the client"
    finally:
        sock.close()


@pytest.fixture
def sized() -> Iterator[Any]:
    """``serve(**limits)`` starts, on a free local port, an application that answers ``GET /N``
    with N bytes, behind the protocol class ``dqm review serve`` gives uvicorn, ``limits`` set on
    it; returns the port and the server."""
    import uvicorn

    from dqm.semantic.server.guard import guarded_protocol

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        size = int(scope["path"].strip("/"))
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % size)]}
        )
        for start in range(0, size, 65536):  # as StaticFiles sends a file
            chunk = min(65536, size - start)
            await send(
                {"type": "http.response.body", "body": b"x" * chunk, "more_body": start + chunk < size}
            )

    running: list[tuple[Any, threading.Thread]] = []

    def serve(**limits: Any) -> tuple[int, Any]:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # the connections' too
        listener.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            app, http=guarded_protocol(False, **limits), log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        start(server, running, sockets=[listener])
        return listener.getsockname()[1], server

    yield serve
    for server, thread in running:
        server.should_exit = True
        thread.join(10)


def slow_socket(port: int) -> socket.socket:
    """A connection whose receive buffer is small, so that what it does not read stays with the server."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", port))
    return sock


def test_a_client_that_never_reads_the_end_of_an_answer_is_cut_off(sized: Any) -> None:
    """The clock of a slow read started only when the server's buffer went over its high-water
    mark (64 KiB): an answer complete with less than that left unsent waited for ever for a client
    that read nothing, closing at the keep-alive timeout waited too, and the connection kept its
    place in the bounds. Now the clock also starts when an answer is complete but not all sent.
    Answers of 8 to 68 kB, to clients that read none, leave from nothing to about 56 KiB unsent."""
    port, server = sized(write_seconds=1.0)
    socks = [slow_socket(port) for _ in range(8_000, 72_000, 4_000)]
    try:
        for size, sock in zip(range(8_000, 72_000, 4_000), socks, strict=True):
            sock.sendall(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % size)
        deadline = time.monotonic() + WAIT
        while server.server_state.total_requests < len(socks):  # every answer made
            assert time.monotonic() < deadline
            time.sleep(0.01)
        while server.server_state.connections:
            assert time.monotonic() < deadline, (
                f"{len(server.server_state.connections)} connections still held"
            )
            time.sleep(0.1)
    finally:
        for sock in socks:
            sock.close()


def test_a_client_that_reads_steadily_but_slowly_is_not_cut_off(sized: Any) -> None:
    """The clock of a slow read stopped only when the server's buffer drained to its low-water
    mark: a client reading 4 KB every 50 ms (80 kB/s) took longer than the limit to drain 48 KiB
    and was cut off in the middle of an answer. Now the connection is cut only when the client
    read nothing of it for the whole limit."""
    port, _ = sized(write_seconds=0.25)
    size = 400_000
    with slow_socket(port) as sock:
        sock.sendall(b"GET /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % size)
        got = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(4096):
                got += chunk
                time.sleep(0.05)
    assert got.endswith(b"\r\n\r\n" + b"x" * size), len(got)


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files in ``folder``."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    keyfile, certfile = folder / "review.key", folder / "review.crt"
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return keyfile, certfile


def ipv6() -> bool:
    """Whether this machine takes IPv6 connections (::1 can be bound)."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def free_port() -> int:
    """A port free on 127.0.0.1 and, where there is IPv6, on ::1 too."""
    with socket.socket(socket.AF_INET6 if ipv6() else socket.AF_INET) as s:
        if s.family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # both families
        s.bind(("::" if s.family == socket.AF_INET6 else "127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def tls_server(
    copied: tuple[Path, Path], folder: Path, host: str = "127.0.0.1", **limits: Any
) -> Iterator[tuple[int, Any]]:
    """A GuardedServer over TLS (a certificate made in ``folder``) on ``host`` at a free port, its
    attributes set from ``limits``: its port and a client that completes the handshake and sends
    ``GET /login`` from a given address to another (the answer's bytes; with ``held``, a list, the
    connection is kept alive and put there, and the answer's head returned)."""
    import ssl

    import uvicorn

    from dqm.semantic.server.guard import GuardedServer

    review_dir, batch = copied
    keyfile, certfile = _certificate(folder)
    app = build(review_dir, batch, load_profile(), KEY, host="127.0.0.1")
    port = free_port()
    options = server_options(host, port, keyfile, certfile, False) | {"log_level": "warning"}
    server = GuardedServer(uvicorn.Config(app, **options))
    for name, value in limits.items():
        setattr(server, name, value)
    running: list[tuple[Any, threading.Thread]] = []
    start(server, running)
    context = ssl.create_default_context(cafile=str(certfile))

    def served(source: str = "127.0.0.1", to: str = "127.0.0.1", held: list[Any] | None = None) -> bytes:
        raw = socket.create_connection(
            (to, port), timeout=WAIT, source_address=(source, 0) if to == "127.0.0.1" else None
        )
        with contextlib.ExitStack() as stack:
            tls = context.wrap_socket(stack.enter_context(raw), server_hostname="127.0.0.1")
            if held is None:
                stack.enter_context(tls)
                tls.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                return read_all(tls)
            stack.pop_all()
            held.append(tls)
            tls.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # kept alive
            head = b""
            while b"\r\n\r\n" not in head and (chunk := tls.recv(65536)):
                head += chunk
            return head

    served.server = server  # type: ignore[attr-defined]
    try:
        yield port, served
    finally:
        server.should_exit = True
        running[0][1].join(10)


def test_a_tls_client_that_never_finishes_its_handshake_is_cut_off(
    fresh: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    """Over TLS the handshake runs before the protocol sees the connection (its request deadline
    starts after it), and asyncio gave it 60 s: a client that connects and sends nothing held the
    connection that long, past the server's bounds. Now it has HANDSHAKE_SECONDS (here 1 s);
    a client that completes it is served as before."""
    with tls_server(fresh, tmp_path, handshake_seconds=1.0) as (port, served):
        with connect(port) as silent:  # connects, sends nothing
            assert read_all(silent) == b""  # closed by the server (before: WAIT passed, a timeout)
        assert served().startswith(b"HTTP/1.1 200 ")


def test_a_client_holding_tls_handshakes_open_is_refused_and_another_is_served(
    fresh: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    """A connection's TLS handshake runs before the protocol's bounds see it, and was bounded only
    in time: a client opening connections that never finish it held one descriptor each for
    HANDSHAKE_SECONDS, as many as it liked. Now one address may have HANDSHAKES_PER_CLIENT (here 2)
    unfinished at once: a third raw TCP connection is closed as soon as it is accepted (before:
    held until the handshake limit, here far beyond WAIT), a client at another address completes
    its handshake and is served meanwhile, and the address is served again once its half-open
    connections are gone. The server is the real one: GuardedServer, the application, TLS."""

    limits = {"handshake_seconds": 10 * WAIT, "handshakes_per_client": 2}  # outliving the test
    with tls_server(fresh, tmp_path, **limits) as (port, served):
        half_open = [connect(port) for _ in range(2)]  # TCP only: no ClientHello, ever
        with connect(port) as third:
            try:
                closed = read_all(third)  # a timeout (before: held for handshake_seconds) fails
            except ConnectionResetError:
                closed = b""
            assert closed == b""
        assert served("127.0.0.2").startswith(b"HTTP/1.1 200 ")  # another address, meanwhile
        for sock in half_open:
            sock.close()
        assert served_again(served).startswith(b"HTTP/1.1 200 ")


def served_again(served: Any, source: str = "127.0.0.1") -> bytes:
    """``served(source)`` once the server has seen closed what the test closed (as its loop turns)."""
    import ssl

    deadline = time.monotonic() + WAIT
    while True:
        try:
            return bytes(served(source))
        except (ssl.SSLError, OSError):
            assert time.monotonic() < deadline, "the address was not served again"
            time.sleep(0.1)


def closed_at_once(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` without a byte (a timeout, the connection held, fails)."""
    with sock:
        try:
            return read_all(sock) == b""
        except ConnectionResetError:
            return True


def test_past_the_unfinished_tls_handshakes_in_all_the_oldest_is_ended(
    fresh: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    """Unfinished handshakes are bounded in all (HANDSHAKES_AT_ONCE, here 2), for a client with an
    IPv6 /48 is 65,536 clients. Past the bound the new connection was closed at once: a client at
    many addresses holding HANDSHAKES_AT_ONCE half-open connections (under the per-client bound)
    kept every reviewer out. Now the oldest unfinished handshake is ended instead (closed at once;
    before: held for the handshake's time, here far beyond WAIT, and the newest closed), a reviewer
    at another address is served meanwhile (before: refused), and a reviewer's connection whose
    handshake is done is never ended: kept alive through it all, it answers again."""
    limits = {"handshake_seconds": 10 * WAIT, "handshakes_at_once": 2}
    held: list[Any] = []
    with tls_server(fresh, tmp_path, **limits) as (port, served):
        try:
            assert served("127.0.0.5", held=held).startswith(b"HTTP/1.1 200 ")  # kept alive
            oldest, second = connect(port, "127.0.0.2"), connect(port, "127.0.0.3")  # no ClientHello
            held += [oldest, second]  # closed here too, should the test fail
            with connect(port, "127.0.0.4"):  # the third unfinished: the oldest makes room
                assert closed_at_once(oldest)
                assert served("127.0.0.6").startswith(b"HTTP/1.1 200 ")  # room made by the second
                assert closed_at_once(second)
            held[0].sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert b"HTTP/1.1 200 " in read_all(held[0])  # the first answer's head was read
        finally:
            for sock in held:
                sock.close()


def test_handshakes_ended_to_make_room_are_bounded_while_they_close() -> None:
    """An ended handshake's socket is shut down, and its descriptor given back only when the event
    loop has closed it: past HANDSHAKES_CLOSING still closing (here 1), a new connection is closed
    at once, so a burst accepted in one go cannot hold more descriptors than the two bounds."""
    from dqm.semantic.server.guard import Handshakes

    handshakes = Handshakes(per_client=None, at_once=1, closing=1)
    pairs = [socket.socketpair() for _ in range(3)]
    try:
        (a, a_client), (b, b_client), (c, _) = pairs
        a_client.settimeout(WAIT)
        b_client.settimeout(WAIT)
        assert handshakes.admit("a", a)
        assert handshakes.admit("b", b)  # a is ended: its client reads the end
        assert a_client.recv(1) == b""
        assert not handshakes.admit("c", c)  # a is still closing
        handshakes.done("a")  # the loop has closed it
        assert handshakes.admit("c", c)  # b is ended now
        assert b_client.recv(1) == b""
        assert list(handshakes.pending) == [(None, "b"), (None, "c")] and handshakes.closing == {(None, "b")}
    finally:
        for pair in pairs:
            for sock in pair:
                sock.close()


def listening_on_loopback(handshakes: Any) -> socket.socket:
    """A socket listening on 127.0.0.1 (a free port) whose accepted connections ``handshakes``
    (a :class:`~dqm.semantic.server.guard.Handshakes`) counts, its ``accept`` waiting WAIT."""
    raw = socket.socket()
    raw.bind(("127.0.0.1", 0))
    listening = handshakes.listening(raw)
    listening.listen(8)
    listening.settimeout(WAIT)
    return listening


def test_while_ended_handshakes_close_new_connections_wait_in_the_queue_not_refused() -> None:
    """While HANDSHAKES_CLOSING ended handshakes (here 1) were still closing, a new connection was
    accepted and closed at once: under a flood (the event loop behind, the bound reached in each
    burst) a reviewer's new connection was refused 2 times in 14 though no handshake of its was
    ended. Now the listening socket takes none meanwhile (asyncio's accept loop stops at the
    BlockingIOError): the connection waits in the kernel's queue, open, and is taken once the
    loop has closed the ended one."""
    from dqm.semantic.server.guard import Handshakes

    handshakes = Handshakes(per_client=None, at_once=1, closing=1)
    listening = listening_on_loopback(handshakes)
    clients: list[socket.socket] = []
    accepted: list[socket.socket] = []
    try:
        for source in ("127.0.0.2", "127.1.0.2"):
            clients.append(socket.create_connection(listening.getsockname(), WAIT, (source, 0)))
            accepted.append(listening.accept()[0])  # the second ends the first
        assert len(handshakes.closing) == 1  # the first, ended
        clients.append(socket.create_connection(listening.getsockname(), WAIT, ("127.2.0.2", 0)))
        with pytest.raises(BlockingIOError):
            listening.accept()  # before: accepted and closed at once
        clients[2].settimeout(0.2)
        with pytest.raises(TimeoutError):
            clients[2].recv(1)  # still open, waiting
        accepted[0].close()  # the loop has closed the ended one
        accepted.append(listening.accept()[0])
        assert accepted[2].getpeername()[0] == "127.2.0.2" and len(handshakes.pending) == 2
    finally:
        for sock in clients + accepted + [listening]:
            sock.close()


def test_tls_connections_kept_alive_after_their_handshake_do_not_count_as_unfinished(
    fresh: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    """A handshake counts as unfinished from the connection's acceptance until the application's
    protocol receives the connection (its handshake done): a browser keeping more than
    HANDSHAKES_PER_CLIENT connections alive after their requests is still served on a new one
    (were the end of a handshake counted only as its connection closes, the 17th would not be)."""
    from dqm.semantic.server.guard import HANDSHAKES_PER_CLIENT

    held: list[Any] = []
    with tls_server(fresh, tmp_path) as (_port, served):
        try:
            for _ in range(HANDSHAKES_PER_CLIENT + 1):
                assert served(held=held).startswith(b"HTTP/1.1 200 ")
            assert served().startswith(b"HTTP/1.1 200 ")
        finally:
            for sock in held:
                sock.close()


@pytest.mark.skipif(not ipv6(), reason="this machine has no IPv6 (::1 cannot be bound)")
def test_a_tls_server_on_the_ipv6_any_address_takes_ipv6_only(
    fresh: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    """Over TLS the listening socket was made by uvicorn's Config.bind_socket: one socket, dual
    stack for ``--host ::``, which took IPv4 connections too where the server without TLS (and
    before the handshake bound) took IPv6 ones only. Now it binds as asyncio does: ``::`` refuses
    127.0.0.1 and serves ::1."""
    with tls_server(fresh, tmp_path, host="::") as (port, served):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=WAIT).close()
        assert served(to="::1").startswith(b"HTTP/1.1 200 ")


@pytest.mark.skipif(not ipv6(), reason="this machine has no IPv6 (::1 cannot be bound)")
def test_a_tls_server_on_a_name_listens_on_each_of_its_addresses(
    fresh: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host name with an IPv4 and an IPv6 address: bind_socket bound the name's first IPv4
    address only (one with IPv6 addresses only did not start); now each address has its socket,
    as without TLS."""
    resolve = socket.getaddrinfo

    def named(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "review.test":
            return resolve("127.0.0.1", *args, **kwargs) + resolve("::1", *args, **kwargs)
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", named)
    with tls_server(fresh, tmp_path, host="review.test") as (_port, served):
        assert served(to="127.0.0.1").startswith(b"HTTP/1.1 200 ")
        assert served(to="::1").startswith(b"HTTP/1.1 200 ")


def test_the_servers_log_lines_are_escaped_clipped_and_in_its_language() -> None:
    """uvicorn's access line quoted the request's path and query as they came (up to h11's 16 KiB:
    a line each) and a forwarded client address with bytes 0x80-0xFF (C1 controls to a terminal);
    the guard's own line was English whatever --lang said. GuardedServer puts SafeLog on uvicorn's
    loggers: every text argument escaped and clipped, dqm's messages in the server's language."""
    import logging

    import uvicorn

    from dqm.i18n import msg
    from dqm.semantic.server.guard import LOGGED_CHARS, GuardedServer, SafeLog

    async def app(scope: Any, receive: Any, send: Any) -> None:  # never run
        raise AssertionError

    GuardedServer(uvicorn.Config(app, log_level="warning"), "ko")
    access = logging.getLogger("uvicorn.access")
    assert [f.lang for f in access.filters if isinstance(f, SafeLog)] == ["ko"]
    hostile = "/api/" + "\x1b]0;owned\x07\x9b2J\u202egpj.svs\r\nFAKE LINE " + "a" * 20_000
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("10.0.0.1\x85:5555", "GET", hostile, "1.1", 200), None,
    )  # fmt: skip
    for f in access.filters:
        f.filter(record)
    line = record.getMessage()
    assert "\x1b" not in line and "\x9b" not in line and "\u202e" not in line and "\x85" not in line
    assert "\r" not in line and "\n" not in line and "\\x1b]0;owned" in line and "\\u202e" in line
    assert len(line) < LOGGED_CHARS + 200 and "cut: 20,0" in line
    closed = logging.LogRecord(
        "uvicorn.error", logging.WARNING, __file__, 1,
        msg("closed {slow} connection(s) that did not send a whole request within {seconds} s, "
            "{stalled} that read nothing of an answer for {write_seconds} s and {over} over the "
            "limits ({total} open at once, {per_client} from one address)",
            slow=1, seconds=10, stalled=0, write_seconds=30, over=0, total=512, per_client=48),
        None, None,
    )  # fmt: skip
    for f in logging.getLogger("uvicorn.error").filters:
        f.filter(closed)
    assert any("\uac00" <= c <= "\ud7a3" for c in closed.getMessage())  # Korean, as --lang ko
    GuardedServer(uvicorn.Config(app, log_level="warning"))  # another server: one filter, its language
    assert [f.lang for f in access.filters if isinstance(f, SafeLog)] == ["en"]


def read_slowly(sock: socket.socket, rate: float, seconds: float) -> bytes:
    """What ``sock`` receives, read at ``rate`` bytes a second for ``seconds``, then at full speed
    until the server closes it (a reset raises: the server cut the client off)."""
    data, started = b"", time.monotonic()
    while time.monotonic() - started < seconds:
        chunk = sock.recv(int(rate / 10))
        if not chunk:
            return data
        data += chunk
        time.sleep(len(chunk) / rate)
    return data + read_all(sock)


def test_an_honest_reader_at_2_kb_s_of_the_review_page_and_its_tiles_is_not_cut(
    served: Any,
    fresh: tuple[Path, Path],  # noqa: F811
) -> None:
    """The slow-read rule cuts a client whose kernel takes none of an answer for WRITE_SECONDS
    while the server still holds some of it (docs/semantic.md, Security). A reviewer on a slow
    link reading 2 kB/s the review page, its scripts (OpenSeadragon: 352 kB, the largest answer
    a page loads) and a 256 px JPEG tile is never cut: each answer fits in the kernel's buffers,
    so the server holds nothing of it. Here the rule's clock is 1 s (30 s when served), the
    reader slow for 3 s on each answer, then the whole answer arrives."""
    from tests.semantic.test_review_server import reviewer

    review_dir, _batch = fresh
    token = reviewer(review_dir, "Kim")
    port = served(write_seconds=1.0)
    protocol = served.running[0][0].config.http
    auth = f"Authorization: Bearer {token}\r\n"
    with connect(port) as sock:
        sock.sendall(
            f"GET /api/slides/0 HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n".encode()
        )
        top = int(read_all(sock).split(b'"levels":', 1)[1].split(b",", 1)[0]) - 1
    for path in (
        "/",
        "/static/review.js",
        "/static/vendor/openseadragon.min.js",
        f"/dz/0_files/{top}/0_0.jpeg",
    ):
        with connect(port) as sock:
            sock.sendall(
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n".encode()
            )
            answer = read_slowly(sock, 2000, 3.0)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), (path, head[:80])
        length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
        assert len(body) == length, (path, len(body), length)
    assert protocol.counts.get("stalled", 0) == 0


def test_a_refused_connection_does_not_uncount_another_from_the_same_source_port() -> None:
    """Handshakes were counted by the peer's address alone, and a refused connection said its
    handshake was done as it closed: a client reusing one source port for two addresses of the
    server (a listener on 0.0.0.0) at its bound (here 2) had each refused connection un-count an
    admitted one, so unfinished handshakes piled up past the bound, to the descriptor limit (the
    reviewer's setup, 40 rounds: 42 open and 2 counted). Now a refused connection un-counts
    nothing, and each is counted by its local and peer addresses: 2 open, 2 counted."""
    from dqm.semantic.server.guard import Handshakes

    handshakes = Handshakes(per_client=2)
    raw = socket.socket()
    raw.bind(("0.0.0.0", 0))
    port = raw.getsockname()[1]
    listening = handshakes.listening(raw)
    listening.listen(64)
    listening.settimeout(WAIT)
    clients: list[socket.socket] = []
    held: list[socket.socket] = []

    def connect_from(source_port: int, to: str) -> int:
        client = socket.socket()
        clients.append(client)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        client.bind(("127.0.0.2", source_port))
        client.connect((to, port))
        return int(client.getsockname()[1])

    def accept_waiting() -> None:
        listening.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                held.append(listening.accept()[0])

    try:
        sources = []  # the source ports of the connections to 127.0.0.1, in order
        for _ in range(2):
            sources.append(connect_from(0, "127.0.0.1"))
            held.append(listening.accept()[0])  # at the bound after the second
        for reused in range(5):
            connect_from(sources[reused], "127.0.0.3")  # a source port in use, another server address
            time.sleep(0.05)
            accept_waiting()  # refused and closed (before: un-counting the one from that port)
            sources.append(connect_from(0, "127.0.0.1"))  # refused too (before: admitted)
            time.sleep(0.05)
            accept_waiting()
        assert sum(1 for sock in held if sock.fileno() != -1) == 2  # before: 7
        assert len(handshakes.pending) == 2 and handshakes.by_client == {"127.0.0.2": 2}
        held[0].close()  # an admitted one ends: its place is free again
        assert len(handshakes.pending) == 1 and handshakes.by_client == {"127.0.0.2": 1}
    finally:
        for sock in clients + held + [listening]:
            sock.close()


def test_a_handshake_ended_to_make_room_is_one_of_the_network_holding_the_most() -> None:
    """Past the unfinished handshakes in all (here 4) the oldest was ended, one whose client had
    sent nothing first: a client sending one byte on each connection made its own as old as a
    reviewer's, and one opening 4 connections while a reviewer's handshake took ended it. Now one
    of the network holding the most, more than a burst (here 2), is ended (its widest network
    first: an IPv4 /16, /24, then the address; an IPv6 /32, /48, /56, /64), oldest first: 40
    connections from one /16 (many addresses), one IPv6 /48 (many /64 networks) or one /56 of the
    reviewer's /48 (before its /56 level: the reviewer's, one /64 as any of theirs, was ended) end
    only their own, never the reviewer's (before: the first of them did). Clients holding as many
    as each other share by age: the oldest goes."""
    from dqm.semantic.server.guard import Handshakes

    pairs: list[tuple[socket.socket, socket.socket]] = []

    def admitted(handshakes: Handshakes, address: str) -> bool:
        pairs.append(socket.socketpair())
        return handshakes.admit((address, len(pairs)), pairs[-1][0], ("127.0.0.1", 443))

    def ended(handshakes: Handshakes) -> set[str]:
        return {peer[0] for _, peer in handshakes.closing}

    try:
        for reviewer, attackers in (
            ("10.9.0.1", [f"10.0.{i % 4}.{i}" for i in range(40)]),
            ("2001:db8:1::1", [f"2001:db8:2:{i:x}::1" for i in range(40)]),
            ("::ffff:10.9.0.1", [f"::ffff:10.0.0.{i}" for i in range(40)]),
            ("2001:db8:1:100::1", [f"2001:db8:1:{i:x}::1" for i in range(40)]),
        ):
            handshakes = Handshakes(per_client=None, at_once=4, closing=100, burst=2)
            assert admitted(handshakes, reviewer)  # its handshake under way, the oldest
            for attacker in attackers:
                assert admitted(handshakes, attacker)
            assert reviewer not in ended(handshakes), reviewer  # before: ended by the 4th
            assert len(ended(handshakes)) == 37 and len(handshakes.pending) - len(handshakes.closing) == 4
        handshakes = Handshakes(per_client=None, at_once=2, closing=100)
        for address in ("10.1.0.1", "10.2.0.1", "10.3.0.1"):  # as many each: the oldest goes
            assert admitted(handshakes, address)
        assert ended(handshakes) == {"10.1.0.1"}
        handshakes.done(*next(iter(handshakes.closing))[::-1])
        assert not handshakes.closing and handshakes.networks.keys() == handshakes.pending.keys()
        assert not Handshakes(per_client=None, at_once=0).admit(("10.1.0.1", 1), pairs[0][0])
    finally:
        for pair in pairs:
            for sock in pair:
                sock.close()


def test_a_reviewers_burst_of_handshakes_outlasts_silent_ones_held_in_many_networks() -> None:
    """A network holding no more unfinished handshakes than a burst (HANDSHAKES_PER_CLIENT: a
    browser opens six connections at once, reviewers behind a NAT count together) counts as any
    other: a client holding 64 silent handshakes, one in each of 64 /16s (or 4 in each of 16),
    then a reviewer's 6 connections (16 from one NAT address), each begun. Ending one of the
    network holding the most ended the reviewer's (bc4fc68: 5 of 6, its network holding the most
    as its burst came); now the silent ones go first, the oldest, as before that rule, and none
    of the reviewer's is ended. A client holding more than a burst in one network still loses
    its own first (the test above, and here 20 in one /16)."""
    from dqm.semantic.server.guard import HANDSHAKES_PER_CLIENT, Handshakes

    class Begun(socket.socket):
        heard = True  # its ClientHello read (an _Accepted notes it as asyncio reads)

    held: list[socket.socket] = []

    def admitted(handshakes: Handshakes, address: str, begun: bool = False) -> tuple[Any, Any]:
        a, b = socket.socketpair()
        held.extend((a, b))
        sock = Begun(a.family, a.type, a.proto, fileno=a.detach()) if begun else a
        held.append(sock)
        key = ("127.0.0.1", 443), (address, len(held))
        assert handshakes.admit(key[1], sock, key[0])
        return key

    try:
        for attackers, burst in (
            ([f"10.{i}.0.1" for i in range(64)], 6),
            ([f"10.{i % 16}.{i}.1" for i in range(64)], HANDSHAKES_PER_CLIENT),
            ([f"10.0.{i}.1" for i in range(20)] + [f"11.{i}.0.1" for i in range(44)], 6),
        ):
            handshakes = Handshakes(per_client=None, at_once=64, closing=1000)
            for attacker in attackers:
                admitted(handshakes, attacker)
            reviewer = [admitted(handshakes, "192.168.7.7", begun=True) for _ in range(burst)]
            assert not handshakes.closing.intersection(reviewer), (attackers[-1], burst)
            assert {peer[0] for _, peer in handshakes.closing} == set(attackers[:burst])  # the oldest
    finally:
        for sock in held:
            sock.close()


def test_a_handshake_ended_to_make_room_is_one_whose_client_has_sent_nothing_first() -> None:
    """Where no network holds more unfinished handshakes than a burst, one whose client has sent
    nothing is ended first (the newer silent one here, read as asyncio's transport reads; bc4fc68
    ended the oldest of the address holding the most: the reviewer's, its handshake under way),
    the oldest of all only where every one but the new connection has spoken."""
    from dqm.semantic.server.guard import Handshakes

    handshakes = Handshakes(per_client=None, at_once=2, closing=2)
    listening = listening_on_loopback(handshakes)
    clients: list[socket.socket] = []
    accepted: list[socket.socket] = []

    def arrive() -> socket.socket:
        clients.append(socket.create_connection(listening.getsockname(), timeout=WAIT))
        accepted.append(listening.accept()[0])
        return accepted[-1]

    try:
        reviewer = arrive()
        clients[0].sendall(b"\x16\x03\x01")  # a ClientHello's first bytes
        assert reviewer.recv_into(bytearray(8)) == 3  # as asyncio's transport reads them
        silent = arrive()
        third = arrive()  # one is ended
        ((_, ended),) = [handshakes.pending[key] for key in handshakes.closing]
        assert ended is silent  # before: the reviewer's
        clients[2].sendall(b"\x16")
        assert third.recv_into(bytearray(8)) == 1
        arrive()  # every one not closing has spoken: the oldest goes
        assert reviewer in [handshakes.pending[key][1] for key in handshakes.closing]
    finally:
        for sock in clients + accepted + [listening]:
            sock.close()


def tls_client(port: int, source: str) -> tuple[Any, socket.socket, Any, Any]:
    """A TLS client from ``source`` (its handshake driven step by step: the bench's
    ``handshake_step``): its ``ssl.SSLObject``, socket and memory BIOs, nothing sent yet."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    return tls, connect(port, source), incoming, outgoing


def bench_module() -> Any:
    """``benchmarks/bench_review_server.py`` as a module (its ``handshake_step``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_review_server", BENCH)
    assert spec is not None and spec.loader is not None
    bench = sys.modules.setdefault(spec.name, importlib.util.module_from_spec(spec))  # its dataclasses
    spec.loader.exec_module(bench)
    return bench


def finished(client: tuple[Any, socket.socket, Any, Any], request: bytes) -> bytes:
    """The handshake of ``client`` (:func:`tls_client`) finished, ``request`` sent: the head of the
    answer (ConnectionResetError where the server ended the handshake)."""
    import ssl

    tls, raw, incoming, outgoing = client
    while not bench_module().handshake_step(tls, raw, incoming, outgoing):
        pass
    tls.write(request)
    raw.sendall(outgoing.read())
    answer = b""
    while b"\r\n\r\n" not in answer and (data := raw.recv(65536)):
        incoming.write(data)
        with contextlib.suppress(ssl.SSLWantReadError):
            while chunk := tls.read(65536):
                answer += chunk
    return answer


def asked(port: int, source: str, request: bytes) -> bytes:
    """The answer to ``request`` on a new TLS connection from ``source``."""
    client = tls_client(port, source)
    with client[1]:
        return finished(client, request)


def hello(client: tuple[Any, socket.socket, Any, Any]) -> None:
    """The ClientHello of ``client`` (:func:`tls_client`) sent."""
    import ssl

    tls, raw, _incoming, outgoing = client
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    raw.sendall(outgoing.read())


def through_a_flood(port: int, source: str, flood: list[str], request: bytes) -> tuple[bytes, bool]:
    """A reviewer at ``source`` sends its ClientHello and reads the server's answer begun (the
    server has heard it); meanwhile a connection from each of ``flood`` sends one byte, each read
    before the next comes; then the reviewer finishes its handshake and sends ``request``: the
    head of the answer (:func:`finished`), and whether the flood's first connection was ended."""
    client = tls_client(port, source)
    held = [client[1]]
    try:
        hello(client)
        client[2].write(client[1].recv(65536))
        for address in flood:
            held.append(connect(port, address))
            held[-1].sendall(b"\x16")  # one byte of a ClientHello
            time.sleep(0.05)  # read by the server before the next one comes
        return finished(client, request), closed_at_once(held.pop(1))
    finally:
        for sock in held:
            sock.close()


GET_LOGIN = b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def test_a_reviewers_tls_handshake_under_way_outlasts_a_flood_of_connections_sending_a_byte_each(
    fresh: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    """The real server (GuardedServer, TLS), its unfinished handshakes bounded at 4 in all: a
    reviewer at 127.1.0.1 sends its ClientHello and reads the server's answer; meanwhile 12
    connections from 8 addresses of 127.0.0.0/16 each send one byte. The oldest handshake that
    had heard nothing went first, else the oldest: the reviewer's, ended (its handshake failed).
    Now the attackers' network holds the most, more than a burst (here 2): their own oldest are
    ended, the reviewer finishes its handshake and is served."""
    limits = {"handshake_seconds": 10 * WAIT, "handshakes_at_once": 4, "handshakes_burst": 2}
    with tls_server(fresh, tmp_path, **limits) as (port, _served):
        flood = [f"127.0.{i % 8}.{2 + i}" for i in range(12)]
        answer, ended = through_a_flood(port, "127.1.0.1", flood, GET_LOGIN)
        assert answer.startswith(b"HTTP/1.1 200 ")  # before: ended (a reset)
        assert ended  # the attackers' oldest


def test_a_signed_in_reviewers_new_handshake_outlasts_a_flood_sending_a_byte_from_many_networks(
    fresh: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    """The real server (GuardedServer, TLS), 4 unfinished handshakes in all, a burst of 2: a
    reviewer signed in at 127.1.0.1 and used its session at 127.1.1.1; a client who tried a wrong
    token and a forged cookie from 127.2.0.1 then floods from 20 /16s (127.2.0.0/16 to
    127.21.0.0/16), one byte on each connection, while the reviewer's new connection from
    127.1.1.2 runs its handshake. Each of the flood's networks held no more than a burst: places
    went by age and the reviewer's, the oldest, was ended (no answer) after 4 of the
    flood's. Now a network where a request proved a session (an IPv4 /24) is a reviewer's, and
    its handshakes are ended only where no other's can be: the flood's oldest are ended, the
    reviewer is served; a refused token or cookie makes no network a reviewer's."""
    token = reviewer(fresh[0], "Kim")
    limits = {"handshake_seconds": 10 * WAIT, "handshakes_at_once": 4, "handshakes_burst": 2}
    with tls_server(fresh, tmp_path, **limits) as (port, _served):
        body = b'{"token": "%s"}' % token.encode()
        login = b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        login += b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        signed = asked(port, "127.1.0.1", login % (len(body), body))
        assert signed.startswith(b"HTTP/1.1 200 ")
        cookie = next(line for line in signed.split(b"\r\n") if line.lower().startswith(b"set-cookie:"))
        state = b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: %s\r\n\r\n"
        session = cookie.split(b":", 1)[1].split(b";")[0].strip()
        assert asked(port, "127.1.1.1", state % session).startswith(b"HTTP/1.1 200 ")  # another /24
        wrong = b'{"token": "%s"}' % token[::-1].encode()
        tried = asked(port, "127.2.0.1", login % (len(wrong), wrong))
        assert tried.startswith(b"HTTP/1.1 401 ")
        forged = session[:-4] + b"0000" if not session.endswith(b"0000") else session[:-4] + b"1111"
        assert asked(port, "127.2.0.1", state % forged).startswith(b"HTTP/1.1 401 ")
        flood = [f"127.{2 + i}.0.1" for i in range(20)]
        answer, ended = through_a_flood(port, "127.1.1.2", flood, state % session)
        assert answer.startswith(b"HTTP/1.1 200 ")  # before: ended, no answer
        assert ended  # the flood's oldest (127.2.0.1, which tried a wrong token and a forged cookie)


def test_a_new_reviewers_hello_not_yet_read_is_not_taken_for_silence(
    fresh: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    """A reviewer never seen before, under a flood of silent connections from many /16s: the
    server's event loop busy (here held for a moment), the reviewer's connection and two of the
    flood's (127.2.0.1, 127.3.0.1) wait in the kernel's queue and are accepted in one turn, before
    anything is read; with 2 unfinished handshakes in all, the third ends one. Its ClientHello
    waiting unread, the reviewer's looked silent and, the oldest, was ended. Now what waits in the
    kernel's buffer counts as sent (peeked): the flood's silent oldest is ended, the reviewer is
    served."""
    limits = {"handshake_seconds": 10 * WAIT, "handshakes_at_once": 2, "handshakes_burst": 2}
    held: list[socket.socket] = []
    with tls_server(fresh, tmp_path, **limits) as (port, served):
        busy, free = threading.Event(), threading.Event()

        def hold() -> None:
            busy.set()
            free.wait(WAIT)

        loop = served.server.servers[0].get_loop()
        loop.call_soon_threadsafe(hold)
        try:
            assert busy.wait(WAIT)
            client = tls_client(port, "127.1.0.1")
            held.append(client[1])
            hello(client)  # in the kernel's buffer
            held += [connect(port, "127.2.0.1"), connect(port, "127.3.0.1")]  # silent
            time.sleep(0.1)  # their TCP handshakes done, all three in the listening queue
            free.set()
            assert finished(client, GET_LOGIN).startswith(b"HTTP/1.1 200 ")  # before: reset
            assert closed_at_once(held.pop(1))  # the flood's oldest
        finally:
            free.set()
            for sock in held:
                sock.close()


def test_a_reviewers_network_is_kept_by_its_24_or_56_for_a_sessions_idle_time_in_a_bounded_list() -> None:
    """What :meth:`Handshakes.signed_in` keeps: an IPv4 /24 or an IPv6 /56 (another address in it
    is a reviewer's, one in the next /24 or /56 is not), for SIGNED_IN_SECONDS after the last
    signed-in request, at most ``signed_networks`` of them (the one seen longest ago forgotten);
    a connection from an unknown network never ends a reviewer's (it is refused where only
    reviewers' hold the places: here they may hold all of them, by default half)."""
    from dqm.semantic.server.guard import SIGNED_IN_SECONDS, Handshakes

    now = [1000.0]
    pairs: list[tuple[socket.socket, socket.socket]] = []

    def admitted(handshakes: Handshakes, address: str) -> bool:
        pairs.append(socket.socketpair())
        return handshakes.admit((address, len(pairs)), pairs[-1][0], ("127.0.0.1", 443))

    try:
        handshakes = Handshakes(
            per_client=None,
            at_once=2,
            closing=100,
            signed_networks=2,
            clock=lambda: now[0],
            reviewers_at_once=2,
        )
        for address in ("10.9.0.1", "2001:db8:1:100::1", "10.8.0.1"):
            handshakes.signed_in(address)  # the first is forgotten: 2 kept
        assert admitted(handshakes, "2001:db8:1:1ff:5::9")  # the /56 of the second
        assert admitted(handshakes, "10.8.0.200")  # the /24 of the third
        assert len(handshakes.reviewers.members) == 2 and not handshakes.holders.members
        for unknown in ("10.9.0.1", "2001:db8:1:200::1", "10.8.1.1"):
            assert not admitted(handshakes, unknown)  # refused: no reviewer's is ended for it
        assert not handshakes.closing
        now[0] += SIGNED_IN_SECONDS + 1  # the reviewers' networks were not seen signed in since
        assert not admitted(handshakes, "10.8.0.201")  # unknown now: refused as the others
        handshakes.signed_in("10.8.0.5")  # seen again
        assert not admitted(handshakes, "10.8.0.202")  # the reviewers' places held: as any other
        handshakes.done(("2001:db8:1:1ff:5::9", 1), ("127.0.0.1", 443))  # its handshake done
        assert admitted(handshakes, "10.8.0.203")  # a reviewer's again
        assert not handshakes.holders.members and len(handshakes.reviewers.members) == 2
        assert not admitted(handshakes, "10.8.1.1") and not handshakes.closing
        assert handshakes.networks.keys() == handshakes.pending.keys() == handshakes.of_reviewers
    finally:
        for pair in pairs:
            for sock in pair:
                sock.close()


class _Flood:
    """Connections admitted into a :class:`~dqm.semantic.server.guard.Handshakes` at its defaults
    (16 from one address, 256 in all, a burst of 16), each a socket pair whose client has sent a
    byte (or nothing: ``speak``); those ended to make room closed as the event loop would."""

    def __init__(self) -> None:
        from dqm.semantic.server.guard import Handshakes

        self.handshakes = Handshakes()
        self.pairs: list[tuple[socket.socket, socket.socket]] = []

    def admit(self, address: str, speak: bool = True) -> bool:
        self.pairs.append(socket.socketpair())
        if speak:
            self.pairs[-1][1].send(b"\x16")
        admitted = self.handshakes.admit((address, len(self.pairs)), self.pairs[-1][0], ("0.0.0.0", 443))
        for local, peer in list(self.handshakes.closing):
            self.handshakes.done(peer, local)
        return admitted

    def close(self) -> None:
        for pair in self.pairs:
            for sock in pair:
                sock.close()


def test_a_flood_from_a_reviewers_network_does_not_refuse_every_newcomer() -> None:
    """A reviewer used its session from a /24 (a campus, a carrier's NAT pool, a hosting /24, a
    relay) where a client with no account has 16 addresses: 16 handshakes each, 256, every place.
    Its whole /24 a reviewer's, none of them could be ended: every new connection from elsewhere
    (a reviewer's first sign-in, one at a new place) was refused, 0 of 20 (20 of 20 before
    networks were a reviewer's). Now a reviewer's network holds at most a burst (16) of the
    protected places; the rest count as any other's and are ended first, its network holding the
    most: 20 of 20 newcomers admitted."""
    flood = _Flood()
    try:
        flood.handshakes.signed_in("10.8.0.5")
        assert all(flood.admit(f"10.8.0.{100 + i}") for i in range(16) for _ in range(16))
        assert [flood.admit(f"198.51.{i}.7") for i in range(20)] == [True] * 20  # before: 0 of 20
        newcomers = set(list(flood.handshakes.pending)[-20:])
        for i in range(16):  # the flood goes on: it ends its own
            for _ in range(4):
                flood.admit(f"10.8.0.{100 + i}")
        assert newcomers <= flood.handshakes.pending.keys()
        assert len(flood.handshakes.reviewers.members) == 16  # before: 256
    finally:
        flood.close()


def test_a_flood_from_16_reviewers_networks_neither_refuses_newcomers_nor_ends_a_reviewer() -> None:
    """A client in 16 networks where reviewers signed in, 16 handshakes in each from three
    addresses (one burst each), after a signed-in reviewer's six begun elsewhere: at a burst a
    network it filled the protected places all the same, refused every newcomer and, the
    reviewer's the oldest of them, ended all six. Now the protected places are half of all
    (128): the rest of the flood counts as any other's, the newcomers end the flood's oldest,
    and the reviewer's are never ended."""
    flood = _Flood()
    try:
        for site in ["10.99.0.5"] + [f"10.{k}.0.5" for k in range(16)]:
            flood.handshakes.signed_in(site)
        assert all(flood.admit("10.99.0.5") for _ in range(6))
        reviewers = set(flood.handshakes.pending)
        for k in range(16):
            for j in range(16):  # from three addresses: one holds 6 protected places at most
                flood.admit(f"10.{k}.0.{100 + j % 3}")
        assert reviewers <= flood.handshakes.pending.keys()  # before: all 6 ended
        assert [flood.admit(f"198.51.{i}.7") for i in range(20)] == [True] * 20  # before: 0 of 20
        assert reviewers <= flood.handshakes.pending.keys()
        assert len(flood.handshakes.reviewers.members) == 128  # before: 256
    finally:
        flood.close()


@pytest.mark.parametrize(
    ("squatters", "speak", "reviewer_speaks_late"),
    [
        (["10.8.0.200"] * 16, False, False),
        (["10.8.0.200"] * 16, True, False),
        ([f"10.8.0.{100 + i}" for i in range(16)], False, False),
        ([f"10.8.0.{100 + i}" for i in range(16)], False, True),
        (["10.8.0.200", "10.8.0.201"] * 6, True, False),
        (["10.8.0.200", "10.8.0.201"] * 6, True, True),
    ],
    ids=[
        "one-address-silent",
        "one-address-speaking",
        "16-addresses-silent",
        "16-addresses-silent-reviewer-late",
        "two-addresses-speaking",
        "two-addresses-speaking-reviewer-late",
    ],
)
def test_a_client_in_a_reviewers_network_does_not_hold_its_protected_places_against_the_reviewer(
    squatters: list[str], speak: bool, reviewer_speaks_late: bool
) -> None:
    """A reviewer signed in from a /24 (a campus's NAT) where a client with no account opens 16
    connections, silent or sending a byte; a flood from 32 /16s, a byte a connection, fills the
    places; the reviewer's browser opens six, and the flood goes on (300 more). First come, the
    client's 16 held all 16 of the network's protected places: the reviewer's six counted as any
    other's and the flood ended them by age (0 of 6 left; 6 without the client). Now one address
    holds 6 protected places at most, and a network holding its 16 gives its oldest silent one
    up to a newcomer (it counts as any other's, by its age): 6 of 6 left. The oldest, not the
    newest: a browser's six are accepted before its ClientHellos are read (silent when the next
    one comes), and giving up the newest silent one gave up the reviewer's own (1 of 6 left)."""
    flood = _Flood()
    try:
        flood.handshakes.signed_in("10.8.0.5")
        assert all(flood.admit(address, speak) for address in squatters)
        for i in range(128):
            flood.admit(f"172.{16 + i % 32}.{i // 32}.9")
        assert all(flood.admit("10.8.0.5", not reviewer_speaks_late) for _ in range(6))
        mine = set(list(flood.handshakes.pending)[-6:])
        if reviewer_speaks_late:
            for _, (_, number) in mine:  # (local, peer) keys
                flood.pairs[number - 1][1].send(b"\x16")
        assert mine <= flood.handshakes.of_reviewers
        ages = list(flood.handshakes.holders.members.values())
        assert ages == sorted(ages)  # a protected one given up takes its place by age
        for i in range(300):
            flood.admit(f"172.{16 + i % 32}.{100 + i // 32}.9")
        assert mine <= flood.handshakes.pending.keys()  # before: none left
        assert len(flood.handshakes.reviewers.members) <= 16
    finally:
        flood.close()


def test_two_reviewers_behind_one_address_keep_their_protected_places() -> None:
    """Two reviewers behind one NAT address, six connections each, then a flood from 32 /16s, a
    byte a connection (300 after theirs): with one address capped at 6 protected places, six of
    the twelve counted as any other's and were ended (6 of 12 left); the burst of 16 is a
    network's, one address's alike, and the count an address holds only chooses which handshake
    a full network gives up: 12 of 12."""
    flood = _Flood()
    try:
        flood.handshakes.signed_in("10.8.0.5")
        for i in range(128):
            flood.admit(f"172.{16 + i % 32}.{i // 32}.9")
        assert all(flood.admit("10.8.0.5") for _ in range(12))
        ours = set(list(flood.handshakes.pending)[-12:])
        assert ours <= flood.handshakes.of_reviewers  # before: 6 of 12
        for i in range(300):
            flood.admit(f"172.{16 + i % 32}.{100 + i // 32}.9")
        assert ours <= flood.handshakes.pending.keys()
    finally:
        flood.close()


@pytest.mark.parametrize(
    ("flood_from", "nearby", "reviewer", "seventh"),
    [
        ([f"10.8.0.{100 + i % 3}" for i in range(16)], "10.8.0.200", "10.8.1.5", "10.8.1.5"),
        (
            [f"2001:db8:1:1{i % 3:02x}::7" for i in range(16)],
            "2001:db8:1:1ff::8",  # another /64 of the first /56
            "2001:db8:1:200::5",
            "2001:db8:1:200::6",  # another address of the reviewer's /64
        ),
    ],
    ids=["ipv4-24s-in-one-16", "ipv6-56s-in-one-48"],
)
def test_each_reviewers_network_holds_its_own_protected_places(
    flood_from: list[str], nearby: str, reviewer: str, seventh: str
) -> None:
    """Two reviewers' networks in one wider network (IPv4 /24s in a /16, IPv6 /56s in a /48):
    a client fills the first's protected places (16, from three addresses or /64s, a byte
    each); the second's reviewer still gets its own six. In the first, one more from another
    address (/64) takes the place of the newest handshake of the address holding the most; in
    the second, within its burst, the reviewer's seventh is protected (an IPv6 /64 counts as one
    address)."""
    flood = _Flood()
    try:
        flood.handshakes.signed_in(flood_from[0])
        flood.handshakes.signed_in(reviewer)
        assert all(flood.admit(address) for address in flood_from)
        assert set(flood.handshakes.pending) == flood.handshakes.of_reviewers  # 6, 6 and 4
        assert all(flood.admit(reviewer) for _ in range(6))
        assert set(list(flood.handshakes.pending)[-6:]) <= flood.handshakes.of_reviewers
        assert flood.admit(nearby)  # its 16 held: it takes the newest of the address holding most
        assert list(flood.handshakes.pending)[-1] in flood.handshakes.of_reviewers
        taken = list(flood.handshakes.pending)[15]
        assert taken[1][0] == flood_from[15] == flood_from[0] and taken not in flood.handshakes.of_reviewers
        assert flood.admit(seventh)  # its network holds 7 of 16: one address alone may hold more than 6
        assert list(flood.handshakes.pending)[-1] in flood.handshakes.of_reviewers
        assert len(flood.handshakes.of_reviewers) == 23
    finally:
        flood.close()


@pytest.mark.parametrize("mpp", ["inf", "-1", "0", "nan", "1e999", "1e-300", "1e300", "0.0009", "0.25"])
def test_a_slide_whose_vendor_mpp_lies_is_shown_without_a_scale(tmp_path: Path, mpp: str) -> None:
    """An Aperio slide saying ``MPP = inf`` made the slide page's JSON not JSON (Starlette refuses
    an infinite float): the page answered 500 and the slide could not be reviewed. 1e-300 and
    1e300, finite and positive, drew a scale bar of no meaning: the readers' bounds hold here."""
    import numpy as np
    import tifffile
    from starlette.responses import JSONResponse

    from dqm.semantic.server.tiles import TileSource

    description = (
        f"Aperio Image Library v10.0.50\n512x512 [0,0 512x512] (256x256) RAW/RGB|AppMag = 20|MPP = {mpp}"
    )
    image = np.full((512, 512, 3), 200, np.uint8)
    tifffile.imwrite(
        tmp_path / "s.svs", image, tile=(256, 256), photometric="rgb", metadata=None, description=description
    )
    info = TileSource(tmp_path, {0: "s.svs"}).info(0)
    if mpp == "0.25":
        assert info["mpp"] == 0.25
        return
    assert info["mpp"] is None and info["width"] == 512
    assert b'"mpp":null' in JSONResponse(info).body


@pytest.mark.parametrize("left", ["at the deadline", "by the client"])
def test_a_body_that_stops_short_is_no_exception_in_the_log(
    served: Any,
    fresh: tuple[Path, Path],  # noqa: F811 (the fixture)
    left: str,
) -> None:
    """A ``Content-Length`` that promised more than came (the guard closes the connection at the
    request's deadline), or a client gone mid-body: Starlette's ClientDisconnect went up to
    uvicorn, which logged "Exception in ASGI application" and a traceback for each such request
    (anyone could fill the log with them)."""
    import logging

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    token = reviewer(fresh[0], "Kim").encode()
    port = served(request_seconds=1.0)
    logger = logging.getLogger("uvicorn.error")  # once the server has set its loggers up
    logger.addHandler(handler)
    try:
        for path in (b"/api/login", b"/api/verdicts"):  # a verdict's writer signed in (bearer)
            with connect(port) as sock:
                sock.sendall(
                    b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"Authorization: Bearer " + token + b"\r\nContent-Length: 100\r\n\r\n" + b'{"slide": '
                )
                if left == "at the deadline":
                    assert read_all(sock).startswith(b"HTTP/1.1 408 ")
                else:
                    time.sleep(0.3)  # the handler is reading the body
            time.sleep(0.5)  # the server has met the end of the connection
        assert get(port) == 200  # still serving
    finally:
        logger.removeHandler(handler)
    assert not [r for r in records if r.levelno >= logging.ERROR], [r.getMessage() for r in records]


def test_a_request_framed_twice_is_refused_and_its_connection_closed(
    served: Any,
    fresh: tuple[Path, Path],  # noqa: F811 (the fixture)
) -> None:
    """``Transfer-Encoding: chunked`` with a ``Content-Length``: h11 read the chunked body and the
    verdict was recorded, and the connection kept; a reverse proxy reading the length saw another
    request in the rest (request smuggling). Now 400, nothing recorded, the connection closed."""
    token = reviewer(fresh[0], "Kim").encode()
    port = served()
    verdict = b'{"slide": 0, "verdict": "pass"}'
    with connect(port) as sock:
        sock.sendall(
            b"POST /api/verdicts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + token + b"\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
            b"%x\r\n" % len(verdict) + verdict + b"\r\n0\r\n\r\n"
        )
        answer = read_all(sock)  # the server closes the connection
    assert answer.startswith(b"HTTP/1.1 400 ") and b"Transfer-Encoding" in answer, answer
    from dqm.semantic.server.db import DB_NAME, ReviewDB

    db = ReviewDB(fresh[0] / DB_NAME, readonly=True)
    try:
        assert db.log() == []
    finally:
        db.close()


def _huge_tiff(path: Path, side: int = 65536, tile: int = 256) -> None:
    """A valid one-level ``side`` x ``side`` tiled TIFF (4.3 Gpx at 65,536) in about 0.5 MB: every
    tile entry points at one zlib tile of zeros."""
    import struct
    import zlib

    n = (side // tile) ** 2
    data = zlib.compress(bytes(tile * tile))
    entries = [
        (256, 4, 1, side),
        (257, 4, 1, side),
        (258, 3, 1, 8),
        (259, 3, 1, 8),
        (262, 3, 1, 1),
        (277, 3, 1, 1),
        (284, 3, 1, 1),
        (322, 3, 1, tile),
        (323, 3, 1, tile),
        (324, 4, n, 0),
        (325, 4, n, 0),
    ]
    offsets_at = 8 + 2 + len(entries) * 12 + 4
    counts_at = offsets_at + 4 * n
    data_at = counts_at + 4 * n
    entries[-2] = (324, 4, n, offsets_at)
    entries[-1] = (325, 4, n, counts_at)
    head = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        head += struct.pack("<HHI", tag, kind, count) + packed
    head += (
        struct.pack("<I", 0)
        + struct.pack(f"<{n}I", *([data_at] * n))
        + struct.pack(f"<{n}I", *([len(data)] * n))
    )
    path.write_bytes(head + data)


def test_a_tile_of_a_huge_single_level_slide_that_would_read_the_whole_image_is_refused_at_once(
    tmp_path: Path,
) -> None:
    """A valid one-level 65,536 x 65,536 TIFF (4.3 Gpx in 0.5 MB): a Deep Zoom tile of a small level
    is read from that level and shrunk, so before the read cap its 1 x 1 tile read all 4.3 Gpx
    (about 17 GB), and a viewer asks for those first. Too large for a downsample
    (:data:`~dqm.semantic.server.tiles.MAX_DOWNSAMPLE_SOURCE`), its small levels are refused before
    any pixel is read; the levels within 8 of the slide's own are served."""
    from dqm.semantic.server.tiles import SlideUnavailable, TileSource

    _huge_tiff(tmp_path / "huge.tif")
    tiles = TileSource(tmp_path, {0: "huge.tif"})
    try:
        assert 'Width="65536"' in tiles.dzi(0)
        start = time.process_time()
        for level in (0, 8, 12):  # level 12: 1/16 of the slide, a tile reads 4,080 x 4,080
            with pytest.raises(SlideUnavailable, match="pixels of the slide, more than 4,194,304"):
                tiles.tile(0, level, 0, 0)
        assert time.process_time() - start < 0.5
        assert not tiles._downsamples
        for level in (13, 16):  # 1/8 and the slide's own scale: JPEGs
            assert tiles.tile(0, level, 0, 0)[:2] == b"\xff\xd8"
    finally:
        tiles.close()


def _jpeg(data: bytes) -> Any:
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


@pytest.mark.parametrize("kind", ["real one-level svs", "3000 x 2400 png"])
def test_every_level_of_a_one_level_slide_is_served_from_one_downsample(
    tmp_path: Path, kind: str, monkeypatch: Any, request: Any
) -> None:
    """A slide of one level: every Deep Zoom level more than 8 times below it was refused (over the
    4 Mpx read cap), so a viewer's home view of one over about 12,800 px was blank (the real
    CMU-1-Small-Region, 2,220 x 2,967: levels 0-8; a 12,000 x 9,000 PNG: levels 0-8 of 15; here a
    3,000 x 2,400 PNG, 7.2 Mpx, past the cap at its levels 0-8 of 13, at 1/50 the cost). Now those
    levels are made from one downsample of the slide (1/8, read in strips of at most 4 Mpx), built
    once; their pixels are the slide's."""
    import numpy as np
    from PIL import Image

    from dqm.semantic.server import tiles as tiles_module
    from dqm.semantic.server.tiles import TileSource

    if kind.endswith("svs"):
        real = request.getfixturevalue("real_data") / "slides" / "CMU-1-Small-Region.svs"
        (tmp_path / "s.svs").write_bytes(real.read_bytes())
        name = "s.svs"
    else:
        image = np.zeros((2400, 3000, 3), np.uint8)
        image[:, :1500] = 200  # the left half grey, the right black: 100 on average
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
        Image.fromarray(image).save(tmp_path / "s.png", compress_level=1)
        del image
        name = "s.png"
    built: list[int] = []
    shrink = getattr(TileSource, "_shrink", None)

    def counted(self: Any, *args: Any) -> Any:
        built.append(1)
        return shrink(self, *args)  # type: ignore[misc]

    monkeypatch.setattr(TileSource, "_shrink", counted, raising=False)  # before: none (refused below)
    tiles = TileSource(tmp_path, {0: name})
    try:
        with tiles._using(0) as entry:
            dz = entry.dz
        for level in range(dz.level_count):
            cols, rows = dz.level_tiles[level]
            assert tiles.tile(0, level, cols - 1, rows - 1)[:2] == b"\xff\xd8", level
            assert tiles.tile(0, level, 0, 0)[:2] == b"\xff\xd8", level
        assert built == [1]
        for level in (dz.level_count - 6, dz.level_count - 5):  # against the slide read whole (no cap)
            ours = _jpeg(tiles.tile(0, level, 0, 0))
            whole = np.asarray(dz.get_tile(level, (0, 0)).convert("RGB")).astype(int)
            width, height = dz.level_dimensions[level]
            assert ours.shape[:2] == (min(height, 255), min(width, 255)), (
                level
            )  # OpenSlide's may be 1 px less
            assert abs(ours.mean() - whole.mean()) < 3, level
        if kind.endswith("png"):
            assert abs(_jpeg(tiles.tile(0, 0, 0, 0)).mean() - 100) < 3
    finally:
        tiles.close()
    assert tiles_module.MAX_DOWNSAMPLES >= 1


def test_tile_decodes_are_bounded_and_a_full_queue_is_answered_503(monkeypatch: Any, tmp_path: Path) -> None:
    """25 tiles asked at once, each decode slow: each took a thread of the server and its memory
    (25 at the cap: 584 MB, 40 the thread pool's bound). Now at most DECODES decode at once, at most
    DECODE_QUEUE wait, the rest are answered "busy" (503 with Retry-After: the viewer asks again);
    none fails otherwise."""
    import numpy as np
    import tifffile
    from PIL import Image

    from dqm.semantic.server import tiles as tiles_module
    from dqm.semantic.server.tiles import TilesBusy, TileSource

    tifffile.imwrite(
        tmp_path / "s.tif", np.zeros((512, 512, 3), np.uint8), tile=(256, 256), photometric="rgb"
    )
    monkeypatch.setattr(tiles_module, "DECODE_WAIT", 1.5)
    now = [0, 0]  # decoding now, most at once
    lock = threading.Lock()

    def slow(self: Any, *args: Any) -> Any:
        with lock:
            now[0] += 1
            now[1] = max(now)
        time.sleep(0.4)
        with lock:
            now[0] -= 1
        return Image.new("RGB", (1, 1))

    monkeypatch.setattr(TileSource, "_read_tile", slow, raising=False)  # before: none (fails below)
    tiles = TileSource(tmp_path, {0: "s.tif"})
    answers: list[str] = []

    def ask() -> None:
        try:
            tiles.tile(0, 0, 0, 0)
            answers.append("served")
        except TilesBusy:
            answers.append("busy")
        except Exception as exc:  # counted: the test asserts there is none
            answers.append(repr(exc))

    with within(60):
        threads = [threading.Thread(target=ask) for _ in range(25)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    tiles.close()
    assert len(answers) == 25 and set(answers) == {"served", "busy"}, answers
    assert now[1] == tiles_module.DECODES  # before: 25
    assert answers.count("served") >= tiles_module.DECODES


def test_one_clients_tiles_in_flight_are_bounded(
    served: Any,
    fresh: tuple[Path, Path],  # noqa: F811
    monkeypatch: Any,
) -> None:
    """One client asking 25 tiles at once held 25 threads of the server (40 in all): the other
    reviewers waited. Now past TILES_PER_CLIENT in flight a tile is answered 503 with Retry-After
    (the viewer asks again, ``tileRetryMax``), none 500, and another client is still served."""
    from PIL import Image

    from dqm.semantic.server import app as app_module
    from dqm.semantic.server.tiles import TileSource

    per_client = getattr(app_module, "TILES_PER_CLIENT", 8)  # before: no bound (fails below)
    release = threading.Event()

    def slow(self: Any, *args: Any) -> Any:
        release.wait(WAIT)
        return Image.new("RGB", (1, 1))

    monkeypatch.setattr(TileSource, "_read_tile", slow, raising=False)  # before: none (fails below)
    token = reviewer(fresh[0], "Kim").encode()
    port = served()
    statuses: list[bytes] = []

    def ask(level: int, source: str = "127.0.0.1") -> None:
        with connect(port, source) as sock:
            sock.sendall(
                b"GET /dz/0_files/%d/0_0.jpeg HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " % level
                + token
                + b"\r\nConnection: close\r\n\r\n"
            )
            statuses.append(read_all(sock).split(b"\r\n\r\n", 1)[0])

    with within(60):
        threads = [threading.Thread(target=ask, args=(level % 8,)) for level in range(25)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + WAIT
        while len(statuses) < 25 - per_client:
            assert time.monotonic() < deadline, statuses
            time.sleep(0.05)
        busy = list(statuses)
        release.set()
        for thread in threads:
            thread.join()
        ask(0, "127.0.0.2")
    assert len(busy) == 25 - per_client  # before: none refused
    assert all(b.startswith(b"HTTP/1.1 503 ") and b"\r\nretry-after: 1" in b.lower() for b in busy), busy
    assert sum(s.startswith(b"HTTP/1.1 200 ") for s in statuses) == per_client + 1


def test_while_a_downsample_is_built_its_waiters_hold_no_decode_place_and_one_builds_at_a_time(
    monkeypatch: Any, tmp_path: Path
) -> None:
    """While a 530 Mpx one-level slide's downsample was built (78 s), each other tile of it wanting
    the downsample held one of the DECODES places waiting, with no timeout: every other slide's tiles
    were answered "busy" for over a minute, and two slides' downsamples were built at once. Now a tile
    wanting a downsample while one (of any slide) is built is answered "busy" at once, and a tile of
    another slide is served meanwhile."""
    import numpy as np
    import tifffile
    from PIL import Image

    from dqm.semantic.server import tiles as tiles_module
    from dqm.semantic.server.tiles import TilesBusy, TileSource

    for name in ("a.png", "b.png"):  # one level of 8 Mpx: Deep Zoom level 0 reads it whole
        Image.new("RGB", (4000, 2000), (90, 90, 90)).save(tmp_path / name)
    tifffile.imwrite(
        tmp_path / "s.tif", np.zeros((512, 512, 3), np.uint8), tile=(256, 256), photometric="rgb"
    )
    monkeypatch.setattr(tiles_module, "DECODE_WAIT", 2.0)
    started, release = threading.Event(), threading.Event()
    shrink = TileSource._shrink

    def slow(self: Any, *args: Any) -> Any:
        started.set()
        release.wait(8)  # before: waiters block on it (bounded, so the test fails rather than hangs)
        return shrink(self, *args)

    monkeypatch.setattr(TileSource, "_shrink", slow)
    tiles = TileSource(tmp_path, {0: "a.png", 1: "b.png", 2: "s.tif"})
    answers: dict[str, str] = {}

    def ask(label: str, index: int, level: int) -> None:
        try:
            tiles.tile(index, level, 0, 0)
            answers[label] = "served"
        except TilesBusy:
            answers[label] = "busy"
        except Exception as exc:  # counted: the test asserts there is none
            answers[label] = repr(exc)

    try:
        with within(40):
            tiles.dzi(0), tiles.dzi(1), tiles.dzi(2)
            builder = threading.Thread(target=ask, args=("build", 0, 0))
            builder.start()
            assert started.wait(10)
            waiters = [threading.Thread(target=ask, args=(f"wait{k}", 0, k)) for k in range(1, 6)]
            for thread in waiters:
                thread.start()
            for thread in waiters:
                thread.join(1.0)
            other = time.monotonic()
            ask("other build", 1, 0)  # another slide's build, while one is built: busy at once
            ask("other slide", 2, 0)  # a tile of another slide: served at once
            took = time.monotonic() - other
            release.set()
            builder.join()
            for thread in waiters:
                thread.join()
        assert answers["other slide"] == "served" and took < 1.5, (answers, took)  # before: busy after 2 s
        assert answers["other build"] == "busy", answers  # before: a second build at once
        assert {answers[f"wait{k}"] for k in range(1, 6)} == {"busy"}, answers
        assert answers["build"] == "served", answers
        assert tiles.tile(0, 1, 0, 0)[:2] == b"\xff\xd8"  # the built one serves its waiters' retries
    finally:
        release.set()
        tiles.close()
