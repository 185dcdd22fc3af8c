"""results.json written as a stream (reports/results_file.py) is the file the whole text gave:
``seal_results(mask(result.model_dump_json()))``, byte for byte, masked or not, signed or not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.digest import results_digest, seal_results
from dqm.results import QualityResult
from reports.results_file import write_results
from tests.lots.common import audit_args, two_lot_batch

runner = CliRunner()


def whole_text(result: QualityResult, mask=None) -> tuple[str, str, bytes]:
    """The writer before streaming: the whole result as one text, masked, then sealed."""
    text = result.model_dump_json(indent=None, exclude={"digest"})
    return seal_results(mask(text) if mask is not None else text)


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An audit in lots with waivers (one expired, one unused): findings, waivers, lots,
    diversity and checks in one results.json."""
    tmp = tmp_path_factory.mktemp("stream")
    batch = two_lot_batch(tmp / "batch")
    waivers = tmp / "waivers.yaml"
    lines = ["waivers:"]
    for code, expires in (
        ("INVALID_JSON", "2999-12-31"),
        ("UNKNOWN_KEY", "2000-01-01"),
        ("NONE", "2999-12-31"),
    ):
        lines += [f"  - code: {code}", "    item: '*'", "    reason: accepted, 이번 납품",
                  "    approved_by: QA lead", f"    expires: {expires}"]  # fmt: skip
    waivers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp / "out"
    args = audit_args(batch, out, "--waivers", str(waivers))
    args[args.index("syntactic")] = "syntactic,diversity"
    res = runner.invoke(app, args)
    assert res.exit_code in (0, 1), res.output
    return out / "results.json"


def test_the_audit_wrote_the_file_the_whole_text_gives(audited: Path) -> None:
    data = audited.read_bytes()
    result = QualityResult.load(audited)
    assert result.findings and result.waivers is not None and result.lots is not None
    assert result.diversity is not None and result.checks
    assert data.decode("utf-8") == whole_text(result)[0]
    stated, computed, _ = results_digest(data)
    assert stated == computed


@pytest.mark.parametrize("signed", [False, True])
def test_streamed_and_whole_agree_with_a_mask(audited: Path, tmp_path: Path, signed: bool) -> None:
    result = QualityResult.load(audited)

    def mask(text: str) -> str:  # an identifier inside items, findings and the batch's paths
        return text.replace("S3", "[ID-5e1]").replace("Busan", "[ID-0a2]")

    path = tmp_path / "results.json"
    digest, canonical = write_results(result, path, mask, keep_canonical=signed)
    sealed, value, whole_canonical = whole_text(result, mask)
    assert path.read_text("utf-8") == sealed and "[ID-5e1]" in sealed and "[ID-0a2]" in sealed
    assert digest == value
    assert canonical == (whole_canonical if signed else b"")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]  # its working files are gone


def test_an_empty_result_streams_too(audited: Path, tmp_path: Path) -> None:
    result = QualityResult.load(audited).model_copy(update={"items": [], "findings": []})
    path = tmp_path / "results.json"
    write_results(result, path)
    assert path.read_text("utf-8") == whole_text(result)[0]
    assert json.loads(path.read_bytes())["items"] == []


def test_items_and_files_kept_as_columns_are_written_element_by_element(
    audited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result's ``items`` and ``batch.files`` are columns in memory (``dqm.records``): they are
    streamed like the findings, never serialised as one member's text."""
    import reports.results_file as results_file

    result = QualityResult.load(audited)
    assert not isinstance(result.items, list) and not isinstance(result.batch.files, list)
    whole = results_file._member_text

    def member_text(model, name: str) -> str:
        assert name not in ("items", "findings", "files"), f"{name} written as one text"
        return whole(model, name)

    monkeypatch.setattr(results_file, "_member_text", member_text)
    path = tmp_path / "results.json"
    write_results(result, path)
    assert path.read_text("utf-8") == whole_text(result)[0]
