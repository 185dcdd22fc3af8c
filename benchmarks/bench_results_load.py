"""results.json load benchmark: what reading a result strictly (a key repeated in one object is
refused, :mod:`dqm.strictjson`) costs against orjson alone, on a synthetic result of a million
slides (:func:`bench_report.synthetic_result`, about one finding per slide).

Build the file once, then time the load in a process of its own (the code on ``PYTHONPATH``: run
it once with this checkout and once with the commit before, for the before/after)::

    .venv/bin/python benchmarks/bench_results_load.py --build --slides 1000000
    PYTHONPATH=. .venv/bin/python benchmarks/bench_results_load.py

Prints one JSON row: the file's size, ``orjson.loads`` and (when this dqm has it) ``strictjson.loads``
of its bytes and the repeated-key check alone (what it adds to orjson's parse), the content digest
check every command reusing a result makes (``dqm.digest.content_matches``; and the exact canonical
form it falls back on, alone), and ``dqm.results.load_result`` (parse and models) without and with
that check, seconds, best of ``--repeat``.

Measured (2026-12-05, 2 cores shared, load average 2-3) on 34,376 slides (36.8 MiB): the digest
check 0.10-0.16 s of CPU (the exact canonical form alone 0.57 s); ``load_result`` 1.3-1.4 s CPU
with or without it (within the noise of a shared machine). ``dqm sample --results`` was 5.0 s at
34,376 slides (``bench_reuse.py``): the check keeps it well under the 10 s target.

Numbers below 1e-4 (a drift test's p-value: orjson writes ``4e-7``, Python's ``json`` ``4e-07``)
made orjson's form differ from the canonical one, and the check fell back on the exact form: 0.7-0.9 s
of CPU at 34,376 slides (the review of 5533cb2, an audit with ``--baseline``).
``dqm.digest.as_json_writes`` writes those numbers again as ``json`` does (outside strings only):
``digest_check_small_s`` times the check on the same result with one such number per slide added.
Measured (2026-12-06, 2 cores shared, load average 6-9: CPU time, ``time.process_time``, best of 3,
as wall time was three to four times that) at 34,376 slides (36.8 MiB): 0.71 s before c06d646 (the
exact form), 0.44 s now (the linear search of 02a7be1 the same, 0.45 s at cf36251); the result
without them 0.11 s before and after; a digest made up (neither form matches: the exact one is
computed) 0.70 s. The earlier figures (0.87 -> 0.13 s here, 0.68 -> 0.26 s in c06d646's message)
were wall times on a loaded machine.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def build(n_slides: int, path: Path) -> None:
    from bench_report import synthetic_result

    from reports.results_file import write_results

    result, _ = synthetic_result(n_slides, n_slides, seed=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_results(result, path)


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        del out
    return round(min(times), 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slides", type=int, default=1_000_000)
    ap.add_argument("--file", type=Path, default=HERE / "_data" / "results_load" / "results.json")
    ap.add_argument("--build", action="store_true", help="write the synthetic results.json, then exit")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    if args.build:
        build(args.slides, args.file)
        print(json.dumps({"file": str(args.file), "mib": round(args.file.stat().st_size / 2**20, 1)}))
        return 0
    import orjson

    from dqm.results import collector_paused, load_result

    raw = args.file.read_bytes()
    row: dict[str, object] = {"mib": round(len(raw) / 2**20, 1)}
    with collector_paused():
        row["orjson_loads_s"] = best(lambda: orjson.loads(raw), args.repeat)
        try:
            from dqm.strictjson import loads
        except ImportError:  # the dqm before the strict reading
            pass
        else:
            row["strictjson_loads_s"] = best(lambda: loads(raw), args.repeat)
            tree = orjson.loads(raw)  # what the strict reading adds to orjson's, alone
            row["repeated_key_check_s"] = best(
                lambda: raw.count(b":") == orjson.dumps(tree).count(b":"), args.repeat
            )
            del tree
        try:
            from dqm.digest import canonical_json, content_matches, stated_digest
        except ImportError:  # the dqm before the commands that reuse a result checked its digest
            pass
        else:  # the content digest, as every command that reuses a result checks it
            tree = orjson.loads(raw)
            stated = stated_digest(tree)
            if stated is not None:
                row["digest_check_s"] = best(lambda: content_matches(tree, stated), args.repeat)
                row["digest_exact_form_s"] = best(lambda: canonical_json(tree), args.repeat)
                # one number below 1e-4 per slide, which orjson writes otherwise than ``json``
                small = {**tree, "small": [4e-7 * (1 + k % 7) for k in range(len(tree["items"]))]}
                sealed = hashlib.sha256(canonical_json(small)).hexdigest()
                assert content_matches(small, sealed)[0]
                row["digest_check_small_s"] = best(lambda: content_matches(small, sealed), args.repeat)
                del small
            del tree
    raw = b""  # the file's bytes freed before the models are built
    row["load_result_s"] = best(lambda: load_result(args.file), args.repeat)
    if "digest_check_s" in row:
        row["load_result_checked_s"] = best(lambda: load_result(args.file, unsealed=print), args.repeat)
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
