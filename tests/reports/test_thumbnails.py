"""Thumbnails of the worst slides: bounded, small, outlines in the class colours, made in the audit."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dqm import thumbnails as th
from dqm.coords import Frame
from dqm.model import ItemRecord, LesionOutline, ParsedAnnotation
from dqm.results import MAX_THUMBNAIL_CHARS, ItemSummary, QualityResult, Thumbnail
from dqm.runner import RunOptions, run_batch
from tests.reports.conftest import finding

BCC = (0x4E, 0x79, 0xA7)


def no_annotation(summary: ItemSummary) -> ItemRecord:
    """The record of an item whose annotation file the run could not find."""
    return ItemRecord(summary, [], 0, [], {}, None)


def write_item(
    root: Path, profile, *, slide: bool = True, size=(800, 600), lesion_class: str = "BCC", fmt: str = "PNG"
) -> ItemRecord:
    (root / "slides").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(exist_ok=True)
    if slide:
        Image.new("RGB", size, (255, 255, 255)).save(root / "slides" / f"s.{fmt.lower()}", fmt)
    square = [[200, 150], [600, 150], [600, 450], [200, 450], [200, 150]]
    doc = {
        "format": "dqm.annotation/1",
        "slide": {"file": f"s.{fmt.lower()}", "width": size[0], "height": size[1]},
        "lesions": [
            {"id": 1, "class": lesion_class, "geometry": {"type": "Polygon", "coordinates": [square]}}
        ],
    }
    (root / "annotations" / "s.json").write_text(json.dumps(doc))
    (item,) = run_batch(root, profile, RunOptions(workers=1, clinical=False)).outcomes
    assert item.summary.image_path == (f"slides/s.{fmt.lower()}" if slide else None)
    return item


def decode(t: Thumbnail) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(t.data))).convert("RGB")


def near(px, colour, tol=40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(px, colour, strict=True))


def test_outline_is_drawn_in_the_class_colour_at_the_right_place(tmp_path: Path, profile):
    item = write_item(tmp_path, profile)
    marker = finding("s", "SELF_INTERSECTION", xy=(400.0, 150.0))
    t = th.thumbnail(tmp_path, item, [marker], profile, max_side=200)
    assert t is not None and t.source == "slide" and t.note == ""
    assert (t.width, t.height) == (200, 150) and t.downsample == 4.0
    assert t.legend == {"BCC": "#4e79a7"} and t.markers == 1 and t.codes == ["SELF_INTERSECTION"]
    img = decode(t)
    assert near(img.getpixel((50, 100)), BCC)  # left edge of the square: x 200 / 4, y 400 / 4
    assert near(img.getpixel((130, 112)), BCC)  # bottom edge: y 450 / 4
    assert near(img.getpixel((100, 75)), (255, 255, 255))  # inside: the slide's own pixels
    assert near(img.getpixel((100 + 6, 37)), (255, 0, 255), tol=70)  # the marker ring around (100, 37.5)


def test_outlines_come_from_the_record_not_from_the_file_again(tmp_path: Path, profile):
    """Once the run has parsed an annotation, drawing it reads no annotation file: a file that
    changed or went away since (or one that would crash a parser here) changes nothing."""
    item = write_item(tmp_path, profile)
    (tmp_path / "annotations" / "s.json").write_text("{" * 5000)
    t = th.thumbnail(tmp_path, item, [], profile, max_side=200)
    assert t is not None and t.legend == {"BCC": "#4e79a7"} and near(decode(t).getpixel((50, 100)), BCC)


def test_a_missing_slide_gives_outlines_on_a_blank_canvas(tmp_path: Path, profile):
    item = write_item(tmp_path, profile, slide=False)
    t = th.thumbnail(tmp_path, item, [], profile, max_side=100)
    assert t is not None and t.source == "outline" and "no slide file" in t.note
    assert (t.width, t.height) == (100, 75)
    assert near(decode(t).getpixel((25, 50)), BCC)


def test_a_slide_linked_out_of_the_batch_is_not_drawn(tmp_path: Path, profile):
    """The record names the slide (the audit refused it: SYMLINK_OUTSIDE_BATCH); the former code
    followed the link and drew the outside image's pixels into the report."""
    item = write_item(tmp_path / "batch", profile)
    Image.new("RGB", (800, 600), (10, 200, 240)).save(tmp_path / "other.png")
    (tmp_path / "batch" / "slides" / "s.png").unlink()
    (tmp_path / "batch" / "slides" / "s.png").symlink_to(tmp_path / "other.png")
    t = th.thumbnail(tmp_path / "batch", item, [], profile, max_side=100)
    assert t is not None and t.source == "outline"
    assert not near(decode(t).getpixel((5, 5)), (10, 200, 240))


def test_a_slide_too_large_to_decode_is_never_read_at_full_resolution(tmp_path: Path, profile, monkeypatch):
    item = write_item(tmp_path, profile, size=(800, 600))
    monkeypatch.setattr(th, "MAX_DECODE_PIXELS", 1000)
    t = th.thumbnail(tmp_path, item, [], profile, max_side=100)
    assert t is not None and t.source == "outline" and "too large" in t.note


def test_jpeg_draft_keeps_big_jpegs_cheap(tmp_path: Path, profile, monkeypatch):
    item = write_item(tmp_path, profile, size=(4000, 3000), fmt="JPEG")
    monkeypatch.setattr(th, "MAX_DECODE_PIXELS", 4000 * 3000 // 16)  # only a draft-reduced decode fits
    t = th.thumbnail(tmp_path, item, [], profile, max_side=200)
    assert t is not None and t.source == "slide" and t.width == 200


def test_unknown_class_is_grey_and_nothing_to_draw_is_no_thumbnail(tmp_path: Path, profile):
    item = write_item(tmp_path, profile, lesion_class="lymphoma")
    t = th.thumbnail(tmp_path, item, [], profile)
    assert t is not None and t.legend == {"?": th.UNKNOWN_COLOUR}
    nothing = ItemSummary(slide_id="x", image_path="slides/none.png", annotation_path="annotations/none.json")
    assert th.thumbnail(tmp_path, no_annotation(nothing), [], profile) is None
    outside = ItemSummary(slide_id="y", image_path="../../etc/passwd", annotation_path="/etc/hosts")
    assert (
        th.thumbnail(tmp_path, no_annotation(outside), [], profile) is None
    )  # never reads outside the batch


def test_jpegs_stay_under_the_size_bound(profile):
    noisy = Image.effect_noise((512, 512), 120).convert("RGB")
    data = th._jpeg(noisy)
    assert len(data) <= MAX_THUMBNAIL_CHARS
    with pytest.raises(ValueError):
        Thumbnail(
            slide_id="s",
            data="A" * (MAX_THUMBNAIL_CHARS + 4),
            width=1,
            height=1,
            downsample=1,
            source="slide",
        )
    with pytest.raises(ValueError):
        Thumbnail(slide_id="s", data="AAAA", width=2000, height=1, downsample=1, source="slide")


def test_audit_thumbnails_are_the_worst_slides_bounded(audited: QualityResult):
    thumbs = audited.thumbnails
    assert 0 < len(thumbs) <= 6
    worst = [i.slide_id for i in th.worst_items(audited, 6)]
    assert [t.slide_id for t in thumbs] == [s for s in worst if s in {t.slide_id for t in thumbs}]
    errors = {t.slide_id: t.errors for t in thumbs}
    assert list(errors.values()) == sorted(errors.values(), reverse=True)
    for t in thumbs:
        img = decode(t)
        assert max(img.size) <= th.DEFAULT_SIDE and img.size == (t.width, t.height)
    assert (
        len(audited.model_dump_json()) - len(audited.model_copy(update={"thumbnails": []}).model_dump_json())
        < 6 * MAX_THUMBNAIL_CHARS
    )


def _former_draw(img: Image.Image, frame: Frame, ann: ParsedAnnotation, profile) -> None:
    """Outlines as they were drawn: every ring whole, its vertices as floats, one call a ring."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(img)
    width = max(2, round(max(img.size) / 128))
    for lesion in ann.lesions:
        label = lesion.label or "?"
        colour = profile.class_def(label).colour if label in profile.class_ids else th.UNKNOWN_COLOUR
        for poly in lesion.polygons:
            for ring in poly:
                ring = np.asarray(ring, dtype=float)
                if ring.ndim != 2 or ring.shape[1] != 2:
                    continue
                pts = frame.from_level0_xy(ring[np.isfinite(ring).all(axis=1)])
                if len(pts) >= 2:
                    xy = [tuple(p) for p in pts.tolist()]
                    draw.line([*xy, xy[0]], fill=th._rgb(colour), width=width, joint="curve")


def _random_rings(rng: np.random.Generator, w: float, h: float) -> list[np.ndarray]:
    """Rings of every kind an outline drawing meets: dense (many vertices a thumbnail pixel),
    zigzags across the slide, tiny (one pixel), partly or wholly off the slide, with non-finite
    or huge vertices, of one vertex, copies of one another."""
    rings: list[np.ndarray] = []
    for _ in range(int(rng.integers(5, 40))):
        kind = rng.integers(7)
        n = int(rng.integers(1, 3000))
        if kind == 0:  # dense circle
            t = np.linspace(0, 2 * np.pi, n, endpoint=False)
            c, r = rng.uniform(0, (w, h)), rng.uniform(1, w / 3)
            ring = np.column_stack([c[0] + r * np.cos(t), c[1] + r * np.sin(t)])
        elif kind == 1:  # zigzag from top to bottom
            k = np.arange(n)
            ring = np.column_stack([w * k / max(n - 1, 1), np.where(k % 2, h - 1.0, 1.0)])
        elif kind == 2:  # within a pixel or two
            ring = rng.uniform(0, 3, (n, 2)) + rng.uniform(0, (w, h))
        elif kind == 3:  # off the slide, negative coordinates included
            ring = rng.uniform(-w, 2 * w, (n, 2))
        elif kind == 4:  # non-finite and huge vertices
            ring = rng.uniform(0, w, (n, 2))
            ring[rng.random(n) < 0.1] = np.nan
            ring[rng.random(n) < 0.01, 0] = rng.choice([1e12, -1e15, np.inf])
        elif kind == 5 and rings:  # a copy
            ring = rings[int(rng.integers(len(rings)))].copy()
        else:  # a random walk
            ring = np.cumsum(rng.normal(0, w / 200, (n, 2)), axis=0) + rng.uniform(0, (w, h))
        rings.append(ring)
    return rings


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("side", [64, 256, 512, 700])
def test_outlines_draw_the_pixels_the_former_drawing_drew(profile, seed: int, side: int, monkeypatch):
    """Every distinct edge drawn once in thumbnail pixels, the edges chained: the very pixels of
    drawing each ring whole (a 700-pixel canvas draws joints, and is handed whole rings), also
    a few hundred vertices at a time."""
    rng = np.random.default_rng(seed)
    w, h = float(rng.uniform(2_000, 200_000)), float(rng.uniform(2_000, 200_000))
    classes = [*profile.class_ids, "nope"]
    lesions = tuple(
        LesionOutline(index=k, pointer=f"/lesions/{k}", raw_class="x", label=classes[k % len(classes)],
                      polygons=((ring,),) if k % 3 else ((ring, ring[: len(ring) // 2] * 1.01),))
        for k, ring in enumerate(_random_rings(rng, w, h))
    )  # fmt: skip
    ann = ParsedAnnotation(path="a.json", format="native", width=int(w), height=int(h), lesions=lesions)
    scale = side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    frame = Frame(downsample=w / size[0])
    former, drawn = Image.new("RGB", size, th.CANVAS), Image.new("RGB", size, th.CANVAS)
    _former_draw(former, frame, ann, profile)
    if seed % 2:
        monkeypatch.setattr(th, "_VERTICES_AT_ONCE", 300)
    th._draw(drawn, frame, ann, [], profile)
    assert np.array_equal(np.asarray(drawn), np.asarray(former))
    assert (np.asarray(drawn) != th.CANVAS).any()  # something was drawn


def test_a_zigzag_of_a_million_vertices_is_drawn_as_its_few_distinct_edges(profile, monkeypatch):
    """bench_hostile's zigzag: 999,000 vertices whose every edge crosses the slide, drawn as
    999,001 wide lines of a whole thumbnail's height (5 s); its edges in thumbnail pixels are a
    few per column, and Pillow is handed those."""
    from PIL import ImageDraw

    n, w, h = 999_000, 1_000.0, 346.0
    k = np.arange(n)
    ring = np.column_stack([1 + (w - 2) * k / (n - 1), np.where(k % 2 == 0, 1.0, h - 1.0)])
    lesion = LesionOutline(index=0, pointer="/lesions/0", raw_class="BCC", label="BCC", polygons=((ring,),))
    ann = ParsedAnnotation(path="z.json", format="native", width=1000, height=346, lesions=(lesion,))
    handed = 0
    real = ImageDraw.ImageDraw.line

    def counted(self, xy, *args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal handed
        handed += len(xy) // 2
        return real(self, xy, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "line", counted)
    img = Image.new("RGB", (512, 177), th.CANVAS)
    th._draw(img, Frame(downsample=1000 / 512), ann, [], profile)
    assert 0 < handed <= 4 * 512
    assert near(img.getpixel((256, 88)), BCC, tol=0)
