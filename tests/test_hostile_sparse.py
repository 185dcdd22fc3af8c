"""Sparse files: a few bytes on disk that read as a terabyte (``truncate -s 1T``).

Hashing such a file whole reads its holes as zeros: a 2 GB one cost 19.5 s, a terabyte would hang
the audit for hours. A file that is mostly holes is never read whole: it is ``FILE_SPARSE`` (its
apparent and allocated sizes in the finding), and a checksum listed for it is reported as not
verified, with that reason. What is read of a sparse slide (the probe) stays bounded.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import dqm.sparse_files as sparse_files
from dqm.cli import app
from dqm.profile import Profile
from dqm.runner import RunOptions, run_batch
from dqm.slide_io import full_hash, probe_slide
from dqm.sparse_files import Sparse, SparseFileError, sparse_at, sparse_of
from dqm.synth.pyramid import paint, write_pyramid
from tests.helpers import write_tiny_batch

TIB = 1 << 40
OUTPUTS = ("results.json", "report.html", "junit.xml", "summary.md")
runner = CliRunner()


def _hole(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of ``size`` bytes that holds ``head`` and holes."""
    with path.open("wb") as fh:
        fh.write(head)
        fh.truncate(size)
    return path


@pytest.fixture
def holes(tmp_path: Path) -> Path:
    """A folder whose filesystem makes sparse files and reports their holes (else the test skips)."""
    probe = tmp_path / "probe.bin"
    try:
        found = sparse_at(_hole(probe, TIB))
    except OSError:  # a file system whose files cannot be a terabyte long (FAT, small ext4 blocks)
        found = None
    finally:
        probe.unlink(missing_ok=True)
    if found is None:
        pytest.skip(
            "the temporary folder's file system does not make 1 TiB sparse files and report their holes"
        )
    return tmp_path


def _sums(root: Path, files: dict[str, str | None]) -> None:
    """``SHA256SUMS`` listing ``files`` (path -> hash; None: the file's real hash)."""
    lines = [f"{h or hashlib.sha256((root / p).read_bytes()).hexdigest()}  {p}" for p, h in files.items()]
    (root / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def test_a_file_of_holes_is_sparse_and_one_of_data_is_not(holes: Path, monkeypatch) -> None:
    assert sparse_at(_hole(holes / "t.bin", TIB)) == Sparse(TIB, 0)
    head = _hole(holes / "h.bin", TIB, b"x" * 65536)
    found = sparse_at(head)
    assert found is not None and found.apparent == TIB and 65536 <= found.allocated < 1 << 20
    assert sparse_at(_hole(holes / "small.bin", sparse_files.SPARSE_MIN_BYTES)) is None  # at the floor
    monkeypatch.setattr(sparse_files, "SPARSE_MIN_BYTES", 1 << 16)
    data = holes / "data.bin"
    data.write_bytes(os.urandom(1 << 20))
    assert sparse_at(data) is None


def test_no_blocks_reported_is_not_sparse_without_a_hole(holes: Path, monkeypatch) -> None:
    """A FUSE or network mount may say 0 blocks for every file: a file without holes is then not
    sparse (its first hole is its end), and neither is any file where holes cannot be asked for."""
    monkeypatch.setattr(sparse_files, "SPARSE_MIN_BYTES", 1 << 16)
    data = holes / "data.bin"
    data.write_bytes(os.urandom(1 << 20))
    st = os.stat(data)
    no_blocks = os.stat_result((*st[:10],), {"st_blocks": 0, "st_blksize": 4096})
    assert no_blocks.st_blocks == 0 and no_blocks.st_size == st.st_size
    fd = os.open(data, os.O_RDONLY)
    try:
        assert sparse_of(fd, no_blocks) is None
    finally:
        os.close(fd)

    def no_seek_hole(fd: int, pos: int, how: int) -> int:
        raise OSError(22, "Invalid argument")

    t = _hole(holes / "t.bin", TIB)
    monkeypatch.setattr(sparse_files.os, "lseek", no_seek_hole)
    assert sparse_at(t) is None


def test_a_sparse_file_is_not_hashed_and_an_ordinary_one_of_its_size_is(holes: Path, monkeypatch) -> None:
    monkeypatch.setattr(sparse_files, "SPARSE_MIN_BYTES", 1 << 16)
    size = 4 << 20
    with pytest.raises(SparseFileError) as raised:
        full_hash(_hole(holes / "t.bin", size, b"x" * 4096))
    assert isinstance(raised.value, OSError) and raised.value.sparse.apparent == size
    data = holes / "data.bin"
    payload = os.urandom(size)
    data.write_bytes(payload)
    assert full_hash(data) == hashlib.sha256(payload).hexdigest()


def test_an_audit_with_a_listed_terabyte_of_holes_finishes_and_says_so(holes: Path) -> None:
    """Before: ``extra.bin`` was read whole (a terabyte of zeros). Now: two findings at its line and
    path, every output written, exit 1."""
    root = write_tiny_batch(holes / "b")
    _hole(root / "extra.bin", TIB)
    _sums(root, {"manifest.csv": None, "extra.bin": "0" * 64})
    out = holes / "out"
    res = runner.invoke(app, ["audit", str(root), "--out", str(out), "--workers", "1"])
    assert res.exit_code == 1, res.output
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    findings = json.loads((out / "results.json").read_text(encoding="utf-8"))["findings"]
    (sparse,) = [f for f in findings if f["code"] == "FILE_SPARSE"]
    assert sparse["location"]["file"] == "extra.bin" and sparse["severity"] == "error"
    assert sparse["params"]["apparent"] == TIB and sparse["params"]["allocated"] == 0
    (unverified,) = [f for f in findings if f["code"] == "CHECKSUM_MISMATCH"]
    assert unverified["location"]["file"] == "extra.bin"
    assert "sparse file of 1,099,511,627,776 bytes" in unverified["message"]
    assert "not verified" in unverified["message"]


def _sparse_slide(path: Path, tmp: Path) -> bytes:
    """A readable JPEG-tiled pyramid at the head of a terabyte of holes (an interrupted copy whose
    header and first tiles arrived); returns the pyramid's bytes."""
    small = tmp / "small.tiff"
    outline = np.array([[100, 100], [650, 100], [650, 420], [100, 420]])
    write_pyramid(small, paint(np.random.default_rng(3), 768, 512, outline), 0.5)
    head = small.read_bytes()
    small.unlink()
    _hole(path, TIB, head)
    return head


def _bytes_read() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar line in /proc/self/io")


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux's per-process I/O counters")
def test_probing_a_sparse_slide_reads_a_bounded_amount(holes: Path) -> None:
    path = holes / "S1.tiff"
    head = _sparse_slide(path, holes)
    probe_slide(path, path.name)  # the first probe imports what the probe needs
    before = _bytes_read()
    probe = probe_slide(path, path.name)
    read = _bytes_read() - before
    assert probe.opened and probe.width == 768
    assert read < len(head) + (4 << 20), read  # the pyramid and the quick print's last MiB


def test_a_sparse_slide_and_annotation_are_findings_of_their_item(holes: Path, profile: Profile) -> None:
    """Listed, checked with full hashes, and under ``limits.annotation_bytes``: the slide is probed
    (bounded), neither file is read whole, each is ``FILE_SPARSE`` of its item, the annotation is
    not parsed, the listed slide's checksum is not verified."""
    root = write_tiny_batch(holes / "b")
    _sparse_slide(root / "slides" / "S1.tiff", holes)
    (root / "slides" / "S1.png").unlink()
    manifest = root / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("slides/S1.png", "slides/S1.tiff"))
    _hole(root / "annotations" / "S3.json", 256 << 20, b'{"slide": {}, "lesions": [')
    _sums(root, {"slides/S1.tiff": "0" * 64, "annotations/S1.json": None})
    run = run_batch(root, profile, RunOptions(workers=1, clinical=False, full_hashes=True))
    found = {(f.code, f.item_id, f.location.file) for f in run.findings}
    assert ("FILE_SPARSE", "S1", "slides/S1.tiff") in found
    assert ("FILE_SPARSE", "S3", "annotations/S3.json") in found
    assert ("CHECKSUM_MISMATCH", "S1", "slides/S1.tiff") in found
    (unread,) = [f for f in run.findings if f.code == "ANNOTATION_UNREADABLE"]
    assert unread.item_id == "S3" and "sparse file" in unread.message
    s1 = run.outcomes[0]
    assert s1.summary.slide_id == "S1" and s1.slide is not None and s1.slide.opened
    assert s1.sparse == {"slides/S1.tiff": (TIB, s1.sparse["slides/S1.tiff"][1])}
    assert "slides/S1.tiff" not in s1.sha256 and "annotations/S1.json" in s1.sha256


def test_verify_says_a_file_turned_sparse_cannot_be_read_instead_of_hashing_it(holes: Path) -> None:
    """``dqm verify`` hashes every file the audit hashed: a file since replaced by a terabyte of holes
    is a difference with its reason, not hours of reading zeros."""
    from dqm.results import load_result
    from dqm.verify import check_batch

    root = write_tiny_batch(holes / "b")
    out = holes / "out"
    res = runner.invoke(app, ["audit", str(root), "--out", str(out), "--workers", "1", "--full-hashes"])
    assert res.exit_code == 1, res.output
    _hole(root / "annotations" / "S1.json", TIB)
    verification = check_batch(load_result(out / "results.json"), root, None)
    assert not verification.ok
    assert any(
        d.startswith("annotations/S1.json: cannot be read (a sparse file") for d in verification.differences
    ), verification.differences


def test_a_sparse_manifest_is_not_read_and_the_batch_is_paired_by_name(holes: Path, profile: Profile) -> None:
    """Before: the first 256 MiB of holes were read (the manifest's limit) before it was refused."""
    root = write_tiny_batch(holes / "b")
    _hole(root / "manifest.csv", TIB, b"slide_id,image_path,annotation_path\n")
    _sums(root, {"manifest.csv": "0" * 64})
    run = run_batch(root, profile, RunOptions(workers=1, clinical=False))
    (unread,) = [f for f in run.findings if f.code == "MANIFEST_UNREADABLE"]
    assert "a sparse file: 1099511627776 bytes long" in unread.message
    assert [s.slide_id for s in run.outcomes.summaries()] == ["S1", "S2", "S3"]
    found = {(f.code, f.location.file) for f in run.findings}
    assert {("FILE_SPARSE", "manifest.csv"), ("CHECKSUM_MISMATCH", "manifest.csv")} <= found
