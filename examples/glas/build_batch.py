"""Turn the GlaS folder into a dqm batch and audit it.

GlaS (Warwick-QU, MICCAI 2015) is licensed for non-commercial research only: nothing of it is
kept in this repository. The batch is written to a folder you name outside the repository
(``--out``, default ``/tmp/dqm-glas``): ``images/`` and ``masks/`` (copies of the PNGs, the
batch must hold its files: dqm never follows a link out of a batch) and a ``manifest.csv`` with
each image's patient id, GlaS split and grade from GlaS's ``metadata.csv``. With ``--audit`` it
then runs ``dqm audit`` with ``examples/glas/glas.yaml`` into ``<out>-results``.

    python examples/glas/build_batch.py --glas ../shared/data/real/segmentation/glas --audit
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent.parent
COLUMNS = ("slide_id", "image_path", "annotation_path", "patient_id", "split", "grade")


def manifest_rows(glas: Path) -> list[dict[str, str]]:
    """One manifest row per GlaS image listed in its ``metadata.csv``."""
    with (glas / "metadata.csv").open(newline="", encoding="utf-8") as fh:
        return [
            {
                "slide_id": row["name"],
                "image_path": f"images/{row['name']}.png",
                "annotation_path": f"masks/{row['name']}.png",
                "patient_id": f"P{int(row['patient_id']):02d}",
                "split": row["split"],
                "grade": row["grade_glas"].strip(),
            }
            for row in csv.DictReader(fh)
        ]


def build(glas: Path, out: Path) -> int:
    """Write the batch into ``out`` (a new folder outside the repository); the number of items."""
    out = out.resolve()
    if out == REPOSITORY or REPOSITORY in out.parents:
        raise SystemExit(f"{out} is inside the repository: GlaS files must not be copied there")
    if out.exists():
        raise SystemExit(f"{out} exists: name a new folder")
    rows = manifest_rows(glas)
    for sub in ("images", "masks"):
        (out / sub).mkdir(parents=True)
    for row in rows:
        for key in ("image_path", "annotation_path"):
            shutil.copyfile(glas / row[key], out / row[key])
    text = io.StringIO()
    writer = csv.DictWriter(text, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (out / "manifest.csv").write_text(text.getvalue(), encoding="utf-8")
    return len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--glas", type=Path, default=REPOSITORY.parent / "shared/data/real/segmentation/glas")
    parser.add_argument("--out", type=Path, default=Path("/tmp/dqm-glas"))
    parser.add_argument("--audit", action="store_true", help="then run dqm audit on the batch")
    args = parser.parse_args()
    if not (args.glas / "metadata.csv").is_file():
        print(f"GlaS not found at {args.glas} (metadata.csv missing)", file=sys.stderr)
        return 2
    n = build(args.glas, args.out)
    print(f"batch of {n} images: {args.out}")
    if not args.audit:
        return 0
    results = args.out.with_name(args.out.name + "-results")
    command = [sys.executable, "-m", "dqm", "audit", str(args.out), "-o", str(results)]
    command += ["-p", str(HERE / "glas.yaml"), "--stages", "syntactic,diversity"]
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
