"""``benchmarks/external_he4.py``: the fourth held-out set keeps out every file and patient of the
three tuning lists and of the shared data, refuses a source of a tuning set's dataset, counts PANDA
biopsies, is assembled by the first set's code, and ``--alike`` finds a tuning image repeated under a
rotation or flip. Only fake mirrors and folders here: the set itself is never probed before its one
measurement."""

from __future__ import annotations

import hashlib
import io
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import benchmark
from tests.test_external_he import _mirror
from tests.test_external_he2 import _assemble_one, _png, _tuning_sets

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

SLIDE = "6f23c9de94899d380bd7a075209ef415"


def _tool() -> Any:
    return benchmark("external_he4")


def _list_with(tool: Any, path: Path, data: bytes, source: str) -> Path:
    row = dict.fromkeys(tool.first.COLUMNS, "")
    row.update(path="x.png", sha256=hashlib.sha256(data).hexdigest(), source=source)
    tool.first.write_list([row], path)
    return path


def _textured(seed: int, size: int = 300) -> Any:
    """An RGB array with structure at thumbnail scale (blobs), different for each seed."""
    import numpy as np

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (6, 6, 3)).astype(np.uint8)
    return np.kron(small, np.ones((size // 6, size // 6, 1), dtype=np.uint8))


def _save(array: Any, path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def _select_dl4eti(
    tool: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes]
) -> tuple[list[dict[str, str]], list[str]]:
    """The set's rule applied to a fake DL4ETI mirror of ``files`` alone (no tuning set shares them)."""
    _mirror(tmp_path / "mirror", tool.DL4ETI, files)
    _tuning_sets(tool, tmp_path, monkeypatch, _png(1), _png(2))
    for name in ("SECOND_LIST", "THIRD_LIST"):
        monkeypatch.setattr(tool, name, tool.FIRST_LIST)
    monkeypatch.setattr(
        tool,
        "SOURCES",
        (tool.first.Source(tool.DL4ETI, "external_dataset", "DL4ETI", "endometrium", "", "MIT"),),
    )

    rows, notes = tool.first.select(tmp_path / "mirror", tool.this_rule())
    return rows, notes


def test_the_rule_leaves_out_all_three_tuning_lists_and_counts_panda_biopsies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _tool()
    tuning = {"first": _png(1), "second": _png(2), "third": _png(3), "shared": _png(4)}
    commit = _mirror(
        tmp_path / "mirror",
        "some/prostate",
        {
            f"test/1___{SLIDE}_290_104.jpeg": _png(10),
            f"test/1___{SLIDE}_480_107.jpeg": _png(11),
            f"test/1___{SLIDE}_558_101.jpeg": _png(12),
            "test/category_0___4IMYQETX_109.png": _png(13),
            "test/SOB_M_DC-14-99-100-001.png": _png(14),
            "test/in_first_list.png": tuning["first"],
            "test/in_second_list.png": tuning["second"],
            "test/in_third_list.png": tuning["third"],
            "test/in_shared_data.png": tuning["shared"],
            "test/small.png": _png(15, (224, 224)),
            "test/notes.md": b"# not an image",
        },
    )
    _tuning_sets(tool, tmp_path, monkeypatch, tuning["first"], tuning["shared"])
    second = _list_with(tool, tmp_path / "second.tsv", tuning["second"], "ucsb:ytma1_1")
    third = _list_with(tool, tmp_path / "third.tsv", tuning["third"], "breakhis:14-99")
    monkeypatch.setattr(tool, "SECOND_LIST", second)
    monkeypatch.setattr(tool, "THIRD_LIST", third)
    monkeypatch.setattr(
        tool, "SOURCES", (tool.first.Source("some/prostate", "test", "PANDA", "prostate", "", "x"),)
    )

    rows, notes = tool.first.select(tmp_path / "mirror", tool.this_rule())

    assert [(r["path"], r["source"]) for r in rows] == [
        (f"test/1___{SLIDE}_290_104.jpeg", f"panda:{SLIDE}"),
        (f"test/1___{SLIDE}_480_107.jpeg", f"panda:{SLIDE}"),
        ("test/category_0___4IMYQETX_109.png", "some/prostate:category_0___4IMYQETX_109"),
    ]
    assert {r["commit"] for r in rows} == {commit}
    said = "\n".join(notes)
    left_out = {
        "_558_101.jpeg": f"2 images of panda:{SLIDE} listed already",
        "in_first_list.png": "byte-identical to a file of first.tsv",
        "in_second_list.png": "byte-identical to a file of second.tsv",
        "in_third_list.png": "byte-identical to a file of third.tsv",
        "in_shared_data.png": "byte-identical to a file of shared/data/real",
        "SOB_M_DC-14-99-100-001.png": "breakhis:14-99 is a patient or slide of third.tsv",
        "small.png": "224x224, under 256 px a side",
    }
    assert [name for name, why in left_out.items() if f"{name}: {why}" not in said] == []
    assert "notes.md" not in said


def test_dl4eti_images_alike_numbered_in_two_class_folders_are_two_and_only_the_first_numbers_are_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _tool()
    rows, notes = _select_dl4eti(
        tool,
        tmp_path,
        monkeypatch,
        {
            "external_dataset/EA/7.JPG": _png(20),
            "external_dataset/NE(Luteal phase)/7.JPG": _png(21),
            f"external_dataset/EA/{tool.DL4ETI_FIRST + 1}.JPG": _png(22),
        },
    )

    assert [(r["path"], r["source"]) for r in rows] == [
        ("external_dataset/EA/7.JPG", f"{tool.DL4ETI}:EA/7"),
        ("external_dataset/NE(Luteal phase)/7.JPG", f"{tool.DL4ETI}:NE(Luteal phase)/7"),
    ]
    assert [tool.file_name(r) for r in rows] == ["DL4ETI__EA_7.JPG", "DL4ETI__NE-Luteal-phase_7.JPG"]
    assert (
        f"EA/{tool.DL4ETI_FIRST + 1}.JPG: numbered over {tool.DL4ETI_FIRST} in its class folder"
        in "\n".join(notes)
    )


def test_a_source_of_a_tuning_sets_dataset_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    tool = _tool()
    monkeypatch.setattr(
        tool,
        "SOURCES",
        (
            tool.first.Source("a/new", "x", "SEED gastric (China)", "stomach", "", ""),
            tool.first.Source("b/old", "x", "BreakHis (P&D Laboratory, 100X)", "breast", "", ""),
        ),
    )

    with pytest.raises(ValueError, match=r"b/old.*BreakHis"):
        tool.this_rule()
    assert tool.refused(tool.SOURCES[0]) == ""


def test_alike_finds_a_tuning_image_repeated_under_a_flip_and_a_rotation(tmp_path: Path) -> None:
    import numpy as np

    tool = _tool()
    seen = _save(_textured(1), tmp_path / "tuning" / "a.png")
    _save(_textured(2), tmp_path / "tuning" / "b.png")
    copy = _save(np.rot90(_textured(1)[:, ::-1], k=1).copy(), tmp_path / "new" / "copy.png")
    other = _save(_textured(3), tmp_path / "new" / "other.png")
    (tmp_path / "new" / "broken.png").write_bytes(b"\r\n")

    pairs = tool.alike(tool._images(tmp_path / "new"), tool._images(tmp_path / "tuning"))

    assert pairs[0][1:] == (copy, seen)
    assert pairs[0][0] > 0.99
    assert [a for _, a, _ in pairs] == [copy, other]
    assert pairs[1][0] < 0.9


def test_alike_on_the_command_line_names_an_absent_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()
    _save(_textured(1), tmp_path / "tuning" / "a.png")
    _save(_textured(1), tmp_path / "new" / "same.png")

    code = tool.main(
        ["--alike", str(tmp_path / "new"), "--against", str(tmp_path / "tuning"), str(tmp_path / "gone")]
    )

    assert code == 0
    got = capsys.readouterr()
    assert "gone: absent, not compared" in got.err
    assert got.out.splitlines()[0].startswith("1.000\t") and "same.png" in got.out
    assert "1 images compared with 1 tuning images" in got.out


def test_out_assembles_the_fourth_list_and_names_a_missing_mirror(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()

    code, out = _assemble_one(tool, tmp_path, f"test/1___{SLIDE}_290_104.jpeg", _png(9), organ="prostate")

    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["external_he.tsv", f"he__1___{SLIDE}_290_104.jpeg"]
    assert [r["organ"] for r in tool.first.read_list(out / "external_he.tsv")] == ["prostate"]
    assert "fetch github:owner/absent" in capsys.readouterr().err


def assert_held_out(
    tool: Any, rows: list[dict[str, str]], tuning: list[dict[str, str]], shared: list[str]
) -> None:
    """A committed held-out list's rows: whole checksums, unique copies and files, at least
    :data:`MIN_SIDE` a side, no file, patient (``shared``: what the list's patient check found) or
    repository of the ``tuning`` rows or of the shared data, and only the list's sources, none
    refused."""
    assert rows
    assert all(len(r["sha256"]) == 64 and len(r["commit"]) == 40 for r in rows)
    assert len({tool.file_name(r) for r in rows}) == len(rows)
    assert len({r["sha256"] for r in rows}) == len(rows)
    assert all(min(int(r["width"]), int(r["height"])) >= tool.first.MIN_SIDE for r in rows)
    assert not {r["sha256"] for r in rows} & {r["sha256"] for r in tuning}
    assert shared == []
    assert not {r["repo"] for r in rows} & {r["repo"] for r in tuning}
    assert {r["repo"] for r in rows} <= {s.repo for s in tool.SOURCES}
    assert not any(tool.refused(s) for s in tool.SOURCES)
    if tool.SHARED_SUMS.is_file():
        sums = {line.split()[0] for line in tool.SHARED_SUMS.read_text(encoding="utf-8").splitlines() if line}
        assert not {r["sha256"] for r in rows} & sums


def test_the_committed_fourth_list_shares_nothing_with_the_tuning_sets() -> None:
    tool = _tool()
    rows = tool.first.read_list(tool.LIST)
    tuning = [
        r for path in (tool.FIRST_LIST, tool.SECOND_LIST, tool.THIRD_LIST) for r in tool.first.read_list(path)
    ]
    assert_held_out(tool, rows, tuning, tool.shared_patients(rows, tuning))
    assert len({r["organ"] for r in rows if r["organ"]}) >= 3
    assert 60 <= len(rows) <= 150
    assert max(Counter(r["source"] for r in rows).values()) <= tool.first.PER_SOURCE


def test_thumbnails_skip_an_unreadable_file(tmp_path: Path) -> None:
    tool = _tool()
    good = _save(_textured(5), tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(io.BytesIO(b"not a picture").getvalue())

    read, stack = tool._thumbs([good, tmp_path / "b.png"])

    assert read == [good]
    assert stack.shape == (1, tool.THUMB, tool.THUMB, 3)


def test_patients_are_named_from_panda_and_thyhister_names_and_as_set_3_names_them() -> None:
    tool = _tool()

    assert tool._source_key("a/b", f"0___{SLIDE}_9463_104") == f"panda:{SLIDE}"
    assert tool._source_key("x/ThyHisTer", "BN_31/t_BN_31_7") == "thyhister:BN_31"
    assert tool._source_key("a/b", "SOB_B_A-14-22549AB-100-001") == "breakhis:14-22549"
    assert tool._source_key("a/b", "EA/7") == "a/b:EA/7"


def test_shared_patients_finds_a_tuning_patient_whatever_key_the_row_was_given() -> None:
    tool = _tool()
    tuning = [{"repo": "t/breakhis", "path": "SOB_B_A-14-22549AB-100-001.png", "source": "breakhis:14-22549"}]
    rows = [
        {"repo": "a/b", "path": "test/flat/SOB_B_A-14-22549AB-100-002.png", "source": "a/b:flat/SOB_B_A"},
        {"repo": "a/b", "path": "test/rotated_90_x.png", "source": "breakhis:14-22549"},
        {"repo": "a/b", "path": "test/SOB_B_A-14-11111AB-100-001.png", "source": "breakhis:14-11111"},
    ]

    assert tool.shared_patients(rows, tuning) == [
        "a/b:test/flat/SOB_B_A-14-22549AB-100-002.png: breakhis:14-22549",
        "a/b:test/rotated_90_x.png: breakhis:14-22549",
    ]


def test_the_rule_reads_a_files_own_name_in_a_subfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _tool()
    _mirror(
        tmp_path / "mirror",
        "some/repo",
        {
            "test/flat/SOB_B_A-14-22549AB-100-001.png": _png(31),
            "test/flat/glas_train_1.png": _png(33),
            "test/flat/deformed_x.png": _png(34),
            "test/flat/rotated_90_y.png": _png(35),
            "test/other/y.png": _png(36),
        },
    )
    _tuning_sets(tool, tmp_path, monkeypatch, _png(1), _png(2))
    monkeypatch.setattr(tool, "SECOND_LIST", tool.FIRST_LIST)
    monkeypatch.setattr(
        tool, "THIRD_LIST", _list_with(tool, tmp_path / "third.tsv", _png(3), "breakhis:14-22549")
    )
    monkeypatch.setattr(tool, "SOURCES", (tool.first.Source("some/repo", "test", "x", "x", "", ""),))

    rows, notes = tool.first.select(tmp_path / "mirror", tool.this_rule())

    assert [(r["path"], r["source"]) for r in rows] == [
        ("test/flat/rotated_90_y.png", "some/repo:flat/y"),
        ("test/other/y.png", "some/repo:other/y"),
    ]
    said = "\n".join(notes)
    assert "flat/SOB_B_A-14-22549AB-100-001.png: breakhis:14-22549 is a patient or slide of third.tsv" in said
    assert "flat/glas_train_1.png: GlaS or its hospital" in said
    assert "flat/deformed_x.png: augmented copy" in said


def test_an_image_repeating_or_overlapping_an_earlier_field_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    tool = _tool()
    field = _textured(1, 600)

    def encoded(array: Any, kind: str = "PNG", **options: Any) -> bytes:
        out = io.BytesIO()
        Image.fromarray(array).save(out, kind, **options)
        return out.getvalue()

    rows, notes = _select_dl4eti(
        tool,
        tmp_path,
        monkeypatch,
        {
            "external_dataset/EA/1.JPG": encoded(field[:480, :480].copy(), "JPEG", quality=95),
            "external_dataset/EA/2.JPG": encoded(field[:480, :480].copy(), "JPEG", quality=80),
            "external_dataset/EA/3.JPG": encoded(field[100:580, 60:540].copy(), "JPEG", quality=95),
            "external_dataset/EA/4.JPG": encoded(_textured(2, 600)[:480, :480].copy(), "JPEG", quality=95),
            "external_dataset/EA/5.JPG": encoded(field[:480, :300].copy(), "JPEG", quality=95),
        },
    )

    assert [r["path"].rsplit("/", 1)[-1] for r in rows] == ["1.JPG", "4.JPG", "5.JPG"]
    said = "\n".join(notes)
    for name in ("2.JPG", "3.JPG"):
        assert (
            f"EA/{name}: the field of {tool.DL4ETI}:external_dataset/EA/1.JPG again or overlapping it" in said
        )
    assert (
        tool.field_overlap(
            tool._field(encoded(field[:480, :480].copy())), tool._field(encoded(field[:300, :480].copy()))
        )
        == -1.0
    )
