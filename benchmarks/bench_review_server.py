"""How fast the review server answers two reviewers working at once (issue 16, section 4).

    .venv/bin/python benchmarks/bench_review_server.py [--size 50000] [--views 25] [--seconds 120]

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
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import math
import os
import random
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


def run(args: argparse.Namespace) -> dict:
    env = {**os.environ, "DQM_MASK_KEY": KEY, "PYTHONPATH": str(ROOT)}
    batch, review, built = prepare(args.work, args.size, env)
    plan = json.loads((review / "review_plan.json").read_text())
    numbers = {s["slide_id"]: i for i, s in enumerate(plan["sample"])}
    (review / "review.sqlite").unlink(missing_ok=True)
    for extra in ("-wal", "-shm"):
        (review / f"review.sqlite{extra}").unlink(missing_ok=True)
    port = free_port()
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
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
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
    args = ap.parse_args()
    report = run(args)
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
