"""How fast the review server answers two reviewers working at once (issue 16, section 4).

    .venv/bin/python benchmarks/bench_review_server.py [--size 50000] [--views 25] [--seconds 120]
    .venv/bin/python benchmarks/bench_review_server.py --slowloris 500 --size 4096 --seconds 40

1. Builds a JPEG-tiled pyramidal TIFF of ``--size`` x ``--size`` pixels (default 50,000, about
   300 MB) tile by tile: a handful of textured 256 x 256 tiles are encoded once and written again
   and again as pre-encoded tiles, so memory stays small and the build takes seconds. Pyramid
   levels halve down to one tile (reduced-resolution pages, which OpenSlide reads as levels).
2. Puts it in a batch with copies of the real slides of ``../shared/data/real/slides``, draws every
   slide with ``dqm sample``, registers two reviewers and starts ``dqm review serve`` in its own
   process on a free local port.
3. Two client threads (two reviewers) each open a slide and then, view after view, take a zoom step
   (one Deep Zoom level deeper, at a random place) or a pan at the deepest levels, and fetch every
   tile a 1,400 x 900 viewer shows there over six keep-alive connections, as a browser does. Each
   client stops after ``--views`` views or ``--seconds`` seconds.

Reported per slide group: the median and 95th percentile of one tile's latency, and the 95th
percentile of the time to complete a full view after a zoom step. Targets: tile <= 50 ms median,
view <= 1 s at the 95th percentile.

With ``--slowloris N`` (e.g. ``--slowloris 500 --size 4096 --seconds 60``) it measures the server
under a slow-client attack instead: N connections from 127.0.0.1 each send the start of a request
and then one header byte every two seconds, never its end, and open a new connection a second after
one is closed; meanwhile a reviewer at 127.0.0.2 asks for ``/api/state`` on a new connection every
quarter second. Reported: the connections the server holds (most and at the end), its peak
resident memory and CPU seconds, and the reviewer's latency (median, p95, max) and failures. The
server runs with at most ``--server-fds`` open files (1,024, Linux's usual default).

With ``--handshake-flood RATE`` (e.g. ``--handshake-flood 1500 --rtt 0.5 --size 4096 --seconds 30``)
the server runs over TLS (a self-signed certificate) and is flooded with unfinished handshakes:
RATE new connections a second from 32 addresses of 127.0.0.0/16 (under the 16 unfinished handshakes
one address may have), each sending one byte of a ClientHello and nothing more, held until the
server closes them; meanwhile a reviewer at 127.1.0.1 makes a new TLS connection every
quarter second whose handshake takes ``--rtt`` seconds (its Finished sent that long after the
server's answer: a distant reviewer's round trip) and asks for ``/login``. Past 256 unfinished
handshakes the server ends some: the oldest ones (before) let the flood end a reviewer's handshake
whenever it opens 256 connections in ``--rtt`` seconds. Reported: the connections opened a second,
the reviewer's connections served, cut mid-handshake, and cut before the server answered its
ClientHello (refused, or ended that soon), the server's CPU seconds.

``--flood-networks K`` (at most 254) spreads the flood over one address in each of K /16s
(127.2.0.0/16 on), ``--silent`` has its connections send nothing, ``--burst N`` makes the reviewer
N connections at once (a browser opens six), ``--fill S`` starts it S seconds into the flood. A
slow flood over many networks, e.g. ``--handshake-flood 30 --flood-networks 254 --silent --burst 6
--fill 10 --seconds 30`` (256 silent handshakes held, replaced as the server times them out at
10 s), cut a reviewer's connections where the network holding the most unfinished, however few,
lost one (its burst made it the most). ``--signed-in`` has the reviewer sign in (from 127.1.0.1)
before the flood and ask for ``/api/state`` with its session: its network is then a reviewer's,
whose handshakes a flood from 16 or more /16s sending a byte each, e.g. ``--handshake-flood 1500
--flood-networks 254 --size 4096 --seconds 20 --signed-in``, no longer ends (without
``--signed-in`` it still does: a reviewer never signed in from its network). The server's CPU
time a connection of the flood is reported too (``server_cpu_ms_a_connection``).

With ``--admissions N`` (e.g. ``--admissions 20000``) it measures, without a server, the CPU time
the handshake guard (``dqm.semantic.server.guard.Handshakes``) spends on one connection past its
256 unfinished handshakes: N connections (socket pairs) admitted one after another, each ending
another that is then closed, from one address in each of 254 /16s each sending a byte
(``bytes``), the same sending nothing (``silent``), and 32 addresses of one /16 (``one_network``).
The socket pair's making and closing are counted: what a connection costs the server's loop.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import math
import os
import random
import resource
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("DQM_REAL_DATA", ROOT.parent / "shared" / "data" / "real")) / "slides"
VIEW_W, VIEW_H = 1400, 900
CONNECTIONS = 6
"""Connections one client keeps open, like a browser's per-host limit."""
TIFF_TILE = 256
KEY = "a benchmark masking key, 32 chars"


def _tiles() -> list[bytes]:
    """Eight textured H&E-coloured JPEG tiles (nuclei on pink), encoded once."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(16)
    out = []
    y, x = np.mgrid[0:TIFF_TILE, 0:TIFF_TILE]
    for k in range(8):
        base = (np.sin(x / (7 + k)) * np.cos(y / (9 + k)) * 25 + 215).astype(np.uint8)
        img = np.stack([base, (base * 0.72).astype(np.uint8), (base * 0.88).astype(np.uint8)], -1)
        for cx, cy in rng.integers(0, TIFF_TILE, size=(30, 2)):
            img[(x - cx) ** 2 + (y - cy) ** 2 < 36] = (80, 40, 120)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=80)
        out.append(buf.getvalue())
    return out


def build_pyramid(path: Path, size: int) -> float:
    """Write the pyramidal TIFF; returns seconds taken."""
    import numpy as np
    import tifffile

    tiles = _tiles()
    start = time.perf_counter()

    def stream(w: int, h: int) -> Iterator[bytes]:
        n = math.ceil(w / TIFF_TILE) * math.ceil(h / TIFF_TILE)
        for i in range(n):
            yield tiles[(i * 7 + i // 13) % len(tiles)]

    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        w = h = size
        level = 0
        while True:
            tif.write(
                stream(w, h),
                shape=(h, w, 3),
                dtype=np.uint8,
                tile=(TIFF_TILE, TIFF_TILE),
                compression="jpeg",
                photometric="ycbcr",
                subsampling=(2, 2),
                subfiletype=0 if level == 0 else 1,
                resolution=((20000, 1), (20000, 1)),
                resolutionunit="CENTIMETER",
                metadata=None,
            )
            if max(w, h) <= TIFF_TILE:
                break
            w, h, level = max(1, w // 2), max(1, h // 2), level + 1
    return time.perf_counter() - start


def dqm(*args: str, env: dict[str, str]) -> str:
    res = subprocess.run(
        [sys.executable, "-m", "dqm", *args], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    if res.returncode not in (0, 1, 3):
        raise SystemExit(f"dqm {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res.stdout


def prepare(work: Path, size: int, env: dict[str, str]) -> tuple[Path, Path, float]:
    batch, review = work / "batch", work / "review"
    big = batch / "slides" / f"pyramid-{size}.tiff"
    built = 0.0
    if not big.is_file():
        shutil.rmtree(work, ignore_errors=True)
        (batch / "slides").mkdir(parents=True)
        built = build_pyramid(big, size)
        rows = [f"BIG,slides/{big.name},,BCC,bench"]
        for k, real in enumerate(sorted(REAL.glob("*")) if REAL.is_dir() else []):
            shutil.copy(real, batch / "slides" / real.name)  # copies: a link out of the batch is refused
            rows.append(f"REAL{k:02d},slides/{real.name},,SCC,real")
        (batch / "manifest.csv").write_text(
            "slide_id,image_path,annotation_path,diagnosis,institution\n" + "\n".join(rows) + "\n"
        )
    if not (review / "review_plan.json").is_file():
        dqm("sample", str(batch), "--out", str(review), "--plan", "precision", "--margin", "0.01", env=env)
    return batch, review, built


@dataclass
class Stats:
    tiles: list[float] = field(default_factory=list)
    views: list[float] = field(default_factory=list)
    opens: list[float] = field(default_factory=list)
    errors: int = 0


class Client:
    """One reviewer: a pool of keep-alive connections fetching the tiles of one view at a time."""

    def __init__(self, port: int, token: str, seed: int) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}"}
        self.rng = random.Random(seed)
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(CONNECTIONS)

    def _con(self) -> http.client.HTTPConnection:
        con = getattr(self.local, "con", None)
        if con is None:
            con = self.local.con = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return con

    def get(self, path: str) -> tuple[int, bytes, float]:
        start = time.perf_counter()
        con = self._con()
        try:
            con.request("GET", path, headers=self.headers)
            res = con.getresponse()
            body = res.read()
        except (OSError, http.client.HTTPException):
            con.close()
            self.local.con = None
            return 0, b"", time.perf_counter() - start
        return res.status, body, time.perf_counter() - start

    def view(self, n: int, level: int, cx: float, cy: float, info: dict, stats: Stats) -> None:
        """Fetch every tile of a 1400 x 900 view centred on (cx, cy) of ``level``; time it."""
        scale = 2 ** (info["levels"] - 1 - level)
        lw, lh = math.ceil(info["width"] / scale), math.ceil(info["height"] / scale)
        ts = info["tile_size"]
        x0, y0 = max(0, cx - VIEW_W / 2), max(0, cy - VIEW_H / 2)
        cols = range(int(x0 // ts), min(math.ceil(lw / ts), int((x0 + VIEW_W) // ts) + 1))
        rows = range(int(y0 // ts), min(math.ceil(lh / ts), int((y0 + VIEW_H) // ts) + 1))
        paths = [f"/dz/{n}_files/{level}/{c}_{r}.jpeg" for r in rows for c in cols]
        start = time.perf_counter()
        for status, body, seconds in self.pool.map(self.get, paths):
            if status != 200 or not body.startswith(b"\xff\xd8"):
                stats.errors += 1
            stats.tiles.append(seconds)
        stats.views.append(time.perf_counter() - start)

    def session(self, n: int, views: int, deadline: float, stats: Stats) -> None:
        """Open slide ``n`` as the page does, then zoom steps and pans until done."""
        start = time.perf_counter()
        status, body, _ = self.get(f"/api/slides/{n}")
        if status != 200:
            stats.errors += 1
            return
        info = json.loads(body)["image"]
        if info is None:
            return
        self.get(f"/dz/{n}.dzi")
        stats.opens.append(time.perf_counter() - start)
        top = info["levels"] - 1
        fit = max(
            0, top - max(0, math.ceil(math.log2(max(info["width"] / VIEW_W, info["height"] / VIEW_H, 1))))
        )
        level = fit
        for _ in range(views):
            if time.monotonic() > deadline:
                return
            scale = 2 ** (top - level)
            lw, lh = info["width"] / scale, info["height"] / scale
            self.view(n, level, self.rng.uniform(0, lw), self.rng.uniform(0, lh), info, stats)
            # zoom one step deeper; at the deepest level start again from the overview
            level = level + 1 if level < top else fit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def q(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    s = sorted(values)
    k = (len(s) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def measure(clients: list[Client], slides: list[int], views: int, seconds: float) -> dict:
    """All clients at once, each over every slide (in opposite orders), then the figures."""
    stats = [Stats() for _ in clients]
    end = time.monotonic() + seconds

    def work(k: int) -> None:
        for n in slides if k % 2 == 0 else list(reversed(slides)):
            clients[k].session(n, views, end, stats[k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(clients))]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tiles = [x for s in stats for x in s.tiles]
    views_s = [x for s in stats for x in s.views]
    opens = [x for s in stats for x in s.opens]
    return {
        "slides": len(slides),
        "views": len(views_s),
        "tiles": len(tiles),
        "errors": sum(s.errors for s in stats),
        "seconds": round(time.perf_counter() - t0, 1),
        "tile_median_ms": round(1000 * statistics.median(tiles), 1) if tiles else None,
        "tile_p95_ms": round(1000 * q(tiles, 0.95), 1) if tiles else None,
        "view_median_s": round(statistics.median(views_s), 3) if views_s else None,
        "view_p95_s": round(q(views_s, 0.95), 3) if views_s else None,
        "open_max_s": round(max(opens), 3) if opens else None,
    }


def server_figures(pid: int) -> tuple[int, int, float]:
    """The server's open sockets (its listening one left out), resident KiB and CPU seconds."""
    fds = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            fds += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    rss = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS")
    )
    ticks = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(ticks[11]) + int(ticks[12])) / os.sysconf("SC_CLK_TCK")
    return max(0, fds - 1), rss, cpu


def slowloris(port: int, n: int, seconds: float, done: threading.Event) -> dict:
    """N slow connections from 127.0.0.1 for ``seconds``: each sends a request's first line and
    then a header byte every two seconds; a closed one is opened again a second later."""
    sel = selectors.DefaultSelector()
    opened = closed = failed = 0
    reopen: list[float] = [0.0] * n  # when each slot opens its next connection
    socks: list[socket.socket | None] = [None] * n
    nudged = [0.0] * n
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now = time.monotonic()
        for k in range(n):
            sock = socks[k]
            if sock is None and now >= reopen[k] and time.monotonic() < end:
                try:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=0.5)
                    sock.sendall(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    sock.setblocking(False)
                    sel.register(sock, selectors.EVENT_READ, k)
                    socks[k], nudged[k] = sock, now
                    opened += 1
                except OSError:
                    failed += 1
                    reopen[k] = now + 1
            elif sock is not None and now - nudged[k] >= 2:
                with contextlib.suppress(OSError):
                    sock.send(b"X")
                nudged[k] = now
        for key, _ in sel.select(timeout=0.05):
            k, sock = key.data, key.fileobj
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:  # closed by the server (after a 408 or at once)
                sel.unregister(sock)
                sock.close()
                socks[k], reopen[k] = None, time.monotonic() + 1
                closed += 1
    done.set()
    for sock in socks:
        if sock is not None:
            sock.close()
    return {"attackers": n, "opened": opened, "closed_by_server": closed, "connect_failures": failed}


def reviewer_under_attack(port: int, token: str, done: threading.Event) -> dict:
    """``GET /api/state`` from 127.0.0.2 on a new connection every quarter second until ``done``."""
    latencies: list[float] = []
    failures = 0
    while not done.is_set():
        start = time.perf_counter()
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=("127.0.0.2", 0))
        try:
            con.request("GET", "/api/state", headers={"Authorization": f"Bearer {token}"})
            res = con.getresponse()
            res.read()
            if res.status != 200:
                failures += 1
            else:
                latencies.append(time.perf_counter() - start)
        except (OSError, http.client.HTTPException):
            failures += 1
        finally:
            con.close()
        time.sleep(0.25)
    return {
        "requests": len(latencies) + failures,
        "failures": failures,
        "median_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(1000 * q(latencies, 0.95), 1) if latencies else None,
        "max_ms": round(1000 * max(latencies), 1) if latencies else None,
    }


def attack(port: int, token: str, pid: int, n: int, seconds: float) -> dict:
    """The slow-client attack (``--slowloris``) and the figures of the server and a reviewer."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 256)), hard))
    done = threading.Event()
    result: dict = {}
    held: list[int] = []
    rss: list[int] = []
    _, _, cpu0 = server_figures(pid)
    attacker = threading.Thread(target=lambda: result.update(slowloris(port, n, seconds, done)))
    attacker.start()
    time.sleep(1)  # the attackers connect first
    reviewer = threading.Thread(
        target=lambda: result.update(reviewer=reviewer_under_attack(port, token, done))
    )
    reviewer.start()
    while not done.wait(1):
        sockets, kib, _ = server_figures(pid)
        held.append(sockets)
        rss.append(kib)
    attacker.join()
    reviewer.join()
    _, _, cpu1 = server_figures(pid)
    result.update(
        held_max=max(held, default=0),
        held_end=held[-1] if held else 0,
        server_rss_max_mib=round(max(rss, default=0) / 1024, 1),
        server_cpu_s=round(cpu1 - cpu0, 2),
        seconds=seconds,
    )
    return result


def flood(
    port: int, rate: float, seconds: float, done: threading.Event, networks: int = 0, silent: bool = False
) -> dict:
    """``rate`` connections a second for ``seconds`` from 32 addresses of 127.0.0.0/16, or with
    ``networks`` from one address in each of that many /16s (127.2.0.0 on), each sending one byte
    (``silent``: none), held until the server closes them."""
    sel = selectors.DefaultSelector()
    opened = failed = closed = 0
    start = time.monotonic()
    while (now := time.monotonic()) < start + seconds:
        while opened + failed < rate * (now - start):
            k = opened + failed
            try:
                sock = socket.create_connection(
                    ("127.0.0.1", port),
                    timeout=0.5,
                    source_address=(
                        (f"127.{2 + k % networks}.0.1", 0)
                        if networks
                        else (f"127.0.{k % 32}.{1 + k // 32 % 250}", 0)
                    ),
                )
                if not silent:
                    sock.sendall(b"\x16")  # one byte of a ClientHello
                sock.setblocking(False)
                sel.register(sock, selectors.EVENT_READ)
                opened += 1
            except OSError:
                failed += 1
        for key, _ in sel.select(timeout=0.001):
            sock = key.fileobj
            with contextlib.suppress(OSError):
                if sock.recv(4096):  # type: ignore[union-attr]
                    continue
            sel.unregister(sock)
            sock.close()  # type: ignore[union-attr]
            closed += 1
    done.set()
    for key in list(sel.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
    return {
        "opened": opened,
        "opened_per_s": round(opened / seconds),
        "connect_failures": failed,
        "closed_by_server": closed,
    }


def handshake_step(tls: Any, raw: socket.socket, incoming: Any, outgoing: Any) -> bool:
    """One step of the TLS handshake of ``tls`` (an ``ssl.SSLObject`` over the memory BIOs
    ``incoming`` and ``outgoing``) on the socket ``raw``: True where it is done, else what it has
    to say sent and the server's next bytes taken (ConnectionResetError where the server closed)."""
    import ssl

    try:
        tls.do_handshake()
        return True
    except ssl.SSLWantReadError:
        raw.sendall(outgoing.read())
        data = raw.recv(65536)
        if not data:
            raise ConnectionResetError from None
        incoming.write(data)
        return False


def unverified() -> Any:
    """A TLS client context that takes the bench's self-signed certificate."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


def sign_in(port: int, token: str) -> str:
    """Sign in over TLS from 127.1.0.1 with ``token``: the session's ``Cookie`` header value."""
    con = http.client.HTTPSConnection(
        "127.0.0.1", port, timeout=10, source_address=("127.1.0.1", 0), context=unverified()
    )
    try:
        body = json.dumps({"token": token})
        con.request("POST", "/api/login", body=body, headers={"Content-Type": "application/json"})
        answer = con.getresponse()
        answer.read()
        cookie = answer.getheader("set-cookie")
        if answer.status != 200 or cookie is None:
            raise SystemExit(f"the reviewer could not sign in: {answer.status}")
        return cookie.split(";")[0]
    finally:
        con.close()


def slow_reviewer(port: int, rtt: float, done: threading.Event, cookie: str | None = None) -> dict:
    """A TLS connection from 127.1.0.1 every quarter second until ``done``: its handshake's last
    message sent ``rtt`` seconds after the server's answer, then ``GET /login`` (with ``cookie``,
    a signed-in session's: ``GET /api/state``)."""
    import ssl

    context = unverified()
    request = (
        f"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        if cookie
        else "GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    ).encode()
    served = cut = early = 0
    while not done.is_set():
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
        answered = False  # whether the server answered the ClientHello
        try:
            with socket.create_connection(
                ("127.0.0.1", port), timeout=10, source_address=("127.1.0.1", 0)
            ) as raw:
                while not handshake_step(tls, raw, incoming, outgoing):
                    answered = True
                time.sleep(rtt)  # the Finished crosses the reviewer's link
                tls.write(request)
                raw.sendall(outgoing.read())
                answer = b""
                while b"\r\n" not in answer:
                    data = raw.recv(65536)
                    if not data:
                        raise ConnectionResetError from None
                    incoming.write(data)
                    with contextlib.suppress(ssl.SSLWantReadError):
                        answer += tls.read(65536)
                served += answer.startswith(b"HTTP/1.1 200 ")
        except (OSError, ssl.SSLError):
            cut += answered
            early += not answered
        time.sleep(0.25)
    return {"reviewer_served": served, "reviewer_cut": cut, "reviewer_cut_before_answer": early}


def handshake_flood(port: int, pid: int, args: argparse.Namespace, token: str) -> dict:
    """The flood of unfinished TLS handshakes (``--handshake-flood``) and a distant reviewer
    (``--burst`` connections at once, each as :func:`slow_reviewer`; ``--signed-in``: signed in
    with ``token`` before the flood)."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    done = threading.Event()
    rate, seconds = args.handshake_flood, args.seconds
    result: dict = {"rate": rate, "rtt_s": args.rtt, "seconds": seconds, "networks": args.flood_networks}
    result |= {"silent": args.silent, "burst": args.burst, "signed_in": args.signed_in}
    cookie = sign_in(port, token) if args.signed_in else None
    _, _, cpu0 = server_figures(pid)
    attack = lambda: result.update(flood(port, rate, seconds, done, args.flood_networks, args.silent))  # noqa: E731
    attacker = threading.Thread(target=attack)
    attacker.start()
    time.sleep(args.fill)  # the flood fills the places first
    figures: list[dict] = []
    reviewers = [
        threading.Thread(target=lambda: figures.append(slow_reviewer(port, args.rtt, done, cookie)))
        for _ in range(args.burst)
    ]
    for reviewer in reviewers:
        reviewer.start()
    for thread in [*reviewers, attacker]:
        thread.join()
    result |= {key: sum(f[key] for f in figures) for key in figures[0]}
    result["server_cpu_s"] = round(server_figures(pid)[2] - cpu0, 2)
    result["server_cpu_ms_a_connection"] = round(1000 * result["server_cpu_s"] / max(1, result["opened"]), 3)
    return result


def admissions(n: int) -> dict:
    """CPU microseconds an admission into a full ``Handshakes`` takes, by flood (``--admissions``)."""
    floods = {
        "bytes": lambda i: f"10.{2 + i % 254}.0.1",
        "silent": lambda i: f"10.{2 + i % 254}.0.1",
        "one_network": lambda i: f"10.0.{i % 32}.{1 + i // 32 % 250}",
    }
    report = {
        name: round(admission_cpu_us(address, name != "silent", n), 1) for name, address in floods.items()
    }
    return {"admissions": n, "cpu_us_an_admission": report}


def admission_cpu_us(address: Any, heard: bool, n: int) -> float:
    """CPU microseconds of each of ``n`` admissions into a full ``Handshakes``, the i-th from
    ``address(i)`` (its client having sent a byte where ``heard``), ended ones closed at once."""
    sys.path.insert(0, str(ROOT))
    from dqm.semantic.server import guard

    handshakes = guard.Handshakes(per_client=None)
    handshakes.logged = float("inf")  # no log line (it would be timed)
    held: list[tuple[Any, socket.socket]] = []

    def admit(i: int) -> None:
        a, b = socket.socketpair()
        accepted = guard._Accepted(handshakes, a, (address(i), i))
        accepted.heard = heard
        if handshakes.admit((address(i), i), accepted, accepted.local):
            accepted.counted = True
            held.append((accepted, b))
        else:
            accepted.close()
            b.close()
        for key in list(handshakes.closing):  # as the event loop closes what was ended
            handshakes.pending[key][1].close()
        if len(held) > 2 * guard.HANDSHAKES_AT_ONCE:
            for _, peer in [h for h in held if h[0].fileno() == -1]:
                peer.close()
            held[:] = [h for h in held if h[0].fileno() != -1]

    first = guard.HANDSHAKES_AT_ONCE + 44
    for i in range(first):  # every place taken
        admit(i)
    before = resource.getrusage(resource.RUSAGE_SELF)
    for i in range(first, first + n):
        admit(i)
    after = resource.getrusage(resource.RUSAGE_SELF)
    for accepted, peer in held:
        accepted.close()
        peer.close()
    return 1e6 * (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / n


def run(args: argparse.Namespace) -> dict:
    env = {**os.environ, "DQM_MASK_KEY": KEY, "PYTHONPATH": str(ROOT)}
    batch, review, built = prepare(args.work, args.size, env)
    plan = json.loads((review / "review_plan.json").read_text())
    numbers = {s["slide_id"]: i for i, s in enumerate(plan["sample"])}
    (review / "review.sqlite").unlink(missing_ok=True)
    for extra in ("-wal", "-shm"):
        (review / f"review.sqlite{extra}").unlink(missing_ok=True)
    port = free_port()
    tls: list[str] = []
    if args.handshake_flood:
        sys.path.insert(0, str(ROOT))
        from tests.semantic.test_review_server_limits import _certificate

        keyfile, certfile = _certificate(args.work)
        tls = ["--ssl-keyfile", str(keyfile), "--ssl-certfile", str(certfile)]
    tokens = [
        dqm("review", "add-reviewer", str(review), name, "--port", str(port), env=env)
        .strip()
        .split("#token=")[1]
        for name in ("bench-a", "bench-b")
    ]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dqm",
            "review",
            "serve",
            str(review),
            "--batch",
            str(batch),
            "--port",
            str(port),
            *tls,
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (args.server_fds, args.server_fds)),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    why = server.stderr.read() if server.stderr else ""
                    raise SystemExit(f"the server did not start:\n{why}") from None
                time.sleep(0.2)
        if args.slowloris:
            return {"slowloris": attack(port, tokens[0], server.pid, args.slowloris, args.seconds)}
        if args.handshake_flood:
            figures = handshake_flood(port, server.pid, args, tokens[0])
            return {"handshake_flood": figures}
        clients = [Client(port, t, seed) for seed, t in enumerate(tokens)]
        real = [i for sid, i in numbers.items() if sid != "BIG"]
        report: dict = {"size": args.size, "build_seconds": round(built, 1), "groups": {}, "real_slides": {}}
        report["groups"]["pyramid"] = measure(clients, [numbers["BIG"]], args.views, args.seconds)
        per_slide = max(2, args.views // max(1, len(real)))
        report["groups"]["real"] = measure(clients, real, per_slide, args.seconds)
        for n in real:  # one line per real slide, one client, after the group (tile cache warm)
            name = Path(plan["sample"][n]["image_path"]).name
            report["real_slides"][name] = measure(clients[:1], [n], 3, 20)
        return report
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(20)
        for c in clients if "clients" in locals() else []:
            c.pool.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=50_000, help="side of the synthetic pyramid in pixels")
    ap.add_argument("--views", type=int, default=25, help="views per client on the pyramid")
    ap.add_argument("--seconds", type=float, default=120.0, help="time limit of each slide group")
    ap.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "_data" / "review_server")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--slowloris", type=int, default=0, help="measure N slow clients' attack instead")
    ap.add_argument("--server-fds", type=int, default=1024, help="the server's limit of open files")
    ap.add_argument("--handshake-flood", type=float, default=0, help="flood TLS handshakes at RATE a second")
    ap.add_argument(
        "--rtt", type=float, default=0.5, help="the reviewer's round trip under --handshake-flood"
    )
    ap.add_argument("--flood-networks", type=int, default=0, help="flood from one address in each of K /16s")
    ap.add_argument("--silent", action="store_true", help="the flood's connections send nothing")
    ap.add_argument("--burst", type=int, default=1, help="the reviewer's connections at once (a browser: 6)")
    ap.add_argument(
        "--fill", type=float, default=1.0, help="seconds the flood runs before the reviewer starts"
    )
    ap.add_argument(
        "--signed-in", action="store_true", help="the reviewer signs in before the flood (its network known)"
    )
    ap.add_argument("--admissions", type=int, default=0, help="time N admissions of the handshake guard")
    args = ap.parse_args()
    if args.admissions:
        print(json.dumps(admissions(args.admissions), indent=2))
        return
    report = run(args)
    if args.handshake_flood:
        print(json.dumps(report["handshake_flood"], indent=2))
        return
    if args.slowloris:
        print(json.dumps(report["slowloris"], indent=2))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
        return
    print(
        f"pyramid {args.size} x {args.size} px (built in {report['build_seconds']} s when new); "
        f"{os.cpu_count()} CPUs; two clients x {CONNECTIONS} connections"
    )
    print(
        f"{'slides':24} {'views':>6} {'tiles':>6} {'err':>4} {'tile med':>9} {'tile p95':>9} {'view p95':>9}"
    )
    rows = list(report["groups"].items()) + [(f"  {k}"[:24], v) for k, v in report["real_slides"].items()]
    for group, g in rows:
        print(
            f"{group:24} {g['views']:>6} {g['tiles']:>6} {g['errors']:>4} {g['tile_median_ms']!s:>7}ms "
            f"{g['tile_p95_ms']!s:>7}ms {g['view_p95_s']!s:>8}s"
        )
    print("real-slide lines: one client each, after the group run (some tiles come from the server's cache)")
    print(
        "errors: tiles that did not come back as JPEG (a slide whose pixels cannot be read, e.g. unreadable.svs)"
    )
    print("targets: tile median <= 50 ms, full view after a zoom step <= 1 s (p95); two clients at once")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
