"""Hostile batch layouts (links out, FIFOs, a manifest that is a folder, mutated files) through run_batch."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from dqm.runner import RunOptions, run_batch
from tests.fuzz.harness import PROFILE, judge_batch, watch_outside
from tests.fuzz.strategies import as_bytes, json_mutations
from tests.helpers import native_doc, write_tiny_batch


def _clear(path: Path) -> Path:
    """Remove whatever is at ``path`` (file, link, FIFO or folder) so a layout change can replace it."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    return path


def _link(path: Path, target: Path) -> None:
    _clear(path).symlink_to(target)


def _manifest_row(batch: Path, column: int, value: str) -> None:
    manifest = batch / "manifest.csv"
    if not manifest.is_file() or manifest.is_symlink():
        return  # another layout change replaced it
    lines = manifest.read_bytes().decode("utf-8", "replace").splitlines()
    row = lines[1].split(",") if len(lines) > 1 else []
    if len(row) <= column:
        return
    row[column] = value
    lines[1] = ",".join(row)
    manifest.write_text("\n".join(lines) + "\n")


Layout = Callable[[Path, Path, st.DataObject], None]
LAYOUTS: dict[str, Layout] = {
    "annotation linked out": lambda b, o, d: _link(b / "annotations/S1.json", o / "secret.json"),
    "folder linked out": lambda b, o, d: _link(b / "extra", o),
    "annotations folder linked out": lambda b, o, d: _link(b / "annotations", o),
    "manifest linked out": lambda b, o, d: _link(b / "manifest.csv", o / "manifest.csv"),
    "dangling link": lambda b, o, d: _link(b / "annotations/S3.json", b / "missing.json"),
    "link loop": lambda b, o, d: _link(b / "annotations/S2.json", b / "annotations/S2.json"),
    "annotation is a FIFO": lambda b, o, d: os.mkfifo(_clear(b / "annotations/S2.json")),
    "slide is a FIFO": lambda b, o, d: os.mkfifo(_clear(b / "slides/S1.png")),
    "manifest is a FIFO": lambda b, o, d: os.mkfifo(_clear(b / "manifest.csv")),
    "manifest is a folder": lambda b, o, d: _clear(b / "manifest.csv").mkdir(),
    "slide is a folder": lambda b, o, d: _clear(b / "slides/S2.png").mkdir(),
    "manifest row leaves the batch": lambda b, o, d: _manifest_row(
        b,
        d.draw(st.sampled_from([1, 2])),
        d.draw(st.sampled_from(["../outside/secret.json", str(o / "secret.json"), "..", "/"])),
    ),
    "manifest bytes mutated": lambda b, o, d: _clear(b / "manifest.csv").write_bytes(
        d.draw(as_bytes(OUTSIDE_MANIFEST.replace("../outside/", "annotations/")))
    ),
    "annotation mutated": lambda b, o, d: _clear(b / "annotations/S1.json").write_bytes(
        d.draw(json_mutations(native_doc()).flatmap(as_bytes))
    ),
    "checksum list leaves the batch": lambda b, o, d: _clear(b / "SHA256SUMS").write_text(
        "".join(f"{'0' * 64}  {p}\n" for p in d.draw(st.lists(st.sampled_from(_out_paths(o)), min_size=1)))
    ),
    "checksum list mutated": lambda b, o, d: _clear(b / "SHA256SUMS").write_bytes(
        d.draw(
            as_bytes(f"{'a' * 64}  annotations/S1.json\n\\{'b' * 64} *x\\ny\nSHA256 (../s) = {'c' * 64}\n")
        )
    ),
    "checksum list linked out": lambda b, o, d: _link(b / "SHA256SUMS", o / "manifest.csv"),
    "checksum list is a FIFO": lambda b, o, d: os.mkfifo(_clear(b / "SHA256SUMS")),
}


def _out_paths(outside: Path) -> list[str]:
    """Paths a checksum list may give that leave the batch."""
    return ["../outside/secret.json", str(outside / "secret.json"), "..", "/", "annotations/../../outside/x"]


OUTSIDE_MANIFEST = "slide_id,image_path,annotation_path\nS9,../outside/S9.png,../outside/secret.json\n"


def _outside(folder: Path) -> None:
    """A folder beside the batch whose files a run must never open."""
    folder.mkdir()
    (folder / "secret.json").write_text(json.dumps(native_doc()))
    (folder / "manifest.csv").write_text(OUTSIDE_MANIFEST)


@given(st.lists(st.sampled_from(sorted(LAYOUTS)), min_size=1, max_size=3, unique=True), st.data())
def test_hostile_batch_layouts_are_findings(layouts: list[str], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory(prefix="dqm-fuzz-") as tmp:
        batch, outside = Path(tmp) / "batch", Path(tmp) / "outside"
        _outside(outside)
        write_tiny_batch(batch)
        for name in layouts:
            LAYOUTS[name](batch, outside, data)
        judge_batch(batch, outside)


def test_the_watch_sees_what_a_run_reads(tmp_path: Path) -> None:
    """The outside-read assertion is not vacuous: the same watch on the batch itself sees the run's
    listings and reads, through a link too."""
    batch = write_tiny_batch(tmp_path / "batch")
    (tmp_path / "link").symlink_to(batch / "annotations")
    with watch_outside(batch / "annotations") as seen:
        run_batch(batch, PROFILE, RunOptions(workers=1, slides=False, clinical=False))
        (tmp_path / "link" / "S1.json").read_bytes()
    assert any(s.startswith("os.scandir") for s in seen)
    assert any(s.startswith("open") and s.endswith("annotations/S3.json") for s in seen)
    assert f"open {tmp_path / 'link' / 'S1.json'}" in seen
