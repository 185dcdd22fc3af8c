"""File checks across the batch: duplicate ids and duplicate slide content say where."""

from __future__ import annotations

from validators import REGISTRY
from validators.context import BatchView, ItemFacts
from validators.engine import configure
from validators.registry import CheckContext


def _run(check_id, profile, items, manifest):
    spec = REGISTRY[check_id]
    cfg = {c.id: c for c in configure(profile)}[check_id]
    ctx = CheckContext(spec, "batch", cfg.severities, manifest)
    return spec.func(BatchView(profile, items, manifest), cfg.params, ctx)


def test_duplicate_slide_id_without_a_manifest_names_the_files(profile):
    """Paired by file stem there are no rows: the finding must name the files, not 'rows None'."""
    items = [
        ItemFacts("X", None, "a/X.png", "a/X.json"),
        ItemFacts("X", None, "b/X.png", "b/X.json"),
    ]
    (f,) = _run("file.duplicate_slide_id", profile, items, None)
    assert "None" not in f.message and "'a/X.png'" in f.message
    assert f.location.file == "b/X.png" and f.location.row is None and f.location.column is None


def test_duplicate_slide_id_in_a_manifest_names_the_rows(profile):
    items = [ItemFacts("S1", 1, "s/1.png", "a/1.json"), ItemFacts("S1", 2, "s/1.png", "a/1.json")]
    (f,) = _run("file.duplicate_slide_id", profile, items, "manifest.csv")
    assert "(manifest rows 1, 2)" in f.message
    assert f.text("ko").endswith("(매니페스트 1, 2행)")  # no English left in the rows
    assert (f.location.file, f.location.row, f.location.column) == ("manifest.csv", 2, "slide_id")


def test_one_slide_file_under_two_ids_is_not_called_identical_to_itself(profile):
    items = [
        ItemFacts("S3", 3, "slides/S3.png", "a/3.json", "f" * 64),
        ItemFacts("S9", 7, "./slides/S3.png", "a/9.json", "f" * 64),
    ]
    (f,) = _run("file.duplicate_slide_content", profile, items, "manifest.csv")
    assert "byte-identical" not in f.message and "'S3'" in f.message, f.message
    assert f.item_id == "S9" and f.location.file == "./slides/S3.png"


def test_two_identical_slide_files_are_named(profile):
    items = [
        ItemFacts("S1", 1, "slides/S1.png", "a/1.json", "f" * 64),
        ItemFacts("S2", 2, "slides/S2.png", "a/2.json", "f" * 64),
    ]
    (f,) = _run("file.duplicate_slide_content", profile, items, "manifest.csv")
    assert "byte-identical to 'slides/S1.png' (slide 'S1')" in f.message


def test_a_missing_partner_file_names_the_file_that_is_there(profile):
    """Paired by stem there is no manifest row: the message is the only way to find the item."""
    from dqm.model import Item
    from validators.context import FileStatus, ItemView

    spec = REGISTRY["file.pairing"]
    cfg = {c.id: c for c in configure(profile)}["file.pairing"]
    view = ItemView(
        Item("8_HE", None, "asap/8_HE.xml"),
        profile,
        image=FileStatus(None, False),
        annotation_file=FileStatus("asap/8_HE.xml", True),
    )
    (f,) = spec.func(view, cfg.params, CheckContext(spec, "8_HE", cfg.severities, None))
    assert f.code == "SLIDE_MISSING" and "'asap/8_HE.xml'" in f.message
    assert f.location.file is None  # still one missing file of its own in the file grain


def test_one_slide_id_on_every_row_names_a_few_rows_and_counts_the_rest(profile):
    """Every row of a big manifest under one slide_id: each of the n - 1 findings named all n rows,
    a text as long as the manifest that every finding cut again (quadratic: minutes at 34,376
    rows). The message names the first rows and counts the others, in any language."""
    n = 5_000
    items = [ItemFacts("S1", k, f"s/{k}.png", f"a/{k}.json") for k in range(1, n + 1)]
    found = _run("file.duplicate_slide_id", profile, items, "manifest.csv")
    assert len(found) == n - 1 and [f.location.row for f in found] == list(range(2, n + 1))
    f = found[0]
    assert f"appears {n} times (manifest rows 1, 2, 3," in f.message
    assert f.message.endswith(f"and {n - 10:,} more)") and "cut:" not in f.message
    assert f.text("ko").endswith(f"외 {n - 10:,}개)")
    paired = [ItemFacts("X", None, f"s/{k}.png", None) for k in range(n)]
    f = _run("file.duplicate_slide_id", profile, paired, None)[0]
    assert "'s/9.png'" in f.message and "'s/10.png'" not in f.message
    assert f.message.endswith(f"and {n - 10:,} more)")
