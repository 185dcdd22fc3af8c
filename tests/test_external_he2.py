"""``benchmarks/external_he2.py``: the second held-out set keeps out every file and patient of the
tuning sets, and its folder is assembled (sha256 checked, manifest named as ``bench_artefacts.py
--external`` reads it) by the first set's code."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import benchmark
from tests.test_external_he import _mirror

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

FOLDER = "mini_test/images"


def _tool() -> Any:
    return benchmark("external_he2")


def _png(shade: int, size: tuple[int, int] = (300, 300)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (shade, 90, 160)).save(buf, format="PNG")
    return buf.getvalue()


def _tuning_sets(
    tool: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tuned: bytes, shared: bytes
) -> None:
    """Point the tool at a first list holding ``tuned`` (of patient ``owner/he:patient_7``) and a
    shared-data checksum file holding ``shared``."""
    first = tool.first
    row = dict.fromkeys(first.COLUMNS, "")
    row.update(
        repo="other/he",
        path="images/x.png",
        sha256=hashlib.sha256(tuned).hexdigest(),
        source="owner/he:patient_7",
    )
    first.write_list([row], tmp_path / "first.tsv")
    (tmp_path / "SHA256SUMS").write_text(
        f"{hashlib.sha256(shared).hexdigest()}  ./images/a.png\n", encoding="utf-8"
    )
    monkeypatch.setattr(tool, "FIRST_LIST", tmp_path / "first.tsv")
    monkeypatch.setattr(tool, "SHARED_SUMS", tmp_path / "SHA256SUMS")


def test_the_rule_leaves_out_the_tuning_sets_files_and_patients_and_augmented_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _tool()
    tuned, shared = _png(1), _png(2)
    files = {
        f"{FOLDER}/10072.jpg": _png(3),
        f"{FOLDER}/in_first_list.png": tuned,
        f"{FOLDER}/in_shared_data.png": shared,
        f"{FOLDER}/patient_7.png": _png(4),
        f"{FOLDER}/barrdistorted_1001_0.3_0.3_14.png": _png(5),
        f"{FOLDER}/pincdistorted_1002_0.3_0.3_8.png": _png(6),
        f"{FOLDER}/deformed_alpha_1300_sigmoid_8_0.png": _png(7),
        f"{FOLDER}/36.png": _png(8),
        f"{FOLDER}/ytma49_042003_malignant1_ccd.jpg": _png(9),
        f"{FOLDER}/ytma49_042003_malignant2_ccd.jpg": _png(10),
        f"{FOLDER}/ytma49_042003_malignant3_ccd.jpg": _png(11),
    }
    commit = _mirror(tmp_path / "mirror", "owner/he", files)
    _tuning_sets(tool, tmp_path, monkeypatch, tuned, shared)
    monkeypatch.setattr(
        tool, "SOURCES", (tool.first.Source("owner/he", FOLDER, "a site", "lymph node", "", "CC0 1.0"),)
    )

    rows, notes = tool.first.select(tmp_path / "mirror", tool.this_rule())

    assert [r["path"].rsplit("/", 1)[1] for r in rows] == [
        "10072.jpg",
        "36.png",
        "ytma49_042003_malignant1_ccd.jpg",
        "ytma49_042003_malignant2_ccd.jpg",
    ]
    assert rows[2]["source"] == rows[3]["source"] == "ucsb:ytma49_042003"
    assert {(r["commit"], r["organ"], r["site"], r["licence"]) for r in rows} == {
        (commit, "lymph node", "a site", "CC0 1.0")
    }
    said = "\n".join(notes)
    assert "in_first_list.png: byte-identical to a file of first.tsv" in said
    assert "in_shared_data.png: byte-identical to a file of shared/data/real" in said
    assert "patient_7.png: owner/he:patient_7 is a patient or slide of first.tsv" in said
    assert "malignant3_ccd.jpg: 2 images of ucsb:ytma49_042003 listed already" in said
    for name in (
        "barrdistorted_1001_0.3_0.3_14",
        "pincdistorted_1002_0.3_0.3_8",
        "deformed_alpha_1300_sigmoid_8_0",
    ):
        assert f"{name}.png: augmented copy" in said


def _assemble_one(tool: Any, tmp_path: Path, path: str, data: bytes, **fields: str) -> tuple[int, Path]:
    """``tool --out`` on a list of two rows: ``data`` at ``path`` in a mirror (the row's other
    columns ``fields``), and the same row in a repository with no mirror. The exit code and the
    folder."""
    commit = _mirror(tmp_path / "mirror", "owner/he", {path: data})
    row = dict.fromkeys(tool.first.COLUMNS, "")
    row.update(repo="owner/he", commit=commit, path=path, sha256=hashlib.sha256(data).hexdigest(), **fields)
    tool.first.write_list([row, {**row, "repo": "owner/absent"}], tmp_path / "list.tsv")
    out = tmp_path / "out"
    code = tool.main(
        ["--mirror-root", str(tmp_path / "mirror"), "--list", str(tmp_path / "list.tsv"), "--out", str(out)]
    )
    return code, out


def test_out_assembles_the_second_list_for_bench_artefacts(tmp_path: Path) -> None:
    tool = _tool()

    code, out = _assemble_one(tool, tmp_path, f"{FOLDER}/10072.jpg", _png(9), organ="lymph node", mpp="")

    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["external_he.tsv", "he__10072.jpg"]
    manifest = tool.first.read_list(out / "external_he.tsv")
    assert [(r["file"], r["organ"], r["mpp"]) for r in manifest] == [("he__10072.jpg", "lymph node", "")]


def test_out_names_the_missing_mirror_with_its_fetch_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()
    row = dict.fromkeys(tool.first.COLUMNS, "")
    row.update(repo="owner/absent", commit="0" * 40, path=f"{FOLDER}/1.png", sha256="0" * 64)
    tool.first.write_list([row], tmp_path / "list.tsv")

    code = tool.main(
        ["--mirror-root", str(tmp_path), "--list", str(tmp_path / "list.tsv"), "--out", str(tmp_path / "o")]
    )

    assert code == 1
    assert "fetch github:owner/absent" in capsys.readouterr().err


def test_the_committed_second_list_shares_nothing_with_the_first() -> None:
    tool = _tool()
    rows = tool.first.read_list(tool.LIST)
    first = tool.first.read_list(tool.FIRST_LIST)
    assert len(rows) >= 50
    assert all(len(r["sha256"]) == 64 and len(r["commit"]) == 40 for r in rows)
    assert len({tool.first.file_name(r) for r in rows}) == len(rows)
    assert all(min(int(r["width"]), int(r["height"])) >= tool.first.MIN_SIDE for r in rows)
    assert not {r["sha256"] for r in rows} & {r["sha256"] for r in first}
    assert not {r["source"] for r in rows} & {r["source"] for r in first}
    assert not {r["repo"] for r in rows} & {s.repo for s in tool.first.SOURCES}
    assert {r["repo"] for r in rows} <= {s.repo for s in tool.SOURCES}
    assert len({r["site"] for r in rows}) >= 4
    assert not any("TCGA" in r["path"] or "glas" in r["path"].lower() for r in rows)
    per_source: dict[str, int] = {}
    for r in rows:
        per_source[r["source"]] = per_source.get(r["source"], 0) + 1
    assert max(per_source.values()) <= tool.first.PER_SOURCE
