"""Build the four-hospital example: two deliveries of one synthetic dataset and a waiver file.

* ``delivery-1/``: slides from four hospitals (Seoul-A, Busan-B, Daegu-C, Gwangju-D, in turn, with
  ``dqm.synth``'s scanners and clinical records). Every Busan-B annotation file is broken (cut JSON,
  a self-crossing outline, a width written as text), so its lot is rejected. Daegu-C also sent a
  re-scan of one slide that the manifest does not list (``ORPHAN_SLIDE``): an exception the data
  team accepts in ``waivers.yaml``.
* ``delivery-2/``: the redelivery, Busan-B's files fixed, everything else as before.
* Each delivery comes with the ``SHA256SUMS`` its hospitals made (``sha256sum`` format).

Usage: python examples/four_hospitals/build.py OUT [--slides 24] [--seed 7]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

from dqm.synth import build_batch
from dqm.synth.cohort import INSTITUTIONS

REJECTED = "Busan-B"
WAIVED = "Daegu-C"
MAX_SIZE = 768
"""Pixels on a slide's long side. Lesions scale with the section: at 384 (0.5 µm/px) about 4.5 %
of them fall under the profile's 100 µm² minimum (``LESION_TOO_SMALL``), so at 24 slides Seoul-A's
lot failed in the redelivery too and the loop never reached its gate; at 768 the smallest of 1,200
drawn is 179 µm²."""


def _rows(batch: Path) -> list[dict[str, str]]:
    with (batch / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _four_hospitals(batch: Path) -> list[dict[str, str]]:
    """Give the slides to the four hospitals in turn (manifest and annotation files agree), so that
    even a small example has every hospital; returns the manifest's rows."""
    rows = _rows(batch)
    for k, row in enumerate(rows):
        hospital = list(INSTITUTIONS)[k % len(INSTITUTIONS)]
        row["institution"], row["scanner"] = hospital, INSTITUTIONS[hospital][1]
        path = batch / row["annotation_path"]
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["clinical"].update(institution=row["institution"], scanner=row["scanner"])
        path.write_text(json.dumps(doc), encoding="utf-8")
    with (batch / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def _break(path: Path, k: int) -> None:
    """One defect in an annotation file, a different one for each ``k``."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    if k % 3 == 0:
        path.write_text(json.dumps(doc)[:-40], encoding="utf-8")  # cut short: not JSON
        return
    if k % 3 == 1:
        ring = doc["lesions"][0]["geometry"]["coordinates"][0]
        a, b = len(ring) // 8, len(ring) // 2
        ring[a:b] = ring[a:b][::-1]  # the outline crosses itself
    else:
        doc["slide"]["width"] = str(doc["slide"]["width"])  # a number written as text
    path.write_text(json.dumps(doc), encoding="utf-8")


def _sha256sums(batch: Path) -> None:
    files = sorted(p for p in batch.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  ./{p.relative_to(batch).as_posix()}" for p in files
    ]
    (batch / "SHA256SUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")


def build(out: Path, slides: int, seed: int) -> None:
    first, second = out / "delivery-1", out / "delivery-2"
    build_batch(first, slides, seed=seed, defect_rate=0.0, max_size=MAX_SIZE, force=True)
    for extra in ("truth.csv", "README.md"):
        (first / extra).unlink(missing_ok=True)
    rows = _four_hospitals(first)
    shutil.copytree(first, second)  # the redelivery: the files as they should have been
    broken = [r for r in rows if r["institution"] == REJECTED]
    waived = next(r for r in rows if r["institution"] == WAIVED)
    for k, row in enumerate(broken):
        _break(first / row["annotation_path"], k)
    slide = Path(waived["image_path"])
    rescan = slide.with_name(f"{slide.stem}-rescan{slide.suffix}").as_posix()
    for batch in (first, second):
        shutil.copy(batch / slide, batch / rescan)
        _sha256sums(batch)
    expires = dt.date.today() + dt.timedelta(days=365)
    (out / "waivers.yaml").write_text(
        "waivers:\n"
        "  - code: ORPHAN_SLIDE\n"
        f'    file: "{rescan}"\n'
        f"    reason: {WAIVED}'s re-scan of {waived['slide_id']}, kept for the archive; the manifest's scan "
        "is the one annotated\n"
        "    approved_by: J. Kim (data manager)\n"
        f"    expires: {expires.isoformat()}\n",
        encoding="utf-8",
    )
    print(
        f"{out}: delivery-1 ({len(rows)} slides, {len(broken)} {REJECTED} files broken), delivery-2 "
        f"(fixed), waivers.yaml ({WAIVED}'s {rescan})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--slides", type=int, default=24, help="At least 4 (one per hospital).")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.slides < len(INSTITUTIONS):
        parser.error(f"--slides: at least {len(INSTITUTIONS)}, one per hospital")
    if args.out.exists():
        shutil.rmtree(args.out)
    build(args.out, args.slides, args.seed)


if __name__ == "__main__":
    main()
