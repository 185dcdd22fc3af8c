"""``benchmarks/external_he.py``: the held-out external H&E copied from git mirrors only when each
file's sha256 matches the committed list, and every file not copied named with why."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import benchmark

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _tool() -> Any:
    return benchmark("external_he")


def _mirror(root: Path, repo: str, files: dict[str, bytes]) -> str:
    """A mirror as the ``fetch`` tool leaves one (``OWNER+NAME/repo`` with a ``.git``): its commit."""
    work = root / repo.replace("/", "+") / "repo"
    for path, data in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(data)
    git = ["git", "-C", str(work), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "images"], check=True)
    return subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def _row(repo: str, commit: str, path: str, data: bytes) -> dict[str, str]:
    return {
        "repo": repo,
        "commit": commit,
        "path": path,
        "sha256": hashlib.sha256(data).hexdigest(),
        "width": "256",
        "height": "256",
        "organ": "kidney",
        "site": "TCGA",
        "source": "TCGA-2Z-A9J9",
        "mpp": "0.25",
        "licence": "CC BY-NC-SA 4.0",
    }


def test_files_are_copied_only_when_their_sha256_matches_the_list(tmp_path: Path) -> None:
    tool = _tool()
    mirrors = tmp_path / "mirror"
    good, changed = b"\xff\xd8 an H&E patch", b"\xff\xd8 another patch"
    commit = _mirror(mirrors, "owner/he", {"mini_test/images/a.jpg": good, "mini_test/images/b.jpg": changed})
    listed = [
        _row("owner/he", commit, "mini_test/images/a.jpg", good),
        _row("owner/he", commit, "mini_test/images/b.jpg", b"what the list was made from"),
        _row("owner/he", commit, "mini_test/images/gone.jpg", good),
        _row("owner/absent", commit, "mini_test/images/a.jpg", good),
    ]
    tool.write_list(listed, tmp_path / "list.tsv")
    out = tmp_path / "out"

    code = tool.main(["--mirror-root", str(mirrors), "--list", str(tmp_path / "list.tsv"), "--out", str(out)])

    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["external_he.tsv", "he__a.jpg"]
    assert (out / "he__a.jpg").read_bytes() == good
    manifest = tool.read_list(out / "external_he.tsv")
    assert [(r["file"], r["organ"], r["mpp"]) for r in manifest] == [("he__a.jpg", "kidney", "0.25")]


def test_each_file_not_copied_is_named_with_why(tmp_path: Path) -> None:
    tool = _tool()
    mirrors = tmp_path / "mirror"
    data = b"\xff\xd8 patch"
    commit = _mirror(mirrors, "owner/he", {"images/a.jpg": b"\xff\xd8 re-encoded"})
    rows = [
        _row("owner/he", commit, "images/a.jpg", data),
        _row("owner/he", commit, "images/gone.jpg", data),
        _row("owner/he", "0" * 40, "images/a.jpg", data),
        _row("owner/absent", commit, "images/a.jpg", data),
    ]

    copied, problems = tool.assemble(rows, mirrors, tmp_path / "out")

    assert copied == []
    assert "sha256 " in problems[0] and f"the list says {hashlib.sha256(data).hexdigest()}" in problems[0]
    assert "images/gone.jpg: not in the mirror" in problems[1]
    assert problems[2].startswith("owner/he@000000000000:images/a.jpg: not in the mirror")
    assert "no mirror under" in problems[3] and "fetch github:owner/absent" in problems[3]


def test_a_bare_mirror_is_read_as_well(tmp_path: Path) -> None:
    tool = _tool()
    data = b"\xff\xd8 patch"
    commit = _mirror(tmp_path / "work", "owner/he", {"images/a.jpg": data})
    bare = tmp_path / "mirror" / "owner+he" / "repo"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(tmp_path / "work" / "owner+he" / "repo"), str(bare)], check=True
    )

    copied, problems = tool.assemble(
        [_row("owner/he", commit, "images/a.jpg", data)], tmp_path / "mirror", tmp_path / "out"
    )

    assert problems == []
    assert [r["file"] for r in copied] == ["he__a.jpg"]


def test_the_committed_list_is_complete_and_within_the_rule() -> None:
    tool = _tool()
    rows = tool.read_list()
    assert len(rows) >= 50
    assert all(len(r["sha256"]) == 64 and len(r["commit"]) == 40 for r in rows)
    assert len({tool.file_name(r) for r in rows}) == len(rows)
    assert all(min(int(r["width"]), int(r["height"])) >= tool.MIN_SIDE for r in rows)
    per_source: dict[str, int] = {}
    for r in rows:
        per_source[r["source"]] = per_source.get(r["source"], 0) + 1
    assert max(per_source.values()) <= tool.PER_SOURCE
    assert not any("glas" in r["path"].lower() for r in rows)


def _png(size: tuple[int, int], shade: int) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (shade, 100, 150)).save(buf, format="PNG")
    return buf.getvalue()


def test_the_rule_keeps_whole_images_of_other_sites_at_most_two_a_patient(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _tool()
    repo, folder = "owner/he", "mini_test/images"
    files = {
        f"{folder}/TCGA-2Z-A9J9-01Z-00-DX1_1.png": _png((300, 300), 1),
        f"{folder}/TCGA-2Z-A9J9-01Z-00-DX1_2.png": _png((300, 300), 2),
        f"{folder}/TCGA-2Z-A9J9-01Z-00-DX1_3.png": _png((300, 300), 3),
        f"{folder}/TCGA-44-2665-01B-06-BS6.png": _png((300, 255), 4),
        f"{folder}/rotated_90_dpath_7.png": _png((300, 300), 5),
        f"{folder}/rotated_180_dpath_7.png": _png((300, 300), 6),
        f"{folder}/rotated_150_dpath_8.png": _png((300, 300), 7),
        f"{folder}/deformed_alpha_1300_dpath_9.png": _png((300, 300), 8),
        f"{folder}/glas_3.png": _png((300, 300), 9),
        f"{folder}/crag_3.png": _png((300, 300), 10),
        f"{folder}/copy.png": _png((300, 300), 1),
        "elsewhere/TCGA-44-2665-01B-06-BS6.png": _png((300, 300), 11),
    }
    commit = _mirror(tmp_path, repo, files)
    source = tool.Source(repo, folder, "TCGA", "tcga", "0.25", "")
    monkeypatch.setattr(tool, "SOURCES", (source,))

    rows, notes = tool.select(tmp_path)

    assert [r["path"].rsplit("/", 1)[1] for r in rows] == [
        "TCGA-2Z-A9J9-01Z-00-DX1_1.png",
        "TCGA-2Z-A9J9-01Z-00-DX1_2.png",
        "rotated_180_dpath_7.png",
    ]
    assert {r["commit"] for r in rows} == {commit}
    assert rows[0]["organ"] == "kidney" and rows[0]["source"] == "TCGA-2Z-A9J9"
    assert rows[0]["sha256"] == hashlib.sha256(files[rows[0]["path"]]).hexdigest()
    said = "\n".join(notes)
    assert "DX1_3.png: 2 images of TCGA-2Z-A9J9 listed already" in said
    assert "BS6.png: 300x255, under 256 px a side" in said
    assert "rotated_90_dpath_7.png: a copy of" in said
    assert (
        "rotated_150_dpath_8.png: augmented copy" in said
        and "deformed_alpha_1300_dpath_9.png: augmented" in said
    )
    assert "glas_3.png: GlaS or its hospital" in said and "crag_3.png: GlaS or its hospital" in said
    assert "copy.png: byte-identical to a file listed" in said
