"""The forms of an identifier key the key rule missed (task deid6): ``patient`` as an XML
element's or attribute's step (``patient[1]``, ``@patient``), a kind key (``Patient ID Type``)
holding a name or an id all the same, a digit after the word (``dob1``), and full-width or other
compatibility forms (``ｐａｔｉｅｎｔ＿ｉｄ``, ``ＤＯＢ``). Each failed on the former code."""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path

import pytest

from dqm.identifiers import fold_key, looks_identifying, mask
from dqm.profile import Profile, load_profile
from tests.deid.test_column_names import every_output
from tests.deid.test_property_keys import _asap, _found, _payload_file, _shown


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile()


@pytest.mark.parametrize(
    ("extra", "at"),
    [
        ("<patient>Hong Gildong</patient>", "/ASAP_Annotations"),
        ("<Patient>Hong Gildong</Patient>", "/ASAP_Annotations"),
        ("<Slide patient='Hong Gildong'/>", "/ASAP_Annotations/#1[1]/@patient"),
        ("<Slide Patient='Hong Gildong'/>", "/ASAP_Annotations/#1[1]/@Patient"),
        ("<a><patient>x</patient><patient>Hong Gildong</patient></a>", "/ASAP_Annotations/#1[1]"),
        ("<patient><a/>Hong Gildong</patient>", "/ASAP_Annotations"),
    ],
)
def test_a_name_under_an_xml_patient_element_or_attribute_is_flagged(
    profile: Profile, extra: str, at: str
) -> None:
    """``(?:^|[./])patient$`` matched no XML step: ``patient[1]``, ``@patient`` and
    ``patient[2]/text()[1]`` were no key, and the name went unflagged (JSON's ``"patient"`` was)."""
    found = [f for f in _found(profile, _asap(extra).encode(), "s1.xml") if f.code.startswith("DEID")]
    assert (at, "Ho**********") in [(f.location.pointer, f.params.get("value")) for f in found]
    assert all(f.code == "DEID_ANNOTATION_IDENTIFIER" for f in found)
    assert "Gildong" not in _shown(found)


def test_the_text_after_an_xml_patient_element_is_its_parents(profile: Profile) -> None:
    """The text after ``<patient>`` is its parent's: flagged only as what it holds."""
    xml = _asap("<patient>X</patient>tumour margin clear")
    found = [f for f in _found(profile, xml.encode(), "s1.xml") if f.code.startswith("DEID")]
    assert [(f.location.pointer, f.params.get("value")) for f in found] == [("/ASAP_Annotations", "*")]


def _flagged(profile: Profile, fmt: str, payload: dict[str, str]) -> tuple[list[tuple[str, str]], str]:
    """The de-identification findings of ``payload`` among a lesion's keys in a file of ``fmt``
    (:func:`_payload_file`): ``(the pointer past the lesion's, the masked value)`` sorted, and
    the findings as JSON."""
    data, name, where = _payload_file(fmt, payload)
    found = [f for f in _found(profile, data, name) if f.code.startswith("DEID")]
    assert all(f.location.pointer.startswith(where) for f in found)
    flagged = sorted((f.location.pointer.removeprefix(where), f.params.get("value")) for f in found)
    return flagged, _shown(found)


KINDS = {
    "Patient ID Type": "Hong Gildong",
    "patient_id_type": "MRN",
    "PatientIDFormat": "NNNN-NNNN",
    "PatientIDType": "87654321",
    "dob_format": "1970-01-01",
    "patient_id_source": "Medical Record",
    "PatientIDKind": "홍길동",
}


@pytest.mark.parametrize("fmt", ["native", "qupath", "coco", "dsa_point", "xml"])
def test_a_name_or_an_id_under_a_kind_key_is_flagged_and_a_kind_is_not(profile: Profile, fmt: str) -> None:
    """A kind word after an identifier key (``type``) made any value a kind: ``"Patient ID Type":
    "Hong Gildong"`` passed. Now what the value is decides: a name or digits of an id are flagged,
    ``MRN``, ``NNNN-NNNN``, ``Medical Record`` stay quiet."""
    payload = {k.replace(" ", "_") if fmt == "xml" else k: v for k, v in KINDS.items()}
    flagged, shown = _flagged(profile, fmt, payload)
    assert flagged == [("#1", "Ho**********"), ("#4", "87******"), ("#5", "19********"), ("#7", "***")]
    assert not [s for s in ("Gildong", "87654321", "1970-01-01", "홍길동") if s in shown]


def test_what_looks_identifying() -> None:
    assert [
        looks_identifying(v) for v in ("Hong Gildong", "HONG^GILDONG", "홍길동", "87654321", "1970-01-01")
    ] == [True] * 5
    assert [
        looks_identifying(v) for v in ("MRN", "NNNN-NNNN", "YYYY-MM-DD", "Medical Record", "병록번호", "")
    ] == [False] * 6


@pytest.mark.parametrize("fmt", ["native", "qupath", "coco", "dsa_point"])
def test_a_full_width_identifier_key_is_an_identifier_key(profile: Profile, fmt: str) -> None:
    """``ｐａｔｉｅｎｔ＿ｉｄ`` and ``ＤＯＢ`` (a Korean IME's full-width forms) matched no rule. Keys
    are matched NFKC-folded now; the value is masked as it is. (XML names cannot hold them: expat
    refuses compatibility characters in a name.)"""
    payload = {
        "ｐａｔｉｅｎｔ＿ｉｄ": "87654321",
        "ＤＯＢ": "１９７０-01-01",
        "ｐａｔｉｅｎｔ": "Hong Gildong",
    }
    flagged, shown = _flagged(profile, fmt, payload)
    assert flagged == [("#1", "87******"), ("#2", "１９********"), ("#3", "Ho**********")]
    assert fold_key("ｐａｔｉｅｎｔ＿ｉｄ") == "patient_id"
    assert not [s for s in ("87654321", "Gildong", "１９７０-01-01") if s in shown]


SECRETS = ("1970-01-01", "1971-02-02", "1972-03-03", "Gildong", "Minsoo", "87654321", "76543210")


def test_the_key_forms_reach_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """validate, audit (results.json, report.html, junit.xml, records.sqlite), the fix list, the
    review sample and what they print: a value under ``dob1``, a full-width key or a kind key
    holding a name is found, and none of them is shown."""
    from dqm.synth import build_batch

    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    batch = tmp_path / "batch"
    build_batch(batch, 4, seed=5, defect_rate=0.0, max_size=256)
    path = batch / "annotations" / "S00002.json"
    doc = json.loads(path.read_text())
    doc["lesions"][0].setdefault("properties", {}).update(
        {
            "dob1": "1970-01-01",
            "ＤＯＢ": "1971-02-02",
            "Patient ID Type": "Hong Gildong",
            "patient_id2": "87654321",
        }
    )
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    manifest = batch / "manifest.csv"
    rows = list(csv.DictReader(manifest.read_text(encoding="utf-8").splitlines()))
    extra = {"dob1": "1972-03-03", "ｐａｔｉｅｎｔ＿ｉｄ": "76543210", "PatientIDType": "Kim Minsoo"}
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*rows[0], *extra])
        writer.writeheader()
        writer.writerows([{**row, **(extra if k == 0 else {})} for k, row in enumerate(rows)])
    out = tmp_path / "out"
    texts = every_output(batch, out)
    assert {"a/results.json", "a/report.html", "fix/fixlist.csv"} <= {where for where, _ in texts}
    assert [(where, s) for where, text in texts for s in SECRETS if s in text] == []
    found = json.loads((out / "a" / "results.json").read_text())["findings"]
    codes = [(f["code"], f["location"]["file"]) for f in found if f["code"].endswith("_IDENTIFIER")]
    assert codes.count(("DEID_ANNOTATION_IDENTIFIER", "annotations/S00002.json")) == 4
    assert codes.count(("DEID_CLINICAL_IDENTIFIER", "manifest.csv")) == 3


def test_an_empty_element_past_the_paths_depth_is_counted_in_descendant_numbers() -> None:
    """Past :data:`MAX_PATH_DEPTH` an element is numbered from its ancestor at that depth
    (``…/descendant::#2[k]``, as XPath counts every descendant of that name), but an element with
    nothing to search (``<a/>``) was passed over uncounted: the third ``<a>`` was named ``[2]``, the
    second, an element that holds no text. Now counted in the file's order."""
    from xml.etree.ElementTree import fromstring

    from dqm.readers.common.xmltree import MAX_PATH_DEPTH, xml_texts

    deep = "<b>" * (MAX_PATH_DEPTH + 2)
    xml = f"<A>{deep}<a/><a><c/><a/></a><a>RRN 900101-1234567</a>{deep.replace('<', '</')}</A>"
    at = "/#1" + "/#1[1]" * (MAX_PATH_DEPTH - 1)
    assert xml_texts(fromstring(xml), set()).texts == {
        f"{at}/descendant::#2[4]/text()[1]": "RRN 900101-1234567"
    }


def test_an_empty_element_past_the_paths_depth_is_counted_and_nothing_more() -> None:
    """An element counted alone past the depth is not walked: a vertex's numbers below a tag naming
    a person stay passed over (``<PatientName><V X="1" Y="2"/>…``) as they are above the depth."""
    from xml.etree.ElementTree import fromstring

    from dqm.readers.common.xmltree import MAX_PATH_DEPTH, xml_texts

    for depth in (2, MAX_PATH_DEPTH + 2):
        deep = "<b>" * depth
        xml = f'<A>{deep}<PatientName><V X="1" Y="2"/><V>Kim</V></PatientName>{deep.replace("<", "</")}</A>'
        texts = xml_texts(fromstring(xml), set()).texts
        assert sorted(texts.values()) == ["Kim"], texts
        assert next(iter(texts)).endswith(("/V[2]/text()[1]", "/descendant::V[2]/text()[1]")), texts


def test_a_key_is_matched_folded_within_a_bound(profile: Profile, monkeypatch: pytest.MonkeyPatch) -> None:
    """NFKC grows U+FDFA 18 times, and every fold of a key was matched again, outside the budget of
    text searched: one JSON key of 20M U+FDFA took 179 s and 2.3 GB. A key is folded no longer
    than it is past 64 characters (full-width forms still folded), at most 18 times 64 within
    them, and the text matched is bounded by the key."""
    import dqm.identifiers as identifiers

    assert len(fold_key("\ufdfa" * 2_000)) == 2_000
    assert len(fold_key("\ufdfa" * 64)) == 64 * 18  # at most 64 characters: NFKC whole, bounded
    assert fold_key("ｐａｔｉｅｎｔ＿ｉｄ" + "\ufdfa" * 2_000).startswith("patient_id")
    assert fold_key("ＤＯＢ\u3000" + "ｘ" * 2_000) == "DOB " + "x" * 2_000
    assert fold_key("ℙatient①") == "Patient1" and fold_key("ﬁle_㎖") == "file_ml"
    assert fold_key("ℙatient_name㎏") == "Patient_namekg"  # a lengthening character folds the rest too
    folded: list[int] = []
    real = identifiers.fold_key

    def counted(key: str) -> str:
        out = real(key)
        folded.append(len(out))
        return out

    monkeypatch.setattr(identifiers, "fold_key", counted)
    monkeypatch.setattr(identifiers, "_SAID", identifiers._Kept())
    key = "\ufdfa" * 1_000 + "patient_id"
    data, name, _ = _payload_file("native", {key: "Hong Gildong", "\ufdfa" * 1_000: "x"})
    _found(profile, data, name)
    assert folded and max(folded) <= len(key)
    assert sum(folded) <= 20 * len(key)


@pytest.mark.parametrize(
    ("extra", "value"),
    [
        ("<PatientIDType>Hong Gildong</PatientIDType>", "Ho**********"),
        ("<Patient_ID_Type>87654321</Patient_ID_Type>", "87******"),
        ("<Info><PatientIDType>Hong Gildong</PatientIDType></Info>", "Ho**********"),
        ("<PatientIDType><v>Hong Gildong</v></PatientIDType>", "Ho**********"),
        ("<PatientIDType>MRN</PatientIDType>", None),
        ("<PatientIDType><v>MRN</v></PatientIDType>", None),
    ],
)
def test_a_name_or_an_id_under_a_kind_element_is_flagged(
    profile: Profile, extra: str, value: str | None
) -> None:
    """A kind key as an XML element (``<PatientIDType>Hong Gildong</PatientIDType>``) was never
    flagged, as an attribute it was: only the tags naming a person were kept as names above a
    text. A kind's tag is kept too now, and what the value is decides, as for an attribute."""
    found = [f for f in _found(profile, _asap(extra).encode(), "s1.xml") if f.code.startswith("DEID")]
    assert [f.params.get("value") for f in found] == ([value] if value else [])
    assert not [s for s in ("Gildong", "87654321") if s in _shown(found)]


def test_a_person_element_above_a_kind_element_is_the_persons(profile: Profile) -> None:
    """``<Patient><PatientIDType>MRN</PatientIDType></Patient>``: the person above is nearer in
    meaning than the kind below it, and the value is flagged as the person's."""
    found = [
        f
        for f in _found(
            profile, _asap("<Patient><PatientIDType>MRN</PatientIDType></Patient>").encode(), "s1.xml"
        )
        if f.code.startswith("DEID")
    ]
    assert ("/ASAP_Annotations", "***") in [(f.location.pointer, f.params.get("value")) for f in found]


LEAKS = (
    "hong gildong",
    "Gildong",
    "Hong Gil-dong",
    "O'Brien Sean",
    "Jose Álvarez",
    "홍 길동",
    "남궁길동이",
    "No Minsu",
    "MRN-1234-56",
    "1234-5678",
    "Kim Minsu MRN",
    "KIM MINSU",
)
KIND_VALUES = (
    "Day Month Year",
    "Epic Systems",
    "Eight Digits",
    "DICOM UID",
    "dd/mm/yyyy",
    "8 digits",
    "주민등록번호",
)


def test_a_value_under_a_kind_key_is_quiet_only_when_it_describes_a_kind() -> None:
    """A kind key's value was a person's only when it looked like a name as ``person_name`` takes
    one, or held five digits: ``hong gildong``, ``Gildong``, ``No Minsu`` (``no`` a kind word),
    ``1234-5678`` passed, and a list or an object was judged by its text run together. Now only a
    value describing a kind is quiet, each string of a list or an object judged."""
    assert [v for v in LEAKS if not looks_identifying(v)] == []
    assert [v for v in KIND_VALUES if looks_identifying(v)] == []
    assert looks_identifying(["MRN", "Hong Gildong"]) and looks_identifying({"a": "Hong Gildong", "b": "MRN"})
    assert not looks_identifying(["MRN", "HRN"]) and not looks_identifying({"type": "MRN", "length": 8})
    assert looks_identifying(87654321) and looks_identifying(["MRN"] * 2_000)


@pytest.mark.parametrize("fmt", ["native", "xml"])
@pytest.mark.parametrize("value", LEAKS)
def test_a_name_or_an_id_of_any_form_under_a_kind_key_is_flagged(
    profile: Profile, fmt: str, value: str
) -> None:
    flagged, shown = _flagged(profile, fmt, {"PatientIDType": value})
    assert flagged == [("#1", mask(value))]
    assert value not in shown


@pytest.mark.parametrize("value", LEAKS)
def test_a_name_or_an_id_of_any_form_under_a_kind_element_is_flagged(profile: Profile, value: str) -> None:
    extra = f"<PatientIDType>{html.escape(value)}</PatientIDType>"
    found = [f for f in _found(profile, _asap(extra).encode(), "s1.xml") if f.code.startswith("DEID")]
    assert [f.params.get("value") for f in found] == [mask(value)]
    assert value not in _shown(found)


@pytest.mark.parametrize("fmt", ["native", "xml"])
def test_a_kind_described_in_words_is_not_flagged(profile: Profile, fmt: str) -> None:
    """``"dob_format": "Day Month Year"``, ``"patient_id_system": "Epic Systems"``: capitalised
    words looked like a name, and were flagged as an error."""
    payload = {"dob_format": "Day Month Year", "patient_id_system": "Epic Systems",
               "patient_id_format": "Eight Digits", "PatientIDType": "DICOM UID"}  # fmt: skip
    assert _flagged(profile, fmt, payload)[0] == []
    for value in payload.values():
        extra = f"<PatientIDType>{value}</PatientIDType>"
        assert not [f for f in _found(profile, _asap(extra).encode(), "s1.xml") if f.code.startswith("DEID")]


@pytest.mark.parametrize(
    ("value", "masked"),
    [(["MRN", "Hong Gildong"], "MR**************"), ({"a": "Hong Gildong", "b": "MRN"}, "Ho**************")],
)
def test_a_list_or_an_object_under_a_kind_key_is_judged_by_each_string(
    profile: Profile, value: object, masked: str
) -> None:
    flagged, shown = _flagged(profile, "native", {"patient_id_type": value})  # type: ignore[dict-item]
    assert flagged == [("#1", masked)]
    assert "Gildong" not in shown
