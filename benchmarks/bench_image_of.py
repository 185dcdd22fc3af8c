"""Which image of a shared COCO file is each slide's (:func:`dqm.readers.items.image_of`), at scale.

Cases, each ``--items`` slides on one file, every slide picking its own image:

* ``same_name``: every slide ``case<i>/scan.svs`` (one file name for all, a folder each), the
  file listing ``x/case<i>/scan.svs``: the images are told apart by their folders;
* ``bare_names``: slide ``case<i>.svs``, the file listing ``case<i>.tiff`` (the name rule);
* ``deep``: one image's ``file_name`` of 40,000 folders beside the others (80 KB);
* ``shared_tail`` (hostile): slide ``z<i>/a/scan.svs``, the file listing ``y<i>/a/scan.svs``:
  every image ends like every slide in two parts and none in three, so every slide is
  ``IMAGE_AMBIGUOUS_IN_FILE`` (all ``--items`` images fit it);
* ``deep_tail`` (hostile): slide ``z<i>/a/b/c/d/e/f/g/scan.svs``, the file listing
  ``y<i>/a/b/c/d/e/f/g/scan.svs``: as ``shared_tail``, past the 8 parts the index keeps;
* ``claimed_deep`` (hostile): ``--items`` slides ``p<i>/a/b/c/d/e/f/g/scan.svs``, each its
  image's exact path, and as many ``z/p<i>/a/b/c/d/e/f/g/scan.svs`` whose every run is claimed
  by more (every one not found): each of these compared its path with every image (O(N²));
* ``other_case``: slide ``case<i>/scan.svs``, the file listing ``X/CASE<i>/SCAN.SVS`` (its
  folded path);
* ``folded_tail`` (hostile): as ``shared_tail``, listed in upper case (``Y<i>/A/SCAN.SVS``);
* ``case_variants`` (hostile): slide ``aBcD…/scan.svs``, the file listing ``--items`` other
  spellings of it in upper and lower case: every image is every slide's folded path (every
  slide ambiguous);
* ``shared_name`` (hostile): slide ``z<i>/scan.svs``, the file listing ``y<i>/scan.svs``: no
  path runs, every image goes by every slide's name (every slide ambiguous);
* ``chain`` (hostile): ``same_name`` and, beside it, 32 slides and images of 64-part paths
  (:func:`chain`) whose picks settle in 31 rounds, one slide falling back a round: each round
  re-checked every slide of the file (``--items`` of them) until ``ImageIndex._settle`` kept a
  work list.

``--layouts N`` (instead of the cases) draws N random files of 2–5 slides' images, each listed by
its slide's path, a trailing part of it, its name, stem, another extension, its slide id, ``\\``
for ``/``, or its path in another case (``C/C/S1.TIFF`` for ``c/c/s1.tiff``), keeps the layouts
whose truth is known (no image named alike by two slides' paths, compared as written or
case-folded, nor by another slide's path more than by its own) and counts each slide's pick: its
own image, ambiguous, not found, or **wrong** (another slide's image, or one of none).

    python benchmarks/bench_image_of.py [--items 34376] [--code OTHER_CHECKOUT] [--cases shared_tail,...]
    python benchmarks/bench_image_of.py --items 4000 --cases same_name,chain [--code OTHER_CHECKOUT]
    python benchmarks/bench_image_of.py --layouts 3000 [--code OTHER_CHECKOUT]

``--code`` imports dqm from another checkout (a checkout whose ``image_of`` takes no readers is
asked without them). Prints per case the CPU seconds of every slide's pick (the index built
once) and this process's peak memory.
"""

from __future__ import annotations

import argparse
import inspect
import resource
import sys
import time
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=34376)
    parser.add_argument("--code", default=None)
    parser.add_argument("--cases", default=None, help="comma-separated case names (default: all)")
    parser.add_argument("--layouts", type=int, default=0, help="random layouts to draw instead of the cases")
    parser.add_argument("--verbose", action="store_true", help="print each wrong pick of --layouts")
    args = parser.parse_args()
    if args.code:
        sys.path.insert(0, args.code)
    if args.layouts:
        layouts(args.layouts)
        return
    from dqm.model import Annotation
    from dqm.readers.items import FileAnnotations, image_of

    with_readers = "readers" in inspect.signature(image_of).parameters
    n = args.items
    cases = {
        "same_name": ([f"x/case{i}/scan.svs" for i in range(n)], [f"case{i}/scan.svs" for i in range(n)]),
        "bare_names": ([f"case{i}.tiff" for i in range(n)], [f"case{i}.svs" for i in range(n)]),
        "deep": (
            ["a/" * 40000 + "case0.svs"] + [f"case{i}.svs" for i in range(1, n)],
            [f"case{i}.svs" for i in range(n)],
        ),
        "shared_tail": ([f"y{i}/a/scan.svs" for i in range(n)], [f"z{i}/a/scan.svs" for i in range(n)]),
        "deep_tail": (
            [f"y{i}/a/b/c/d/e/f/g/scan.svs" for i in range(n)],
            [f"z{i}/a/b/c/d/e/f/g/scan.svs" for i in range(n)],
        ),
        "claimed_deep": (
            [f"p{i}/a/b/c/d/e/f/g/scan.svs" for i in range(n)],
            [f"{z}p{i}/a/b/c/d/e/f/g/scan.svs" for z in ("", "z/") for i in range(n)],
        ),
        "chain": (
            chain()[0] + [f"x/case{i}/scan.svs" for i in range(n)],
            chain()[1] + [f"case{i}/scan.svs" for i in range(n)],
        ),
        "shared_name": ([f"y{i}/scan.svs" for i in range(n)], [f"z{i}/scan.svs" for i in range(n)]),
        "other_case": ([f"X/CASE{i}/SCAN.SVS" for i in range(n)], [f"case{i}/scan.svs" for i in range(n)]),
        "folded_tail": ([f"Y{i}/A/SCAN.SVS" for i in range(n)], [f"z{i}/a/scan.svs" for i in range(n)]),
        "case_variants": ([_variant(i) for i in range(n)], [_variant(n + i) for i in range(n)]),
    }
    chosen = args.cases.split(",") if args.cases else list(cases)
    for case in chosen:
        keys, paths = cases[case]
        anns = FileAnnotations([Annotation(path="c.json", format="coco", image_key=key) for key in keys])
        readers = frozenset((f"id{i}", path) for i, path in enumerate(paths))
        extra = (readers,) if with_readers else ()
        start = time.process_time()
        picks = [image_of(anns, f"id{i}", path, *extra) for i, path in enumerate(paths)]
        cpu = time.process_time() - start
        right = sum(k == i for i, k in enumerate(picks))
        ambiguous = sum(getattr(k, "code", None) == "IMAGE_AMBIGUOUS_IN_FILE" for k in picks)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(
            f"{case}: {len(paths)} slides, {right} their own image, {ambiguous} ambiguous, cpu {cpu:.2f} s, peak {peak} MB",
            flush=True,
        )


def chain(links: int = 31, prefix: str = "t") -> tuple[list[str], list[str]]:
    """Image keys and slide files (each slide's own image at its position) whose claims settle in
    ``links`` rounds (at most 31), one slide's pick moving a round. ``S<n>`` is the last ``n`` of
    64 parts ``t1/…/t64``: the image ``S64`` is its slide's by its exact path, so the slide
    ``d1/S64`` falls back to ``S63`` and claims the image ``k1/S63``, the pick of the slide
    ``d2/S62`` until then; that one falls back to ``S61`` and claims ``k2/S61``, and so on."""
    tail = [f"{prefix}{j}" for j in range(1, 65)]

    def last(n: int) -> str:
        return "/".join(tail[-n:])

    keys = [last(64)] + [f"k{i}/{last(65 - 2 * i)}" for i in range(1, links + 1)]
    paths = [last(64)] + [f"d{i}/{last(66 - 2 * i)}" for i in range(1, links + 1)]
    return keys, paths


def _variant(i: int) -> str:
    """The ``i``-th spelling of ``abcdefghijklmnopq/scan.svs`` in upper and lower case."""
    return "".join(c.upper() if i >> k & 1 else c for k, c in enumerate("abcdefghijklmnopq")) + "/scan.svs"


def layouts(seeds: int) -> None:
    """Each slide's pick in ``seeds`` random layouts whose truth is known (see the module's text)."""
    from dqm.batch import normalise
    from dqm.model import Annotation
    from dqm.readers.items import image_of

    counts = dict.fromkeys(("slides", "own", "ambiguous", "not_found", "wrong"), 0)
    start = time.process_time()
    for seed in range(seeds):
        layout = random_layout(seed)
        if layout is None:
            continue
        slides, keys, truth = layout
        anns = [Annotation(path="c.json", format="coco", image_key=key) for key in keys]
        readers = frozenset((sid, normalise(path)[0]) for sid, path in slides.items())
        for sid, path in slides.items():
            got = image_of(anns, sid, path, readers)
            code = getattr(got, "code", None)
            kind = "own" if got == truth[sid] else "ambiguous" if code == "IMAGE_AMBIGUOUS_IN_FILE" else code
            counts["slides"] += 1
            counts["wrong" if kind is None else "not_found" if kind == "IMAGE_NOT_IN_FILE" else kind] += 1
            if kind is None and "--verbose" in sys.argv:
                print(sid, path, keys, sorted(slides.items()), got, truth[sid])
    cpu = time.process_time() - start
    print(
        f"random layouts: {seeds} seeds, "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
        + f", cpu {cpu:.2f} s"
    )


def random_files(r: Any, cased: bool) -> tuple[dict[str, str], list[str], dict[str, int]] | None:
    """A random file of 2–5 slides' images drawn by ``r`` (a :class:`random.Random`): the slide
    ids and slide files, the image keys (each slide's image by its path, part of it, its name,
    stem, another extension, its slide id, ``\\`` for ``/``; ``cased``: its path in another case
    too) and each slide's own image; None where two slides or two images are named alike."""
    from pathlib import PurePosixPath

    slides: dict[str, str] = {}
    for i in range(r.randint(2, 5)):
        path = "/".join([*r.choices("abAc", k=r.randint(0, 3)), r.choice(["s1", "s2", "S1", "s1.x"])])
        path += r.choice([".svs", ".tiff", ".ndpi"])
        slides.setdefault(r.choice([PurePosixPath(path).stem, f"S{i}", f"id{r.randint(0, 3)}"]), path)
    if len(set(slides.values())) < len(slides):
        return None
    keys, truth = [], {}
    for sid, path in r.sample(sorted(slides.items()), len(slides)):
        split, stem = path.split("/"), PurePosixPath(path).stem
        ways = [path, "x/" + path, "/".join(split[r.randint(0, len(split) - 1) :]), split[-1], stem]
        ways += [stem + ".png", sid, sid + ".png", path.replace("/", "\\"), "z/../" + path]
        ways += [path.upper(), "X/" + path.swapcase()] if cased else []
        truth[sid] = len(keys)
        keys.append(r.choice(ways))
    return (slides, keys, truth) if len(set(keys)) == len(keys) else None


def random_layout(seed: int) -> tuple[dict[str, str], list[str], dict[str, int]] | None:
    """The random layout ``seed`` (slide ids to slide files, the file's image keys, each slide's
    own image), or None where its truth is not known (see the module's text)."""
    import random
    import unicodedata

    from dqm.batch import normalise

    def parts(path: str, fold: bool) -> list[str]:
        text = unicodedata.normalize("NFC", unicodedata.normalize("NFD", path).casefold()) if fold else path
        return [p for p in normalise(text)[0].split("/") if p not in ("", ".")]

    def score(path: str, key: str, fold: bool) -> int:
        a, b = parts(path, fold), parts(key, fold)
        n = 0
        while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
            n += 1
        return 1 << 30 if a == b else n if n >= 2 else 0

    layout = random_files(random.Random(seed), cased=True)
    if layout is None:
        return None
    slides, keys, truth = layout
    mine = {k: sid for sid, k in truth.items()}
    for fold in (False, True):
        for k, key in enumerate(keys):
            scores = [score(p, key, fold) for p in slides.values()]
            best = max(scores)
            if best and (scores.count(best) > 1 or score(slides[mine[k]], key, fold) != best):
                return None
    return slides, keys, truth


if __name__ == "__main__":
    main()
