"""``benchmarks/external_he3.py``: the third held-out set keeps out every file and patient of both
tuning lists and of the shared data, counts BreakHis patients across repositories, and its folder is
assembled (sha256 checked, manifest named as ``bench_artefacts.py --external`` reads it) by the first
set's code. Only fake mirrors here: the set itself is never probed before its one measurement."""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import benchmark
from tests.test_external_he import _mirror
from tests.test_external_he2 import _assemble_one, _png, _tuning_sets

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _tool() -> Any:
    return benchmark("external_he3")


def _second_list(tool: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """Point the tool at a second list holding ``data``, of BreakHis patient ``14-99``."""
    row = dict.fromkeys(tool.first.COLUMNS, "")
    row.update(path="x.png", sha256=hashlib.sha256(data).hexdigest(), source="breakhis:14-99")
    tool.first.write_list([row], tmp_path / "second.tsv")
    monkeypatch.setattr(tool, "SECOND_LIST", tmp_path / "second.tsv")


def test_the_rule_leaves_out_both_tuning_lists_and_counts_breakhis_patients_across_repositories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _tool()
    tuning = {"first": _png(1), "second": _png(2), "shared": _png(3)}
    a = _mirror(
        tmp_path / "mirror",
        "one/breakhis",
        {
            "train/SOB_B_A-14-22549AB-100-001.png": _png(10),
            "train/SOB_B_A-14-22549CD-100-002.png": _png(11),
            "train/SOB_M_DC-14-5000-100-001.png": _png(12),
            "train/SOB_M_DC-14-99-100-001.png": _png(13),
            "train/in_first_list.png": tuning["first"],
            "train/in_second_list.png": tuning["second"],
            "train/in_shared_data.png": tuning["shared"],
            "train/notes.txt": b"not an image",
        },
    )
    _mirror(
        tmp_path / "mirror",
        "two/breakhis",
        {
            "hist/SOB_B_F-14-22549G-40-001.png": _png(14),
            "hist/SOB_M_LC-14-5000-400-009.png": _png(15),
            "hist/SOB_M_LC-14-5000-400-009_fft.png": _png(16),
        },
    )
    b = _mirror(
        tmp_path / "mirror",
        "three/root",
        {
            "README.md": b"# examples",
            "Non-Tumor___Case-3-A17-7799-34542_102.jpg": _png(19),
            "Viable___Case-3-A15-2939-11262_112.jpg": _png(20),
            "Viable___Case-3-B1-5-6_3.jpg": _png(21),
            "lung_aca.jpeg": _png(17),
            "broken.jpg": b"\r\n",
            "small.png": _png(18, (242, 231)),
        },
    )
    _tuning_sets(tool, tmp_path, monkeypatch, tuning["first"], tuning["shared"])
    _second_list(tool, tmp_path, monkeypatch, tuning["second"])
    monkeypatch.setattr(
        tool,
        "SOURCES",
        (
            tool.first.Source("one/breakhis", "train", "BreakHis", "breast", "", "x"),
            tool.first.Source("two/breakhis", "hist", "BreakHis", "breast", "", "x"),
            tool.first.Source("three/root", "", "LC25000", "", "", "none"),
        ),
    )

    rows, notes = tool.first.select(tmp_path / "mirror", tool.this_rule())

    assert [(r["path"], r["source"], r["organ"]) for r in rows] == [
        ("train/SOB_B_A-14-22549AB-100-001.png", "breakhis:14-22549", "breast"),
        ("train/SOB_B_A-14-22549CD-100-002.png", "breakhis:14-22549", "breast"),
        ("train/SOB_M_DC-14-5000-100-001.png", "breakhis:14-5000", "breast"),
        ("hist/SOB_M_LC-14-5000-400-009.png", "breakhis:14-5000", "breast"),
        ("Non-Tumor___Case-3-A17-7799-34542_102.jpg", "osteosarcoma:Case-3", ""),
        ("Viable___Case-3-A15-2939-11262_112.jpg", "osteosarcoma:Case-3", ""),
        ("lung_aca.jpeg", "three/root:lung_aca", "lung"),
    ]
    assert {r["commit"] for r in rows if r["repo"] == "one/breakhis"} == {a}
    assert {r["commit"] for r in rows if r["repo"] == "three/root"} == {b}
    said = "\n".join(notes)
    assert "in_first_list.png: byte-identical to a file of first.tsv" in said
    assert "in_second_list.png: byte-identical to a file of second.tsv" in said
    assert "in_shared_data.png: byte-identical to a file of shared/data/real" in said
    assert "SOB_M_DC-14-99-100-001.png: breakhis:14-99 is a patient or slide of second.tsv" in said
    assert "SOB_B_F-14-22549G-40-001.png: 2 images of breakhis:14-22549 listed already" in said
    assert "SOB_M_LC-14-5000-400-009_fft.png: augmented copy" in said
    assert "Viable___Case-3-B1-5-6_3.jpg: 2 images of osteosarcoma:Case-3 listed already" in said
    assert "three/root:broken.jpg: not an image PIL can read" in said
    assert "three/root:small.png: 242x231, under 256 px a side" in said
    assert "notes.txt" not in said and "README" not in said


def test_out_assembles_the_third_list_and_names_a_missing_mirror(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()

    code, out = _assemble_one(tool, tmp_path, "colon_n.jpeg", _png(9), organ="colon")

    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["external_he.tsv", "he__colon_n.jpeg"]
    manifest = tool.first.read_list(out / "external_he.tsv")
    assert [(r["file"], r["organ"]) for r in manifest] == [("he__colon_n.jpeg", "colon")]
    err = capsys.readouterr().err
    assert "owner/absent" in err and "no mirror" in err and "fetch github:owner/absent" in err

    changed = {**tool.first.read_list(tmp_path / "list.tsv")[0], "sha256": "0" * 64}
    tool.first.write_list([changed], tmp_path / "changed.tsv")
    code = tool.main(
        [
            "--mirror-root",
            str(tmp_path / "mirror"),
            "--list",
            str(tmp_path / "changed.tsv"),
            "--out",
            str(out),
        ]
    )

    assert code == 1
    assert "the list says " + "0" * 64 in capsys.readouterr().err
    assert tool.first.read_list(out / "external_he.tsv") == []


def test_the_committed_third_list_shares_nothing_with_the_tuning_sets() -> None:
    tool = _tool()
    rows = tool.first.read_list(tool.LIST)
    tuning = tool.first.read_list(tool.FIRST_LIST) + tool.first.read_list(tool.SECOND_LIST)
    assert len(rows) >= 50
    assert all(len(r["sha256"]) == 64 and len(r["commit"]) == 40 for r in rows)
    assert len({tool.first.file_name(r) for r in rows}) == len(rows)
    assert all(min(int(r["width"]), int(r["height"])) >= tool.first.MIN_SIDE for r in rows)
    assert not {r["sha256"] for r in rows} & {r["sha256"] for r in tuning}
    assert not {r["source"] for r in rows} & {r["source"] for r in tuning}
    assert not {r["repo"].split("/")[0] for r in rows} & {r["repo"].split("/")[0] for r in tuning}
    assert {r["repo"] for r in rows} <= {s.repo for s in tool.SOURCES}
    assert not {r["repo"] for r in rows} & set(tool.NOT_USED)
    if tool.SHARED_SUMS.is_file():
        shared = {
            line.split()[0] for line in tool.SHARED_SUMS.read_text(encoding="utf-8").splitlines() if line
        }
        assert not {r["sha256"] for r in rows} & shared
    assert len({r["site"].split(" (")[0] for r in rows}) >= 4
    assert len({r["organ"] for r in rows if r["organ"]}) >= 4
    assert max(Counter(r["source"] for r in rows).values()) <= tool.first.PER_SOURCE
