"""Benchmark: a warm run of a DICOM folder of more than MAX_PARTS files (the result cache's key).

One DICOM slide (the real ``boxes_0.dcm``) beside ``MAX_PARTS + 50`` synthetic files of its series
(no extension: members, not items), audited three times with one result cache (``--stages``
all, one worker): cold, warm, warm again. For each: the DICOM headers read
(:func:`dqm.slide_refs._series`, counted), the items the cache missed, the process CPU time and
the wall time of the run. Before session 25 (task cache2, 2) each warm run read every header
again (:func:`dqm.slide_refs.folder_series` in the key); now a folder past
:data:`dqm.cache.SERIES_REMEMBERED_PAST` is read again only when an entry's stat changes.

Usage: nice python benchmarks/bench_crowded_series.py [--extra 50] [--data /tmp/bench-crowded]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dqm import slide_refs  # noqa: E402
from dqm.cache import RecordCache, context_key  # noqa: E402
from dqm.file_digests import RACY_NS  # noqa: E402
from dqm.profile import load_profile  # noqa: E402
from dqm.runner import RunOptions, run_batch  # noqa: E402
from tests.helpers import native_doc  # noqa: E402
from tests.test_dicom_parts import dicom  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--extra", type=int, default=50)
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench-crowded"))
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared/data/real/slides/boxes_0.dcm")
    args = parser.parse_args()
    shutil.rmtree(args.data, ignore_errors=True)
    batch, cache = args.data / "batch", args.data / "cache"
    (batch / "s").mkdir(parents=True)
    shutil.copy(args.real, batch / "s" / "boxes_0.dcm")
    series = slide_refs.series_of(str(batch / "s" / "boxes_0.dcm"), kept=False)
    members = slide_refs.MAX_PARTS + args.extra
    for i in range(members):
        (batch / "s" / f"m{i:05d}").write_bytes(dicom(series))
    doc = native_doc(file="s/boxes_0.dcm", width=16, height=16)
    (batch / "s" / "boxes_0.json").write_text(json.dumps(doc))
    reads = [0]
    real = slide_refs._series

    def counted(fh, strict):  # type: ignore[no-untyped-def]
        reads[0] += 1
        return real(fh, strict)

    slide_refs._series = counted  # type: ignore[assignment]
    profile, options = load_profile(), RunOptions(workers=1, clinical=False)
    # past the racy window of whole-second file times (dqm.file_digests.RACY_NS, 3 s): a file
    # system of whole-second times (ext3, FAT, some network mounts) has the batch's cold run
    # remember nothing within it
    time.sleep(RACY_NS / 1e9 + 0.1)
    print(f"{members} files of the series beside the slide (MAX_PARTS {slide_refs.MAX_PARTS})")
    for label in ("cold", "warm", "warm again"):
        reads[0] = 0
        cpu, wall = time.process_time(), time.perf_counter()
        with RecordCache(cache, batch, context_key(profile.sha256, options)) as rc:
            run_batch(batch, profile, options, cache=rc)
            missed = len(rc.missed)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"{label:>10}: {reads[0]:5d} headers read, {missed} missed, CPU {cpu:.3f} s, wall {wall:.3f} s")


if __name__ == "__main__":
    main()
