"""Identifiers planted in every field of a batch reach no output file, no file of the result cache
and no printed line of any command; the masked names still match across dqm's own round trips
(baseline, diff, sample → ingest, an audit reusing the cache)."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app

RRN = "900101-1234567"
EMAIL = "kim.minsu@hospital.example"
PHONE = "010-2345-6789"
NAME = "Patient name:\tHong Gildong"
"""A name after a tab: ``\\t`` in JSON and in a class quoted by a finding, where the mask must see it."""
PLANTED = (RRN, "1234567", EMAIL, PHONE, "Gildong")

runner = CliRunner()


def _plant(batch: Path) -> None:
    """An identifier in every field the batch format has."""
    manifest = batch / "manifest.csv"
    rows = list(csv.DictReader(manifest.read_text().splitlines()))
    first, second, third, fourth = rows[:4]
    first["slide_id"] = f"S{RRN}"  # slide id
    first["site"] = RRN  # manifest cell
    second["scanner"] = f"call {PHONE}"  # clinical value
    second["institution"] = f"Seoul-A {EMAIL}"  # a stratum of the review sample
    for row, name in ((second, f"{RRN}.json"), (third, f"id_{RRN}_HE.json")):  # file names
        src = batch / row["annotation_path"]
        src.rename(src.with_name(name))
        row["annotation_path"] = f"annotations/{name}"
    for row in rows:  # a column named with an identifier (a header copied from a patient list)
        row[f"ref {RRN}"] = "x"
    image = batch / fourth["image_path"]
    image.rename(image.with_name(f"{RRN}.tiff"))
    fourth["image_path"] = f"slides/{RRN}.tiff"
    with manifest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    path = batch / third["annotation_path"]
    doc = json.loads(path.read_text())
    doc["lesions"][0]["class"] = f"bcc {EMAIL}"  # class name
    props = doc["lesions"][-1].setdefault("properties", {})
    props[PHONE] = "x"  # JSON key
    props["comment"] = f"RRN {RRN}, mail {EMAIL}"  # JSON value
    path.write_text(json.dumps(doc))
    path = batch / second["annotation_path"]
    doc = json.loads(path.read_text())
    doc["lesions"][0]["class"] = NAME  # class name with a tab: escaped in every output
    path.write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dqm.synth import build_batch

    batch = tmp_path_factory.mktemp("planted") / "batch"
    build_batch(batch, 4, seed=5, defect_rate=0.0, max_size=256)
    _plant(batch)
    return batch


def _invoke(args: list[str], outputs: list[str], ok: tuple[int, ...] = (0, 1)) -> str:
    res = runner.invoke(app, args)
    assert res.exit_code in ok, res.output
    outputs.append(f"$ dqm {args[0]}\n{res.output}")
    return res.output


def test_no_identifier_reaches_any_output(
    planted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    out = tmp_path / "out"
    printed: list[str] = []
    j1 = ["--workers", "1"]
    idmap = tmp_path / "private" / "ids.json"

    _invoke(["validate", str(planted), "--json", str(out / "validate.json"), *j1], printed)
    _invoke(["audit", str(planted), "--out", str(out / "a1"), "--identifier-map", str(idmap), *j1], printed)
    waivers = tmp_path / "waivers.yaml"  # patterns that name identifiers; one matches nothing (a warning)
    waivers.write_text(
        f"waivers:\n  - check: deid.file_names\n    item: 'S{RRN}'\n    reason: 'consented, {EMAIL}'\n"
        f"    approved_by: '{PHONE}'\n    expires: 2999-01-01\n"
        f"  - code: NO_SUCH_CODE\n    file: 'annotations/{RRN}.json'\n    reason: r\n    approved_by: a\n"
        "    expires: 2999-01-01\n"
    )
    _invoke(["audit", str(planted), "--out", str(out / "a2"), "--baseline", str(out / "a1" / "results.json"),
             "--waivers", str(waivers), *j1], printed)  # fmt: skip
    uses = json.loads((out / "a2" / "results.json").read_text())["waivers"]["uses"]
    assert [u["status"] for u in uses] == ["active", "unused"]  # the real id matched before masking
    _invoke(["gate", str(out / "a2" / "results.json"), "--new-only", str(out / "a1"), "--waivers", str(waivers)],
            printed, (0, 1, 3))  # fmt: skip
    _invoke(["fixlist", str(out / "a2" / "results.json"), "--out", str(out / "fix"), "--lot", f"Seoul-A {EMAIL}"],
            printed, (0,))  # fmt: skip
    _invoke(["report", str(out / "a1" / "results.json"), "-o", str(out / "r" / "report.html"),
             "--junit", str(out / "r" / "junit.xml"), "--summary", str(out / "r" / "summary.md"),
             "--quality-table", str(out / "r" / "quality.csv")], printed)  # fmt: skip
    _invoke(["gate", str(out / "a1" / "results.json")], printed, (0, 1, 3))
    _invoke(["diff", str(out / "a1" / "results.json"), str(out / "a2" / "results.json")], printed)
    _invoke(["diff", str(out / "a1" / "results.json"), str(out / "a2" / "results.json"), "-f", "markdown",
             "-o", str(out / "diff.md")], printed)  # fmt: skip
    _invoke(
        ["sample", str(planted), "--out", str(out / "review"), "--identifier-map", str(idmap), *j1], printed
    )

    _invoke(["sample", str(planted), "--out", str(out / "review2"), "--results", str(out / "a1" / "results.json"), *j1], printed)  # fmt: skip

    # The review round trip: verdicts for the masked slide ids of the plan are matched by ingest.
    plan = list(csv.DictReader((out / "review" / "review_plan.csv").read_text().splitlines()))
    again = list(csv.DictReader((out / "review2" / "review_plan.csv").read_text().splitlines()))
    assert sorted(r["slide_id"] for r in again) == sorted(r["slide_id"] for r in plan)
    assert "not found in the batch" not in (out / "review2" / "review.html").read_text()
    assert any(r["slide_id"].startswith("S[KOREAN_RRN-") for r in plan)
    verdicts = tmp_path / "verdicts.csv"
    with verdicts.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["slide_id", "reviewer", "verdict"])
        w.writerows([r["slide_id"], "kim", "pass"] for r in plan)
    said = _invoke(["review", "ingest", "--plan", str(out / "review"), str(verdicts), "--out", str(out / "sem")],
                   printed, (0,))  # fmt: skip
    assert "decision: ACCEPT" in said
    sem = json.loads((out / "sem" / "semantic.json").read_text())
    assert sem["n_reviewed"] == sem["sample_size"] == len(plan)

    # The per-item record cache (OUT/.dqm-cache) holds what the outputs hold, masked, and is still
    # reused: an audit from a1's cache finds every item there and writes the same findings,
    # thumbnails drawn from the slides included (the records get the real paths back).
    said = _invoke(["audit", str(planted), "--out", str(out / "a3"), "--cache", str(out / "a1" / ".dqm-cache"), *j1],
                   printed)  # fmt: skip
    assert "4 of 4 items unchanged since an earlier run" in said
    first = json.loads((out / "a1" / "results.json").read_text())
    third = json.loads((out / "a3" / "results.json").read_text())
    for part in ("items", "findings", "syntactic", "thumbnails"):
        assert third[part] == first[part], part
    assert {t["source"] for t in third["thumbnails"]} == {"slide"}

    files = [p for p in out.rglob("*") if p.is_file()]
    cache = [p for p in files if ".dqm-cache" in p.parts]
    assert {p.name for p in cache} >= {"records.sqlite"}
    assert stat.S_IMODE((out / "a1" / ".dqm-cache").stat().st_mode) == 0o700  # owner-only all the same
    assert len(files) >= 20
    leaks = [
        f"{s!r} in {where}"
        for where, text in [
            *((str(p.relative_to(out)), p.read_text(errors="replace")) for p in files),
            *(("stdout/stderr", t) for t in printed),
        ]
        for s in PLANTED
        if s in text
    ]
    assert leaks == []
    for name in (
        "a1/results.json",
        "a1/report.html",
        "validate.json",
        "review/review.html",
        "review/review_plan.json",
    ):
        assert "[KOREAN_RRN-" in (out / name).read_text(), name
    assert "[EMAIL-" in (out / "a1" / "results.json").read_text()
    # The same identifier has the same token in every output of every run (baseline and diff match).
    second = json.loads((out / "a2" / "results.json").read_text())
    assert sorted(i["slide_id"] for i in first["items"]) == sorted(i["slide_id"] for i in second["items"])
    drift = second["diversity"]["drift"]
    assert drift is not None and all(v["new"] == v["vanished"] == [] for v in drift["variables"])

    # Only the map, on request and owner-only, leads back to the real names.
    assert stat.S_IMODE(idmap.stat().st_mode) == 0o600
    back = json.loads(idmap.read_text())
    assert f"S{RRN}" in back.values() and f"slides/{RRN}.tiff" in back.values()
    assert all(RRN not in k for k in back)


def test_deid_checks_scan_slide_ids_class_names_and_property_names(
    planted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    res = runner.invoke(app, ["validate", str(planted), "--json", str(tmp_path / "f.json"), "--workers", "1"])
    assert res.exit_code == 1, res.output
    found = json.loads((tmp_path / "f.json").read_text())
    assert any(f["code"] == "DEID_ANNOTATION_QUASI" and "the class name" in f["message"] for f in found)
    assert any(f["code"] == "DEID_ANNOTATION_QUASI" and "a property name" in f["message"] for f in found)
    assert any(f["code"] == "DEID_FILENAME_IDENTIFIER" and "the slide id" in f["message"] for f in found)
    (column,) = [f for f in found if f["code"] == "DEID_COLUMN_IDENTIFIER"]  # once, not once a row
    header = next(csv.reader((planted / "manifest.csv").read_text().splitlines()))
    assert "a column name" in column["message"]  # where: the column's position, not its (masked) name
    assert column["location"]["column"] == f"#{header.index(f'ref {RRN}') + 1}"


def test_label_pictures_reach_a_report_only_when_asked(
    planted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dqm.results import QualityResult

    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    audit = tmp_path / "a"
    runner.invoke(app, ["audit", str(planted), "--out", str(audit), "--workers", "1"])
    result = QualityResult.load(audit / "results.json")
    label = "data:image/jpeg;base64,TEFCRUwtUElYRUxT"
    items = [
        i.model_copy(update={"slide": i.slide.model_copy(update={"label_thumbnail": label})})
        if i.slide
        else i
        for i in result.items
    ]
    result.model_copy(update={"items": items}).dump(tmp_path / "with_labels.json")
    plain, asked = tmp_path / "plain.html", tmp_path / "asked.html"
    runner.invoke(app, ["report", str(tmp_path / "with_labels.json"), "-o", str(plain)])
    runner.invoke(app, ["report", str(tmp_path / "with_labels.json"), "-o", str(asked), "--label-thumbnails"])
    assert label not in plain.read_text()
    assert label in asked.read_text()


def test_an_unreadable_mask_key_is_a_usage_error(
    planted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DQM_MASK_KEY", raising=False)
    short = tmp_path / "short.key"
    short.write_bytes(b"abc")
    for key in (short, tmp_path / "absent.key"):
        res = runner.invoke(app, ["validate", str(planted), "--mask-key", str(key), "--workers", "1"])
        assert res.exit_code == 2, res.output


def test_a_masked_plan_finds_its_slides_in_the_batch(
    planted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile: object
) -> None:
    from dqm.identifiers import Masker, load_mask_key
    from dqm.semantic.ingest import delivered_loader
    from dqm.semantic.planfile import read_plan
    from dqm.semantic.server.sample import ReviewSample

    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    res = runner.invoke(app, ["sample", str(planted), "--out", str(tmp_path), "--workers", "1"])
    assert res.exit_code == 0, res.output
    plan = read_plan(tmp_path)
    masked = [s.slide_id for s in plan.sample if "[KOREAN_RRN-" in s.slide_id]
    assert masked
    masker = Masker(profile.deid, load_mask_key())  # type: ignore[attr-defined]
    sample = ReviewSample(plan, planted, profile, masker)  # type: ignore[arg-type]
    assert sample.missing_from_batch == []
    assert all(s.record for s in sample.slides)
    assert all(
        RRN in (s.image_path or "") + (s.annotation_path or "") + str(s.record)
        for s in sample.slides
        if s.slide_id in masked
    )
    load = delivered_loader(planted, plan, profile, masker)  # type: ignore[arg-type]
    for s in plan.sample:
        assert not isinstance(load(s.slide_id), str), s.slide_id


def test_exported_verdicts_mask_reviewers_comments(
    planted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dqm.semantic.planfile import read_plan
    from dqm.semantic.server.commands import database

    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    review = tmp_path / "review"
    assert runner.invoke(app, ["sample", str(planted), "--out", str(review), "--workers", "1"]).exit_code == 0
    slide = read_plan(review).sample[0].slide_id
    db = database(review, create=True)
    kim = db.reviewer_by_token(db.add_reviewer("Dr. Kim"))
    db.record(kim, slide, "fail", ["other"], f"patient called from {PHONE}, mail {EMAIL}")
    db.close()
    res = runner.invoke(app, ["review", "export", str(review), "--out", str(tmp_path / "v.json")])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "v.json").read_text()
    assert PHONE not in text and EMAIL not in text and "[EMAIL-" in text
    assert [v["slide_id"] for v in json.loads(text)["verdicts"]] == [slide]


def test_an_internal_error_log_is_masked(
    planted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from dqm.cli import main

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"a bug in dqm on slide S{RRN}")

    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    monkeypatch.setattr("dqm.audit.build_result", broken)
    monkeypatch.setattr(
        sys, "argv", ["dqm", "audit", str(planted), "--out", str(tmp_path / "out"), "-j", "1"]
    )
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 4
    log = Path(capsys.readouterr().err.strip().rsplit(" ", 1)[-1])
    text = log.read_text()
    log.unlink()
    assert "a bug in dqm on slide S[KOREAN_RRN-" in text and RRN not in text
