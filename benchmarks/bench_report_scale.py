"""Report scale benchmark: report.html and its findings sidecar at 10k, 100k and 1M slides.

Issue 13 §5: the report stays usable for very large results. For each size a QualityResult is
built in memory (no audit is run: :func:`bench_report.synthetic_result`, 5 % of slides defective
with three findings each, so 1,500 / 15,000 / 150,000 findings), then measured in a process of its
own:

* render time of report.html (at the default findings cap, :data:`reports.findings_cap.FINDINGS_CAP`)
  and of the sidecar ``findings.csv.gz``, both written through one :class:`dqm.output.OutputSet`;
* their sizes (MiB) and whether the report aggregated the findings;
* the process's peak RSS (building the result included);
* in headless Chromium (when /usr/bin/chromium is present): the ``load`` event, first contentful
  paint (Paint Timing API) and the explorers' first render (``window.dqmTiming``), and the JS heap.

A size whose process runs past ``--timeout`` seconds is reported as skipped, with the limit.

Run it alone (it is CPU-heavy)::

    flock /tmp/dqm-heavy.lock .venv/bin/python benchmarks/bench_report_scale.py

Writes ``benchmarks/_data/bench_report_scale.json`` and prints it.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_report import CHROMIUM, synthetic_result  # noqa: E402

DEFECTIVE = 0.05
FINDINGS_PER_DEFECTIVE = 3


def first_render(html: Path) -> dict:
    """One cold page load in headless Chromium: load event, first contentful paint, explorers ready."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        t0 = time.perf_counter()
        page.goto(html.as_uri(), wait_until="load", timeout=300_000)
        load_s = time.perf_counter() - t0
        page.wait_for_selector("html[data-ready='1']", state="attached", timeout=300_000)
        ready_s = time.perf_counter() - t0
        fcp = page.evaluate(
            "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"
        )
        timing = page.evaluate("window.dqmTiming")
        heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : null")
        out = {
            "load_event_s": round(load_s, 3),
            "first_contentful_paint_ms": round(fcp, 1) if fcp else None,
            "explorers_ready_ms_since_navigation": round(timing["firstRender"], 1),
            "ready_wall_s": round(ready_s, 3),
            "finding_rows_on_first_page": page.locator("#findings-body tr").count(),
            "slide_rows_on_first_page": page.locator("#items-body tr").count(),
            "js_heap_mib": round(heap / 2**20, 1) if heap else None,
            "console_errors": errors,
        }
        browser.close()
    return out


def one_size(n_slides: int, out: Path, browser: bool) -> dict:
    """Build, render, write and (optionally) open one result of ``n_slides`` slides."""
    from dqm.output import OutputSet
    from reports.findings_cap import FINDINGS_CAP, FINDINGS_SIDECAR, findings_csv, over_cap
    from reports.html import render_html

    n_findings = round(n_slides * DEFECTIVE * FINDINGS_PER_DEFECTIVE)
    t0 = time.perf_counter()
    result, _ = synthetic_result(n_slides, n_findings, seed=0, flagged_share=DEFECTIVE)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    html = render_html(result)
    render_s = time.perf_counter() - t0
    aggregated = over_cap(result, FINDINGS_CAP)
    t0 = time.perf_counter()
    with OutputSet(out) as outputs:
        report = outputs.write("report.html", html)
        sidecar = outputs.write(FINDINGS_SIDECAR, findings_csv(result), compress=True) if aggregated else None
    write_s = time.perf_counter() - t0
    row = {
        "slides": n_slides,
        "findings": len(result.findings),
        "findings_cap": FINDINGS_CAP,
        "aggregated": aggregated,
        "build_result_s": round(build_s, 2),
        "render_html_s": round(render_s, 2),
        "write_report_and_sidecar_s": round(write_s, 2),
        "report_mib": round(report.stat().st_size / 2**20, 2),
        "sidecar_mib": round(sidecar.stat().st_size / 2**20, 2) if sidecar else None,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    del result, html
    if browser and Path(CHROMIUM).exists():
        row["chromium"] = first_render(report)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated slide counts")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per size before it is skipped")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--out", type=Path, default=HERE / "_data" / "report_scale")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a size, in a process of its own
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(one_size(args.one, args.out / str(args.one), not args.no_browser)))
        return 0
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--one", str(n), "--out", str(args.out)]
        cmd += ["--no-browser"] if args.no_browser else []
        t0 = time.perf_counter()
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, check=False)
        except subprocess.TimeoutExpired:
            rows.append({"slides": n, "skipped": f"ran past --timeout {args.timeout} s"})
            continue
        if done.returncode != 0:
            rows.append({"slides": n, "failed": done.stderr.strip().splitlines()[-1:]})
            continue
        rows.append(
            {**json.loads(done.stdout.strip().splitlines()[-1]), "wall_s": round(time.perf_counter() - t0, 1)}
        )
    report = {
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "defective_share": DEFECTIVE,
        "findings_per_defective_slide": FINDINGS_PER_DEFECTIVE,
        "sizes": rows,
    }
    target = HERE / "_data" / "bench_report_scale.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
