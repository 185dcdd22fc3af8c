"""A person's name in a clinical column's name reaches no output: a finding names a column the
profile does not declare by its position (``#13``), in the manifest and in an annotation's clinical
block. An identifier a pattern finds was masked on output, but a name no pattern knows
(``Kim Minsoo 김민수 notes``) was the finding's column (or the last key of its pointer) and was
quoted in its message: results.json, the report, junit.xml, the fix list showed it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from reports.html import unpack_island

RRN = "900101-1234567"
COLUMN = "Kim Minsoo 김민수 notes"
NAMES = ("Minsoo", "김민수")
runner = CliRunner()


def _batch(folder: Path) -> Path:
    """Four slides; the manifest's last column is named with a person's name and its first cell
    holds an RRN, and the second slide's annotation has a clinical key so named holding one too."""
    from dqm.synth import build_batch

    batch = folder / "batch"
    build_batch(batch, 4, seed=5, defect_rate=0.0, max_size=256)
    _write_manifest(batch, lambda header: [*header, COLUMN])
    path = batch / "annotations" / "S00002.json"
    doc = json.loads(path.read_text())
    doc["clinical"][COLUMN] = f"seen {RRN}"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return batch


def _write_manifest(batch: Path, order: object) -> list[str]:
    """The manifest with its columns in ``order(header)`` (a cell in COLUMN: the RRN in the first
    row); the new header."""
    manifest = batch / "manifest.csv"
    rows = list(csv.DictReader(manifest.read_text(encoding="utf-8").splitlines()))
    header = order([c for c in rows[0] if c != COLUMN])  # type: ignore[operator]
    for k, row in enumerate(rows):
        row[COLUMN] = f"seen {RRN}" if k == 0 else "fine"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return list(header)


def _texts(folder: Path) -> list[tuple[str, str]]:
    """Every file under ``folder`` as text, a report's data island unpacked."""
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", errors="replace")
        out.append((str(path.relative_to(folder)), text))
        if path.suffix == ".html" and 'id="dqm-data"' in text:
            island = text.split('id="dqm-data"', 1)[1].split(">", 1)[1].split("<", 1)[0]
            out.append((f"{path.name} (its data)", json.dumps(unpack_island(island), ensure_ascii=False)))
    return out


def _invoke(args: list[str], ok: tuple[int, ...] = (0, 1)) -> str:
    res = runner.invoke(app, args)
    assert res.exit_code in ok, res.output
    return res.output


def every_output(batch: Path, out: Path) -> list[tuple[str, str]]:
    """What validate, audit (results.json, the report, junit.xml, records.sqlite), fixlist and
    sample write under ``out`` from ``batch``, and what they print: ``(where, text)``."""
    printed = [
        _invoke(["validate", str(batch), "--json", str(out / "validate.json"), "--workers", "1"]),
        _invoke(["audit", str(batch), "--out", str(out / "a"), "--workers", "1"]),
        _invoke(["fixlist", str(out / "a" / "results.json"), "--out", str(out / "fix")], (0,)),
        _invoke(["sample", str(batch), "--out", str(out / "review"), "--workers", "1"], (0,)),
    ]
    return [*_texts(out), *(("stdout", t) for t in printed)]


def test_a_name_in_a_column_name_reaches_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    batch = _batch(tmp_path)
    header = next(csv.reader((batch / "manifest.csv").read_text(encoding="utf-8").splitlines()))
    out = tmp_path / "out"
    texts = every_output(batch, out)
    assert len(texts) >= 10
    assert [(where, name) for where, text in texts for name in (*NAMES, RRN) if name in text] == []
    found = json.loads((out / "a" / "results.json").read_text())["findings"]
    where = {
        (f["code"], f["location"]["file"], f["location"]["pointer"], f["location"]["column"]) for f in found
    }
    assert where >= {  # the cell is found all the same, and said where by its position
        ("DEID_CLINICAL_IDENTIFIER", "manifest.csv", None, f"#{header.index(COLUMN) + 1}"),
        ("DEID_ANNOTATION_IDENTIFIER", "annotations/S00002.json", "/clinical", "#10"),
    }
    assert header.index(COLUMN) + 1 == 13
    fixlist = (out / "fix" / "fixlist.csv").read_text(encoding="utf-8")
    assert "row 1 column #13" in fixlist


def test_a_column_moved_is_named_by_its_new_position_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An item's cached record is keyed by its record's values, in no order: the manifest's
    header is part of the key now, so a column moved is not named by its old position."""
    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    batch = _batch(tmp_path)
    cache = tmp_path / "cache"

    def column() -> str:
        out = tmp_path / f"out{len(list(tmp_path.glob('out*')))}"
        _invoke(["audit", str(batch), "--out", str(out), "--workers", "1", "--cache", str(cache)])
        (hit,) = [
            f
            for f in json.loads((out / "results.json").read_text())["findings"]
            if f["code"] == "DEID_CLINICAL_IDENTIFIER" and f["location"]["file"] == "manifest.csv"
        ]
        return str(hit["location"]["column"])

    assert column() == "#13"
    header = _write_manifest(batch, lambda h: [*h[:3], COLUMN, *h[3:]])
    assert header.index(COLUMN) == 3
    assert column() == "#4"


def test_a_repeated_column_is_named_only_where_the_profile_declares_it(tmp_path: Path) -> None:
    from dqm.profile import load_profile
    from dqm.runner import RunOptions, run_batch

    batch = tmp_path / "b"
    batch.mkdir()
    header = ["slide_id", "image_path", COLUMN, COLUMN, "diagnosis", "diagnosis"]
    with (batch / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, ["s1", "slides/s1.svs", "a", "b", "BCC", "BCC"]])
    run = run_batch(batch, load_profile(), RunOptions(workers=1))
    found = [f for f in run.findings if f.code == "MANIFEST_DUPLICATE_COLUMN"]
    assert [(f.location.column, f.message) for f in found] == [
        ("#3", "two columns have the same name (columns 3 and 4); the first one is used"),
        ("diagnosis", "column 'diagnosis' appears twice (columns 5 and 6); the first one is used"),
    ]
