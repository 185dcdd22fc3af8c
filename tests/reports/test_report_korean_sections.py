"""The report's computed prose in Korean: the sections of a real audit of the defect batch, with
lots, waivers, a redelivery, a review with no verdict yet, and the diversity and validity results
the other report tests use, rendered in Korean leave no English sentence; rendered in English they
read as before. Texts stored in results.json as plain English are read back in the report's
language through their msgids (:func:`dqm.i18n.translated`)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from dqm.delivery import Waiver
from dqm.i18n import msg, translated
from dqm.results import QualityResult
from dqm.semantic.ingest import delivered_loader, ingest
from dqm.semantic.models import PlanBatch
from dqm.semantic.planfile import PlanOptions, build_plan
from dqm.semantic.verdicts import read_verdict_files
from reports import render_html
from reports.html import explorer_data, unpack_island
from tests.reports.conftest import diversity, validity

HANGUL = re.compile(r"[\uac00-\ud7a3]")
ENGLISH = {
    "diversity": [
        "hypothesis tests form one family",
        "tests form the corrected family",
        "no evidence that",
        "shares against the targets",
        "slides with a value",
        "predict the institution",
        "decided tests and rules passed",
        "reported only",
        "fail when p_adj",
        "Small cells",
    ],
    "semantic": [
        "lot decision",
        "single sampling",
        "Stratified by",
        "Several reviewers",
        "core slides",
        "slides PASS",
        "semantic accuracy",
        "no reviewed slide yet",
        "the file is empty",
        "neither pass nor fail",
        "not a polygon",
        "has no geometry",
        "not found in the batch",
    ],
    "validity": [
        "held-out slides",
        "Suspicious annotations",
        "Slides with any syntactic error",
        "training tiles",
        "slides used",
        "Mean slide Dice",
        "seed",
    ],
    "lots": [
        "Lots by",
        "Each lot judged on its own",
        "Each lot is judged",
        "normal inspection",
        "discontinued",
    ],
    "waivers": [
        "Exceptions accepted from",
        "findings waived",
        "matched no finding",
        "Covered by",
        "warning:",
    ],
    "redelivery": [
        "Compared with the earlier delivery",
        "still there",
        "New findings",
        "A finding is still there",
    ],
}
"""English phrases of each section's prose, computed or written in its template."""


def _section(html: str, name: str) -> str:
    match = re.search(rf'<section id="{name}".*?</section>', html, re.DOTALL)
    assert match is not None, name
    return re.sub(r"<[^>]+>", " ", match.group(0))


@pytest.fixture(scope="module")
def sections_result(audited: QualityResult, tmp_path_factory: pytest.TempPathFactory) -> QualityResult:
    """The defect batch's audit with every section a person reads prose in."""
    from dqm.lots.compute import lots_result
    from dqm.profile import load_profile
    from dqm.redelivery import with_redelivery
    from dqm.runner import RunOptions, run_batch
    from dqm.waivers import with_waivers

    code = next(f.code for f in audited.findings if f.severity == "error")
    waivers = [
        Waiver(code=code, item="*", reason="accepted", approved_by="QA lead", expires=dt.date(2027, 1, 1)),
        Waiver(code="NO_SUCH_CODE", item="*", reason="x", approved_by="QA lead", expires=dt.date(2027, 1, 1)),
    ]
    result = with_waivers(audited, waivers, "waivers.yaml", dt.date(2026, 6, 1))
    earlier = audited.model_copy(update={"findings": audited.findings[1:]})
    result = with_redelivery(result, earlier, "earlier/results.json")
    profile = load_profile()
    plan = build_plan(
        result.items,
        PlanBatch(path="/b", fingerprint="f" * 64, n_items=0, profile="p", profile_sha256="0"),
        PlanOptions(),
    )
    verdicts = tmp_path_factory.mktemp("verdicts")
    (verdicts / "empty.csv").write_text("", encoding="utf-8")
    (verdicts / "odd.json").write_text(
        json.dumps([{"slide_id": plan.sample[0].slide_id, "reviewer": "r", "verdict": "maybe"}]),
        encoding="utf-8",
    )
    outline = {  # a point and a feature without geometry: the corrected outline's problems
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0]}, "properties": {}},
            {"type": "Feature", "properties": {}},
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [9, 0], [9, 9], [0, 0]]]},
            },
        ],
    }
    (verdicts / "outline.json").write_text(
        json.dumps(
            [{"slide_id": plan.sample[1].slide_id, "reviewer": "r", "verdict": "fail", "corrected": outline}]
        ),
        encoding="utf-8",
    )
    empty = tmp_path_factory.mktemp("no-batch")  # the delivered outline's file is not there
    loader = delivered_loader(empty, plan, profile)
    semantic = ingest(plan, read_verdict_files(sorted(verdicts.iterdir())), profile, delivered=loader)
    run = run_batch(Path(audited.batch.path), profile, RunOptions(workers=1))
    return result.model_copy(
        update={
            "lots": lots_result(run, "institution"),
            "semantic": semantic,
            "diversity": diversity(),
            "validity": validity(),
        }
    )


@pytest.fixture(scope="module")
def korean(sections_result: QualityResult) -> str:
    return render_html(sections_result, lang="ko")


@pytest.mark.parametrize("name", sorted(ENGLISH))
def test_each_section_reads_in_korean_with_no_english_sentence_left(korean: str, name: str) -> None:
    text = _section(korean, name)
    assert len(HANGUL.findall(text)) > 30
    assert [phrase for phrase in ENGLISH[name] if phrase in text] == []


def test_the_english_report_keeps_its_english_prose(sections_result: QualityResult) -> None:
    english = render_html(sections_result)
    for name, phrases in ENGLISH.items():
        text = _section(english, name)
        assert not HANGUL.search(text), name
        assert any(p in text for p in phrases), name


def test_code_meanings_severities_and_aspects_read_in_korean(
    sections_result: QualityResult, korean: str
) -> None:
    codes = _section(korean, "codes")
    assert "병변 클래스가 프로파일의 분류 체계에 없습니다" in codes or "분류 체계" in codes
    assert "a lesion class is not in the profile's taxonomy" not in codes
    data = unpack_island(korean.split('id="dqm-data">')[1].split("</script>")[0])
    assert data["labels"]["error"] == "오류" and data["labels"]["format"] == "형식"
    severities = {data["strings"][row[1]] for row in data["findings"]["rows"]}
    assert severities <= {"error", "warning", "info"}  # the filters keep the values
    assert explorer_data(sections_result)["labels"]["error"] == "error"


def test_an_english_text_is_read_back_through_its_msgid() -> None:
    claim = "class (diagnosis) shares differ from the targets"
    sentence = msg(
        "no evidence that {claim} ({size}, p_adj {p})", claim=claim, size="Cohen's w 0", p="= 1.000"
    )
    assert (
        translated(sentence, "ko")
        == "클래스(진단) 구성비가 목표 비율과 다르다는 근거가 없습니다(Cohen's w 0, p_adj = 1.000)"
    )
    rule = msg(
        "fail when p_adj < {alpha:g} and {effect} ≥ {fail:g}; warn when p_adj < {alpha:g} and {effect} ≥ {warn:g}",
        alpha=0.01,
        effect="PSI",
        fail=0.25,
        warn=0.1,
    )
    extra = msg("new: {values}", values="Jeju-E")
    assert translated(f"{rule}; {extra}", "ko").endswith("이면 주의; 새로 나타남: Jeju-E")
    paragraph = " ".join(
        [msg("Interval: {method}, {level:g} %.", method="Wilson score", level=95.0), "Not dqm's."]
    )
    assert translated(paragraph, "ko") == "구간: Wilson 점수, 95 %. Not dqm's."
    assert translated("a value from the batch", "ko") == "a value from the batch"
    assert translated(str(sentence), "en") == str(sentence)


def test_the_charts_write_their_own_words_in_the_language() -> None:
    from dqm.i18n import gettext
    from reports import charts

    def say(text: str) -> str:
        return gettext(text, "ko")

    pair = charts.paired_bars("d", "t", ["a"], [0.5], [0.5], say=say)
    assert ">현재<" in pair and ">기준 배치<" in pair
    assert ">값 없음<" in charts.bars("e", "e", [], [], [], say=say)
    assert ">no value<" in charts.histogram("e", "e", [], [])  # English by default


def test_a_corrected_outlines_problems_read_in_korean(sections_result: QualityResult, korean: str) -> None:
    english = _section(render_html(sections_result), "semantic")
    assert (
        "feature 0 is a Point, not a polygon: ignored" in english and "feature 1 has no geometry" in english
    )
    assert "no overlap computed: annotation file" in english and "not found in the batch" in english
    text = " ".join(_section(korean, "semantic").split())
    assert (
        "피처 0은(는) 다각형이 아닌 Point입니다: 무시함" in text
        and "피처 1에 도형(geometry)이 없습니다" in text
    )
    assert "겹침을 계산하지 않음: 배치에서 어노테이션 파일" in text
