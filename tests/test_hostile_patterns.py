"""Identifier patterns run on every text from the batch (the deid checks) and on every output (the
masker): a value built to make a pattern backtrack must cost one pass. A keyword followed by
thousands of spaces (``dob`` then 3,000 spaces in a class name) made the keyword patterns try
every way to split the spaces among three optional runs, cubic in their length: an audit of such
a batch ran for over five minutes. The search runs in a child process under a bound far above its
cost (a regular expression cannot be interrupted from Python), so a relapse fails instead of hanging."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from dqm.identifiers import DeidSettings, Masker, find

KEYWORDS = ("dob", "born on", "MRN", "record no", "Patient name", "이름", "생년월일")
SEARCHED = textwrap.dedent(
    """
    from dqm.identifiers import DeidSettings, Masker, find
    settings = DeidSettings()
    masker = Masker(settings, b"k" * 32)
    for keyword in {keywords!r}:
        for gap in (" ", "\\t", " no ", " # : "):
            text = "x " + keyword + (gap * 10_000)[:10_000] + "!"
            for place in ("annotation", "slide", "clinical", "filename"):
                find(text, settings, place)
            masker(text)
    print("searched")
    """
)


def test_a_keyword_followed_by_thousands_of_spaces_is_searched_in_one_pass() -> None:
    code = SEARCHED.format(keywords=KEYWORDS)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "searched", done.stderr[-2000:]


@pytest.mark.parametrize(
    ("text", "name", "found"),
    [
        ("MRN no: 12345678", "hospital_record_number", "12345678"),
        ("MRN#:  12345678", "hospital_record_number", "12345678"),
        ("record number   #   AB12345", "hospital_record_number", "AB12345"),
        ("DOB : 1990-01-02", "date_of_birth", "1990-01-02"),
        ("born on\t1990.01.02", "date_of_birth", "1990.01.02"),
        ("Patient name  =  Hong Gildong", "person_name", "Hong Gildong"),
        ("이름:홍길동", "person_name", "홍길동"),
    ],
)
def test_the_keyword_patterns_still_find_what_follows_their_separators(
    text: str, name: str, found: str
) -> None:
    settings = DeidSettings()
    assert name in {h.name for h in find(text, settings, "clinical")}
    assert found not in Masker(settings, b"k" * 32)(text)


PROFILE_PATTERNS_RUN = textwrap.dedent(
    """
    import pandas as pd
    from dqm.clinical_table import RowSource, validate_table
    from dqm.identifiers import (
        DeidSettings, Masker, cut_outside_identifiers, find, identifier_key, use_profile_patterns,
    )
    from dqm.profile import load_profile
    evil = "(a+)+$"
    value = "x " + "a" * 40 + "b"
    settings = DeidSettings.model_validate(
        {{"patterns": {{"evil": {{"regex": evil}}}}, "identifier_keys": evil, "record_number_values": evil}}
    )
    hits = [h.name for place in ("annotation", "slide", "clinical", "filename") for h in find(value, settings, place)]
    masked = Masker(settings, b"k" * 32)(value) == value
    use_profile_patterns(settings)
    cut = cut_outside_identifiers(value, 20)
    keyed = identifier_key(value, settings) or bool(settings.compiled.record_number.search(value))
    profile = load_profile(None)
    fields = {{**profile.clinical, "evil": profile.clinical["scanner"].model_copy(update={{"pattern": evil}})}}
    profile = profile.model_copy(update={{"clinical": fields}})
    frame = pd.DataFrame({{"evil": [value, "aaa"]}}, dtype=object)
    failed = validate_table(frame, [RowSource(f"s{{i}}", "m.csv", i + 1) for i in range(2)], profile).failures
    print(hits, masked, cut, keyed, [(f.code, f.rows, f.expectation) for f in failed if f.column == "evil"])
    """
)


def test_a_pattern_the_profile_adds_runs_in_linear_time_everywhere_it_runs() -> None:
    """``(a+)+$`` from a profile (a deid value pattern, the key and record-number patterns, a
    clinical field's ``pattern``) against ``aaaa…b``: Python's ``re`` backtracks 2⁴⁰ ways and held
    the audit for good; RE2 runs it in one pass and every verdict is the same."""
    done = subprocess.run(
        [sys.executable, "-c", PROFILE_PATTERNS_RUN.format()], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == (
        "[] True 20 False [('CLINICAL_PATTERN', (0,), 'expect_column_values_to_match_regex')]"
    )


@pytest.mark.parametrize(
    ("section", "where"),
    [
        ("deid:\n  patterns:\n    ref: {regex: '(?<!\\d)\\d{6}'}\n", "deid.patterns.ref.regex"),
        ("deid:\n  identifier_keys: '(name)\\1'\n", "deid.identifier_keys"),
        ("clinical:\n  ref: {type: string, pattern: '(?=x)x'}\n", "clinical.ref"),
    ],
)
def test_a_pattern_no_linear_time_engine_runs_is_refused_when_the_profile_is_read(
    tmp_path, section: str, where: str
) -> None:
    from dqm.profile import ProfileError, load_profile

    text = "name: p\nversion: '1'\nclasses:\n  - {id: tumour, name: tumour}\n" + section
    path = tmp_path / "p.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ProfileError) as refused:
        load_profile(path)
    assert where in str(refused.value) and "linear time" in str(refused.value)


def test_a_profile_pattern_finds_and_masks_what_it_did() -> None:
    """The built-in patterns stay on ``re``; a profile's own (``H-\\d{6}``, a named ``id`` group)
    finds, masks and protects a cut as before, now on RE2."""
    settings = DeidSettings.model_validate(
        {"patterns": {"hospital_id": {"regex": r"(?i:hosp)\s*(?P<id>H-\d{6})", "what": "hospital id"}}}
    )
    text = "see HOSP H-123456 and RRN 900101-1234567, 한글 \udcff"
    assert sorted(h.name for h in find(text, settings, "annotation")) == ["hospital_id", "korean_rrn"]
    masked = Masker(settings, b"k" * 32)(text)
    assert (
        "H-123456" not in masked and "1234567" not in masked and masked.startswith("see HOSP [HOSPITAL_ID-")
    )


GX_EVIL = "(a+)+$"
GX_VALUE = "x " + "a" * 40 + "b"


def _suite_batch(root, expectations: list[dict]) -> tuple:
    """A batch of two rows (no slides) whose ``ref`` column holds ``GX_VALUE`` and ``aaa``, and a
    GX suite of ``expectations``."""
    import json

    root.mkdir()
    rows = [
        "slide_id,image_path,annotation_path,ref",
        f"S1,slides/S1.png,,{GX_VALUE}",
        "S2,slides/S2.png,,aaa",
    ]
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    suite = root.parent / "suite.json"
    suite.write_text(json.dumps({"name": "user", "expectations": expectations}))
    return root, suite


def test_a_gx_suites_regular_expressions_run_in_linear_time(tmp_path) -> None:
    """A user's GX suite ran ``expect_column_values_to_match_regex`` (and its three siblings)
    through pandas' ``str.contains``, on Python's ``re``: ``(a+)+$`` against ``aaaa…b`` in a
    manifest column held ``dqm audit`` for good. dqm runs them on RE2 and GX's verdicts stand."""
    import json

    def regex(kind: str, **kwargs) -> dict:
        return {"type": f"expect_column_values_to_{kind}", "kwargs": {"column": "ref", **kwargs}}

    batch, suite = _suite_batch(
        tmp_path / "b",
        [
            regex("match_regex", regex=GX_EVIL),
            regex("not_match_regex", regex=GX_EVIL),
            regex("match_regex_list", regex_list=[GX_EVIL, "^x"], match_on="all"),
            regex("match_regex_list", regex_list=[GX_EVIL, "^x"]),
            regex("not_match_regex_list", regex_list=[GX_EVIL]),
            regex("match_regex", regex=GX_EVIL, mostly=0.5),
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "ref"}},
        ],
    )
    out = tmp_path / "out"
    args = ["audit", str(batch), "--out", str(out), "-j", "1", "--stages", "syntactic", "--no-cache"]
    done = subprocess.run(
        [sys.executable, "-m", "dqm", *args, "--gx-suite", str(suite)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    found = json.loads((out / "results.json").read_text())["findings"]
    gx = sorted(
        (f["message"].rsplit("expected ", 1)[1], f["location"]["row"])
        for f in found
        if f["code"] == "GX_EXPECTATION_FAILED"
    )
    assert gx == [
        ("expect_column_values_to_match_regex", 1),
        ("expect_column_values_to_match_regex_list", 1),
        ("expect_column_values_to_match_regex_list", 2),
        ("expect_column_values_to_not_match_regex", 2),
        ("expect_column_values_to_not_match_regex_list", 2),
    ]


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"regex": "(?<=x)a"}, "linear time"),
        ({"regex_list": ["a", "(x)\\1"]}, "linear time"),
        ({"json_schema": {"type": "string", "pattern": GX_EVIL}}, "jsonschema"),
    ],
)
def test_a_gx_suite_pattern_no_linear_time_engine_runs_is_refused(tmp_path, kwargs: dict, said: str) -> None:
    from typer.testing import CliRunner

    from dqm.cli import app

    kind = next(k for k in ("regex_list", "regex", "json_schema") if k in kwargs)
    kind = {"regex": "match_regex", "regex_list": "not_match_regex_list", "json_schema": "match_json_schema"}[
        kind
    ]
    batch, suite = _suite_batch(
        tmp_path / "b", [{"type": f"expect_column_values_to_{kind}", "kwargs": {"column": "ref", **kwargs}}]
    )
    got = CliRunner().invoke(
        app, ["audit", str(batch), "--out", str(tmp_path / "out"), "--gx-suite", str(suite)]
    )
    assert got.exit_code == 2, got.output
    text = " ".join(got.output.split())
    assert f"expectation 0 (expect_column_values_to_{kind}) cannot be run" in text and said in text
    assert not (tmp_path / "out").exists()


def test_a_library_runs_no_json_schema_pattern_of_a_gx_suite(tmp_path, monkeypatch, profile) -> None:
    """The refusal of a JSON schema's ``pattern`` (jsonschema runs it on Python's re, no time
    bound) was the CLI's only: ``RunOptions.gx_suite`` from the library handed it to GX. It is
    CLINICAL_EXPECTATION_ERROR there, and GX never sees it; a regex expectation's ``mostly``
    outside [0, 1] is refused as GX refuses it."""
    import json

    import pandas as pd

    from dqm import clinical_table

    ran: list[str] = []
    real_run = clinical_table._run

    def spy(frame, expectations):
        ran.extend(e.configuration.type for e in expectations)
        return real_run(frame, expectations)

    monkeypatch.setattr(clinical_table, "_run", spy)
    suite = tmp_path / "suite.json"
    column = {"column": "ref"}
    suite.write_text(
        json.dumps(
            {
                "name": "user",
                "expectations": [
                    {
                        "type": "expect_column_values_to_match_json_schema",
                        "kwargs": {**column, "json_schema": {"type": "string", "pattern": GX_EVIL}},
                    },
                    {
                        "type": "expect_column_values_to_match_regex",
                        "kwargs": {**column, "regex": "^b"},
                    },
                    {"type": "expect_column_values_to_not_be_null", "kwargs": column},
                ],
            }
        )
    )
    frame = pd.DataFrame({"ref": ["a" * 30 + "b", "aaa"]})
    validation = clinical_table.validate_table(frame, [], profile, user_suite=suite)
    assert "expect_column_values_to_match_json_schema" not in ran
    assert "expect_column_values_to_not_be_null" in ran
    failures = [f for f in validation.failures if f.column == "ref"]
    assert [(f.code, f.expectation, f.rows) for f in failures] == [
        ("CLINICAL_EXPECTATION_ERROR", "expect_column_values_to_match_json_schema", ()),
        ("GX_EXPECTATION_FAILED", "expect_column_values_to_match_regex", (0, 1)),
    ]
    assert "jsonschema" in failures[0].description
    for mostly in (1.5, -0.1, float("nan")):  # GX refuses them when it loads a suite; dqm's own run too
        kwargs = {**column, "regex": "^b", "mostly": mostly}
        kind = "expect_column_values_to_match_regex"
        refused = clinical_table._regex_failure(
            frame, kind, kwargs, clinical_table._pattern_refusal(kind, kwargs)[1]
        )
        assert refused is not None and refused.code == "CLINICAL_EXPECTATION_ERROR"
