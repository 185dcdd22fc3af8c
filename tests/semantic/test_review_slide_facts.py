"""``/api/slides/N`` checked against the slide's files as its tiles and ``.dzi`` are (session 24,
task cachekey): the slide page's size, levels and resolution came from the slide held open without
a look at its files, so a part replaced or made unreadable since its open was described as the old
file, and the viewer then refused each tile of it."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from dqm.cli import app as cli_app
from dqm.profile import load_profile
from dqm.semantic.server.commands import build
from tests.semantic.test_review_server import KEY, TestClient, pytestmark, runner

__all__ = ["pytestmark"]  # the server's tests' skip: the viewer not installed


@pytest.fixture
def dicom_review(real_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A review of a batch of the real DICOM slide ``boxes_0.dcm`` (its series' other file
    ``boxes_1.dcm`` beside it), every slide drawn."""
    from tests.test_cache import boxes_batch

    batch = boxes_batch(real_data, tmp_path / "b")
    out = tmp_path / "review"
    res = runner.invoke(
        cli_app, ["sample", str(batch), "--out", str(out), "--plan", "precision", "--margin", "0.01"]
    )
    assert res.exit_code == 0, res.output
    return out, batch


def _signed_in(review_dir: Path, batch: Path) -> TestClient:
    res = runner.invoke(cli_app, ["review", "add-reviewer", str(review_dir), "Kim"])
    assert res.exit_code == 0, res.output
    client = TestClient(build(review_dir, batch, load_profile(), KEY))
    token = res.output.strip().split("#token=", 1)[1]
    assert client.post("/api/login", json={"token": token}).status_code == 200
    return client


def test_the_slide_page_of_a_slide_whose_part_was_replaced_since_its_open_is_not_described(
    dicom_review: tuple[Path, Path],
) -> None:
    """Opened, then its series' other file replaced (another inode at its name):
    ``/api/slides/N`` gave the size and levels of the slide held open, as if nothing had changed
    (failed on 1706a01: ``image`` given, no error). Refused now as its ``.dzi`` is, by the file's
    batch path, and on the next request too (reopened: checked against its first open)."""
    review_dir, batch = dicom_review
    with _signed_in(review_dir, batch) as client:
        n = _opened(client)
        part = batch / "boxes_1.dcm"
        shutil.copy(part, batch / "new.tmp")
        os.replace(batch / "new.tmp", part)
        for _ in range(2):
            res = client.get(f"/api/slides/{n}")
            assert res.status_code == 200, res.text
            detail = res.json()
            assert detail["image"] is None and "boxes_1.dcm" in detail["image_error"], detail
            assert "<" not in detail["image_error"]
        assert client.get(f"/dz/{n}.dzi").status_code == 404


def test_the_slide_page_of_a_slide_whose_part_was_made_unreadable_since_its_open_answers_as_its_tiles(
    dicom_review: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part made unreadable since the open (every ``os.open`` of it fails with EACCES from then
    on: a mode of 0 stops no read by root, so the test was run as root against nothing) is the
    same file, held open by the slide: its facts are not stale, and the page, the ``.dzi`` and a
    tile are all served, the page with the size it gave at the open (a closed slide is reopened
    against the audit's record: tests/slides/test_unreadable_beside.py). The checks of a slide held
    open compare stats and open no part (none of the three tried to here): a check that began to
    read the part, and refused the page alone, fails here."""
    review_dir, batch = dicom_review
    with _signed_in(review_dir, batch) as client:
        n = _opened(client)
        before = client.get(f"/api/slides/{n}").json()["image"]
        real_open = os.open

        def failing(path: object, *args: object, **kwargs: object) -> int:
            if (
                isinstance(path, (str, bytes, os.PathLike))
                and os.path.basename(os.fsdecode(path)) == "boxes_1.dcm"
            ):
                raise OSError(errno.EACCES, os.strerror(errno.EACCES))
            return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "open", failing)
        with pytest.raises(PermissionError):  # the part cannot be read now
            os.close(os.open(batch / "boxes_1.dcm", os.O_RDONLY))
        detail = client.get(f"/api/slides/{n}").json()
        assert detail["image"] == before and detail["image_error"] is None, detail
        assert client.get(f"/dz/{n}.dzi").status_code == 200
        assert client.get(f"/dz/{n}_files/0/0_0.jpeg").status_code == 200


def _opened(client: TestClient) -> int:
    """The number of ``boxes_0.dcm`` in the sample, its page asked for (the slide opened) and described."""
    n = next(s.n for s in client.app.state.sample.slides if str(s.image_path) == "boxes_0.dcm")
    detail = client.get(f"/api/slides/{n}").json()
    assert detail["image"] is not None and detail["image"]["width"] > 0 and detail["image_error"] is None
    return int(n)
