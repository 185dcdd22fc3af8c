"""dqm's own files read back strictly: a key repeated in one object is refused by every reader, as
``dqm verify`` refuses it, and the fast reading agrees with the strict one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from dqm.cli import app
from dqm.strictjson import StrictJSONError, loads, strict_decode

FIXTURES = Path(__file__).parent / "fixtures" / "results"
runner = CliRunner()

_text = st.text(alphabet=st.sampled_from('ab:"\\é\u2028{}[],'), max_size=6)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@given(_json, st.booleans())
def test_the_fast_reading_is_the_strict_reading(value: object, ascii_only: bool) -> None:
    data = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert loads(data) == strict_decode(data) == value


@given(st.dictionaries(_text, _json, min_size=1, max_size=4), _json, st.booleans())
def test_a_repeated_key_is_refused_however_its_strings_spell_colons(
    obj: dict[str, object], value: object, escaped: bool
) -> None:
    key = next(iter(obj))
    text = json.dumps([obj])[:-2] + f", {json.dumps(key)}: {json.dumps(value)}" + "}]"
    if escaped:  # a colon the raw text does not show must not balance the member the tree lost
        text = text.replace(":", "\\u003a", 1) if text.startswith('[{"') and ":" in key else text
    with pytest.raises(StrictJSONError, match="appears twice in one object"):
        loads(text.encode())


@pytest.mark.parametrize(
    "data", [b'{"a": NaN}', b'\xef\xbb\xbf{"a": 1}', b'{"a": 1', b"[" * 300 + b"]" * 299, b'"\\ud800"']
)
def test_what_is_not_json_as_dqm_writes_it_is_refused(data: bytes) -> None:
    with pytest.raises(StrictJSONError):
        loads(data)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (b'{"n": 123456789012345678901234567890}', None),  # orjson read it as a float, verify exactly
        (b'{"n": -9223372036854775809}', None),
        (b'{"n": 1e400}', None),  # orjson refused it, verify read infinity
        (b'{"n": 18446744073709551615}', 2**64 - 1),
        (b'{"n": -9223372036854775808}', -(2**63)),
        (b'{"n": "123456789012345678901234567890"}', "123456789012345678901234567890"),
    ],
)
def test_both_readings_take_the_same_numbers(text: bytes, value: object) -> None:
    """The fast and the strict reading accept the same numbers with the same values: an integer
    past 64 bits or a number past a double's range is refused by both (found reviewing)."""
    if value is None:
        for read in (loads, strict_decode):
            with pytest.raises(StrictJSONError):
                read(text)
    else:
        assert loads(text) == strict_decode(text) == {"n": value}


def test_nesting_orjson_cannot_write_back_is_read_strictly() -> None:
    assert loads(b"[" * 300 + b"]" * 300) == strict_decode(b"[" * 300 + b"]" * 300)


def _ambiguous(tmp_path: Path) -> Path:
    """A released results.json edited by hand: an empty ``findings`` before the real one (a reader
    keeping the last value sees every finding, one keeping the first sees none)."""
    text = (FIXTURES / "results-1.13.json").read_text(encoding="utf-8")
    assert text.count('"findings":[') >= 1
    path = tmp_path / "results.json"
    path.write_text(text.replace('"findings":[', '"findings":[],"findings":[', 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["report", "{path}", "-o", "{tmp}/report.html"],
        ["gate", "{path}"],
        ["diff", "{clean}", "{path}"],
        ["verify", "{path}"],
    ],
    ids=lambda a: a[0],
)
def test_every_command_refuses_a_results_json_with_a_repeated_key(args: list[str], tmp_path: Path) -> None:
    path = _ambiguous(tmp_path)
    clean = FIXTURES / "results-1.13.json"
    res = runner.invoke(app, [a.format(path=path, tmp=tmp_path, clean=clean) for a in args])
    assert res.exit_code == (1 if args[0] == "verify" else 2), res.output
    assert "'findings' appears twice in one object" in " ".join(res.output.split()), res.output
    assert not (tmp_path / "report.html").exists()


def test_the_other_files_dqm_reads_back_refuse_a_repeated_key(tmp_path: Path) -> None:
    from dqm.semantic.planfile import PlanError, read_plan
    from dqm.semantic.resultfile import SemanticFileError, load_semantic
    from dqm.semantic.verdicts import read_verdict_file
    from dqm.signing import SignatureError, read_signature

    twice = "'slide_id' appears twice in one object"
    (tmp_path / "semantic.json").write_text('{"slide_id": "S1", "slide_id": "S2"}')
    with pytest.raises(SemanticFileError, match=twice):
        load_semantic(tmp_path / "semantic.json", "f" * 64)
    (tmp_path / "review_plan.json").write_text('{"sample": [{"slide_id": "S1", "slide_id": "S2"}]}')
    with pytest.raises(PlanError, match=twice):
        read_plan(tmp_path / "review_plan.json")
    (tmp_path / "v.json").write_text(
        '[{"slide_id": "S1", "reviewer": "kim", "verdict": "pass", "verdict": "fail", "slide_id": "S2"}]'
    )
    vf = read_verdict_file(tmp_path / "v.json")
    assert [(f.code, f.severity) for f in vf.findings] == [("VERDICT_FILE_UNREADABLE", "error")]
    assert "'verdict' appears twice in one object" in vf.findings[0].message and not vf.records
    with pytest.raises(SignatureError, match="'format' appears twice"):
        read_signature(b'{"format": "dqm-signature-1", "format": "other"}')
