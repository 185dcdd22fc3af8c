"""Batch discovery: manifest as contract, stem pairing without one, bad layouts as issues."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dqm.batch import MAX_MANIFEST_LINE, discover, jailed, normalise


def _touch(root: Path, *paths: str) -> None:
    for p in paths:
        (root / p).parent.mkdir(parents=True, exist_ok=True)
        (root / p).write_bytes(b"x")


def test_manifest_rows_become_items_in_order(tmp_path):
    _touch(tmp_path, "s/a.svs", "s/b.svs", "n/a.json", "n/b.json")
    (tmp_path / "manifest.csv").write_text(
        "\ufeffslide_id,image_path,annotation_path,institution,diagnosis\nB,s/b.svs,n/b.json,H1,BCC\nA,s/a.svs,n/a.json,H2,MM\n",
        encoding="utf-8",
    )
    disc = discover(tmp_path)
    assert [(i.slide_id, i.row, i.image_path, i.institution) for i in disc.items] == [
        ("B", 1, "s/b.svs", "H1"),
        ("A", 2, "s/a.svs", "H2"),
    ]
    assert disc.issues == [] and disc.manifest_cells == 6


def test_unreferenced_files_are_orphans(tmp_path):
    _touch(tmp_path, "a.svs", "a.json", "extra.svs", "notes.json", "README.md", ".git/objects/ab/cdef")
    (tmp_path / "manifest.csv").write_text("slide_id,image_path,annotation_path\nA,a.svs,a.json\n")
    issues = {(i.code, i.file) for i in discover(tmp_path).issues}
    assert issues == {("ORPHAN_SLIDE", "extra.svs"), ("ORPHAN_ANNOTATION", "notes.json")}


def test_hidden_slides_and_folders_are_named_not_skipped_in_silence(tmp_path):
    """A supplier who moved its worst slides into a hidden folder, or renamed their annotations
    ``.S1.json``, delivered them unseen: the folder and the file were skipped without a word, and
    the accuracy ratios rose. They are FILE_NOT_READ warnings now; folders holding no slide or
    annotation (``.git``'s objects, ``.fseventsd``), the AppleDouble twins macOS writes beside each
    file (``._a.svs``: small, with its magic bytes) and other hidden files (``.DS_Store``) stay quiet."""
    _touch(
        tmp_path, "a.svs", "a.json", ".old/b.svs", ".old/b.json", "ann/.c.json", ".DS_Store",
        ".git/objects/ab/cdef", ".dvc/cache/files/md5/12/3456", ".fseventsd/0000001",
        ".ipynb_checkpoints/qa-checkpoint.ipynb", ".vscode/settings.json", ".zenodo.json",
    )  # fmt: skip
    (tmp_path / "._a.svs").write_bytes(b"\x00\x05\x16\x07" + bytes(4000))
    (tmp_path / "manifest.csv").write_text("slide_id,image_path,annotation_path\nA,a.svs,a.json\n")
    disc = discover(tmp_path)
    assert sorted((i.code, i.file) for i in disc.issues) == [
        ("FILE_NOT_READ", ".old/"),
        ("FILE_NOT_READ", "ann/.c.json"),
    ]
    assert [i.slide_id for i in disc.items] == ["A"]
    (folder,) = [i.message for i in disc.issues if i.file == ".old/"]
    assert "hidden folder is not read" in folder


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="a FIFO and links as POSIX makes them")
def test_slides_hidden_in_tool_folders_or_as_apple_double_twins_are_named(tmp_path):
    """A tool's folder (``.git``, ``.github``) or a ``._`` name silenced anything: a slide moved to
    ``.github/old/`` or ``.git/old/``, a 50 KB slide named ``._E.svs``, an annotation ``._D.json``
    left the batch unseen. A tool's folder is named when it holds a slide (or an annotation
    not JSON or XML, its settings); a ``._`` file is a twin only when small and starting with AppleDouble's magic."""
    _touch(tmp_path, "a.svs", "a.json", ".github/old/B.svs", ".git/old/C.svs", ".dvc/x.geojson")
    (tmp_path / ".github/renovate.json").write_text("{}")
    (tmp_path / "._E.svs").write_bytes(os.urandom(50_000))
    (tmp_path / "._D.json").write_text('{"lesions":[]}')
    (tmp_path / "._F.svs").write_bytes(b"\x00\x05\x16\x07" + bytes(5000))  # the magic, too large
    (tmp_path / "._G.svs").symlink_to(tmp_path / "._a.svs")  # a link is no twin (nor read)
    (tmp_path / "._a.svs").write_bytes(b"\x00\x05\x16\x07" + bytes(100))  # a twin: quiet
    os.mkfifo(tmp_path / "._H.svs")  # never opened: reading a FIFO would wait for a writer
    (tmp_path / "manifest.csv").write_text("slide_id,image_path,annotation_path\nA,a.svs,a.json\n")
    got = sorted((i.code, i.file) for i in discover(tmp_path).issues)
    assert got == [
        ("FILE_NOT_READ", "._D.json"),
        ("FILE_NOT_READ", "._E.svs"),
        ("FILE_NOT_READ", "._F.svs"),
        ("FILE_NOT_READ", "._G.svs"),
        ("FILE_NOT_READ", "._H.svs"),
        ("FILE_NOT_READ", ".dvc/"),
        ("FILE_NOT_READ", ".git/"),
        ("FILE_NOT_READ", ".github/"),
    ]
    _touch(tmp_path, ".vscode/settings.json", "ann/.zenodo.json")  # metadata is quiet at the root only
    _touch(tmp_path, ".idea/workspace.xml", ".idea/inspectionProfiles/Project_Default.xml")  # settings: XML
    got_after = {(i.code, i.file) for i in discover(tmp_path).issues}
    assert ("FILE_NOT_READ", ".vscode/") not in got_after and ("FILE_NOT_READ", ".idea/") not in got_after
    assert ("FILE_NOT_READ", "ann/.zenodo.json") in {(i.code, i.file) for i in discover(tmp_path).issues}


def test_a_git_annex_store_is_not_named_as_slides_hidden_in_git(tmp_path):
    """git-annex (and DataLad) keep each file under ``.git/annex/objects/`` in a key that keeps its
    extension, the batch's ``a.svs`` a link to it: ``.git/`` was named FILE_NOT_READ with the advice
    to move the slides out of it, which would break the repository. A tool's content stores
    (``annex``, ``objects``) are not looked through; a slide elsewhere in ``.git`` still is."""
    key = "SHA256E-s5--ab.svs"
    store = tmp_path / ".git/annex/objects/Xk/3Q" / key
    _touch(
        tmp_path, f".git/annex/objects/Xk/3Q/{key}/{key}", f".git/modules/sub/annex/objects/Q/W/{key}/{key}"
    )
    _touch(tmp_path, ".datalad/metadata/objects/ab/cn-1.svs", "a.json", ".git/modules/sub/HEAD")
    (tmp_path / "a.svs").symlink_to(store / key)
    (tmp_path / "manifest.csv").write_text("slide_id,image_path,annotation_path\nA,a.svs,a.json\n")
    assert [(i.code, i.file) for i in discover(tmp_path).issues] == []
    _touch(tmp_path, ".git/old/C.svs")
    assert [(i.code, i.file) for i in discover(tmp_path).issues] == [("FILE_NOT_READ", ".git/")]


@pytest.mark.parametrize("error", [13, 36])  # EACCES, ENAMETOOLONG
def test_a_hidden_folder_that_cannot_be_listed_is_named_not_taken_as_empty(tmp_path, monkeypatch, error):
    """A ``.old/`` at mode 000 holding ``b.svs``, or a ``.old/`` whose ``sub/`` cannot be listed,
    was taken as holding nothing: the slides in it left the batch without a word. What it holds is
    unknown, so it is named; only the system's folders (``.Trashes``) stay quiet. Listing is made
    to fail by patching ``os.scandir`` (root reads past mode 000)."""
    _touch(tmp_path, "a.svs", "a.json", ".old/b.svs", ".old2/sub/c.svs", ".Trashes/501/d.svs", ".git/e.txt")
    blocked = {str(tmp_path / p) for p in (".old", ".old2/sub", ".Trashes/501", ".git")}
    scandir = os.scandir

    def failing(path):
        if str(path) in blocked:
            raise OSError(error, os.strerror(error), str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", failing)
    got = sorted((i.code, i.file) for i in discover(tmp_path).issues)
    assert got == [("FILE_NOT_READ", ".git/"), ("FILE_NOT_READ", ".old/"), ("FILE_NOT_READ", ".old2/")]


@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
def test_a_hidden_folder_named_in_bytes_not_utf8_is_a_warning_not_an_error(tmp_path):
    """A hidden folder whose name is not UTF-8 became a NAME_NOT_UTF8 error, counted in the file
    accuracy (13/13 before, 13/14 after). Hidden, it is not read: a warning naming its bytes when it
    holds a slide, nothing when it holds none (``.fseventsd``-like)."""
    _touch(tmp_path, "a.svs", "a.json")
    (tmp_path / "manifest.csv").write_text("slide_id,image_path,annotation_path\nA,a.svs,a.json\n")
    quiet = os.fsencode(tmp_path) + b"/.\xff\xfe"
    os.mkdir(quiet)
    open(quiet + b"/y", "wb").close()
    assert discover(tmp_path).issues == []
    loud = os.fsencode(tmp_path) + b"/.old\xff"
    os.mkdir(loud)
    open(loud + b"/b.svs", "wb").close()
    assert [(i.code, i.file) for i in discover(tmp_path).issues] == [
        ("FILE_NOT_READ", ".old\\xff/")  # a warning
    ]


def test_files_of_no_known_format_are_reported_not_skipped(tmp_path):
    """A stray CSV or PDF in a delivery is named; a MIRAX slide's data folder is part of its slide."""
    _touch(
        tmp_path, "a.svs", "a.json", "codes.csv", "docs/protocol.pdf", "LICENSE", "m.mrxs", "m/Data0001.dat"
    )
    disc = discover(tmp_path)
    got = sorted((i.code, i.file) for i in disc.issues if i.code == "FILE_NOT_READ")
    assert got == [
        ("FILE_NOT_READ", "LICENSE"),
        ("FILE_NOT_READ", "codes.csv"),
        ("FILE_NOT_READ", "docs/protocol.pdf"),
    ]
    (msg,) = [i.message for i in disc.issues if i.file == "codes.csv"]
    assert "'.csv'" in msg and "not checked" in msg


def test_manifest_problems_are_issues_with_row_and_column(tmp_path):
    _touch(tmp_path, "a.svs", "a.json")
    (tmp_path / "manifest.csv").write_text("slide_id,image_path\n,a.svs\na,a.svs,surplus\n")
    disc = discover(tmp_path)
    got = sorted((i.code, i.row, i.column) for i in disc.issues)
    assert got == [
        ("MANIFEST_BAD_ROW", 2, None),
        ("MANIFEST_EMPTY_SLIDE_ID", 1, "slide_id"),
        ("MANIFEST_MISSING_COLUMN", None, "annotation_path"),
    ]
    # without an annotation_path column, files are looked up by slide id
    assert disc.items[1].annotation_path == "a.json"


def test_unusable_manifest_falls_back_to_stem_pairing(tmp_path):
    _touch(tmp_path, "x/S1.tiff", "y/S1.json", "x/S2.jpg")
    (tmp_path / "manifest.csv").write_bytes(b"\xff\x00garbage")  # neither UTF-8 nor CP949, no BOM
    disc = discover(tmp_path)
    assert [i.code for i in disc.issues] == ["MANIFEST_UNREADABLE"]
    assert [(i.slide_id, i.image_path, i.annotation_path) for i in disc.items] == [
        ("S1", "x/S1.tiff", "y/S1.json"),
        ("S2", "x/S2.jpg", None),
    ]


def test_empty_folder_is_an_issue(tmp_path):
    assert [i.code for i in discover(tmp_path).issues] == ["EMPTY_BATCH"]


def test_paths_leaving_the_batch_are_flagged():
    assert normalise("../secret.svs") == ("../secret.svs", True)
    assert normalise("/etc/passwd")[1] is True
    assert normalise("a/../../b.svs")[1] is True
    assert normalise("slides\\a.svs") == ("slides/a.svs", False)
    assert normalise("./a/./b.svs") == ("a/b.svs", False)


def test_a_duplicated_column_is_reported_and_the_first_one_is_used(tmp_path):
    _touch(tmp_path, "a.svs", "a.json")
    (tmp_path / "manifest.csv").write_text("slide_id,image_path,annotation_path,slide_id\nA,a.svs,a.json,Z\n")
    disc = discover(tmp_path)
    assert [(i.code, i.column) for i in disc.issues] == [("MANIFEST_DUPLICATE_COLUMN", "slide_id")]
    assert "columns 1 and 4" in disc.issues[0].message
    assert [i.slide_id for i in disc.items] == ["A"]


def test_broken_csv_syntax_is_reported_with_the_line_where_the_row_starts(tmp_path):
    """An unclosed quote swallows every later row into one cell: never silently."""
    _touch(tmp_path, "a.svs", "a.json", "b.svs", "b.json", "c.svs", "c.json")
    (tmp_path / "manifest.csv").write_text(
        'slide_id,image_path,annotation_path\nA,a.svs,a.json\nB,b.svs,"b.json\nC,c.svs,c.json\n'
    )
    disc = discover(tmp_path)
    broken = [i for i in disc.issues if i.code == "MANIFEST_UNREADABLE"]
    assert len(broken) == 1 and broken[0].line == 3 and broken[0].file == "manifest.csv"
    assert disc.items[0].slide_id == "A"  # the rows before the break are read as they are


def test_text_after_a_closing_quote_is_reported(tmp_path):
    _touch(tmp_path, "a.svs", "a.json")
    (tmp_path / "manifest.csv").write_text('slide_id,image_path,annotation_path\nA,"a.svs"x,a.json\n')
    (issue,) = [i for i in discover(tmp_path).issues if i.code == "MANIFEST_UNREADABLE"]
    assert issue.line == 2


SECRET = "OUTSIDE-THE-BATCH"


def _outside(tmp_path: Path) -> tuple[Path, Path]:
    """A batch folder and, beside it, a folder and a file that are not part of it."""
    batch, outside = tmp_path / "batch", tmp_path / "outside"
    batch.mkdir()
    outside.mkdir()
    (outside / "leak.json").write_text(f'{{"lesions": [{{"class": "{SECRET}"}}]}}')
    return batch, outside


def test_links_that_leave_the_batch_are_reported_and_never_listed(tmp_path):
    batch, outside = _outside(tmp_path)
    _touch(batch, "a.svs", "a.json", "sub/inner.json")
    (batch / "b.json").symlink_to(outside / "leak.json")
    (batch / "linked").symlink_to(outside, target_is_directory=True)
    (batch / "inside.json").symlink_to(batch / "sub" / "inner.json")  # a link within the batch is fine
    (batch / "gone.json").symlink_to(batch / "nothing-here.json")
    disc = discover(batch)
    issues = {(i.code, i.file) for i in disc.issues}
    assert ("SYMLINK_OUTSIDE_BATCH", "b.json") in issues
    assert ("SYMLINK_OUTSIDE_BATCH", "linked") in issues
    assert ("SYMLINK_DANGLING", "gone.json") in issues
    assert "b.json" not in disc.annotation_files and "gone.json" not in disc.annotation_files
    assert "inside.json" in disc.annotation_files
    assert not any(f.startswith("linked") for f in disc.annotation_files + disc.slide_files)


def test_special_files_are_reported_and_never_opened(tmp_path):
    _touch(tmp_path, "a.svs", "a.json")
    os.mkfifo(tmp_path / "b.json")
    disc = discover(tmp_path)  # would block forever if the FIFO were opened
    (issue,) = [i for i in disc.issues if i.file == "b.json"]
    assert issue.code == "SPECIAL_FILE" and "FIFO" in issue.message
    assert "b.json" not in disc.annotation_files


@pytest.mark.parametrize("kind", ["fifo", "folder", "dangling", "outside"])
def test_a_manifest_that_is_not_a_file_is_reported_not_ignored(tmp_path, kind):
    batch, outside = _outside(tmp_path)
    _touch(batch, "a.svs", "a.json")
    manifest = batch / "manifest.csv"
    if kind == "fifo":
        os.mkfifo(manifest)
    elif kind == "folder":
        manifest.mkdir()
    elif kind == "dangling":
        manifest.symlink_to(batch / "missing.csv")
    else:
        (outside / "m.csv").write_text("slide_id,image_path,annotation_path\nX,a.svs,a.json\n")
        manifest.symlink_to(outside / "m.csv")
    disc = discover(batch)
    (issue,) = [i for i in disc.issues if i.code == "MANIFEST_UNREADABLE"]
    assert issue.file == "manifest.csv" and "paired by name" in issue.message
    assert disc.manifest_sha256 is None
    assert [i.slide_id for i in disc.items] == ["a"]  # paired by stem, the outside manifest unread


def test_jailed_refuses_every_way_out(tmp_path):
    batch, outside = _outside(tmp_path)
    _touch(batch, "ok/a.json")
    (batch / "via").symlink_to(outside, target_is_directory=True)
    os.mkfifo(batch / "pipe.json")
    assert jailed(batch, "ok/a.json") == (batch / "ok" / "a.json", None)
    for rel, why in (
        ("../outside/leak.json", "leaves the batch"),
        ("via/leak.json", "outside the batch"),
        ("pipe.json", "FIFO"),
        ("ok", "folder"),
        ("missing.json", "no such file"),
    ):
        path, reason = jailed(batch, rel)
        assert path is None and why in reason, rel


def test_an_audit_reads_nothing_through_a_link_out_of_the_batch(tmp_path):
    """The manifest names a file through a link that leaves the batch: a finding, and not one byte of
    the outside file reaches the results."""
    import json

    from dqm.audit import build_result
    from dqm.profile import load_profile
    from dqm.runner import RunOptions, run_batch

    batch, outside = _outside(tmp_path)
    (batch / "link.json").symlink_to(outside / "leak.json")
    (batch / "manifest.csv").write_text("slide_id,image_path,annotation_path\nA,,link.json\n")
    run = run_batch(batch, load_profile(None), RunOptions(workers=1, slides=False, clinical=False))
    text = build_result(run, ["dqm"]).model_dump_json()
    assert SECRET not in text
    codes = {f["code"] for f in json.loads(text)["findings"]}
    assert {"PATH_OUTSIDE_BATCH", "SYMLINK_OUTSIDE_BATCH"} <= codes


def test_the_walk_lists_top_down_in_name_order_with_issues_in_walk_order(tmp_path):
    """Each folder's files in name order, then its folders, each walked whole before the next
    (os.walk's top-down order); a folder's link and special-file issues before its files'."""
    batch, outside = _outside(tmp_path)
    _touch(batch, "z.json", "b/b.json", "a/x/deep.json", "a/a2.json", "a/a1.json", "a.json", ".git/h.json")
    (batch / "a" / "lnk").symlink_to(outside, target_is_directory=True)
    os.mkfifo(batch / "a" / "0.json")
    (batch / "a" / "a0.json").symlink_to(batch / "b" / "b.json")
    disc = discover(batch)
    assert disc.annotation_files == [
        "a.json",
        "z.json",
        "a/a0.json",
        "a/a1.json",
        "a/a2.json",
        "a/x/deep.json",
        "b/b.json",
    ]
    assert [(i.code, i.file) for i in disc.issues[:2]] == [
        ("SYMLINK_OUTSIDE_BATCH", "a/lnk"),
        ("SPECIAL_FILE", "a/0.json"),
    ]


@pytest.mark.parametrize(
    "rel",
    [
        "a/b.json",
        "a/./b",
        "./a",
        "a//b",
        "a/../b",
        "../a",
        "/a",
        "a\\b",
        " a",
        "a\u3000",
        "a/",
        "..",
        ".",
        "",
        "a/.h",
        "x..y/z",
    ],
)
def test_a_clean_path_is_kept_and_any_other_normalised(rel):
    cleaned = rel.strip().replace("\\", "/")
    norm = os.path.normpath(cleaned) if cleaned else ""
    assert normalise(rel) == (norm, cleaned.startswith("/") or norm == ".." or norm.startswith("../"))


def test_a_clinical_columns_repeated_values_are_kept_once(tmp_path):
    """A million rows of a few institutions hold a few strings; paths are the walk's own strings."""
    _touch(tmp_path, *(f"n/{k}.json" for k in range(4)))
    rows = "".join(f"S{k},n/{k}.json,Seoul-A,{k}\n" for k in range(4))
    (tmp_path / "manifest.csv").write_text("slide_id,annotation_path,institution,age\n" + rows)
    disc = discover(tmp_path)
    assert len({id(i.record["institution"]) for i in disc.items}) == 1
    assert [i.record for i in disc.items][1] == {"institution": "Seoul-A", "age": "1"}
    assert all(i.annotation_path is f for i, f in zip(disc.items, disc.annotation_files, strict=True))


def test_a_manifest_read_again_leniently_keeps_no_item_of_the_strict_reading(tmp_path):
    """The strict reading fails at the last row, after its items were made: the lenient reading
    starts over, so no row becomes two items and no issue is reported twice."""
    _touch(tmp_path, "a.json", "b.json")
    (tmp_path / "manifest.csv").write_text(
        'slide_id,annotation_path,slide_id\nA,a.json,1\nB,b.json,2\nC,"c.json"x,3\n'
    )
    disc = discover(tmp_path)
    assert [i.slide_id for i in disc.items] == ["A", "B", "C"]
    codes = [i.code for i in disc.issues]
    assert codes.count("MANIFEST_DUPLICATE_COLUMN") == 1 and codes.count("MANIFEST_UNREADABLE") == 1


def test_a_manifest_line_past_the_limit_is_reported_and_the_other_rows_read(tmp_path, monkeypatch):
    """A line of millions of commas held each of its cells (750 MB for 50 MB of commas): a line
    longer than ``MAX_MANIFEST_LINE`` is left out and reported with its line number."""
    import dqm.batch

    monkeypatch.setattr(dqm.batch, "MAX_MANIFEST_LINE", 200)
    _touch(tmp_path, "a.svs", "a.json", "b.svs", "b.json")
    rows = ["slide_id,image_path,annotation_path", "A,a.svs,a.json", "C" + "," * 5000, "B,b.svs,b.json"]
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    disc = discover(tmp_path)
    assert [i.slide_id for i in disc.items] == ["A", "B"]
    (issue,) = [i for i in disc.issues if i.code == "MANIFEST_BAD_ROW"]
    assert issue.line == 3 and "5,002 characters" in issue.message


def test_a_manifest_of_one_long_line_is_read_in_memory_near_its_size(tmp_path, monkeypatch):
    """Its lines were split by a StringIO, which holds a copy at four bytes a character, and the
    long line was copied once more to be measured: a manifest of one 200 MB line peaked at 1.2 GB
    (over 6x). Lines are now sliced from the text by their ends, a long one never copied: the
    bytes read and the text decoded from them, about 2x. (The byte limit is lowered to the file's
    size: the read asks for a buffer of the limit, which the allocator maps and never touches.)"""
    import tracemalloc

    import dqm.batch

    _touch(tmp_path, "a.svs", "a.json")
    size = 20_000_000
    monkeypatch.setattr(dqm.batch, "MAX_MANIFEST_BYTES", size + 1000)
    body = "slide_id,image_path,annotation_path\nA,a.svs,a.json\nB," + "x" * size + "\n"
    (tmp_path / "manifest.csv").write_text(body)
    tracemalloc.start()
    try:
        disc = discover(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [i.slide_id for i in disc.items] == ["A"]
    assert [(i.code, i.line) for i in disc.issues] == [("MANIFEST_BAD_ROW", 3)]
    assert peak < 3 * size, f"{peak / size:.1f}x the manifest"


def test_a_header_past_the_column_limit_is_cut_and_reported(tmp_path, monkeypatch):
    """A header of a million repeated names made a million findings (a results.json of 494 MB from
    a manifest of 10 MB): the columns past ``MAX_MANIFEST_COLUMNS`` are not read."""
    import dqm.batch

    monkeypatch.setattr(dqm.batch, "MAX_MANIFEST_COLUMNS", 8)
    _touch(tmp_path, "a.svs", "a.json")
    (tmp_path / "manifest.csv").write_text(
        "slide_id,image_path,annotation_path,site"
        + ",x" * 1000
        + "\nA,a.svs,a.json,trunk"
        + ",v" * 1000
        + "\n"
    )
    disc = discover(tmp_path)
    (item,) = disc.items
    assert item.slide_id == "A" and len(item.record) <= 8 and item.record["site"] == "trunk"
    codes = [i.code for i in disc.issues]
    assert codes.count("MANIFEST_DUPLICATE_COLUMN") <= 8 and "1,004 columns" in disc.issues[0].message
    assert codes.count("MANIFEST_BAD_ROW") == 1  # the header, not the row that matches it


def test_manifest_rows_far_past_the_batchs_files_are_counted_not_read(tmp_path, monkeypatch):
    """Each row is an item: 100 KB of two-byte rows for files that are not there took 5 minutes and
    2.7 GB. Rows past the batch's files by ``MANIFEST_ROWS_PAST_FILES`` are counted in one issue."""
    import dqm.batch

    monkeypatch.setattr(dqm.batch, "MANIFEST_ROWS_PAST_FILES", 5)
    _touch(tmp_path, "a.svs", "a.json")
    rows = (
        ["slide_id,image_path,annotation_path", "A,a.svs,a.json"] + [f"x{k}" for k in range(20)] + ["", "y"]
    )
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    disc = discover(tmp_path)
    assert [i.slide_id for i in disc.items] == ["A", "x0", "x1", "x2", "x3", "x4", "x5"]
    (cut,) = [i for i in disc.issues if i.code == "MANIFEST_BAD_ROW" and "not read" in i.message]
    assert cut.row == 8 and cut.message.startswith("15 rows from here on are not read")
    assert "(2)" in cut.message


def _many(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for n in range(count):
        (folder / f"{n:05d}").write_bytes(b"")


def test_a_tool_folder_too_large_to_look_through_is_named_with_how_far_it_was_looked(tmp_path):
    """A tool's folder of more than HIDDEN_SCAN_LIMIT entries (20,050 here) was looked through only
    that far and then taken as holding nothing: a slide among the entries past it (``scandir``'s
    order) was never seen, in silence. It is named now, saying how many entries were looked
    through; DVC's content store (``.dvc/cache``, files named by their digest, no extension) is not
    looked through, as git's ``objects`` (session 25, task cache2, 4)."""
    from dqm.batch import HIDDEN_SCAN_LIMIT

    assert HIDDEN_SCAN_LIMIT == 20_000
    _touch(tmp_path, "a.svs", "a.json")
    (tmp_path / "manifest.csv").write_text("slide_id,image_path,annotation_path\nA,a.svs,a.json\n")
    _many(tmp_path / ".dvc/cache/files/md5/12", HIDDEN_SCAN_LIMIT + 50)
    _many(tmp_path / ".ipynb_checkpoints", 10)
    assert [(i.code, i.file) for i in discover(tmp_path).issues] == []  # a content store: quiet
    _many(tmp_path / ".git/refs/tags", HIDDEN_SCAN_LIMIT + 50)
    (issue,) = discover(tmp_path).issues
    assert (issue.code, issue.file) == ("FILE_NOT_READ", ".git/")
    assert "only the first 20,000 of its entries" in issue.message, issue.message


@pytest.mark.parametrize(
    "store",
    [
        ".git/objects/12",
        ".git/lfs/objects/ab/cd",
        ".git/annex/objects/Xk/3Q",
        ".git/modules/sub/objects/12",
        ".git/modules/libs/foo/objects/12",  # a submodule at libs/foo
        ".git/modules/libs/foo/annex/objects",
        ".git/modules/logs/objects/12",  # a submodule at logs
        ".git/modules/docs/info/objects/12",  # at docs/info
        ".git/modules/sub/modules/deeper/annex/objects",
        ".datalad/metadata/objects/ab",
        ".dvc/cache/files/md5/12",
        ".hg/store/data",
        ".svn/pristine/12",
    ],
)
def test_each_tools_content_store_is_not_looked_through(tmp_path, monkeypatch, store):
    """Each tool's own content store, past the limit, stays quiet; Mercurial's ``.hg/store`` and
    Subversion's ``.svn/pristine`` were named (``FILE_NOT_READ``) in every large repository of
    either (session 25, task cache2f, 4)."""
    import dqm.batch

    monkeypatch.setattr(dqm.batch, "HIDDEN_SCAN_LIMIT", 40)
    _touch(tmp_path, "a.svs", "a.json")
    _many(tmp_path / store, 50)
    _submodule_heads(tmp_path, store)
    assert [(i.code, i.file) for i in discover(tmp_path).issues] == []


def _submodule_heads(root, path: str) -> None:
    """The HEAD file of each submodule's git folder on ``path`` (``.git/modules/sub/modules/deeper/``):
    a git folder is one that holds HEAD."""
    parts = path.split("/")
    for k in range(2, len(parts)):
        if parts[k - 1] == "modules" and parts[0] == ".git":
            name_end = next(
                (
                    j
                    for j in range(k + 1, len(parts) + 1)
                    if j == len(parts) or parts[j] in ("objects", "annex", "lfs", "modules", "refs")
                ),
                len(parts),
            )
            (root.joinpath(*parts[:name_end]) / "HEAD").write_text("ref: refs/heads/main\n")


@pytest.mark.parametrize(
    "folder",
    [
        ".vscode/cache",
        ".idea/objects",
        ".hg/cache",
        ".git/store",
        ".svn/annex",
        ".git/refs/objects",
        ".git/modules/sub/refs/heads/objects",  # a branch named objects in a submodule
    ],
)
def test_a_store_named_folder_of_another_tool_or_place_is_looked_through(tmp_path, monkeypatch, folder):
    """A store's name is a store only in its own tool's folder, at its own place: ``cache`` was
    skipped at any depth of any tool's folder, and ``.vscode/cache/x.svs`` went unseen; past the
    limit such a folder is named as any other (session 25, task cache2f, 4)."""
    import dqm.batch

    monkeypatch.setattr(dqm.batch, "HIDDEN_SCAN_LIMIT", 40)
    _touch(tmp_path, "a.svs", "a.json")
    (tmp_path / folder).mkdir(parents=True)
    _submodule_heads(tmp_path, folder)
    (tmp_path / folder / "x.svs").write_bytes(b"")
    (issue,) = discover(tmp_path).issues
    assert (issue.code, issue.file) == ("FILE_NOT_READ", folder.split("/")[0] + "/")
    assert "hidden folder is not read" in issue.message
    (tmp_path / folder / "x.svs").unlink()
    _many(tmp_path / folder / "many", 50)
    (issue,) = discover(tmp_path).issues
    assert "only the first 40 of its entries" in issue.message, issue.message


def test_a_manifest_cell_as_long_as_a_line_may_be_is_read(tmp_path):
    """A clinical cell of 200,000 characters on a line well under ``MAX_MANIFEST_LINE``: the CSV
    module's own cell limit (131,072) refused it, and the whole manifest was MANIFEST_UNREADABLE
    in its English ("field larger than field limit"). A cell may be as long as a line now."""
    import csv

    _touch(tmp_path, "a.svs", "a.json", "b.svs", "b.json")
    note = "y" * 200_000
    rows = ["slide_id,image_path,annotation_path,note", f"A,a.svs,a.json,{note}", "B,b.svs,b.json,short"]
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    disc = discover(tmp_path)
    assert [i.slide_id for i in disc.items] == ["A", "B"]
    assert disc.items[0].record["note"] == note
    assert not [i for i in disc.issues if i.code.startswith("MANIFEST_")]
    assert csv.field_size_limit() == MAX_MANIFEST_LINE


def test_the_csv_cell_limit_is_raised_once_at_import_never_saved_and_restored():
    """The cell limit is the whole process's: a manifest read saved it, raised it and restored it
    after, so two threads reading manifests raced (one restored 131,072 while the other read: a
    long cell refused; or the raised limit leaked). It is raised once, as dqm.batch is imported,
    and a read leaves it so."""
    import os
    import subprocess
    import sys

    import dqm

    code = "import csv, dqm.batch; print(csv.field_size_limit())"
    env = {**os.environ, "PYTHONPATH": str(Path(dqm.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert int(out.stdout) == MAX_MANIFEST_LINE


def test_manifests_read_in_threads_at_once_keep_their_long_cells(tmp_path):
    """Four threads each reading a manifest with a 200,000-character cell, many times: each
    read keeps its cell, and the limit is the line limit after."""
    import csv
    from concurrent.futures import ThreadPoolExecutor

    _touch(tmp_path, "a.svs", "a.json")
    note = "y" * 200_000
    rows = ["slide_id,image_path,annotation_path,note", f"A,a.svs,a.json,{note}"]
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")

    def notes(_: int) -> list[str]:
        disc = discover(tmp_path)
        return [i.code for i in disc.issues if i.code.startswith("MANIFEST_")] + [
            str(i.record.get("note") == note) for i in disc.items if i.record
        ]

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(notes, range(16)))
    assert got == [["True"]] * 16
    assert csv.field_size_limit() == MAX_MANIFEST_LINE


def test_a_cell_longer_than_a_line_may_be_says_so_in_words(tmp_path, monkeypatch):
    """A quote left open joins the lines after it into one cell past the limit: the issue says
    so in dqm's words (it gave the CSV module's "field larger than field limit (131072)")."""
    import csv

    import dqm.batch

    monkeypatch.setattr(dqm.batch, "MAX_MANIFEST_LINE", 300)
    before = csv.field_size_limit(300)  # as dqm.batch set it at import, were its line limit 300
    _touch(tmp_path, "a.svs", "a.json")
    rows = ["slide_id,image_path,annotation_path,note", 'A,a.svs,a.json,"open'] + ["z" * 100] * 5
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    try:
        disc = discover(tmp_path)
    finally:
        csv.field_size_limit(before)
    said = [i.message for i in disc.issues if i.code == "MANIFEST_UNREADABLE"]
    assert said and all("field larger" not in m for m in said)
    assert any("a cell of more than 300 characters, the most a line may hold" in m for m in said)
