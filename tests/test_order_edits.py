"""The figures without the items not ordered under waivers and by-file lists, and the edits to
``order`` and ``syntactic.ordered`` the gate finds (:func:`dqm.figures.edited_order`)."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest

from dqm.cli import app  # noqa: F401  (registers the checks)
from dqm.order import ORDER_CHECK, read_order
from dqm.profile import Profile, load_profile
from dqm.runner import RunOptions, run_batch


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 small slides, half of them with an injected defect."""
    from dqm.synth import build_batch

    out = tmp_path_factory.mktemp("edits") / "batch"
    build_batch(out, 8, seed=3, defect_rate=0.5, max_size=256)
    return out


def _rows(batch: Path) -> list[dict[str, str]]:
    with (batch / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _write(batch: Path, rows: list[dict[str, str]], fields: list[str]) -> None:
    with (batch / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _padded(batch: Path, like: dict[str, str], ids: list[str]) -> list[dict[str, str]]:
    """Rows of copies of the item ``like``'s files, one a name of ``ids`` (files named after
    their position, so that an id may repeat)."""
    out = []
    for k, new in enumerate(ids):
        row = dict(like, slide_id=new)
        for col in ("image_path", "annotation_path"):
            old = Path(like[col])
            path = old.parent / f"pad{k}_{old.name}"
            (batch / path).write_bytes((batch / old).read_bytes())
            row[col] = str(path)
        out.append(row)
    return out


def _two_pads(batch: Path, tmp_path: Path, order: Path):  # type: ignore[no-untyped-def]
    """The syntactic result of ``batch`` with ``order``, a copy of the batch, and the rows of two
    pads in it: copies of a good item's files under a bad item's id (not yet in its manifest)."""
    from dqm.audit import with_order
    from dqm.syntactic.accuracy import syntactic_result

    run = run_batch(batch, load_profile(), RunOptions(workers=1))
    good = next(i.slide_id for i in run.outcomes.summaries() if not i.errors)
    bad = next(i.slide_id for i in run.outcomes.summaries() if i.errors and i.image_path)
    with_order(run, read_order(order))
    complete = syntactic_result(run)
    copy = tmp_path / "batch"
    shutil.copytree(batch, copy)
    return complete, copy, _padded(copy, next(r for r in _rows(batch) if r["slide_id"] == good), [bad, bad])


def _result(batch: Path, order: Path, profile: Profile | None = None):  # type: ignore[no-untyped-def]
    from dqm.audit import build_result, with_order

    run = run_batch(batch, profile or load_profile(), RunOptions(workers=1))
    info = with_order(run, read_order(order))
    return build_result(run, ["audit"], order=info)


def _by_id(tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "order.csv"
    path.write_text("slide_id\n" + "".join(f"{i}\n" for i in ids), encoding="utf-8")
    return path


def test_waiving_a_missing_column_frees_one_value_a_row_of_the_items_ordered_only(
    batch: Path, tmp_path: Path
):
    """A waived whole missing column frees its values in the rows of the items the list matched,
    never those of the items padded in: the figure without them stays exact (it once counted every
    row of the table, past its value slots: a Ratio over 1 and no result)."""
    from dqm.delivery import Waiver
    from dqm.waivers import with_waivers

    copy = tmp_path / "batch"
    shutil.copytree(batch, copy)
    rows = _rows(copy)
    ids = [r["slide_id"] for r in rows]
    pads = _padded(copy, rows[0], [f"PAD{k}" for k in range(4)])
    _write(copy, rows + pads, [c for c in rows[0] if c != "age"])
    result = _result(copy, _by_id(tmp_path, ids))
    before = result.syntactic.ordered.structure_without_unordered
    assert result.syntactic.by_code.get("CLINICAL_MISSING_COLUMN") == 1
    waiver = Waiver(
        code="CLINICAL_MISSING_COLUMN", item="*", reason="r", approved_by="x", expires=dt.date(2099, 1, 1)
    )
    again = with_waivers(result, [waiver], "w.yaml").syntactic.ordered.structure_without_unordered
    assert again.denominator == before.denominator
    assert again.numerator == before.numerator + len(ids)  # one `age` a row ordered, not 12


def test_a_pad_reusing_a_bad_items_id_before_it_leaves_the_figure_without_the_items_not_ordered(
    batch: Path, tmp_path: Path
):
    """With a by-file list, the figure without the items not ordered keeps the copy the list
    matched, not the first row of its id: a good pad named like a bad item, placed before it, does
    not raise it (docs/batch-format.md)."""
    from dqm.audit import with_order
    from dqm.syntactic.accuracy import syntactic_result

    rows = _rows(batch)
    order = tmp_path / "order.csv"
    order.write_text("file_name\n" + "".join(f"{r['image_path']}\n" for r in rows), encoding="utf-8")
    complete, copy, pads = _two_pads(batch, tmp_path, order)
    _write(copy, pads[:1] + rows + pads[1:], list(rows[0]))
    run = run_batch(copy, load_profile(), RunOptions(workers=1))
    with_order(run, read_order(order))
    padded = syntactic_result(run).ordered
    assert padded.not_ordered == 2
    assert padded.structure_without_unordered == complete.structure.values
    assert padded.format_without_unordered == complete.format.values


@pytest.fixture(scope="module")
def one_missing(batch: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A result of ``batch`` with an order list naming one item more (not delivered)."""
    tmp = tmp_path_factory.mktemp("missing")
    ids = [r["slide_id"] for r in _rows(batch)]
    return _result(batch, _by_id(tmp, [*ids, "GONE"]))


def test_an_unedited_result_with_the_order_check_disabled_is_not_called_edited(batch: Path, tmp_path: Path):
    from dqm.figures import edited_order
    from dqm.profile import CheckSetting

    profile = load_profile()
    off = profile.model_copy(update={"checks": {**profile.checks, ORDER_CHECK: CheckSetting(enabled=False)}})
    ids = [r["slide_id"] for r in _rows(batch)]
    result = _result(batch, _by_id(tmp_path, [*ids, "GONE"]), off)
    assert ORDER_CHECK in result.disabled_checks
    assert result.order is not None and result.order.delivered == len(ids)
    assert edited_order(result) == []


def test_the_order_counts_edited_together_with_the_figures_are_found(one_missing):  # type: ignore[no-untyped-def]
    """``order.ordered``, ``order.delivered`` and ``ordered.items`` lowered by one together (the
    item not delivered's figures recomputed) disagree with the items and findings; so does
    ``ordered`` without ``order``, and ``order`` without ``ordered``."""
    from dqm.figures import edited_order
    from dqm.syntactic.accuracy import figures_over_order

    result = one_missing
    assert edited_order(result) == []
    o = result.syntactic.ordered
    n = len(result.items)
    unreadable = [int(k in o.unreadable_items) for k in range(n)]
    again = figures_over_order(
        [i.slide_id for i in result.items], o.item_values, unreadable, result.findings, n
    )
    syntactic = result.syntactic.model_copy(update={"ordered": again})
    order = result.order.model_copy(update={"ordered": n, "delivered": n - 1})
    edited = result.model_copy(update={"syntactic": syntactic, "order": order})
    found = edited_order(edited)
    assert any(e.startswith("items: ") for e in found)
    assert any(e.startswith("order.delivered: ") for e in found)
    assert edited_order(edited.model_copy(update={"order": None}))
    deleted = result.model_copy(update={"syntactic": result.syntactic.model_copy(update={"ordered": None})})
    assert edited_order(deleted) == ["ordered: missing, the result holds an order list (order)"]


def test_the_gate_says_which_member_was_edited_in_korean(one_missing):  # type: ignore[no-untyped-def]
    """Under ``--lang ko`` each disagreeing member's line is Korean, not English."""
    from dqm.gate import EXIT_FAILED, gate

    result = one_missing
    syntactic = result.syntactic.model_copy(
        update={"passed": True, "ordered": result.syntactic.ordered.model_copy(update={"not_delivered": 0})}
    )
    edited = result.model_copy(update={"syntactic": syntactic})
    out = gate(edited, ["syntactic"], lang="ko")
    assert out.exit_code == EXIT_FAILED
    lines = [ln for ln in out.lines if "syntactic.ordered" in ln and "(편집됨)" in ln]
    assert lines
    assert any("not_delivered: 0, 발견 사항의 ITEM_NOT_DELIVERED는 1개" in ln for ln in lines)
    assert not any("the findings list" in ln for ln in out.lines)


def test_a_waiver_moves_the_figure_without_the_items_not_ordered_by_the_findings_of_the_items_kept(
    batch: Path, tmp_path: Path
):
    """A bad item's files padded in under a good item's id, after it (so not ordered): waiving the
    bad item's own format findings raises the figure without the items not ordered as it raises
    the value-weighted one, the pad's findings (the same, on its copied files) counting in neither
    move; they once counted against it as the first copy's would."""
    from dqm.delivery import Waiver
    from dqm.waivers import with_waivers

    copy = tmp_path / "batch"
    shutil.copytree(batch, copy)
    rows = _rows(copy)
    run = run_batch(copy, load_profile(), RunOptions(workers=1))
    good = next(i.slide_id for i in run.outcomes.summaries() if not i.errors)
    bad = next(i for i in run.outcomes.summaries() if i.errors and i.annotation_path)
    (pad,) = _padded(copy, next(r for r in rows if r["slide_id"] == bad.slide_id), [good])
    _write(copy, [*rows, pad], list(rows[0]))
    result = _result(copy, _by_id(tmp_path, [r["slide_id"] for r in rows]))
    ordered = result.syntactic.ordered
    assert ordered.not_ordered == 1
    codes = {
        f.code
        for f in result.findings
        if f.severity == "error" and f.aspect == "format" and f.location.file == pad["annotation_path"]
    }
    assert codes  # the pad's copy of the bad item's format errors
    waivers = [
        Waiver(code=code, file=bad.annotation_path, reason="r", approved_by="x", expires=dt.date(2099, 1, 1))
        for code in sorted(codes)
    ]
    again = with_waivers(result, waivers, "w.yaml").syntactic
    rise = again.format.values.numerator - result.syntactic.format.values.numerator
    assert rise > 0
    assert (
        again.ordered.format_without_unordered.numerator == ordered.format_without_unordered.numerator + rise
    )


@pytest.mark.parametrize(
    ("by", "places"),
    [
        ("file", "before"),  # the review's case: the pad's finding names the manifest
        ("file", "after"),
        ("file", "both"),
        ("id", "before"),  # the pad, the id's first copy, is the one the list matched
    ],
)
def test_a_pad_without_a_slide_file_is_kept_out_by_its_row_not_in_place_of_the_copy_matched(
    batch: Path, tmp_path: Path, by: str, places: str
):
    """A good pad with a bad item's id and no slide file (its ``ITEM_NOT_ORDERED`` finding names
    the manifest, as no copy's slide): the items kept out of the figure without the items not
    ordered are exactly those no line of the list matched (:func:`dqm.order.delivered`), in the
    run and in its result; with a by-file list the figure is the complete delivery's (the bad item
    was once kept out in the pad's place: 70.87 -> 97.63 %)."""
    from dqm.audit import with_order
    from dqm.order import delivered
    from dqm.syntactic.accuracy import syntactic_result, unordered_rows

    rows = _rows(batch)
    order = tmp_path / "order.csv"
    if by == "file":
        order.write_text("file_name\n" + "".join(f"{r['image_path']}\n" for r in rows), encoding="utf-8")
    else:
        order = _by_id(tmp_path, [r["slide_id"] for r in rows])
    complete, copy, pads = _two_pads(batch, tmp_path, order)
    for pad in pads:
        pad["image_path"] = ""
    before, after = {"before": (pads[:1], []), "after": ([], pads[1:]), "both": (pads[:1], pads[1:])}[places]
    _write(copy, [*before, *rows, *after], list(rows[0]))
    run = run_batch(copy, load_profile(), RunOptions(workers=1))
    with_order(run, read_order(order))
    summaries = run.outcomes.summaries()
    ids, images, at = (summaries.column(c) for c in ("slide_id", "image_path", "row"))
    matched = {k for k in delivered(read_order(order), ids, images) if k is not None}
    unmatched = set(range(len(ids))) - matched
    assert len(unmatched) == len(before) + len(after)
    # by id the pad before the bad item is its id's first copy, the one matched: the bad copy is out
    assert all(bool(images[k]) == (by == "id") for k in unmatched)
    assert unordered_rows(run.batch_findings, ids, images, at) == unmatched
    if by == "file":
        padded = syntactic_result(run).ordered
        assert padded.structure_without_unordered == complete.structure.values
        assert padded.format_without_unordered == complete.format.values
    result = _result(copy, order)
    items = result.items
    kept_out = unordered_rows(
        result.findings, [i.slide_id for i in items], [i.image_path for i in items], [i.row for i in items]
    )
    assert kept_out == unmatched


def test_order_list_disabled_by_an_edit_while_its_findings_stay_is_found(one_missing):  # type: ignore[no-untyped-def]
    """``order.list`` added to ``disabled_checks`` of a result holding its findings (so that no
    count is checked against them) is an edit: a disabled check finds nothing."""
    from dqm.figures import edited_order

    result = one_missing
    assert any(f.check == ORDER_CHECK for f in result.findings)
    assert edited_order(result) == []
    edited = result.model_copy(update={"disabled_checks": sorted({*result.disabled_checks, ORDER_CHECK})})
    assert edited_order(edited) == [
        f"disabled_checks: {ORDER_CHECK} is listed, the findings hold its findings"
    ]


def test_a_repeated_ids_copy_not_ordered_is_judged_with_its_manifest_rows_findings(
    batch: Path, tmp_path: Path
):
    """A copy of an item under its id, after it (so not ordered by an id list), with bad manifest
    cells: a copy alike (``ITEM_DELIVERED_AGAIN``), judged with the item the line matched: the
    figures without the items not ordered are those of the worse copy delivered alone, as
    measured and under a waiver file (it was once left out with its row's findings, and with a
    good copy put first the bad item was: docs/batch-format.md)."""
    from dqm.waivers import with_waivers

    copy = tmp_path / "batch"
    shutil.copytree(batch, copy)
    rows = _rows(copy)
    truth = _result(copy, _by_id(tmp_path, [r["slide_id"] for r in rows])).syntactic
    (pad,) = _padded(copy, rows[0], [rows[0]["slide_id"]])
    pad.update(acquired_on="2020-13-45", sex="Q")
    _write(copy, [pad, *rows[1:]], list(rows[0]))  # the bad copy delivered alone
    alone = _result(copy, _by_id(tmp_path, [r["slide_id"] for r in rows])).syntactic
    _write(copy, [*rows, pad], list(rows[0]))
    result = _result(copy, _by_id(tmp_path, [r["slide_id"] for r in rows]))
    at_pad = [
        f for f in result.findings if f.location.file == "manifest.csv" and f.location.row == len(rows) + 1
    ]
    assert {f.aspect for f in at_pad} >= {"format"}
    for syntactic in (result.syntactic, with_waivers(result, [], "w.yaml").syntactic):
        ordered = syntactic.ordered
        assert ordered.not_ordered == 1
        s, f = ordered.structure_without_unordered, ordered.format_without_unordered
        assert s == result.syntactic.ordered.structure_without_unordered
        assert f == result.syntactic.ordered.format_without_unordered
        # the worse copy's figures: the bad copy's, below the good one's
        assert s == alone.structure.values.model_copy(update={"passed": s.passed})
        assert f == alone.format.values.model_copy(update={"passed": f.passed})
        assert f.value < truth.format.values.value


def _nfd(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFD", text)


@pytest.mark.parametrize(
    ("by", "slide", "name"),
    [
        ("id", False, "same"),  # the last review's case: 70.87 -> 97.63 %
        ("id", True, "same"),
        ("id", False, "nfd"),  # the id in other Unicode code points: the line matches either
        ("id", True, "upper"),  # the id but for case and spacing: a copy alike, judged too
        ("file", True, "bare"),  # a bare file name: the pad's slide of that name in another folder
    ],
)
def test_a_good_copy_alike_of_a_bad_item_put_first_never_raises_the_figure_without_the_items_not_ordered(
    batch: Path, tmp_path: Path, by: str, slide: bool, name: str
):
    """A good pad that a line of the list names as well as a bad item (its id, or its slide's bare
    name), put first so that the line matches it: the bad item is not ordered, and was left out of
    the figure without the items not ordered (70.87 -> 97.63 %). Both copies are judged now, each
    worst copy counting there (``ITEM_DELIVERED_AGAIN``): never above the complete delivery's,
    measured and under a waiver file."""
    from dqm.audit import with_order
    from dqm.order import AGAIN
    from dqm.syntactic.accuracy import syntactic_result
    from dqm.waivers import with_waivers

    rows = _rows(batch)
    order = tmp_path / "order.csv"
    if by == "file":
        order.write_text(
            "file_name\n" + "".join(f"{Path(r['image_path']).name}\n" for r in rows), encoding="utf-8"
        )
    else:
        order = _by_id(tmp_path, [r["slide_id"] for r in rows])
    complete, copy, pads = _two_pads(batch, tmp_path, order)
    pad = pads[0]
    bad = pad["slide_id"]
    pad["slide_id"] = {"same": bad, "nfd": _nfd(bad), "upper": f" {bad.lower()} ", "bare": "PAD"}[name]
    if name == "nfd":  # an id of ASCII letters has one form only: the list and the item in NFC
        rows = [dict(r, slide_id=r["slide_id"] + "é") for r in rows]
        pad["slide_id"] = _nfd(bad + "é")
        order = _by_id(tmp_path, [r["slide_id"] for r in rows])
    if not slide:
        pad["image_path"] = ""
    elif name == "bare":
        real = next(r for r in rows if r["slide_id"] == bad)
        folder = copy / "other"
        folder.mkdir()
        (folder / Path(real["image_path"]).name).write_bytes((copy / pad["image_path"]).read_bytes())
        pad["image_path"] = f"other/{Path(real['image_path']).name}"
    _write(copy, [pad, *rows], list(rows[0]))
    if name == "nfd":  # the complete delivery under the new ids
        truth = tmp_path / "truth"
        shutil.copytree(batch, truth)
        _write(truth, rows, list(rows[0]))
        run = run_batch(truth, load_profile(), RunOptions(workers=1))
        with_order(run, read_order(order))
        complete = syntactic_result(run)
    run = run_batch(copy, load_profile(), RunOptions(workers=1))
    with_order(run, read_order(order))
    assert sum(f.code == AGAIN for f in run.batch_findings) == 1
    padded = syntactic_result(run).ordered
    assert padded.not_ordered == 1
    for mine, truth in (
        (padded.structure_without_unordered, complete.structure.values),
        (padded.format_without_unordered, complete.format.values),
    ):
        assert mine.value <= truth.value
    if slide:  # the worst copy's format figure is the bad item's: the complete delivery's exactly
        assert _counts(padded.format_without_unordered) == _counts(complete.format.values)
    if name != "bare":  # over the items ordered: the worst copy of the id, in either Unicode form
        assert padded.format_accuracy <= complete.ordered.format_accuracy
        assert padded.structure_accuracy <= complete.ordered.structure_accuracy
    result = _result(copy, order)
    again = with_waivers(result, [], "w.yaml").syntactic.ordered
    assert again.structure_without_unordered == result.syntactic.ordered.structure_without_unordered
    assert again.format_without_unordered == result.syntactic.ordered.format_without_unordered


def _counts(ratio):  # type: ignore[no-untyped-def]
    return (ratio.numerator, ratio.denominator)


@pytest.mark.parametrize("copies", [1, 2])
def test_identical_copies_alike_leave_the_figures_without_the_items_not_ordered_exact(
    batch: Path, tmp_path: Path, copies: int
):
    """Byte-identical copies of good items ordered, under their ids but for case and spacing
    (``" s00003 "``): harmless, so the figures without the items not ordered are exactly the
    complete delivery's (the worst copy of each line; several lines: the bound, exact for copies
    alike), measured and under a waiver file that frees another item's values (it moves them by
    exactly what it moves the complete delivery's). Every value of both copies failed once
    (structure 98.84 -> 78.20 %)."""
    import datetime as dt

    from dqm.delivery import Waiver
    from dqm.order import AGAIN
    from dqm.waivers import with_waivers

    rows = _rows(batch)
    order = _by_id(tmp_path, [r["slide_id"] for r in rows])
    complete = _result(batch, order)
    good = [i.slide_id for i in complete.items if not i.errors and i.image_path][:copies]
    assert len(good) == copies
    copy = tmp_path / "batch"
    shutil.copytree(batch, copy)
    pads = [
        pad
        for slide_id in good
        for pad in _padded(
            copy, next(r for r in rows if r["slide_id"] == slide_id), [f" {slide_id.lower()} "]
        )
    ]
    _write(copy, [*rows, *pads], list(rows[0]))
    result = _result(copy, order)
    assert sum(f.code == AGAIN for f in result.findings) == copies
    wanted = complete.syntactic
    ordered = result.syntactic.ordered
    assert _counts(ordered.structure_without_unordered) == _counts(wanted.structure.values)
    assert _counts(ordered.format_without_unordered) == _counts(wanted.format.values)
    code = next(
        f.code
        for f in complete.findings
        if f.severity == "error" and f.aspect in ("structure", "format") and f.item_id not in good
    )
    waiver = Waiver(code=code, item="*", reason="r", approved_by="x", expires=dt.date(2099, 1, 1))
    freed = with_waivers(complete, [waiver], "w.yaml").syntactic
    moved = with_waivers(result, [waiver], "w.yaml").syntactic.ordered
    assert (_counts(freed.structure.values), _counts(freed.format.values)) != (
        _counts(wanted.structure.values),
        _counts(wanted.format.values),
    )  # the waiver frees values
    assert _counts(moved.structure_without_unordered) == _counts(freed.structure.values)
    assert _counts(moved.format_without_unordered) == _counts(freed.format.values)


def test_a_copy_by_file_is_judged_with_the_line_it_could_stand_for_only(batch: Path, tmp_path: Path):
    """A list by file naming ``hospA/<name>`` and the bare ``<name>`` (an item at the top of the
    batch), and an extra ``hospB/<name>``, byte-identical to the bare-named one and under another
    ordered item's id: it could stand only for the bare-name line. Neither ``hospA/<name>`` nor the
    item of its id is judged with it, so the figures without the items not ordered are exactly
    those of the delivery without it (both other items' values failed once)."""
    rows = _rows(batch)
    copy = tmp_path / "batch"
    shutil.copytree(batch, copy)
    first, second = rows[0], rows[1]
    name = "001" + Path(first["image_path"]).suffix
    for folder in ("hospA", "hospB"):
        (copy / folder).mkdir()
    (copy / "hospA" / name).write_bytes((copy / second["image_path"]).read_bytes())
    (copy / name).write_bytes((copy / first["image_path"]).read_bytes())
    (copy / "hospB" / name).write_bytes((copy / first["image_path"]).read_bytes())
    (copy / first["image_path"]).unlink()
    (copy / second["image_path"]).unlink()
    first, second = dict(first, image_path=name), dict(second, image_path=f"hospA/{name}")
    listed = [first, second, *rows[2:]]
    order = tmp_path / "order.csv"
    order.write_text("image_path\n" + "".join(f"{r['image_path']}\n" for r in listed), encoding="utf-8")
    _write(copy, listed, list(rows[0]))
    truth = _result(copy, order).syntactic
    extra = dict(first, image_path=f"hospB/{name}", slide_id=rows[2]["slide_id"])
    _write(copy, [*listed, extra], list(rows[0]))
    ordered = _result(copy, order).syntactic.ordered
    assert ordered.not_ordered == 1
    assert _counts(ordered.structure_without_unordered) == _counts(truth.structure.values)
    assert _counts(ordered.format_without_unordered) == _counts(truth.format.values)


def test_the_gate_says_when_an_older_results_slideless_copy_not_ordered_cannot_be_told(
    batch: Path, tmp_path: Path
):
    """A result written before a slideless item's ``ITEM_NOT_ORDERED`` kept its manifest row, two
    slideless copies of its id: which one was kept out cannot be told, so a waiver file leaves the
    figures without the items not ordered as measured (once one copy was guessed), and ``dqm gate``
    says so in a note, in Korean too."""
    from dqm.gate import gate
    from dqm.order import NOT_ORDERED
    from dqm.waivers import with_waivers

    order = _by_id(tmp_path, [r["slide_id"] for r in _rows(batch)])
    _, copy, pads = _two_pads(batch, tmp_path, order)
    for pad in pads:
        pad["image_path"] = ""
    rows = _rows(copy)
    _write(copy, [pads[0], *rows, pads[1]], list(rows[0]))
    result = _result(copy, order)
    assert not any(ln.startswith("NOTE") for ln in gate(result, ["syntactic"]).lines)
    old = [
        f.model_copy(update={"location": f.location.model_copy(update={"row": None})})
        if f.code == NOT_ORDERED and f.location.file == "manifest.csv"
        else f
        for f in result.findings
    ]
    assert old != result.findings
    older = result.model_copy(update={"findings": old})
    again = with_waivers(older, [], "w.yaml").syntactic.ordered
    assert again.format_without_unordered == result.syntactic.ordered.format_without_unordered
    assert again.structure_without_unordered == result.syntactic.ordered.structure_without_unordered
    notes = [ln for ln in gate(older, ["syntactic"]).lines if ln.startswith("NOTE")]
    assert len(notes) == 1 and "cannot be told" in notes[0]
    (ko,) = [ln for ln in gate(older, ["syntactic"], lang="ko").lines if ln.startswith("NOTE")]
    assert "어느 사본을 뺐는지 알 수 없으므로" in ko


def _forms_apart(batch: Path, tmp_path: Path, profile: Profile | None = None):  # type: ignore[no-untyped-def]
    """A new result of a copy of ``batch`` whose good pad under a bad item's id in NFD is put
    first (the line matches it; the bad item, NFC, is its copy alike), and its figures over the
    items ordered counted with the two forms apart, as a result written before they were joined
    has them (above those computed now: the bad item left out)."""
    from dqm.figures import edited_order
    from dqm.syntactic.accuracy import figures_over_order

    rows = [dict(r, slide_id=r["slide_id"] + "é") for r in _rows(batch)]
    order = _by_id(tmp_path, [r["slide_id"] for r in rows])
    _, copy, pads = _two_pads(batch, tmp_path, order)
    pad = dict(pads[0], slide_id=_nfd(pads[0]["slide_id"] + "é"))
    _write(copy, [pad, *rows], list(rows[0]))
    result = _result(copy, order, profile)
    ordered = result.syntactic.ordered
    assert edited_order(result) == []
    apart = "APART"  # the NFD id as another id: the forms counted apart, as before they were joined
    ids = [apart if i.slide_id == pad["slide_id"] else i.slide_id for i in result.items]
    findings = [
        f.model_copy(update={"item_id": apart}) if f.item_id == pad["slide_id"] else f
        for f in result.findings
    ]
    bad = set(ordered.unreadable_items)
    unreadable = [int(k in bad) for k in range(len(ids))]
    was = figures_over_order(ids, ordered.item_values, unreadable, findings, ordered.items)
    assert was.format_accuracy > ordered.format_accuracy  # the bad item left out
    old = ordered.model_copy(
        update={k: getattr(was, k) for k in ("value_accuracy", "structure_accuracy", "format_accuracy")}
    )
    return result, old


def _unlisted(result, code: str):  # type: ignore[no-untyped-def]
    """``result`` with ``code`` deleted from its checks' codes."""
    checks = [c.model_copy(update={"codes": [k for k in c.codes if k.code != code]}) for c in result.checks]
    return result.model_copy(update={"checks": checks})


def test_an_older_result_counting_an_ids_two_unicode_forms_apart_is_noted_not_contradicted(
    batch: Path, tmp_path: Path
):
    """A result of 1.19 written before an id's Unicode forms were joined in the figures over the
    items ordered: a good pad under a bad item's id in NFD, put first so that the line matches it,
    counted apart from the bad item (NFC) there, so its figures are above those computed now.
    ``dqm gate`` gates it as written with a NOTE (in Korean too), not as an edited result; a
    figure raised past that is still an edit, and so is a new result (it holds the bad item's
    ``ITEM_DELIVERED_AGAIN``, which no result written before the join does) edited to those
    figures: it was gated with the NOTE, and so was one with that finding and its counts deleted
    while its check's codes still list the code. It was reported as contradicted, with no note."""
    from dqm.figures import edited_order
    from dqm.gate import gate

    result, old = _forms_apart(batch, tmp_path)
    again = [f for f in result.findings if f.code == "ITEM_DELIVERED_AGAIN"]
    assert len(again) == 1  # the bad item, matched by no line: a copy alike of the pad
    # a new file edited so: it holds the copy alike's finding, which results written before the
    # forms were joined never hold (the code came with the join): an edit, with no note
    edited = result.model_copy(update={"syntactic": result.syntactic.model_copy(update={"ordered": old})})
    assert edited_order(edited) != []
    assert not any(ln.startswith("NOTE") for ln in gate(edited, ["syntactic"]).lines)
    # the finding deleted, its count left: an edit still (by_code counts it), with no note
    deleted = edited.model_copy(update={"findings": [f for f in result.findings if f not in again]})
    assert deleted.syntactic.by_code["ITEM_DELIVERED_AGAIN"] == 1
    assert edited_order(deleted) != []
    assert not any(ln.startswith("NOTE") for ln in gate(deleted, ["syntactic"]).lines)
    by_code = {c: n for c, n in result.syntactic.by_code.items() if c != "ITEM_DELIVERED_AGAIN"}
    # by_code edited, the warnings count left one above the findings': an edit still, no note
    uncounted = deleted.model_copy(
        update={"syntactic": deleted.syntactic.model_copy(update={"by_code": by_code})}
    )
    assert uncounted.syntactic.warnings == sum(f.severity == "warning" for f in uncounted.findings) + 1
    assert edited_order(uncounted) != []
    assert not any(ln.startswith("NOTE") for ln in gate(uncounted, ["syntactic"]).lines)
    warnings = deleted.syntactic.warnings - 1
    listed = deleted.model_copy(
        update={"syntactic": deleted.syntactic.model_copy(update={"by_code": by_code, "warnings": warnings})}
    )
    # every count edited, the order check's codes still listing it: an edit still, no note
    assert edited_order(listed) != []
    assert not any(ln.startswith("NOTE") for ln in gate(listed, ["syntactic"]).lines)
    older = _unlisted(listed, "ITEM_DELIVERED_AGAIN")  # as an older result holds it: no such code anywhere
    assert edited_order(older) == []
    # a crashed stage's error finding joins the findings after the counts: still an older result
    from dqm.audit import stage_crashed
    from dqm.figures import forms_apart

    crashed = older.model_copy(update={"findings": [*older.findings, stage_crashed("x", RuntimeError("y"))]})
    assert forms_apart(older) and forms_apart(crashed)
    lines = gate(older, ["syntactic"]).lines
    notes = [ln for ln in lines if ln.startswith("NOTE")]
    assert len(notes) == 1 and "two Unicode forms" in notes[0]
    assert not any("disagrees" in ln or "edited after dqm wrote it" in ln for ln in lines)
    (ko,) = [ln for ln in gate(older, ["syntactic"], lang="ko").lines if ln.startswith("NOTE")]
    assert "두 가지 유니코드 형식" in ko
    assert not any(ln.startswith("NOTE") for ln in gate(result, ["syntactic"]).lines)
    raised = old.model_copy(update={"format_accuracy": 1.0})
    edited = result.model_copy(update={"syntactic": result.syntactic.model_copy(update={"ordered": raised})})
    assert edited_order(edited) != []


@pytest.mark.parametrize("severity", ["warning", "error", "info"])
def test_a_new_result_edited_to_its_forms_apart_figures_is_an_edit_while_a_count_of_its_copy_is_left(
    batch: Path, tmp_path: Path, severity: str
):
    """``ITEM_DELIVERED_AGAIN`` re-graded by the profile (``severities``): the new result edited
    to the figures with the forms apart, that finding deleted with its ``by_code`` count, is an
    edit with no NOTE while the order check's codes still list it (base: the NOTE for each
    severity), and, those deleted too, while the count of its severity is left (an error: base
    the NOTE, it checked ``warnings`` only). An info finding has no such count: the file edited so
    reads as an older result, as documented (only a signature tells)."""
    from dqm.figures import edited_order
    from dqm.findings import Severity
    from dqm.gate import gate
    from dqm.order import AGAIN

    profile = load_profile()
    profile = profile.model_copy(update={"severities": {**profile.severities, AGAIN: Severity(severity)}})
    result, old = _forms_apart(batch, tmp_path, profile)
    again = [f for f in result.findings if f.code == AGAIN]
    assert len(again) == 1 and again[0].severity == severity
    counts = {"errors": result.syntactic.errors, "warnings": result.syntactic.warnings}
    by_code = {c: n for c, n in result.syntactic.by_code.items() if c != AGAIN}
    deleted = {"by_code": by_code, "ordered": old}
    if severity != "info":
        deleted[f"{severity}s"] = counts[f"{severity}s"] - 1

    def edit(r, update):  # type: ignore[no-untyped-def]
        return r.model_copy(update={"syntactic": r.syntactic.model_copy(update=update)})

    def noted(r) -> bool:  # type: ignore[no-untyped-def]
        return any(ln.startswith("NOTE") and "two Unicode forms" in ln for ln in gate(r, ["syntactic"]).lines)

    edited = edit(
        result.model_copy(update={"findings": [f for f in result.findings if f not in again]}), deleted
    )
    assert any(c.code == AGAIN for check in edited.checks for c in check.codes)
    assert edited_order(edited) != [] and not noted(edited)
    unlisted = _unlisted(edited, AGAIN)
    if severity != "info":
        left = edit(unlisted, counts)  # the count of its severity left as written
        assert edited_order(left) != [] and not noted(left)
    assert edited_order(unlisted) == [] and noted(unlisted)  # what only a signature tells


def _by_file_twins(batch: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A copy of ``batch`` listed by file with the lines ``001.tiff`` and ``hospB/001.tiff``: a bad
    item at ``hospA/001.tiff``, a good one of its id at ``hospB/001.tiff``, another good one's slide
    named ``001.tiff`` only by the bare line's name; its rows, fields, order list and a good row."""
    run = run_batch(batch, load_profile(), RunOptions(workers=1))
    summaries = list(run.outcomes.summaries())
    bad = next(i.slide_id for i in summaries if i.errors and i.image_path)
    good, other = [i.slide_id for i in summaries if not i.errors and i.image_path][:2]
    copy = tmp_path / "batch"
    shutil.copytree(batch, copy)
    rows = _rows(copy)
    by_id = {r["slide_id"]: r for r in rows}
    for slide_id, new in ((bad, "hospA/001.tiff"), (other, "hospB/001.tiff")):
        (copy / new).parent.mkdir(parents=True, exist_ok=True)
        (copy / by_id[slide_id]["image_path"]).rename(copy / new)
        by_id[slide_id]["image_path"] = new
    by_id[other]["slide_id"] = bad
    name = Path(by_id[good]["image_path"]).name
    lines = ["001.tiff", "hospB/001.tiff"] + [
        name if r is by_id[good] else r["image_path"]
        for r in rows
        if r["image_path"] not in ("hospA/001.tiff", "hospB/001.tiff")
    ]
    order = tmp_path / "order.csv"
    order.write_text("image_path\n" + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    _write(copy, rows, list(rows[0]))
    return copy, rows, order, by_id[good]


def _pad_at(batch: Path, path: str, slide_id: str, like: dict[str, str], tag: str) -> dict[str, str]:
    (batch / path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(batch / like["image_path"], batch / path)
    annotation = f"annotations/{tag}.json"
    shutil.copyfile(batch / like["annotation_path"], batch / annotation)
    return dict(like, slide_id=slide_id, image_path=path, annotation_path=annotation)


def test_copies_whose_twin_cannot_be_told_never_raise_the_figures_without_the_items_not_ordered(
    batch: Path, tmp_path: Path
):
    """Good copies at ``hospX/001.tiff`` under new ids could stand for the line ``001.tiff`` (its
    bad item at ``hospA``) or ``hospB/001.tiff`` (its findings name the bad item's id, which both
    items have): each is judged as the worst against both lines, so they never raise the figures.
    Judged on their own each raised the figures (structure 98.84 % with none, 99.62 % with 18);
    two copies of one id whose findings name different twins too."""
    copy, rows, order, good = _by_file_twins(batch, tmp_path)
    truth = _result(copy, order).syntactic
    assert truth.structure.values.value < 1
    folders = [f"hosp{k:02d}" for k in range(18)]
    for n in (1, 10, 18):
        pads = [_pad_at(copy, f"{f}/001.tiff", f"PAD{f}", good, f) for f in folders[:n]]
        _write(copy, [*rows, *pads], list(rows[0]))
        ordered = _result(copy, order).syntactic.ordered
        assert ordered.structure_without_unordered.value <= truth.structure.values.value, n
        assert ordered.format_without_unordered.value <= truth.format.values.value, n
    name = Path(good["image_path"]).name
    pads = [
        _pad_at(copy, "hospC/001.tiff", "PADX", good, "x1"),
        _pad_at(copy, f"hospE/{name}", "PADX", good, "x2"),
    ]
    _write(copy, [*rows, *pads], list(rows[0]))
    ordered = _result(copy, order).syntactic.ordered
    assert ordered.structure_without_unordered.value <= truth.structure.values.value
    assert ordered.format_without_unordered.value <= truth.format.values.value


def test_a_byte_identical_copy_beside_another_lines_copy_moves_no_figure(batch: Path, tmp_path: Path):
    """A good item's copy under a bad ordered item's id (``" s00001 "``; one line delivered twice,
    each copy tried: exact), then a byte-identical copy of another ordered item besides: the
    figures without the items not ordered stay those of the first delivery (each choice of one copy
    a line gives them). The bound summing each line's worst terms apart gave structure 253/259
    where they are 253/256."""
    rows = _rows(batch)
    order = _by_id(tmp_path, [r["slide_id"] for r in rows])
    complete = _result(batch, order)
    bad = next(i.slide_id for i in complete.items if i.errors and i.image_path)
    good, other = [i.slide_id for i in complete.items if not i.errors and i.image_path][:2]
    by_id = {r["slide_id"]: r for r in rows}
    copy = tmp_path / "batch"
    shutil.copytree(batch, copy)
    instead = _padded(copy, by_id[good], [f" {bad.lower()} "])
    twice = _padded(copy, by_id[other], [f" {other.lower()} "])
    _write(copy, [*rows, *instead], list(rows[0]))
    one = _result(copy, order).syntactic.ordered
    _write(copy, [*rows, *instead, *twice], list(rows[0]))
    two = _result(copy, order).syntactic.ordered
    assert one.structure_without_unordered.value < complete.syntactic.structure.values.value
    assert _counts(two.structure_without_unordered) == _counts(one.structure_without_unordered)
    assert _counts(two.format_without_unordered) == _counts(one.format_without_unordered)


def _bad_copy_padded(batch: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The results of ``batch`` ordered by id as it is, and of a copy of it with a byte-identical
    copy of a bad item padded in under its id lower-cased and spaced (``" s00004 "``); that item's
    id, and its error code that no other finding has (of two codes or more)."""
    rows = _rows(batch)
    order = _by_id(tmp_path, [r["slide_id"] for r in rows])
    complete = _result(batch, order)
    errors = [f for f in complete.findings if f.severity == "error" and f.aspect in ("structure", "format")]
    codes = {f.code for f in errors}
    bad, code = next(
        (f.item_id, f.code) for f in errors if sum(g.code == f.code for g in errors) == 1 and len(codes) > 1
    )
    copy = tmp_path / "batch"
    shutil.copytree(batch, copy)
    pads = _padded(copy, next(r for r in rows if r["slide_id"] == bad), [f" {bad.lower()} "])
    _write(copy, [*rows, *pads], list(rows[0]))
    result = _result(copy, order)
    return complete, result, bad, code


def test_a_waiver_on_the_findings_of_an_item_copied_byte_for_byte_moves_the_figures_as_without_the_copy(
    batch: Path, tmp_path: Path
):
    """A byte-identical copy (``" s00004 "``) of a bad item ordered: a waiver of its twin's code
    moves the figures without the items not ordered as it moves the complete delivery's (the
    copy's errors are the twin's, so either is the worst). They stayed at 256/259 where the
    complete delivery's moved to 257/259."""
    import datetime as dt

    from dqm.delivery import Waiver
    from dqm.waivers import with_waivers

    complete, result, _, code = _bad_copy_padded(batch, tmp_path)
    waiver = Waiver(code=code, item="*", reason="r", approved_by="x", expires=dt.date(2099, 1, 1))
    freed = with_waivers(complete, [waiver], "w.yaml").syntactic
    moved = with_waivers(result, [waiver], "w.yaml").syntactic.ordered
    assert _counts(freed.structure.values) != _counts(complete.syntactic.structure.values) or _counts(
        freed.format.values
    ) != _counts(complete.syntactic.format.values)
    assert _counts(moved.structure_without_unordered) == _counts(freed.structure.values)
    assert _counts(moved.format_without_unordered) == _counts(freed.format.values)


def test_a_waiver_naming_only_the_original_item_leaves_its_byte_identical_copys_figures_as_measured(
    batch: Path, tmp_path: Path
):
    """A byte-identical copy (``" s00004 "``) of a bad item ordered, and a waiver of the item's
    code naming the item's id only: the copy's finding is still open and the copy may be the line's
    delivery, so the figures without the items not ordered stay as measured (they rose to the
    complete delivery's freed figures, above the worst copy's). A waiver whose key names both moves
    them as it moves the complete delivery's."""
    from dqm.delivery import Waiver
    from dqm.waivers import with_waivers

    complete, result, bad, code = _bad_copy_padded(batch, tmp_path)
    measured = result.syntactic.ordered
    expires = dt.date(2099, 1, 1)
    only = Waiver(code=code, item=bad, reason="r", approved_by="x", expires=expires)
    moved = with_waivers(result, [only], "w.yaml").syntactic.ordered
    assert _counts(moved.structure_without_unordered) == _counts(measured.structure_without_unordered)
    assert _counts(moved.format_without_unordered) == _counts(measured.format_without_unordered)
    both = Waiver(code=code, item=f"*{bad[1:]}*", reason="r", approved_by="x", expires=expires)
    freed = with_waivers(complete, [both], "w.yaml").syntactic
    moved = with_waivers(result, [both], "w.yaml").syntactic.ordered
    assert (_counts(moved.structure_without_unordered), _counts(moved.format_without_unordered)) != (
        _counts(measured.structure_without_unordered),
        _counts(measured.format_without_unordered),
    )
    assert _counts(moved.structure_without_unordered) == _counts(freed.structure.values)
    assert _counts(moved.format_without_unordered) == _counts(freed.format.values)


def test_a_result_lifted_by_a_waiver_of_both_copies_goes_back_to_as_measured_under_one_of_the_original_only(
    batch: Path, tmp_path: Path
):
    """A byte-identical copy of a bad item ordered; the result decided with a waiver of the item's
    code naming both (its figures without the items not ordered lifted), decided again with one
    naming the original only (``dqm gate --waivers`` replaces the waivers a result holds): the
    copy's finding is open, so they go back to as measured, as that waiver gives on the result
    as measured; a waiver file of none lowers them so too. They stayed lifted (format 250/256, as
    measured 249/256): the group was frozen where the first waiver had left it."""
    from dqm.delivery import Waiver
    from dqm.waivers import with_waivers

    _, result, bad, code = _bad_copy_padded(batch, tmp_path)
    measured = result.syntactic.ordered
    expires = dt.date(2099, 1, 1)
    both = Waiver(code=code, item=f"*{bad[1:]}*", reason="r", approved_by="x", expires=expires)
    only = Waiver(code=code, item=bad, reason="r", approved_by="x", expires=expires)
    lifted = with_waivers(result, [both], "w.yaml")

    def figures(ordered):  # type: ignore[no-untyped-def]
        return _counts(ordered.structure_without_unordered), _counts(ordered.format_without_unordered)

    assert figures(lifted.syntactic.ordered) != figures(measured)
    assert figures(with_waivers(result, [only], "w.yaml").syntactic.ordered) == figures(measured)
    for waivers in ([only], []):
        assert figures(with_waivers(lifted, waivers, "w2.yaml").syntactic.ordered) == figures(measured)
    # and lifted again from there by the waiver of both, as from the result as measured
    again = with_waivers(with_waivers(lifted, [only], "w2.yaml"), [both], "w3.yaml")
    assert figures(again.syntactic.ordered) == figures(lifted.syntactic.ordered)


def test_a_result_waived_for_the_original_only_is_lifted_by_a_waiver_of_both_copies(
    batch: Path, tmp_path: Path
):
    """The reverse order: a byte-identical copy of a bad item ordered; the result decided with a
    waiver of the item's code naming the original only (its figures without the items not ordered
    as measured), decided again with one naming both copies: lifted as that waiver lifts the result
    as measured. It stayed as measured (format 249/256, lifted 250/256): the group was frozen where
    the first waiver had left it."""
    from dqm.delivery import Waiver
    from dqm.waivers import with_waivers

    _, result, bad, code = _bad_copy_padded(batch, tmp_path)
    measured = result.syntactic.ordered
    expires = dt.date(2099, 1, 1)
    both = Waiver(code=code, item=f"*{bad[1:]}*", reason="r", approved_by="x", expires=expires)
    only = Waiver(code=code, item=bad, reason="r", approved_by="x", expires=expires)

    def figures(ordered):  # type: ignore[no-untyped-def]
        return _counts(ordered.structure_without_unordered), _counts(ordered.format_without_unordered)

    lifted = figures(with_waivers(result, [both], "w.yaml").syntactic.ordered)
    assert lifted != figures(measured)
    kept = with_waivers(result, [only], "w.yaml")
    assert figures(kept.syntactic.ordered) == figures(measured)
    assert figures(with_waivers(kept, [both], "w2.yaml").syntactic.ordered) == lifted


def test_a_second_code_waived_for_the_original_only_never_lowers_the_lift_of_a_code_waived_for_both(
    batch: Path, tmp_path: Path
):
    """A byte-identical copy of an item with two error codes ordered: code A waived for both copies
    lifts the figures without the items not ordered (format 249/256 to 250/256); adding a waiver of
    code B for the original only leaves B open on the copy, so the worst copy keeps A waived and B
    open: 250/256 still, as A alone gives, never above what either copy delivered would give (B
    waived on both: 251/256). It fell to 249/256: every finding of the twin was taken as open. The
    same from a result decided with A and B waived for both."""
    from dqm.delivery import Waiver
    from dqm.waivers import with_waivers

    _, result, bad, _ = _bad_copy_padded(batch, tmp_path)
    codes = sorted({f.code for f in result.findings if f.item_id == bad and f.severity == "error"})
    assert len(codes) >= 2
    a, b = codes[:2]
    expires = dt.date(2099, 1, 1)

    def waiver(code: str, item: str) -> Waiver:
        return Waiver(code=code, item=item, reason="r", approved_by="x", expires=expires)

    def figures(r):  # type: ignore[no-untyped-def]
        o = r.syntactic.ordered
        return _counts(o.structure_without_unordered), _counts(o.format_without_unordered)

    both = f"*{bad[1:]}*"
    a_both = figures(with_waivers(result, [waiver(a, both)], "w.yaml"))
    ab_both = figures(with_waivers(result, [waiver(a, both), waiver(b, both)], "w.yaml"))
    assert figures(result) != a_both != ab_both
    mixed = [waiver(a, both), waiver(b, bad)]
    assert figures(with_waivers(result, mixed, "w.yaml")) == a_both
    decided = with_waivers(result, [waiver(a, both), waiver(b, both)], "w.yaml")
    assert figures(with_waivers(decided, mixed, "w2.yaml")) == a_both
    # B on the copy only leaves the original's open: the same
    copy = f" {bad.lower()} "
    assert figures(with_waivers(result, [waiver(a, both), waiver(b, copy)], "w.yaml")) == a_both


def test_a_bad_copys_line_is_told_by_its_twins_slide_else_judged_as_the_worst_against_each_line(
    batch: Path, tmp_path: Path
):
    """A list by file with the lines ``001.tiff`` (a bad item at ``hospA``) and ``hospB/001.tiff``
    (a good item of the bad one's id): a byte-identical copy of the bad item at ``hospC/001.tiff``,
    its finding naming that id, could stand for either line by id and bare name. Its finding names
    its twin's slide (``twin_file``), so it is judged with ``hospA``'s line only: the figures without
    the items not ordered are those of the delivery without it (they were lowered, the good item's
    line taken as delivered by the bad copy). A finding without ``twin_file`` (an edited result)
    leaves it the worst against each line: in both groups."""
    from dqm.audit import with_order
    from dqm.syntactic.accuracy import repeated_groups, syntactic_result, unordered_rows

    copy, rows, order, _ = _by_file_twins(batch, tmp_path)
    truth = _result(copy, order).syntactic
    bad = next(r for r in rows if r["image_path"] == "hospA/001.tiff")
    pad = _pad_at(copy, "hospC/001.tiff", "PADC", bad, "c")
    _write(copy, [*rows, pad], list(rows[0]))
    run = run_batch(copy, load_profile(), RunOptions(workers=1))
    with_order(run, read_order(order))
    again = [f for f in run.batch_findings if f.code == "ITEM_DELIVERED_AGAIN"]
    assert [f.params.get("twin_file") for f in again] == ["hospA/001.tiff"]
    ordered = syntactic_result(run).ordered
    assert _counts(ordered.structure_without_unordered) == _counts(truth.structure.values)
    assert _counts(ordered.format_without_unordered) == _counts(truth.format.values)
    summaries = run.outcomes.summaries()
    ids, images, at = (
        list(summaries.column("slide_id")),
        summaries.column("image_path"),
        summaries.column("row"),
    )
    out = unordered_rows(run.batch_findings, ids, images, at)
    assert len(repeated_groups(run.batch_findings, ids, images, at, out)) == 1
    edited = [
        f.model_copy(update={"params": {k: v for k, v in f.params.items() if k != "twin_file"}})
        if f.code == "ITEM_DELIVERED_AGAIN"
        else f
        for f in run.batch_findings
    ]
    groups = repeated_groups(edited, ids, images, at, out)
    assert len(groups) == 2 and groups[0][-1] == groups[1][-1]


def test_a_waiver_on_a_twins_findings_moves_the_figures_where_two_items_share_its_id(
    batch: Path, tmp_path: Path
):
    """A list by file with the lines ``001.tiff`` (a bad item at ``hospA``) and ``hospB/002.tiff``
    (a good item of the bad one's id), and a byte-identical copy of the bad item at
    ``hospC/001.tiff`` under that id: a waiver of the bad item's code moves the figures without the
    items not ordered as it moves the delivery without the copy. Findings were matched to items by
    id, so the group of an id two items have was never alike and the waiver moved nothing."""
    from dqm.delivery import Waiver
    from dqm.waivers import with_waivers

    run = run_batch(batch, load_profile(), RunOptions(workers=1))
    summaries = list(run.outcomes.summaries())
    bad = next(i.slide_id for i in summaries if i.errors and i.image_path)
    other = next(i.slide_id for i in summaries if not i.errors and i.image_path)
    copy = tmp_path / "batch"
    shutil.copytree(batch, copy)
    rows = _rows(copy)
    by_id = {r["slide_id"]: r for r in rows}
    for slide_id, new in ((bad, "hospA/001.tiff"), (other, "hospB/002.tiff")):
        (copy / new).parent.mkdir(parents=True, exist_ok=True)
        (copy / by_id[slide_id]["image_path"]).rename(copy / new)
        by_id[slide_id]["image_path"] = new
    by_id[other]["slide_id"] = bad
    lines = ["001.tiff" if r is by_id[bad] else r["image_path"] for r in rows]
    order = tmp_path / "order.csv"
    order.write_text("image_path\n" + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    _write(copy, rows, list(rows[0]))
    complete = _result(copy, order)
    errors = [f for f in complete.findings if f.severity == "error" and f.aspect in ("structure", "format")]
    code = next(f.code for f in errors if f.item_id == bad)
    waiver = Waiver(code=code, item="*", reason="r", approved_by="x", expires=dt.date(2099, 1, 1))
    freed = with_waivers(complete, [waiver], "w.yaml").syntactic
    assert _counts(freed.structure.values) != _counts(complete.syntactic.structure.values) or _counts(
        freed.format.values
    ) != _counts(complete.syntactic.format.values)
    pad = dict(by_id[bad])
    pad.update(image_path="hospC/001.tiff", annotation_path="annotations/c.json")
    (copy / "hospC").mkdir()
    shutil.copyfile(copy / by_id[bad]["image_path"], copy / pad["image_path"])
    shutil.copyfile(copy / by_id[bad]["annotation_path"], copy / pad["annotation_path"])
    _write(copy, [*rows, pad], list(rows[0]))
    result = _result(copy, order)
    assert sum(f.code == "ITEM_DELIVERED_AGAIN" for f in result.findings) == 1
    measured = result.syntactic.ordered
    assert _counts(measured.structure_without_unordered) == _counts(complete.syntactic.structure.values)
    moved = with_waivers(result, [waiver], "w.yaml").syntactic.ordered
    assert _counts(moved.structure_without_unordered) == _counts(freed.structure.values)
    assert _counts(moved.format_without_unordered) == _counts(freed.format.values)
