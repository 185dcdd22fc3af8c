"""An output set is all-or-nothing even when the process writing it is killed outright: a child
process commits a set and is SIGKILLed at each step of the commit (``dqm.output._after_step``, set
from code only), then the folder is read the way the next dqm command reads it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.output import (
    COMMIT_RECORD,
    STAGING_MARK,
    STAGING_PREFIX,
    OutputSet,
    UnfinishedSet,
    _record_mac,
    settle,
)

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "tests" / "validity" / "tiny.yaml")
OLD = {"results.json": "1", "report.html": "1", "sub/thumb.png": "1", "findings.csv.gz": "1"}
NEW = {"results.json": "2", "report.html": "2", "sub/thumb.png": "2"}
STEPS = 5
"""The commit of :data:`NEW` over :data:`OLD`: the record written (0), three moves and one removal
(1-4), the record removed (5)."""

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import dqm.output as o

    out, k = Path(sys.argv[1]), int(sys.argv[2])

    def stop(step):
        if step == k:
            os.kill(os.getpid(), signal.SIGKILL)

    o._after_step = stop
    with o.OutputSet(out) as outputs:
        for name in ("results.json", "report.html", "sub/thumb.png"):
            outputs.write(name, "2")
        outputs.discard("findings.csv.gz")
        if k < 0:  # killed while it stages, before it commits
            os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _files(folder: Path) -> dict[str, str]:
    """The set's files in ``folder`` (dqm's own hidden ones and the user's left out)."""
    return {
        p.relative_to(folder).as_posix(): p.read_text()
        for p in folder.rglob("*")
        if p.is_file() and not p.relative_to(folder).as_posix().startswith((".dqm", "mine"))
    }


def _old_set(out: Path) -> None:
    with OutputSet(out) as outputs:
        for name, text in OLD.items():
            outputs.write(name, text)
    (out / "mine.txt").write_text("a user's own file")


AUDIT_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import dqm.output as o
    from dqm.cli import main

    k = int(sys.argv[3])
    o._after_step = lambda step: step == k and os.kill(os.getpid(), signal.SIGKILL)
    sys.argv = ["dqm", "audit", sys.argv[1], "--out", sys.argv[2]]
    main()
    """
)


def _killed_audit(batch: Path, out: Path, k: int) -> None:
    """``dqm audit BATCH --out OUT`` killed (SIGKILL) at step ``k`` of its commit."""
    child = [sys.executable, "-c", AUDIT_CHILD, str(batch), str(out), str(k)]
    killed = subprocess.run(child, cwd=ROOT, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()


def _killed(out: Path, k: int) -> None:
    child = subprocess.run([sys.executable, "-c", CHILD, str(out), str(k)], cwd=ROOT, capture_output=True)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()


@pytest.mark.parametrize("k", range(-1, STEPS + 1))
def test_a_set_killed_at_any_step_is_read_whole(tmp_path: Path, k: int) -> None:
    out = tmp_path / "out"
    _old_set(out)
    _killed(out, k)
    if 1 <= k < STEPS - 1:
        assert _files(out) not in (OLD, NEW)  # the kill left a mixed set on the disk ...
    settle(out)  # ... which the next command's read finishes first
    assert _files(out) == (OLD if k < 0 else NEW)
    assert (out / "mine.txt").read_text() == "a user's own file"
    # the next run's set removes what the killed one left, and replaces the set whole
    with OutputSet(out) as outputs:
        outputs.write("results.json", "3")
    assert _files(out) == {**(OLD if k < 0 else NEW), "results.json": "3"}
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".dqm-commit.lock"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_killed_set_is_finished_by_the_next_run_before_it_stages(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _old_set(out)
    _killed(out, 2)
    with pytest.raises(RuntimeError), OutputSet(out):  # entering finishes it, before anything else
        assert _files(out) == NEW
        raise RuntimeError("this run fails: its own set is discarded")
    assert _files(out) == NEW


def _record(record: object, signed: bool = True) -> str:
    """``record`` as a commit record's text; ``signed``: with the MAC a run of this user gives it
    (the record a bug or a damaged disk could leave), else as anyone else could write it."""
    if signed and isinstance(record, dict):
        record = {**record, "mac": _record_mac(record.get("move"), record.get("remove"))}
    return json.dumps(record)


def _attack(out: Path, record: object, staged: dict[str, str] | None = None, signed: bool = True) -> Path:
    """A staging folder with a commit record naming what it should not (signed: as this user's
    runs sign their records, so that the names are what stops it)."""
    staging = out / f"{STAGING_PREFIX}a77ac7ed"
    staging.mkdir(mode=0o755)
    (staging / STAGING_MARK).touch()
    for name, text in (staged or {}).items():
        (staging / name).write_text(text)
    (staging / COMMIT_RECORD).write_text(_record(record, signed))
    return staging


@pytest.mark.parametrize(
    "names",
    [["../escaped"], ["/etc/hostname"], ["sub/../../escaped"], [".dqm.lock"], ["a\\..\\b"], ["x\x00y"], [7]],
)
def test_a_forged_record_naming_a_file_outside_is_refused(tmp_path: Path, names: list[object]) -> None:
    out = tmp_path / "out"
    _old_set(out)
    (tmp_path / "escaped").write_text("outside")
    staging = _attack(out, {"dqm_output_set": 1, "move": names, "remove": []})
    with pytest.raises(UnfinishedSet, match="not an output's name"):
        settle(out)
    with pytest.raises(UnfinishedSet):
        removal = {"dqm_output_set": 1, "move": [], "remove": names}
        (staging / COMMIT_RECORD).write_text(_record(removal))
        settle(out)
    assert (tmp_path / "escaped").read_text() == "outside" and _files(out) == OLD
    assert (staging / COMMIT_RECORD).exists()  # left as it was: nothing there is read as one set


def test_a_forged_record_follows_no_link(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _old_set(out)
    secret = tmp_path / "secret.txt"
    secret.write_text("not dqm's")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    staging = _attack(out, {"dqm_output_set": 1, "move": ["results.json"], "remove": []})
    (staging / "results.json").symlink_to(secret)  # a link staged: its target would be moved in
    with pytest.raises(UnfinishedSet, match="not a regular file"):
        settle(out)
    (staging / "results.json").unlink()
    (staging / "results.json").write_text("forged")
    (out / "sub").rename(tmp_path / "sub-old")
    (out / "sub").symlink_to(elsewhere)  # a folder of out that is a link: never written through
    (staging / COMMIT_RECORD).write_text(_record({"dqm_output_set": 1, "move": [], "remove": ["sub/x"]}))
    (elsewhere / "x").write_text("kept")
    with pytest.raises(UnfinishedSet, match="is a link or not a folder"):
        settle(out)
    assert secret.read_text() == "not dqm's" and (elsewhere / "x").read_text() == "kept"
    assert (out / "results.json").read_text() == "1"


def test_a_record_in_a_folder_others_may_write_is_not_followed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _old_set(out)
    staging = _attack(
        out, {"dqm_output_set": 1, "move": ["results.json"], "remove": []}, {"results.json": "x"}
    )
    staging.chmod(0o777)
    with pytest.raises(UnfinishedSet, match="another user's"):
        settle(out)
    assert _files(out) == OLD


def test_a_torn_record_is_no_commit(tmp_path: Path) -> None:
    """A power cut while the record was written (no move had started): the previous set stands,
    and the next run removes the staging folder as it starts (settle), or as it writes."""
    out = tmp_path / "out"
    _old_set(out)
    for start in ("settle", "write"):
        staging = _attack(out, {}, {"results.json": "x"})
        (staging / COMMIT_RECORD).write_text('{"dqm_output_set": 1, "move": ["results.j')
        if start == "settle":
            assert settle(out) == [staging.name]
        else:
            with OutputSet(out):
                pass
        assert not staging.exists() and _files(out) == OLD


def test_staging_folders_of_another_folder_are_never_touched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    other = tmp_path / ".other.staging.k1ll3d_x"  # as dqm made them beside a folder named "other"
    other.mkdir()
    (other / STAGING_MARK).touch()
    (other / "results.json").write_text("{")
    _killed_other = tmp_path / "other" / f"{STAGING_PREFIX}deadbeef"
    _killed_other.mkdir(parents=True)
    (_killed_other / STAGING_MARK).touch()
    with OutputSet(out) as outputs:
        outputs.write("results.json", "{}")
    settle(out)
    assert other.is_dir() and _killed_other.is_dir()


def test_a_killed_audit_is_told_by_verify_and_finished_by_the_next_run_into_the_folder(
    tmp_path: Path, clean_batch: Path
) -> None:
    """A real audit killed after moving results.json and report.html over an earlier audit's: the
    folder holds a new results.json beside an old summary and JUnit. ``dqm verify`` reads it as it
    is (a reader writes nothing: a folder dqm only reads may be anyone's, its records forged); the
    next run into the folder finishes the set first."""
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(app, ["audit", str(clean_batch), "--out", str(out)]).exit_code in (0, 1)
    first = json.loads((out / "results.json").read_text())["run_id"]
    _killed_audit(clean_batch, out, 2)
    second = json.loads((out / "results.json").read_text())["run_id"]
    assert second != first and first in (out / "summary.md").read_text()  # mixed, as the kill left it
    before = _files(out)
    runner.invoke(app, ["verify", str(out)])  # it checks results.json and report.html: both moved
    assert _files(out) == before  # read, not finished
    settle(out)  # what the next run into the folder does first (``locked``, ``OutputSet``)
    res = runner.invoke(app, ["verify", str(out)])
    assert res.exit_code == 0 and "VERIFIED" in res.output, res.output
    assert second in (out / "summary.md").read_text() and second in (out / "junit.xml").read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_a_half_moved_set_this_user_cannot_finish_is_not_read(tmp_path: Path) -> None:
    """A run into the folder that cannot finish the set (another user's staging folder; a folder it
    cannot write) refuses to go on, and the set is finished by its owner's next run."""
    out = tmp_path / "out"
    _old_set(out)
    _killed(out, 2)
    (staging,) = (p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX))
    if os.geteuid() == 0:  # root writes any folder: the staging folder becomes another user's
        os.chown(staging, 65534, -1)
        with pytest.raises(UnfinishedSet, match="another user's"):
            settle(out)
        os.chown(staging, 0, -1)
    else:
        out.chmod(0o555)
        try:
            with pytest.raises(UnfinishedSet, match="cannot be finished here"):
                settle(out)
        finally:
            out.chmod(0o755)
    assert _files(out) not in (OLD, NEW)
    settle(out)
    assert _files(out) == NEW


def test_a_run_into_a_folder_holding_a_set_it_cannot_finish_does_no_work(
    tmp_path: Path, clean_batch: Path
) -> None:
    """``dqm audit --out`` there does no work: exit 2, naming the staging folder and why."""
    out = tmp_path / "out"
    _old_set(out)
    staging = _attack(out, {"dqm_output_set": 1, "move": ["../escaped"], "remove": []})
    res = CliRunner().invoke(app, ["audit", str(clean_batch), "--out", str(out)])
    assert res.exit_code == 2, res.output
    flat = res.output.replace("\n", "")  # as the console wrapped it
    assert staging.name in flat and "not an output's name" in flat
    assert _files(out) == OLD


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_folder_dqm_only_reads_is_never_written_whatever_records_it_holds(
    tmp_path: Path, clean_batch: Path
) -> None:
    """A results folder received from someone else (a tarball unpacked by this user: its files are
    this user's) may hold a staging folder and a record made to remove and plant files: ``dqm
    report``, ``gate``, ``verify`` and ``audit --baseline`` read it and never follow the record (a
    review found the first version deleting three delivered files and planting one, and doing so
    in a --baseline batch folder too). A record there means the set may be half moved: the
    commands that read it refuse (exit 2, :func:`dqm.output.whole_set`), writing nothing; a batch
    folder holding one (``--baseline BATCH``) is audited as it is."""
    received = tmp_path / "received"
    runner = CliRunner()
    assert runner.invoke(app, ["audit", str(clean_batch), "--out", str(received)]).exit_code in (0, 1)
    record = {"dqm_output_set": 1, "move": ["hook.sh"], "remove": ["report.html", "summary.md", "junit.xml"]}
    _attack(received, record, {"hook.sh": "planted"})
    baseline = tmp_path / "baseline_batch"
    shutil.copytree(clean_batch, baseline)
    _attack(
        baseline, {"dqm_output_set": 1, "move": ["hook.sh"], "remove": ["manifest.csv"]}, {"hook.sh": "x"}
    )
    before = (_tree(received), _tree(baseline))
    for args in (
        ["report", str(received / "results.json"), "-o", str(tmp_path / "r.html")],
        ["gate", str(received / "results.json"), "--require", "syntactic"],
        ["verify", str(received)],
        ["audit", str(clean_batch), "--out", str(tmp_path / "o1"), "--baseline", str(received)],
        ["audit", str(clean_batch), "--out", str(tmp_path / "o2"), "--baseline", str(baseline)],
    ):
        res = runner.invoke(app, args)
        if args[0] == "verify":  # results.json and the report read together: refused
            assert res.exit_code == 2 and "stopped while it moved" in res.output, (args, res.output)
        else:  # a results.json read alone is whole: read
            assert res.exit_code in (0, 1), (args, res.output)
        assert (_tree(received), _tree(baseline)) == before, args


@pytest.mark.parametrize("mac", [None, "0" * 64, "missing"])
def test_a_record_no_run_of_this_user_wrote_is_never_followed(tmp_path: Path, mac: str | None) -> None:
    """A record without this user's MAC (made by whoever wrote the folder: a tarball unpacked into
    it, another user of a shared folder) is not followed even by a run into the folder: it would
    remove the user's own files and plant others; the next set replaces dqm's outputs whole."""
    out = tmp_path / "out"
    _old_set(out)
    record: dict[str, object] = {
        "dqm_output_set": 1,
        "move": ["hook.sh"],
        "remove": ["mine.txt", "report.html"],
    }
    if mac != "missing":
        record["mac"] = mac
    _attack(out, record, {"hook.sh": "planted"}, signed=False)
    settle(out)
    assert _files(out) == OLD and (out / "mine.txt").read_text() == "a user's own file"
    with OutputSet(out) as outputs:
        outputs.write("results.json", "3")
    assert _files(out) == {**OLD, "results.json": "3"} and not (out / "hook.sh").exists()
    assert (out / "mine.txt").exists()


def test_a_reader_refuses_a_set_left_half_moved(tmp_path: Path) -> None:
    """dqm verify read results.json and report.html of a set a killed run had left half moved (a
    new results.json beside an old report) as if they were one set: it refuses with exit 2 and
    says why; the folder is left as it is (a reader finishes nothing)."""
    out = tmp_path / "out"
    _old_set(out)
    _killed(out, 2)  # two of the three files moved
    mixed = _files(out)
    res = CliRunner().invoke(app, ["verify", str(out / "results.json")])
    assert res.exit_code == 2, res.output
    # the console wraps its lines: a long temporary path may split the phrase over two
    assert "stopped while it moved its outputs into place" in " ".join(res.output.split()), res.output
    assert _files(out) == mixed


def test_a_reader_waits_for_a_set_being_moved_in_then_reads_it_whole(tmp_path: Path) -> None:
    """While a run holds the commit lock (moving its set into place), a reader waits; it reads
    once the lock is released, and refuses (exit 2) when it is not released in time."""
    import fcntl
    import threading

    from dqm.output import COMMIT_LOCK, whole_set

    out = tmp_path / "out"
    _old_set(out)
    fd = os.open(out / COMMIT_LOCK, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a run moving its set in holds it
    try:
        with pytest.raises(UnfinishedSet, match="is moving its outputs into place"), whole_set(out, wait=0.1):
            pass
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
    fcntl.flock(fd, fcntl.LOCK_EX)
    released = threading.Timer(0.3, fcntl.flock, (fd, fcntl.LOCK_UN))
    released.start()
    try:
        with whole_set(out, wait=60):
            assert _files(out) == OLD
            # held shared while the set is read: a run cannot start moving its own in meanwhile
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        released.join()
        os.close(fd)


def test_a_fifo_named_as_the_commit_lock_does_not_block_a_reader(tmp_path: Path) -> None:
    """A received results folder may carry a FIFO named ``.dqm-commit.lock``: opening it to read
    blocked until a writer came, so ``dqm verify`` (and gate, report) hung for ever. It is opened
    without waiting now, and anything but a regular file is no lock: the set is read."""
    import threading

    from dqm.output import COMMIT_LOCK, whole_set

    out = tmp_path / "out"
    _old_set(out)
    (out / COMMIT_LOCK).unlink()
    os.mkfifo(out / COMMIT_LOCK)
    read: list[dict[str, str]] = []

    def reader() -> None:
        with whole_set(out, wait=0):
            read.append(_files(out))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(60)
    blocked = thread.is_alive()
    if blocked:  # release the reader the FIFO holds (a writer opens it), so the test run ends
        os.close(os.open(out / COMMIT_LOCK, os.O_WRONLY | os.O_NONBLOCK))
        thread.join()
    assert not blocked and read == [OLD]


@pytest.fixture
def killed_audit(tmp_path: Path, clean_batch: Path) -> Path:
    """An audit's folder where a second audit was killed after moving its results.json alone: a
    staging folder with its commit record is left, report.html and the rest are the first run's."""
    out = tmp_path / "out"
    assert CliRunner().invoke(app, ["audit", str(clean_batch), "--out", str(out)]).exit_code in (0, 1)
    _killed_audit(clean_batch, out, 1)
    assert [p for p in out.iterdir() if (p / COMMIT_RECORD).exists()]
    return out


def _commit_records(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(STAGING_PREFIX) and (p / COMMIT_RECORD).exists()]


def test_readers_of_a_results_json_alone_read_it_beside_a_half_moved_set(
    killed_audit: Path, tmp_path: Path
) -> None:
    """gate, report and diff read one results.json, always whole (it takes its name by one
    rename): they refused it (exit 2) when a killed run had left its set half moved, costing a
    working command and protecting nothing. They read it now, and finish nothing."""
    results = str(killed_audit / "results.json")
    before = _tree(killed_audit)
    for args in (
        ["gate", results, "--require", "syntactic"],
        ["report", results, "-o", str(tmp_path / "r.html")],
        ["diff", results, results],
    ):
        res = CliRunner().invoke(app, args)
        assert res.exit_code in (0, 1), (args, res.output)
        assert "stopped while it moved" not in res.output, (args, res.output)
    assert _tree(killed_audit) == before


@pytest.mark.parametrize("command", ["fixlist", "sample", "baseline", "validity"])
def test_a_command_reading_its_own_out_finishes_the_set_there_first(
    killed_audit: Path, clean_batch: Path, command: str
) -> None:
    """fixlist, sample --results and audit --baseline read the results.json of their own --out
    before taking its run lock: a set left half moved there made them refuse (exit 2), telling the
    user to run dqm into that folder -- what they were doing. They finish it first now (under the
    run lock), read the finished set and write theirs; and the command verify's refusal names
    (fixlist) works. validity --results read it and wrote beside the half-moved set, leaving it
    so: it finishes it first too."""
    out = killed_audit
    results = str(out / "results.json")
    res = CliRunner().invoke(app, ["verify", str(out)])
    # the console wraps at its width, at a space or inside a word: compare without any whitespace
    command_line = "".join(f"dqm fixlist {out}/results.json --out {out}".split())
    assert res.exit_code == 2 and command_line in "".join(res.output.split()), res.output
    args = {
        "fixlist": ["fixlist", results, "--out", str(out)],
        "sample": ["sample", str(clean_batch), "--results", results, "--out", str(out)],
        "baseline": ["audit", str(clean_batch), "--out", str(out), "--baseline", str(out)],
        "validity": [
            "validity",
            str(clean_batch),
            "--results",
            results,
            "--out",
            str(out),
            "--profile",
            TINY,
        ],
    }[command]
    res = CliRunner().invoke(app, args)
    assert res.exit_code in (0, 1), res.output
    assert not _commit_records(out)
    res = CliRunner().invoke(app, ["verify", str(out)])
    assert res.exit_code == 0 and "VERIFIED" in res.output, res.output


def test_leftovers_are_removed_with_the_commit_lock_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clean-up removed a leftover staging folder (``rmtree``) with the commit lock held
    exclusively: readers waited 2 s, then exited 2 saying a run was moving its outputs (a leftover
    of 150k files took 6.5 s). Under the lock it is now only renamed to a dead name; it is removed
    once the lock is released, and a reader never waits on it."""
    import fcntl

    import dqm.output as o

    out = tmp_path / "out"
    _old_set(out)
    _killed(out, 2)  # a set left half moved: finished, then its staging folder removed
    abandoned = out / f"{STAGING_PREFIX}dead0000"  # as a run killed while it staged leaves it
    (abandoned / "sub").mkdir(parents=True)
    (abandoned / STAGING_MARK).touch()
    (abandoned / "sub" / "thumb.png").write_text("3")
    held: list[bool] = []
    real_rmtree = shutil.rmtree

    def rmtree(path: Path, *args: object, **kwargs: object) -> None:
        fd = os.open(out / o.COMMIT_LOCK, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # what a reader takes
            held.append(False)
        except BlockingIOError:
            held.append(True)
        finally:
            os.close(fd)
        real_rmtree(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(o.shutil, "rmtree", rmtree)
    assert settle(out) == [abandoned.name]
    assert len(held) == 2 and not any(held), held
    assert _files(out) == NEW
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".dqm-commit.lock"]


def test_an_audit_refused_before_it_writes_leaves_no_out_folder(tmp_path: Path, clean_batch: Path) -> None:
    """An audit refused with exit 2 after making its --out (an unknown stage, a --results that
    does not fit) left the empty folder behind. The folders it made for this run are removed when
    nothing was written into them; a folder that was there stays, and so does one written into."""
    runner = CliRunner()
    made = tmp_path / "new" / "out"
    res = runner.invoke(app, ["audit", str(clean_batch), "--out", str(made), "--stages", "nosuch"])
    assert res.exit_code == 2, res.output
    refused = runner.invoke(  # refused inside the run lock: the lock files were made
        app, ["audit", str(clean_batch), "--out", str(made), "--results", str(tmp_path / "no.json")]
    )
    assert refused.exit_code == 2, refused.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    kept = tmp_path / "kept"
    kept.mkdir()
    assert runner.invoke(app, ["audit", str(clean_batch), "--out", str(kept), "--stages", "x"]).exit_code == 2
    assert kept.is_dir()
    assert runner.invoke(app, ["audit", str(clean_batch), "--out", str(made)]).exit_code in (0, 1)
    assert (made / "results.json").is_file()


def test_commands_refused_or_failed_after_making_their_out_leave_none(
    tmp_path: Path, clean_batch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fixlist made its --out before it looked up --lot: an unknown lot (exit 2) left the new empty
    folder behind; convert made it before it read a source, and converting nothing (exit 1) left it
    too; validity's stage made it before it read the slides, and a stage failing there (exit 2)
    left it. Each removes the folders it made when nothing was written there, as audit does; one
    that was there stays."""
    import dqm.validity.run

    runner = CliRunner()
    audited = tmp_path / "audit"
    assert runner.invoke(app, ["audit", str(clean_batch), "--out", str(audited)]).exit_code in (0, 1)
    results = str(audited / "results.json")
    made = tmp_path / "new" / "out"
    res = runner.invoke(app, ["fixlist", results, "--out", str(made), "--lot", "nosuch"])
    assert res.exit_code == 2 and "nosuch" in res.output, res.output
    assert not (tmp_path / "new").exists()
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    res = runner.invoke(app, ["convert", str(broken), "--out", str(made)])
    assert res.exit_code == 1, res.output
    assert not (tmp_path / "new").exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    assert runner.invoke(app, ["fixlist", results, "--out", str(kept), "--lot", "nosuch"]).exit_code == 2
    assert kept.is_dir()
    assert runner.invoke(app, ["fixlist", results, "--out", str(made)]).exit_code == 0
    assert (made / "fixlist.csv").is_file()

    def unreadable(*args: object) -> None:  # the stage fails after making its --out
        assert (tmp_path / "new" / "run").is_dir()
        raise ValueError("no slide could be read")

    monkeypatch.setattr(dqm.validity.run, "select_slides", unreadable)
    tiny = str(Path(__file__).parent / "validity" / "tiny.yaml")
    res = runner.invoke(
        app,
        ["validity", str(clean_batch), "--out", str(tmp_path / "new" / "run"), "--profile", tiny, "-j", "1"],
    )
    assert res.exit_code == 2 and "no slide could be read" in res.output, res.output
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["out"]


def test_an_out_spelt_through_a_missing_folder_leaves_the_users_folder(
    tmp_path: Path, clean_batch: Path
) -> None:
    """``--out new/../kept`` names the user's ``kept``; the folders the run made were decided on
    the path as typed: ``new/../kept`` did not exist, so ``kept`` counted as made by the run and
    was removed when a refused fixlist (exit 2) left it empty, while ``new``, made for it, stayed.
    Now the path is resolved as the system resolves it: nothing is made for it, ``kept`` stays, and
    a run that writes writes into ``kept``."""
    runner = CliRunner()
    audited = tmp_path / "audit"
    assert runner.invoke(app, ["audit", str(clean_batch), "--out", str(audited)]).exit_code in (0, 1)
    results = str(audited / "results.json")
    kept = tmp_path / "kept"
    kept.mkdir()
    alias = str(tmp_path / "new" / ".." / "kept")
    res = runner.invoke(app, ["fixlist", results, "--out", alias, "--lot", "nosuch"])
    assert res.exit_code == 2 and "nosuch" in res.output, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit", "kept"]  # before: ["audit", "new"]
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    assert runner.invoke(app, ["convert", str(broken), "--out", alias]).exit_code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit", "broken.geojson", "kept"]
    assert runner.invoke(app, ["fixlist", results, "--out", alias]).exit_code == 0
    assert (kept / "fixlist.csv").is_file() and not (tmp_path / "new").exists()


def test_a_folder_put_where_the_run_made_one_is_not_removed(tmp_path: Path) -> None:
    """The folders a run made are removed at its end only while each is still the folder made
    (its device and inode as made): one another put at the same path meanwhile stays, with the
    parents that hold it."""
    import click

    from dqm.cli.common import removed_when_unused

    made = tmp_path / "new" / "out"
    with click.Context(click.Command("x")) as context:
        assert removed_when_unused(context, made) == made and made.is_dir()
        os.rename(made, tmp_path / "moved")  # the folder made, moved away
        made.mkdir()  # another, empty, at its path
    assert made.is_dir() and (tmp_path / "moved").is_dir()
    with click.Context(click.Command("x")) as context:
        removed_when_unused(context, tmp_path / "other" / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moved", "new"]
