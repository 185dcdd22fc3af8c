"""The output writers' leftovers (session 31): translated list tails, escaped paths, the run
lock named, the GX suite bounded before its cache key, folders made and checked by descriptor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dqm.i18n import Message


def test_a_results_file_with_many_problems_says_the_rest_in_the_reader_s_language(tmp_path: Path) -> None:
    """``… and N more`` was English inside a Korean list of a results.json's problems."""
    from dqm.results import SCHEMA_VERSION, ResultsError, load_result

    path = tmp_path / "results.json"
    path.write_text(
        json.dumps({"schema_version": SCHEMA_VERSION, **{f"extra{i}": i for i in range(12)}}),
        encoding="utf-8",
    )
    with pytest.raises(ResultsError) as caught:
        load_result(path, max_errors=3)
    message = caught.value.args[0]
    assert isinstance(message, Message)
    korean = message.rendered("ko")
    assert "외" in korean.splitlines()[-1] and "more" not in korean, korean
    english = str(message)
    assert english.splitlines()[-1].strip().startswith("… and ") and english.count("\n  ") == 4, english


def test_corrupt_prints_the_copy_it_names_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``dqm.validity.corrupt``'s last line printed the copy's path raw: a newline in the name
    typed forged a line of its output."""
    from dqm.output import forget_written
    from dqm.synth import build_batch
    from dqm.validity import corrupt

    build_batch(tmp_path / "synth", 2, seed=1, max_size=256)
    copy = tmp_path / "copy\nPASS: forged"
    corrupt.main([str(tmp_path / "synth"), str(copy), "--fraction", "1.0"])
    forget_written()
    out = capsys.readouterr().out
    assert not any(line.startswith("PASS") for line in out.splitlines()), out
    assert "copy\\x0aPASS" in out, out


def test_a_link_at_the_run_lock_is_named_in_the_refusal(tmp_path: Path) -> None:
    """A link at ``OUT/.dqm.lock`` was refused naming the output folder alone (the system's
    "Too many levels of symbolic links" of which file?): the lock file is named, escaped, with
    dqm's reason, in the reader's language."""
    from dqm.output import WriteRefused, refused_write_line, run_lock

    out = tmp_path / "out\nPASS"
    out.mkdir()
    (out / ".dqm.lock").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(WriteRefused) as caught, run_lock(out):
        pass
    assert not (tmp_path / "elsewhere").exists()
    english = refused_write_line(caught.value)
    assert "out\\x0aPASS/.dqm.lock" in english and "it is a link" in english, english
    korean = refused_write_line(caught.value, "ko")
    assert ".dqm.lock" in korean and "it is a link" not in korean, korean


def test_the_gx_suite_cache_key_reads_no_more_than_the_suite_s_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clinical table's cache key read the user's GX suite whole (``read_bytes``) before the
    audit's 16 MiB bound refused it: a 600 MB suite peaked at 772 MB. The key reads the suite as
    the audit does, bounded; one over the bound has no key (the audit reports it)."""
    from types import SimpleNamespace

    import pandas as pd

    import dqm.cache
    from dqm.cache import RecordCache

    monkeypatch.setattr(dqm.cache, "MAX_SUITE_BYTES", 1024, raising=False)
    suite = tmp_path / "suite.json"
    suite.write_bytes(b" " * 1025)
    read: list[int] = []
    real = Path.read_bytes

    def counted(self: Path) -> bytes:
        read.append(1)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counted)
    fake = SimpleNamespace(_digest=lambda text: text)
    frame = pd.DataFrame({"a": [1]})
    assert RecordCache.table_key(fake, frame, [], suite) is None  # type: ignore[arg-type]
    assert not read
    suite.write_bytes(b"{}")
    assert RecordCache.table_key(fake, frame, [], suite) is not None  # type: ignore[arg-type]


def test_a_folder_checked_once_is_checked_again_when_another_takes_its_place(tmp_path: Path) -> None:
    """The identity check is remembered per folder (a write paid ~0.7–0.9 ms CPU for its walk
    up), by the folder's identity and its parent's: a folder moved into the batch after a first
    write, or a link swapped in at its name, is walked again and refused."""
    from dqm.output import WriteRefused, forget_batches, never_into, write_file

    batch, out = tmp_path / "batch", tmp_path / "out"
    batch.mkdir()
    (out / "lots").mkdir(parents=True)
    never_into(batch)
    try:
        write_file(out / "lots" / "a.txt", "a")
        (out / "lots").rename(batch / "lots")  # moved into the batch: its parent is another
        (out / "lots").symlink_to(batch / "lots")
        with pytest.raises(WriteRefused):
            write_file(out / "lots" / "b.txt", "b")
        assert not (batch / "lots" / "b.txt").exists()
    finally:
        forget_batches()


_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
_AS_NOBODY = """
import sys
from pathlib import Path
from dqm.output import WriteRefused, never_into, write_file
never_into(Path(sys.argv[1]))
try:
    write_file(Path(sys.argv[2]) / "out.txt", "x")
except WriteRefused as exc:
    print("refused", exc.why)
else:
    print("written")
"""


def test_a_folder_the_user_may_search_but_not_list_does_not_end_the_check(tmp_path: Path) -> None:
    """For a user other than root, a folder in the batch that it may search but not list (mode
    0o311) ended the walk up by ``..`` (opened for reading: refused) and the write went into the
    batch. The walk opens the folders above with ``O_PATH`` (Linux): refused. Run as ``nobody``
    (``setpriv``), skipped where that cannot be done."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    import dqm

    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a check as another user")
    root = Path(tempfile.mkdtemp(prefix="dqm-nobody-"))
    try:
        root.chmod(0o755)
        batch = root / "batch"
        hidden = batch / "hidden"
        inner = hidden / "inner"
        inner.mkdir(parents=True)
        batch.chmod(0o755)
        os.chown(inner, 65534, 65534)
        hidden.chmod(0o311)  # searchable, not listable, by others
        done = subprocess.run(
            [*_NOBODY, sys.executable, "-c", _AS_NOBODY, str(batch), str(inner)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(dqm.__file__).resolve().parents[1])},
            timeout=120,
            check=False,
        )
        if done.returncode != 0 and "refused" not in done.stdout and "written" not in done.stdout:
            pytest.skip(f"could not run as nobody: {done.stderr[-300:]}")
        assert done.stdout.startswith("refused"), done.stdout + done.stderr
        assert not (inner / "out.txt").exists()
    finally:
        (root / "batch" / "hidden").chmod(0o755)
        shutil.rmtree(root, ignore_errors=True)


def test_a_link_swapped_in_while_folders_are_made_leaves_nothing_in_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folders of an output were made by path (``mkdir(parents=True)``) after the nearest
    existing one was checked: a link swapped in at a name between the check and the ``mkdir``
    (``out/a`` → the batch) left an empty folder ``b`` in the batch. Each folder is made in its
    checked parent's descriptor and checked itself: refused, nothing made in the batch."""
    import dqm.output
    from dqm.output import WriteRefused, forget_batches, never_into, write_file

    batch, out = tmp_path / "batch", tmp_path / "out"
    batch.mkdir()
    out.mkdir()
    real = dqm.output._refuse_if_batch

    def checked_then_swapped(fd: int, path: Path) -> None:
        real(fd, path)
        if not (out / "a").is_symlink():
            (out / "a").symlink_to(batch)

    monkeypatch.setattr(dqm.output, "_refuse_if_batch", checked_then_swapped)
    never_into(batch)
    try:
        with pytest.raises(WriteRefused):
            write_file(out / "a" / "b" / "f.txt", "x")
    finally:
        forget_batches()
    assert list(batch.iterdir()) == []


def test_corrupt_masks_the_copy_it_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """corrupt's last line was escaped but not masked (its error lines are): a copy folder named
    with a resident number printed it whole."""
    from dqm.output import forget_written
    from dqm.synth import build_batch
    from dqm.validity import corrupt

    build_batch(tmp_path / "synth", 2, seed=1, max_size=128)
    copy = tmp_path / "copy-900101-1234567"
    corrupt.main([str(tmp_path / "synth"), str(copy), "--fraction", "1.0"])
    forget_written()
    out = capsys.readouterr().out
    assert "900101-1234567" not in out and "corrupted" in out, out


def test_the_memo_walks_again_when_the_folder_s_parent_moves_into_the_batch(tmp_path: Path) -> None:
    """The per-folder memo was keyed by the folder's and its parent's identity: the output folder's
    parent moved into the batch (both inodes unchanged) and a link left at its old name let the
    next write into the batch; its current path is in the key now."""
    import os

    from dqm.output import WriteRefused, forget_batches, never_into, write_file

    if not os.path.exists("/proc/self/fd"):
        pytest.skip("no /proc: every write walks")
    batch, out = tmp_path / "batch", tmp_path / "out"
    batch.mkdir()
    (out / "lots").mkdir(parents=True)
    never_into(batch)
    try:
        write_file(out / "lots" / "a.txt", "a", durable=False)
        out.rename(batch / "out")
        out.symlink_to(batch / "out")
        with pytest.raises(WriteRefused) as refused:
            write_file(out / "lots" / "b.txt", "b", durable=False)
        assert refused.value.why is not None and "batch" in refused.value.why
        assert not (batch / "out" / "lots" / "b.txt").exists()
    finally:
        forget_batches()


def test_an_output_set_makes_its_lock_and_staging_in_the_folder_it_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OUT swapped for a link into the batch after it was made and checked: the commit lock file
    (and the staging folder) were made by path, so the lock file stayed in the batch."""
    import shutil

    import dqm.output as output
    from dqm.output import OutputSet, forget_batches, never_into

    batch, out = tmp_path / "batch", tmp_path / "out"
    batch.mkdir()
    never_into(batch)
    real = output._remove_legacy_staging

    def swapped(folder: Path) -> None:
        real(folder)
        if not out.is_symlink():
            shutil.rmtree(out)
            out.symlink_to(batch)

    monkeypatch.setattr(output, "_remove_legacy_staging", swapped)
    try:
        with pytest.raises(OSError), OutputSet(out) as outputs:  # WriteRefused is an OSError
            outputs.write("results.json", "{}")
        assert not any(batch.iterdir()), sorted(batch.iterdir())
    finally:
        forget_batches()


@pytest.mark.parametrize("odd", ["dangling", "loop"])
def test_a_dangling_link_or_loop_on_the_way_is_named(tmp_path: Path, odd: str) -> None:
    """A dangling link or a link loop on the way to an output folder was refused with the system's
    reason alone (no path part named); the part at fault is named, as a plain file there is."""
    from dqm.output import WriteRefused, forget_batches, never_into, refused_write_line, write_file

    batch = tmp_path / "batch"
    batch.mkdir()
    never_into(batch)
    link = tmp_path / odd
    link.symlink_to(tmp_path / ("nowhere" if odd == "dangling" else odd))
    try:
        with pytest.raises(WriteRefused) as refused:
            write_file(link / "b" / "f.txt", "x", durable=False)
        line = "".join(refused_write_line(refused.value).split())
        assert f"{link});" in line or f": {link})" in line, line
        assert not any(batch.iterdir())
    finally:
        forget_batches()


def test_the_memo_walks_again_when_the_batch_moves_to_the_folder_s_parent(tmp_path: Path) -> None:
    """The memo keyed by the folder's identity and path alone missed this (light review of
    output3f): the batch, registered through a link, moved to the name of the output folder's old
    parent, the output folder moved back under it (its inode and its path unchanged), the link
    repointed: the next write went into the batch. Its parent's identity is in the key again."""
    import os

    from dqm.output import WriteRefused, forget_batches, never_into, write_file

    if not os.path.exists("/proc/self/fd"):
        pytest.skip("no /proc: every write walks")
    real, data = tmp_path / "real", tmp_path / "data"
    real.mkdir()
    data.symlink_to(real)
    out = tmp_path / "a" / "b" / "out"
    out.mkdir(parents=True)
    never_into(data)
    try:
        write_file(out / "1.txt", "1", durable=False)
        (tmp_path / "a" / "b").rename(tmp_path / "a" / "b_old")
        real.rename(tmp_path / "a" / "b")
        (tmp_path / "a" / "b_old" / "out").rename(tmp_path / "a" / "b" / "out")
        data.unlink()
        data.symlink_to(tmp_path / "a" / "b")
        with pytest.raises(WriteRefused):
            write_file(out / "2.txt", "2", durable=False)
        assert not (tmp_path / "a" / "b" / "out" / "2.txt").exists()
    finally:
        forget_batches()
