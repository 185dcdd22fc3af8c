"""Builders for in-memory items: a clean native document, views with a virtual slide."""

from __future__ import annotations

import copy
import importlib.util
import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from dqm.model import Item
from dqm.profile import Profile
from dqm.readers import parse_annotation, resolve_classes
from dqm.slide_io import virtual_probe
from validators.context import FileStatus, ItemView


def square(x: float, y: float, size: float) -> list[list[float]]:
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size]]


def circle(cx: float, cy: float, r: float, n: int = 64) -> list[list[float]]:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([cx + r * np.cos(t), cy + r * np.sin(t)]).round(3).tolist()


CLINICAL = {
    "institution": "Seoul-A",
    "diagnosis": "BCC",
    "age": 61,
    "sex": "F",
    "site": "head_neck",
    "patient_id": "P000001",
}


def native_doc(lesions: list[dict[str, Any]] | None = None, **slide: Any) -> dict[str, Any]:
    """A clean native document: a 4096x3072 slide with two BCC lesions (one with a hole)."""
    if lesions is None:
        lesions = [
            {
                "id": 1,
                "class": "BCC",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [circle(1000, 1000, 200), circle(1000, 1000, 50)[::-1]],
                },
            },
            {
                "id": 2,
                "class": "basal cell carcinoma",
                "geometry": {"type": "Polygon", "coordinates": [circle(2500, 1500, 150)]},
            },
        ]
    return {
        "format": "dqm.annotation/1",
        "slide": {"file": "S1.tiff", "width": 4096, "height": 3072, "mpp": 0.5, **slide},
        "lesions": lesions,
        "clinical": copy.deepcopy(CLINICAL),
    }


def view_of(
    doc: Any, profile: Profile, *, raw: bytes | None = None, slide: bool = True, manifest_row: bool = True
) -> ItemView:
    """An item view of a document as if read from ``S1.json`` next to a healthy virtual slide."""
    data = raw if raw is not None else json.dumps(doc).encode()
    annotation = parse_annotation(data, "annotations/S1.json")[0]
    record = {k: str(v) for k, v in CLINICAL.items()} if manifest_row else dict(annotation.clinical)
    item = Item("S1", "slides/S1.tiff", "annotations/S1.json", record, 1 if manifest_row else None)
    annotation = resolve_classes(annotation, profile, item.institution)
    probe = virtual_probe("slides/S1.tiff", 4096, 3072) if slide else None
    return ItemView(
        item,
        profile,
        annotation,
        probe,
        FileStatus("slides/S1.tiff", slide),
        FileStatus("annotations/S1.json", True),
    )


def tinted_slide(k: int = 0, size: tuple[int, int] = (400, 300)):
    """A pink slide image (230, 170 + ``k``, 200 on the average), each channel a tenth under and
    over it (red 23 levels) in a checkerboard of squares 8 px a side at the measure's working scale
    (512 px a side at most: larger squares on a larger image), a spread of 18 where each working pixel
    is read with its neighbours: not one flat colour (``SLIDE_ONE_COLOUR``, :func:`dqm.pixels.ink.one_colour`),
    which every slide of the tiny batch was before session 28, at any size (a checkerboard of single
    pixels read as sensor noise, one colour, once the spread was read on 3 x 3 means)."""
    from PIL import Image

    w, h = size
    cell = max(8, -(-8 * max(w, h) // 512))
    squares = (np.arange(h)[:, None] // cell + np.arange(w)[None, :] // cell) % 2
    # each square brighter or darker by a tenth in every channel: one saturation throughout,
    # so the tissue mask takes the whole image as it took the flat pink
    pixels = np.array((230, 170 + k, 200), float) * np.where(squares, 1.1, 0.9)[..., None]
    return Image.fromarray(np.rint(pixels).astype(np.uint8))


def write_tiny_batch(root, *, manifest: bool = True):
    """Three slides: S1 clean, S2 with invalid JSON, S3 with an unknown key and age 200.

    The expected accuracies are worked out by hand in tests/test_syntactic.py.
    """
    from pathlib import Path

    root = Path(root)
    (root / "slides").mkdir(parents=True)
    (root / "annotations").mkdir()
    for k, sid in enumerate(("S1", "S2", "S3")):
        tinted_slide(k).save(root / "slides" / f"{sid}.png")

    def doc(extra=None):
        les = {"class": "BCC", "geometry": {"type": "Polygon", "coordinates": [square(100, 100, 80)]}}
        les.update(extra or {})
        return {
            "slide": {"file": "x.png", "width": 400, "height": 300, "mpp": 0.5},
            "lesions": [les],
            "clinical": {},
        }

    (root / "annotations" / "S1.json").write_text(json.dumps(doc()))
    (root / "annotations" / "S2.json").write_text('{"slide": ')
    (root / "annotations" / "S3.json").write_text(json.dumps(doc({"colour": "red"})))
    if manifest:
        rows = ["slide_id,image_path,annotation_path,institution,diagnosis,age,sex,site"]
        for sid, age in (("S1", 40), ("S2", 50), ("S3", 200)):
            rows.append(f"{sid},slides/{sid}.png,annotations/{sid}.json,Seoul-A,BCC,{age},F,trunk")
        (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


def benchmark(name: str) -> ModuleType:
    """The script ``benchmarks/NAME.py`` as a module (benchmarks are no package), for the tests of
    what a benchmark itself computes."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def without_scale_note(findings: list) -> list:
    """``findings`` less the batch's one info line counting the slides measured for artefacts with
    no known resolution (``ARTEFACT_SCALE_UNKNOWN``): a plain slide whose annotation states no
    usable mpp (unreadable, or none) has none the probe reads, so such a batch holds that line."""
    return [f for f in findings if not (f.code == "ARTEFACT_SCALE_UNKNOWN" and f.item_id == "batch")]


class Hung(Exception):
    """What :func:`within` raises when the code under test ran past its seconds."""


@contextmanager
def within(seconds: int) -> Iterator[None]:
    """Fail the test (:class:`Hung`) instead of blocking the suite when the code under test runs
    past ``seconds`` (the suite has no per-test timeout): a test of the code that ends a hanging
    item must end even when that code does not."""

    def stop(signum: int, frame: object) -> None:
        raise Hung(f"still running after {seconds} s")

    former = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, former)


CHROMIUM = Path("/usr/bin/chromium")  # Debian's (``make browser``); never a downloaded browser


def free_port() -> int:
    """A local TCP port free now (a reviewer's link names the port before the server starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def uvicorn_running(app: object, port: int, **options: Any) -> Iterator[Any]:
    """``app`` on a real uvicorn server on ``127.0.0.1:port`` (``options`` are uvicorn's), started
    in a thread and stopped on leaving; the server is what it yields."""
    import uvicorn

    config = {"host": "127.0.0.1", "port": port, "log_level": "warning"} | options
    server = uvicorn.Server(uvicorn.Config(app, **config))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield server
    finally:
        server.should_exit = True
        thread.join(10)


def launch_chromium(playwright: Any) -> Any:
    """Debian's headless Chromium through Playwright."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


def wait_until(page: Any, expression: str, timeout: float = 15.0) -> None:
    """Poll a JavaScript expression with page.evaluate (Playwright's wait_for_function evaluates
    strings with eval, which the review page's Content-Security-Policy rightly forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)
