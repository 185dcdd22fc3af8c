"""The validity run opens slides as the probe does: never a VMS whose files lead out of the batch.

The audit's probe refuses such a slide (SLIDE_REFERENCE_REFUSED, tests/slides/test_slide_refs.py),
but ``dqm validity --results`` reads the slides later from the audit's records: a file the VMS
names may since have become a link out of the batch, or a FIFO, and the VMS itself (what the
records are keyed on) has not changed. :class:`~dqm.validity.data.SlideReader` checks again at
every open; the slide is left out with the reason, not read (nor waited on).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from dqm.profile import Profile
from dqm.validity.data import SlideReader, SlideRecord, SlideRefused, index_slide
from dqm.validity.run import _unreadable
from tests.slides.test_slide_refs import _jpeg, _vms, no_hang  # noqa: F401 (a fixture)


@pytest.fixture
def vms(tmp_path: Path) -> Path:
    """``batch/sub/S1.vms`` naming ``S1.jpg`` beside it, and a JPEG outside the batch."""
    (tmp_path / "outside").mkdir()
    _jpeg(tmp_path / "outside" / "other.jpg", (200, 30, 30))
    sub = tmp_path / "batch" / "sub"
    sub.mkdir(parents=True)
    _jpeg(sub / "S1.jpg", (20, 200, 20))
    _vms(sub / "S1.vms", "S1.jpg")
    return sub / "S1.vms"


def _record(path: Path, root: Path) -> SlideRecord:
    return SlideRecord("S1", path, 1.0, 128, 64, [], None, None, "S1", root=root)


def test_a_vms_inside_the_batch_is_read(vms: Path) -> None:
    reader = SlideReader(vms, root=vms.parent.parent)
    assert reader.read(0, 0, 4, 4, 1.0)[0, 0].tolist()[1] > 150  # the green JPEG inside
    reader.close()


def test_a_vms_whose_file_became_a_link_out_of_the_batch_is_not_read(vms: Path) -> None:
    """The former reader opened it: the outside JPEG's red pixels came back as the slide's."""
    root = vms.parent.parent
    (vms.parent / "S1.jpg").unlink()
    (vms.parent / "S1.jpg").symlink_to(root.parent / "outside" / "other.jpg")
    reader = SlideReader(vms, root=root)
    with pytest.raises(SlideRefused, match="outside the batch"):
        reader.read(0, 0, 4, 4, 1.0)
    again = pickle.loads(pickle.dumps(reader))  # a loader worker's copy checks in the same batch
    with pytest.raises(SlideRefused):
        again.read(0, 0, 4, 4, 1.0)
    rec = _record(vms, root)
    with pytest.raises(SlideRefused) as caught:
        index_slide(rec, SlideReader(rec.path, root=rec.root), 1.0, 2, np.random.default_rng(0))
    excluded = _unreadable(rec, caught.value)
    assert excluded.codes == ("SLIDE_REFERENCE_REFUSED",) and "S1.jpg" in excluded.reason


@pytest.mark.usefixtures("no_hang")
def test_a_vms_naming_a_fifo_is_not_waited_on(vms: Path) -> None:
    (vms.parent / "S1.jpg").unlink()
    os.mkfifo(vms.parent / "S1.jpg")
    with pytest.raises(SlideRefused, match="not a regular file"):
        SlideReader(vms, root=vms.parent.parent).read(0, 0, 4, 4, 1.0)


@pytest.mark.usefixtures("no_hang")
def test_a_slide_that_became_a_fifo_is_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "S1.tiff")
    with pytest.raises(SlideRefused, match="not a regular file"):
        SlideReader(tmp_path / "S1.tiff", root=tmp_path).read(0, 0, 4, 4, 1.0)


def test_without_a_root_the_slides_folder_bounds_it(vms: Path) -> None:
    _vms(vms, "../../outside/other.jpg")
    with pytest.raises(SlideRefused, match="outside the batch"):
        SlideReader(vms).read(0, 0, 4, 4, 1.0)


def test_a_slide_that_became_a_link_out_of_the_batch_is_not_read(vms: Path) -> None:
    root = vms.parent.parent
    (root / "S2.jpg").symlink_to(root.parent / "outside" / "other.jpg")
    with pytest.raises(SlideRefused, match="outside the batch"):
        SlideReader(root / "S2.jpg", root=root).read(0, 0, 4, 4, 1.0)


_MANY_SLIDES = """
import os, resource, sys
from pathlib import Path
import numpy as np, tifffile
from dqm.validity.data import SlideReader
folder = Path(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
readers = []
for i in range(100):
    tifffile.imwrite(folder / f"s{i}.tif", np.full((64, 64, 3), 90, np.uint8), tile=(16, 16), compression="zlib")
    readers.append(SlideReader(folder / f"s{i}.tif", root=folder))
failed = 0
for reader in readers:
    try:
        failed += int(reader.read(0, 0, 8, 8, 1.0)[4, 4, 0] != 90)
    except Exception:
        failed += 1
print(failed, len(os.listdir("/proc/self/fd")))
"""


def test_many_readers_stay_within_the_descriptor_limit(tmp_path: Path) -> None:
    """Each open slide holds the descriptor its checks read: a training run's readers (one a slide
    in each DataLoader worker) kept them all, and at ``ulimit -n 256`` 300 slides gave 51 reads
    refused (white tiles flagged unreadable). Now the least recently read slides are closed past a
    quarter of the limit (here 64: 16) and opened again when read: 100 slides read, none fails."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", _MANY_SLIDES, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    failed, fds = map(int, out.stdout.split())
    assert failed == 0 and fds < 64


class _Folded(Exception):
    """Raised where the run makes its folds: the index pass is done."""


def test_every_usable_slide_keeps_its_index_pass_first_open(
    clean_batch: Path, profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each usable record carries what its index pass's reader first took (``SlideRecord.first``),
    the baseline every later reader of it (loader workers') is checked against: the run's
    ``r.first = reader.first`` was untested (replacing it by ``pass`` failed nothing)."""
    import dqm.validity.run as run_module
    from dqm.validity.run import ValidityOptions, run_validity
    from dqm.validity.settings import load_validity_profile

    taken: dict[Path, object] = {}
    real_index = run_module.index_slide

    def index(rec: SlideRecord, reader: SlideReader, *args: object) -> object:
        out = real_index(rec, reader, *args)  # type: ignore[arg-type]
        taken[rec.path] = reader.first
        return out

    kept: list[SlideRecord] = []

    def folds(records: list[SlideRecord], *args: object) -> None:
        kept.extend(records)
        raise _Folded

    monkeypatch.setattr(run_module, "index_slide", index)
    monkeypatch.setattr(run_module, "make_folds", folds)
    with pytest.raises(_Folded):
        run_validity(
            clean_batch, profile, ValidityOptions(load_validity_profile("smoke"), tmp_path), workers=1
        )
    assert kept and {r.path for r in kept} <= taken.keys()
    assert any(taken[r.path] is not None for r in kept)
    for r in kept:
        assert r.first is taken[r.path]
