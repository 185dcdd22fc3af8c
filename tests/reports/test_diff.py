"""dqm diff: what changed between two deliveries, as text and Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.diff import diff_results
from reports import render_diff_markdown, render_diff_text
from tests.reports.conftest import as_core, finding, make_result, semantic, validity


def pair():
    old = make_result(
        n_items=20,
        files_ok=30,
        findings=[finding("S00001", "SELF_INTERSECTION"), finding("S00002", "HOLE_OUTSIDE_SHELL")]
        + [finding("S00003", "MPP_MISSING", severity="warning", aspect="image")] * 2,
        validity=validity(passed=False),
    )
    new = make_result(
        n_items=22,
        findings=[
            finding("S00004", "MPP_MISSING", severity="warning", aspect="image"),
            finding("S00021", "ZERO_AREA"),
        ],
        semantic=semantic(),
        validity=validity(),
    )
    return old, new


def test_diff_finds_every_kind_of_change():
    old, new = pair()
    d = diff_results(old, new)
    assert d.verdict == ("not_certified", "incomplete")
    assert d.states["syntactic"] == ("failed", "passed")
    assert d.states["semantic"] == ("missing", "passed")
    assert d.states["diversity"] == ("missing", "missing")
    keys = {c.key: c for c in d.gates}
    assert keys["syntactic.file_accuracy"].delta == 1.0 - 30 / 40
    assert keys["semantic.accuracy"].old is None
    assert keys["validity.MM"].delta == pytest.approx(0.81 - 0.38)
    assert "syntactic.structure_accuracy" in keys  # value changed (fewer values wrong)
    assert d.codes_new == {"ZERO_AREA": 1}
    assert d.codes_resolved == {"HOLE_OUTSIDE_SHELL": 1, "SELF_INTERSECTION": 1}
    assert d.codes_changed == {"MPP_MISSING": (2, 1)}
    assert d.slides_added == ["S00020", "S00021"] and d.slides_removed == []
    assert ("syntactic.files_valid", 30, 44) in d.figures
    assert not any(".gates[" in p for p, _, _ in d.figures)
    assert d.same_batch and d.same_profile and d.changed


def test_no_change_is_said_plainly():
    r = make_result()
    d = diff_results(r, r)
    assert not d.changed
    text = render_diff_text(d)
    assert "verdict: INCOMPLETE (unchanged)" in text and "no change" in text
    assert "No change." in render_diff_markdown(d)


def test_text_and_markdown_renderings():
    d = diff_results(*pair())
    text = render_diff_text(d)
    assert "verdict: NOT CERTIFIED -> INCOMPLETE" in text
    assert "  Syntactic accuracy: failed -> passed" in text
    assert "  syntactic file accuracy: 75.00 % (fail) -> 100.00 % (pass)  [+25.00 pp]" in text
    assert "  semantic accuracy: absent -> 97.14 % (pass)" in text
    assert "  new       ZERO_AREA: 1" in text and "  resolved  SELF_INTERSECTION: was 1" in text
    assert "  changed   MPP_MISSING: 2 -> 1" in text
    assert "slides: 2 added, 0 removed" in text
    md = render_diff_markdown(d)
    assert "**Verdict:** NOT CERTIFIED → **INCOMPLETE**" in md
    assert "| Syntactic accuracy: file accuracy | 75.00 % (fail) | 100.00 % (pass) | +25.00 pp |" in md
    assert "| `ZERO_AREA` | 0 | 1 | new |" in md and "| `MPP_MISSING` | 2 | 1 | fewer |" in md
    assert "| Validity: MM | 0.38 (fail) | 0.81 (pass) | +0.43 |" in md


def test_cli_diff(tmp_path: Path):
    old, new = (as_core(r) for r in pair())
    a, b = tmp_path / "old.json", tmp_path / "new.json"
    old.dump(a)
    new.dump(b)
    runner = CliRunner()
    res = runner.invoke(app, ["diff", str(a), str(b)])
    assert res.exit_code == 0 and "verdict: NOT CERTIFIED -> INCOMPLETE" in res.output
    out = tmp_path / "d.md"
    res = runner.invoke(app, ["diff", str(a), str(b), "--format", "markdown", "-o", str(out)])
    assert res.exit_code == 0 and out.read_text().startswith("## dqm: what changed")
    assert runner.invoke(app, ["diff", str(a), str(b), "--format", "html"]).exit_code == 2


def test_text_and_markdown_in_korean():
    d = diff_results(*pair())
    text = render_diff_text(d, "ko")
    assert text.startswith("이전: ") and "\n이후: " in text and "판정: 인증 불가 -> 평가 미완료" in text
    assert "발견 사항 코드:" in text and "  새로 발생  ZERO_AREA: 1" in text
    assert "  해결됨    SELF_INTERSECTION: 이전 1" in text and "  바뀜      MPP_MISSING: 2 -> 1" in text
    assert "슬라이드: 2장 추가, 0장 제거" in text
    assert "(부적합) -> 100.00 % (적합)" in text  # the gate's decisions
    for english in ("verdict:", "finding codes:", "dimensions:", "slides:", "absent", "resolved", " failed"):
        assert english not in text, english
    md = render_diff_markdown(d, "ko")
    assert md.startswith("## dqm: 바뀐 점") and "**판정:** 인증 불가 → **평가 미완료**" in md
    assert "| 이후 | `/data/batch` |" in md and "### 발견 사항 코드" in md
    assert "| `ZERO_AREA` | 0 | 1 | 새로 발생 |" in md and "| `MPP_MISSING` | 2 | 1 | 줄어듦 |" in md
    assert "| 유효성: MM | 0.38 (부적합) | 0.81 (적합) | +0.43 |" in md
    for english in ("Verdict", "Finding codes", "| new |", "fewer", "Slides:"):
        assert english not in md, english
    english = render_diff_text(d)
    assert english.startswith("old: /data/batch  (2025-01-02T03:04:05+00:00, 20 slides, fingerprint ")
    assert "| new | `/data/batch` |" in render_diff_markdown(d)
