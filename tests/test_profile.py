from __future__ import annotations

from pathlib import Path

import pytest

from dqm.findings import Severity
from dqm.profile import ProfileError, load_profile
from validators.engine import configure


def test_builtin_profile_has_the_reference_taxonomy(profile):
    assert profile.class_ids == ("NS", "EC", "SK", "BD_SCC", "BCC", "MN", "MM")
    assert profile.class_def("NS").requires_lesion is False
    assert all(profile.class_def(c).requires_lesion for c in profile.class_ids[1:])
    assert profile.clinical["age"].min == 0 and profile.clinical["age"].max == 120
    assert profile.clinical["sex"].values == ("M", "F")
    assert len(profile.sha256) == 64


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("BCC", "BCC"),
        ("bcc", "BCC"),
        ("Basal Cell Carcinoma", "BCC"),
        (" melanoma ", "MM"),
        ("Bowen disease/squamous cell carcinoma", "BD_SCC"),
        ("tumour", None),
        (None, None),
        (3, None),
    ],
)
def test_resolve_class_accepts_id_name_or_alias_in_any_case(profile, name, expected):
    assert profile.resolve_class(name) == expected


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "profile.yaml"
    p.write_text(text, encoding="utf-8")
    return p


MINIMAL = """
name: tiny
classes: [{id: A, name: alpha}, {id: B, name: beta}]
clinical: {institution: {type: string, required: true}}
"""


@pytest.mark.parametrize(
    ("name", "expected"), [("기저세포암", "BCC"), (" 악성흑색종 ", "MM"), ("정상 피부", "NS")]
)
def test_a_class_written_by_its_korean_name_is_that_class(profile, name, expected):
    # the built-in profile names BCC 기저세포암 (names: {ko: ...}): an annotation writing the
    # Korean name alone was an unknown class, its lesions counted against no class
    assert profile.resolve_class(name) == expected


def test_a_class_written_in_english_where_the_profile_is_korean(tmp_path):
    text = "name: ko\nclasses: [{id: A, name: 기저세포암, names: {en: basal cell carcinoma}}]\nclinical: {}\n"
    prof = load_profile(_write(tmp_path, text))
    assert (prof.resolve_class("Basal Cell Carcinoma"), prof.resolve_class("기저세포암")) == ("A", "A")


def test_a_korean_class_name_resolves_in_an_annotation(profile):
    from dqm.readers import parse_annotation, resolve_classes

    doc = b"""{"format": "dqm.annotation/1", "slide": {"file": "S1.tiff", "width": 100, "height": 100},
      "lesions": [{"id": 1, "class": "\xea\xb8\xb0\xec\xa0\x80\xec\x84\xb8\xed\x8f\xac\xec\x95\x94",
      "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 0]]]}}]}"""
    (ann,) = parse_annotation(doc, "S1.json")
    assert [lesion.label for lesion in resolve_classes(ann, profile).lesions] == ["BCC"]


def test_class_map_wins_over_a_name_in_another_language(tmp_path):
    # the user's explicit word: class_map sends 흑색종 to B although A's Korean name is 흑색종
    text = MINIMAL.replace("name: alpha}", "name: alpha, names: {ko: 흑색종}}")
    prof = load_profile(_write(tmp_path, text + "class_map: {흑색종: B}\n"))
    assert prof.resolve_class(" 흑색종 ") == "B"


@pytest.mark.parametrize(
    "classes",
    [
        "[{id: A, name: alpha, names: {ko: 기타}}, {id: B, name: beta, names: {ko: 기타}}]",
        "[{id: A, name: alpha, names: {ko: beta}}, {id: B, name: beta}]",
    ],
)
def test_an_ambiguous_name_in_another_language_loads_and_matches_no_other_class(tmp_path, classes):
    # these profiles loaded while names were display only: the shared name stays a display name
    text = MINIMAL.replace("classes: [{id: A, name: alpha}, {id: B, name: beta}]", f"classes: {classes}")
    prof = load_profile(_write(tmp_path, text))
    assert (prof.resolve_class("기타"), prof.resolve_class("beta")) == (None, "B")
    assert prof.display_names("ko")["A"] in ("기타", "beta")


def test_a_blank_name_in_another_language_catches_no_lesion_without_a_class(tmp_path):
    text = MINIMAL.replace("name: alpha}", "name: alpha, names: {ko: ''}}")
    prof = load_profile(_write(tmp_path, text))
    assert (prof.resolve_class(""), prof.resolve_class("  "), prof.resolve_class("alpha")) == (
        None,
        None,
        "A",
    )


def test_institution_class_map_wins_over_global(tmp_path):
    p = _write(tmp_path, MINIMAL + "class_map: {tumor: A}\ninstitution_class_map: {H2: {tumor: B}}\n")
    prof = load_profile(p)
    assert prof.resolve_class("Tumor") == "A"
    assert prof.resolve_class("TUMOR", "h2") == "B"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nclasses: []\nclinical: {}\n", "at least one class"),
        (MINIMAL.replace("id: B", "id: A"), "duplicate class ids"),
        (MINIMAL + "class_map: {tumor: Z}\n", "not in the taxonomy"),
        ("name: x\nclasses: [{id: A, name: a}]\nclinical: {sex: {type: category}}\n", "needs `values`"),
        ("- just\n- a list\n", "YAML mapping"),
        ("name: [unclosed\n", "not valid YAML"),
        (MINIMAL + "colour_typo: 1\n", "colour_typo"),
        (MINIMAL.replace("name: beta}", "name: beta, aliases: [alpha]}"), "used by classes A and B"),
    ],
)
def test_invalid_profiles_are_reported_with_their_reason(tmp_path, text, message):
    with pytest.raises(ProfileError, match=message):
        load_profile(_write(tmp_path, text))


def test_a_key_repeated_in_one_mapping_is_refused_not_the_last_taken(tmp_path):
    """YAML took the last of two equal keys in silence: a profile whose reader sees one class list
    while a second ``classes:`` further down is the one dqm used. Now it is a profile error at its
    line; a merge key (``<<``) still gives way to the mapping's own key, as YAML defines."""
    with pytest.raises(ProfileError, match=r"'classes' appears twice in one mapping(.|\n)*line 5"):
        load_profile(_write(tmp_path, MINIMAL + "classes: [{id: Z, name: z}]\n"))
    with pytest.raises(ProfileError, match="'tumor' appears twice"):
        load_profile(_write(tmp_path, MINIMAL + "class_map: {tumor: A, tumor: B}\n"))
    merged = load_profile(_write(tmp_path, MINIMAL + "class_map: {<<: {t: A, u: A}, t: B}\n"))
    assert (merged.resolve_class("t"), merged.resolve_class("u")) == ("B", "A")


def test_missing_profile_file_is_a_profile_error(tmp_path):
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "nope.yaml")


def test_check_settings_are_validated_once_at_configuration(tmp_path):
    prof = load_profile(
        _write(tmp_path, MINIMAL + "checks: {geometry.min_area: {params: {min_area_um2: -1}}}\n")
    )
    with pytest.raises(ProfileError, match="min_area_um2"):
        configure(prof)
    prof = load_profile(_write(tmp_path, MINIMAL + "checks: {geometry.no_such_check: {}}\n"))
    with pytest.raises(ProfileError, match="unknown checks"):
        configure(prof)


def test_severity_overrides_and_disabling(tmp_path):
    text = (
        MINIMAL
        + "checks: {geometry.overlap: {enabled: false}, geometry.zero_area: {severity: warning}}\nseverities: {LESION_CLASS_MISMATCH: error}\n"
    )
    configured = {c.id: c for c in configure(load_profile(_write(tmp_path, text)))}
    assert "geometry.overlap" not in configured
    assert configured["geometry.zero_area"].severities["ZERO_AREA"] == Severity.WARNING
    assert configured["format.diagnosis_lesions"].severities["LESION_CLASS_MISMATCH"] == Severity.ERROR


def test_a_profile_larger_than_a_profile_is_refused_before_it_is_parsed(tmp_path):
    """A 15 MB YAML of a million keys (a data file passed as ``--profile`` by mistake) kept the
    command parsing for minutes, then printed a line a key; a file past MAX_PROFILE_BYTES is now a
    profile error naming the limit, read no further than it."""
    from dqm.profile import MAX_PROFILE_BYTES

    big = _write(tmp_path, MINIMAL + "".join(f"k{i}: {i}\n" for i in range(MAX_PROFILE_BYTES // 8)))
    assert big.stat().st_size > MAX_PROFILE_BYTES
    with pytest.raises(ProfileError, match=f"larger than {MAX_PROFILE_BYTES} bytes") as caught:
        load_profile(big)
    assert "k1000" not in str(caught.value)
    # a profile of the size is read as any other
    padded = _write(tmp_path, MINIMAL + "#" * (MAX_PROFILE_BYTES - len(MINIMAL.encode()) - 1) + "\n")
    assert padded.stat().st_size == MAX_PROFILE_BYTES
    assert load_profile(padded).name == "tiny"


def test_the_problems_of_an_invalid_profile_are_listed_up_to_a_bound(tmp_path):
    """A class list of 5,000 wrong items, 5,000 unknown keys or check parameters, or 5,000 unknown
    check ids was a message a line (or a name) each: the first MAX_YAML_PROBLEMS are named, then how
    many more."""
    from dqm.profile import MAX_YAML_PROBLEMS

    n = 5000
    more = f"and {n - MAX_YAML_PROBLEMS} more"
    for text in (
        "name: x\nclinical: {}\nclasses: [" + ", ".join(["1"] * n) + "]\n",
        MINIMAL + "".join(f"extra{i}: 1\n" for i in range(n)),
    ):
        with pytest.raises(ProfileError, match=more) as caught:
            load_profile(_write(tmp_path, text))
        assert len(str(caught.value).splitlines()) <= MAX_YAML_PROBLEMS + 3
    params = ", ".join(f"p{i}: 1" for i in range(n))
    prof = load_profile(
        _write(tmp_path, MINIMAL + f"checks: {{geometry.min_area: {{params: {{{params}}}}}}}\n")
    )
    with pytest.raises(ProfileError, match=more) as caught:
        configure(prof)
    assert len(str(caught.value).splitlines()) <= MAX_YAML_PROBLEMS + 2
    checks = ", ".join(f"no.such{i}: {{}}" for i in range(n))
    prof = load_profile(_write(tmp_path, MINIMAL + f"checks: {{{checks}}}\n"))
    with pytest.raises(ProfileError, match=f"unknown checks: .*and {n - MAX_YAML_PROBLEMS} more") as caught:
        configure(prof)
    assert len(str(caught.value)) < 2000


def test_hostile_profiles_are_profile_errors_in_bounded_time(tmp_path):
    """An alias bomb (nine lists of nine references, nine deep), a ``!!python`` tag, a byte-order
    mark, a device and text nested past the stack: each a profile error (or, the mark, read as the
    file it starts), never a traceback and never a hang."""
    from tests.helpers import within

    bomb = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    bomb += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    cases = {
        "bomb": "\n".join(bomb) + "\nclasses: *a9\n",
        "python": "!!python/object/apply:os.system ['echo no']\n",
        "deep": "[" * 100_000 + "]" * 100_000,
        "nan": MINIMAL + "thresholds: {file_accuracy: .nan}\n",
        "huge": MINIMAL + "thresholds: {file_accuracy: 1e400}\n",
    }
    with within(60):
        for text in cases.values():
            with pytest.raises(ProfileError, match=r"\S"):  # a reason, whatever it is
                load_profile(_write(tmp_path, text))
        with pytest.raises(ProfileError, match="not a regular file"):
            load_profile("/dev/zero")
        bom = tmp_path / "bom.yaml"
        bom.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
        assert load_profile(bom).name == "tiny"


def test_a_profile_up_to_the_bound_is_parsed_in_seconds_by_libyaml():
    """PyYAML's own parser took 35 s of CPU on a flow list of half a million items just under the
    1 MiB bound (a quarter of it, 9 s); libyaml's parser, with the same safe constructor and the same
    refusal of a repeated key, takes a few seconds. Without libyaml the bound is 256 KiB."""
    import time

    import yaml

    from dqm.profile import LIBYAML, MAX_PROFILE_BYTES, load_yaml

    if not LIBYAML:
        assert MAX_PROFILE_BYTES == 1 << 18
        pytest.skip("PyYAML without libyaml: the lower bound applies")
    n = (1 << 20) // 8  # a quarter of the 1 MiB bound: "1," an item
    text = "[" + "1," * (n - 1) + "1]"
    start = time.process_time()
    assert len(load_yaml(text)) == n
    assert time.process_time() - start < 4  # PyYAML's parser: about 9 s
    with pytest.raises(yaml.YAMLError, match="appears twice"):
        load_yaml("{a: 1, b: {c: 1, c: 2}}")
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system ['echo no']\n")
    with pytest.raises(yaml.YAMLError, match=r"nesting depth|nested too deeply"):
        load_yaml("- " * 5000 + "x")


def test_the_more_tails_of_profile_problems_are_translated(tmp_path):
    """'… and N more' and ' and N more' were formatted into the problem list as English text, so
    they stayed English under ``--lang ko``; they are parameters of their own now."""
    from dqm.profile import MAX_YAML_PROBLEMS

    n = 50
    more = n - MAX_YAML_PROBLEMS
    with pytest.raises(ProfileError) as caught:
        load_profile(_write(tmp_path, MINIMAL + "".join(f"extra{i}: 1\n" for i in range(n))))
    said = caught.value.args[0]
    assert said.rendered("ko").splitlines()[-1] == f"  … 외 {more}건", said.rendered("ko")
    assert said.rendered("en").splitlines()[-1] == f"  … and {more} more"
    params = ", ".join(f"p{i}: 1" for i in range(n))
    prof = load_profile(
        _write(tmp_path, MINIMAL + f"checks: {{geometry.min_area: {{params: {{{params}}}}}}}\n")
    )
    with pytest.raises(ProfileError) as caught:
        configure(prof)
    assert caught.value.args[0].rendered("ko").splitlines()[-1] == f"  … 외 {more}건"
    for block in ("checks", "severities"):
        keys = ", ".join(f"NO_SUCH{i}: {'{}' if block == 'checks' else 'error'}" for i in range(n))
        prof = load_profile(_write(tmp_path, MINIMAL + f"{block}: {{{keys}}}\n"))
        with pytest.raises(ProfileError) as caught:
            configure(prof)
        ko = caught.value.args[0].rendered("ko")
        assert ko.endswith(f"NO_SUCH26 외 {more}개") and "more" not in ko, ko


def test_profile_keys_are_shown_escaped_and_by_their_start(tmp_path):
    """A newline in a profile key was printed as it is (``"a\\nPASS forged"`` forged a line of
    output); an unknown check id of 1,000 characters without a space was shown as
    '… [cut: 1,000 characters]', its name gone. Keys are escaped as every name is, and a long one
    shows its first 80 characters."""
    forged = '"x\\nPASS: forged"'
    cases = [
        (MINIMAL + f"{forged}: 1\n", load_profile),
        (MINIMAL + f"checks: {{{forged}: {{}}}}\n", lambda p: configure(load_profile(p))),
        (MINIMAL + f"severities: {{{forged}: error}}\n", lambda p: configure(load_profile(p))),
        (
            MINIMAL + f"checks: {{geometry.min_area: {{params: {{{forged}: 1}}}}}}\n",
            lambda p: configure(load_profile(p)),
        ),
    ]
    for text, load in cases:
        with pytest.raises(ProfileError) as caught:
            load(_write(tmp_path, text))
        said = caught.value.args[0].rendered("en")
        assert "x\\x0aPASS: forged" in said, said
        assert not any(line.startswith("PASS") for line in said.splitlines()), said
    long_id = "geometry." + "q" * 991
    with pytest.raises(ProfileError) as caught:
        configure(load_profile(_write(tmp_path, MINIMAL + f"checks: {{{long_id}: {{}}}}\n")))
    said = caught.value.args[0].rendered("en")
    assert long_id[:80] in said and long_id not in said and "1,000 characters" in said, said
