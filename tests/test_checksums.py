"""Checksum lists delivered with a batch: SHA256SUMS and the manifest's sha256 columns."""

from __future__ import annotations

import builtins
import hashlib
import io
import os
from pathlib import Path

import pytest

from dqm.checksums import MAX_MALFORMED, parse_sums
from dqm.profile import Profile
from dqm.runner import RunOptions, run_batch
from tests.helpers import write_tiny_batch

HEX = "ab" * 32


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sums(root: Path, files: list[str], extra: str = "") -> None:
    lines = [f"{_sha(root / f)}  {f}" for f in files]
    (root / "SHA256SUMS").write_text("\n".join(lines) + "\n" + extra)


def _checksum_findings(root: Path, profile: Profile, **options: object) -> list:
    run = run_batch(root, profile, RunOptions(workers=1, clinical=False, **options))
    return [f for f in run.findings if f.code.startswith("CHECKSUM_")]


BATCH_FILES = [
    "manifest.csv",
    *(f"slides/S{k}.png" for k in (1, 2, 3)),
    *(f"annotations/S{k}.json" for k in (1, 2, 3)),
]


def test_gnu_text_binary_escaped_and_bsd_lines_are_read() -> None:
    text = "\r\n".join(
        [
            f"{HEX}  a b.png",
            f"{HEX.upper()} *slides/x.svs",
            f"\\{HEX}  dir\\\\with\\nnewline.json",
            f"SHA256 (tagged.png) = {HEX}",
            "# a comment",
            "",
            "not a checksum line",
            f"\\{HEX}  bad\\qescape",
            f"{HEX[:-1]}  short.png",
        ]
    )
    entries, malformed = parse_sums(text)
    assert [(e.path, e.sha256, e.line) for e in entries] == [
        ("a b.png", HEX, 1),
        ("slides/x.svs", HEX, 2),
        ("dir\\with\nnewline.json", HEX, 3),
        ("tagged.png", HEX, 4),
    ]
    assert [m.line for m in malformed] == [7, 8, 9]


def test_malformed_lines_past_the_limit_are_counted_in_one_issue() -> None:
    """Two bytes a line made one finding a line: a list of 2 MB took 6 minutes and 3.2 GB."""
    text = f"{HEX}  a.png\n" + "x\n" * (MAX_MALFORMED + 4000) + f"{HEX}  b.png\n"
    entries, malformed = parse_sums(text)
    assert [e.path for e in entries] == ["a.png", "b.png"]
    assert len(malformed) == MAX_MALFORMED + 1 and malformed[0].line == 2
    last = malformed[-1]
    assert last.line == MAX_MALFORMED + 2 and last.why.startswith("4,000 more lines from here on")


def test_a_batch_matching_its_list_has_no_checksum_finding(tmp_path: Path, profile: Profile) -> None:
    root = write_tiny_batch(tmp_path / "b")
    _sums(root, BATCH_FILES)
    run = run_batch(root, profile, RunOptions(workers=1, clinical=False))
    assert [f for f in run.findings if f.code.startswith("CHECKSUM_")] == []
    assert not any(f.code == "FILE_NOT_READ" and f.location.file == "SHA256SUMS" for f in run.findings)
    hashed = {p: h for o in run.outcomes for p, h in o.sha256.items()}  # hashed in the items' work
    assert hashed["slides/S2.png"] == _sha(root / "slides/S2.png")
    assert len(hashed) == 6


def test_mismatch_missing_unlisted_and_malformed_lines(tmp_path: Path, profile: Profile) -> None:
    root = write_tiny_batch(tmp_path / "b")
    _sums(root, BATCH_FILES[:-1], extra=f"{HEX}  slides/S9.png\nhello\n")
    (root / "slides" / "S1.png").write_bytes(b"changed after the list was made")
    found = {(f.code, f.location.file, f.location.line, f.item_id) for f in _checksum_findings(root, profile)}
    assert found == {
        ("CHECKSUM_MISMATCH", "slides/S1.png", None, "S1"),
        ("CHECKSUM_MISSING_FILE", "SHA256SUMS", 7, "slides/S9.png"),
        ("CHECKSUM_UNLISTED", "annotations/S3.json", None, "annotations/S3.json"),
        ("CHECKSUM_MALFORMED", "SHA256SUMS", 8, "SHA256SUMS"),
    }


def test_paths_leaving_the_batch_are_findings_and_never_read(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_tiny_batch(tmp_path / "b")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (root / "slides" / "link.png").symlink_to(secret)
    extra = f"{_sha(secret)}  ../secret.txt\n{_sha(secret)}  {secret}\n{_sha(secret)}  slides/link.png\n"
    _sums(root, BATCH_FILES, extra=extra)
    opened: list[str] = []
    real_open = builtins.open

    def spy(file: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if isinstance(file, str | Path):
            opened.append(os.path.realpath(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    findings = _checksum_findings(root, profile)
    monkeypatch.undo()
    assert opened and str(secret) not in opened
    codes = sorted((f.code, f.location.line) for f in findings)
    assert codes == [
        ("CHECKSUM_MISSING_FILE", 10),
        ("CHECKSUM_OUTSIDE_BATCH", 8),
        ("CHECKSUM_OUTSIDE_BATCH", 9),
    ]
    missing = next(f for f in findings if f.code == "CHECKSUM_MISSING_FILE")
    assert "outside the batch" in missing.message


def test_an_unreadable_list_is_one_finding(tmp_path: Path, profile: Profile) -> None:
    root = write_tiny_batch(tmp_path / "b")
    (root / "SHA256SUMS").write_bytes(b"\xff\xfe not utf-8")
    codes = [f.code for f in _checksum_findings(root, profile)]
    assert codes.count("CHECKSUM_LIST_UNREADABLE") == 1


def test_manifest_sha256_columns(tmp_path: Path, profile: Profile) -> None:
    root = write_tiny_batch(tmp_path / "b")
    lines = (root / "manifest.csv").read_text().splitlines()
    cells = {
        "S1": (_sha(root / "slides/S1.png"), _sha(root / "annotations/S1.json")),
        "S2": ("0" * 64, ""),
        "S3": ("not-a-hash", _sha(root / "annotations/S3.json")),
    }
    out = [lines[0] + ",sha256,annotation_sha256"]
    for line in lines[1:]:
        sid = line.split(",", 1)[0]
        out.append(line + "," + ",".join(cells[sid]))
    (root / "manifest.csv").write_text("\n".join(out) + "\n")
    run = run_batch(root, profile, RunOptions(workers=1, clinical=False))
    found = {
        (f.code, f.location.file, f.location.row, f.location.column)
        for f in run.findings
        if "CHECKSUM" in f.code
    }
    assert found == {
        ("CHECKSUM_MISMATCH", "slides/S2.png", None, None),
        ("CHECKSUM_UNLISTED", "annotations/S2.json", None, None),
        ("CHECKSUM_MALFORMED", "manifest.csv", 3, "sha256"),
    }
    assert all("sha256" not in o.clinical_record for o in run.outcomes)


def test_full_hashes_hash_every_file_of_every_item(tmp_path: Path, profile: Profile) -> None:
    root = write_tiny_batch(tmp_path / "b")
    run = run_batch(root, profile, RunOptions(workers=1, clinical=False, full_hashes=True))
    hashed = {p: h for o in run.outcomes for p, h in o.sha256.items()}
    assert hashed == {f: _sha(root / f) for f in BATCH_FILES[1:]}
    plain = run_batch(root, profile, RunOptions(workers=1, clinical=False))
    assert all(o.sha256 == {} for o in plain.outcomes)


def test_the_real_data_s_sha256sums_checks_its_files(
    real_data: Path, tmp_path: Path, profile: Profile
) -> None:
    """The SHA256SUMS that came with the real test files (``sha256sum`` output: ``./`` paths, names
    with spaces) read as written: the copied parts match, the parts left behind are missing."""
    import shutil

    batch = tmp_path / "batch"
    for part in ("slides", "annotations", "images"):
        shutil.copytree(real_data / part, batch / part)
    shutil.copy(real_data / "SHA256SUMS", batch / "SHA256SUMS")
    findings = _checksum_findings(batch, profile, slides=False)
    by_code: dict[str, list[str]] = {}
    for f in findings:
        by_code.setdefault(f.code, []).append(f.message)
    assert set(by_code) <= {"CHECKSUM_MISSING_FILE", "CHECKSUM_UNLISTED"}, by_code
    assert by_code["CHECKSUM_MISSING_FILE"]
    assert all(
        m.startswith(("'masks/", "'segmentation/", "'SOURCES")) for m in by_code["CHECKSUM_MISSING_FILE"]
    )
    assert not by_code.get("CHECKSUM_UNLISTED")


def test_items_from_a_masked_cache_keep_their_hashes(tmp_path: Path, profile: Profile) -> None:
    """A record the cache stored masked comes back with its files' hashes under their real paths."""
    import shutil

    from dqm.cache import RecordCache, context_key
    from dqm.identifiers import Masker

    phone = "010-1234-5678"  # an identifier in a file name: masked in the cache
    root = write_tiny_batch(tmp_path / "b", manifest=False)
    shutil.copy(root / "slides" / "S1.png", root / "slides" / f"{phone}.png")
    shutil.copy(root / "annotations" / "S1.json", root / "annotations" / f"{phone}.json")
    _sums(root, [p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_file()])
    options = RunOptions(workers=1, clinical=False)
    masker = Masker(profile.deid, b"k" * 32)
    runs = []
    for _ in range(2):
        with RecordCache(
            tmp_path / "cache", root, context_key(profile.sha256, options), mask=masker
        ) as cache:
            runs.append(run_batch(root, profile, options, cache=cache))
            hits = cache.hits
    assert hits == 4
    for run in runs:
        assert [f.code for f in run.findings if f.code.startswith("CHECKSUM_")] == []
        assert f"slides/{phone}.png" in {p for o in run.outcomes for p in o.sha256}


def test_a_checksum_list_of_millions_of_short_lines_is_read_one_line_at_a_time() -> None:
    """``text.split("\\n")`` held every line at once: a SHA256SUMS of 63 MB of three-byte lines,
    under the size limit, peaked at 1.7 GB (an object of some 50 bytes a line). Lines are now
    taken one at a time, and one too short to be an entry is not searched."""
    import tracemalloc

    text = "ab\n" * 300_000 + "0" * 64 + "  slides/a.svs\n"
    tracemalloc.start()
    try:
        entries, malformed = parse_sums(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [e.path for e in entries] == ["slides/a.svs"] and len(malformed) == MAX_MALFORMED + 1
    assert peak < len(text), f"{peak / len(text):.1f}x the list"
