"""``benchmarks/external_he6.py``: the sixth held-out set reads its sources from package files
(a wheel, an sdist, an npm tarball, a Debian package) in a local folder, checks each package's
sha256 and names a missing one with the command that gets it, keeps out every file and patient of
the five tuning lists and of the shared data, refuses a package of no stated or a tuning dataset,
and is assembled and compared by the earlier sets' code. Only fake packages made here: nothing is
downloaded and the set is never probed."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import benchmark
from tests.test_external_he2 import _png
from tests.test_external_he4 import _list_with, _save, _textured

NAME = "pypi/fakehist"


def _tool() -> Any:
    return benchmark("external_he6")


def _tar(files: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:  # type: ignore[call-overload]
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
    return buf.getvalue()


def _deb(files: dict[str, bytes]) -> bytes:
    """A Debian package: an ``ar`` archive of ``debian-binary``, ``control.tar.xz`` and ``data.tar.xz``."""
    members = {
        "debian-binary": b"2.0\n",
        "control.tar.xz": _tar({"control": b"Package: x\n"}, "w:xz"),
        "data.tar.xz": _tar({f"./{k}": v for k, v in files.items()}, "w:xz"),
    }
    out = b"!<arch>\n"
    for name, data in members.items():
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return out


def _package(tool: Any, root: Path, files: dict[str, bytes], file: str = "fakehist-1.0.tar.gz") -> Any:
    """Write a package file of ``files`` under ``root/pypi`` and state it in the rule's terms."""
    data = _zip(files) if file.endswith((".whl", ".zip")) else _tar(files)
    (root / "pypi").mkdir(parents=True, exist_ok=True)
    (root / "pypi" / file).write_bytes(data)
    return tool.Package("pypi", "fakehist", "1.0", file, hashlib.sha256(data).hexdigest(), "someone/fakehist")


def _only_package(
    tool: Any, monkeypatch: pytest.MonkeyPatch, package: Any, folder: str = "fakehist-1.0/data"
) -> None:
    monkeypatch.setattr(tool, "PACKAGES", {NAME: package})
    monkeypatch.setattr(tool, "STATED_DATASETS", {NAME: "Fake Skin Set"})
    monkeypatch.setattr(
        tool,
        "SOURCES",
        (tool.first.Source(NAME, folder, "Fake Skin Set (Nowhere)", "skin", "", "CC BY 4.0"),),
    )


def _tuning(tool: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tuned: bytes, patient: str) -> None:
    """Five tuning lists, the fifth holding ``tuned`` of ``patient``, and an empty shared-data sum."""
    lists = tuple(_list_with(tool, tmp_path / f"l{i}.tsv", _png(200 + i), f"x:{i}") for i in range(4))
    fifth = _list_with(tool, tmp_path / "l5.tsv", tuned, patient)
    sums = tmp_path / "SHA256SUMS"
    sums.write_text("", encoding="utf-8")
    monkeypatch.setattr(tool, "TUNING_LISTS", (*lists, fifth))
    monkeypatch.setattr(tool, "SHARED_SUMS", sums)


def test_select_reads_a_package_file_and_keeps_out_a_tuning_image_and_a_small_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _tool()
    tuned = _png(7)
    package = _package(
        tool,
        tmp_path / "pkgs",
        {
            "fakehist-1.0/data/a.png": _png(10),
            "fakehist-1.0/data/b.png": _png(11),
            "fakehist-1.0/data/copy_of_set5.png": tuned,
            "fakehist-1.0/data/small.png": _png(12, (255, 300)),
            "fakehist-1.0/data/a_again.png": _png(10),
            "fakehist-1.0/other/c.png": _png(13),
            "fakehist-1.0/data/README.md": b"not an image",
        },
    )
    _only_package(tool, monkeypatch, package)
    _tuning(tool, tmp_path, monkeypatch, tuned, "rings:P3")

    rows, notes = tool.first.select(tmp_path / "pkgs", tool.this_rule(), tool.ACCESS)

    assert [r["path"] for r in rows] == ["fakehist-1.0/data/a.png", "fakehist-1.0/data/b.png"]
    assert {r["commit"] for r in rows} == {f"1.0/fakehist-1.0.tar.gz@{package.sha256}"}
    assert {r["repo"] for r in rows} == {NAME}
    assert rows[0]["sha256"] == hashlib.sha256(_png(10)).hexdigest()
    joined = "\n".join(notes)
    assert "copy_of_set5.png: byte-identical to a file of l5.tsv" in joined
    assert "small.png: 255x300, under 256 px a side" in joined
    assert "a_again.png: byte-identical to a file listed" in joined
    assert "other/c.png" not in joined  # outside the source's folder: not looked at


def test_a_missing_or_changed_package_is_named_with_the_command_that_gets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _tool()
    package = _package(tool, tmp_path / "pkgs", {"fakehist-1.0/data/a.png": _png(10)})
    _only_package(tool, monkeypatch, package._replace(file="fakehist-1.0-py3-none-any.whl"))
    _tuning(tool, tmp_path, monkeypatch, _png(7), "x:y")

    rows, notes = tool.first.select(tmp_path / "pkgs", tool.this_rule(), tool.ACCESS)

    assert rows == []
    assert notes == [
        f"{NAME}: package file {tmp_path / 'pkgs' / 'pypi' / 'fakehist-1.0-py3-none-any.whl'} absent (get it: "
        f"pip download --no-deps --only-binary :all: fakehist==1.0 -d {tmp_path / 'pkgs' / 'pypi'})"
    ]

    _only_package(tool, monkeypatch, package._replace(sha256="0" * 64))
    rows, notes = tool.first.select(tmp_path / "pkgs", tool.this_rule(), tool.ACCESS)
    assert rows == []
    assert f"has sha256 {package.sha256}, the rule says {'0' * 64}" in notes[0]
    assert "--no-binary :all: fakehist==1.0" in notes[0]


@pytest.mark.parametrize(
    ("file", "make"),
    [("x-1.0-py3-none-any.whl", _zip), ("x-1.0.tgz", _tar), ("x_1.0_all.deb", _deb)],
)
def test_archive_files_reads_wheels_tarballs_and_debian_packages(file: str, make: Any) -> None:
    tool = _tool()
    files = {"usr/share/x/a.png": _png(10), "usr/share/x/b.txt": b"b"}

    assert tool.archive_files(make(files), file) == files


def test_an_unreadable_package_file_is_a_note_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _tool()
    (tmp_path / "pkgs" / "pypi").mkdir(parents=True)
    junk = b"not a tarball at all"
    (tmp_path / "pkgs" / "pypi" / "fakehist-1.0.tar.gz").write_bytes(junk)
    package = tool.Package(
        "pypi", "fakehist", "1.0", "fakehist-1.0.tar.gz", hashlib.sha256(junk).hexdigest(), ""
    )
    _only_package(tool, monkeypatch, package)
    _tuning(tool, tmp_path, monkeypatch, _png(7), "x:y")

    rows, notes = tool.first.select(tmp_path / "pkgs", tool.this_rule(), tool.ACCESS)

    assert rows == []
    assert notes[0].startswith(f"{NAME}: fakehist-1.0.tar.gz: not an archive this module reads")
    with pytest.raises(ValueError, match="not an ar archive"):
        tool.archive_files(junk, "x.deb")


def test_rule_1_refuses_an_unstated_or_tuning_dataset_and_a_home_of_an_earlier_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tool = _tool()
    package = tool.Package("pypi", "fakehist", "1.0", "f.tar.gz", "0" * 64, "someone/fakehist")
    source = tool.first.Source(NAME, "data", "Fake Skin Set (Nowhere)", "skin", "", "CC BY 4.0")
    monkeypatch.setattr(tool, "PACKAGES", {NAME: package})
    monkeypatch.setattr(tool, "STATED_DATASETS", {NAME: "Fake Skin Set"})
    assert tool.refused(source) == ""

    monkeypatch.setattr(tool, "STATED_DATASETS", {})
    assert tool.refused(source) == "no dataset stated by the package"
    monkeypatch.setattr(tool, "STATED_DATASETS", {NAME: "RINGS"})
    assert tool.refused(source._replace(site="RINGS (Turin)")) == "RINGS"  # set 5's dataset
    monkeypatch.setattr(tool, "STATED_DATASETS", {NAME: "Fake Skin Set"})
    assert tool.refused(source._replace(site="Fake Skin Set, TCGA slides")) == "TCGA"
    fifth_repo = tool.fifth.RINGS[0]
    monkeypatch.setattr(tool, "PACKAGES", {NAME: package._replace(home=fifth_repo)})
    assert tool.refused(source) == f"its home {fifth_repo} is a repository of sets 1 to 5"
    monkeypatch.setattr(tool, "SOURCES", (source,))
    with pytest.raises(ValueError, match="rule 1"):
        tool.this_rule()


def test_out_copies_from_the_package_checks_sha256_and_names_a_missing_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _tool()
    package = _package(
        tool, tmp_path / "pkgs", {"fakehist-1.0/data/a.png": _png(10), "fakehist-1.0/data/b.png": _png(11)}
    )
    _only_package(tool, monkeypatch, package)
    _tuning(tool, tmp_path, monkeypatch, _png(7), "x:y")
    rows, _ = tool.first.select(tmp_path / "pkgs", tool.this_rule(), tool.ACCESS)
    rows[1]["sha256"] = "f" * 64  # the list says another file
    listed = tmp_path / "list.tsv"
    tool.first.write_list(
        [*rows, {**rows[0], "repo": "pypi/gone", "commit": f"2.0/gone-2.0.tar.gz@{'1' * 64}"}], listed
    )

    code = tool.main(
        ["--packages", str(tmp_path / "pkgs"), "--list", str(listed), "--out", str(tmp_path / "out")]
    )

    assert code == 1
    manifest = tool.first.read_list(tmp_path / "out" / tool.first.MANIFEST)
    assert [r["file"] for r in manifest] == ["fakehist__a.png"]
    assert (tmp_path / "out" / "fakehist__a.png").read_bytes() == _png(10)
    assert not (tmp_path / "out" / "fakehist__b.png").exists()
    problems = tool.first.assemble(
        tool.first.read_list(listed),
        tmp_path / "pkgs",
        tmp_path / "out2",
        tool.first.file_name,
        tool.package_row,
    )[1]
    assert problems[0].endswith(f"sha256 {hashlib.sha256(_png(11)).hexdigest()}, the list says {'f' * 64}")
    assert "pip download --no-deps --no-binary :all: gone==2.0" in problems[1]


def test_a_bad_commit_column_or_a_file_not_in_the_package_is_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _tool()
    package = _package(tool, tmp_path / "pkgs", {"fakehist-1.0/data/a.png": _png(10)})
    row = {"repo": NAME, "commit": tool.commit_of(package), "path": "fakehist-1.0/data/a.png"}

    assert tool.package_row(tmp_path / "pkgs", row) == _png(10)
    assert (
        tool.package_row(tmp_path / "pkgs", {**row, "path": "nope.png"})
        == "nope.png is not in fakehist-1.0.tar.gz"
    )
    assert "is not VERSION/FILE@SHA256" in tool.package_row(tmp_path / "pkgs", {**row, "commit": "abc"})


def test_alike_compares_with_the_fifth_set_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tool = _tool()
    assert Path("/tmp/heldout5-he") in tool.TUNING_FOLDERS
    image = _textured(3)
    _save(image[:, ::-1], tmp_path / "new" / "a.png")
    _save(image, tmp_path / "tuning" / "t.png")
    _save(_textured(9), tmp_path / "tuning" / "u.png")

    assert tool.main(["--alike", str(tmp_path / "new"), "--against", str(tmp_path / "tuning")]) == 0

    first_line = capsys.readouterr().out.splitlines()[0]
    assert float(first_line.split("\t")[0]) > 0.99
    assert first_line.endswith("t.png")


def test_the_committed_list_is_empty_and_every_package_stated_is_one_looked_at() -> None:
    tool = _tool()
    assert tool.first.read_list(tool.LIST) == []
    assert tool.SOURCES == ()
    looked_at = {key.split("==", 1)[0] for key in tool.NOT_USED}
    assert set(tool.PACKAGES) <= looked_at
    assert all(len(p.sha256) == 64 and p.file for p in tool.PACKAGES.values())
