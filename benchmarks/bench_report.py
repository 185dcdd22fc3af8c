"""Report benchmark: a 34,376-slide result with ~100,000 realistic findings.

Measures what a delivery the size of the reference study costs the certificate:

* results.json: size, write and load time (through the pydantic models);
* report.html, junit.xml, summary.md: render time (median of ``--repeat`` runs) and size;
* in headless Chromium (when /usr/bin/chromium is present): time to first render of the findings
  and slides explorers (navigation start to the first page of rows on screen), and the time one
  filter / search takes over all findings.

The result is synthetic (no slide is read): 4 institutions, 7 classes, clinical fields, the
profile's real checks, and findings drawn from the reason codes and message shapes a real audit
of ``dqm synth`` batches produces, about three per slide, a third of slides clean. Thumbnails:
12 real JPEGs drawn by :mod:`dqm.thumbnails` on synthetic tissue images.

Run it alone (it is CPU-heavy)::

    flock /tmp/dqm-heavy.lock .venv/bin/python benchmarks/bench_report.py

Writes ``benchmarks/_data/bench_report.json`` and the rendered files beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"

INSTITUTIONS = ("Seoul-A", "Busan-B", "Daegu-C", "Gwangju-D")
CLASSES = ("NS", "EC", "SK", "BD_SCC", "BCC", "MN", "MM")
SITES = ("head_neck", "trunk", "upper_extremity", "lower_extremity", "acral", "genital", "other")
SCANNERS = ("Leica Aperio AT2", "Hamamatsu NanoZoomer S360", "Aperio GT450", "3DHistech P1000")

# (code, check, severity, aspect, weight, message template, location kind) — shapes taken from a
# real `dqm audit` of a `dqm synth --defect-rate 0.3` batch.
KINDS = [
    (
        "MPP_MISSING",
        "slide.resolution",
        "warning",
        "image",
        22,
        "image/jpeg header has no mpp and the annotation declares none: areas in µm² and resolution-based tiling are not possible",
        "slide",
    ),
    (
        "LESION_CLASS_MISMATCH",
        "format.diagnosis_lesions",
        "warning",
        "format",
        20,
        "lesion class {cls2} on a slide diagnosed {cls}",
        "lesion_class",
    ),
    (
        "LESION_TOO_SMALL",
        "geometry.min_area",
        "error",
        "format",
        10,
        "lesion area {area:.1f} µm² is under the 100 µm² minimum",
        "geometry",
    ),
    (
        "SELF_INTERSECTION",
        "geometry.validity",
        "error",
        "format",
        9,
        "the outline crosses itself (shapely: Self-intersection[{x} {y}])",
        "geometry",
    ),
    (
        "LESION_OUT_OF_BOUNDS",
        "geometry.bounds",
        "error",
        "format",
        7,
        "{n} vertex(es) outside the {w}x{h} slide header; first at ({x}, {y})",
        "vertex",
    ),
    (
        "HOLE_OUTSIDE_SHELL",
        "geometry.validity",
        "error",
        "format",
        5,
        "a hole lies outside its shell (shapely: Hole lies outside shell[{x} {y}])",
        "geometry",
    ),
    (
        "ZERO_AREA",
        "geometry.zero_area",
        "error",
        "format",
        4,
        "the outline encloses no area: its vertices are collinear",
        "geometry",
    ),
    (
        "SLIDE_SIZE_MISMATCH",
        "slide.annotation_agrees",
        "error",
        "format",
        4,
        "annotation declares {w}x{h}, slide header says {w2}x{h2}",
        "slide_width",
    ),
    (
        "DIAGNOSIS_WITHOUT_LESION",
        "format.diagnosis_lesions",
        "error",
        "format",
        4,
        "diagnosis {cls} but no {cls} lesion (lesion classes: {cls2})",
        "manifest",
    ),
    (
        "WRONG_TYPE",
        "schema.annotation",
        "error",
        "structure",
        3,
        "/slide/width: input should be a valid integer",
        "pointer",
    ),
    (
        "MISSING_KEY",
        "schema.annotation",
        "error",
        "structure",
        3,
        "required key 'height' is missing",
        "pointer",
    ),
    (
        "CLINICAL_OUT_OF_RANGE",
        "clinical.domain",
        "error",
        "format",
        2,
        "age ('{age}'): expected between 0.0 and 120.0",
        "manifest",
    ),
    (
        "CLINICAL_NOT_IN_SET",
        "clinical.domain",
        "error",
        "format",
        2,
        "sex ('X'): expected one of M, F",
        "manifest",
    ),
    (
        "SLIDE_UNREADABLE",
        "slide.opens",
        "error",
        "file",
        2,
        "reading level 0 at (0, 0) failed: JPEG datastream contains no image",
        "slide",
    ),
    (
        "SLIDE_MISSING",
        "file.pairing",
        "error",
        "file",
        1,
        "slide file 'slides/{sid}.tiff' is not in the batch",
        "slide",
    ),
    (
        "INVALID_ENCODING",
        "file.annotation_readable",
        "error",
        "file",
        1,
        "not UTF-8: byte 0xe9 at offset {off}",
        "line",
    ),
    (
        "DUPLICATE_SLIDE_CONTENT",
        "file.duplicate_slide_content",
        "error",
        "file",
        1,
        "slide file is byte-identical to 'slides/{sid2}.tiff' (slide '{sid2}')",
        "slide",
    ),
]


def synthetic_result(n_slides: int, n_findings: int, seed: int, flagged_share: float = 0.66):
    """A QualityResult shaped like a real audit of ``n_slides`` slides, ``n_findings`` of them on
    ``flagged_share`` of the slides."""
    from dqm.audit import checks_info, with_verdict
    from dqm.findings import Aspect, Finding, Location, Severity
    from dqm.profile import load_profile
    from dqm.results import (
        BatchInfo,
        Breakdown,
        Grains,
        ItemSummary,
        ProfileInfo,
        QualityResult,
        Ratio,
        SlideSummary,
        SyntacticResult,
        Verdict,
    )

    rng = random.Random(seed)
    profile = load_profile()
    items = []
    for i in range(n_slides):
        sid = f"S{i + 1:06d}"
        inst, cls = rng.choice(INSTITUTIONS), rng.choice(CLASSES)
        w, h = rng.randint(20_000, 120_000), rng.randint(15_000, 90_000)
        n_les = 0 if cls == "NS" else rng.randint(1, 4)
        items.append(
            ItemSummary(
                slide_id=sid,
                row=i + 1,
                image_path=f"slides/{sid}.{'svs' if i % 3 else 'tiff'}",
                annotation_path=f"annotations/{sid}.json",
                institution=inst,
                diagnosis=cls,
                clinical={
                    "institution": inst,
                    "diagnosis": cls,
                    "age": str(rng.randint(18, 95)),
                    "sex": rng.choice("MF"),
                    "site": rng.choice(SITES),
                    "scanner": rng.choice(SCANNERS),
                },
                n_lesions=n_les,
                lesion_classes={cls: n_les} if n_les else {},
                lesion_area_px={cls: rng.uniform(1e6, 5e8)} if n_les else {},
                width=w,
                height=h,
                slide=SlideSummary(
                    width=w, height=h, mpp=0.25, vendor="aperio", levels=4, objective_power=40
                ),
            )
        )
    weights = [k[4] for k in KINDS]
    flagged = rng.sample(range(n_slides), k=max(1, int(n_slides * flagged_share)))
    findings = []
    per_item: dict[str, list[int]] = {}
    for j in range(n_findings):
        it = items[flagged[j % len(flagged)] if j < len(flagged) else rng.choice(flagged)]
        code, check, sev, aspect, _, template, kind = rng.choices(KINDS, weights)[0]
        x, y = round(rng.uniform(0, it.width), 2), round(rng.uniform(0, it.height), 2)
        les = rng.randint(0, max(it.n_lesions - 1, 0))
        msg = template.format(
            cls=it.diagnosis,
            cls2=rng.choice(CLASSES),
            area=rng.uniform(1, 99),
            x=x,
            y=y,
            n=rng.randint(1, 300),
            w=it.width,
            h=it.height,
            w2=it.width + 17,
            h2=it.height - 40,
            age=rng.randint(121, 200),
            sid=it.slide_id,
            sid2=f"S{rng.randint(1, n_slides):06d}",
            off=rng.randint(100, 90_000),
        )
        ann, slide = it.annotation_path, it.image_path
        loc = {
            "slide": Location(file=slide),
            "lesion_class": Location(file=ann, pointer=f"/lesions/{les}/class", lesion=les),
            "geometry": Location(file=ann, pointer=f"/lesions/{les}/geometry", lesion=les, xy=(x, y)),
            "vertex": Location(file=ann, pointer=f"/lesions/{les}/geometry", lesion=les, vertex=0, xy=(x, y)),
            "slide_width": Location(file=ann, pointer="/slide/width"),
            "manifest": Location(file="manifest.csv", row=it.row, column="diagnosis"),
            "pointer": Location(file=ann, pointer="/slide/width"),
            "line": Location(file=ann, line=1, char=rng.randint(1, 9000)),
        }[kind]
        findings.append(
            Finding(
                item_id=it.slide_id,
                check=check,
                code=code,
                severity=Severity(sev),
                aspect=Aspect(aspect),
                message=msg,
                location=loc,
            )
        )
        per_item.setdefault(it.slide_id, [0, 0])[0 if sev == "error" else 1] += 1
    items = [
        i.model_copy(
            update={
                "errors": per_item.get(i.slide_id, [0, 0])[0],
                "warnings": per_item.get(i.slide_id, [0, 0])[1],
            }
        )
        for i in items
    ]
    files = 2 * n_slides + 1
    bad_files = len({(f.item_id, f.location.file) for f in findings if f.severity == Severity.ERROR})
    values = 19 * n_slides
    bad_values = len(
        {
            f.value_key()
            for f in findings
            if f.severity == Severity.ERROR and f.aspect in (Aspect.STRUCTURE, Aspect.FORMAT)
        }
    )
    t = profile.thresholds
    file_ratio = Ratio.of("file_accuracy", "files", files - bad_files, files, t.file_accuracy)
    structure = Grains(
        files=Ratio.of("structure_file_accuracy", "files", files - bad_files // 10, files),
        values=Ratio.of(
            "structure_accuracy", "values", values - bad_values // 10, values, t.structure_accuracy
        ),
    )
    fmt = Grains(
        files=Ratio.of("format_file_accuracy", "files", files - bad_files, files - bad_files // 10),
        values=Ratio.of(
            "format_accuracy", "values", values - bad_values, values - bad_values // 10, t.format_accuracy
        ),
    )

    def breakdown(key_of):
        groups: dict[str, list[int]] = {}
        for i in items:
            g = groups.setdefault(key_of(i), [0, 0])
            g[0] += 2
            g[1] += 2 - min(2, i.errors)
        return [
            Breakdown(
                key=k,
                files=Ratio.of("file_accuracy", "files", ok, n),
                values=Ratio.of("value_accuracy", "values", 19 * n // 2 - (n - ok), 19 * n // 2),
            )
            for k, (n, ok) in sorted(groups.items())
        ]

    gates = [file_ratio, structure.values, fmt.values]
    by_code: dict[str, int] = {}
    for f in findings:
        by_code[f.code] = by_code.get(f.code, 0) + 1
    syn = SyntacticResult(
        file_accuracy=file_ratio.value,
        files_total=files,
        files_valid=files - bad_files,
        value_accuracy=(values - bad_values) / values,
        values_total=values,
        values_valid=values - bad_values,
        structure=structure,
        format=fmt,
        gates=gates,
        by_institution=breakdown(lambda i: i.institution),
        by_class=breakdown(lambda i: i.diagnosis),
        by_code=dict(sorted(by_code.items())),
        errors=sum(f.severity == Severity.ERROR for f in findings),
        warnings=sum(f.severity == Severity.WARNING for f in findings),
        passed=all(g.passed is not False for g in gates),
        method="Syntactic accuracy is a census (synthetic benchmark result).",
    )
    draft = QualityResult(
        dqm_version="0.1.0",
        created="2025-06-01T09:00:00+00:00",
        command=["dqm", "audit", "/data/derm-34k", "--out", "out/derm-34k"],
        batch=BatchInfo(
            path="/data/derm-34k",
            fingerprint="7" * 64,
            n_items=n_slides,
            n_slide_files=n_slides,
            n_annotation_files=n_slides,
            manifest="manifest.csv",
        ),
        profile=ProfileInfo(name=profile.name, version=profile.version, sha256=profile.sha256),
        items=items,
        findings=findings,
        syntactic=syn,
        verdict=Verdict(status="incomplete"),
        checks=checks_info(profile),
    )
    return with_verdict(draft), profile


def thumbnails_for(result, profile, tmp: Path):
    """Real thumbnails: synthetic tissue images (the size of a small slide) with outlines."""
    import numpy as np
    from PIL import Image, ImageDraw

    from dqm.model import ItemRecord, LesionOutline, ParsedAnnotation
    from dqm.thumbnails import thumbnail, worst_items

    out = []
    for n, item in enumerate(worst_items(result, 12)):
        rng = np.random.default_rng(n)
        w, h = 3000, 2200
        base = np.full((h // 4, w // 4, 3), (236, 200, 222), np.uint8)
        base = (base + rng.integers(-18, 18, base.shape)).clip(0, 255).astype(np.uint8)
        img = Image.fromarray(base).resize((w, h))
        ImageDraw.Draw(img).ellipse((400, 300, 2600, 1900), fill=(200, 120, 180))
        (tmp / "slides").mkdir(parents=True, exist_ok=True)
        img.save(tmp / "slides" / f"{item.slide_id}.jpg", quality=85)
        ring = np.array(
            [[1000 + 300 * np.cos(a), 1100 + 250 * np.sin(a)] for a in np.linspace(0, 2 * np.pi, 60)]
        )
        label = profile.resolve_class(item.diagnosis)
        lesion = LesionOutline(0, "/lesions/0", item.diagnosis, label, ((ring,),))
        ann = ParsedAnnotation(f"{item.slide_id}.json", "native", width=w, height=h, lesions=(lesion,))
        local = item.model_copy(update={"image_path": f"slides/{item.slide_id}.jpg"})
        fs = [f for f in result.findings if f.item_id == item.slide_id]
        t = thumbnail(tmp, ItemRecord(local, fs, 1, [], {}, None, annotation=ann), fs, profile)
        if t is not None:
            out.append(t)
    return result.model_copy(update={"thumbnails": out})


def timed(fn, repeat: int):
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return value, statistics.median(times), times


def browser_timings(html: Path, runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict = {"runs": []}
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for _ in range(runs):
            page = b.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
            t0 = time.perf_counter()
            page.goto(html.as_uri(), wait_until="load", timeout=120_000)
            t_load = time.perf_counter() - t0
            page.wait_for_selector("html[data-ready='1']", state="attached", timeout=120_000)
            t_ready = time.perf_counter() - t0
            timing = page.evaluate("window.dqmTiming")
            rows = page.locator("#findings-body tr").count()
            page.select_option("#f-code", label="SELF_INTERSECTION")
            filter_ms = page.evaluate("window.dqmTiming.lastFilterMs")
            shown = page.inner_text("#shown")
            page.select_option("#f-code", value="")
            page.fill("#f-search", "s012")
            page.dispatch_event("#f-search", "change")
            search_ms = page.evaluate("window.dqmTiming.lastFilterMs")
            page.click("#f-reset")
            page.click("#next")
            page_ms = page.evaluate("window.dqmTiming.lastFilterMs")
            heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : null")
            out["runs"].append(
                {
                    "load_event_s": round(t_load, 3),
                    "ready_wall_s": round(t_ready, 3),
                    "first_render_ms_since_navigation": round(timing["firstRender"], 1),
                    "decode_done_ms_since_navigation": round(timing["decoded"], 1),
                    "script_start_ms_since_navigation": round(timing["scriptStart"], 1),
                    "rows_on_first_page": rows,
                    "filter_by_code_ms": round(filter_ms, 1),
                    "filter_result": shown,
                    "search_ms": round(search_ms, 1),
                    "next_page_ms": round(page_ms, 1),
                    "js_heap_mb": round(heap / 2**20, 1) if heap else None,
                    "console_errors": errors,
                }
            )
            page.close()
        b.close()
    for key in (
        "first_render_ms_since_navigation",
        "filter_by_code_ms",
        "search_ms",
        "next_page_ms",
        "ready_wall_s",
    ):
        out[f"median_{key}"] = statistics.median(r[key] for r in out["runs"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slides", type=int, default=34_376)
    ap.add_argument("--findings", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="render repetitions (median reported)")
    ap.add_argument("--browser-runs", type=int, default=3)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--out", type=Path, default=HERE / "_data" / "report")
    args = ap.parse_args()

    sys.path.insert(0, str(HERE.parent))
    from dqm.results import QualityResult
    from reports import render_html, render_junit, render_summary

    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    result, profile = synthetic_result(args.slides, args.findings, args.seed)
    result = thumbnails_for(result, profile, args.out / "thumbs-src")
    build_s = time.perf_counter() - t0

    res_path = args.out / "results.json"
    _, dump_s, _ = timed(lambda: result.dump(res_path), args.repeat)
    _, load_s, _ = timed(lambda: QualityResult.load(res_path), args.repeat)
    html, html_s, html_all = timed(lambda: render_html(result), args.repeat)
    junit, junit_s, _ = timed(lambda: render_junit(result), args.repeat)
    md, md_s, _ = timed(lambda: render_summary(result), args.repeat)
    (args.out / "report.html").write_text(html, encoding="utf-8")
    (args.out / "junit.xml").write_bytes(junit)
    (args.out / "summary.md").write_text(md, encoding="utf-8")
    island = html.split('id="dqm-data">', 1)[1].split("</script>", 1)[0]

    report = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "slides": len(result.items),
        "findings": len(result.findings),
        "codes": len(result.syntactic.by_code) if result.syntactic else 0,
        "thumbnails": len(result.thumbnails),
        "build_result_s": round(build_s, 2),
        "results_json": {
            "bytes": res_path.stat().st_size,
            "write_s": round(dump_s, 3),
            "load_s": round(load_s, 3),
        },
        "report_html": {
            "bytes": len(html.encode("utf-8")),
            "data_island_bytes": len(island),
            "thumbnail_bytes": sum(len(t.data) for t in result.thumbnails),
            "render_s_median": round(html_s, 3),
            "render_s_all": [round(t, 3) for t in html_all],
        },
        "junit_xml": {"bytes": len(junit), "render_s_median": round(junit_s, 3)},
        "summary_md": {"bytes": len(md.encode("utf-8")), "render_s_median": round(md_s, 3)},
    }
    if not args.no_browser:
        if os.access(CHROMIUM, os.X_OK):
            report["browser"] = browser_timings(args.out / "report.html", args.browser_runs)
        else:
            report["browser"] = f"skipped: {CHROMIUM} not installed"
    (args.out.parent / "bench_report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
