"""Near-duplicate slides: recall on altered copies of real H&E, precision against distinct slides, cost.

    .venv/bin/python benchmarks/bench_duplicates.py [--real ../shared/data/real] [--limit 0] [--scale 8000]
    .venv/bin/python benchmarks/bench_duplicates.py --external /tmp/external-he   # and other sites' H&E
    .venv/bin/python benchmarks/bench_duplicates.py --pairs-only [--sizes 34000,100000] [--scale 8000]
    .venv/bin/python benchmarks/bench_duplicates.py --alike 34376

Sources: the GlaS images (``segmentation/glas/images``) and every real slide and image in
``slides/`` and ``images/`` that opens, each as its thumbnail of at most 1024 pixels a side. Each
source is written to a temporary folder as a PNG with six altered copies: re-saved as JPEG
(quality 50-85), cropped by 1-4 % of each axis (split at random between the two sides), rotated by
90 and 180 degrees, flipped left-right, and rotated by 270 degrees, cropped and re-saved together.
``--external DIR``: the real H&E of other sites and organs that ``benchmarks/external_he.py --out
DIR`` assembled are sources too (each as its thumbnail of at most 1024 pixels a side, with the same
copies): distinct slides of other stains and tissues, the hard negatives for precision. Its one
run (267 sources: 165 GlaS, 97 external, 5 other real; 1,869 files, 7 without a hash, all of
``slides/smalltif.tif``), at the profile's threshold of 32 bits: recall per kind of copy 0.985
(crop, 263/267) to 0.996, every pair of one source's files 5564/5607 = 0.992, precision 5564/5564
= 1.000 (no pair of distinct slides found, none among the other sites' images); distinct
originals' distances (35,245 pairs) min 54, p0.1 63, median 84, original-copy p95 19, max 57;
precision 1.000 at every threshold from 20 to 44. 295 s CPU, 28 min wall under load, 0.98 GB.
Every file goes through the slide probe as in an audit (Pillow decode, tissue mask, hash), then
:func:`dqm.pixels.hashes.near_pairs` at the profile's threshold (``duplicates.near_slides``).

Reports: recall per kind of copy (original and copy found as a pair), recall over every pair of
one source's files (copy with copy too), precision (pairs found that are of one source), the
distances of true pairs and of distinct pairs, the same figures at other thresholds, the hash's
cost per slide, and the pair search on ``--scale`` synthetic hashes (as ``--pairs-only`` does).

``--pairs-only``: the pair search alone on synthetic hashes, no images: random 192-bit hashes, 1 %
of them with a copy in a random orientation at 8 to 32 bits from it. For each of ``--sizes`` the
indexed search (:mod:`dqm.pixels.pairs`, its blocks as :func:`~dqm.pixels.pairs.plan` chose them):
time, peak memory (numpy's allocations, tracemalloc) and the planted pairs found; and comparing
every pair, timed on ``--scale`` hashes (where both searches must give the same pairs) and
projected by n^2.

``--alike N``: the check ``duplicates.near_slides`` itself on a batch of ``N`` alike slides, where
nearly every pair is near: all with one hash (a control slide scanned many times, one slide under
many names), then all with distinct hashes within the threshold of one another (a centre with 16
of its bits, at most, flipped in each). Half the slides of one patient, half of another, one in
ten unknown. Time (wall, and the process's CPU time: on a shared machine the wall time is
mostly waiting), peak memory (tracemalloc), findings and the pairs tallied (every pair near:
``N (N - 1) / 2``).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import statistics
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from dqm.pixels.hashes import NBITS, WORDS, orientations, slide_hash, stack
from dqm.pixels.pairs import near_pairs, plan, quadratic
from dqm.profile import load_profile
from dqm.slide_io import probe_slide, slide_thumbnail, tissue_from_rgba
from validators import REGISTRY
from validators.context import BatchView, ItemFacts
from validators.duplicates import NearParams
from validators.engine import configure
from validators.registry import CheckContext

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
KINDS = ("jpeg", "crop", "rot90", "rot180", "flip", "rot270+crop+jpeg")


def sources(real: Path, limit: int, external: Path | None = None) -> list[tuple[str, Image.Image]]:
    """The distinct source images: one whose pixels equal an earlier one's is left out (the real
    slides hold one test pattern under two names: a true duplicate, not a distinct slide). With
    ``external``, the files its manifest lists (``benchmarks/external_he.py``) follow."""
    found = [
        (f"glas/{p.stem}", Image.open(p))
        for p in sorted((real / "segmentation" / "glas" / "images").glob("*.png"))
    ]
    paths = [(folder, path) for folder in ("slides", "images") for path in sorted((real / folder).glob("*"))]
    if external is not None:
        from external_he import MANIFEST, read_list

        paths += [("external", external / r["file"]) for r in read_list(external / MANIFEST)]
    for folder, path in paths:
        thumb = slide_thumbnail(path, 1024)
        if thumb.image is not None and min(thumb.image.size) >= 64:
            found.append((f"{folder}/{path.name}", thumb.image))
    out, seen = [], {}
    for name, img in found:
        rgb = img.convert("RGB")
        key = hashlib.sha256(rgb.tobytes() + str(rgb.size).encode()).hexdigest()
        if key in seen:
            print(f"left out {name}: the same pixels as {seen[key]}")
            continue
        seen[key] = name
        out.append((name, rgb))
    return out[:limit] if limit else out


def _crop(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = img.size
    fx, fy = rng.uniform(0.01, 0.04, 2)
    ax, ay = rng.uniform(0, 1, 2)
    left, top = int(w * fx * ax), int(h * fy * ay)
    return img.crop((left, top, w - int(w * fx * (1 - ax)), h - int(h * fy * (1 - ay))))


def copies(img: Image.Image, rng: np.random.Generator) -> list[tuple[str, Image.Image, str]]:
    """``(kind, image, format)`` of each altered copy."""
    t = Image.Transpose
    return [
        ("jpeg", img, "JPEG"),
        ("crop", _crop(img, rng), "PNG"),
        ("rot90", img.transpose(t.ROTATE_90), "PNG"),
        ("rot180", img.transpose(t.ROTATE_180), "PNG"),
        ("flip", img.transpose(t.FLIP_LEFT_RIGHT), "PNG"),
        ("rot270+crop+jpeg", _crop(img.transpose(t.ROTATE_270), rng), "JPEG"),
    ]


def write_files(srcs: list[tuple[str, Image.Image]], folder: Path, seed: int) -> list[tuple[Path, int, str]]:
    """Every original and copy on disk: ``(path, source index, kind)``."""
    rng = np.random.default_rng(seed)
    files = []
    for k, (_, img) in enumerate(srcs):
        path = folder / f"s{k:04d}_orig.png"
        img.save(path)
        files.append((path, k, "orig"))
        for kind, copy, fmt in copies(img, rng):
            ext = "jpg" if fmt == "JPEG" else "png"
            path = folder / f"s{k:04d}_{kind.replace('+', '_')}.{ext}"
            if fmt == "JPEG":
                copy.save(path, fmt, quality=int(rng.integers(50, 86)))
            else:
                copy.save(path, fmt)
            files.append((path, k, kind))
    return files


def scores(files: list[tuple[Path, int, str]], hashes: list[str | None], threshold: int) -> dict:
    words, index = stack(hashes)
    found = {(index[i], index[j]): d for i, j, d in near_pairs(words, threshold)}
    by_source: dict[int, list[int]] = {}
    for n, (_, src, _) in enumerate(files):
        by_source.setdefault(src, []).append(n)
    true_pairs = {(a, b) for members in by_source.values() for a in members for b in members if a < b}
    tp = sum(1 for pair in found if pair in true_pairs)
    recall_kind = {}
    for kind in KINDS:
        pairs = [(m[0], n) for m in by_source.values() for n in m if files[n][2] == kind]
        recall_kind[kind] = (sum(1 for p in pairs if p in found), len(pairs))
    return {
        "found": len(found),
        "tp": tp,
        "true": len(true_pairs),
        "precision": tp / len(found) if found else 1.0,
        "recall_all": tp / len(true_pairs) if true_pairs else 1.0,
        "recall_kind": recall_kind,
        "false": sorted(pair for pair in found if pair not in true_pairs),
    }


def distances(files: list[tuple[Path, int, str]], hashes: list[str | None]) -> tuple[list[int], list[int]]:
    """Distances of original-copy pairs, and of the originals among themselves."""
    words, index = stack(hashes)
    pos = {n: k for k, n in enumerate(index)}
    origs = [n for n, f in enumerate(files) if f[2] == "orig" and n in pos]
    sub = words[[pos[n] for n in origs]]
    negatives = [d for _, _, d in near_pairs(sub, 192)]
    positives = []
    for n, (_, src, kind) in enumerate(files):
        if kind == "orig" or n not in pos:
            continue
        orig = next(m for m in origs if files[m][1] == src)
        both = np.stack([words[pos[orig]], words[pos[n]]])
        positives.extend(d for _, _, d in near_pairs(both, 192))
    return positives, negatives


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=REAL)
    parser.add_argument("--limit", type=int, default=0, help="at most this many sources (0: all)")
    parser.add_argument("--scale", type=int, default=8000, help="random hashes for the pair-search timing")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--pairs-only", action="store_true", help="time the pair search on synthetic hashes")
    parser.add_argument(
        "--sizes", default="34000,100000", help="--pairs-only: numbers of slides, comma-separated"
    )
    parser.add_argument("--alike", type=int, default=0, help="the check on a batch of this many alike slides")
    parser.add_argument(
        "--external",
        type=Path,
        help="other sites' H&E as sources too: a folder external_he.py --out assembled",
    )
    args = parser.parse_args()
    threshold = NearParams().max_distance
    if args.alike:
        alike(args.alike, args.seed)
        return
    if args.pairs_only:
        pair_search(args.sizes, args.scale, threshold, args.seed)
        return
    srcs = sources(args.real, args.limit, args.external)
    glas, external = (sum(1 for n, _ in srcs if n.startswith(p)) for p in ("glas/", "external/"))
    print(f"{len(srcs)} sources ({glas} GlaS, {external} external), {len(KINDS)} copies each")
    with tempfile.TemporaryDirectory() as tmp:
        files = write_files(srcs, Path(tmp), args.seed)
        probe_slide(files[0][0], "warm-up")
        hashes, probe_s = [], []
        for path, _, _ in files:
            t0 = time.perf_counter()
            probe = probe_slide(path, path.name)
            probe_s.append(time.perf_counter() - t0)
            hashes.append(probe.tissue.perceptual_hash if probe.tissue is not None else None)
    missing = Counter(files[n][2] for n, h in enumerate(hashes) if h is None)
    bare = sorted({srcs[files[n][1]][0] for n, h in enumerate(hashes) if h is None})
    print(f"files: {len(files)}, without a hash: {sum(missing.values())} {dict(missing)} (of {bare})")
    s = scores(files, hashes, threshold)
    print(f"\nthreshold {threshold} of 192 bits (profile default)")
    for kind, (hit, total) in s["recall_kind"].items():
        print(f"  recall {kind:17s} {hit}/{total} = {hit / total:.3f}")
    print(f"  recall, every pair of one source's files: {s['tp']}/{s['true']} = {s['recall_all']:.3f}")
    false = [
        (f"{srcs[files[i][1]][0]}:{files[i][2]}", f"{srcs[files[j][1]][0]}:{files[j][2]}")
        for i, j in s["false"][:10]
    ]
    print(f"  precision: {s['tp']}/{s['found']} = {s['precision']:.4f}; false pairs: {false}")
    pos, neg = distances(files, hashes)
    print(
        f"  distances original-copy: median {statistics.median(pos)}, p95 {np.percentile(pos, 95):.0f}, "
        f"max {max(pos)}; distinct originals ({len(neg)} pairs): min {min(neg)}, "
        f"p0.1 {np.percentile(neg, 0.1):.0f}, p1 {np.percentile(neg, 1):.0f}, median {statistics.median(neg)}"
    )
    print("\nother thresholds: threshold, recall (original-copy), recall (all pairs), precision")
    for t in (20, 24, 28, 36, 40, 44):
        o = scores(files, hashes, t)
        hit = sum(h for h, _ in o["recall_kind"].values())
        tot = sum(n for _, n in o["recall_kind"].values())
        print(f"  {t:3d}  {hit / tot:.3f}  {o['recall_all']:.3f}  {o['precision']:.4f}")
    # cost: the hash alone, on the image the probe masks (at most 1024 a side)
    hash_s = []
    for _, img in srcs:
        rgba = np.asarray(img.convert("RGBA"))
        mask, _ = tissue_from_rgba(rgba)
        t0 = time.perf_counter()
        slide_hash(rgba, mask)
        hash_s.append(time.perf_counter() - t0)
    print(
        f"\ncost per slide: hash {1000 * statistics.median(hash_s):.1f} ms median "
        f"({1000 * max(hash_s):.1f} ms max); whole probe of these images {1000 * statistics.median(probe_s):.0f} ms median"
    )
    print()
    pair_search(str(args.scale), args.scale, threshold, args.seed)


def synthetic(n: int, rng: np.random.Generator) -> tuple[np.ndarray, set[tuple[int, int]]]:
    """``n`` hashes: random ones, and for 1 % of them a copy (a random orientation, 8-32 bits
    flipped) appended; with the planted pairs ``(original, copy)``."""
    copies = n // 100
    words = rng.integers(0, np.iinfo(np.uint64).max, (n - copies, 3), dtype=np.uint64, endpoint=True)
    turned = orientations(words[:copies])[np.arange(copies), rng.integers(0, 8, copies)]
    for k in range(copies):
        for bit in rng.choice(192, int(rng.integers(8, 33)), replace=False):
            turned[k, bit // 64] ^= np.uint64(1) << np.uint64(63 - bit % 64)
    return np.concatenate([words, turned]), {(k, n - copies + k) for k in range(copies)}


def pair_search(sizes: str, scale: int, threshold: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    words, _ = synthetic(scale, rng)
    t0 = time.perf_counter()
    every = quadratic(words, None, threshold)
    every_s = time.perf_counter() - t0
    same = near_pairs(words, threshold) == every
    print(
        f"every pair compared: {scale:,} slides in {every_s:.1f} s; the indexed search gives the same pairs: {same}"
    )
    print(
        "slides, blocks (width, radius), indexed search s, peak MiB, planted pairs found, pairs, every pair (n^2) s"
    )
    for n in (int(v) for v in sizes.split(",")):
        words, truth = synthetic(n, rng)
        chosen = plan(threshold, n, n, True)
        tracemalloc.start()
        t0 = time.perf_counter()
        found = near_pairs(words, threshold)
        took = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        pairs = {(i, j) for i, j, _ in found}
        shape = "every pair" if chosen is None else f"{len(chosen)} x ({chosen[0][1]}, {chosen[0][2]})"
        print(
            f"{n:,}, {shape}, {took:.1f}, {peak:.0f}, {len(truth & pairs)}/{len(truth)}, {len(found)}, "
            f"{every_s * (n / scale) ** 2:.0f}"
        )


def alike(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    centre = rng.integers(0, np.iinfo(np.uint64).max, WORDS, dtype=np.uint64, endpoint=True)
    spread = np.tile(centre, (n, 1))
    for _ in range(16):  # each a bit of its own, or one bit flipped twice: at most 16 from the centre
        bit = rng.integers(0, NBITS, n)
        spread[np.arange(n), bit // 64] ^= np.uint64(1) << (63 - bit % 64).astype(np.uint64)
    spec = REGISTRY["duplicates.near_slides"]
    profile = load_profile()
    cfg = {c.id: c for c in configure(profile)}["duplicates.near_slides"]
    print("slides, hashes, distinct hashes, s, CPU s, peak MiB, findings, pairs tallied")
    for name, words in (("one hash", np.tile(centre, (n, 1))), ("alike", spread)):
        items = [
            ItemFacts(
                f"S{k}",
                k + 1,
                f"slides/S{k}.svs",
                None,
                None,
                f"{k:064x}",
                perceptual_hash="".join(f"{int(w):016x}" for w in words[k]),
                clinical={} if k % 10 == 9 else {"patient_id": f"P{2 * k // n}"},
            )
            for k in range(n)
        ]
        ctx = CheckContext(spec, "batch", cfg.severities, "manifest.csv")
        tracemalloc.start()
        t0, c0 = time.perf_counter(), time.process_time()
        found = spec.func(BatchView(profile, items, "manifest.csv"), cfg.params, ctx)
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        others = (re.search(r"and (\d+) other slide", f.message) for f in found)
        tallied = sum(1 + int(m[1]) if m else 1 for m in others)
        print(
            f"{n:,}, {name}, {len(np.unique(words, axis=0)):,}, {took:.1f}, {cpu:.1f}, {peak:.0f}, {len(found):,}, {tallied:,}"
        )


if __name__ == "__main__":
    main()
