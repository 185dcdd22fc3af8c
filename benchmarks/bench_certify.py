"""Benchmark: what checksum lists, full hashes and signatures cost an audit (issue 18 §4).

``dqm audit LOT --out OUT --stages syntactic --no-cache`` timed end to end (process start to exit)
four ways on one synthetic lot: plain; ``--full-hashes``; with a ``SHA256SUMS`` beside the files
(every file hashed whole and compared); ``--sign-key`` (full hashes, digest and Ed25519 signature).
Then ``dqm verify OUT --batch LOT --key PUB`` (every file hashed again), and the SHA-256 throughput
of one process over the lot's bytes, the floor of both.

Measured (2026-12-04, 2 cores shared with other runs, 60 slides, 123 files, 39.8 MiB; one run,
8 min in all with building the lot): SHA-256 of every file 0.10 s (384 MiB/s, files in the page
cache); audits plain 30.5 s, --full-hashes 34.8 s, SHA256SUMS 31.8 s, --sign-key 34.7 s;
dqm verify --batch 3.9 s. The 1-4 s between the audits is within the noise of the shared machine
(the hashing itself is 0.1 s of it); on real slides (GBs each) hashing is bounded by the disk, read
once more per slide, spread over the workers.

Then ``--certify`` against the result cache (issue 13 §2): the cache filled by a certifying audit,
then two audits of the unchanged lot that find every item in it, one with ``--full-hashes`` (each
item taken on its key: size, times, inode, quick print) and one with ``--certify`` (each item's
files hashed whole on the workers first); their difference over the lot's size is what
certifying costs per GiB.

Measured with the certify runs (2026-12-04, 2 cores shared with other engineers' benchmarks, load
average 8-15, ``--items 40``: 83 files, 27.1 MiB): SHA-256 of every file in one process 0.06 s
(422 MiB/s: 2.4 s per GiB, files in the page cache); the cache filled by --certify 27.5 s; cached
with --full-hashes 4.02 s, cached with --certify 4.00 s: on 27 MiB the hashing is below the noise
of the shared machine. What --certify adds is one whole read and SHA-256 of every file per run, on
the workers: about 2.4 s per GiB of CPU per worker from the page cache, else the storage's read
time (a 34,376-slide lot of 1-3 GB slides is 34-103 TB: hours on any storage, spread over the
workers; a plain cached run reads 2 MiB of each slide).

Usage: python benchmarks/bench_certify.py [--items 60] [--max-size 3072] [--data benchmarks/_data/certify]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dqm(*args: object) -> float:
    """Seconds one ``dqm`` command takes, process start to exit (exit 0 or 1 expected)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DQM_MASK_KEY": "bench-certify-mask-key"}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "dqm", *map(str, args)], env=env, capture_output=True, text=True
    )
    took = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(
            f"dqm {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    return took


def files_of(lot: Path) -> list[Path]:
    return sorted(p for p in lot.rglob("*") if p.is_file() and p.name != "SHA256SUMS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--max-size", type=int, default=3072)
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "_data" / "certify")
    args = parser.parse_args()
    from dqm.synth import build_batch

    lot, out = args.data / "lot", args.data / "out"
    if args.data.exists():
        shutil.rmtree(args.data)
    build_batch(lot, args.items, seed=5, defect_rate=0.1, max_size=args.max_size, workers=os.cpu_count() or 1)
    files = files_of(lot)
    size = sum(p.stat().st_size for p in files)
    start = time.perf_counter()
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(lot).as_posix()}" for p in files]
    hashing = time.perf_counter() - start
    print(f"lot: {args.items} slides, {len(files)} files, {size / 2**20:.1f} MiB")
    print(f"SHA-256 of every file in one process: {hashing:.2f} s ({size / 2**20 / hashing:.0f} MiB/s)")
    dqm("keygen", args.data / "signing.key")
    base = ["audit", lot, "--out", out, "--stages", "syntactic", "--no-cache"]
    runs = {"plain": dqm(*base), "--full-hashes": dqm(*base, "--full-hashes")}
    (lot / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    runs["SHA256SUMS"] = dqm(*base)
    (lot / "SHA256SUMS").unlink()
    runs["--sign-key"] = dqm(*base, "--sign-key", args.data / "signing.key")
    runs["verify --batch"] = dqm("verify", out, "--batch", lot, "--key", args.data / "signing.key.pub")
    for name, took in runs.items():
        print(f"{name:>16}: {took:6.2f} s ({took - runs['plain']:+.2f} s against the plain audit)")
    # --certify against the cache: every item of an unchanged lot is hashed whole on the workers,
    # against an audit with --full-hashes (the same cache entries) that takes each item on its key
    cached = ["audit", lot, "--out", args.data / "cached", "--stages", "syntactic"]
    first = dqm(*cached, "--certify")
    warm = {"--full-hashes": dqm(*cached, "--full-hashes"), "--certify": dqm(*cached, "--certify")}
    gib = size / 2**30
    extra = warm["--certify"] - warm["--full-hashes"]
    print(f"cache filled by --certify: {first:6.2f} s")
    print(f"cached, --full-hashes:     {warm['--full-hashes']:6.2f} s (every item on its key)")
    print(
        f"cached, --certify:         {warm['--certify']:6.2f} s (every item hashed whole): "
        f"{extra:+.2f} s for {size / 2**20:.1f} MiB = {extra / gib:.1f} s per GiB on the workers; "
        f"SHA-256 alone in one process: {hashing / gib:.1f} s per GiB"
    )


if __name__ == "__main__":
    main()
