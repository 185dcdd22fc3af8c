"""A file many items share is read and hashed once a worker, and only while its stat can be
trusted (:mod:`dqm.file_digests`): a file changed between items is read again, and a racy one
(times as recent as its reading) every time."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from collections import OrderedDict
from pathlib import Path

import pytest

import dqm.runner
import dqm.slide_io
from dqm import file_digests, readers
from dqm.file_digests import MEMO_SIZE, RACY_NS, TICK_NS, racy
from dqm.profile import Limits
from dqm.runner import READ_CHECK, RunOptions, run_batch
from validators.engine import CRASH_CODE

SLIDES = ("s1", "s2", "s3")


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    """Nothing memoised nor cached from another test; a small file is taken for a big one."""
    file_digests.forget()
    readers._CACHE.clear()
    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(dqm.runner, "CACHE_MIN_BYTES", 0)
    yield
    file_digests.forget()
    readers._CACHE.clear()


def _coco(name: str = "BCC") -> bytes:
    images = [
        {"id": k, "file_name": f"{s}.svs", "width": 900, "height": 900} for k, s in enumerate(SLIDES, 1)
    ]
    ring = [100, 100, 300, 100, 300, 300, 100, 300]
    anns = [
        {"id": k, "image_id": k, "category_id": 1, "segmentation": [[v + 10 * k for v in ring]]}
        for k in range(1, len(SLIDES) + 1)
    ]
    doc = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": name}]}
    return json.dumps(doc).encode()


def _batch(root: Path) -> Path:
    root.mkdir()
    (root / "coco.json").write_bytes(_coco())
    with (root / "manifest.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            ["slide_id", "image_path", "annotation_path", "institution", "diagnosis", "age", "sex", "site"]
        )
        for sid in SLIDES:
            out.writerow([sid, "", "coco.json", "Seoul-A", "BCC", "60", "F", "trunk"])
    _settle(root / "coco.json")
    return root


def _settle(path: Path) -> None:
    """Wait until the file's times are older than a racy file's (a few tens of ms)."""
    st = path.stat()
    while racy((st.st_mtime_ns, st.st_ctime_ns), time.time_ns()):
        time.sleep(0.01)


def _counted_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    real = dqm.runner.read_bytes
    monkeypatch.setattr(dqm.runner, "read_bytes", lambda path, *a: reads.append(path.name) or real(path, *a))
    return reads


def _answers(run) -> list:
    return [(r.summary, r.findings, r.annotation_sha256, r.stats) for r in run.outcomes]


OPTIONS = RunOptions(workers=1, slides=False, clinical=False)


def test_a_shared_file_is_read_and_hashed_once_and_answers_as_when_read_for_each_item(
    tmp_path, profile, monkeypatch
):
    """Each item read and hashed the whole shared COCO file: 3,000 items of a 3.7 MiB file cost
    18.8 s of CPU, 34,376 items of 43 MiB did not finish in 600 s."""
    root = _batch(tmp_path / "b")
    reads = _counted_reads(monkeypatch)
    once = run_batch(root, profile, OPTIONS)
    assert reads == ["coco.json"]
    digest = hashlib.sha256((root / "coco.json").read_bytes()).hexdigest()
    assert [r.annotation_sha256 for r in once.outcomes] == [digest] * len(SLIDES)

    monkeypatch.setattr(file_digests, "known", lambda path, st: None)  # every item reads it
    readers._CACHE.clear()
    each = run_batch(root, profile, OPTIONS)
    assert reads == ["coco.json"] * (1 + len(SLIDES))
    assert _answers(each) == _answers(once)


def test_a_shared_file_changed_between_runs_is_read_again_even_with_its_times_set_back(
    tmp_path, profile, monkeypatch
):
    root = _batch(tmp_path / "b")
    path = root / "coco.json"
    reads = _counted_reads(monkeypatch)
    before = run_batch(root, profile, OPTIONS)
    st = path.stat()
    changed = _coco("SCC")  # the same size, another class
    assert len(changed) == st.st_size
    path.write_bytes(changed)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # its change time still moves
    _settle(path)
    after = run_batch(root, profile, OPTIONS)
    assert reads == ["coco.json", "coco.json"]
    assert {r.annotation_sha256 for r in after.outcomes} == {hashlib.sha256(changed).hexdigest()}
    assert [r.summary.lesion_classes for r in before.outcomes] != [
        r.summary.lesion_classes for r in after.outcomes
    ]


def test_a_racy_file_is_read_and_hashed_for_each_item(tmp_path, profile, monkeypatch):
    """Times as recent as the reading (here ahead of the clock): the file could be written again
    within the same tick keeping its stat, so its digest is not kept."""
    root = _batch(tmp_path / "b")
    ahead = time.time_ns() + 60 * 10**9
    os.utime(root / "coco.json", ns=(ahead, ahead))
    reads = _counted_reads(monkeypatch)
    run = run_batch(root, profile, OPTIONS)
    assert reads == ["coco.json"] * len(SLIDES)
    assert len({r.annotation_sha256 for r in run.outcomes}) == 1


def test_a_whole_files_hash_is_taken_once_while_its_stat_holds(tmp_path, monkeypatch):
    """--full-hashes and --certify hashed a slide many rows share once for each row."""
    path = tmp_path / "slide.svs"
    path.write_bytes(b"a" * 100_000)
    _settle(path)
    opened = []
    real = dqm.slide_io.sparse_of
    monkeypatch.setattr(dqm.slide_io, "sparse_of", lambda fd, st=None: opened.append(fd) or real(fd, st))
    first = dqm.slide_io.full_hash(path)
    assert dqm.slide_io.full_hash(path) == first == hashlib.sha256(b"a" * 100_000).hexdigest()
    assert len(opened) == 1

    st = path.stat()
    path.write_bytes(b"b" * 100_000)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert dqm.slide_io.full_hash(path) == hashlib.sha256(b"b" * 100_000).hexdigest()
    assert len(opened) == 2


def test_a_racy_stat_is_not_trusted_and_the_memo_is_bounded(tmp_path):
    now = time.time_ns()
    fine = now - now % 10**9 + 123  # not whole seconds
    assert racy((fine - TICK_NS // 2, fine - 10**9), fine)  # written within a tick
    assert not racy((fine - 2 * TICK_NS, fine - 10**9), fine)
    whole = now - now % 10**9
    assert racy((whole - 2 * 10**9, whole - 2 * 10**9), whole)  # a second's times: FAT's two
    assert not racy((whole - RACY_NS, whole - RACY_NS), whole)
    assert racy((now + 10**9, now), now)  # ahead of this clock

    path = tmp_path / "f"
    path.write_bytes(b"x")
    _settle(path)
    st = path.stat()
    file_digests.remember(path, st, "d", time.time_ns(), st)
    assert file_digests.known(path, st) == "d"
    assert file_digests.known(tmp_path / "g", st) is None
    file_digests.remember(tmp_path / "h", st, "d", st.st_mtime_ns, st)  # read as it was written: racy
    assert file_digests.known(tmp_path / "h", st) is None
    for k in range(MEMO_SIZE + 5):
        file_digests.remember(tmp_path / str(k), st, str(k), time.time_ns(), st)
    assert len(file_digests._MEMO) == MEMO_SIZE and file_digests.known(path, st) is None


def test_a_digest_read_from_another_file_than_the_stat_s_is_not_kept(tmp_path, profile, monkeypatch):
    """The stat is taken, then the path opened again to read: a folder swapped in between (and
    back) gave the first item another file of the same size, whose digest was kept under the
    first file's stat; every later item of the shared file got the other file's annotations
    (1 read, s1-s3 all SCC). Now only the first item's answer is the other file's."""
    root = _batch(tmp_path / "b")
    (root / "ann").mkdir()
    os.rename(root / "coco.json", root / "ann" / "coco.json")
    (root / "new").mkdir()
    (root / "new" / "coco.json").write_bytes(_coco("SCC"))
    assert len(_coco("SCC")) == len(_coco())
    manifest = root / "manifest.csv"
    manifest.write_text(manifest.read_text().replace(",coco.json,", ",ann/coco.json,"))
    _settle(root / "ann" / "coco.json")
    _settle(root / "new" / "coco.json")
    reads: list[str] = []
    real = dqm.runner.read_bytes

    def swapped_while_read(path, *a):  # type: ignore[no-untyped-def]
        reads.append(path.name)
        if len(reads) > 1:
            return real(path, *a)
        os.rename(root / "ann", root / "old")
        os.rename(root / "new", root / "ann")
        try:
            return real(path, *a)
        finally:
            os.rename(root / "ann", root / "new")
            os.rename(root / "old", root / "ann")

    monkeypatch.setattr(dqm.runner, "read_bytes", swapped_while_read)
    run = run_batch(root, profile, OPTIONS)
    digest = hashlib.sha256(_coco()).hexdigest()
    assert [r.annotation_sha256 for r in run.outcomes][1:] == [digest] * (len(SLIDES) - 1)
    assert all("BCC" in str(r.summary.lesion_classes) for r in list(run.outcomes)[1:])
    assert reads == ["coco.json"] * 2  # the second item's digest is kept: the third reads nothing


def test_a_digest_is_given_only_within_the_run_that_took_it(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x")
    _settle(path)
    st = path.stat()
    with file_digests.in_run("a"):
        file_digests.remember(path, st, "d", time.time_ns(), st)
        assert file_digests.known(path, st) == "d"
    with file_digests.in_run("b"):
        assert file_digests.known(path, st) is None
    assert file_digests.known(path, st) is None


def test_an_entry_evicted_by_another_thread_meanwhile_is_still_given(monkeypatch):
    """parsed_before found the entry, then moved it to the end: a Dask worker's other thread could
    evict it in between, and the KeyError ended the item."""

    class EvictedMeanwhile(OrderedDict):  # type: ignore[type-arg]
        def get(self, key, default=None):  # type: ignore[no-untyped-def]
            hit = super().get(key, default)
            self.pop(key, None)
            return hit

    parsed = [object()]
    key = ("a.json", 10, "d" * 64, Limits(), None)
    monkeypatch.setattr(readers, "_CACHE", EvictedMeanwhile({key: (parsed, 1)}))
    assert readers.parsed_before(*key) is parsed


def test_a_failure_looking_up_a_shared_file_is_the_crash_of_its_reading(tmp_path, profile, monkeypatch):
    """The lookup ran outside the item's guard: its exception was the crash of the whole item (the
    runner's, no check of the item run) instead of the reading's."""
    root = _batch(tmp_path / "b")

    def raising(*a):  # type: ignore[no-untyped-def]
        raise KeyError("evicted")

    monkeypatch.setattr(dqm.runner, "parsed_before", raising)
    run = run_batch(root, profile, OPTIONS)
    for record in list(run.outcomes)[1:]:  # the first item read the file: nothing to look up
        crashed = [f for f in record.findings if f.code == CRASH_CODE]
        assert [(f.check, f.location.file) for f in crashed] == [(READ_CHECK, "coco.json")]
