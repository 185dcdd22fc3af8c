"""A DICOM slide whose folder holds more than MAX_PARTS files: the result cache's key read every
file's header again on each run (:func:`dqm.slide_refs.folder_series`, kept by no stat), a warm run
of an unchanged folder of thousands of files paying what the cold one did. Past MAX_PARTS a file
is known by its stat alone already (:func:`dqm.runner.crowded_message`): the folder's series are
remembered by the cache under the stats of every entry, and read again only when one changes
(session 25, task cache2, 2)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dqm import cache as cache_module
from dqm import slide_refs
from dqm.profile import Profile
from tests.test_cache import audit
from tests.test_dicom_parts import dicom

BOUND = 20
MEMBERS = BOUND + 50


@pytest.fixture
def header_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every DICOM header read (:func:`dqm.slide_refs._series`), counted; MAX_PARTS lowered to
    :data:`BOUND` (the folder is crowded as one of MAX_PARTS + 50 files is)."""
    reads = [0]
    real = slide_refs._series

    def counted(fh, strict):  # type: ignore[no-untyped-def]
        reads[0] += 1
        return real(fh, strict)

    monkeypatch.setattr(slide_refs, "_series", counted)
    monkeypatch.setattr(slide_refs, "MAX_PARTS", BOUND)
    monkeypatch.setattr(cache_module, "SERIES_REMEMBERED_PAST", BOUND, raising=False)
    yield reads


def _crowded(real_data: Path, root: Path) -> Path:
    from tests.helpers import native_doc

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
    header_reads[0] = 0
    audit(root, profile, folder)
    assert header_reads[0] == 0


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
