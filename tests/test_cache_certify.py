"""--certify: a cached record is reused only when its files' full SHA-256 still match (issue 13 §2)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import tifffile
from typer.testing import CliRunner

import dqm.cache
import dqm.runner
from dqm.cache import RecordCache, context_key
from dqm.cli import app
from dqm.profile import Profile
from dqm.runner import RunOptions, run_batch
from dqm.slide_io import fingerprint
from dqm.synth import build_batch

PLAIN = RunOptions(workers=1, clinical=False, full_hashes=True)
CERTIFY = RunOptions(workers=1, clinical=False, certify=True)
SLIDE = "slides/S00001.tiff"


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    out = tmp_path / "batch"
    build_batch(out, 4, seed=5, defect_rate=0.0, max_size=256)
    # about 6 MiB, uncompressed: its middle lies outside the quick print's first and last MiB
    pixels = np.random.default_rng(0).integers(0, 255, (1400, 1500, 3), dtype=np.uint8)
    tifffile.imwrite(out / SLIDE, pixels, photometric="rgb")
    return out


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The slide ids whose files the runner reads and checks (not the ones it only hashes)."""
    seen: list[str] = []
    real = dqm.runner.check_item

    def spy(item, *args):  # type: ignore[no-untyped-def]
        seen.append(item.slide_id)
        return real(item, *args)

    monkeypatch.setattr(dqm.runner, "check_item", spy)
    return seen


def audit(
    root: Path, profile: Profile, folder: Path, options: RunOptions
) -> tuple[dqm.runner.Run, RecordCache]:
    with RecordCache(folder, root, context_key(profile.sha256, options)) as cache:
        return run_batch(root, profile, options, cache=cache), cache


def _blank_the_middle_keeping_size_and_times(path: Path) -> None:
    """The usual de-identification fix: a label's bytes overwritten in place, the times put back."""
    st = path.stat()
    with path.open("r+b") as fh:
        fh.seek(st.st_size // 2)
        fh.write(b"\0" * 4096)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)


def _without_change_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file system that keeps no change time of its own (FAT and exFAT drives report the
    modification time; so can network and FUSE mounts), or a clock set back: the key then sees
    size, modification time, inode and quick print alone."""
    real = dqm.cache.file_key

    def blind(root, rel, listed=frozenset()):  # type: ignore[no-untyped-def]
        key = real(root, rel, listed)
        return key[:3] + key[4:] if len(key) == 6 else key  # [path, size, mtime, ctime, inode, print]

    monkeypatch.setattr(dqm.cache, "file_key", blind)


def test_certify_implies_full_hashes_and_records_them(batch, profile, tmp_path, checked):
    assert CERTIFY.full_hashes
    run, cache = audit(batch, profile, tmp_path / "cache", CERTIFY)
    assert len(checked) == 4 and cache.stored == 4
    (slide,) = [o for o in run.outcomes if o.summary.slide_id == "S00001"]
    assert set(slide.sha256) == set(slide.files) and SLIDE in slide.sha256


def test_certify_reuses_a_record_whose_files_hash_the_same(batch, profile, tmp_path, checked):
    first, _ = audit(batch, profile, tmp_path / "cache", CERTIFY)
    checked.clear()
    again, cache = audit(batch, profile, tmp_path / "cache", CERTIFY)
    assert checked == [] and cache.hits == 4 and cache.unconfirmed == []
    assert [o.to_dict() for o in again.outcomes] == [o.to_dict() for o in first.outcomes]


def test_each_certifying_run_hashes_every_file_whole_even_in_the_same_process(
    batch, profile, tmp_path, monkeypatch
):
    """A worker that outlives a run (an external Dask cluster; one process with --workers 1) kept
    the digests of the files it had read whole, and a second --certify run took them from there
    instead of reading the files (none read whole; the first run read the 4 slides, its
    annotations' hashes taken as they were parsed): each run reads them again, each once."""
    import dqm.slide_io

    whole: list[int] = []  # the inodes of the files full_hash reads itself (it looks for holes first)
    real = dqm.slide_io.sparse_of
    monkeypatch.setattr(
        dqm.slide_io, "sparse_of", lambda fd, st=None: whole.append(os.fstat(fd).st_ino) or real(fd, st)
    )
    audit(batch, profile, tmp_path / "cache", CERTIFY)
    first = set(whole)
    assert len(first) == 4
    whole.clear()
    audit(batch, profile, tmp_path / "cache", CERTIFY)
    assert set(whole) > first and len(whole) == len(set(whole))


def test_a_change_the_key_cannot_see_is_served_plainly_and_refused_by_certify(
    batch, profile, tmp_path, checked, monkeypatch
):
    _without_change_times(monkeypatch)
    audit(batch, profile, tmp_path / "cache", PLAIN)  # stores full hashes too
    slide = batch / SLIDE
    size = slide.stat().st_size
    before = fingerprint(slide, size)
    _blank_the_middle_keeping_size_and_times(slide)
    assert fingerprint(slide, size) == before  # the quick print is blind to the middle
    checked.clear()
    plain, cache = audit(batch, profile, tmp_path / "cache", PLAIN)
    assert checked == [] and cache.hits == 4  # the risk of a plain run: the stale record is served
    old = next(o for o in plain.outcomes if o.summary.slide_id == "S00001").sha256[SLIDE]
    certified, cache = audit(batch, profile, tmp_path / "cache", CERTIFY)
    assert checked == ["S00001"]
    assert cache.unconfirmed == ["S00001"] and cache.hits == 3
    new = next(o for o in certified.outcomes if o.summary.slide_id == "S00001").sha256[SLIDE]
    assert new != old
    checked.clear()
    audit(batch, profile, tmp_path / "cache", CERTIFY)  # the record checked again was stored
    assert checked == []


def _mirax(root: Path) -> Path:
    """A MIRAX slide ``m`` (``m.mrxs``, ``m/Slidedat.ini``) with its annotation, whose data file
    of 3 MiB (its middle outside the quick print) is returned."""
    from tests.helpers import native_doc

    (root / "m").mkdir(parents=True, exist_ok=True)
    (root / "m.json").write_text(json.dumps(native_doc()))
    (root / "m.mrxs").write_bytes(b"\0" * 64)
    (root / "m" / "Slidedat.ini").write_text("[HIERARCHICAL]\nINDEXFILE=Index.dat\nFILE_0=Data0.dat\n")
    (root / "m" / "Index.dat").write_bytes(b"index")
    data = root / "m" / "Data0.dat"
    data.write_bytes(np.random.default_rng(1).bytes(3 << 20))
    return data


def test_certify_hashes_the_files_openslide_opens_besides_the_slide(tmp_path, profile, checked, monkeypatch):
    """A MIRAX slide's data file rewritten in place, its size, modification time and inode kept
    (on a file system without change times of its own), was certified: --certify hashed the
    ``.mrxs`` alone, and the data file's part of the key is its stat and quick print."""
    real = dqm.cache.stat_and_print
    monkeypatch.setattr(
        dqm.cache, "stat_and_print", lambda path: (lambda k: [*k[:2], k[1], *k[3:]])(real(path))
    )
    data = _mirax(tmp_path / "b")
    first, _ = audit(tmp_path / "b", profile, tmp_path / "cache", CERTIFY)
    (record,) = list(first.outcomes)
    assert set(record.parts) == {"m/Slidedat.ini", "m/Index.dat", "m/Data0.dat"}
    assert set(record.sha256) == {"m.mrxs", "m.json", *record.parts}
    checked.clear()
    _, cache = audit(tmp_path / "b", profile, tmp_path / "cache", CERTIFY)
    assert checked == [] and cache.hits == 1  # each file hashes the same: the record stands
    _blank_the_middle_keeping_size_and_times(data)
    checked.clear()
    _, cache = audit(tmp_path / "b", profile, tmp_path / "cache", PLAIN)
    assert checked == [] and cache.hits == 1  # a plain run is blind to it, as to a slide's middle
    certified, cache = audit(tmp_path / "b", profile, tmp_path / "cache", CERTIFY)
    assert checked == ["m"] and cache.unconfirmed == ["m"]
    assert next(iter(certified.outcomes)).sha256["m/Data0.dat"] != record.sha256["m/Data0.dat"]


def test_with_change_times_even_a_plain_run_checks_the_blanked_slide_again(batch, profile, tmp_path, checked):
    audit(batch, profile, tmp_path / "cache", PLAIN)
    _blank_the_middle_keeping_size_and_times(batch / SLIDE)
    checked.clear()
    audit(batch, profile, tmp_path / "cache", PLAIN)
    assert checked == ["S00001"]


def test_dqm_audit_certify_on_the_command_line(batch, tmp_path, monkeypatch):
    _without_change_times(monkeypatch)
    out = tmp_path / "out"
    args = ["audit", str(batch), "--out", str(out), "-j", "1", "--stages", "syntactic", "--certify"]
    got = CliRunner().invoke(app, args)
    assert got.exit_code in (0, 1), got.output
    files = {f["path"]: f for f in json.loads((out / "results.json").read_text())["batch"]["files"]}
    assert files[SLIDE]["sha256"] is not None  # recorded as --full-hashes records them
    _blank_the_middle_keeping_size_and_times(batch / SLIDE)
    got = CliRunner().invoke(app, args)
    assert got.exit_code in (0, 1), got.output
    said = " ".join(got.output.split())
    assert "--certify: 1 items checked again" in said and "S00001" in said
    assert "3 of 4 items unchanged since an earlier run" in said


def test_dqm_validate_certify_on_the_command_line(batch, tmp_path, monkeypatch):
    _without_change_times(monkeypatch)
    args = ["validate", str(batch), "--cache", str(tmp_path / "cache"), "-j", "1", "--certify"]
    got = CliRunner().invoke(app, args)
    assert got.exit_code in (0, 1), got.output
    got = CliRunner().invoke(app, args)
    assert "4 of 4 items unchanged since an earlier run" in " ".join(got.output.split())
    _blank_the_middle_keeping_size_and_times(batch / SLIDE)
    got = CliRunner().invoke(app, args)
    said = " ".join(got.output.split())
    assert "--certify: 1 items checked again" in said and "S00001" in said


def test_a_part_rewritten_while_the_slide_is_checked_is_caught_by_the_next_certifying_run(
    tmp_path, profile, checked, monkeypatch
):
    """A MIRAX data file rewritten between its first and last MiB while the slide was checked,
    its size, modification time and inode kept (a file system without change times of its own):
    the probe's check after OpenSlide's reads confirms a part by its quick print, which cannot see
    it, so the run describes what it read and records it. A plain run serves that record again;
    --certify is what catches it: the record holds the full hashes of the files as they were
    before the checks read them, so the next certifying run finds the rewritten file's hash
    differing and checks the slide again."""
    real = dqm.cache.stat_and_print
    monkeypatch.setattr(
        dqm.cache, "stat_and_print", lambda path: (lambda k: [*k[:2], k[1], *k[3:]])(real(path))
    )
    data = _mirax(tmp_path / "b")
    probe = dqm.runner.probe_slide_cached

    def rewritten_meanwhile(*args, **kw):  # type: ignore[no-untyped-def]
        _blank_the_middle_keeping_size_and_times(data)
        return probe(*args, **kw)

    monkeypatch.setattr(dqm.runner, "probe_slide_cached", rewritten_meanwhile)
    audit(tmp_path / "b", profile, tmp_path / "cache", CERTIFY)
    monkeypatch.setattr(dqm.runner, "probe_slide_cached", probe)
    checked.clear()
    _, cache = audit(tmp_path / "b", profile, tmp_path / "cache", PLAIN)
    assert checked == [] and cache.hits == 1  # a plain run is blind to it
    _, cache = audit(tmp_path / "b", profile, tmp_path / "cache", CERTIFY)
    assert checked == ["m"] and cache.unconfirmed == ["m"]
