"""The per-item result cache: resumed and incremental runs check only what is left or changed."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile

import dqm.cache
import dqm.runner
from dqm.cache import DB_NAME, CacheWarning, RecordCache, code_digest, context_key, source_digest
from dqm.profile import Profile
from dqm.runner import RunOptions, run_batch
from dqm.slide_io import fingerprint
from dqm.synth import build_batch

OPTIONS = RunOptions(workers=1, clinical=False)


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    out = tmp_path / "batch"
    build_batch(out, 6, seed=5, defect_rate=0.0, max_size=256)
    return out


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The slide ids the runner actually checks (in this process: ``workers=1``)."""
    seen: list[str] = []
    real = dqm.runner.check_item_safely

    def spy(item, *args):  # type: ignore[no-untyped-def]
        seen.append(item.slide_id)
        return real(item, *args)

    monkeypatch.setattr(dqm.runner, "check_item_safely", spy)
    return seen


def audit(root: Path, profile: Profile, folder: Path, options: RunOptions = OPTIONS, **kw):  # type: ignore[no-untyped-def]
    with RecordCache(folder, root, context_key(profile.sha256, options)) as cache:
        return run_batch(root, profile, options, cache=cache, **kw)


def records(run) -> list[dict]:  # type: ignore[no-untyped-def]
    return [o.to_dict() for o in run.outcomes]


def masked_warnings(root: Path, profile: Profile, folder: Path) -> tuple[list[str], object]:
    """The warnings of a cached audit of ``root`` with the run's masker (the profile's, a fixed
    key), and its run."""
    import warnings

    from dqm.identifiers import Masker

    masker = Masker(profile.deid, b"k" * 32)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        with RecordCache(folder, root, context_key(profile.sha256, OPTIONS), mask=masker) as cache:
            run = run_batch(root, profile, OPTIONS, cache=cache)
    return [str(w.message) for w in said], run


def test_an_unchanged_batch_is_served_from_the_cache(batch, profile, tmp_path, checked):
    first = audit(batch, profile, tmp_path / "cache")
    assert len(checked) == 6
    checked.clear()
    second = audit(batch, profile, tmp_path / "cache")
    assert checked == []
    assert records(second) == records(first)
    assert [f.model_dump() for f in second.findings] == [f.model_dump() for f in first.findings]


def test_an_audit_stopped_halfway_checks_only_what_is_left(batch, profile, tmp_path, checked):
    class Stopped(Exception):
        pass

    def stop_after_three(done: int, total: int) -> None:
        if done == 3:
            raise Stopped

    with pytest.raises(Stopped):
        audit(batch, profile, tmp_path / "cache", progress=stop_after_three)
    first_half = list(checked)
    checked.clear()
    audit(batch, profile, tmp_path / "cache")
    assert len(first_half) == 3
    assert sorted(checked) == sorted(set(f"S0000{k}" for k in range(1, 7)) - set(first_half))


def test_a_re_audit_checks_only_the_changed_items(batch, profile, tmp_path, checked):
    audit(batch, profile, tmp_path / "cache")
    checked.clear()
    ann = batch / "annotations" / "S00002.json"
    ann.write_bytes(ann.read_bytes() + b"\n")
    audit(batch, profile, tmp_path / "cache")
    assert checked == ["S00002"]


def test_other_options_or_profile_are_not_served(batch, profile, tmp_path, checked):
    audit(batch, profile, tmp_path / "cache")
    checked.clear()
    audit(batch, profile, tmp_path / "cache", RunOptions(workers=1, clinical=False, slide_budget_s=5.0))
    assert len(checked) == 6
    checked.clear()
    other = profile.model_copy(update={"sha256": "0" * 64})
    audit(batch, other, tmp_path / "cache")
    assert len(checked) == 6


def test_records_made_by_other_code_are_not_served(batch, profile, tmp_path, checked, monkeypatch):
    # dqm's version names no build: a check changed under the same version must not have its old
    # findings taken from the cache
    audit(batch, profile, tmp_path / "cache")
    checked.clear()
    monkeypatch.setattr(dqm.cache, "code_digest", lambda: "another build")
    audit(batch, profile, tmp_path / "cache")
    assert len(checked) == 6


def test_records_made_with_other_libraries_are_not_served(batch, profile, tmp_path, checked, monkeypatch):
    # an upgraded slide decoder (OpenSlide, Pillow) may open what the old one could not, or read
    # it otherwise: the old record's findings must not be taken from the cache
    audit(batch, profile, tmp_path / "cache")
    checked.clear()
    versions = dqm.cache.library_versions()
    assert {"openslide-bin", "pillow", "tifffile"} <= versions.keys() and versions["pillow"]
    monkeypatch.setattr(dqm.cache, "library_versions", lambda: {**versions, "openslide-bin": "99.0"})
    audit(batch, profile, tmp_path / "cache")
    assert len(checked) == 6


def test_a_system_openslide_library_upgraded_serves_no_record(batch, profile, tmp_path, checked, monkeypatch):
    """A system's OpenSlide (Debian's ``libopenslide``, no ``openslide-bin`` wheel) has no package
    version: its upgrade kept every record, a slide the old library could not open keeping its
    ``SLIDE_UNOPENABLE``. The version the library reports itself is keyed."""
    import openslide

    audit(batch, profile, tmp_path / "cache")
    checked.clear()
    monkeypatch.setattr(openslide, "__library_version__", "99.0.0")
    dqm.cache.library_versions.cache_clear()
    try:
        assert dqm.cache.library_versions()[dqm.cache.OPENSLIDE_LIBRARY] == "99.0.0"
        audit(batch, profile, tmp_path / "cache")
        assert len(checked) == 6
    finally:
        dqm.cache.library_versions.cache_clear()


def test_a_library_whose_metadata_cannot_be_read_is_keyed_as_unreadable(tmp_path, monkeypatch):
    """A library's METADATA that is not UTF-8 made importlib raise UnicodeDecodeError, which
    ``_version`` let through (it caught PackageNotFoundError only): the run ended there."""
    info = tmp_path / "site" / "msgspec-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_bytes(b"Version: \xff\xfe")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    dqm.cache.library_versions.cache_clear()
    try:
        assert dqm.cache.library_versions()["msgspec"] == dqm.cache.UNREADABLE
        assert '"msgspec": "unreadable"' in context_key("p", OPTIONS)
    finally:
        dqm.cache.library_versions.cache_clear()


def test_the_code_digest_follows_every_source_file(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("A = 1\n")
    (pkg / "sub" / "b.py").write_text("B = 2\n")
    (pkg / "notes.txt").write_text("not code")
    first = source_digest([pkg])
    assert source_digest([pkg]) == first
    (pkg / "notes.txt").write_text("still not code")
    assert source_digest([pkg]) == first
    (pkg / "sub" / "b.py").write_text("B = 3\n")
    changed = source_digest([pkg])
    (pkg / "sub" / "c.py").write_text("")
    added = source_digest([pkg])
    assert len({first, changed, added}) == 3
    assert len(code_digest()) == 64 and code_digest() == code_digest()


def _big_slide(path: Path) -> None:
    """An uncompressed TIFF of about 6 MiB: its middle is outside the quick print's first and last MiB."""
    pixels = np.random.default_rng(0).integers(0, 255, (1400, 1500, 3), dtype=np.uint8)
    tifffile.imwrite(path, pixels, photometric="rgb")


@pytest.mark.parametrize("how", ["in_place_times_restored", "copy_with_times_preserved"])
def test_a_label_blanked_in_place_is_not_served(batch, profile, tmp_path, checked, how):
    slide = batch / "slides" / "S00001.tiff"
    _big_slide(slide)
    audit(batch, profile, tmp_path / "cache")
    checked.clear()
    size, before = slide.stat().st_size, fingerprint(slide, slide.stat().st_size)
    st = slide.stat()
    middle = size // 2
    if how == "in_place_times_restored":
        with slide.open("r+b") as fh:  # the usual fix: overwrite the label's bytes, nothing else
            fh.seek(middle)
            fh.write(b"\0" * 4096)
        os.utime(slide, ns=(st.st_atime_ns, st.st_mtime_ns))
    else:
        blanked = tmp_path / "blanked.tiff"
        shutil.copy2(slide, blanked)
        with blanked.open("r+b") as fh:
            fh.seek(middle)
            fh.write(b"\0" * 4096)
        os.utime(blanked, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(blanked, slide)
    assert slide.stat().st_size == size and fingerprint(slide, size) == before  # the quick print is blind
    assert slide.stat().st_mtime_ns == st.st_mtime_ns
    audit(batch, profile, tmp_path / "cache")
    assert checked == ["S00001"]


def test_the_cache_holds_no_manifest_row(batch, profile, tmp_path):
    first = audit(batch, profile, tmp_path / "cache")
    assert all(o.clinical_record.get("patient_id") for o in first.outcomes)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").iterdir())
    for o in first.outcomes:
        assert o.clinical_record["patient_id"].encode() not in stored
    again = audit(batch, profile, tmp_path / "cache")
    assert [o.clinical_record for o in again.outcomes] == [o.clinical_record for o in first.outcomes]


def test_a_corrupt_entry_is_ignored_with_a_warning(batch, profile, tmp_path, checked):
    first = audit(batch, profile, tmp_path / "cache")
    checked.clear()
    with sqlite3.connect(tmp_path / "cache" / DB_NAME) as db:
        (key,) = db.execute("SELECT key FROM records LIMIT 1").fetchone()
        db.execute("UPDATE records SET record = ? WHERE key = ?", ('{"version": 1, "summ', key))
    with pytest.warns(CacheWarning, match="corrupt result cache entry"):
        again = audit(batch, profile, tmp_path / "cache")
    assert len(checked) == 1
    assert records(again) == records(first)
    checked.clear()
    audit(batch, profile, tmp_path / "cache")  # the entry was replaced
    assert checked == []


def test_an_entry_nested_past_the_parsers_recursion_is_ignored(batch, profile, tmp_path, checked):
    """A cache entry of 100,000 nested arrays raised RecursionError: the audit exited 4."""
    first = audit(batch, profile, tmp_path / "cache")
    checked.clear()
    with sqlite3.connect(tmp_path / "cache" / DB_NAME) as db:
        (key,) = db.execute("SELECT key FROM records LIMIT 1").fetchone()
        db.execute("UPDATE records SET record = ? WHERE key = ?", ("[" * 100_000, key))
    with pytest.warns(CacheWarning, match="corrupt result cache entry"):
        again = audit(batch, profile, tmp_path / "cache")
    assert len(checked) == 1
    assert records(again) == records(first)


def test_a_database_that_is_not_one_leaves_the_run_uncached(batch, profile, tmp_path, checked):
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / DB_NAME).write_bytes(b"this is not a database" * 100)
    with pytest.warns(CacheWarning, match="cannot be used"):
        run = audit(batch, profile, folder)
    assert len(run.outcomes) == 6 and len(checked) == 6


def test_a_database_that_is_a_link_out_of_the_cache_folder_is_not_followed(batch, profile, tmp_path, checked):
    """A records.sqlite that was a symbolic link made the audit create and write a database
    wherever it pointed (outside the cache folder it was given); now the run is uncached."""
    folder = tmp_path / "cache"
    folder.mkdir()
    target = tmp_path / "elsewhere.sqlite"
    (folder / DB_NAME).symlink_to(target)
    with pytest.warns(CacheWarning, match="cannot be used"):
        run = audit(batch, profile, folder)
    assert len(run.outcomes) == 6 and len(checked) == 6
    assert not target.exists()


def test_a_masked_cache_holds_no_identifier_and_gives_the_real_names_back(batch, profile, tmp_path, checked):
    from dqm.identifiers import Masker

    rrn = "900101-1234567"
    manifest = batch / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("S00002", f"S{rrn}"))
    (batch / "annotations" / "S00002.json").rename(batch / "annotations" / f"S{rrn}.json")
    (batch / "slides" / "S00002.tiff").rename(batch / "slides" / f"S{rrn}.tiff")
    mask = Masker(profile.deid, b"a test key of at least 16 characters")
    options = RunOptions(workers=1, clinical=False)

    def masked_audit():  # type: ignore[no-untyped-def]
        with RecordCache(tmp_path / "cache", batch, context_key(profile.sha256, options), mask=mask) as cache:
            return run_batch(batch, profile, options, cache=cache)

    first = masked_audit()
    checked.clear()
    second = masked_audit()
    assert checked == []  # every item reused
    assert records(second) == records(first)  # with the real names, as this run discovered them
    assert any(o.summary.slide_id == f"S{rrn}" for o in second.outcomes)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").iterdir())
    assert rrn.encode() not in stored and b"[KOREAN_RRN-" in stored


def test_a_masked_cache_gives_back_the_real_names_of_the_files_besides_a_slide(batch, profile, tmp_path):
    """A VMS slide whose image's name holds an identifier: the cache stores it masked, and a warm
    run's record names it as it is (its part, stat), so a reader after the audit finds the part
    the record lists and draws the slide (it was refused as a part joined since the audit)."""
    from dqm.identifiers import Masker
    from dqm.thumbnails import thumbnail
    from tests.slides.test_slide_refs import _jpeg, _vms

    part = "S2 900101-1234567.jpg"
    (batch / "slides" / "S00002.tiff").unlink()
    _jpeg(batch / "slides" / part, (30, 30, 200))
    _vms(batch / "slides" / "S00002.vms", part)
    manifest = batch / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("slides/S00002.tiff", "slides/S00002.vms"))
    mask = Masker(profile.deid, b"a test key of at least 16 characters")
    options = RunOptions(workers=1, clinical=False)

    def vms_record():  # type: ignore[no-untyped-def]
        with RecordCache(tmp_path / "cache", batch, context_key(profile.sha256, options), mask=mask) as cache:
            run = run_batch(batch, profile, options, cache=cache)
        return next(o for o in run.outcomes if o.summary.slide_id == "S00002"), cache.hits

    (cold, cold_hits), (warm, warm_hits) = vms_record(), vms_record()
    assert (cold_hits, warm_hits) == (0, 6)
    assert list(warm.parts) == list(cold.parts) == [f"slides/{part}"]
    assert warm.stats == cold.stats and warm.parts == cold.parts
    drawn = thumbnail(batch, warm, [], profile)
    assert drawn is not None and drawn.source == "slide", drawn and drawn.note
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").iterdir())
    assert b"900101-1234567" not in stored


def test_a_record_with_a_string_too_long_to_mask_is_not_cached(
    batch, profile, tmp_path, checked, monkeypatch
):
    import dqm.cache
    from dqm.identifiers import Masker

    monkeypatch.setattr(dqm.cache, "MAX_MASKED_CHARS", 7)  # every record holds a longer path
    options = RunOptions(workers=1, clinical=False)
    mask = Masker(profile.deid, b"a test key of at least 16 characters")
    for _ in range(2):
        with RecordCache(tmp_path / "cache", batch, context_key(profile.sha256, options), mask=mask) as cache:
            run_batch(batch, profile, options, cache=cache)
            assert cache.stored == 0
    assert len(checked) == 12  # each run checks all six items


def test_the_keys_of_a_run_are_each_items_key_in_order(batch, profile, tmp_path):
    from dqm.batch import discover

    items = discover(batch).items
    with RecordCache(tmp_path / "cache", batch, context_key(profile.sha256, OPTIONS)) as cache:
        keys = cache.keys(items)
        assert list(keys) == [cache.key(item) for item in items] and len(keys) == 6
        assert keys[-1] == keys[5] and keys[1:3] == [keys[1], keys[2]]
        with pytest.raises(IndexError):
            keys[6]


def test_a_file_swapped_for_a_fifo_after_the_walk_is_keyed_not_waited_on(batch, profile, tmp_path):
    """The walk listed a regular file; a FIFO now stands there. Opening it to print it would wait
    for a writer forever: its key says why it was not read instead."""
    import threading

    from dqm.cache import file_key

    rel = next(p.relative_to(batch).as_posix() for p in sorted(batch.rglob("*.json")))
    (batch / rel).unlink()
    os.mkfifo(batch / rel)
    got: list[list] = []
    worker = threading.Thread(target=lambda: got.append(file_key(batch, rel, {rel})), daemon=True)
    worker.start()
    worker.join(30)
    assert got and got[0][0] == rel and "not a regular file" in got[0][2]


def test_the_quick_print_is_of_the_files_size_and_ends(tmp_path):
    from dqm.slide_io import HASH_CHUNK, stat_and_print

    path = tmp_path / "f.bin"
    path.write_bytes(b"a" * HASH_CHUNK + b"middle" + b"z" * HASH_CHUNK)
    size, mtime, _, inode, quick = stat_and_print(path)
    st = path.stat()
    assert (size, mtime, inode) == (st.st_size, st.st_mtime_ns, st.st_ino)
    assert quick == fingerprint(path, size)
    path.write_bytes(b"a" * HASH_CHUNK + b"MIDDLE" + b"z" * HASH_CHUNK)
    assert stat_and_print(path)[4] == quick  # the middle is not printed: the times and --certify see it


def _stored(folder: Path) -> dict[str, bytes]:
    with sqlite3.connect(folder / DB_NAME) as db:
        return dict(db.execute("SELECT key, record FROM records").fetchall())


def test_the_workers_send_the_entry_the_cache_stores_and_a_lean_record(batch, profile, tmp_path):
    """A large run's workers send each record lean with its cache entry already serialised (and
    masked): the main process only inserts the bytes, and they are the whole record's entry."""
    from dqm.cache import entry
    from dqm.identifiers import Masker
    from dqm.runner import check_item_safely, configure

    mask = Masker(profile.deid, b"a test key of at least 16 characters")
    options = RunOptions(workers=2, clinical=False, whole_records=False)
    with RecordCache(tmp_path / "cache", batch, context_key(profile.sha256, options), mask=mask) as cache:
        run = run_batch(batch, profile, options, cache=cache)
        keys = cache.keys(run.discovery.items)
    assert all(o.annotation is None and o.slide is None for o in run.outcomes)
    stored = _stored(tmp_path / "cache")
    checks = configure(profile)
    for key, item in zip(keys, run.discovery.items, strict=True):
        whole = check_item_safely(item, batch, profile, checks, options)
        assert whole is not None and whole.annotation is not None
        assert stored[key] == entry(whole, mask)


def test_a_warm_run_reads_the_workers_entries_and_the_old_text_ones_in_chunks(
    batch, profile, tmp_path, checked, monkeypatch
):
    """Cached records are read and compacted a few at a time; an entry stored as text (before
    the workers serialised them) is read as one stored as bytes."""
    fresh = run_batch(batch, profile, RunOptions(workers=1, clinical=False, whole_records=False))
    pooled = RunOptions(workers=2, clinical=False, whole_records=False)
    audit(batch, profile, tmp_path / "cache", pooled)
    monkeypatch.setattr(dqm.runner, "LOOKUP_ITEMS", 4)  # six items: two lookups
    for kind in ("blob", "text"):
        with sqlite3.connect(tmp_path / "cache" / DB_NAME) as db:
            if kind == "text":
                db.execute("UPDATE records SET record = CAST(record AS TEXT)")
            assert {t for (t,) in db.execute("SELECT typeof(record) FROM records")} == {kind}
        checked.clear()
        warm = audit(batch, profile, tmp_path / "cache", pooled)
        assert checked == [], kind
        assert records(warm) == records(fresh)
        assert [warm.record(k).to_dict() for k in range(6)] == [fresh.record(k).to_dict() for k in range(6)]


def test_an_entry_with_a_repeated_key_is_ignored(batch, profile, tmp_path, checked):
    """An entry whose "summary" appears twice has two readings: read as the last one before,
    refused as corrupt now (every reader of dqm's own files reads them strictly)."""
    first = audit(batch, profile, tmp_path / "cache")
    checked.clear()
    with sqlite3.connect(tmp_path / "cache" / DB_NAME) as db:
        key, record = db.execute("SELECT key, record FROM records LIMIT 1").fetchone()
        text = record.decode() if isinstance(record, bytes) else record
        db.execute("UPDATE records SET record = ? WHERE key = ?", ('{"summary": {},' + text[1:], key))
    with pytest.warns(CacheWarning, match="'summary' appears twice in one object"):
        again = audit(batch, profile, tmp_path / "cache")
    assert len(checked) == 1
    assert records(again) == records(first)


def test_two_runs_sharing_a_cache_folder_each_store_their_records(tmp_path, batch):
    """Two audits at once with one ``--cache`` folder (two CI jobs): the first held SQLite's write
    lock from one record to the next, so the second waited five seconds on each record and lost
    it ("database is locked")."""
    warned: list[str] = []
    first = RecordCache(tmp_path / "cache", batch, "context", warn=warned.append)
    second = RecordCache(tmp_path / "cache", batch, "context", warn=warned.append)
    first.store_entry("a" * 64, b"{}")
    second.store_entry("b" * 64, b"{}")
    second.store_table("t" * 64, [], None)
    second.close()
    first.store_entry("c" * 64, b"{}")
    first.close()
    assert warned == []
    assert sorted(_stored(tmp_path / "cache")) == ["a" * 64, "b" * 64, "c" * 64]


def test_a_full_cache_disk_is_one_warning_and_the_run_goes_on(tmp_path, batch, monkeypatch):
    """A cache folder on a full disk failed every commit, each with its own warning (13 lines in
    a 200-item audit whose cache was on a 400 KiB tmpfs): the run now stops writing after the
    first failure and says so once."""
    monkeypatch.setattr(dqm.cache, "COMMIT_EVERY_S", 0)  # each record its own commit
    warned: list[str] = []
    cache = RecordCache(tmp_path / "cache", batch, "context", warn=warned.append)
    assert cache._db is not None
    pages = cache._db.execute("PRAGMA page_count").fetchone()[0]
    cache._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full: no page more
    for k in range(5):
        cache.store_entry(f"{k:064d}", b"x" * 10_000)
    cache.close()
    assert len(warned) == 1 and "database or disk is full" in warned[0]
    assert cache.stored == 0 and _stored(tmp_path / "cache") == {}


def test_a_file_changed_within_its_timestamps_granularity_is_not_served(
    batch, profile, tmp_path, checked, monkeypatch
):
    """On a filesystem that keeps whole seconds (ext4 with 128-byte inodes, ext3, FAT: a loop
    mount of ``mkfs.ext4 -I 128`` shows it), a file written, audited and written again within one
    second (a copy still going on, a preallocated download) kept its size and times, and the
    re-audit served the record of the first content. A file as recent as the timestamps' grain
    (or ahead of this clock: an NFS server's) is now checked but not cached, as git treats a
    'racily clean' file."""
    import dqm.slide_io

    real = dqm.cache.stat_and_print

    def whole_seconds(path):  # type: ignore[no-untyped-def]
        size, mtime, _ctime, inode, quick = real(path)
        second = int(mtime) // 10**9 * 10**9
        return [size, second, second, inode, quick]  # no change time, as FAT

    monkeypatch.setattr(dqm.cache, "stat_and_print", whole_seconds)
    monkeypatch.setattr(dqm.slide_io, "HASH_CHUNK", 64)  # the middle of the file is not printed
    hour_ago = time.time_ns() - 3600 * 10**9
    for path in batch.rglob("*"):
        os.utime(path, ns=(hour_ago, hour_ago))  # the batch's files are old, but for one:
    ann = batch / "annotations" / "S00002.json"
    written = time.time_ns() + 10**9  # its second still goes on when it is keyed, however busy the machine
    os.utime(ann, ns=(written, written))
    audit(batch, profile, tmp_path / "cache")
    body = ann.read_bytes()
    at = body.index(b"[1", len(body) // 2)
    ann.write_bytes(body[: at + 1] + b"9" + body[at + 2 :])  # a vertex far outside the slide
    os.utime(ann, ns=(written, written))
    checked.clear()
    again = audit(batch, profile, tmp_path / "cache")
    assert checked == ["S00002"]
    fresh = run_batch(batch, profile, OPTIONS)
    assert records(again) == records(fresh)


def test_files_whose_fine_times_are_ahead_of_the_clock_are_still_cached(batch, profile, tmp_path, checked):
    """A batch copied with its times kept from a machine whose clock runs fast (rsync -t, a tar
    from the scanner) has ns times ahead of this clock: the result cache trusts finer times
    whatever they are (its key holds the file's printed ends too). A worker's stricter rule for
    the digests it keeps (dqm.file_digests.racy) had been taken for the cache's: no such item
    was ever stored (0 served of 4 on the second run; whole-second times alone are racy)."""
    ahead = time.time_ns() + 86_400 * 10**9 + 123
    for path in batch.rglob("*"):
        os.utime(path, ns=(ahead, ahead))
    first = audit(batch, profile, tmp_path / "cache")
    checked.clear()
    again = audit(batch, profile, tmp_path / "cache")
    assert checked == []
    assert records(again) == records(first)


def test_entries_no_run_uses_for_a_month_are_deleted(batch, profile, tmp_path, checked, monkeypatch):
    """Every re-audit of a changing batch added entries and none was ever removed (a cache shared
    by the audits of a copied batch held 401 entries for 200 items, 12.6 KB each; a million
    items' make 12 GB): an entry unused for KEEP_DAYS is now deleted when a run closes."""
    day = [20_000]
    monkeypatch.setattr(dqm.cache, "_today", lambda: day[0])
    other = tmp_path / "other"
    build_batch(other, 3, seed=9, defect_rate=0.0, max_size=256)
    audit(batch, profile, tmp_path / "cache")
    audit(other, profile, tmp_path / "cache")
    assert len(_stored(tmp_path / "cache")) == 9
    day[0] += dqm.cache.KEEP_DAYS  # a month on, the batch is audited again: its entries served
    checked.clear()
    audit(batch, profile, tmp_path / "cache")
    assert checked == [] and len(_stored(tmp_path / "cache")) == 9
    day[0] += 1  # the other batch's entries are a month and a day unused
    audit(batch, profile, tmp_path / "cache")
    assert len(_stored(tmp_path / "cache")) == 6
    checked.clear()
    audit(batch, profile, tmp_path / "cache")
    assert checked == []


def test_a_cache_made_before_entries_kept_their_day_is_read_and_kept(batch, profile, tmp_path, checked):
    audit(batch, profile, tmp_path / "cache")
    with sqlite3.connect(tmp_path / "cache" / DB_NAME) as db:  # as an older dqm made it
        db.execute("DROP INDEX records_used")
        db.execute("ALTER TABLE records DROP COLUMN used")
    checked.clear()
    audit(batch, profile, tmp_path / "cache")
    assert checked == [] and len(_stored(tmp_path / "cache")) == 6


def test_a_record_is_masked_string_by_string_each_once_its_rings_kept_exact():
    """Every text of a record is masked, keys included, each distinct one once; a ring's base64
    vertices are numbers, not text: a pattern matching inside them must not corrupt them."""
    from dqm.cache import _masked
    from dqm.model import _ring_from_json, _ring_to_json

    ring = np.array([[0.0, 0.0], [2.5, 0.0], [2.5, 2.5], [0.0, 0.0]])
    stored = _ring_to_json(ring)
    assert "A" in stored["f8"]
    calls: list[str] = []

    def mask(text: str) -> str:
        calls.append(text)
        return text.replace("A", "#")

    lesion = {"pointer": "/lesions/0", "raw_class": "BCC A", "polygons": [[stored]]}
    plain = {
        "summary": {"slide_id": "SA1"},
        "annotation": {
            "path": "annotations/A.json",
            "lesions": [lesion, {**lesion, "pointer": "/lesions/1"}],
        },
        "findings": [{"message": "A in lesion 1", "location": ("A.json", 3)}],
    }
    got = _masked(plain, mask)
    assert got["annotation"]["lesions"][1]["polygons"][0][0]["f8"] == stored["f8"]
    assert np.array_equal(_ring_from_json(got["annotation"]["lesions"][1]["polygons"][0][0]), ring)
    assert got["annotation"]["lesions"][0]["raw_class"] == "BCC #"
    assert got["annotation"]["path"] == "annotations/#.json" and got["summary"]["slide_id"] == "S#1"
    assert got["findings"] == [{"message": "# in lesion 1", "location": ["#.json", 3]}]
    assert stored["f8"] not in calls and len(calls) == len(set(calls))


def test_a_ring_of_any_length_is_kept_as_it_is_and_only_text_is_held_to_the_masking_limit(monkeypatch):
    """A ring's base64 is not masked, so its length is no reason to leave the record uncached
    (an outline of 47,000 vertices or more was never cached); a text over the limit still is."""
    import dqm.cache
    from dqm.cache import _masked, _TooLong
    from dqm.model import _ring_to_json

    monkeypatch.setattr(dqm.cache, "MAX_MASKED_CHARS", 40)
    stored = _ring_to_json(np.column_stack([np.arange(100.0), np.arange(100.0)]))
    assert len(stored["f8"]) > 40
    plain = {"annotation": {"path": "a.json", "lesions": [{"raw_class": "BCC", "polygons": [[stored]]}]}}

    def mask(text: str) -> str:
        return text.replace("a.json", "[PATH]")

    got = _masked(plain, mask)
    assert got["annotation"]["lesions"][0]["polygons"][0][0]["f8"] == stored["f8"]
    assert got["annotation"]["path"] == "[PATH]"
    with pytest.raises(_TooLong):
        _masked({**plain, "summary": {"slide_id": "S" * 41}}, mask)


def test_a_record_over_sqlites_length_limit_is_skipped_and_the_others_are_stored(batch, tmp_path):
    """One record too long for an SQLite value would fail the commit it is part of (and, as any
    failed write, stop the run's storing): it is left out with one warning instead."""
    said: list[str] = []
    with RecordCache(tmp_path / "cache", batch, "context", warn=said.append) as cache:
        assert cache._db is not None
        cache._db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 4096)
        cache.store_entry("a" * 64, b"{}")
        cache.store_entry("b" * 64, b"x" * 5000)
        cache.store_entry("c" * 64, b"x" * 6000)
        cache.store_entry("d" * 64, b"[]")
    assert len(said) == 1 and "5,000 bytes is over SQLite's limit" in str(said[0])
    assert sorted(_stored(tmp_path / "cache")) == ["a" * 64, "d" * 64]


@pytest.mark.parametrize(
    ("where", "value", "said"),
    [
        (("n_values",), -5, "n_values is negative"),
        (("annotation", "n_values"), -3, "n_values is negative"),
        (("slide", "width"), "x", "SlideFacts.width is str"),
        (("unreadable",), "no", "unreadable is str"),
    ],
)
def test_an_entry_of_a_wrong_type_or_a_negative_count_is_ignored(
    batch, profile, tmp_path, checked, where, value, said
):
    """An entry that parsed, holding a count of -5 or a slide width of "x", was taken: the audit
    stopped with an internal error where the value was used (exit 4: a Ratio of -10 values), or
    counted it. Each scalar field is checked against its type as the record is read back."""
    import json

    first = audit(batch, profile, tmp_path / "cache")
    checked.clear()
    with sqlite3.connect(tmp_path / "cache" / DB_NAME) as db:
        rows = db.execute("SELECT key, record FROM records").fetchall()
        key, record = next((k, r) for k, r in rows if json.loads(r)["slide"] and json.loads(r)["annotation"])
        data = json.loads(record)
        inner = data
        for step in where[:-1]:
            inner = inner[step]
        inner[where[-1]] = value
        db.execute("UPDATE records SET record = ? WHERE key = ?", (json.dumps(data), key))
    with pytest.warns(CacheWarning, match=said):
        again = audit(batch, profile, tmp_path / "cache")
    assert len(checked) == 1
    assert records(again) == records(first)


@pytest.mark.parametrize("how", ["process died", "work raised"])
def test_an_item_whose_check_did_not_run_is_checked_again_next_time(tmp_path, profile, monkeypatch, how):
    """A worker killed (the OOM killer, a lost Dask worker) or an item's work that raised (a read
    failing for the moment) says nothing of the item's files: its crash is not cached, and the next
    run checks the item (its crash was served for ever while the files stayed as they were)."""
    import contextlib

    from dqm.executors import ItemKilledWorkers
    from tests.test_runner import _forty
    from validators.engine import CRASH_CODE

    root, _ = _forty(tmp_path / "b")
    options = RunOptions(workers=1, slides=False, clinical=False)
    with monkeypatch.context() as patch:
        if how == "process died":
            # the executor's answer for an item whose worker died, without forking a pool inside a
            # test worker (a forked pool hung a CI run here: tests/test_runner.py kills real ones)

            def dask_map(client, func, items, shared, **options):  # type: ignore[no-untyped-def]
                for k, item in enumerate(items):
                    died = item.slide_id == "S17"
                    yield k, ItemKilledWorkers("lost (KilledWorker)") if died else func(item, *shared)

            patch.setattr(dqm.runner, "dask_client", lambda options: contextlib.nullcontext())
            patch.setattr(dqm.runner, "dask_map", dask_map)
            first = audit(root, profile, tmp_path / "cache", dataclasses.replace(options, executor="dask"))
        else:
            real = dqm.runner.check_item

            def check(item, *args):  # type: ignore[no-untyped-def]
                if item.slide_id == "S17":
                    raise MemoryError("for the moment")
                return real(item, *args)

            patch.setattr(dqm.runner, "check_item", check)
            first = audit(root, profile, tmp_path / "cache", options)
    assert [f.code for f in first.outcomes[17].findings] == [CRASH_CODE]
    again = audit(root, profile, tmp_path / "cache", options)
    assert again.outcomes[17].findings == []
    assert records(again) == records(audit(root, profile, tmp_path / "uncached", options))


@pytest.mark.parametrize("form", ["mrxs", "vms"])
def test_a_file_openslide_reads_besides_the_slide_is_in_its_key(tmp_path, profile, checked, form):
    """A MIRAX slide is its ``.mrxs`` and the files its ``Slidedat.ini`` names, a VMS slide its key
    file and the images it names: one of those rewritten, or made a link out of the batch, changes
    what the slide shows while the slide's own file stays as it was. Its record was served."""
    import json

    from tests.helpers import native_doc

    root = tmp_path / "b"
    (root / "m").mkdir(parents=True)
    (root / "m.json").write_text(json.dumps(native_doc()))
    if form == "mrxs":
        (root / "m.mrxs").write_bytes(b"\0" * 64)
        (root / "m" / "Slidedat.ini").write_text("[HIERARCHICAL]\nINDEXFILE=Index.dat\n")
        data = root / "m" / "Index.dat"
    else:
        (root / "m.vms").write_text("[Virtual Microscope Specimen]\nImageFile=m/image.bin\n")
        data = root / "m" / "image.bin"
    data.write_bytes(b"first")
    audit(root, profile, tmp_path / "cache")
    checked.clear()
    os.utime(root / "m", ns=(1, 1))  # the folder's times are not the point
    data.write_bytes(b"other")
    audit(root, profile, tmp_path / "cache")
    assert checked == ["m"]
    checked.clear()
    outside = tmp_path / "outside.dat"
    outside.write_bytes(b"not the batch's")
    data.unlink()
    data.symlink_to(outside)
    served = audit(root, profile, tmp_path / "cache")
    assert checked == ["m"]
    fresh = audit(root, profile, tmp_path / "uncached")
    assert records(served) == records(fresh)
    assert "SLIDE_REFERENCE_REFUSED" in [f.code for f in fresh.outcomes[0].findings]


def test_a_process_that_runs_two_audits_probes_a_slide_rewritten_between_them_again(batch, profile, tmp_path):
    """The slide probes a process keeps (``--workers 1`` in the dqm process, a Dask worker that
    outlives its run) were keyed by path, size and modification time: a slide replaced by another
    of the same size, its modification time set back, was given the old slide's probe in the
    next run. They are now this run's only, under the whole stat."""
    import dqm.slide_io

    slide = batch / "slides" / "S00001.tiff"
    pixels = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    tifffile.imwrite(slide, pixels, photometric="rgb")
    options = RunOptions(workers=1, clinical=False)
    run_batch(batch, profile, options)
    st = slide.stat()
    replaced = tmp_path / "blank.tiff"
    tifffile.imwrite(replaced, np.full_like(pixels, 255), photometric="rgb")
    assert replaced.stat().st_size == st.st_size
    os.utime(replaced, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(replaced, slide)
    again = run_batch(batch, profile, options)
    dqm.slide_io._PROBES.clear()
    fresh = run_batch(batch, profile, options)
    assert records(again) == records(fresh)


@pytest.mark.parametrize("where", ["summary", "findings"])
def test_a_corrupt_entry_is_warned_of_without_the_text_it_holds(batch, profile, tmp_path, where):
    """The warning of an entry that cannot be read back quoted the value it met (pydantic's
    ``input_value='…'``) whole and unmasked on stderr: an identifier planted in (or damaged into)
    the cache went out where no output lets one. It names the field and the fault, masked."""
    import json

    from dqm.identifiers import Masker

    masker = Masker(profile.deid, b"k" * 32)
    with RecordCache(tmp_path / "cache", batch, context_key(profile.sha256, OPTIONS), mask=masker) as cache:
        run_batch(batch, profile, OPTIONS, cache=cache)
    rrn = "900101-1234567"
    with sqlite3.connect(tmp_path / "cache" / DB_NAME) as db:
        for key, record in db.execute("SELECT key, record FROM records").fetchall():
            data = json.loads(record)
            if where == "findings":
                data["findings"] = [{"severity": f"patient {rrn}"}]
            elif data[where] is not None:
                data[where][f"patient {rrn}"] = f"{rrn} again"
            db.execute("UPDATE records SET record = ? WHERE key = ?", (json.dumps(data), key))
    said, _ = masked_warnings(batch, profile, tmp_path / "cache")
    corrupt = [text for text in said if "corrupt result cache entry" in text]
    assert len(corrupt) == 6
    assert not [text for text in corrupt if rrn in text]


@pytest.mark.parametrize("suffix", [".dcm", ".tif"])
def test_a_file_beside_a_dicom_slide_is_in_its_key(tmp_path, profile, checked, suffix):
    """OpenSlide opens every file of a DICOM slide's folder to find the rest of its series: a level
    file rewritten, added or removed beside ``s.dcm`` changes the slide while ``s.dcm`` stays as
    it was. The folder is listed once a run however many slides it holds. A DICOM slide is known
    by its magic at byte 128 as OpenSlide knows it, whatever its name: a dual-format DICOM-TIFF
    named ``.tif`` had its folder left out of its key."""
    import json

    from tests.helpers import native_doc

    root = tmp_path / "b"
    root.mkdir()
    for sid in ("s", "t"):
        (root / f"{sid}.json").write_text(json.dumps(native_doc()))
        (root / f"{sid}{suffix}").write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 64)
    level = root / "s-level1.bin"
    level.write_bytes(b"first")
    audit(root, profile, tmp_path / "cache")
    checked.clear()
    audit(root, profile, tmp_path / "cache")
    assert checked == []
    level.write_bytes(b"other")
    audit(root, profile, tmp_path / "cache")
    assert sorted(checked) == ["s", "t"]
    checked.clear()
    (root / "s-level2.bin").write_bytes(b"added")
    audit(root, profile, tmp_path / "cache")
    assert sorted(checked) == ["s", "t"]


def test_a_database_error_is_warned_of_masked(batch, profile, tmp_path):
    """A cache database's own error text (a trigger's RAISE planted in it; a trigger is refused
    now, tests/test_cache_hostile.py: a constraint's name) was quoted unmasked in the warning that
    the records could not be stored."""
    (tmp_path / "cache").mkdir()
    with sqlite3.connect(tmp_path / "cache" / DB_NAME) as db:
        db.executescript(
            "CREATE TABLE records (key TEXT PRIMARY KEY, used INTEGER, record BLOB NOT NULL, "
            'CONSTRAINT "patient 900101-1234567" CHECK (length(key) < 0))'
        )
    said, run = masked_warnings(batch, profile, tmp_path / "cache")
    (text,) = [text for text in said if "could not be stored" in text]
    assert "900101-1234567" not in text and "[KOREAN_RRN-" in text
    assert records(run) == records(run_batch(batch, profile, OPTIONS))


def _multi_file_slide(root: Path, form: str, names: bytes) -> None:
    """A MIRAX (``m.mrxs``, ``m/Slidedat.ini``) or VMS (``m.vms``) slide ``m`` whose key file
    names the files ``names`` (key-file lines after the group) and its annotation ``m.json``."""
    import json

    from tests.helpers import native_doc

    (root / "m").mkdir(parents=True)
    (root / "m.json").write_text(json.dumps(native_doc()))
    if form == "mrxs":
        (root / "m.mrxs").write_bytes(b"\0" * 64)
        (root / "m" / "Slidedat.ini").write_bytes(b"[HIERARCHICAL]\n" + names)
    else:
        (root / "m.vms").write_bytes(b"[Virtual Microscope Specimen]\n" + names)


@pytest.mark.parametrize("form", ["mrxs", "vms"])
def test_a_nul_byte_in_a_name_of_a_file_besides_the_slide_is_cut_there(tmp_path, profile, checked, form):
    """A name with a NUL byte in a ``Slidedat.ini`` or VMS key file reached ``os.open`` whole while
    keying the slide: ``ValueError: embedded null byte`` aborted the audit (rc 4). OpenSlide's C
    string ends at the NUL: the file is keyed by the name cut there, as the reference check reads it."""
    root = tmp_path / "b"
    prefix = b"INDEXFILE=" if form == "mrxs" else b"ImageFile=m/"
    _multi_file_slide(root, form, prefix + b"Index.dat\x00junk\n")
    data = root / "m" / "Index.dat"
    data.write_bytes(b"first")
    audit(root, profile, tmp_path / "cache")
    checked.clear()
    data.write_bytes(b"other")
    served = audit(root, profile, tmp_path / "cache")
    assert checked == ["m"]
    assert records(served) == records(audit(root, profile, tmp_path / "uncached"))


def test_the_files_besides_a_slide_are_read_once_each_and_at_most_a_bound_of_them(
    tmp_path, profile, checked, monkeypatch
):
    """A ``Slidedat.ini`` of 1 MiB named one data file 20,583 times (``d1/../Data.dat``, ``./``...):
    each name was printed (2 MiB read), 40 GB hashed and ~88 s a slide each run. Names of one file
    are one; past :data:`dqm.cache.MAX_PRINTED_BESIDES` files read, the others are keyed by their
    stat alone (a rewrite still changes their change time) and the item is still cached."""
    monkeypatch.setattr(dqm.cache, "MAX_PRINTED_BESIDES", 3)
    read: list[str] = []
    real = dqm.cache.stat_and_print

    def spy(path):  # type: ignore[no-untyped-def]
        read.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(dqm.cache, "stat_and_print", spy)
    root = tmp_path / "b"
    aliases = [b"./" * (k % 7) + b"a/../" * (k // 7) + b"Data0.dat" for k in range(50)]
    names = [b"INDEXFILE=Index.dat", *(b"FILE_%d=%s" % (k, a) for k, a in enumerate(aliases))]
    names += [b"FILE_%d=Data%d.dat" % (50 + k, k) for k in range(1, 4)]
    _multi_file_slide(root, "mrxs", b"\n".join(names) + b"\n")
    (root / "m" / "a").mkdir()
    for name in ("Index.dat", "Data0.dat", "Data1.dat", "Data2.dat", "Data3.dat"):
        (root / "m" / name).write_bytes(name.encode())
    first = audit(root, profile, tmp_path / "cache")
    assert first.crowded == ["m"]  # said, not silent (the command warns): --certify does not hash the rest
    assert sorted(read) == ["Data0.dat", "Index.dat", "Slidedat.ini", "m.json", "m.mrxs"]
    checked.clear()
    audit(root, profile, tmp_path / "cache")
    assert checked == []
    (root / "m" / "Data3.dat").write_bytes(b"DATA3.DAT")  # the same size: its stat changes
    served = audit(root, profile, tmp_path / "cache")
    assert checked == ["m"]
    assert records(served) == records(audit(root, profile, tmp_path / "uncached"))


def test_a_dicom_slide_key_holds_its_folder_listing_digest_not_the_listing(tmp_path):
    """Each ``.dcm`` slide's key held its whole folder's listing: keying the N slides of one folder
    took time in N squared (4,000: 18.8 s). The key holds the listing's SHA-256, made once."""
    from dqm.model import Item

    texts: list[str] = []
    for n in (2, 200):  # the item's slide is the same, its folder's entries differ
        root = tmp_path / f"b{n}"
        root.mkdir()
        for k in range(n):
            (root / f"D{k:03d}.dcm").write_bytes(b"\0" * 128 + b"DICM")
        cache = RecordCache(tmp_path / f"cache{n}", root, "x")
        cache._digest = lambda text, digest=cache._digest: texts.append(text) or digest(text)  # type: ignore[method-assign]
        cache.keys([Item("D000", "D000.dcm", None)])
        cache.close()
    assert len(texts) == 2 and "D001.dcm" not in texts[1]
    assert abs(len(texts[0]) - len(texts[1])) < 10  # inodes' digits aside: 200 entries are as 2


def test_a_record_that_cannot_be_serialised_is_warned_of_masked(batch, profile, tmp_path, monkeypatch):
    """Why an item's work could not serialise its record for the cache (the error's text, which may
    quote a value of the record) was warned of unmasked, unlike every other cache warning."""

    def refuse(record, mask):  # type: ignore[no-untyped-def]
        raise ValueError("patient 900101-1234567")

    monkeypatch.setattr(dqm.runner, "entry", refuse)
    said, _ = masked_warnings(batch, profile, tmp_path / "cache")
    texts = [text for text in said if "could not be stored" in text]
    assert len(texts) == 6
    assert not [t for t in texts if "900101-1234567" in t] and "[KOREAN_RRN-" in texts[0]


def boxes_batch(real_data: Path, root: Path) -> Path:
    """A batch at ``root`` of the real DICOM slide ``boxes_0.dcm``, its series' other file
    ``boxes_1.dcm`` and an annotation of it."""
    import json

    from tests.helpers import native_doc

    root.mkdir()
    for name in ("boxes_0.dcm", "boxes_1.dcm"):
        shutil.copy(real_data / "slides" / name, root / name)
    (root / "boxes_0.json").write_text(json.dumps(native_doc(file="boxes_0.dcm", width=16, height=16)))
    return root


def test_a_process_that_runs_two_audits_sees_a_file_besides_the_slide_change_between_them(
    tmp_path, profile, real_data
):
    """The slide probes a process keeps (``--workers 1``) are keyed by the slide's stat and the run
    (:func:`dqm.file_digests.current_run`): a file OpenSlide reads besides the slide changes what
    the slide shows and none of its stat (a DICOM series' other file, here its thumbnail: a MIRAX
    slide's data files, alike). Only the run in the key makes the next run probe it again."""
    import dqm.slide_io

    root = boxes_batch(real_data, tmp_path / "b")
    options = RunOptions(workers=1, clinical=False)
    first = run_batch(root, profile, options)
    facts = {o.summary.slide_id: o.slide for o in first.outcomes}["boxes_0"]
    assert facts is not None and "thumbnail" in facts.associated_images
    (root / "boxes_1.dcm").unlink()  # the series' thumbnail
    again = run_batch(root, profile, options)
    dqm.slide_io._PROBES.clear()
    fresh = run_batch(root, profile, options)
    assert records(again) == records(fresh) != records(first)


def test_an_items_key_follows_the_readers_of_its_shared_file(batch, profile, tmp_path):
    """A shared file's image is picked knowing every item that reads the file (an image another
    names by its path is that one's): another reader changes an item's pick, so its key; the
    same readers give the same key, however the set was built (no order of the process's)."""
    import dataclasses

    from dqm.batch import discover

    item = discover(batch).items[0]
    pairs = [(item.slide_id, item.image_path), ("other", "b/slide1.svs")]
    with RecordCache(tmp_path / "cache", batch, context_key(profile.sha256, OPTIONS)) as cache:
        alone = cache.key(item)
        shared = cache.key(dataclasses.replace(item, file_readers=frozenset(pairs)))
        again = cache.key(dataclasses.replace(item, file_readers=frozenset(reversed(pairs))))
        moved = cache.key(
            dataclasses.replace(item, file_readers=frozenset([pairs[0], ("other", "a/slide1.svs")]))
        )
    assert alone != shared == again != moved
