"""Files a user names besides the profile (waivers, semantic.json, review_plan.json, a --risk CSV, a
GX suite) are read up to a bound, counted as read: a larger one is a clear error naming the file and
the bound, in the command's language, never read whole into memory."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dqm.i18n import Message


def _big(path: Path, size: int) -> Path:
    path.write_bytes(b"#" * size)
    return path


def test_a_waiver_file_whose_size_the_system_does_not_give_is_bounded_as_read() -> None:
    """A waiver file was bounded by its size as the system gives it (stat), then read whole: a file
    of /proc (size 0, megabytes long) or one growing while read passed the check. Now the bytes
    read are counted."""
    from dqm.waivers import MAX_WAIVER_BYTES, WaiverError, load_waivers

    proc = Path("/proc/kallsyms")
    try:
        long_enough = proc.stat().st_size == 0 and len(proc.read_bytes()) > MAX_WAIVER_BYTES
    except OSError:
        long_enough = False
    if not long_enough:
        pytest.skip("no file here whose size the system gives as 0 and holds over 1 MB")
    with pytest.raises(WaiverError) as refused:
        load_waivers(proc)
    assert "is larger than 1,000,000 bytes" in str(refused.value)


@pytest.mark.parametrize("kind", ["semantic", "plan", "risk", "suite"])
def test_a_user_file_over_its_bound_is_refused_with_the_bound(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each was read whole, however large: a semantic.json or review_plan.json of gigabytes (the
    wrong file given), a --risk CSV, a GX suite filled memory before it was refused. The bound is
    lowered here to keep the test small; the code path is the one a real one takes."""
    import click

    from dqm import clinical_table
    from dqm.cli import semantic as cli_semantic
    from dqm.semantic import planfile, resultfile

    path = _big(tmp_path / f"{kind}.json", 5000)
    if kind == "semantic":
        monkeypatch.setattr(resultfile, "MAX_SEMANTIC_BYTES", 4096, raising=False)
        with pytest.raises(resultfile.SemanticFileError) as refused:
            resultfile.load_semantic(path, "f" * 64)
        said: object = refused.value.args[0]
    elif kind == "plan":
        monkeypatch.setattr(planfile, "MAX_PLAN_BYTES", 4096, raising=False)
        with pytest.raises(planfile.PlanError) as refused_plan:
            planfile.read_plan(path)
        said = refused_plan.value.args[0]
    elif kind == "risk":
        monkeypatch.setattr(cli_semantic, "MAX_RISK_BYTES", 4096, raising=False)
        shown: list[str] = []
        monkeypatch.setattr(
            cli_semantic, "usage_error", lambda m: (shown.append(m), click.exceptions.Exit(2))[1]
        )
        with pytest.raises(click.exceptions.Exit):
            cli_semantic._read_risk(path)
        said = shown[0]
    else:
        monkeypatch.setattr(clinical_table, "MAX_SUITE_BYTES", 4096, raising=False)
        out = clinical_table.TableValidation(frame=pd.DataFrame(), sources=[])
        assert clinical_table._user_suite(pd.DataFrame(), path, out) == []
        said = out.error
    assert isinstance(said, Message), said
    assert "is larger than 4,096 bytes" in said and str(path) in said, said
    assert "4,096바이트보다 큽니다" in said.rendered("ko"), said.rendered("ko")


def test_a_validity_profile_is_read_as_the_profile_is(tmp_path: Path) -> None:
    """The validity profile was read with read_text: a FIFO blocked the run, /dev/zero filled memory,
    a file of megabytes was parsed whole. It is read as the dataset profile is: at most 1 MiB, a
    regular file only."""
    import os

    from dqm.profile import MAX_PROFILE_BYTES
    from dqm.validity.settings import ValidityProfileError, load_validity_profile

    big = _big(tmp_path / "v.yaml", MAX_PROFILE_BYTES + 1)  # one comment: parsed fast, but too long
    with pytest.raises(ValidityProfileError) as refused:
        load_validity_profile(big)
    assert "is larger than 1,048,576 bytes" in str(refused.value)
    fifo = tmp_path / "v.fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValidityProfileError) as refused:
        load_validity_profile(fifo)  # before: blocked until a writer came
    assert "not a regular file" in str(refused.value)
