"""The quality table in the AI-Hub layout: its rows from the gated figures, xlsx and csv read back,
the report's section, the layout as profile data, and ``dqm report --quality-table``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from dqm.cli import app
from dqm.diversity import diversity_result
from dqm.diversity.settings import DiversitySettings
from dqm.figures import all_gates
from dqm.i18n import translated
from dqm.output import from_spreadsheet
from dqm.profile import Profile, load_profile
from dqm.quality_layout import QualityTableLayout, Words
from dqm.synth.summaries import synthetic_items
from reports import render_html
from reports.quality_table import quality_csv, quality_files, quality_rows, quality_xlsx
from tests.reports.conftest import PLANT, finding, make_result, semantic, validity

EVIL = "=cmd|' /C calc'!A0"
LAYOUT = QualityTableLayout()


def _hangul(text: str | None) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text or "")


@pytest.fixture(scope="module")
def full():  # type: ignore[no-untyped-def]
    profile = load_profile()
    settings = DiversitySettings.model_validate(
        {**profile.diversity.model_dump(), "minimums": {"class": {"count": 25}}}
    )
    d = diversity_result(synthetic_items(200, seed=4), profile.model_copy(update={"diversity": settings}))
    return make_result(semantic=semantic(), validity=validity(), diversity=d)


def test_one_row_per_gated_figure_grouped_by_characteristic(full) -> None:  # type: ignore[no-untyped-def]
    rows = quality_rows(full, LAYOUT, "ko")
    chars = [r.characteristic for r in rows]
    order = [c.title.ko for c in LAYOUT.characteristics]
    assert chars == sorted(chars, key=order.index)  # grouped, in the layout's order
    gates = all_gates(full)
    kept = [g for g in gates if g.dimension != "diversity" or ".minimum." in g.key]
    by_char = {c: [r for r in rows if r.characteristic == c] for c in order}
    assert len(by_char["구문 정확성"]) == 3 and len(by_char["의미 정확성"]) == 1
    assert len(by_char["유효성"]) == 2
    minimums = [g for g in kept if ".minimum." in g.key]
    assert len(by_char["다양성 요건"]) == len(minimums) == len(load_profile().class_ids)
    # values and targets are the gates' own: nothing is recomputed or hard-coded
    gated = [r for r in rows if r.characteristic in ("구문 정확성", "의미 정확성", "다양성 요건", "유효성")]
    assert [(r.value, r.target) for r in gated] == [(g.value, g.target) for g in kept]
    assert [r.decision for r in gated] == [{True: "적합", False: "부적합"}[g.passed] for g in kept]
    # each gated diversity test is a row; the dimension's verdict is not
    tests = [t for t in full.diversity.tests if t.gated]
    assert [r.item for r in by_char["통계적 다양성"]] == [translated(t.title, "ko") for t in tests]
    english = [r for r in quality_rows(full, LAYOUT, "en") if r.characteristic == "Statistical diversity"]
    assert [r.item for r in english] == [t.title for t in tests]  # the English sheet keeps them as written
    # the tests' titles and rules (stored in English in results.json) read in Korean on the Korean sheet
    fit = next(r for r in by_char["통계적 다양성"] if "클래스" in r.item)
    assert _hangul(fit.item) and _hangul(fit.target_text) and "fail when" not in fit.target_text
    methods = [r.method for r in by_char["통계적 다양성"]]
    assert all(("α = 0.05" in m) is t.in_family for m, t in zip(methods, tests, strict=True))
    assert "ISO 2859-1" in by_char["의미 정확성"][0].method and "AQL 1.5" in by_char["의미 정확성"][0].method
    assert "UNet" in by_char["유효성"][0].method and "holdout" in by_char["유효성"][0].method
    assert [r.item for r in by_char["원천데이터 기술 검사"]] == ["슬라이드 형식", "해상도", "판독 가능성"]
    assert len(by_char["비식별화"]) == 1


def test_technical_rows_count_slides_with_an_error_of_their_checks() -> None:
    findings = [
        finding("S00001", "MPP_MISSING", severity="error"),  # a slide.resolution finding
        finding("S00002", "MPP_MISSING", severity="warning"),  # a warning does not count
    ]
    r = make_result(n_items=10, findings=findings)
    rows = {row.item: row for row in quality_rows(r, LAYOUT, "en")}
    assert rows["Resolution"].value == pytest.approx(0.9) and rows["Resolution"].decision == "fail"
    assert rows["Slide format"].value == 1.0 and rows["Slide format"].decision == "pass"


def test_xlsx_has_a_sheet_per_language_numbers_as_numbers_and_no_formula(tmp_path: Path) -> None:
    layout = LAYOUT.model_copy(update={"words": {**LAYOUT.words, "dice": Words(ko="{name}", en="{name}")}})
    v = validity()
    dice = {EVIL: v.dice_per_class["BCC"].model_copy(update={"name": EVIL})}
    r = make_result(validity=v.model_copy(update={"dice_per_class": dice}))
    path = tmp_path / "q.xlsx"
    path.write_bytes(quality_xlsx(r, layout))
    wb = load_workbook(path)
    assert wb.sheetnames == ["품질 검사 결과", "Quality results"]
    for ws, lang in zip(wb.worksheets, ("ko", "en"), strict=True):
        header = [c.value for c in ws[1]]
        assert header == [c.title.text(lang) for c in layout.columns]
        cells = [c for row in ws.iter_rows(min_row=2) for c in row]
        assert not [c for c in cells if c.data_type == "f"]
        value_col = [c.key for c in layout.columns].index("value")
        values = [row[value_col] for row in ws.iter_rows(min_row=2)]
        assert values and all(c.data_type == "n" and isinstance(c.value, int | float) for c in values)
        assert values[0].number_format == "0.00%"
        planted = [c for c in cells if c.value == EVIL]
        assert len(planted) == 1 and planted[0].data_type == "s"


def test_csv_per_language_is_spreadsheet_safe(tmp_path: Path) -> None:
    layout = LAYOUT.model_copy(update={"words": {**LAYOUT.words, "dice": Words(ko="{name}", en="{name}")}})
    v = validity()
    dice = {EVIL: v.dice_per_class["BCC"].model_copy(update={"name": EVIL})}
    r = make_result(validity=v.model_copy(update={"dice_per_class": dice}))
    files = quality_files(r, layout, tmp_path / "q.csv")
    assert sorted(p.name for p in files) == ["q.en.csv", "q.ko.csv"]
    text = quality_csv(r, layout, "en")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == [c.title.en for c in layout.columns]
    cells = [c for row in rows for c in row]
    assert EVIL not in cells and EVIL in [from_spreadsheet(c) for c in cells]
    assert not [c for c in cells if c[:1] in "=+@"]
    assert float(rows[1][[c.key for c in layout.columns].index("value")]) == 1.0  # a plain number
    with pytest.raises(ValueError, match=r"\.xlsx or \.csv"):
        quality_files(r, layout, tmp_path / "q.ods")


def test_layout_and_technical_targets_come_from_the_profile(tmp_path: Path) -> None:
    text = (Path(load_profile.__code__.co_filename).parent / "profiles" / "dermatopathology.yaml").read_text(
        "utf-8"
    )
    text += """
quality_table:
  languages: [en]
  columns:
    - {key: decision, title: {ko: 판정, en: Verdict}}
    - {key: item, title: {ko: 항목, en: What}}
    - {key: value, title: {ko: 값, en: Value}}
  technical:
    - key: res
      characteristic: slides
      title: {ko: 해상도, en: Resolution}
      metric: {ko: m, en: m}
      checks: [slide.resolution]
      target: 0.8
"""
    path = tmp_path / "p.yaml"
    path.write_text(text, "utf-8")
    profile: Profile = load_profile(path)
    layout = profile.quality_table
    assert [c.key for c in layout.columns] == ["decision", "item", "value"]
    rows = quality_rows(make_result(), layout, "en")
    tech = [r for r in rows if r.item == "Resolution"]
    assert len(tech) == 1 and tech[0].target == 0.8
    wb = load_workbook(io.BytesIO(quality_xlsx(make_result(), layout)))
    assert wb.sheetnames == ["Quality results"] and [c.value for c in wb.active[1]] == [
        "Verdict",
        "What",
        "Value",
    ]


def test_a_layout_text_names_only_plain_parameters() -> None:
    with pytest.raises(ValueError, match="plain name"):
        Words(ko="{x.__class__}", en="x")
    w = Words(ko="{n:.1f} / {m}", en="{level:.2f}")
    assert w.text("ko", {"n": 3}) == "3.0 / ?" and w.text("en", {"level": "II"}) == "II"


def test_the_report_shows_the_table_escaped(full) -> None:  # type: ignore[no-untyped-def]
    v = validity()
    dice = {PLANT: v.dice_per_class["BCC"].model_copy(update={"name": PLANT})}
    r = make_result(validity=v.model_copy(update={"dice_per_class": dice}))
    html = render_html(r)
    section = html[html.index('id="quality-table"') :]
    assert 'data-lang="ko"' in section and 'data-lang="en"' in section and "구문 정확성" in section
    assert "<script>window" not in html and "&lt;script&gt;" in section
    assert "다양성 요건" in render_html(full)


def test_cli_writes_the_table(tmp_path: Path, full) -> None:  # type: ignore[no-untyped-def]
    results = tmp_path / "results.json"
    full.dump(results)  # with its digest: a result of 1.10 or later without one is refused
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["report", str(results), "-o", str(tmp_path / "r.html"), "--quality-table", str(tmp_path / "q.xlsx")],
    )
    assert res.exit_code == 0, res.output
    assert "quality table:" in res.output
    wb = load_workbook(tmp_path / "q.xlsx")
    assert len(wb.sheetnames) == 2 and wb.worksheets[0].max_row > 10
    res = runner.invoke(
        app,
        ["report", str(results), "-o", str(tmp_path / "r.html"), "--quality-table", str(tmp_path / "q.txt")],
    )
    assert res.exit_code == 2 and not (tmp_path / "q.txt").exists()


def test_patients_per_class_are_rows_of_the_requirements() -> None:
    profile = load_profile()
    settings = DiversitySettings.model_validate(
        {**profile.diversity.model_dump(), "minimums": {"patients_class": {"count": 5}}}
    )
    d = diversity_result(synthetic_items(60, seed=2), profile.model_copy(update={"diversity": settings}))
    result = make_result(diversity=d)
    gates = [g for g in all_gates(result) if ".minimum.patients_class." in g.key]
    for lang, title, unit in (("ko", "환자 수", "환자"), ("en", "patients of class", "patients")):
        rows = [r for r in quality_rows(result, LAYOUT, lang) if title in r.item]
        assert [(r.value, r.target) for r in rows] == [(g.value, g.target) for g in gates]
        assert len(rows) == len(profile.class_ids) and all(unit in r.scope for r in rows)
