"""The review server checks each slide against the audit's record the review plan carries."""

from __future__ import annotations

import errno
import json
import logging
import os
import posixpath
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dqm.cli import app as cli_app
from dqm.profile import load_profile
from dqm.semantic.planfile import plan_id, read_plan, write_plan
from dqm.semantic.server.commands import build, not_recorded
from tests.semantic.test_review_server import KEY, RRN, TestClient, pytestmark, runner
from tests.semantic.test_review_server import review as review  # the sample of every slide, a fixture

__all__ = ["pytestmark"]  # the server's tests' skip: the viewer not installed
NOT_AUDITED = "is not the file the audit checked"


@pytest.fixture
def fresh(review: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """The server tests' review folder and batch copied: a test may swap a slide."""
    shutil.copytree(review[0], tmp_path / "review")
    shutil.copytree(review[1], tmp_path / "batch")
    return tmp_path / "review", tmp_path / "batch"


def swap_keeping_size_and_mtime(path: Path) -> None:
    """Another file at ``path``: one byte of its first MiB changed, its size kept, its mtime put back."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[min(len(data) - 1, 4096)] ^= 0xFF
    path.unlink()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def signed_in(review_dir: Path, batch: Path) -> tuple[TestClient, str]:
    res = runner.invoke(cli_app, ["review", "add-reviewer", str(review_dir), "Kim"])
    assert res.exit_code == 0, res.output
    token = res.output.strip().split("#token=", 1)[1]
    client = TestClient(build(review_dir, batch, load_profile(), KEY))
    assert client.post("/api/login", json={"token": token}).status_code == 200
    return client, client.get("/api/state").json()["csrf"]


def verdict(client: TestClient, csrf: str, n: int) -> int:
    body = {"slide": n, "verdict": "pass", "reasons": [], "comment": ""}
    return client.post("/api/verdicts", json=body, headers={"x-csrf-token": csrf}).status_code


def test_the_plan_carries_the_audits_record_of_each_slide(fresh: tuple[Path, Path]) -> None:
    plan = read_plan(fresh[0])
    with_image = [s for s in plan.sample if s.image_path]
    assert with_image and all(s.files is not None and s.files.slide.quick_print for s in with_image)
    assert not_recorded(plan) is None


def test_a_slide_swapped_after_the_audit_is_refused_and_not_reviewable(
    fresh: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    review_dir, batch = fresh
    client, csrf = signed_in(review_dir, batch)
    with client:
        slides = client.app.state.sample.slides
        swap_keeping_size_and_mtime(batch / str(slides[0].image_path))
        with caplog.at_level(logging.WARNING, logger="uvicorn.error"):
            detail = client.get("/api/slides/0").json()
        assert detail["image"] is None and NOT_AUDITED in detail["image_error"]
        assert "first or last bytes" in detail["image_error"]
        assert [r for r in caplog.records if NOT_AUDITED in r.getMessage()]
        tile = client.get("/dz/0_files/0/0_0.jpeg")
        assert tile.status_code == 404 and NOT_AUDITED in tile.json()["error"]
        assert verdict(client, csrf, 0) == 400  # no label taken for it
        # an unchanged slide is served and labelled
        assert client.get("/api/slides/1").json()["image"] is not None
        assert client.get("/dz/1_files/0/0_0.jpeg").status_code == 200
        assert verdict(client, csrf, 1) == 200
    out = review_dir.parent / "verdicts.json"
    res = runner.invoke(cli_app, ["review", "export", str(review_dir), "--out", str(out)])
    assert res.exit_code == 0, res.output
    import json

    doc = json.loads(out.read_text())
    refused = [r["slide_id"] for r in doc["not_reviewable"]]
    assert refused == [slides[0].slide_id] and NOT_AUDITED in doc["not_reviewable"][0]["reason"]
    assert [v["slide_id"] for v in doc["verdicts"]] == [slides[1].slide_id]


def test_an_older_plan_is_served_as_before_with_a_warning(fresh: tuple[Path, Path]) -> None:
    review_dir, batch = fresh
    plan = read_plan(review_dir)
    old = plan.model_copy(update={"sample": [s.model_copy(update={"files": None}) for s in plan.sample]})
    old = old.model_copy(update={"plan_id": plan_id(old)})
    write_plan(old, review_dir)
    assert read_plan(review_dir).plan_id == old.plan_id  # reads: the id without the field
    warned = not_recorded(old)
    assert warned is not None and "first open in this server only" in warned
    client, _ = signed_in(review_dir, batch)
    with client:
        swap_keeping_size_and_mtime(batch / str(client.app.state.sample.slides[0].image_path))
        detail = client.get("/api/slides/0").json()
        assert detail["image"] is not None and detail["image_error"] is None
        assert client.get("/dz/0_files/0/0_0.jpeg").status_code == 200


@pytest.fixture(scope="module")
def named(edited_batch: Callable[..., Path]) -> tuple[Path, Path, str]:
    """A copy of the clean batch whose first TIFF's file name holds a resident registration number,
    every slide drawn (the plan masked with the server's key); its slide id."""
    renamed: list[tuple[str, str, str]] = []

    def rename(rows: list[dict[str, str]]) -> None:
        row = next(r for r in rows if r["image_path"].endswith(".tiff"))
        old = row["image_path"]
        row["image_path"] = posixpath.join(posixpath.dirname(old), f"{RRN}_{posixpath.basename(old)}")
        renamed.append((old, row["image_path"], row["slide_id"]))

    batch = edited_batch(rename)
    old, new, slide_id = renamed[0]
    (batch / old).rename(batch / new)
    out = batch.parent / "review"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DQM_MASK_KEY", KEY.decode())
        res = runner.invoke(
            cli_app, ["sample", str(batch), "--out", str(out), "--plan", "precision", "--margin", "0.01"]
        )
    assert res.exit_code == 0, res.output
    assert RRN not in (out / "review_plan.json").read_text()
    return out, batch, slide_id


def test_a_refusal_shown_to_reviewers_is_masked(named: tuple[Path, Path, str], tmp_path: Path) -> None:
    """The viewer's reason and the tiles' errors named the slide's file as it is (a file name may
    hold an identifier): masked now, as the log line and the export were."""
    shutil.copytree(named[0], tmp_path / "review")
    shutil.copytree(named[1], tmp_path / "batch")
    review_dir, batch = tmp_path / "review", tmp_path / "batch"
    client, _ = signed_in(review_dir, batch)
    with client:
        sample = client.app.state.sample
        n = next(s.n for s in sample.slides if s.slide_id == sample.mask(named[2]))
        swap_keeping_size_and_mtime(batch / str(sample.slides[n].image_path))
        said = [client.get(f"/api/slides/{n}").json()["image_error"]]
        said += [
            client.get(f"/dz/{n}_files/0/0_0.jpeg").json()["error"],
            client.get(f"/dz/{n}.dzi").json()["error"],
        ]
    assert all(NOT_AUDITED in s and "_S" in s for s in said), said  # the file still named, masked
    assert not any(RRN in s for s in said), said


def test_a_verdict_on_a_slide_never_shown_is_taken_after_checking_it(fresh: tuple[Path, Path]) -> None:
    """A verdict was taken on a slide swapped since the audit that the server had never opened (its
    first open the only check): the slide is checked against the record before a verdict now, and
    ingest reports it (an error: a swapped slide is a sign of tampering), masked."""
    review_dir, batch = fresh
    client, csrf = signed_in(review_dir, batch)
    with client:
        slides = client.app.state.sample.slides
        swap_keeping_size_and_mtime(batch / str(slides[0].image_path))
        assert verdict(client, csrf, 0) == 400
        assert verdict(client, csrf, 1) == 200  # an unchanged slide, never opened either
    out = review_dir.parent / "verdicts.json"
    assert runner.invoke(cli_app, ["review", "export", str(review_dir), "--out", str(out)]).exit_code == 0
    doc = json.loads(out.read_text())
    assert [r["slide_id"] for r in doc["not_reviewable"]] == [slides[0].slide_id]
    assert [v["slide_id"] for v in doc["verdicts"]] == [slides[1].slide_id]
    doc["not_reviewable"][0]["reason"] += f" (patient {RRN})"  # an edited file: its text is masked too
    out.write_text(json.dumps(doc))
    sem = review_dir.parent / "sem"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DQM_MASK_KEY", KEY.decode())
        res = runner.invoke(
            cli_app,
            ["review", "ingest", "--plan", str(review_dir), str(out), "--out", str(sem), "--limit", "100"],
        )
    assert "SLIDE_NOT_AUDITED" in res.output and RRN not in res.output, res.output
    text = (sem / "semantic.json").read_text()
    found = [f for f in json.loads(text)["findings"] if f["code"] == "SLIDE_NOT_AUDITED"]
    assert [(f["severity"], f["slide_id"]) for f in found] == [("error", slides[0].slide_id)]
    assert NOT_AUDITED in found[0]["message"] and RRN not in text
    missing = {f["slide_id"] for f in json.loads(text)["findings"] if f["code"] == "VERDICT_MISSING"}
    assert slides[0].slide_id not in missing and slides[2].slide_id in missing  # one cause, one finding
    assert "1 drawn slide(s) could not be reviewed" in " ".join(res.output.split())  # under the decision


def test_verdicts_given_before_a_refusal_are_kept(fresh: tuple[Path, Path]) -> None:
    """A refusal dropped every verdict on the slide, those of an earlier server run too, given while
    its files were the audit's (each verdict is taken after a check of them): those are kept now,
    and the refusal's time decides."""
    review_dir, batch = fresh
    client, csrf = signed_in(review_dir, batch)
    with client:
        slides = client.app.state.sample.slides
        assert verdict(client, csrf, 0) == 200
    client = TestClient(build(review_dir, batch, load_profile(), KEY))  # the server run after
    res = runner.invoke(cli_app, ["review", "add-reviewer", str(review_dir), "Lee"])
    assert (
        client.post("/api/login", json={"token": res.output.strip().split("#token=", 1)[1]}).status_code
        == 200
    )
    with client:
        swap_keeping_size_and_mtime(batch / str(slides[0].image_path))
        assert NOT_AUDITED in client.get("/api/slides/0").json()["image_error"]
        assert verdict(client, client.get("/api/state").json()["csrf"], 0) == 400
    out = review_dir.parent / "verdicts.json"
    assert runner.invoke(cli_app, ["review", "export", str(review_dir), "--out", str(out)]).exit_code == 0
    doc = json.loads(out.read_text())
    assert [r["slide_id"] for r in doc["not_reviewable"]] == [slides[0].slide_id]
    assert [(v["slide_id"], v["reviewer"]) for v in doc["verdicts"]] == [(slides[0].slide_id, "Kim")]


def _not_the_file(path: Path, how: str, outside: Path) -> None:
    """Something other than a regular file of the batch at ``path`` (``how``)."""
    if how == "link_out":
        outside.write_bytes(path.read_bytes())  # the very bytes, out of the batch
        path.unlink()
        path.symlink_to(outside)
    elif how == "fifo":
        path.unlink()
        os.mkfifo(path)
    elif how == "folder":
        path.unlink()
        path.mkdir()
    else:
        path.unlink()


def first_refused_second_taken(review_dir: Path, slides: list[Any]) -> None:
    """The export lists the first slide as not reviewable (not the audit's file) and holds the
    second slide's verdict only."""
    out = review_dir.parent / "verdicts.json"
    assert runner.invoke(cli_app, ["review", "export", str(review_dir), "--out", str(out)]).exit_code == 0
    doc = json.loads(out.read_text())
    assert [r["slide_id"] for r in doc["not_reviewable"]] == [slides[0].slide_id]
    assert NOT_AUDITED in doc["not_reviewable"][0]["reason"]
    assert [v["slide_id"] for v in doc["verdicts"]] == [slides[1].slide_id]


@pytest.mark.parametrize("how", ["link_out", "fifo", "folder", "gone"])
@pytest.mark.parametrize("shown", [False, True])
def test_anything_but_the_recorded_file_is_not_reviewable(
    fresh: tuple[Path, Path], tmp_path: Path, how: str, shown: bool
) -> None:
    """A slide the audit recorded whose path now leads out of the batch, to a FIFO, a folder or
    nothing was taken as not checkable and a verdict taken on it: it is not the audit's file, so
    not reviewable (shown to the viewer or not) and its verdict refused."""
    review_dir, batch = fresh
    client, csrf = signed_in(review_dir, batch)
    with client:
        slides = client.app.state.sample.slides
        _not_the_file(batch / str(slides[0].image_path), how, tmp_path / "outside.bin")
        if shown:
            assert NOT_AUDITED in client.get("/api/slides/0").json()["image_error"]
        assert verdict(client, csrf, 0) == 400
        assert verdict(client, csrf, 1) == 200
    first_refused_second_taken(review_dir, slides)


@pytest.mark.parametrize("how", ["truncated", "gone", "fifo", "unreadable"])
def test_a_slide_changed_after_its_tiles_were_shown_takes_no_verdict(
    fresh: tuple[Path, Path], how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slide shown (opened, its tiles served, held open in the server's cache) then truncated,
    deleted, replaced by a FIFO or made unreadable before the verdict came: the verdict is a
    certification input, so the slide is checked again at the POST (a stat and the quick print
    against the audit's record, no full read) and the verdict refused with the reason."""
    review_dir, batch = fresh
    client, csrf = signed_in(review_dir, batch)
    with client:
        slides = client.app.state.sample.slides
        shown = client.get("/api/slides/0").json()
        assert shown["image_error"] is None and shown["image"]["levels"] > 0
        assert client.get(f"/dz/0_files/{shown['image']['levels'] - 1}/0_0.jpeg").status_code == 200
        path = batch / str(slides[0].image_path)
        if how == "truncated":
            with path.open("r+b") as fh:
                fh.truncate(path.stat().st_size // 2)
        elif how == "unreadable":  # as root a mode does not stop a read: the open itself refused
            real_open = os.open
            target = os.path.realpath(path)

            def refuse(file: object, *args: object, **kw: object) -> int:
                if isinstance(file, (str, os.PathLike)) and os.path.realpath(file) == target:
                    raise PermissionError(13, "Permission denied")
                return real_open(file, *args, **kw)  # type: ignore[arg-type]

            monkeypatch.setattr(os, "open", refuse)
        else:
            _not_the_file(path, how, review_dir.parent / "outside.bin")
        assert verdict(client, csrf, 0) == 400
        assert verdict(client, csrf, 1) == 200
    monkeypatch.undo()
    first_refused_second_taken(review_dir, slides)


def _failing_file(monkeypatch: pytest.MonkeyPatch, path: Path, code: int, at: str) -> None:
    """``os.open`` of ``path`` (``at`` "open") or ``os.read`` of a descriptor of it ("read") failing
    with ``code``, until ``monkeypatch`` is undone."""
    target = os.path.realpath(path)
    real_open, real_read = os.open, os.read
    held: set[int] = set()

    def failing_open(file: object, *args: object, **kw: object) -> int:
        if isinstance(file, (str, os.PathLike)) and os.path.realpath(file) == target:
            if at == "open":
                raise OSError(code, os.strerror(code))
            fd = real_open(file, *args, **kw)  # type: ignore[arg-type]
            held.add(fd)
            return fd
        return real_open(file, *args, **kw)  # type: ignore[arg-type]

    def failing_read(fd: int, n: int) -> bytes:
        if fd in held:
            raise OSError(code, os.strerror(code))
        return real_read(fd, n)

    monkeypatch.setattr(os, "open", failing_open)
    monkeypatch.setattr(os, "read", failing_read)


@pytest.mark.parametrize("code", [errno.EIO, errno.EMFILE])
@pytest.mark.parametrize("at", ["open", "read"])
def test_a_transient_error_at_the_check_refuses_nothing_for_good(
    fresh: tuple[Path, Path], code: int, at: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any error at the check before a verdict (an I/O error, too many open files) marked the
    slide not reviewable for good: a passing fault struck a drawn slide from the review. It is not
    the file differing from the audit's record: the verdict is answered 503 (try again), nothing
    recorded, and taken once the check can be made."""
    review_dir, batch = fresh
    client, csrf = signed_in(review_dir, batch)
    with client:
        slides = client.app.state.sample.slides
        _failing_file(monkeypatch, batch / str(slides[0].image_path), code, at)
        body = {"slide": 0, "verdict": "pass", "reasons": [], "comment": ""}
        got = client.post("/api/verdicts", json=body, headers={"x-csrf-token": csrf})
        assert got.status_code == 503 and "try again" in got.json()["error"]
        assert got.headers["retry-after"] == "5"
        monkeypatch.undo()
        assert verdict(client, csrf, 0) == 200
    out = review_dir.parent / "verdicts.json"
    assert runner.invoke(cli_app, ["review", "export", str(review_dir), "--out", str(out)]).exit_code == 0
    doc = json.loads(out.read_text())
    assert doc.get("not_reviewable", []) == []
    assert [v["slide_id"] for v in doc["verdicts"]] == [slides[0].slide_id]


@pytest.mark.parametrize("what", ["dz/0.dzi", "dz/0_files/0/0_0.jpeg"])
@pytest.mark.parametrize("at", ["open", "read"])
def test_a_tile_not_checked_just_now_says_when_to_try_again(
    fresh: tuple[Path, Path], what: str, at: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slide that could not be checked against the audit's record at its first open (EIO) was
    answered as a slide not served (404, no ``Retry-After``): the viewer took the tile for missing.
    It is a 503 that says when to try again, as a verdict on it is, and served once the check can
    be made."""
    review_dir, batch = fresh
    client, _ = signed_in(review_dir, batch)
    with client:
        slides = client.app.state.sample.slides
        _failing_file(monkeypatch, batch / str(slides[0].image_path), errno.EIO, at)
        got = client.get(f"/{what}")
        assert got.status_code == 503 and "try again" in got.json()["error"]
        assert got.headers["retry-after"] == "5"
        monkeypatch.undo()
        assert client.get(f"/{what}").status_code == 200


def test_a_slide_not_checked_just_now_is_no_slide_without_image(
    fresh: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slide that could not be checked against the audit's record at its first open (EIO) was
    answered 200 with an ``image_error``, as a slide whose image is not served: the viewer showed
    it as having none. Its record is answered as its tiles are: 503, ``Retry-After``."""
    review_dir, batch = fresh
    client, _ = signed_in(review_dir, batch)
    with client:
        slides = client.app.state.sample.slides
        _failing_file(monkeypatch, batch / str(slides[0].image_path), errno.EIO, "open")
        got = client.get("/api/slides/0")
        assert got.status_code == 503 and "try again" in got.json()["error"]
        assert got.headers["retry-after"] == "5"
        monkeypatch.undo()
        again = client.get("/api/slides/0")
        assert again.status_code == 200 and again.json()["image"] is not None
