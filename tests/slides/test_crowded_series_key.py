"""A DICOM slide whose folder holds more than MAX_PARTS files: the result cache's key read every
file's header again on each run (:func:`dqm.slide_refs.folder_series`, kept by no stat), a warm run
of an unchanged folder of thousands of files paying what the cold one did. Past MAX_PARTS a file
is known by its stat alone already (:func:`dqm.runner.crowded_message`): the folder's series are
remembered by the cache under the stats of every entry, and read again only when one changes
(session 25, task cache2, 2)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from dqm import cache as cache_module
from dqm import slide_refs
from dqm.batch import discover
from dqm.cache import SERIES_CONTEXTS, SERIES_ROW, RecordCache, context_key
from dqm.profile import Profile
from dqm.runner import RunOptions, run_batch
from tests.helpers import native_doc
from tests.test_cache import OPTIONS, audit
from tests.test_cache_certify import audit as certify_audit
from tests.test_dicom_parts import dicom

BOUND = 20
MEMBERS = BOUND + 50


@pytest.fixture
def header_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every DICOM header read (:func:`dqm.slide_refs._dataset_series`: past the magic; a file of
    no DICOM, whose magic alone is read, is not counted), counted; MAX_PARTS lowered to
    :data:`BOUND` (the folder is crowded as one of MAX_PARTS + 50 files is)."""
    reads = [0]
    real = slide_refs._dataset_series

    def counted(fh, budget):  # type: ignore[no-untyped-def]
        reads[0] += 1
        return real(fh, budget)

    monkeypatch.setattr(slide_refs, "_dataset_series", counted)
    monkeypatch.setattr(slide_refs, "MAX_PARTS", BOUND)
    monkeypatch.setattr(cache_module, "SERIES_REMEMBERED_PAST", BOUND, raising=False)
    yield reads


def _crowded(real_data: Path, root: Path) -> str:
    (root / "s").mkdir(parents=True)
    shutil.copy(real_data / "slides" / "boxes_0.dcm", root / "s" / "boxes_0.dcm")
    series = slide_refs.series_of(str(root / "s" / "boxes_0.dcm"), kept=False)
    assert series
    for i in range(MEMBERS):  # no extension: members of the series, not items of the batch
        (root / "s" / f"m{i:04d}").write_bytes(dicom(series))
    doc = native_doc(file="s/boxes_0.dcm", width=16, height=16)
    (root / "s" / "boxes_0.json").write_text(json.dumps(doc))
    return series


def test_a_warm_run_of_a_crowded_dicom_folder_reads_no_header_again(
    real_data: Path, tmp_path: Path, profile: Profile, header_reads: list[int]
) -> None:
    root = tmp_path / "b"
    _crowded(real_data, root)
    folder = tmp_path / "cache"
    cold = audit(root, profile, folder)
    assert header_reads[0] >= MEMBERS  # the key and the probe read them
    header_reads[0] = 0
    warm = audit(root, profile, folder)
    assert header_reads[0] == 0, header_reads[0]  # nothing changed: no header read again
    assert [o.to_dict() for o in warm.outcomes] == [o.to_dict() for o in cold.outcomes]
    # one member rewritten to another series (its stat changes): read again, the slide checked again
    (root / "s" / "m0003").write_bytes(dicom("1.2.3.999"))
    header_reads[0] = 0
    again = audit(root, profile, folder)
    assert header_reads[0] >= MEMBERS
    assert [p for p in again.outcomes.parts_of(0) if p.endswith("m0003")] == []
    # a stray series of one file beside the slide's, no item's slide: the folder is remembered all
    # the same (its item's series passes the bound), the stray's header alone read again (session
    # 26, cache3, 3: each run read it whole; cache3f, 4: none was, a stray joining the slide's missed)
    header_reads[0] = 0
    audit(root, profile, folder)
    assert header_reads[0] == 1, header_reads[0]


def test_a_folder_within_max_parts_is_still_read_whole_every_run(
    real_data: Path,
    tmp_path: Path,
    profile: Profile,
    header_reads: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At most MAX_PARTS files: each is hashed into the record, and a file rewritten to join the
    series with its stat kept (a file system whose change time does not move) is caught by reading
    every header again; nothing is remembered by stat there."""
    monkeypatch.setattr(cache_module, "SERIES_REMEMBERED_PAST", MEMBERS + 10, raising=False)
    root = tmp_path / "b"
    _crowded(real_data, root)
    folder = tmp_path / "cache"
    audit(root, profile, folder)
    header_reads[0] = 0
    audit(root, profile, folder)
    assert header_reads[0] >= MEMBERS


def _series_rows(folder: Path) -> int:
    with closing(sqlite3.connect(folder / cache_module.DB_NAME)) as db:
        return int(db.execute("SELECT count(*) FROM series").fetchone()[0])


def test_certify_reads_every_header_of_a_crowded_folder(
    real_data: Path, tmp_path: Path, profile: Profile, header_reads: list[int]
) -> None:
    """--certify is what catches a file rewritten to join the slide's series with its size,
    times and inode kept (docs/formats.md): a remembered series, keyed by those stats, served the
    slide's parts without it (session 25, task cache2f, 1)."""
    root = tmp_path / "b"
    series = _crowded(real_data, root)
    other = series[:-1] + ("7" if series[-1] != "7" else "8")
    alien = root / "s" / "a_alien"  # first by name: among the parts the record prints
    alien.write_bytes(dicom(other))
    folder = tmp_path / "cache"
    certify = RunOptions(workers=1, clinical=False, certify=True)
    # a file system whose change time does not move: the listing's stats stay those of before
    real_listing = cache_module._listing
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cache_module, "_listing", lambda f, r: ("same", real_listing(f, r)[1], False))
        first = certify_audit(root, profile, folder, certify)[0]
        assert [p for p in first.outcomes.parts_of(0) if p.endswith("a_alien")] == []
        header_reads[0] = 0
        certify_audit(root, profile, folder, certify)
        assert header_reads[0] >= MEMBERS  # nothing changed, and still every header read
        assert _series_rows(folder) == 0  # nor stored: no certifying run takes it
        st = alien.stat()
        alien.write_bytes(alien.read_bytes().replace(other.encode(), series.encode()))
        os.utime(alien, ns=(st.st_atime_ns, st.st_mtime_ns))
        again, cache = certify_audit(root, profile, folder, certify)
    assert cache.hits == 0  # the key saw it join: the slide checked again
    assert [p for p in again.outcomes.parts_of(0) if p.endswith("a_alien")] != []


def _small_series(real_data: Path, root: Path) -> str:
    """A 3-file DICOM slide (``s/boxes_0.dcm`` and two members) with its annotation, in ``root``."""
    (root / "s").mkdir(parents=True)
    shutil.copy(real_data / "slides" / "boxes_0.dcm", root / "s" / "boxes_0.dcm")
    series = slide_refs.series_of(str(root / "s" / "boxes_0.dcm"), kept=False)
    assert series
    for i in range(2):
        (root / "s" / f"m{i:04d}").write_bytes(dicom(series))
    (root / "s" / "boxes_0.json").write_text(
        json.dumps(native_doc(file="s/boxes_0.dcm", width=16, height=16))
    )
    return series


def test_a_small_series_among_many_files_is_read_every_run(
    real_data: Path, tmp_path: Path, profile: Profile, header_reads: list[int]
) -> None:
    """Past MAX_PARTS entries but not members: a 3-file series beside many other files keeps its
    per-run header read (its parts are hashed and printed whole, a rewrite keeping the stats is
    caught); only a series of more than MAX_PARTS files is remembered."""
    root = tmp_path / "b"
    _small_series(real_data, root)
    for i in range(MEMBERS):  # not DICOM: no series
        (root / "s" / f"note{i:04d}.txt").write_text("not a slide\n")
    folder = tmp_path / "cache"
    audit(root, profile, folder)
    header_reads[0] = 0
    audit(root, profile, folder)
    assert header_reads[0] >= 3
    assert _series_rows(folder) == 0


def test_a_small_series_beside_a_large_one_is_read_every_run(
    real_data: Path,
    tmp_path: Path,
    profile: Profile,
    header_reads: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 3-file slide beside a series of more than the bound: the folder is not remembered (its
    smallest series is within the bound), so a file of the large series rewritten to join the
    slide's with its stat kept is seen (a second review: the largest series decided, and the
    record without it was served)."""
    root = tmp_path / "b"
    series = _small_series(real_data, root)
    other = "1.2.3.77"
    for i in range(MEMBERS):
        (root / "s" / f"o{i:04d}").write_bytes(dicom(other))
    alien = root / "s" / "a_alien"
    alien.write_bytes(dicom(other))
    folder = tmp_path / "cache"
    real_listing = cache_module._listing
    # the listing's stats kept whatever changes (a file system without change times of its own)
    monkeypatch.setattr(cache_module, "_listing", lambda f, r: ("same", real_listing(f, r)[1], False))
    audit(root, profile, folder)
    header_reads[0] = 0
    audit(root, profile, folder)
    assert header_reads[0] >= 3 and _series_rows(folder) == 0
    st = alien.stat()
    alien.write_bytes(alien.read_bytes().replace(other.encode(), series.encode()))
    os.utime(alien, ns=(st.st_atime_ns, st.st_mtime_ns))
    with RecordCache(folder, root, context_key(profile.sha256, OPTIONS)) as c:
        again = run_batch(root, profile, OPTIONS, cache=c)
    assert c.hits == 0 and len(again.outcomes) == 1  # checked again, not served from the cache


def test_a_folder_with_an_unread_file_is_not_remembered(
    real_data: Path, tmp_path: Path, profile: Profile, header_reads: list[int]
) -> None:
    """A header that failed (EIO) may read next time: the series is read again, not taken as it
    was when the file failed (the guard ``not unread``)."""
    root = tmp_path / "b"
    _crowded(real_data, root)
    folder = tmp_path / "cache"
    real_open = os.open

    def failing(path: Any, *args: Any, **kwargs: Any) -> int:
        if isinstance(path, (str, bytes, os.PathLike)) and os.path.basename(os.fsdecode(path)) == "m0005":
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_open(path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "open", failing)
        audit(root, profile, folder)
    assert _series_rows(folder) == 0
    header_reads[0] = 0
    audit(root, profile, folder)
    assert header_reads[0] >= MEMBERS
    assert _series_rows(folder) == 1  # read whole, this time remembered


def test_a_folder_of_a_racy_stat_is_not_remembered(
    real_data: Path, tmp_path: Path, profile: Profile, header_reads: list[int]
) -> None:
    """An entry whose whole-second times are recent may be rewritten within the second, its stat
    kept (:func:`dqm.cache._racy`): the series read is not remembered (the guard ``not racy``)."""
    root = tmp_path / "b"
    _crowded(real_data, root)
    folder = tmp_path / "cache"
    real_listing = cache_module._listing
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cache_module, "_listing", lambda f, r: (*real_listing(f, r)[:2], True))
        audit(root, profile, folder)
    assert _series_rows(folder) == 0
    header_reads[0] = 0
    audit(root, profile, folder)
    assert header_reads[0] >= MEMBERS


def test_a_folder_keeps_one_remembered_series(
    real_data: Path, tmp_path: Path, profile: Profile, header_reads: list[int]
) -> None:
    """Each state of a crowded folder left its row, read at every opening of the cache and never
    deleted: a folder whose files change every run grew the cache by a row a run. The last read
    replaces its folder's earlier one (session 25, task cache2f, 6)."""
    root = tmp_path / "b"
    series = _crowded(real_data, root)
    folder = tmp_path / "cache"
    for i in range(3):
        (root / "s" / "m0003").write_bytes(dicom(series) + bytes(i))  # its stat changes each run
        audit(root, profile, folder)
        assert _series_rows(folder) == 1
    header_reads[0] = 0
    audit(root, profile, folder)
    assert header_reads[0] == 0  # the row kept is the last one, the one that serves


# session 26, task cache3: the rows that remember a crowded folder (keyed without checking the
# items, as a run keys its batch: RecordCache.keys)

ROOT = Path(__file__).resolve().parents[2]


def _keyed(root: Path, folder: Path, context: str = "plain") -> None:
    """A run's keying of the batch ``root`` with the cache ``folder`` under ``context``."""
    with RecordCache(folder, root, context) as cache:
        cache.keys(discover(root).items, batch=True)


def _second(root: Path) -> None:
    """A second crowded folder ``t``, a copy of ``s`` with its own annotation."""
    shutil.copytree(root / "s", root / "t")
    (root / "t" / "boxes_0.json").write_text(
        json.dumps(native_doc(file="t/boxes_0.dcm", width=16, height=16))
    )


def test_rows_of_folders_gone_or_no_longer_crowded_are_deleted(
    real_data: Path, tmp_path: Path, header_reads: list[int]
) -> None:
    """Each folder's row stayed for ever, read at each opening of the cache: a folder deleted, or
    one shrunk below the bound, kept its row, and so did every row of the format before."""
    root, folder = tmp_path / "b", tmp_path / "cache"
    _crowded(real_data, root)
    _second(root)
    _keyed(root, folder)
    assert _series_rows(folder) == 2
    with closing(sqlite3.connect(folder / cache_module.DB_NAME)) as db, db:
        old = [SERIES_ROW + "a" * 64, SERIES_ROW + "b" * 64 + ":" + "c" * 64]  # both earlier formats
        db.executemany("INSERT INTO tables (key, outcome) VALUES (?, 'x')", [(k,) for k in [*old, "t" * 64]])
    header_reads[0] = 0
    _keyed(root, folder)
    assert header_reads[0] == 0  # warm: both taken
    with closing(sqlite3.connect(folder / cache_module.DB_NAME)) as db:
        assert [k for (k,) in db.execute("SELECT key FROM tables")] == ["t" * 64]  # a table's row stays
    shutil.rmtree(root / "t")
    _keyed(root, folder)
    assert _series_rows(folder) == 1
    for i in range(MEMBERS - BOUND + 5):  # s keeps fewer entries than the bound
        (root / "s" / f"m{i:04d}").unlink()
    _keyed(root, folder)
    assert _series_rows(folder) == 0


def test_a_run_of_part_of_the_batch_keeps_the_other_folders(
    real_data: Path, tmp_path: Path, header_reads: list[int]
) -> None:
    """A lookup of a few items (:meth:`~dqm.cache.RecordCache.key`, the review sheet's) is not the
    batch: the folders it did not key keep their rows."""
    root, folder = tmp_path / "b", tmp_path / "cache"
    _crowded(real_data, root)
    _second(root)
    _keyed(root, folder)
    items = [i for i in discover(root).items if i.image_path.startswith("s/")]
    with RecordCache(folder, root, "plain") as cache:
        cache.key(items[0])
        cache.store_entry("ab" * 32, b"{}")  # a run that wrote
    assert _series_rows(folder) == 2


def test_alternating_contexts_each_stay_warm(
    real_data: Path, tmp_path: Path, header_reads: list[int]
) -> None:
    """Two contexts (two profiles, or runs with and without an option) alternating on one cache
    deleted each other's row: every run read every header. Past :data:`SERIES_CONTEXTS`, the least
    recently used goes."""
    root, folder = tmp_path / "b", tmp_path / "cache"
    _crowded(real_data, root)
    _keyed(root, folder, "A")
    _keyed(root, folder, "B")
    for context in ("A", "B", "A", "B"):
        header_reads[0] = 0
        _keyed(root, folder, context)
        assert header_reads[0] == 0, (context, header_reads[0])
    for k in range(SERIES_CONTEXTS + 2):
        _keyed(root, folder, f"other {k}")
    assert _series_rows(folder) == SERIES_CONTEXTS
    header_reads[0] = 0
    _keyed(root, folder, f"other {SERIES_CONTEXTS + 1}")
    assert header_reads[0] == 0
    _keyed(root, folder, "A")  # dropped: read again
    assert header_reads[0] >= MEMBERS


def test_a_stray_series_is_remembered_until_a_slide_is_of_it(
    real_data: Path, tmp_path: Path, header_reads: list[int]
) -> None:
    """A stray file of another series beside the slide's: no record's parts are of its series, the
    folder is remembered (it was read whole every run, 120 µs a file). Where it is a slide, or keyed
    without the batch (a lookup of one item), every header is read again: a file rewritten to join
    a small series with its stat kept is seen there."""
    root, folder = tmp_path / "b", tmp_path / "cache"
    _crowded(real_data, root)
    (root / "s" / "zz_stray").write_bytes(dicom("1.2.3.55"))
    _keyed(root, folder)
    header_reads[0] = 0
    _keyed(root, folder)
    assert header_reads[0] == 1  # the stray's header alone
    with RecordCache(folder, root, "plain") as cache:  # one item's key: the batch's slides unknown
        cache.key(discover(root).items[0])
    assert header_reads[0] >= MEMBERS
    os.symlink("zz_stray", root / "s" / "stray.dcm")  # the stray series now a slide's (an item)
    assert any(i.image_path == "s/stray.dcm" for i in discover(root).items)
    header_reads[0] = 0
    _keyed(root, folder)
    _keyed(root, folder)
    assert header_reads[0] >= 2 * MEMBERS  # read whole, each run


def _keys_of(root: Path, folder: Path) -> list[str]:
    """The keys of a run's keying of the batch ``root`` (as :func:`_keyed`)."""
    with RecordCache(folder, root, "plain") as cache:
        return list(cache.keys(discover(root).items, batch=True))


def test_a_stray_rewritten_to_join_the_slides_series_with_its_stat_kept_is_seen(
    real_data: Path, tmp_path: Path, header_reads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder remembered beside a stray small series no item's slide is of: the stray was never
    read again, so one rewritten to join the slide's series with its stat kept (a file system
    whose change time does not move) left the slide's key as it was (cache3f, 4). Its header
    alone is read each warm run."""
    root, folder = tmp_path / "b", tmp_path / "cache"
    series = _crowded(real_data, root)
    stray = root / "s" / "zz_stray"
    stray.write_bytes(dicom("1.2.3.55"))
    real_listing = cache_module._listing
    # the listing's stats kept whatever changes (a file system without change times of its own)
    monkeypatch.setattr(cache_module, "_listing", lambda f, r: ("same", real_listing(f, r)[1], False))
    cold = _keys_of(root, folder)
    header_reads[0] = 0
    assert _keys_of(root, folder) == cold
    assert header_reads[0] == 1 and _series_rows(folder) == 1
    stray.write_bytes(dicom(series))  # now of the slide's series
    header_reads[0] = 0
    assert _keys_of(root, folder) != cold  # read whole: the slide's parts are one more
    assert header_reads[0] >= MEMBERS


@pytest.mark.parametrize("stray", [False, True], ids=["every series", "beside a stray"])
@pytest.mark.parametrize(
    ("before", "after"),
    [(b"no DICOM at all", "slide"), ("doubt", "1.2.3.66")],
    ids=["no series joins", "in doubt leaves"],
)
def test_a_file_of_no_series_or_in_doubt_rewritten_with_its_stat_kept_is_seen(
    real_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    header_reads: list[int],
    stray: bool,
    before: bytes | str,
    after: str,
) -> None:
    """A file OpenSlide skips (no DICOM) rewritten to join the slide's series, or one in doubt
    (:data:`~dqm.slide_refs.UNKNOWN_SERIES`, taken into the slide's) rewritten to another series,
    with its stat kept (a file system without change times of its own): the remembered folder
    re-read its strays alone, never these, and the slide's key stayed (writescache, 3 and 6;
    ``--certify`` alone caught it). Each is re-read with the strays at each warm run."""
    root, folder = tmp_path / "b", tmp_path / "cache"
    series = _crowded(real_data, root)
    if stray:
        (root / "s" / "zz_stray").write_bytes(dicom("1.2.3.55"))
    other = root / "s" / "zz_other"
    other.write_bytes(dicom("1." + "2" * 1100) if before == "doubt" else before)  # type: ignore[arg-type]
    assert slide_refs.series_of(str(other), kept=False) == (
        slide_refs.UNKNOWN_SERIES if before == "doubt" else None
    )
    real_listing = cache_module._listing
    monkeypatch.setattr(cache_module, "_listing", lambda f, r: ("same", real_listing(f, r)[1], False))
    cold = _keys_of(root, folder)
    header_reads[0] = 0
    assert _keys_of(root, folder) == cold and _series_rows(folder) == 1
    assert header_reads[0] == stray + (before == "doubt")  # the strays and the file in doubt alone
    other.write_bytes(dicom(series if after == "slide" else after))
    assert _keys_of(root, folder) != cold  # read whole: the slide's parts are one more, or one fewer


def test_a_row_without_its_others_is_not_taken(
    real_data: Path, tmp_path: Path, header_reads: list[int]
) -> None:
    """A row of a folder whose every series passes the bound as session 26 wrote it (the series'
    digest alone: its files of no series and in doubt never re-read) is not taken, even under this
    state: the folder is read whole once and remembered anew."""
    root, folder = tmp_path / "b", tmp_path / "cache"
    _crowded(real_data, root)
    _keyed(root, folder)
    with closing(sqlite3.connect(folder / cache_module.DB_NAME)) as db, db:
        ((state, series),) = db.execute("SELECT state, series FROM series").fetchall()
        db.execute("UPDATE series SET series = ?", (series.split(" ")[0],))  # session 26's format
    header_reads[0] = 0
    with RecordCache(folder, root, "plain") as cache:
        cache.keys(discover(root).items, batch=True)
        assert next(iter(cache._series_new.values())) == (state, series)
    assert header_reads[0] >= MEMBERS


def test_more_strays_than_the_bound_are_read_every_run(
    real_data: Path, tmp_path: Path, header_reads: list[int]
) -> None:
    """Stray series of more files together than the bound: the folder is not remembered (each
    run would read them all again), every header read each run as before session 26."""
    root, folder = tmp_path / "b", tmp_path / "cache"
    _crowded(real_data, root)
    for i in range(BOUND + 1):
        (root / "s" / f"zz_stray{i:03d}").write_bytes(dicom(f"1.2.3.{100 + i}"))
    _keyed(root, folder)
    header_reads[0] = 0
    _keyed(root, folder)
    assert header_reads[0] >= MEMBERS and _series_rows(folder) == 0


def test_deliveries_in_new_folders_keep_the_rows_bounded(
    real_data: Path, tmp_path: Path, header_reads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each delivery in a new folder (the last one deleted): rows are keyed by the batch's real
    path, and each run added one, kept 30 days. Past SERIES_BATCHES batches the least recently
    used go; the batch of the run stays warm."""
    monkeypatch.setattr(cache_module, "SERIES_BATCHES", 3, raising=False)
    folder = tmp_path / "cache"
    counts = []
    for k in range(6):
        root = tmp_path / f"delivery{k}"
        _crowded(real_data, root)
        if k:
            shutil.rmtree(tmp_path / f"delivery{k - 1}")
        _keyed(root, folder)
        counts.append(_series_rows(folder))
    assert counts == [1, 2, 3, 3, 3, 3]
    header_reads[0] = 0
    _keyed(root, folder)
    assert header_reads[0] == 0


def test_an_interrupted_run_keeps_the_rows_of_folders_it_did_not_reach(
    real_data: Path, tmp_path: Path, header_reads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run stopped while keying (Ctrl-C, an error) deleted the rows of the folders it had not
    reached yet, in every context, as if they were gone."""
    root, folder = tmp_path / "b", tmp_path / "cache"
    _crowded(real_data, root)
    _second(root)
    for context in ("A", "B"):
        _keyed(root, folder, context)
    assert _series_rows(folder) == 4
    real = RecordCache._read_folder

    def interrupted(self: RecordCache, at: str) -> Any:
        if at.endswith("t"):
            raise KeyboardInterrupt
        return real(self, at)

    monkeypatch.setattr(RecordCache, "_read_folder", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _keyed(root, folder, "A")
    monkeypatch.setattr(RecordCache, "_read_folder", real)
    assert _series_rows(folder) == 4
    header_reads[0] = 0
    _keyed(root, folder, "B")
    assert header_reads[0] == 0


def test_a_read_only_cache_of_session_25_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache made before the series table, opened read-only (a shared cache of another user):
    creating the table failed and the whole cache was given up, every item checked. It is read
    as before, with no series remembered."""
    root, folder = tmp_path / "b", tmp_path / "cache"
    root.mkdir()
    with RecordCache(folder, root, "plain") as cache:
        cache.store_entry("ab" * 32, b"{}")
    with closing(sqlite3.connect(folder / cache_module.DB_NAME)) as db:
        db.execute("DROP TABLE series")  # as session 25 left it
    real = sqlite3.connect
    monkeypatch.setattr(
        cache_module.sqlite3, "connect", lambda path, **kw: real(f"file:{path}?mode=ro", uri=True, **kw)
    )
    said: list[str] = []
    with RecordCache(folder, root, "plain", warn=said.append) as cache:
        assert cache.usable
        with closing(cache._db.execute("SELECT count(*) FROM records")) as rows:  # type: ignore[union-attr]
            assert rows.fetchone() == (1,)
    assert said == []


WRITER = """
import sys, time
from pathlib import Path
from dqm import cache, slide_refs
from dqm.batch import discover
slide_refs.MAX_PARTS = cache.SERIES_REMEMBERED_PAST = int(sys.argv[4])
folder, root, tag, at = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], float(sys.argv[5])
said = []
while time.time() < at:
    time.sleep(0.001)
for r in range(4):
    with cache.RecordCache(folder, root, "context " + tag, warn=said.append) as c:
        c.keys(discover(root).items, batch=True)
        for i in range(100):
            c.store_entry(f"{tag}{r:03d}{i:04d}".ljust(64, "0"), b"[]" * 500)
print(said)
sys.exit(1 if said else 0)
"""


def test_two_processes_share_one_cache(real_data: Path, tmp_path: Path) -> None:
    """Two runs (two processes) keying, storing and closing one cache at once, from its creation:
    no warning, no row lost, each context's series kept, the database whole."""
    root, folder = tmp_path / "b", tmp_path / "cache"
    _crowded(real_data, root)
    at = time.time() + 2.0  # both past their imports: the opening and creation race too
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(folder), str(root), tag, str(BOUND), str(at)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for tag in ("a", "b")
    ]
    said = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], said
    with closing(sqlite3.connect(folder / cache_module.DB_NAME)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 2 * 4 * 100
        assert db.execute("SELECT count(DISTINCT context) FROM series").fetchone()[0] == 2
