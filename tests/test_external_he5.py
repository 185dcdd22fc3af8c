"""``benchmarks/external_he5.py``: the fifth held-out set keeps out every file and patient of the
four tuning lists and of the shared data, refuses a repository, account or dataset of an earlier
set, lists at most a repository's share, is assembled by the first set's code and compared by the
fourth set's ``--alike``. Only fake mirrors and folders here: the set itself is never probed before
its one measurement."""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import benchmark
from tests.test_external_he import _mirror
from tests.test_external_he2 import _assemble_one, _png
from tests.test_external_he4 import SLIDE, _list_with, _save, _textured, assert_held_out

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _tool() -> Any:
    return benchmark("external_he5")


def _only_source(tool: Any, monkeypatch: pytest.MonkeyPatch, repo: str) -> None:
    monkeypatch.setattr(
        tool, "SOURCES", (tool.first.Source(repo, "test", "a new dataset", "skin", "", "CC BY 4.0"),)
    )
    monkeypatch.setattr(tool, "STATED_DATASETS", {repo: "new dataset"})


def _four_tuning_lists(
    tool: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: dict[str, bytes]
) -> None:
    """Point the tool at four tuning lists and a shared-data checksum file, one file of each
    (``data``'s keys first to fourth and shared); the fourth list's file is of a PANDA biopsy."""
    lists = tuple(
        _list_with(tool, tmp_path / f"{name}.tsv", data[name], patient)
        for name, patient in (
            ("first", "owner/he:patient_7"),
            ("second", "ucsb:ytma1_1"),
            ("third", "breakhis:14-99"),
            ("fourth", f"panda:{SLIDE}"),
        )
    )
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{hashlib.sha256(data['shared']).hexdigest()}  ./images/a.png\n", encoding="utf-8")
    monkeypatch.setattr(tool, "TUNING_LISTS", lists)
    monkeypatch.setattr(tool, "SHARED_SUMS", sums)


def test_the_rule_leaves_out_all_four_tuning_lists_and_their_patients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _tool()
    tuning = {"first": _png(1), "second": _png(2), "third": _png(3), "fourth": _png(4), "shared": _png(5)}
    commit = _mirror(
        tmp_path / "mirror",
        "new/skin",
        {
            "test/a.png": _png(10),
            "test/b.png": _png(11),
            **{f"test/in_{name}.png": data for name, data in tuning.items()},
            f"test/1___{SLIDE}_1_2.jpeg": _png(12),
            "test/SOB_M_DC-14-99-100-001.png": _png(13),
            "test/small.png": _png(14, (255, 300)),
        },
    )
    _four_tuning_lists(tool, tmp_path, monkeypatch, tuning)
    _only_source(tool, monkeypatch, "new/skin")

    rows, notes = tool.first.select(tmp_path / "mirror", tool.this_rule())

    assert [(r["path"], r["source"], r["commit"]) for r in rows] == [
        ("test/a.png", "new/skin:a", commit),
        ("test/b.png", "new/skin:b", commit),
    ]
    said = "\n".join(notes)
    left_out = {
        "in_first.png": "byte-identical to a file of first.tsv",
        "in_second.png": "byte-identical to a file of second.tsv",
        "in_third.png": "byte-identical to a file of third.tsv",
        "in_fourth.png": "byte-identical to a file of fourth.tsv",
        "in_shared.png": "byte-identical to a file of shared/data/real",
        f"1___{SLIDE}_1_2.jpeg": f"panda:{SLIDE} is a patient or slide of fourth.tsv",
        "SOB_M_DC-14-99-100-001.png": "breakhis:14-99 is a patient or slide of third.tsv",
        "small.png": "255x300, under 256 px a side",
    }
    assert [name for name, why in left_out.items() if f"{name}: {why}" not in said] == []


def test_the_real_tuning_lists_are_the_four_earlier_ones() -> None:
    tool = _tool()

    assert [p.name for p in tool.TUNING_LISTS] == [
        "external_he.tsv",
        "external_he2.tsv",
        "external_he3.tsv",
        "external_he4.tsv",
    ]
    assert Path("/tmp/heldout4-he") in tool.TUNING_FOLDERS
    taken = tool.taken()
    assert {r["sha256"] for r in tool.first.read_list(tool.fourth.LIST)} <= set(taken)


@pytest.mark.parametrize(
    ("repo", "site", "stated", "why"),
    [
        ("ssea-lab/DL4ETI", "endometrium", "DL4ETI", "a repository of sets 1 to 4"),
        ("BioImageInformatics/gleason_grade", "prostate", "x", "a repository of sets 1 to 4"),
        ("sarah-antillia/Tensorflow-Image-Segmentation-OCDC", "OCDC", "OCDC", "a repository of sets 1 to 4"),
        ("atlan-antillia/EfficientNet-Breast-Cancer", "breast", "x", "a repository of sets 1 to 4"),
        ("sarah-antillia/Some-New-MoNuSeg", "MoNuSeg (TCGA) tiles", "MoNuSeg", "MoNuSeg"),
        ("a/new", "SEED gastric (China)", "SEED", "SEED"),
        ("b/new", "new prostate patches, Karolinska", "new prostate", "Karolinska"),
        ("c/new", "Warwick colon", "", "no dataset stated by the repository"),
        ("d/new", "a colon set", "Kather", "the description does not name its dataset Kather"),
    ],
)
def test_a_repository_account_or_dataset_of_an_earlier_set_is_refused(
    monkeypatch: pytest.MonkeyPatch, repo: str, site: str, stated: str, why: str
) -> None:
    tool = _tool()
    source = tool.first.Source(repo, "x", site, "", "", "")
    monkeypatch.setattr(tool, "SOURCES", (source,))
    monkeypatch.setattr(tool, "STATED_DATASETS", {repo: stated} if stated else {})

    assert tool.refused(source) == why
    with pytest.raises(ValueError, match=repo):
        tool.this_rule()


def test_a_new_dataset_by_another_author_is_not_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    tool = _tool()
    monkeypatch.setattr(tool, "STATED_DATASETS", {"new/skin": "Queensland skin"})

    assert tool.refused(tool.first.Source("new/skin", "x", "Queensland skin", "skin", "", "")) == ""


def test_an_image_set_whose_dataset_the_repository_does_not_state_is_refused() -> None:
    """Rule 1 in code (third round): the stress test's stain schemes and the ``ukk_`` references,
    listed before without a stated dataset, are refused now; every committed source states one."""
    tool = _tool()
    for repo, folder in (
        ("cpath-ukk/Artifact", "15_stain_scheme/schemes_ready"),
        ("cpath-ukk/Esophageal_Ca", "07_inference_WSI/01_OES_v2.3/images"),
    ):
        source = tool.first.Source(repo, folder, "University Hospital Cologne stain references", "", "", "")
        assert tool.refused(source) == "no dataset stated by the repository"
    assert [s.repo for s in tool.SOURCES if tool.refused(s) or s.repo not in tool.STATED_DATASETS] == []


@pytest.mark.parametrize("account", ["atlan-antillia", "sarah-antillia"])
def test_the_reopened_accounts_are_allowed_for_a_dataset_no_tuning_set_draws_on(
    monkeypatch: pytest.MonkeyPatch, account: str
) -> None:
    """Rule 1b: the accounts of sets 1 to 4 are refused only for their earlier repositories and the
    tuning sets' datasets (the first round refused them whole), and only with a stated dataset that
    the tuning sets' list is checked against, both ways, whatever the description says."""
    tool = _tool()
    repo = f"{account}/New-Ovary"
    monkeypatch.setattr(tool, "STATED_DATASETS", {repo: "new ovary dataset"})

    assert tool.refused(tool.first.Source(repo, "x", "a new ovary dataset", "", "", "")) == ""
    assert account in tool.REOPENED_ACCOUNTS
    monkeypatch.setattr(tool, "STATED_DATASETS", {})
    assert tool.refused(tool.first.Source(repo, "x", "a new ovary dataset", "", "", "")) != ""
    monkeypatch.setattr(tool, "STATED_DATASETS", {repo: "Gleason"})
    assert tool.refused(tool.first.Source(repo, "x", "Gleason grading set", "", "", "")) == "Prostate Gleason"


def test_used_repositories_splits_joined_keys_and_reads_wildcards(monkeypatch: pytest.MonkeyPatch) -> None:
    tool = _tool()
    monkeypatch.setattr(
        tool.fourth,
        "NOT_USED",
        {"a/b, c/d:sub/path": "two", "x-acc/*, sarah-antillia/* (others)": "wildcards"},
    )
    monkeypatch.setattr(
        tool, "STATED_DATASETS", {r: "new set" for r in ("c/d", "x-acc/new", "sarah-antillia/New")}
    )

    used = tool.used_repositories()

    assert {"a/b", "c/d", "x-acc/*", "sarah-antillia/*"} <= used
    assert not any("," in name or "(" in name or ":" in name for name in used)
    new = [
        tool.first.Source(r, "x", "a new set", "", "", "") for r in ("c/d", "x-acc/new", "sarah-antillia/New")
    ]
    assert [tool.refused(s) for s in new] == [
        "a repository of sets 1 to 4",
        "a repository of sets 1 to 4",
        "",
    ]


def test_the_real_earlier_lists_wildcard_is_read() -> None:
    tool = _tool()

    assert {"sarah-antillia/*", "atlan-antillia/*"} <= tool.used_repositories()


def test_a_reopened_accounts_augmented_copies_are_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rule 1b with rule 2: of an antillia-style mini test, only the original images are listed."""
    tool = _tool()
    repo = "sarah-antillia/Tensorflow-Image-Segmentation-New-Ovary"
    files = {
        "test/images/10.png": _png(30),
        "test/images/barrdistorted_1001_0.3_0.3_10.png": _png(31),
        "test/images/rotated_90_10.png": _png(32),
        "test/images/deformed_alpha_1300_sigmoid_8_10.png": _png(33),
        "test/images/11.png": _png(34),
    }
    _mirror(tmp_path / "mirror", repo, files)
    names = ("first", "second", "third", "fourth", "shared")
    _four_tuning_lists(tool, tmp_path, monkeypatch, {k: _png(i) for i, k in enumerate(names)})
    _only_source(tool, monkeypatch, repo)

    rows, _ = tool.first.select(tmp_path / "mirror", tool.this_rule())

    assert [r["path"] for r in rows] == ["test/images/10.png", "test/images/11.png"]


def _select_rings(
    tool: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_one: dict[str, bytes],
    in_two: dict[str, bytes],
) -> tuple[list[dict[str, str]], list[str]]:
    """The rule on fake mirrors of the two RINGS repositories holding ``in_one`` and ``in_two``."""
    one, two = tool.RINGS
    _mirror(tmp_path / "mirror", one, in_one)
    _mirror(tmp_path / "mirror", two, in_two)
    names = ("first", "second", "third", "fourth", "shared")
    _four_tuning_lists(tool, tmp_path, monkeypatch, {k: _png(i) for i, k in enumerate(names)})
    sources = tuple(tool.first.Source(r, "t", "RINGS", "prostate", "", "CC BY 4.0") for r in (one, two))
    monkeypatch.setattr(tool, "SOURCES", sources)
    rows, notes = tool.first.select(tmp_path / "mirror", tool.this_rule())
    return rows, notes


def test_rings_images_of_one_patient_are_at_most_two_across_its_repositories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rule 4 for RINGS: the name's first field is the patient, whichever repository holds the image."""
    tool = _tool()
    in_one = {"t/P1_D4_10_14_5.png": _png(40), "t/P2_A1_3_4_1.png": _png(41)}
    in_two = {"t/P1_D5_3_12_4.png": _png(42), "t/P1_D6_4_15_2.png": _png(43)}

    rows, notes = _select_rings(tool, tmp_path, monkeypatch, in_one, in_two)

    assert [r["path"].rsplit("/", 1)[-1] for r in rows] == [
        "P1_D4_10_14_5.png",
        "P2_A1_3_4_1.png",
        "P1_D5_3_12_4.png",
    ]
    assert [r["source"] for r in rows] == ["rings:P1", "rings:P2", "rings:P1"]
    assert any("P1_D6_4_15_2.png: 2 images of rings:P1 listed already" in n for n in notes)


def test_rings_second_field_is_also_read_as_a_patient(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rule 4 for RINGS, the stricter reading: at most two images of one second field (``D4``)
    across patients, as well as two of one first field."""
    tool = _tool()
    in_one = {"t/P1_D4_1_1_1.png": _png(50), "t/P2_D4_1_1_1.png": _png(51)}
    in_two = {"t/P3_D4_2_2_2.png": _png(52), "t/P3_A1_2_2_2.png": _png(53)}

    rows, notes = _select_rings(tool, tmp_path, monkeypatch, in_one, in_two)

    assert [r["path"] for r in rows] == ["t/P1_D4_1_1_1.png", "t/P2_D4_1_1_1.png", "t/P3_A1_2_2_2.png"]
    assert any("P3_D4_2_2_2.png: 2 images of rings-second:D4 listed already" in n for n in notes)
    assert tool._second_field_key("other/repo", "P1_D4_1_1_1") == ""


def _select_two_a_repository(
    tool: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes]
) -> tuple[list[dict[str, str]], list[str]]:
    """The rule on a fake ``new/skin`` mirror of ``files`` alone, two images a repository."""
    _mirror(tmp_path / "mirror", "new/skin", files)
    names = ("first", "second", "third", "fourth", "shared")
    _four_tuning_lists(tool, tmp_path, monkeypatch, {k: _png(i) for i, k in enumerate(names)})
    _only_source(tool, monkeypatch, "new/skin")
    monkeypatch.setattr(tool, "PER_REPOSITORY", 2)
    rows, notes = tool.first.select(tmp_path / "mirror", tool.this_rule())
    return rows, notes


def test_a_repository_lists_at_most_its_share(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = _tool()

    rows, notes = _select_two_a_repository(
        tool, tmp_path, monkeypatch, {f"test/{i}.png": _png(20 + i) for i in range(4)}
    )

    assert [r["path"] for r in rows] == ["test/0.png", "test/1.png"]
    assert "new/skin:test/2.png: 2 images of new/skin listed already (rule 4)" in notes


def test_a_field_repeated_under_another_name_is_left_out_and_does_not_use_the_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from PIL import Image

    tool = _tool()

    def _jpeg(seed: int, quality: int) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(_textured(seed)).save(buf, format="JPEG", quality=quality)
        return buf.getvalue()

    rows, notes = _select_two_a_repository(
        tool,
        tmp_path,
        monkeypatch,
        {"test/0.jpg": _jpeg(1, 95), "test/1.jpg": _jpeg(1, 70), "test/2.jpg": _jpeg(2, 95)},
    )

    assert [r["path"] for r in rows] == ["test/0.jpg", "test/2.jpg"]
    assert any(n.startswith("new/skin:test/1.jpg: the field of new/skin:test/0.jpg again") for n in notes)


def test_out_assembles_the_fifth_list_and_names_a_missing_mirror(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()

    code, out = _assemble_one(tool, tmp_path, "images/S01.jpg", _png(9), organ="prostate")

    manifest = tool.first.read_list(out / "external_he.tsv")
    assert (code, [(r["file"], r["repo"], r["organ"]) for r in manifest]) == (
        1,
        [("he__S01.jpg", "owner/he", "prostate")],
    )
    assert {p.name for p in out.iterdir()} == {"external_he.tsv", "he__S01.jpg"}
    assert "owner/absent" in capsys.readouterr().err


def test_alike_on_the_command_line_finds_a_flipped_tuning_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    tool = _tool()
    _save(_textured(1), tmp_path / "tuning" / "a.png")
    _save(np.fliplr(_textured(1)).copy(), tmp_path / "new" / "flipped.png")
    _save(_textured(2), tmp_path / "new" / "other.png")

    code = tool.main(
        ["--alike", str(tmp_path / "new"), "--against", str(tmp_path / "tuning"), str(tmp_path / "gone")]
    )

    got = capsys.readouterr()
    assert code == 0
    assert "gone: absent, not compared" in got.err
    first_line = got.out.splitlines()[0]
    assert first_line.startswith("1.000\t") and "flipped.png" in first_line
    assert "2 images compared with 1 tuning images" in got.out


def test_shared_patients_takes_a_later_sets_naming() -> None:
    tool = _tool()
    tuning = [{"repo": "t/x", "path": "p.png", "source": "later:7"}]
    rows = [{"repo": "a/b", "path": "test/case7.png", "source": "a/b:case7"}]

    def later(repo: str, stem: str) -> str:
        return "later:" + stem.removeprefix("case")

    assert tool.fourth.shared_patients(rows, tuning) == []
    assert tool.fourth.shared_patients(rows, tuning, (later,)) == ["a/b:test/case7.png: later:7"]


def test_the_committed_fifth_list_shares_nothing_with_the_tuning_sets() -> None:
    tool = _tool()
    rows = tool.first.read_list(tool.LIST)
    tuning = [r for path in tool.TUNING_LISTS for r in tool.first.read_list(path)]

    namings = (tool._source_key, tool._second_field_key)
    assert_held_out(tool, rows, tuning, tool.fourth.shared_patients(rows, tuning, namings))
    assert (
        max(Counter(filter(None, (tool._second_field_key(r["repo"], r["path"]) for r in rows))).values()) <= 2
    )
    assert not {r["repo"] for r in rows} & tool.used_repositories()
    assert max(Counter(r["source"] for r in rows).values()) <= tool.first.PER_SOURCE
    assert max(Counter(r["repo"] for r in rows).values()) <= tool.PER_REPOSITORY
