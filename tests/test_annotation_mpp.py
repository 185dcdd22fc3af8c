"""A resolution stated only in the annotation file reaches the slide probe (issue 15 §1): a plain
image's blur is measured and its folds judged at a physical scale; the header's wins where both
exist; a hostile value is a finding at the annotation's pointer, never a crash or a check quietly
switched off; the probe cache keys on the resolution given."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from dqm import probe_mpp, runner, slide_io
from dqm.findings import Finding, Severity
from dqm.model import Item, ItemRecord
from dqm.profile import CheckSetting, Profile
from dqm.slide_io import ProbeOptions, SlideProbe, probe_slide_cached
from dqm.synth.pyramid import write_pyramid
from tests.helpers import native_doc
from tests.pixels.test_artefacts import SIDE, fold_band_image, he_image
from validators.engine import configure


def _lesion() -> list[dict[str, Any]]:
    ring = [[200, 200], [260, 200], [260, 260], [200, 260], [200, 200]]
    return [{"id": 1, "class": "BCC", "geometry": {"type": "Polygon", "coordinates": [ring]}}]


def _checked(
    tmp_path: Path,
    profile: Profile,
    slide_doc: dict[str, Any] | None = None,
    *,
    image: np.ndarray | None = None,
    header_mpp: float | None = None,
    raw: str | None = None,
    ann_name: str = "S1.json",
    manifest_mpp: str | None = None,
    png: bytes | None = None,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[ItemRecord, SlideProbe]:
    """One item checked by the runner: a PNG slide (a tiled TIFF stating ``header_mpp`` in its
    header when given) and a native annotation whose ``slide`` object is ``slide_doc`` (or the
    annotation text ``raw``), listed in a manifest row stating ``manifest_mpp`` when given; the
    record and the probe the runner made last (``png``: the PNG file's bytes)."""
    pixels = he_image() if image is None else image
    if header_mpp is None:
        name = "S1.png"
        if png is None:
            Image.fromarray(pixels).save(tmp_path / name)
        else:
            (tmp_path / name).write_bytes(png)
    else:
        name = "S1.tiff"
        write_pyramid(tmp_path / name, pixels, header_mpp)
    if raw is None:
        doc = native_doc(_lesion())
        doc["slide"] = {"file": name, "width": SIDE, "height": SIDE, **(slide_doc or {})}
        raw = json.dumps(doc)
    (tmp_path / ann_name).write_text(raw)
    probes: list[SlideProbe] = []
    real = runner.probe_slide_cached
    monkeypatch.setattr(runner, "probe_slide_cached", lambda *a: probes.append(real(*a)) or probes[-1])
    slide_io._PROBES.clear()
    item = Item(slide_id="S1", image_path=name, annotation_path=ann_name)
    if manifest_mpp is not None:
        item = Item("S1", name, ann_name, {"mpp": manifest_mpp}, row=1)
    record = runner.check_item(item, tmp_path, profile, configure(profile), runner.RunOptions(workers=1))
    # probed once, the annotation fitting or not (BASE probed again where it did not)
    assert len(probes) == 1
    return record, probes[-1]


def _counted_probes(monkeypatch: pytest.MonkeyPatch) -> list[ProbeOptions | None]:
    """The options of every slide probe made from now on (the probe cache emptied)."""
    calls: list[ProbeOptions | None] = []
    real = slide_io.probe_slide
    monkeypatch.setattr(
        slide_io, "probe_slide", lambda p, r, o=None, t=None: calls.append(o) or real(p, r, o, t)
    )
    slide_io._PROBES.clear()
    return calls


def _with_check(profile: Profile, name: str, setting: CheckSetting) -> Profile:
    """``profile`` with check ``name`` set so."""
    return profile.model_copy(update={"checks": {**profile.checks, name: setting}})


def _codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def test_a_plain_image_takes_the_resolution_its_annotation_states(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # on BASE the probe ran before the annotation was read: no resolution, no blur sample, folds at
    # the working image's scale, and the batch's ARTEFACT_SCALE_UNKNOWN counted the slide
    record, probe = _checked(tmp_path, profile, {"mpp": 0.5}, monkeypatch=monkeypatch)
    found = probe.artefacts
    assert found is not None and found.tissue_px
    assert (found.mpp, found.mpp_source) == ((0.5, 0.5), "annotation")
    assert found.blur is not None and found.blur.tiles > 0 and "blur" not in found.unmeasured
    assert found.scale_note == "" and found.field_um == pytest.approx(SIDE * 0.5)
    assert record.summary.slide is not None and record.summary.slide.artefact_scale_unknown is False
    assert record.slide is not None and record.slide.artefacts is not None
    assert record.slide.artefacts.blur_tiles == found.blur.tiles
    # the slide checks read it too: no MPP_MISSING, no NOT_MEASURED
    assert not {"MPP_MISSING", "ARTEFACT_NOT_MEASURED"} & set(_codes(record.findings))


def test_without_a_stated_resolution_the_plain_image_stays_unknown(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, probe = _checked(tmp_path, profile, {}, monkeypatch=monkeypatch)
    found = probe.artefacts
    assert found is not None and found.mpp is None and found.blur is not None and found.blur.tiles == 0
    assert record.summary.slide is not None and record.summary.slide.artefact_scale_unknown is True


def test_the_annotation_wins_over_the_manifest_and_the_header_over_both(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = profile.model_copy(update={"image_mpp": 0.8})
    record, probe = _checked(tmp_path, manifest, {"mpp": 0.5}, monkeypatch=monkeypatch)
    assert probe.artefacts is not None and probe.artefacts.mpp == (0.5, 0.5)
    assert probe.artefacts.mpp_source == "annotation"
    # the results give the resolution the probe used (BASE: the profile's 0.8)
    assert record.summary.slide is not None
    assert (record.summary.slide.mpp, record.summary.slide.mpp_source) == (0.5, "annotation")
    # the header's resolution wins; the mismatch stays a finding of the annotation
    record, probe = _checked(tmp_path, profile, {"mpp": 0.5}, header_mpp=0.25, monkeypatch=monkeypatch)
    assert probe.mpp_x == pytest.approx(0.25)
    assert probe.artefacts is not None and probe.artefacts.mpp_source == "header"
    assert probe.artefacts.mpp == pytest.approx((0.25, 0.25))
    mismatch = [f for f in record.findings if f.code == "MPP_MISMATCH"]
    assert [(f.location.file, f.location.pointer) for f in mismatch] == [("S1.json", "/slide/mpp")]


def test_an_implausible_declared_resolution_is_an_error_at_the_annotations_pointer(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 0.002 µm: a 1 µm field. The probe does not take it (unknown without another), and the error
    # names the annotation's value
    record, probe = _checked(
        tmp_path, profile, {"mpp": 0.002}, image=fold_band_image(), monkeypatch=monkeypatch
    )
    assert probe.artefacts is not None and probe.artefacts.mpp is None
    said = [f for f in record.findings if f.code == "MPP_IMPLAUSIBLE"]
    assert [(f.severity, f.location.file, f.location.pointer) for f in said] == [
        (Severity.ERROR, "S1.json", "/slide/mpp")
    ]
    assert said[0].message.startswith("the annotation declares 0.002 µm per pixel, outside 0.1–2")
    assert "ARTEFACT_NOT_MEASURED" not in _codes(record.findings)
    assert record.summary.slide is not None
    assert (record.summary.slide.mpp, record.summary.slide.mpp_source) == (None, "none")


@pytest.mark.parametrize("where", ["profile", "manifest"])
def test_an_implausible_declared_resolution_leaves_the_manifests_or_profiles(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    # on BASE the annotation's 0.002 was taken over a plausible 0.5 and folds were not measured
    if where == "profile":
        profile = profile.model_copy(update={"image_mpp": 0.5})
    record, probe = _checked(
        tmp_path,
        profile,
        {"mpp": 0.002},
        image=fold_band_image(),
        manifest_mpp="0.5" if where == "manifest" else None,
        monkeypatch=monkeypatch,
    )
    source = "profile" if where == "profile" else "stated"
    assert probe.artefacts is not None and (probe.artefacts.mpp, probe.artefacts.mpp_source) == (
        (0.5, 0.5),
        source,
    )
    assert "ARTEFACT_NOT_MEASURED" not in _codes(record.findings)
    assert "MPP_IMPLAUSIBLE" in _codes(record.findings)
    assert "MPP_MISMATCH" not in _codes(record.findings)  # an implausible value is not compared
    assert record.summary.slide is not None
    assert (record.summary.slide.mpp, record.summary.slide.mpp_source) == (0.5, source)


def test_the_annotation_beats_the_manifest_and_their_disagreement_is_a_finding(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, probe = _checked(tmp_path, profile, {"mpp": 0.5}, manifest_mpp="0.8", monkeypatch=monkeypatch)
    assert probe.artefacts is not None and probe.artefacts.mpp_source == "annotation"
    mismatch = [f for f in record.findings if f.code == "MPP_MISMATCH"]
    assert [(f.location.file, f.location.pointer) for f in mismatch] == [("S1.json", "/slide/mpp")]
    assert "the manifest's mpp says 0.8" in mismatch[0].message
    # results say what the probe used (BASE: the manifest's 0.8, while folds were judged at 0.5)
    assert record.summary.slide is not None
    assert (record.summary.slide.mpp, record.summary.slide.mpp_source) == (0.5, "annotation")


def test_an_annotation_of_another_size_gives_the_probe_no_resolution(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a 960 px slide's annotation on a 480 px image: SLIDE_SIZE_MISMATCH, and (BASE) the probe took 0.25
    record, probe = _checked(
        tmp_path, profile, {"width": 960, "height": 960, "mpp": 0.25}, monkeypatch=monkeypatch
    )
    assert probe.artefacts is not None and probe.artefacts.mpp is None
    assert "SLIDE_SIZE_MISMATCH" in _codes(record.findings)
    (unused,) = [f for f in record.findings if f.code == "ANNOTATION_MPP_UNUSED"]
    assert (unused.severity, unused.location.file, unused.location.pointer) == (
        Severity.INFO,
        "S1.json",
        "/slide/mpp",
    )
    assert "declares a 960x960 slide, the image is 480x480" in unused.message
    assert record.summary.slide is not None and record.summary.slide.artefact_scale_unknown is True
    assert record.summary.slide.mpp_source == "none"
    # a profile's resolution is then the probe's
    record, probe = _checked(
        tmp_path,
        profile.model_copy(update={"image_mpp": 0.5}),
        {"width": 960, "height": 960, "mpp": 0.25},
        monkeypatch=monkeypatch,
    )
    assert probe.artefacts is not None and probe.artefacts.mpp_source == "profile"
    assert "ANNOTATION_MPP_UNUSED" in _codes(record.findings)


def _reaching(x1: float, **slide: Any) -> str:
    """A native annotation of S1.png stating ``slide`` (no size) whose one lesion reaches x = ``x1``."""
    ring = [[400, 400], [x1, 400], [x1, 470], [400, 470], [400, 400]]
    doc = native_doc([{"id": 1, "class": "BCC", "geometry": {"type": "Polygon", "coordinates": [ring]}}])
    doc["slide"] = {"file": "S1.png", **slide}
    return json.dumps(doc)


def test_an_annotation_fits_the_image_within_the_profiles_bounds_tolerance(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # BASE held lesions to a fixed 1 px: with geometry.bounds allowing 50 px, a lesion to x = 510 on
    # the 480 px image was no LESION_OUT_OF_BOUNDS, yet its annotation's mpp was unused for reaching out
    loose = _with_check(profile, "geometry.bounds", CheckSetting(params={"tolerance_px": 50}))
    record, probe = _checked(tmp_path, loose, raw=_reaching(510, mpp=0.5), monkeypatch=monkeypatch)
    assert not {"LESION_OUT_OF_BOUNDS", "ANNOTATION_MPP_UNUSED"} & set(_codes(record.findings))
    assert probe.artefacts is not None and probe.artefacts.mpp_source == "annotation"
    # past the tolerance: both
    record, probe = _checked(tmp_path, loose, raw=_reaching(540, mpp=0.5), monkeypatch=monkeypatch)
    assert {"LESION_OUT_OF_BOUNDS", "ANNOTATION_MPP_UNUSED"} <= set(_codes(record.findings))
    assert probe.artefacts is not None and probe.artefacts.mpp is None


def test_an_unused_annotation_resolution_is_not_held_to_the_manifests(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an annotation that does not fit the image describes another one: BASE gave an MPP_MISMATCH
    # error (0.5 against the manifest's 0.8) beside ANNOTATION_MPP_UNUSED
    record, probe = _checked(
        tmp_path, profile, raw=_reaching(500, mpp=0.5), manifest_mpp="0.8", monkeypatch=monkeypatch
    )
    codes = _codes(record.findings)
    assert "ANNOTATION_MPP_UNUSED" in codes and "MPP_MISMATCH" not in codes
    assert probe.artefacts is not None and probe.artefacts.mpp_source == "stated"
    # one that fits is still held to it
    record, _ = _checked(
        tmp_path, profile, raw=_reaching(470, mpp=0.5), manifest_mpp="0.8", monkeypatch=monkeypatch
    )
    assert "MPP_MISMATCH" in _codes(record.findings)


@pytest.mark.parametrize("power", [200.0, 0.5, float("nan")])
def test_an_implausible_objective_power_gives_no_resolution(power: float, profile: Profile) -> None:
    # BASE kept 10 µm over any objective as the slide's mpp: a 200x header (implausible) gave
    # 0.05 µm/px in results, which read as 40x
    probe = SlideProbe(path="S1.tiff", opened=True, width=10, height=10, objective_power=power)
    assert probe_mpp.used(probe, ProbeOptions()) == (None, "none")
    summary = runner.summarise(
        Item("S1", "S1.tiff", None), None, probe, profile, [], probe_mpp.used(probe, ProbeOptions())
    )
    assert summary.slide is not None and (summary.slide.mpp, summary.slide.mpp_source) == (None, "none")
    # the profile's range decides: 200x allowed, 0.05 µm/px
    wide = ProbeOptions(objective_range=(1.0, 200.0))
    expected = (10.0 / power, "objective") if power == 200.0 else (None, "none")
    assert probe_mpp.used(probe, wide) == expected
    forty = SlideProbe(path="S1.tiff", objective_power=40.0)
    assert probe_mpp.used(forty, ProbeOptions()) == (0.25, "objective")


def test_a_shared_slide_with_a_header_resolution_is_probed_once(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # BASE keyed the probe cache on the annotation's mpp even where the header's won: two probes
    write_pyramid(tmp_path / "S.tiff", he_image(), 0.25)
    for name, slide in (("A.json", {"mpp": 0.25}), ("B.json", {})):
        doc = native_doc(_lesion())
        doc["slide"] = {"file": "S.tiff", "width": SIDE, "height": SIDE, **slide}
        (tmp_path / name).write_text(json.dumps(doc))
    calls = _counted_probes(monkeypatch)
    records = [
        runner.check_item(
            Item(slide_id=ann[0], image_path="S.tiff", annotation_path=ann),
            tmp_path,
            profile,
            configure(profile),
            runner.RunOptions(workers=1),
        )
        for ann in ("A.json", "B.json")
    ]
    assert len(calls) == 1
    for record in records:
        assert record.summary.slide is not None
        assert record.summary.slide.mpp == pytest.approx(0.25) and record.summary.slide.mpp_source == "header"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (0, "MPP_INVALID"),
        (-0.5, "MPP_INVALID"),
        (1e300, "VALUE_OUT_OF_RANGE"),
        (1e-300, "VALUE_OUT_OF_RANGE"),
        ("0.5", "WRONG_TYPE"),
        ([0.5] * 100_000, "WRONG_TYPE"),
        (True, "WRONG_TYPE"),
    ],
)
def test_a_hostile_declared_resolution_is_a_finding_and_reaches_no_probe(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: Any, code: str
) -> None:
    record, probe = _checked(tmp_path, profile, {"mpp": value}, monkeypatch=monkeypatch)
    at = [f for f in record.findings if f.code == code]
    assert at and all(f.location.file == "S1.json" and "mpp" in (f.location.pointer or "") for f in at)
    assert "CHECK_CRASHED" not in _codes(record.findings)
    assert probe.artefacts is not None and probe.artefacts.mpp is None  # unknown, as without one
    assert record.summary.slide is not None and record.summary.slide.artefact_scale_unknown is True


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_non_finite_declared_resolution_reaches_no_probe(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    doc = native_doc(_lesion())
    doc["slide"] = {"file": "S1.png", "width": SIDE, "height": SIDE, "mpp": "@"}
    raw = json.dumps(doc).replace('"@"', text)
    record, probe = _checked(tmp_path, profile, raw=raw, monkeypatch=monkeypatch)
    assert "CHECK_CRASHED" not in _codes(record.findings)
    assert any("mpp" in (f.location.pointer or "") for f in record.findings if f.location.file == "S1.json")
    assert probe.artefacts is not None and probe.artefacts.mpp is None


def test_the_probe_cache_keys_on_the_resolution_given(tmp_path: Path) -> None:
    path = tmp_path / "S1.png"
    Image.fromarray(he_image()).save(path)
    slide_io._PROBES.clear()
    unknown = probe_slide_cached(path, "S1.png", ProbeOptions())
    stated = probe_slide_cached(path, "S1.png", ProbeOptions(mpp=0.5, mpp_source="annotation"))
    manifest = probe_slide_cached(path, "S1.png", ProbeOptions(mpp=0.5))
    assert unknown.artefacts is not None and unknown.artefacts.mpp is None
    assert stated.artefacts is not None and stated.artefacts.mpp_source == "annotation"
    assert manifest.artefacts is not None and manifest.artefacts.mpp_source == "stated"
    assert probe_slide_cached(path, "S1.png", ProbeOptions(mpp=0.5, mpp_source="annotation")) is stated


REAL_IMAGESCOPE = Path("../shared/data/real/annotations/imagescope/TCGA-EJ-5519-01Z-00-DX1.xml")


@pytest.mark.skipif(not REAL_IMAGESCOPE.exists(), reason="../shared/data/real is not here")
def test_a_real_imagescope_exports_microns_per_pixel_reaches_the_probe_only_where_it_fits(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Aperio ImageScope XML states MicronsPerPixel="0.252000" on its root, its vertices reach
    # X ≈ 97,163 on its own slide: beside a 480 px image it describes another one, and its
    # resolution is not that image's (BASE took it: the image is ~200x coarser)
    raw = REAL_IMAGESCOPE.read_text()
    record, probe = _checked(tmp_path, profile, raw=raw, ann_name="S1.xml", monkeypatch=monkeypatch)
    assert probe.artefacts is not None and probe.artefacts.mpp is None
    assert "LESION_OUT_OF_BOUNDS" in _codes(record.findings)
    (unused,) = [f for f in record.findings if f.code == "ANNOTATION_MPP_UNUSED"]
    assert "0.252 µm/px" in unused.message and "outside the 480x480 image" in unused.message
    assert record.summary.slide is not None and record.summary.slide.artefact_scale_unknown is True
    assert "CHECK_CRASHED" not in _codes(record.findings)
    # the same export, its vertices brought within the image (/210: X ≤ 463), fits it: its
    # resolution is the probe's
    fitted = re.sub(r'([XY])="([0-9.]+)"', lambda m: f'{m[1]}="{float(m[2]) / 210:.3f}"', raw)
    record, probe = _checked(tmp_path, profile, raw=fitted, ann_name="S1.xml", monkeypatch=monkeypatch)
    assert probe.artefacts is not None and probe.artefacts.mpp_source == "annotation"
    assert probe.artefacts.mpp == (0.252, 0.252)
    assert probe.artefacts.blur is not None and probe.artefacts.blur.tiles > 0
    assert "LESION_OUT_OF_BOUNDS" not in _codes(record.findings)
    assert "ANNOTATION_MPP_UNUSED" not in _codes(record.findings)
    assert record.summary.slide is not None and record.summary.slide.mpp_source == "annotation"


def test_an_image_not_opened_still_holds_the_annotation_to_the_manifest(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the third review: the manifest comparison was skipped whenever the annotation's mpp was unused,
    # also when only the image's size could not be read (a corrupt PNG): annotation 0.5 against the
    # manifest's 0.8 then gave no finding at all. No size, no misfit: the annotation is compared
    record, probe = _checked(
        tmp_path,
        profile,
        raw=_reaching(470, mpp=0.5),
        png=b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
        manifest_mpp="0.8",
        monkeypatch=monkeypatch,
    )
    assert not probe.opened
    codes = _codes(record.findings)
    assert "MPP_MISMATCH" in codes and "ANNOTATION_MPP_UNUSED" not in codes, codes


def _sized_by_probe(
    tmp_path: Path,
    profile: Profile,
    monkeypatch: pytest.MonkeyPatch,
    x1: float,
    *,
    header_mpp: float | None = None,
    manifest_mpp: str | None = None,
) -> tuple[ItemRecord, list[ProbeOptions]]:
    """A MIRAX slide (``S1.mrxs``: no header Pillow or tifffile reads) whose probe reads it as
    480x480 (``header_mpp`` in its header when given), its annotation's lesion reaching x = ``x1``
    and declaring 0.5 µm/px; the record and the options of each probe made, with the resolution
    the probe took on the size it read (:func:`dqm.probe_mpp.resolved`)."""
    (tmp_path / "S1.mrxs").write_bytes(b"\0" * 64)
    raw = json.loads(_reaching(x1, mpp=0.5))
    raw["slide"]["file"] = "S1.mrxs"
    (tmp_path / "S1.json").write_text(json.dumps(raw))
    given: list[ProbeOptions] = []

    def probe(path: Path, rel: str, options: ProbeOptions, taken: Any) -> SlideProbe:
        made = slide_io.virtual_probe(rel, SIDE, SIDE, vendor="mirax", mpp_x=header_mpp, mpp_y=header_mpp)
        given.append(probe_mpp.resolved(options, made))  # as the probe takes it on the size it read
        return made

    monkeypatch.setattr(runner, "probe_slide_cached", probe)
    row = {"mpp": manifest_mpp} if manifest_mpp is not None else {}
    item = Item("S1", "S1.mrxs", "S1.json", row, row=1)
    record = runner.check_item(item, tmp_path, profile, configure(profile), runner.RunOptions(workers=1))
    return record, given


def test_a_mirax_slides_size_from_its_probe_judges_the_annotations_fit(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # BASE read the size from a header Pillow or tifffile opens before the probe: a MIRAX slide has
    # none, so an annotation that fits it was never used ("the image's size could not be read")
    record, given = _sized_by_probe(tmp_path, profile, monkeypatch, 470)
    assert [(o.mpp, o.mpp_source) for o in given] == [(0.5, "annotation")]
    assert record.summary.slide is not None and record.summary.slide.mpp_source == "annotation"
    assert "ANNOTATION_MPP_UNUSED" not in _codes(record.findings)
    # one that does not fit the size the probe read: the manifest's taken in the same probe, and said
    record, given = _sized_by_probe(tmp_path, profile, monkeypatch, 540, manifest_mpp="0.8")
    assert [(o.mpp, o.mpp_source) for o in given] == [(0.8, "stated")]
    assert record.summary.slide is not None and record.summary.slide.mpp == 0.8
    (unused,) = [f for f in record.findings if f.code == "ANNOTATION_MPP_UNUSED"]
    assert "outside the 480x480 image" in unused.message
    assert "MPP_MISMATCH" not in _codes(record.findings)  # it describes another image
    # a header stating a resolution: probed once, no fit judged
    record, given = _sized_by_probe(tmp_path, profile, monkeypatch, 540, header_mpp=0.25)
    assert len(given) == 1 and "ANNOTATION_MPP_UNUSED" not in _codes(record.findings)


def test_no_header_is_opened_before_the_probe(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # BASE opened each image's header (Pillow, else tifffile) before the probe wherever the
    # annotation declared a plausible resolution, a slide whose header states one too
    import PIL.Image

    opened: list[str] = []
    real_open = PIL.Image.open
    monkeypatch.setattr(
        PIL.Image, "open", lambda fp, *a, **k: opened.append(str(fp)) or real_open(fp, *a, **k)
    )
    record, given = _sized_by_probe(tmp_path, profile, monkeypatch, 470, header_mpp=0.25)
    assert opened == [] and len(given) == 1
    assert record.summary.slide is not None and record.summary.slide.mpp_source == "header"


def test_the_areas_take_the_resolution_the_probe_took(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ItemView.mpp (areas in µm², MPP_MISSING) took the annotation's value where the probe did not:
    # BASE judged LESION_TOO_SMALL at an unused 0.25 and said no MPP_MISSING
    strict = _with_check(profile, "geometry.min_area", CheckSetting(params={"min_area_um2": 1000}))
    record, _ = _checked(
        tmp_path, strict, {"width": 960, "height": 960, "mpp": 0.25}, monkeypatch=monkeypatch
    )
    codes = _codes(record.findings)
    assert "MPP_MISSING" in codes and "LESION_TOO_SMALL" not in codes, codes
    # where it fits, the same lesion (60 px square: 225 µm² at 0.25) is too small
    record, _ = _checked(tmp_path, strict, {"mpp": 0.25}, monkeypatch=monkeypatch)
    codes = _codes(record.findings)
    assert "MPP_MISSING" not in codes and "LESION_TOO_SMALL" in codes, codes


def _run(tmp_path: Path, profile: Profile, manifest_mpp: str, slides: bool) -> ItemRecord:
    """The record of S1.png and S1.json in ``tmp_path``, its manifest row stating ``manifest_mpp``,
    checked with or without slides."""
    item = Item("S1", "S1.png", "S1.json", {"mpp": manifest_mpp}, row=1)
    options = runner.RunOptions(workers=1, slides=slides)
    return runner.check_item(item, tmp_path, profile, configure(profile), options)


@pytest.mark.parametrize("slides", [True, False])
def test_with_slide_header_disabled_an_implausible_value_is_said_unused(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slides: bool
) -> None:
    # BASE dropped it silently (only disabled_checks listed slide.header); without slides too
    off = _with_check(profile, "slide.header", CheckSetting(enabled=False))
    doc = native_doc(_lesion())
    doc["slide"] = {"file": "S1.png", "mpp": 0.002}
    (tmp_path / "S1.json").write_text(json.dumps(doc))
    Image.fromarray(he_image()).save(tmp_path / "S1.png")
    record = _run(tmp_path, off, "0.5", slides)
    (unused,) = [f for f in record.findings if f.code == "ANNOTATION_MPP_UNUSED"]
    assert "0.002 µm per pixel is outside the plausible 0.1–2" in unused.message
    assert "MPP_IMPLAUSIBLE" not in _codes(record.findings)
    # enabled, slide.header says it (with slides): no second finding
    codes = _codes(_run(tmp_path, profile, "0.5", slides).findings)
    assert ("MPP_IMPLAUSIBLE" in codes) == slides and ("ANNOTATION_MPP_UNUSED" in codes) != slides


def test_without_slides_the_manifests_mismatch_says_no_fit_was_judged(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with slides, an annotation reaching outside the 480 px image describes another one: its 0.5
    # is not held to the manifest's 0.8. Without slides the image is not opened and no fit can be
    # judged: the mismatch is reported, and (BASE: in the same words as a judged one) says why
    record, _ = _checked(
        tmp_path, profile, raw=_reaching(540, mpp=0.5), manifest_mpp="0.8", monkeypatch=monkeypatch
    )
    assert "MPP_MISMATCH" not in _codes(record.findings)
    assert "ANNOTATION_MPP_UNUSED" in _codes(record.findings)
    record = _run(tmp_path, profile, "0.8", slides=False)
    (mismatch,) = [f for f in record.findings if f.code == "MPP_MISMATCH"]
    assert "slides not opened: whether the annotation describes this image was not judged" in mismatch.message
    assert "ANNOTATION_MPP_UNUSED" not in _codes(record.findings)


@pytest.mark.parametrize("slides", [True, False])
def test_a_disabled_checks_bad_params_never_stop_a_run(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slides: bool
) -> None:
    # configure() validates only enabled checks' params: BASE read slide.header's (and
    # geometry.bounds') for every item and raised ValidationError in each, slides or not
    bad = _with_check(
        profile, "slide.header", CheckSetting(enabled=False, params={"mpp_min": "abc", "mpp_maxx": 3})
    )
    bad = _with_check(bad, "geometry.bounds", CheckSetting(enabled=False, params={"tolerance_px": "x"}))
    (tmp_path / "S1.json").write_text(_reaching(470, mpp=0.5))
    Image.fromarray(he_image()).save(tmp_path / "S1.png")
    record = _run(tmp_path, bad, "0.8", slides)
    codes = _codes(record.findings)
    assert "CHECK_CRASHED" not in codes, codes
    if slides:  # the defaults judged: 0.5 plausible, the annotation fits the 480 px image
        assert record.summary.slide is not None
        assert (record.summary.slide.mpp, record.summary.slide.mpp_source) == (0.5, "annotation")
    assert probe_mpp.header_ranges(bad) == ((0.1, 2.0), (1.0, 100.0))
    assert probe_mpp.fit_tolerance(bad) == probe_mpp.FIT_TOLERANCE_PX
    # a disabled check's valid params are still read (the probe's plausible range)
    narrow = _with_check(profile, "slide.header", CheckSetting(enabled=False, params={"mpp_min": "0.3"}))
    assert probe_mpp.header_ranges(narrow)[0] == (0.3, 2.0)


def test_mpp_missing_says_why_a_declared_resolution_was_not_used(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # BASE: "the annotation declares none" beside ANNOTATION_MPP_UNUSED's "declares 0.5"
    record, _ = _checked(tmp_path, profile, raw=_reaching(10**6, mpp=0.5), monkeypatch=monkeypatch)
    (missing,) = [f for f in record.findings if f.code == "MPP_MISSING"]
    assert "declares none" not in missing.message
    assert (
        "the annotation's 0.5 µm/px is not used (its lesions reach outside the 480x480 image"
        in missing.message
    )
    # one that declares none is still said so
    doc = native_doc(_lesion())
    doc["slide"] = {"file": "S1.png"}
    record, _ = _checked(tmp_path, profile, raw=json.dumps(doc), monkeypatch=monkeypatch)
    (missing,) = [f for f in record.findings if f.code == "MPP_MISSING"]
    assert "the annotation declares none" in missing.message


@pytest.mark.parametrize("mpp", ["abc", -1, 0, 1e9, True])
def test_mpp_missing_does_not_say_none_was_declared_when_a_value_was_not_usable(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mpp: Any
) -> None:
    # BASE: "the annotation declares none" beside the reader's finding on the value it declared
    doc = native_doc(_lesion())
    doc["slide"] = {"file": "S1.png", "mpp": mpp}
    record, _ = _checked(tmp_path, profile, raw=json.dumps(doc), monkeypatch=monkeypatch)
    (missing,) = [f for f in record.findings if f.code == "MPP_MISSING"]
    assert "declares none" not in missing.message
    assert "the annotation's mpp is not a usable number" in missing.message
    # the reader says why, at the value
    assert {"MPP_INVALID", "VALUE_OUT_OF_RANGE", "WRONG_TYPE"} & set(_codes(record.findings))


def test_validity_takes_no_resolution_the_run_did_not_take(profile: Profile, tmp_path: Path) -> None:
    # BASE: slide.header disabled, the annotation's implausible 0.002 unused by the run (MPP_MISSING)
    # yet select_slides took it whenever the summary had none: a working scale off by 100s
    from dqm.validity.data import select_slides

    off = _with_check(profile, "slide.header", CheckSetting(enabled=False))
    Image.fromarray(he_image()).save(tmp_path / "S1.png")
    for mpp, usable in ((0.002, False), (0.5, True)):
        doc = native_doc(_lesion())
        doc["slide"] = {"file": "S1.png", "mpp": mpp, "width": SIDE, "height": SIDE}
        (tmp_path / "S1.json").write_text(json.dumps(doc))
        slide_io._PROBES.clear()
        run = runner.run_batch(tmp_path, off, runner.RunOptions(workers=1))
        taken, excluded = select_slides(run, off)
        assert [(r.slide_id, r.mpp) for r in taken] == ([("S1", mpp)] if usable else [])
        assert [e.codes for e in excluded] == ([] if usable else [("MPP_MISSING",)])


def test_the_probe_decides_the_resolution_on_the_size_it_reads(tmp_path: Path) -> None:
    # BASE probed with the annotation's value, then probed the whole slide again with the next
    # one where the annotation did not fit: here the probe is given both and decides once open
    Image.fromarray(he_image()).save(tmp_path / "S1.png")
    fits = probe_mpp.AnnotationFit(0.5, None, (400.0, 400.0, 470.0, 470.0))
    misfits = probe_mpp.AnnotationFit(0.5, (960, 960), None)
    slide_io._PROBES.clear()
    for fit, taken in ((fits, (0.5, "annotation")), (misfits, (0.8, "stated"))):
        options = ProbeOptions(mpp=0.8, mpp_source="stated", fit=fit)
        probe = probe_slide_cached(tmp_path / "S1.png", "S1.png", options)
        assert probe.artefacts is not None
        assert (probe.artefacts.mpp_source, probe_mpp.used(probe, options)) == (taken[1], taken)
    # no size read: nothing contradicts the annotation
    unsized = slide_io.virtual_probe("S1.png", mpp_x=None, mpp_y=None, width=None, height=None)
    assert probe_mpp.resolved(ProbeOptions(fit=misfits), unsized).mpp == 0.5


@pytest.mark.parametrize(
    ("check", "params", "raw", "mpp"),
    [
        # LESION_OUT_OF_BOUNDS silent at an infinite tolerance: BASE dropped the annotation's 0.5
        # ("its lesions reach outside"), reading the validated inf as no tolerance set
        ("geometry.bounds", {"tolerance_px": float("inf")}, _reaching(10**6, mpp=0.5), 0.5),
        # BASE: MPP_MISSING "3 µm per pixel is outside the plausible 0.1–2" against a profile
        # that allows any mpp above 0.1
        ("slide.header", {"mpp_max": float("inf")}, _reaching(470, mpp=3.0), 3.0),
        ("slide.header", {"mpp_max": "1e999"}, _reaching(470, mpp=3.0), 3.0),
    ],
)
def test_an_enabled_checks_params_are_read_as_validated(
    profile: Profile,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    check: str,
    params: dict[str, Any],
    raw: str,
    mpp: float,
) -> None:
    own = _with_check(profile, check, CheckSetting(enabled=True, params=params))
    record, probe = _checked(tmp_path, own, raw=raw, monkeypatch=monkeypatch)
    codes = _codes(record.findings)
    assert not {"MPP_MISSING", "ANNOTATION_MPP_UNUSED", "LESION_OUT_OF_BOUNDS", "MPP_IMPLAUSIBLE"} & set(
        codes
    )
    assert record.summary.slide is not None
    assert (record.summary.slide.mpp, record.summary.slide.mpp_source) == (mpp, "annotation")
    assert probe.artefacts is not None and probe.artefacts.mpp_source == "annotation"


def test_the_header_ranges_are_the_checks_validated_params(profile: Profile) -> None:
    # an enabled check's values as its params model validated them (a string of a number, inf);
    # a disabled one's that would not validate (nan, "abc", -1) its default, its valid ones read
    inf = float("inf")
    on = {"mpp_min": "0.2", "mpp_max": inf, "objective_min": 5, "objective_max": "1e999"}
    enabled = _with_check(profile, "slide.header", CheckSetting(params=on))
    configure(enabled)  # validates
    assert probe_mpp.header_ranges(enabled) == ((0.2, inf), (5.0, inf))
    off = {"mpp_min": float("nan"), "mpp_max": inf, "objective_min": "abc", "objective_max": -1}
    disabled = _with_check(profile, "slide.header", CheckSetting(enabled=False, params=off))
    assert probe_mpp.header_ranges(disabled) == ((0.1, inf), (1.0, 100.0))
    bounds = _with_check(profile, "geometry.bounds", CheckSetting(params={"tolerance_px": "0"}))
    assert probe_mpp.fit_tolerance(bounds) == 0.0
    # the reader validates with the checks' own params models: whatever they take, it takes
    from pydantic import ValidationError

    from dqm.check_params import BoundsParams, HeaderParams
    from validators.registry import REGISTRY

    # the checks declare the very models the reader validates with (one rule, not a copy)
    assert REGISTRY["slide.header"].params is HeaderParams
    assert REGISTRY["geometry.bounds"].params is BoundsParams

    for value in (True, "5", " 2 ", "inf", "-inf", float("nan"), "abc", -1, 0, "0", 10**400, None, [1]):
        for model, name, key, got in (
            (HeaderParams, "slide.header", "mpp_max", lambda p: probe_mpp.header_ranges(p)[0][1]),
            (BoundsParams, "geometry.bounds", "tolerance_px", probe_mpp.fit_tolerance),
        ):
            own = _with_check(profile, name, CheckSetting(enabled=False, params={key: value}))
            try:
                expected = getattr(model.model_validate({key: value}), key)
            except ValidationError:
                expected = getattr(model(), key)
            assert got(own) == expected, (name, value)


def test_a_slide_named_by_two_items_is_probed_once_per_resolution_taken(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # BASE keyed the cache on the candidates given (the annotation's fit data): two items declaring
    # the same 0.5 with other lesions, both fitting, probed the slide twice; and one whose
    # annotation does not fit took no probe made at the same fallback resolution
    Image.fromarray(he_image()).save(tmp_path / "S.png")
    calls = _counted_probes(monkeypatch)
    # (declared mpp, the lesion's right edge, new probes, the resolution taken)
    cases = [
        (0.5, 60, 1, 0.5),
        (0.5, 70, 0, 0.5),  # the same 0.5, fitting: the first's probe
        (None, 60, 1, None),
        (None, 80, 0, None),
        (0.5, 10**6, 0, None),  # misfits: the fallback (none), as the third's
        (0.6, 60, 1, 0.6),
        (0.6, 10**6, 0, None),
    ]
    for i, (mpp, x1, new, taken) in enumerate(cases):
        ring = [[10, 10], [x1, 10], [x1, 60], [10, 60], [10, 10]]
        doc = native_doc([{"id": 1, "class": "BCC", "geometry": {"type": "Polygon", "coordinates": [ring]}}])
        doc["slide"] = {"file": "S.png", **({"mpp": mpp} if mpp else {})}
        (tmp_path / f"a{i}.json").write_text(json.dumps(doc))
        before = len(calls)
        record = runner.check_item(
            Item(f"S{i}", "S.png", f"a{i}.json", {}, row=None),
            tmp_path,
            profile,
            configure(profile),
            runner.RunOptions(workers=1),
        )
        assert len(calls) - before == new, (i, mpp, x1)
        assert record.summary.slide is not None and record.summary.slide.mpp == taken, i
        assert ("ANNOTATION_MPP_UNUSED" in _codes(record.findings)) == (x1 == 10**6)
