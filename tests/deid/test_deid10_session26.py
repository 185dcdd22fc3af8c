"""Session 26's de-identification leftovers (deid10): a header's word and a given name parted by a
character nobody sees, the bidirectional isolates as gaps, a UUID glued to more hex digits, and the
kind pattern's key read at its end."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm import identifiers
from dqm.cli import app
from dqm.identifiers import find, names_a_kind
from tests.deid.deid_helpers import SETTINGS, assert_no_name, default_masker, kinds_found
from tests.helpers import write_tiny_batch


@pytest.mark.parametrize("gap", ["\u200b", "\u200b\u200b", "\u202e", "\u2066", "\u200b "])
@pytest.mark.parametrize("name", ["SAMPLE{}JOE", "Sample{}Joe", "Age{}Kim"])
def test_a_header_word_and_a_given_name_parted_by_an_unseen_gap_is_a_name(gap: str, name: str) -> None:
    written = name.format(gap)
    text = f"Patient Name\t{written}\t45"
    assert kinds_found(text) == ["person_name"]
    masked = default_masker()(text)
    assert written not in masked and "[PERSON_NAME-" in masked
    assert masked.endswith("\t45")


@pytest.mark.parametrize(
    "header",
    [
        "Patient Name\tSAMPLE\u200bCollection Date\tAge",
        "Patient Name\tSample\u200bCollection\u200bDate",
        "PATIENT NAME\tDATE OF BIRTH\tSEX",
    ],
)
def test_header_rows_stay_unnamed(header: str) -> None:
    assert_no_name(header)


@pytest.mark.parametrize("isolate", ["\u2066", "\u2067", "\u2068", "\u2069"])
def test_an_isolate_parts_a_name_as_an_embedding_does(isolate: str) -> None:
    for mark in (isolate, "\u202a", "\u202e"):
        text = f"Patient name: HONG{mark}GILDONG"
        assert kinds_found(text) == ["person_name"], repr(text)
        assert default_masker()(text).startswith("Patient name: [PERSON_NAME-")


@pytest.mark.parametrize(
    "mark", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
)
@pytest.mark.parametrize(
    "rrn", ["900101{}-1234567", "9001{}01-1234567", "900101-12{}34567", "RRN 900101{}-1234567"]
)
def test_a_resident_number_split_by_a_bidirectional_control_is_found_and_masked(mark: str, rrn: str) -> None:
    text = "x " + rrn.format(mark) + " y"
    assert "korean_rrn" in kinds_found(text)
    masked = default_masker()(text)
    assert "1234567" not in masked.replace(mark, "") and "[KOREAN_RRN-" in masked


@pytest.mark.parametrize(
    "name",
    [
        "3f2a1b9c-2024-0101-8abc-0123456789abff.svs",  # hex digits written after a UUID
        "ff3f2a1b9c-2024-0101-8abc-0123456789ab.svs",  # and before one
        "0123456789abcdef3f2a1b9c-2024-0101-8abc-0123456789ab0123.svs",
        "3f2a1b9c-8abc-4010-1234-5678abcdef0199.svs",
    ],
)
def test_a_uuid_glued_to_more_hex_digits_holds_no_date(name: str) -> None:
    assert [hit.name for hit in find(name, SETTINGS, "filename")] == []


@pytest.mark.parametrize(
    "name",
    [
        "2024-03-01_3f2a1b9c-2024-0101-8abc-0123456789abff.svs",
        "20240301_ff3f2a1b9c-8abc-4010-1234-5678abcdef01.svs",
        "3f2a1b9c-8abc-4010-1234-5678abcdef01ff_2024-03-01.svs",
    ],
)
def test_a_date_beside_a_glued_uuid_is_still_found(name: str) -> None:
    assert [hit.name for hit in find(name, SETTINGS, "filename")] == ["date_in_filename"]


def test_a_glued_uuid_is_one_hex_run() -> None:
    """Its hex digits before and after are the run's; a UUID after other dashed groups is found
    from its own first group."""
    glued = "ff3f2a1b9c-2024-0101-8abc-0123456789abff"
    after_groups = "abcdef12-abcdef12-3f2a1b9c-2024-0101-8abc-0123456789ab"
    text = f"{glued} {after_groups}"
    spans = [m.span() for m in identifiers._HEX_RUN.finditer(text)]
    assert spans == [(0, len(glued)), (len(text) - 36, len(text))]


_LAZY = re.compile(
    r"(.+?)(?:[-_. ]|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]))(?i:format|type|kind|source|system|scheme|length)"
)


@pytest.mark.parametrize(
    "key",
    ["patient_id_type", "PatientIDType", "dob_format", "MRN Source", "mrn.system", "id-scheme", "rrn_length",
     "patient_name_type", "_type", "id\n_type", "patient_id_Hong_type", "IDTYPE", "dob_estimated", "type"],
)  # fmt: skip
def test_the_kind_word_read_at_the_end_says_what_the_whole_match_said(key: str) -> None:
    search = SETTINGS.compiled.identifier_keys.search
    lazy = _LAZY.fullmatch(key)
    before = (
        lazy is not None
        and not identifiers._NAME_WORD.search(lazy[1])
        and identifiers.whole_key(lazy[1], search)
    )
    assert names_a_kind(key, search) is before


def test_the_kind_pattern_is_searched_not_matched_whole() -> None:
    """Searched from any place, it matches only at a key's end (the lazy pattern matched
    ``patient_id_type_x`` from its start: a search of a long key was quadratic)."""
    assert identifiers._KIND.search("patient_id_type_x") is None
    match = identifiers._KIND.search("patient_id_type")
    assert match is not None and match.start() == len("patient_id")


BIDI = ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069")


@pytest.fixture(scope="module")
def bidi_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny batch with a clinical value naming a person across an isolate and a slide whose
    file name holds a resident number split by an override (displayed in another order)."""
    from PIL import Image

    root = write_tiny_batch(tmp_path_factory.mktemp("bidi10") / "batch")
    image = "slides/S4_900101\u202e-1234567.png"
    Image.new("RGB", (400, 300), (230, 170, 200)).save(root / image)
    shutil.copy(root / "annotations" / "S1.json", root / "annotations" / "S4.json")
    with (root / "manifest.csv").open("a", encoding="utf-8") as fh:
        fh.write(
            f"S4,{image},annotations/S4.json,Seoul-A,Patient name: HONG\u2066GILDONG\u2069 BCC,60,M,trunk\n"
        )
    return root


def _no_bidi(text: str) -> None:
    assert not any(c in text for c in BIDI), [c for c in BIDI if c in text]


def test_what_dqm_prints_of_a_bidi_identifier_is_masked_and_escaped(bidi_batch: Path, tmp_path: Path) -> None:
    """The console and every page a person reads show the identifiers masked, with the
    bidirectional controls inside them (the masking takes them in: none is left to escape; a
    control printed unmasked shows as its escape,
    ``test_deid10f_session26.test_a_bidi_control_in_a_shown_path_is_printed_as_its_escape``)."""
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(bidi_batch), "--out", str(out), "--workers", "1"])
    assert res.exit_code == 1, res.output
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    codes = {f["code"] for f in doc["findings"] if f["code"].startswith("DEID_")}
    assert {"DEID_FILENAME_IDENTIFIER", "DEID_CLINICAL_IDENTIFIER"} <= codes
    printed = CliRunner().invoke(
        app,
        [
            "report",
            str(out / "results.json"),
            "-o",
            str(tmp_path / "r" / "page.html"),
            "--summary",
            str(tmp_path / "r" / "s.md"),
        ],
    )
    assert printed.exit_code in (0, 1), printed.output
    pages = [*out.glob("*.html"), tmp_path / "r" / "page.html", tmp_path / "r" / "s.md", out / "summary.md"]
    for text in (res.output, printed.output, *(page.read_text(encoding="utf-8") for page in pages)):
        _no_bidi(text)
        assert "GILDONG" not in text and "1234567" not in text


def _profile_with(tmp_path: Path, patterns: str) -> Path:
    from dqm.profile import load_profile

    text = (
        Path(load_profile.__code__.co_filename)
        .parent.joinpath("profiles", "dermatopathology.yaml")
        .read_text()
    )
    path = tmp_path / "p.yaml"
    path.write_text(text.replace("  patterns:\n", "  patterns:\n" + patterns, 1), encoding="utf-8")
    return path


def test_a_profile_listing_its_own_patterns_keeps_possible_name(tmp_path: Path) -> None:
    from dqm.profile import load_profile

    path = _profile_with(
        tmp_path,
        "    hospital_id: {regex: 'H-\\d{6}'}\n    person_name: {regex: '(?i:patient name): (?P<id>[A-Z]\\w+ [A-Z]\\w+)'}\n",
    )
    prof = load_profile(path)
    assert [h.name for h in find("환자 김철수", prof.deid, "clinical")] == ["possible_name"]


def test_a_profile_turning_off_a_built_in_pattern_is_warned_of(tmp_path: Path) -> None:
    annotation = tmp_path / "a.json"
    annotation.write_text('{"slide": {"file": "x.png", "width": 4, "height": 3}, "lesions": []}')
    args = ["validate", str(annotation), "--profile"]
    quiet = CliRunner().invoke(
        app, [*args, str(_profile_with(tmp_path, "    hospital_id: {regex: 'H-1'}\n"))]
    )
    assert "turns off" not in quiet.output
    off = _profile_with(tmp_path, "    possible_name: {enabled: false}\n    email: {enabled: false}\n")
    res = CliRunner().invoke(app, [*args, str(off)])
    said = " ".join(res.output.split())  # the console wraps its lines
    assert "built-in de-identification pattern possible_name (quasi)" in said, res.output
    assert "built-in de-identification pattern email (quasi)" in said
    assert "korean_rrn" not in said


def count_searches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each text :func:`dqm.identifiers.find` searches from now on, in order, the file-name cache
    emptied."""
    searched: list[str] = []
    real = identifiers.find

    def counted(text: str, settings: object, place: str) -> list:
        searched.append(text)
        return real(text, settings, place)  # type: ignore[arg-type]

    monkeypatch.setattr(identifiers, "find", counted)
    monkeypatch.setattr(identifiers, "_NAME_HITS", identifiers._NameHits())
    return searched


def test_dated_names_are_searched_once_by_the_name_checks_and_the_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dqm.profile import load_profile
    from validators import REGISTRY
    from validators.context import BatchView
    from validators.engine import configure
    from validators.registry import CheckContext

    searched = count_searches(monkeypatch)
    files = tuple(f"slides/2024-03-{day:02d}_S{day}.svs" for day in range(1, 21))
    profile = load_profile()
    configured = {c.id: c for c in configure(profile)}
    found = {}
    for check in ("deid.other_names", "deid.file_name_dates"):
        spec, cfg = REGISTRY[check], configured[check]
        view = BatchView(profile, [], "manifest.csv", files=files)
        found[check] = spec.func(
            view, cfg.params, CheckContext(spec, "batch", cfg.severities, "manifest.csv")
        )
    assert [f.code for f in found["deid.file_name_dates"]] == ["DEID_FILENAME_DATES"]
    assert "20 file and folder names" in found["deid.file_name_dates"][0].text("en")
    assert sorted(searched) == sorted({"slides", *(f.split("/")[1] for f in files)})  # each name once
