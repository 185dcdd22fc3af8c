"""Results of every released schema version still load and serve every command that reads them.

``tests/fixtures/results/results-<version>.json`` is a real ``results.json`` written by the dqm of
that schema version (1.0: syntactic only; 1.1: syntactic, semantic, diversity and validity with a
tiny model; 1.2: syntactic and diversity, with its stored ``gates``; 1.3: syntactic and diversity of a redelivery, with
its ``waivers`` (active, unused and expired) and ``redelivery`` against the earlier delivery; 1.4: syntactic
and diversity, split into lots by institution; 1.5: syntactic and diversity, each slide with its
``perceptual_hash``; 1.6: each slide with its patient number; 1.7: syntactic and diversity with a
``run_id`` and an item a check crashed on, named in ``verdict.not_evaluated``; 1.8: syntactic and
diversity, a slide with a pen mark shaded on its thumbnail; 1.9: syntactic and diversity, each slide
with its stain and acquisition descriptors, and ``diversity.batch_effects``; 1.10: syntactic and diversity with its content digest and
``batch.files``, audited with ``--sign-key`` over a batch with a ``SHA256SUMS``; 1.11: syntactic, diversity and
semantic, the review drawn with ``dqm sample --lq 20``: ``semantic.lq``; 1.12: syntactic and diversity
audited with ``--certify``, each file with its ``stat``; 1.13: syntactic and diversity, one annotation
with 12 keys its format does not define, the per-code cap of what a reader met lowered to 5: the
sixth ``UNKNOWN_KEY`` finding counts the rest with its ``counted_values``; 1.14: syntactic and diversity
audited with a profile that disables two checks: ``disabled_checks``; 1.15: syntactic and diversity audited with
``--full-hashes``, one slide a MIRAX slide whose ``Slidedat.ini``, index and data file are ``slide_part`` rows of
``batch.files``; 1.16: syntactic and diversity audited with ``--full-hashes``, one slide a DICOM slide whose
series' other file is a ``slide_part`` row, a file of another series beside it none; 1.17: syntactic and diversity
audited with ``--expect``, an order list of six items, one not delivered, one slide's ``sha256`` wrong, one
item delivered and not ordered: ``order``; 1.18: syntactic and diversity, each slide with the
``overstain_share`` and ``understain_share`` of its tissue; 1.19: syntactic and diversity, each test with the
``thresholds`` its effect was labelled on, each slide with the ``mpp_source`` of the resolution its probe used,
two of them a plain image whose annotation states it). A release that bumps the schema adds its own
file here; none is ever regenerated.
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.results import SCHEMA_VERSION, QualityResult, ResultsError, load_result

FIXTURES = Path(__file__).parent / "fixtures" / "results"
RELEASED = sorted(FIXTURES.glob("results-*.json"))
runner = CliRunner()


def _version(path: Path) -> str:
    return path.stem.removeprefix("results-")


def test_every_released_version_has_a_fixture_written_by_that_version() -> None:
    versions = [_version(p) for p in RELEASED]
    assert {"1.0", "1.1"} <= set(versions)
    for path in RELEASED:
        assert json.loads(path.read_text())["schema_version"] == _version(path)
    major = SCHEMA_VERSION.split(".")[0]
    assert all(v.split(".")[0] == major for v in versions)  # same major: every one must still load


@pytest.mark.parametrize("path", RELEASED, ids=_version)
def test_an_old_result_loads_renders_and_gates(path: Path, tmp_path: Path) -> None:
    result = QualityResult.load(path)
    assert result.schema_version == _version(path)
    assert result.syntactic.files_total > 0
    if result.diversity is not None:  # stored since 1.2; earlier results get them when they load
        assert [g.passed for g in result.diversity.gates] == [result.diversity.passed]
    res = runner.invoke(app, ["report", str(path), "-o", str(tmp_path / "report.html")])
    assert res.exit_code == 0, res.output
    assert "Syntactic accuracy" in (tmp_path / "report.html").read_text(encoding="utf-8")
    gate = ["gate", str(path)]
    if "digest" not in json.loads(path.read_text(encoding="utf-8")):  # before 1.10: nothing checks it
        res = runner.invoke(app, gate)
        assert res.exit_code == 2 and "--allow-undigested" in res.output, res.output
        gate.append("--allow-undigested")
    res = runner.invoke(app, gate)
    assert res.exit_code == 1, res.output  # both fixtures fail syntactic: a verdict, not a usage error
    assert "syntactic" in res.output


@pytest.mark.parametrize("old,new", list(combinations(RELEASED, 2)), ids=lambda p: _version(p))
def test_results_of_two_versions_diff(old: Path, new: Path) -> None:
    res = runner.invoke(app, ["diff", str(old), str(new), "--format", "markdown"])
    assert res.exit_code == 0, res.output
    assert "syntactic" in res.output


@pytest.mark.parametrize("path", RELEASED, ids=_version)
def test_an_old_result_serves_as_baseline(path: Path, clean_batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = runner.invoke(app, ["audit", str(clean_batch), "--out", str(out), "--baseline", str(path)])
    assert res.exit_code in (0, 1), res.output
    drift = QualityResult.load(out / "results.json").diversity.drift
    assert drift is not None and drift.baseline.path == str(path)
    assert drift.variables


NEWEST = FIXTURES / "results-1.16.json"
SINCE_1_10 = ("digest", "disabled_checks")
"""Top-level members a 1.16 result holds that a result of 1.9 did not (``batch.files``,
``findings[].counted_values``, ``redelivery.fixed_*`` and ``semantic.lq`` too)."""


def _relabelled(tmp_path: Path, version: str, strip_since_1_10: bool = True, reseal: bool = False) -> Path:
    """The newest fixture stating ``version``; ``strip_since_1_10``: without any member schema 1.10
    or later added; ``reseal``: its digest computed again over what it now holds (anyone can)."""
    from dqm.digest import seal_results

    data = json.loads(NEWEST.read_text(encoding="utf-8"))
    data["schema_version"] = version
    if strip_since_1_10:
        for key in SINCE_1_10:
            data.pop(key, None)
        data["batch"].pop("files", None)
        for finding in data["findings"]:
            finding.pop("counted_values", None)
        for section, keys in (("redelivery", ("fixed_total", "fixed_by_code")), ("semantic", ("lq",))):
            for key in keys:
                (data.get(section) or {}).pop(key, None)
    text = json.dumps(data, ensure_ascii=False)
    if reseal:
        data.pop("digest", None)
        text = seal_results(json.dumps(data, ensure_ascii=False), keep_canonical=False)[0]
    path = tmp_path / "results.json"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("version", "strip", "reseal", "holds"),
    [
        # what a 1.9 result never held, 1.10's members deleted: the codes its checks can raise
        ("1.9", True, False, "holds checks[].codes[].code DEID_SLIDE_UNSEARCHED, which schema 1.13 added"),
        ("1.6", True, False, "holds run_id, which schema 1.7 added"),
        ("1.0", True, False, "holds checks, which schema 1.1 added"),
        # a digest made again over the relabelled content proves nothing about its label
        ("1.12", False, True, "holds findings[].counted_values, which schema 1.13 added"),
        ("1.9", False, True, "holds digest, which schema 1.10 added"),
        # a DICOM slide's series is fingerprinted from 1.16 on: labelled 1.15, checked by its .dcm alone
        ("1.15", False, True, "holds batch.files[] slide_part dicom/frames, which schema 1.16 added"),
    ],
)
@pytest.mark.parametrize("command", ["report", "gate", "diff"])
def test_a_result_labelled_older_than_what_it_holds_is_refused(
    tmp_path: Path, version: str, strip: bool, reseal: bool, holds: str, command: str
) -> None:
    """A 1.16 result stating 1.9 with what 1.10 added deleted was read as one written before 1.10:
    unchecked, with a warning (only ``dqm gate`` refused it, and took it with
    ``--allow-undigested``); one stating 1.12 with its digest made again was read as sealed. Each
    holds what its stated version did not have, and every reader refuses it (exit 2), saying what."""
    path = _relabelled(tmp_path, version, strip, reseal)
    line = {
        "report": ["report", str(path), "-o", str(tmp_path / "r.html")],
        "gate": ["gate", str(path), "--allow-undigested"],
        "diff": ["diff", str(NEWEST), str(path)],
    }[command]
    got = runner.invoke(app, line)
    said = " ".join(got.output.split())
    assert got.exit_code == 2, said
    assert "which schema" in said and "relabelled? Refused" in said
    assert not (tmp_path / "r.html").exists()
    with pytest.raises(ResultsError) as refused:
        load_result(path, unsealed=lambda _warning: None)
    assert f"{path} states results schema {version} but {holds}: written since" in str(refused.value)


@pytest.mark.parametrize("path", RELEASED, ids=_version)
def test_a_genuine_result_of_each_version_holds_nothing_newer_than_its_label(path: Path) -> None:
    from dqm.results import _newer_than_stated

    data = json.loads(path.read_text(encoding="utf-8"))
    assert _newer_than_stated(path, data) is None
    # one version earlier, each holds something its version added (1.8 and 1.9 added nothing these
    # fixtures hold: 1.8's stain descriptors and 1.9's batch effects came in 1.8)
    if _version(path) not in ("1.0", "1.8", "1.9"):
        earlier = f"1.{int(_version(path).split('.')[1]) - 1}"
        assert _newer_than_stated(path, {**data, "schema_version": earlier}) is not None, earlier


@pytest.mark.parametrize("member", ["overstain_share", "understain_share"])
def test_a_result_labelled_1_17_holding_the_stain_shares_is_refused_as_newer(member: str) -> None:
    """Slide summaries gained the stain shares ``artefacts.stain`` compares with the batch: a file
    that holds them was written by a dqm of 1.18 at least, and one labelled 1.17 is refused as
    relabelled (it was taken as a 1.17 file, and an older dqm refused it as malformed)."""
    from dqm.results import _newer_than_stated

    path = FIXTURES / "results-1.17.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    next(item["slide"] for item in data["items"] if item.get("slide"))[member] = 0.01
    said = _newer_than_stated(path, data)
    assert said is not None and f"holds items[].slide.{member}, which schema 1.18 added" in said
    assert _newer_than_stated(path, {**data, "schema_version": "1.18"}) is None


def test_a_result_labelled_1_18_holding_the_pen_share_is_refused_as_newer() -> None:
    """Slide summaries gained the pen share ``artefacts.stain`` reads (ink leaves a slide's nuclei's
    density out): a file holding it was written by a dqm of 1.19 at least."""
    from dqm.results import _newer_than_stated

    path = FIXTURES / "results-1.18.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    next(item["slide"] for item in data["items"] if item.get("slide"))["colour_pen_share"] = 0.07
    said = _newer_than_stated(path, data)
    assert said is not None and "holds items[].slide.colour_pen_share, which schema 1.19 added" in said
    assert _newer_than_stated(path, {**data, "schema_version": "1.19"}) is None


def test_a_label_older_than_this_dqm_is_checked_for_everything_added_since() -> None:
    """The check was skipped for a label as new as the newest version the tables named (1.15, while
    dqm wrote 1.16): a 1.16 result relabelled 1.15 was read as 1.15, its DICOM series unchecked.
    Only a label of this dqm's own schema (or later) is taken as it is; the tables name no later one."""
    from dqm import results

    assert tuple(int(n) for n in results.SCHEMA_VERSION.split(".")) == results._CURRENT
    named = [since for since, _ in results.NEWER_MEMBERS] + [since for since, _, _ in results.NEWER_FOUND]
    named += [since for _, table in results.NEWER_VALUES for since in table.values()]
    assert max(named) <= results._CURRENT
    newest = json.loads(NEWEST.read_text(encoding="utf-8"))
    assert results._newer_than_stated(NEWEST, newest) is None
    assert results._newer_than_stated(NEWEST, {**newest, "schema_version": "1.15"}) is not None


def _with_parts(slides: list[str], parts: list[str]) -> dict:
    """A results object as 1.15 wrote one: each item's ``image_path`` as its manifest spelt it
    (``./d/x.dcm``), its ``batch.files[]`` row normalised (``d/x.dcm``), slides then parts."""
    return {
        "schema_version": "1.15",
        "items": [{"image_path": s} for s in slides],
        "batch": {
            "files": [{"path": s.removeprefix("./"), "role": "slide"} for s in slides]
            + [{"path": p, "role": "slide_part"} for p in parts]
        },
    }


@pytest.mark.parametrize(
    ("slides", "parts", "of_1_16"),
    [
        (["a/x.tif"], ["a/x.Full"], ["a/x.Full"]),  # a Trestle slide's macro image
        (["a/x.DCM", "b/y.tif"], ["a/frames", "a/z.dcm"], ["a/frames", "a/z.dcm"]),  # a DICOM series
        (
            ["./d/boxes_0.dcm", "root.dcm"],
            ["d/boxes_1.dcm", "rootframes"],
            ["d/boxes_1.dcm", "rootframes"],
        ),  # b5
        (["m.mrxs", "d/s.dcm"], ["m/Slidedat.ini", "m/Data0.dat", "m/d/x.dat"], []),  # MIRAX's own
        (
            ["./d/k.vms", "d/s.dcm"],
            ["d/img.jpg", "d/s.Full"],
            [],
        ),  # a VMS key file's, beside a DICOM slide (b6)
        (["k.vms", "d/boxes_0.dcm"], ["d/img.jpg"], []),  # a VMS at the root naming d/img.jpg (b3)
        (
            ["w/k2.vms", "d/s.dcm"],
            ["d/real2.jpg"],
            [],
        ),  # listed by the file its link w/img2.jpg resolves to (b3)
        (["d/s.dcm"], ["e/frames", "d/sub/frames"], []),  # not in the slide's folder
    ],
)
def test_the_parts_only_1_16_lists_are_told_by_their_slides(
    slides: list[str], parts: list[str], of_1_16: list[str]
) -> None:
    from dqm.results import parts_of_1_16

    assert list(parts_of_1_16(_with_parts(slides, parts))) == of_1_16


def test_every_code_a_released_version_did_not_list_is_named_with_the_version_that_added_it() -> None:
    """A code no check of 1.18 listed (``checks[].codes``) is in :data:`dqm.results.CODES_SINCE` with a
    later version: a result labelled 1.18 that holds one is then refused as newer. ``deid.other_names``'
    codes and ``SLIDE_PART_UNREADABLE`` came with 1.19 unnamed there (the older versions' gaps are
    those of codes the table measured over the history: not checked here)."""
    from dqm import results
    from dqm.results import CODES_SINCE
    from validators import REGISTRY

    declared = {code for spec in REGISTRY.values() for code in spec.codes}
    for path in RELEASED:
        version = tuple(int(n) for n in _version(path).split("."))
        if not (1, 18) <= version < results._CURRENT:  # the label of this dqm's own schema: taken as it is
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        listed = {entry["code"] for check in data["checks"] for entry in check["codes"]}
        unnamed = sorted(code for code in declared - listed if code not in CODES_SINCE)
        assert not unnamed, (path.name, unnamed)


def test_a_result_of_a_newer_schema_holding_what_this_dqm_does_not_know_says_so(tmp_path: Path) -> None:
    """A results.json written by a later dqm (a later minor schema) holding a member this one does
    not know was refused as one that does not match the schema ("Extra inputs are not permitted"),
    as if hand-edited: it says the file is newer, which version reads it, and gate exits 2."""
    data = json.loads((FIXTURES / "results-1.18.json").read_text(encoding="utf-8"))
    data.pop("digest", None)
    major, minor = (int(n) for n in SCHEMA_VERSION.split("."))
    later = f"{major}.{minor + 1}"
    path = tmp_path / "results.json"
    path.write_text(json.dumps({**data, "schema_version": later, "added_later": {"x": 1}}), encoding="utf-8")
    with pytest.raises(ResultsError, match=f"newer dqm \\(results schema {later}; this dqm reads up to"):
        load_result(path)
    res = runner.invoke(app, ["gate", str(path), "--allow-undigested"])
    assert res.exit_code == 2 and "writtenbyanewerdqm" in "".join(res.output.split()), res.output
    # a file of this schema holding the same is still one that does not match it
    path.write_text(
        json.dumps({**data, "schema_version": SCHEMA_VERSION, "added_later": 1}), encoding="utf-8"
    )
    with pytest.raises(ResultsError, match="does not match the results schema"):
        load_result(path)


def test_a_newer_schema_with_a_known_member_of_another_type_is_refused_naming_it(tmp_path: Path) -> None:
    """A later minor results.json whose error is not only an unknown member (``dqm_version`` a number)
    was told it was written by a newer dqm, which would refuse it too, and the error was hidden:
    it is refused as not matching the schema, the member named."""
    data = json.loads((FIXTURES / "results-1.18.json").read_text(encoding="utf-8"))
    data.pop("digest", None)
    major, minor = (int(n) for n in SCHEMA_VERSION.split("."))
    later = f"{major}.{minor + 1}"
    path = tmp_path / "results.json"
    path.write_text(
        json.dumps({**data, "schema_version": later, "dqm_version": 5, "added_later": 1}), encoding="utf-8"
    )
    with pytest.raises(ResultsError, match="does not match the results schema") as caught:
        load_result(path)
    assert "dqm_version" in str(caught.value) and "newer dqm" not in str(caught.value)


@pytest.mark.parametrize(
    "extra", [{"added_later": 1}, {"dqm_version": 5}, {"bad\nkey\x1b[2J": 1, "dqm_version": 5}]
)
def test_a_stated_version_or_key_is_printed_on_one_line(tmp_path: Path, extra: dict[str, object]) -> None:
    """A stated version of "1.20\\n" (``int`` takes "20\\n") or a member's name holding a line break
    or an escape sequence was printed as it is: a line break of its own in the error line. They are
    escaped."""
    data = json.loads((FIXTURES / "results-1.18.json").read_text(encoding="utf-8"))
    data.pop("digest", None)
    major, minor = (int(n) for n in SCHEMA_VERSION.split("."))
    path = tmp_path / "results.json"
    path.write_text(
        json.dumps({**data, "schema_version": f"{major}.{minor + 1}\n", **extra}), encoding="utf-8"
    )
    with pytest.raises(ResultsError) as caught:
        load_result(path)
    text = str(caught.value)
    assert f"{major}.{minor + 1}\\x0a" in text and "\x1b" not in text, text
    assert all(line.startswith("  ") for line in text.split("\n")[1:]), text  # each problem on its own line
    assert len(extra) == 1 or "bad\\x0akey\\x1b[2J" in text, text
