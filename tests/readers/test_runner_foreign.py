"""Foreign formats inside a batch: many slides on one COCO file, per-institution class maps,
the batch summary of unmapped class names, and the contract of the checks this issue adds."""

from __future__ import annotations

import csv
import json
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import pytest

from dqm import readers
from dqm.model import Item
from dqm.profile import Profile
from dqm.readers import coco
from dqm.runner import RunOptions, run_batch
from validators import REGISTRY
from validators.context import BatchView, FileStatus, ItemView
from validators.registry import CheckContext

MY_CHECKS = [
    "file.annotation_xml",
    "schema.foreign_annotation",
    "format.foreign_shapes",
    "format.lesion_class",
    "format.coco_boxes",
    "format.unmapped_classes",
    "slide.header",
    "slide.codec",
    "slide.format",
    "slide.time_budget",
    "slide.lesion_tissue",
    "deid.slide_properties",
    "deid.file_names",
    "deid.annotation_properties",
    "deid.clinical_record",
]
COLUMNS = ["slide_id", "image_path", "annotation_path", "institution", "diagnosis", "age", "sex", "site"]


def write_manifest(batch: Path, rows: list[list[str]]) -> None:
    with (batch / "manifest.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows(rows)


def test_many_slides_point_at_one_coco_file(tmp_path: Path, profile: Profile, monkeypatch) -> None:
    calls = []
    real = coco.read
    monkeypatch.setattr(coco, "read", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 0)
    readers._CACHE.clear()
    doc = {
        "images": [{"id": i, "file_name": f"s{i}.tiff", "width": 100, "height": 100} for i in (1, 2)],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 10, 0, 10, 10]]},
            {"id": 2, "image_id": 2, "category_id": 1, "segmentation": [[0, 0, 10, 0, 10, 10]]},
            {"id": 3, "image_id": 2, "category_id": 1, "segmentation": [[50, 50, 60, 50, 60, 60]]},
        ],
        "categories": [{"id": 1, "name": "BCC"}],
    }
    (tmp_path / "coco.json").write_text(json.dumps(doc))
    write_manifest(
        tmp_path,
        [[sid, "", "coco.json", "Seoul-A", "BCC", "60", "M", "trunk"] for sid in ("s1", "s2", "s3")],
    )
    run = run_batch(tmp_path, profile, RunOptions(workers=1, slides=False, clinical=False))
    lesions = {o.summary.slide_id: o.summary.n_lesions for o in run.outcomes}
    assert lesions == {"s1": 1, "s2": 2, "s3": 0}
    s3 = next(o for o in run.outcomes if o.summary.slide_id == "s3")
    assert [f.code for f in s3.findings if f.code == "IMAGE_NOT_IN_FILE"] == ["IMAGE_NOT_IN_FILE"]
    assert not any(f.code == "ORPHAN_ANNOTATION" for f in run.findings)
    assert len(calls) == 1  # parsed once for three items


def _interleaved_coco(batch: Path, files: int, rows: int) -> list[str]:
    """``files`` COCO files of 40 images (about 8 KB each), ``rows`` manifest rows for each, the
    rows of the files interleaved (sorted by slide id, the files by institution); the slide ids."""
    ids, manifest = [], []
    for n in range(files * rows):
        ids.append(f"s{n:03d}")
        manifest.append([ids[-1], "", f"coco{n % files}.json", "Seoul-A", "BCC", "60", "M", "trunk"])
    for f in range(files):
        names = [f"s{n:03d}.tiff" for n in range(f, files * 40, files)]
        doc = {
            "images": [
                {"id": i, "file_name": name, "width": 100, "height": 100} for i, name in enumerate(names)
            ],
            "annotations": [
                {"id": i, "image_id": i, "category_id": 1, "segmentation": [[i, 0, i + 10, 0, i + 10, 10]]}
                for i in range(len(names))
            ],
            "categories": [{"id": 1, "name": "BCC"}],
        }
        (batch / f"coco{f}.json").write_text(json.dumps(doc))
    write_manifest(batch, manifest)
    return ids


def _counting_coco_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = coco.read
    monkeypatch.setattr(coco, "read", lambda *a, **k: calls.append(1) or real(*a, **k))
    readers._CACHE.clear()
    return calls


def test_small_coco_files_many_rows_share_are_parsed_once(
    tmp_path: Path, profile: Profile, monkeypatch
) -> None:
    """A COCO file under CACHE_MIN_BYTES that several items share is kept by the parse cache: each
    of 20 rows parsed its 8 KB file whole again (five files of 120 KB, 3,000 rows: 164 s)."""
    calls = _counting_coco_reads(monkeypatch)
    ids = _interleaved_coco(tmp_path, files=5, rows=4)
    assert 4096 < (tmp_path / "coco0.json").stat().st_size < readers.CACHE_MIN_BYTES
    run = run_batch(tmp_path, profile, RunOptions(workers=1, slides=False, clinical=False))
    assert [o.summary.slide_id for o in run.outcomes] == ids  # the records in the items' order
    assert [o.summary.n_lesions for o in run.outcomes] == [1] * 20
    assert len(calls) == 5  # once a file, not once a row


def test_rows_of_more_files_than_the_cache_holds_are_checked_file_by_file(
    tmp_path: Path, profile: Profile, monkeypatch
) -> None:
    """Rows of three shared files interleaved, with a parse cache of two: checked in the manifest's
    order, each row evicted the file the next row needed, and every row parsed its file again."""
    calls = _counting_coco_reads(monkeypatch)
    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(readers, "CACHE_SIZE", 2)
    ids = _interleaved_coco(tmp_path, files=3, rows=3)
    run = run_batch(tmp_path, profile, RunOptions(workers=1, slides=False, clinical=False))
    assert [o.summary.slide_id for o in run.outcomes] == ids
    assert len(calls) == 3


def test_shared_files_give_the_records_each_item_gives_alone(
    tmp_path: Path, profile: Profile, monkeypatch
) -> None:
    """Differential: the records of items that share files, checked file by file from the cache,
    are those of the items checked in the manifest's order with every file parsed for each."""
    from dqm import runner

    _interleaved_coco(tmp_path, files=5, rows=4)
    (tmp_path / "coco2.json").write_text((tmp_path / "coco2.json").read_text().replace('"BCC"', '"bcc?"'))

    def records() -> list[tuple[object, ...]]:
        readers._CACHE.clear()
        run = run_batch(tmp_path, profile, RunOptions(workers=1, slides=False, clinical=False))
        return [(o.summary, [f.model_dump() for f in o.findings]) for o in run.outcomes]

    grouped = records()
    monkeypatch.setattr(runner, "by_shared_files", lambda todo, items: todo)
    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 1 << 62)
    monkeypatch.setattr(readers, "CACHE_SHARED_MIN_BYTES", 1 << 62)
    assert records() == grouped


def _counting_probes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The slides probed, each probe a healthy virtual one."""
    from dqm import slide_io

    probes: list[str] = []
    monkeypatch.setattr(
        slide_io,
        "probe_slide",
        lambda path, rel, options=None, taken=None: probes.append(rel) or slide_io.virtual_probe(rel),
    )
    return probes


def _annotators_batch(batch: Path, annotators: str, slides: int) -> list[list[str]]:
    """A COCO file an annotator (``coco{A}.json``), each annotating each of ``slides`` slides, and a
    manifest row a slide and annotator, slide by slide (s0A, s0B, ..., s1A, ...); the rows."""
    (batch / "slides").mkdir()
    docs: dict[str, dict[str, list[dict[str, object]]]] = {
        a: {"images": [], "annotations": []} for a in annotators
    }
    rows = []
    for n in range(slides):
        (batch / "slides" / f"s{n}.tiff").write_bytes(b"II*\0" + bytes(64))
        for a, doc in docs.items():
            doc["images"].append({"id": n, "file_name": f"s{n}.tiff", "width": 100, "height": 100})
            doc["annotations"].append(
                {"id": n, "image_id": n, "category_id": 1, "segmentation": [[0, 0, 9, 0, 9, 9]]}
            )
            rows.append(
                [f"s{n}{a}", f"slides/s{n}.tiff", f"coco{a}.json", "Seoul-A", "BCC", "60", "M", "trunk"]
            )
    for a, doc in docs.items():
        (batch / f"coco{a}.json").write_text(json.dumps({**doc, "categories": [{"id": 1, "name": "BCC"}]}))
    write_manifest(batch, rows)
    return rows


def test_rows_of_one_slide_in_two_coco_files_probe_it_once(
    tmp_path: Path, profile: Profile, monkeypatch
) -> None:
    """Two annotators' rows for each slide, in slide order, their annotations in cocoA.json and
    cocoB.json: grouped by annotation file alone, all of A's rows went before B's, and each slide
    was probed again once the probe cache had let it go (40 slides, a cache of 32: 80 probes)."""
    from dqm import slide_io

    probes = _counting_probes(monkeypatch)
    monkeypatch.setattr(slide_io, "PROBE_CACHE_SIZE", 2)
    rows = _annotators_batch(tmp_path, "AB", 4)
    run = run_batch(tmp_path, profile, RunOptions(workers=1, clinical=False))
    assert [o.summary.slide_id for o in run.outcomes] == [row[0] for row in rows]
    assert sorted(probes) == [
        f"slides/s{n}.tiff" for n in range(4)
    ]  # once a slide, as in the manifest's order


def test_rows_of_one_group_over_more_coco_files_than_the_cache_holds_parse_each_once_a_window(
    tmp_path: Path, profile: Profile, monkeypatch
) -> None:
    """Five annotators' COCO files, each annotating every slide, rows slide by slide (A1, B1, ...,
    E1, A2, ...): every item links into one group, checked in its order, and with a parse cache of
    four files each row evicted the file the next row needed: 30 rows, 30 whole parses. Now the
    group goes in windows of as many slides as the probe cache holds (4 here: 4 slides, then 2),
    each window file by file: 5 parses a window, each slide still probed once, the same records."""
    from dqm import runner, slide_io

    calls = _counting_coco_reads(monkeypatch)
    probes = _counting_probes(monkeypatch)
    monkeypatch.setattr(slide_io, "PROBE_CACHE_SIZE", 4)
    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 0)
    assert readers.CACHE_SIZE == 4
    rows = _annotators_batch(tmp_path, "ABCDE", 6)
    (tmp_path / "cocoC.json").write_text((tmp_path / "cocoC.json").read_text().replace('"BCC"', '"bcc?"'))

    def records() -> list[tuple[object, ...]]:
        readers._CACHE.clear()
        slide_io._PROBES.clear()
        run = run_batch(tmp_path, profile, RunOptions(workers=1, clinical=False))
        return [(o.summary, [f.model_dump() for f in o.findings]) for o in run.outcomes]

    grouped = records()
    assert [summary.slide_id for summary, _ in grouped] == [row[0] for row in rows]  # type: ignore[attr-defined]
    assert len(calls) == 5 * 2  # each file once a window, not once a row (30)
    assert sorted(probes) == sorted(f"slides/s{n}.tiff" for n in range(6))  # once a slide
    monkeypatch.setattr(runner, "by_shared_files", lambda todo, items: todo)
    calls.clear()
    assert records() == grouped  # as checked in the manifest's order
    assert len(calls) == 30


def test_rows_of_a_wide_group_already_file_by_file_keep_their_order(
    tmp_path: Path, profile: Profile, monkeypatch
) -> None:
    """Five annotators' COCO files each annotating every slide, rows annotator by annotator (A0,
    A1, ..., B0, ...): in the manifest's order each file is parsed once. Checked in windows of the
    probe cache's slides regardless, each file was parsed once a window (five 3 MB files of 128
    slides: 20 parses and 128 probes, 21.6 s of CPU, against 5 parses and 640 probes, 15.3 s). Now
    windows are used only where they cost fewer parses (or as many and fewer probes)."""
    calls = _counting_coco_reads(monkeypatch)
    probes = _counting_probes(monkeypatch)
    from dqm import slide_io

    monkeypatch.setattr(slide_io, "PROBE_CACHE_SIZE", 4)
    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 0)
    assert readers.CACHE_SIZE == 4
    rows = sorted(_annotators_batch(tmp_path, "ABCDE", 8), key=lambda row: row[2])  # annotator by annotator
    write_manifest(tmp_path, rows)
    slide_io._PROBES.clear()
    run = run_batch(tmp_path, profile, RunOptions(workers=1, clinical=False))
    assert [o.summary.slide_id for o in run.outcomes] == [row[0] for row in rows]
    assert (len(calls), len(probes)) == (5, 5 * 8)  # not 5 a window of 4 slides (10) and 8


@pytest.mark.parametrize("memory", [None, 120_000, 200_000])
def test_a_wide_group_s_own_order_is_kept_only_where_it_parses_no_more_with_a_cache_of_one_file(
    tmp_path: Path, profile: Profile, monkeypatch, memory: int | None
) -> None:
    """Rows of four annotators' COCO files slide by slide, then the fifth's rows: costed with a
    parse cache of four files the manifest's order parses each file once, and it was kept; but
    ``limits.annotation_memory`` keeps fewer files (here one or two of some 86 KB of annotations
    each), and then each row parsed its file again (65 parses and 32 probes against 20 and 16).
    Checked in windows, file by file, whatever the cache holds."""
    calls = _counting_coco_reads(monkeypatch)
    probes = _counting_probes(monkeypatch)
    from dqm import slide_io

    monkeypatch.setattr(slide_io, "PROBE_CACHE_SIZE", 4)
    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 0)
    rows = _annotators_batch(tmp_path, "ABCDE", 16)
    rows = [row for row in rows if row[2] != "cocoE.json"] + [row for row in rows if row[2] == "cocoE.json"]
    write_manifest(tmp_path, rows)
    if memory is not None:
        limits = profile.limits.model_copy(update={"annotation_memory": memory})
        profile = profile.model_copy(update={"limits": limits})
    slide_io._PROBES.clear()
    run = run_batch(tmp_path, profile, RunOptions(workers=1, clinical=False))
    assert [o.summary.slide_id for o in run.outcomes] == [row[0] for row in rows]
    assert (len(calls), len(probes)) == (20, 16)  # 4 windows of 4 slides, 5 files each


def test_by_shared_files_keeps_unshared_orders() -> None:
    from dqm import runner
    from dqm.runner import by_shared_files

    def items(*paths: str | None) -> list[Item]:
        return [Item(slide_id=f"s{k}", image_path=None, annotation_path=p) for k, p in enumerate(paths)]

    todo = range(5)
    assert by_shared_files(todo, items("a", "b", None, "c", None)) is todo
    assert by_shared_files(todo, items("a", "a", "b", "b", None)) is todo  # already file by file
    assert by_shared_files(todo, items("a", "b", "a", None, "b")) == [0, 2, 1, 4, 3]
    assert by_shared_files([1, 2, 4], items("a", "b", "a", None, "b")) == [1, 4, 2]

    def shared(*pairs: tuple[str | None, str | None]) -> list[Item]:
        return [Item(slide_id=f"s{k}", image_path=i, annotation_path=a) for k, (i, a) in enumerate(pairs)]

    # one slide's rows in two files link the files: one group, in the manifest's order
    assert by_shared_files(todo, shared(("x", "A"), ("x", "B"), ("y", "A"), ("y", "B"), ("z", None))) is todo
    # a slide's second row after another group's: brought to its group
    assert by_shared_files(todo, shared(("x", "A"), ("y", "B"), ("x", None), (None, "C"), (None, "B"))) == [
        0,
        2,
        1,
        4,
        3,
    ]
    # more annotation files in a group than the parse cache holds (5): windows where they parse less
    wide = [(f"s{n}", a) for n in range(40) for a in "ABCDE"]  # slide by slide: 200 parses in this order
    interleaved = by_shared_files(range(200), shared(*wide))
    assert sorted(interleaved) == list(range(200)) and interleaved != list(range(200))
    assert runner._costs(interleaved, shared(*wide))[-1] == (10, 40)  # two windows of 32 and 8 slides
    by_file = sorted(range(200), key=lambda k: wide[k][1])
    assert by_shared_files(by_file, shared(*wide)) is by_file  # 5 parses, 200 probes: kept
    # a later row joins two groups: the second comes after the first's rows
    assert by_shared_files(todo, shared(("x", "A"), ("y", "B"), ("z", "C"), ("x", "B"), ("w", "A"))) == [
        0,
        1,
        3,
        4,
        2,
    ]


def test_threads_share_the_parse_cache(monkeypatch) -> None:
    """Threads (the review server's threadpool, a Dask worker's) parse small shared COCO files at
    once: unlocked, an eviction beside a look-up raised ``OrderedDict mutated during iteration`` or
    ``KeyError`` (3 in 12,000 calls on 4 threads; a spurious CHECK_CRASHED in a run)."""
    monkeypatch.setattr(readers, "_CACHE", OrderedDict())
    docs = [
        json.dumps(
            {
                "images": [{"id": i, "file_name": f"f{f}_{i}.tiff"} for i in range(60)],
                "annotations": [
                    {"id": i, "image_id": i, "category_id": 1, "segmentation": [[0, 0, 5, 0, 5, 5]]}
                    for i in range(60)
                ],
                "categories": [{"id": 1, "name": "BCC"}],
            }
        ).encode()
        for f in range(12)
    ]
    assert readers.CACHE_SHARED_MIN_BYTES < len(docs[0]) < readers.CACHE_MIN_BYTES
    errors: list[str] = []

    def work(t: int) -> None:
        for n in range(400):
            f = (t * 7 + n) % len(docs)
            try:
                assert len(readers.parse_annotation(docs[f], f"coco{f}.json")) == 60
            except Exception as e:  # every failure counted, whatever it is
                errors.append(repr(e))

    _in_threads(work)
    assert errors == []
    assert len(readers._CACHE) <= readers.CACHE_SIZE


def test_threads_share_the_probe_cache(tmp_path: Path, monkeypatch) -> None:
    """A Dask worker's threads probe slides at once: unlocked, a probe evicted by another thread
    between its look-up and its move to the end raised ``KeyError`` (the item's crash). The
    look-up here lets the other threads run right after it, as a switch there would."""
    from dqm import slide_io

    class SwitchAfterLookup(OrderedDict):  # type: ignore[type-arg]
        def get(self, key, default=None):  # type: ignore[no-untyped-def]
            hit = super().get(key, default)
            time.sleep(1e-4)
            return hit

    monkeypatch.setattr(slide_io, "_PROBES", SwitchAfterLookup())
    monkeypatch.setattr(slide_io, "PROBE_CACHE_SIZE", 2)
    monkeypatch.setattr(
        slide_io, "probe_slide", lambda path, rel, options=None, taken=None: slide_io.virtual_probe(rel)
    )
    paths = []
    for n in range(3):
        paths.append(tmp_path / f"s{n}.tiff")
        paths[-1].write_bytes(bytes(n + 1))
    errors: list[str] = []

    def work(t: int) -> None:
        for n in range(300):
            path = paths[(t + n) % len(paths)]
            try:
                assert slide_io.probe_slide_cached(path, path.name).fingerprint
            except Exception as e:  # every failure counted, whatever it is
                errors.append(repr(e))

    _in_threads(work)
    assert errors == []
    assert len(slide_io._PROBES) <= slide_io.PROBE_CACHE_SIZE


def _in_threads(work: Callable[[int], None]) -> None:
    """``work`` on 4 threads at once, switching every microsecond (a race shows in a few thousand
    calls), the interpreter's switch interval restored after."""
    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)


def test_institution_class_map_and_unmapped_summary(
    tmp_path: Path, profile: Profile, real_data: Path
) -> None:
    for name in ("tumor_076.xml", "tumor_085.xml"):
        (tmp_path / name).write_bytes((real_data / "annotations" / "asap" / name).read_bytes())
    write_manifest(
        tmp_path,
        [
            ["a", "", "tumor_076.xml", "Seoul-A", "BCC", "60", "M", "trunk"],
            ["b", "", "tumor_085.xml", "Busan-B", "BCC", "60", "M", "trunk"],
        ],
    )
    prof = Profile.model_validate(
        {**profile.model_dump(), "institution_class_map": {"Seoul-A": {"metastasis": "BCC"}}}
    )
    run = run_batch(tmp_path, prof, RunOptions(workers=1, slides=False, clinical=False))
    by_id = {o.summary.slide_id: o for o in run.outcomes}
    assert by_id["a"].summary.lesion_classes == {"BCC": 39}
    assert by_id["b"].summary.unmapped_classes == {"metastasis": 50}
    assert by_id["b"].summary.annotation_format == "asap"
    assert not any(f.code == "CLASS_UNKNOWN" for f in by_id["a"].findings)
    assert sum(f.code == "CLASS_UNKNOWN" for f in by_id["b"].findings) == 50
    (summary,) = [f for f in run.batch_findings if f.code == "CLASS_UNMAPPED"]
    assert "'metastasis'" in summary.message and "50 lesion(s) in 1 file(s)" in summary.message
    assert summary.location.file == "tumor_085.xml"


def test_a_coco_file_validated_alone_is_judged_whole(real_data: Path, profile: Profile) -> None:
    from dqm.single_files import validate_files

    found = validate_files([real_data / "annotations" / "coco" / "MIDOG++.json"], profile)
    codes = {f.code for f in found}
    assert {"COCO_BBOX_NOT_XYWH", "COCO_BBOX_ONLY"} <= codes and "IMAGE_NOT_IN_FILE" not in codes


@pytest.mark.parametrize("check_id", MY_CHECKS)
def test_check_contract(check_id: str, profile: Profile) -> None:
    """Registered, documented, and silent on an empty item (or an empty batch)."""
    spec = REGISTRY[check_id]
    assert spec.doc and all(code.isupper() for code in spec.codes)
    ctx = CheckContext(spec, "x", {c: spec.severity_of(c) for c in spec.codes})
    params = spec.params()
    if spec.scope == "batch":
        assert spec.func(BatchView(profile, [], None), params, ctx) == []
    else:
        view = ItemView(Item("x", None, None, {}, None), profile)
        assert spec.func(view, params, ctx) == []
        view = ItemView(
            Item("x", "a.svs", "a.json", {}, None), profile, None, None, FileStatus("a.svs", True)
        )
        assert spec.func(view, params, ctx) == []


def test_two_slides_of_one_name_in_two_folders_get_their_own_images(tmp_path: Path, profile: Profile) -> None:
    """One COCO file listing ``a/slide1.tiff`` (one lesion) and ``b/slide1.tiff`` (two) by their
    paths in the batch: both slides were given the first image's lesions. Each gets its own; the
    same file listing them by bare names it cannot tell apart is a finding for each slide."""
    square = [[0, 0, 10, 0, 10, 10]]
    for names, want in [
        (["b/slide1.tiff", "a/slide1.tiff"], {"A": 1, "B": 2}),
        (["x/slide1.tiff", "y/slide1.tiff"], {"A": 0, "B": 0}),
    ]:
        doc = {
            "images": [
                {"id": i, "file_name": n, "width": 100, "height": 100} for i, n in enumerate(names, 1)
            ],
            "annotations": [
                {"id": k, "image_id": i, "category_id": 1, "segmentation": square}
                for k, i in enumerate([2, 1, 1], 1)
            ],
            "categories": [{"id": 1, "name": "BCC"}],
        }
        (tmp_path / "coco.json").write_text(json.dumps(doc))
        rows = [
            [sid, f"{sid.lower()}/slide1.tiff", "coco.json", "Seoul-A", "BCC", "60", "M", "trunk"]
            for sid in "AB"
        ]
        write_manifest(tmp_path, rows)
        readers._CACHE.clear()
        run = run_batch(tmp_path, profile, RunOptions(workers=1, slides=False, clinical=False))
        assert {o.summary.slide_id: o.summary.n_lesions for o in run.outcomes} == want
        findings = [f for o in run.outcomes for f in o.findings]
        ambiguous = sorted(f.item_id for f in findings if f.code == "IMAGE_AMBIGUOUS_IN_FILE")
        assert ambiguous == ([] if want["A"] else ["A", "B"])


@pytest.mark.parametrize(
    ("names", "rows", "want"),
    [
        # A's image listed by its slide id: B's image, of A's file name, was A's too
        (["A.png", "b/slide1.svs"], [("A", "a/slide1.svs"), ("B", "b/slide1.svs")], {"A": 1, "B": 2}),
        (["a/slide1.png", "b/slide1.svs"], [("A", "a/slide1.svs"), ("B", "b/slide1.svs")], {"A": 1, "B": 2}),
        # slide 2 at scans/1.svs: 2.png by its id, 1.png (slide 1's) by its stem: ambiguous, not 1.png
        (["2.png", "1.png"], [("2", "scans/1.svs"), ("1", "scans/0.svs")], {"2": 0, "1": 2}),
    ],
)
def test_an_image_another_slide_names_is_never_this_slides(
    tmp_path: Path, profile: Profile, names: list[str], rows: list[tuple[str, str]], want: dict[str, int]
) -> None:
    """An image of the slide's file name was picked before the slide's own image, named by its
    slide id or stem: one image (two lesions) went to two slides, silently. The slide's own
    image is picked, or the slide's names fitting two images is said (IMAGE_AMBIGUOUS_IN_FILE)."""
    square = [[0, 0, 10, 0, 10, 10]]
    doc = {
        "images": [{"id": i, "file_name": n, "width": 100, "height": 100} for i, n in enumerate(names, 1)],
        "annotations": [
            {"id": k, "image_id": i, "category_id": 1, "segmentation": square}
            for k, i in enumerate([2, 1, 2], 1)
        ],
        "categories": [{"id": 1, "name": "BCC"}],
    }
    (tmp_path / "coco.json").write_text(json.dumps(doc))
    write_manifest(
        tmp_path, [[sid, image, "coco.json", "Seoul-A", "BCC", "60", "M", "trunk"] for sid, image in rows]
    )
    readers._CACHE.clear()
    run = run_batch(tmp_path, profile, RunOptions(workers=1, slides=False, clinical=False))
    assert {o.summary.slide_id: o.summary.n_lesions for o in run.outcomes} == want
    ambiguous = [f.item_id for o in run.outcomes for f in o.findings if f.code == "IMAGE_AMBIGUOUS_IN_FILE"]
    assert ambiguous == [sid for sid, n in want.items() if n == 0]
