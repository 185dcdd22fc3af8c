"""Every command that takes an audit's results.json decides from it: one edited after dqm wrote it
(its content no longer hashes to the digest it states, or it states none where its schema always
carries one) is refused by each of them, one only reformatted is not, and one without a digest
(written before results schema 1.10) is read with a warning, by ``dqm gate`` only with
``--allow-undigested``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.results import SCHEMA_VERSION

# `audited` is the fixture of test_cache_cli (a small batch and its audit), taken by the tests below
# ruff: noqa: F811
from tests.test_cache_cli import audited  # noqa: F401

runner = CliRunner()
REFUSED = "content digest does not match: edited after it was written?"


NO_DIGEST = "carries no content digest"
PRE_1_10 = ("digest", "files", "disabled_checks")
"""What a 1.16 result holds that a result of 1.9 did not (``files``: of ``batch``)."""


def _copy(
    out: Path,
    where: Path,
    edit: bool = False,
    drop_digest: bool = False,
    null_digest: bool = False,
    relabel: tuple[str, ...] | None = None,
) -> Path:
    """The audit's results.json (and its result cache) copied to ``where``, written again with
    other whitespace; ``edit``: a finding's severity lowered there without its digest made again;
    ``drop_digest``: without its digest member; ``null_digest``: with a null one; ``relabel``:
    schema 1.9 stated, and these members of :data:`PRE_1_10` deleted."""
    where.mkdir(parents=True)
    shutil.copytree(out / ".dqm-cache", where / ".dqm-cache")
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    if edit:
        error = next(f for f in data["findings"] if f["severity"] == "error")
        error["severity"] = "info"
    if drop_digest:
        del data["digest"]
    if null_digest:
        data["digest"] = None
    if relabel is not None:
        data["schema_version"] = "1.9"
        for key in relabel:
            (data["batch"] if key == "files" else data).pop(key, None)
    path = where / "results.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def _commands(batch: Path, results: Path, out: Path) -> dict[str, list[str]]:
    """Each command line that reads ``results`` to decide something."""
    b, r = str(batch), str(results)
    return {
        "sample": ["sample", b, "--out", str(out / "s"), "--results", r],
        "validity": ["validity", b, "--out", str(out / "v"), "--results", r],
        "audit --results": ["audit", b, "--out", str(out / "a"), "--results", r, "--stages", "diversity"],
        "audit --baseline": ["audit", b, "--out", str(out / "b"), "--baseline", r, "-j", "1"],
        "report": ["report", r, "-o", str(out / "r.html")],
        "fixlist": ["fixlist", r, "--out", str(out / "f")],
        "gate": ["gate", r],
        "gate --new-only": ["gate", str(results.parent.parent / "good" / "results.json"), "--new-only", r],
        "diff": ["diff", r, r],
    }


@pytest.fixture(scope="module")
def copies(audited: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("digests")
    out = audited[1]
    return {
        "good": _copy(out, base / "good"),
        "edited": _copy(out, base / "edited", edit=True),
        "unsealed": _copy(out, base / "unsealed", edit=True, drop_digest=True),
        "null digest": _copy(out, base / "null", edit=True, null_digest=True),
        "relabelled 1.9": _copy(out, base / "relabelled", edit=True, drop_digest=True, relabel=()),
        "relabelled 1.9, null digest": _copy(
            out, base / "relabelled-null", edit=True, null_digest=True, relabel=("files", "disabled_checks")
        ),
        "pre-1.10": _copy(out, base / "pre", edit=True, relabel=PRE_1_10),
    }


@pytest.mark.parametrize("command", list(_commands(Path("b"), Path("r/x"), Path("o"))))
def test_a_result_edited_after_it_was_written_is_refused_by_every_command(audited, copies, tmp_path, command):
    batch = audited[0]
    results = copies["edited"]
    line = _commands(batch, results, tmp_path)[command]
    got = runner.invoke(app, line)
    said = " ".join(got.output.split())
    assert got.exit_code == 2, said
    assert REFUSED in said and str(results) in said
    assert not list(tmp_path.iterdir())  # nothing written


DELETED = {
    "unsealed": f"states results schema {SCHEMA_VERSION} but carries no content digest",
    "null digest": f"states results schema {SCHEMA_VERSION} but carries no content digest",
    "relabelled 1.9": "states results schema 1.9 but holds batch.files, which schema 1.10 added",
    "relabelled 1.9, null digest": "states results schema 1.9 but holds digest, which schema 1.10 added",
    "pre-1.10": "states results schema 1.9 but holds findings[].counted_values, which schema 1.13 added",
}


@pytest.mark.parametrize(
    ("variant", "command"),
    [
        (v, c)
        for v in DELETED
        for c in _commands(Path("b"), Path("r/x"), Path("o"))
        if c in ("gate", "report") or v == "unsealed"
    ],
)
def test_an_edited_result_whose_digest_was_deleted_is_refused_by_every_command(
    audited, copies, tmp_path, variant, command
):
    """Its digest deleted or null after an edit, a result was read with a warning that it lacked
    one "written before results schema 1.10" though it stated 1.16, and ``dqm gate`` exited 0 on
    it; stating 1.9 as well, it was read so too. Each is refused now, by every command."""
    batch = audited[0]
    results = copies[variant]
    got = runner.invoke(app, _commands(batch, results, tmp_path)[command])
    said = " ".join(got.output.split())
    assert got.exit_code == 2, said
    assert DELETED[variant] in said and str(results) in said and "Refused" in said
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("command", ["gate", "report", "sample"])
def test_a_result_only_rewritten_is_accepted(audited, copies, tmp_path, command):
    good = runner.invoke(app, _commands(audited[0], copies["good"], tmp_path)[command])
    assert good.exit_code in (0, 1), good.output
    assert REFUSED not in good.output and NO_DIGEST not in good.output


def test_a_result_without_a_digest_is_read_with_a_warning_and_gated_only_when_allowed(
    audited, copies, tmp_path
):
    """A result written before schema 1.10 (by the dqm of 1.9) is read unchecked with a warning:
    dqm cannot tell it from a later one edited, relabelled and stripped of everything a later
    version added (the limit ``docs/certificates.md`` states; one stripped of what 1.10 added only
    still holds what 1.13 did, and is refused above). ``dqm gate``, the decision of a CI job,
    refuses it (and such a baseline of ``--new-only``) unless ``--allow-undigested`` is given."""
    batch, pre = audited[0], Path(__file__).parent / "fixtures" / "results" / "results-1.9.json"
    report = runner.invoke(app, _commands(batch, pre, tmp_path)["report"])
    assert report.exit_code == 0, report.output
    assert NO_DIGEST in " ".join(report.output.split())
    for line in (["gate", str(pre)], ["gate", str(copies["good"]), "--new-only", str(pre)]):
        refused = runner.invoke(app, line)
        said = " ".join(refused.output.split())
        assert refused.exit_code == 2 and NO_DIGEST in said and "refused, give --allow-undigested" in said, (
            said
        )
        allowed = runner.invoke(app, [*line, "--allow-undigested"])
        assert allowed.exit_code in (0, 1), allowed.output
        assert NO_DIGEST in " ".join(allowed.output.split()) and "give --allow" not in allowed.output
