"""What deciding a wide group's order costs: one walk of each order for every parse-cache size
(``runner._costs``) against one walk a size (the former ``_cost``, kept in the tests as
``walked_cost``), on a group of ``--slides`` slides each annotated in each of ``--files`` COCO files.

    nice -n 10 python benchmarks/bench_runner_cost.py --slides 4000 --files 5

Two row orders: annotator by annotator (its own order is kept: the former decision walked both
orders at each of the four sizes) and slide by slide (windows: it stopped at the first size).
Prints the best of ``--repeat`` timings of ``by_shared_files`` with each (same order asserted).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator, Sequence

from dqm import readers, runner
from dqm.model import Item
from tests.readers.test_runner_cost import walked_cost


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(shape: str, rows: list[tuple[int, str]], repeat: int) -> None:
    items = [
        Item(slide_id=f"r{k}", image_path=f"slide{s}.svs", annotation_path=f"coco{a}.json")
        for k, (s, a) in enumerate(rows)
    ]
    given = list(range(len(items)))
    one_walk = runner._costs

    def a_walk_a_size(order: Sequence[int], items: Sequence[Item]) -> Iterator[tuple[int, int]]:
        # lazily, as the former all(...) asked for them: it stopped at the first size windows won
        return (walked_cost(order, items, n) for n in range(1, readers.CACHE_SIZE + 1))

    def ordered(costs: Callable[..., object]) -> Sequence[int]:
        runner._costs = costs  # type: ignore[assignment]
        try:
            return runner.by_shared_files(given, items)
        finally:
            runner._costs = one_walk

    assert list(ordered(a_walk_a_size)) == list(ordered(one_walk))
    kept = ordered(one_walk) is given
    old = best(lambda: ordered(a_walk_a_size), repeat)
    new = best(lambda: ordered(one_walk), repeat)
    print(
        f"{shape}, {len(items)} rows: own order kept {kept}; by_shared_files "
        f"{old * 1000:.1f} ms (a walk a size) -> {new * 1000:.1f} ms (one walk)"
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
