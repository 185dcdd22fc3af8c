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
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(1) or real(self))
    fake = SimpleNamespace(_digest=lambda text: text)
    frame = pd.DataFrame({"a": [1]})
    assert RecordCache.table_key(fake, frame, [], suite) is None  # type: ignore[arg-type]
    assert not read
    suite.write_bytes(b"{}")
    assert RecordCache.table_key(fake, frame, [], suite) is not None  # type: ignore[arg-type]
