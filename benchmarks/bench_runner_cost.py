"""What deciding a wide group's order costs: one walk of each order for every parse-cache size
(``runner._costs``) against one walk a size (the former ``runner._cost``, frozen below verbatim
from commit f10220c as :func:`former_cost_f10220c`; not the tests' list-based rewrite
``walked_cost``), on a group of ``--slides`` slides each annotated in each of ``--files`` COCO
files.

    nice -n 10 python benchmarks/bench_runner_cost.py --slides 4000 --files 5

Two row orders: annotator by annotator (its own order is kept: the former decision walked both
orders at each of the four sizes) and slide by slide (windows: it stopped at the first size).
Prints the best of ``--repeat`` timings of ``by_shared_files`` with each, the two taking turns
(same order asserted).

Measured on the shared 2-core machine (load 9-11; ``--slides 4000 --files 5 --repeat 9``, three
runs): annotator by annotator 463 -> 305, 332 -> 259, 471 -> 361 ms (one walk faster); slide by
slide 378 -> 409, 268 -> 294, 162 -> 307 ms (no gain: the former decision stopped after the first
size, two walks of each order, as many as ``_costs`` takes, each walk of ``_lru_misses`` dearer).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator, Sequence

from dqm import readers, runner
from dqm.model import Item


# The former runner._cost, copied verbatim from ``git show f10220c:dqm/runner.py`` (only renamed):
# the baseline the timings compare with. Frozen: not to be edited with the runner.
def former_cost_f10220c(
    order: Sequence[int], items: Sequence[Item], files: int | None = None
) -> tuple[int, int]:
    """For :func:`_file_by_file`: the annotation files parsed and the slides probed when the items
    ``order`` are checked in that order by one worker, its caches empty: a file or slide is read
    again once ``files`` (:data:`dqm.readers.CACHE_SIZE` when None) other files
    (:data:`dqm.slide_io.PROBE_CACHE_SIZE` other slides) were used since, the least recently used
    going first. Parses go first: a shared annotation file holds many slides' annotations, a probe
    reads one slide's header."""
    from dqm import readers, slide_io

    def misses(paths: Iterator[str | None], size: int) -> int:
        held: dict[str, None] = {}  # in the order last used
        n = 0
        for path in paths:
            if path is None:
                continue
            if path in held:
                del held[path]  # to go back in as the last used
            else:
                n += 1
                if len(held) >= size:
                    del held[next(iter(held))]
            held[path] = None
        return n

    return (
        misses((items[k].annotation_path for k in order), readers.CACHE_SIZE if files is None else files),
        misses((items[k].image_path for k in order), slide_io.PROBE_CACHE_SIZE),
    )


def best(fns: Sequence[Callable[[], object]], repeat: int) -> list[float]:
    """The best of ``repeat`` timings of each of ``fns``, run in turn (a shared machine's load
    then weighs on each alike, not on whichever ran while it was busy)."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, took in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            took.append(time.perf_counter() - start)
    return [min(took) for took in times]


def measure(shape: str, rows: list[tuple[int, str]], repeat: int) -> None:
    items = [
        Item(slide_id=f"r{k}", image_path=f"slide{s}.svs", annotation_path=f"coco{a}.json")
        for k, (s, a) in enumerate(rows)
    ]
    given = list(range(len(items)))
    one_walk = runner._costs

    def a_walk_a_size(order: Sequence[int], items: Sequence[Item]) -> Iterator[tuple[int, int]]:
        # lazily, as the former all(...) asked for them: it stopped at the first size windows won
        return (former_cost_f10220c(order, items, n) for n in range(1, readers.CACHE_SIZE + 1))

    def ordered(costs: Callable[..., object]) -> Sequence[int]:
        runner._costs = costs  # type: ignore[assignment]
        try:
            return runner.by_shared_files(given, items)
        finally:
            runner._costs = one_walk

    assert list(ordered(a_walk_a_size)) == list(ordered(one_walk))
    kept = ordered(one_walk) is given
    old, new = best([lambda: ordered(a_walk_a_size), lambda: ordered(one_walk)], repeat)
    print(
        f"{shape}, {len(items)} rows: own order kept {kept}; by_shared_files "
        f"{old * 1000:.1f} ms (former _cost, a walk a size) -> {new * 1000:.1f} ms (_costs, one walk)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slides", type=int, default=4000)
    parser.add_argument("--files", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    names = [chr(ord("A") + f) for f in range(args.files)]
    measure("annotator by annotator", [(s, a) for a in names for s in range(args.slides)], args.repeat)
    measure("slide by slide", [(s, a) for s in range(args.slides) for a in names], args.repeat)


if __name__ == "__main__":
    main()
