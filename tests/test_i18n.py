"""Korean and English: messages as msgids with named placeholders, the ko catalogue complete for
every msgid in the source, the glossary's terms used, and the outputs in either language."""

from __future__ import annotations

import pickle
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from dqm.cli import app
from dqm.findings import Aspect, Finding, Severity
from dqm.i18n import LANGUAGES, catalogue, catalogue_path, msg, placeholders, render
from dqm.i18n_catalogue import ROOT, extract, main, problems
from dqm.profile import load_profile
from reports import render_html, render_junit, render_summary
from reports.html import explorer_data, unpack_island
from tests.reports.conftest import make_result

GLOSSARY = ROOT / "docs" / "glossary-ko.md"
runner = CliRunner()


@pytest.fixture(scope="module")
def sources():  # type: ignore[no-untyped-def]
    return extract()


def test_every_msgid_of_the_source_has_a_korean_translation(sources) -> None:  # type: ignore[no-untyped-def]
    assert len(sources) > 100  # the templates, the report's Python, the CLI and the converted findings
    assert [(s.msgid, s.where, why) for s, why in problems("ko", sources)] == []


def test_the_catalogue_holds_no_stale_or_fuzzy_entry(sources) -> None:  # type: ignore[no-untyped-def]
    with catalogue_path("ko").open("rb") as fh:
        po = read_po(fh, locale="ko")
    entries = [m for m in po if m.id]
    assert not [m.id for m in entries if m.fuzzy]
    # no msgid left behind by an edit, each in its context (msgctxt)
    assert {(m.context, m.id) for m in entries} == {(s.context, s.msgid) for s in sources}


def test_the_two_normals_have_their_own_korean() -> None:
    """``normal`` is an interval's method (the normal approximation) and ISO 2859-1's normal
    inspection: one entry translated both as 보통 ("ordinary"); each now has its context."""
    from dqm.i18n import gettext, pgettext, pmsg, translated

    interval, severity = (
        pgettext("interval method", "normal", "ko"),
        pgettext("inspection severity", "normal", "ko"),
    )
    assert (interval, severity) == ("정규 근사", "보통")
    assert pmsg("interval method", "normal").rendered("ko") == interval
    assert pickle.loads(pickle.dumps(pmsg("inspection severity", "normal"))).rendered("ko") == severity
    assert translated("normal", "ko", "interval method") == interval  # a value of semantic.json
    assert gettext("normal", "ko") == "normal" and pgettext("interval method", "normal", "en") == "normal"
    assert pgettext("inspection severity", "unlisted", "ko") == "unlisted"  # no other context's word
    assert translated("inspection severity\x04normal", "ko") == "inspection severity\x04normal"


def test_the_catalogue_command_writes_the_context(capsys: pytest.CaptureFixture[str]) -> None:
    from dqm.i18n_catalogue import Source

    assert problems("ko", [Source("normal", "x.py:1", "interval method")]) == []
    missing = Source("normal", "x.py:1", "a context without an entry")
    assert problems("ko", [missing]) == [(missing, "no translation")]


def test_every_context_is_a_literal_babel_can_read() -> None:
    """Babel reads a msgid's context only from a string literal; ``NP_(NAME, "normal")`` would be
    extracted as the context-free ``normal`` and translated as another meaning's word."""
    import ast

    bad = []
    for package in ("dqm", "validators", "reports"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("pmsg", "NP_"):
                    first = node.args[0] if node.args else None
                    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bad == []


def _glossary() -> list[tuple[str, str, bool]]:
    rows = []
    for line in GLOSSARY.read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("English", "") and not set(cells[0]) <= {"-"}:
            rows.append((cells[0], cells[1], cells[2] == "whole"))
    return rows


def test_the_catalogue_uses_the_glossary_terms() -> None:
    terms = _glossary()
    assert {"syntactic accuracy", "semantic accuracy", "statistical diversity", "validity"} <= {
        t for t, _, _ in terms
    }
    assert {"품질지표", "검사항목", "측정지표", "정량목표", "검사대상", "검사방법", "다양성 요건"} <= {
        k for _, k, _ in terms
    }
    wrong = []
    for msgid, text in catalogue("ko").items():
        for term, korean, whole in terms:
            hit = (
                msgid.strip().casefold() == term
                if whole
                else re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", msgid, re.IGNORECASE)
            )
            if hit and korean not in text:
                wrong.append((msgid, term, korean, text))
    assert wrong == []


def test_no_translation_looks_like_an_identifier_to_the_masker() -> None:
    """Every output passes the run's masker whole, so a translation that matches an identifier
    pattern (이름 before a word reads as a person's name) would be masked in every Korean output."""
    from dqm.identifiers import Masker

    masker = Masker(load_profile().deid, b"k" * 32)
    masked = {msgid: text for msgid, text in catalogue("ko").items() if masker(text) != text}
    assert masked == {}


def test_a_message_renders_in_english_and_korean_and_survives_a_process_boundary() -> None:
    m = msg("lesion area {area:.1f} µm² is under the {minimum:g} µm² minimum", area=12.345, minimum=100.0)
    assert m == "lesion area 12.3 µm² is under the 100 µm² minimum"
    assert m.rendered("ko") == "병변 면적 12.3 µm²가 최소 기준 100 µm²보다 작습니다"
    back = pickle.loads(pickle.dumps(m))
    assert (back, back.template, back.params) == (m, m.template, m.params)


def test_a_finding_keeps_the_template_and_renders_at_output_time() -> None:
    evil = "<b>x</b>" * 600  # long text from the batch is cut in the params as in the message
    f = Finding(
        item_id="S1",
        check="format.classes",
        code="CLASS_UNKNOWN",
        severity=Severity.ERROR,
        aspect=Aspect.FORMAT,
        message=msg("class {name!r} is not in the taxonomy ({classes})", name=evil, classes="BCC, MM"),
    )
    assert f.template is not None and f.message.startswith("class '<b>x</b>")
    assert len(str(f.params["name"])) < len(evil) and f.text("en") == f.message
    assert f.text("ko").startswith("클래스 '<b>x</b>") and f.text("ko").endswith("characters]")
    f = f.model_copy(
        update={
            "message": msg(f.template, name="<b>x</b>", classes="BCC, MM"),
            "params": {"name": "<b>x</b>", "classes": "BCC, MM"},
        }
    )
    assert f.text("ko") == "클래스 '<b>x</b>'이(가) 분류 체계(BCC, MM)에 없습니다"
    again = Finding.model_validate_json(f.model_dump_json())
    assert again == f and again.text("ko") == f.text("ko")
    plain = f.model_copy(update={"template": None, "params": {}})
    assert plain.text("ko") == plain.message  # a finding of a check not converted yet: its English


def test_a_translation_that_does_not_fit_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = {"{n} errors": "오류 {m}건"}
    monkeypatch.setattr("dqm.i18n.catalogue", lambda lang: broken)
    assert render("{n} errors", {"n": 3}, "ko") == "3 errors"
    assert placeholders("{a!r} {b:.1%} {c}") == {"a", "b", "c"}


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="choose from"):
        render("x", {}, "fr")
    assert LANGUAGES == ("en", "ko")


def _korean_result():  # type: ignore[no-untyped-def]
    from tests.reports.conftest import finding

    f = finding("S00001", "CLASS_UNKNOWN")
    translated = f.model_copy(
        update={
            "template": "class {name!r} is not in the taxonomy ({classes})",
            "params": {"name": "<script>alert(1)</script>", "classes": "BCC"},
        }
    )
    return make_result(findings=[translated])


def test_the_report_in_korean() -> None:
    result = _korean_result()
    names = load_profile().display_names("ko")
    html = render_html(result, lang="ko", names=names)
    assert '<html lang="ko">' in html
    for text in ("구문 정확성", "판정 수치", "발견 사항 탐색기", "이 인증서를 검증하는 방법", "정량목표"):
        assert text in html
    assert "Gated figures" not in html and "<script>alert" not in html
    data = unpack_island(html.split('id="dqm-data">')[1].split("</script>")[0])
    messages = [row[5] for row in data["findings"]["rows"]]
    assert data["strings"][messages[0]].startswith("클래스 '<script>")  # escaped by the page's script
    english = render_html(result)
    assert '<html lang="en">' in english and "Gated figures" in english and "판정 수치" not in english


def test_the_summary_and_junit_in_korean() -> None:
    result = _korean_result()
    md = render_summary(result, lang="ko")
    assert md.startswith("## dqm 품질 인증서: ") and "발견 사항: 1건" in md and "| 품질지표 |" in md
    root = ET.fromstring(render_junit(result, lang="ko"))
    texts = " ".join((e.get("message") or "") + (e.text or "") for e in root.iter())
    assert "파일 구문 정확도" in texts and "분류 체계" in texts
    names = [c.get("name") for c in root.iter("testcase")]
    assert names == [c.get("name") for c in ET.fromstring(render_junit(result)).iter("testcase")]


def test_explorer_names_clinical_fields_in_the_language() -> None:
    result = make_result()
    names = load_profile().display_names("ko")
    data = explorer_data(result, "ko", names)
    assert "나이 40 · 성별 F · 부위 trunk" in data["strings"]
    assert "age 40 · sex F · site trunk" in explorer_data(result)["strings"]


def test_report_command_in_korean(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    _korean_result().dump(results)  # with its digest: a result of 1.10 or later without one is refused
    out = tmp_path / "report.html"
    res = runner.invoke(
        app, ["report", str(results), "-o", str(out), "--summary", str(tmp_path / "s.md"), "--lang", "ko"]
    )
    assert res.exit_code == 0, res.output
    assert "보고서: " in res.output and "요약: " in res.output
    assert "발견 사항 탐색기" in out.read_text("utf-8")
    res = runner.invoke(app, ["report", str(results), "-o", str(out), "--lang", "fr"])
    assert res.exit_code == 2 and "choose en or ko" in res.output


def test_the_missing_list_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ko"]) == 0
    assert "0 msgids without a translation" in capsys.readouterr().err


def test_the_gate_explains_in_korean_and_keeps_its_markers() -> None:
    from dqm.gate import gate

    result = make_result(files_ok=30)
    lines = gate(result, ["syntactic", "semantic"], lang="ko").lines
    assert lines[0] == "FAIL     syntactic" and "MISSING  semantic: 평가되지 않음" in lines
    assert any("파일 구문 정확도" in ln and "정량목표" in ln for ln in lines)
    warned = gate(result, ["syntactic"], ["syntactic"], lang="ko").lines
    assert warned[0] == "WARN     syntactic: 부적합 (경고만)"


def test_one_escaper_shows_a_character_for_the_console_and_for_path_parameters():
    """dqm.i18n kept a six-line copy of dqm.output's escaper (it cannot import dqm.output: a cycle),
    so a fix to one would miss the other. The escaper lives in dqm.i18n, the lower module, and
    dqm.output uses it."""
    from pathlib import PurePath

    import dqm.i18n
    import dqm.output

    copies = [
        p.name
        for p in Path(dqm.i18n.__file__).parent.rglob("*.py")
        if "0xDC80 <= code <= 0xDCFF" in p.read_text()
    ]
    assert copies == ["i18n.py"]
    for c in ("\n", "\x1b", "\x85", "\u2028", "\udcff"):
        shown = dqm.output.visible(f"a{c}b", newlines=False)
        assert msg("{p}", p=PurePath(f"a{c}b")).rendered("en") == shown != f"a{c}b"
