"""The runner's cost of an order (:func:`dqm.runner._costs`): one walk for every parse-cache size
gives what the per-size walks it replaced gave (:func:`walked_cost`, the former ``_cost``)."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from dqm import readers, runner, slide_io
from dqm.model import Item


def walked_cost(order: Sequence[int], items: Sequence[Item], files: int) -> tuple[int, int]:
    """What the former ``runner._cost`` counted, one walk for one parse-cache size: annotation
    files parsed and slides probed, each cache least recently used first out (here a list)."""

    def misses(paths: list[str | None], size: int) -> int:
        held: list[str] = []  # the least recently used first
        n = 0
        for path in filter(None, paths):
            if path in held:
                held.remove(path)
            else:
                n += 1
                held = held[1:] if len(held) == size else held
            held.append(path)
        return n

    return (
        misses([items[k].annotation_path for k in order], files),
        misses([items[k].image_path for k in order], slide_io.PROBE_CACHE_SIZE),
    )


def batch(rows: Sequence[tuple[int | None, int | None]]) -> list[Item]:
    return [
        Item(
            slide_id=f"s{k}",
            image_path=None if s is None else f"slide{s}.svs",
            annotation_path=None if a is None else f"coco{a}.json",
        )
        for k, (s, a) in enumerate(rows)
    ]


# few files (so that caches of 1 to 4 differ), some slides past the probe cache, some rows with neither
paths = st.one_of(st.none(), st.integers(0, 7))
slides = st.one_of(st.none(), st.integers(0, slide_io.PROBE_CACHE_SIZE + 8))


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(st.tuples(slides, paths), max_size=160), data=st.data())
def test_one_walk_costs_as_one_walk_a_size(
    rows: list[tuple[int | None, int | None]], data: st.DataObject
) -> None:
    items = batch(rows)
    order = data.draw(st.permutations(range(len(items))))
    want = [walked_cost(order, items, n) for n in range(1, readers.CACHE_SIZE + 1)]
    assert runner._costs(order, items) == want


def test_lru_misses_at_each_size() -> None:
    # a b c a: a is found with two others used since: a miss for caches of 1 and 2, a hit for 3 and 4
    assert runner._lru_misses(["a", "b", "c", "a"], 4) == [4, 4, 3, 3]
    assert runner._lru_misses(["a", None, "a", "b", "a"], 2) == [3, 2]
    assert runner._lru_misses([], 3) == [0, 0, 0]
    many = [f"f{n % 9}" for n in range(90)]  # nine files round and round: each cache under 9 misses all
    assert runner._lru_misses(many, 4) == [90, 90, 90, 90]
    assert runner._lru_misses(many, 9)[-1] == 9


def test_a_mixed_order_goes_in_windows_though_four_files_would_fit() -> None:
    # docs/scale.md's example: rows slide by slide for four files, then a fifth file's rows of the
    # same slides. Its own order is the cheaper one with four files held (5 parses against 20) but
    # dearer with one to three (513): it is not kept, whatever the memory limit lets the cache hold
    rows = [(s, a) for s in range(128) for a in range(4)] + [(s, 4) for s in range(128)]
    items = batch(rows)
    own = list(range(len(items)))
    chosen = runner.by_shared_files(own, items)
    assert sorted(chosen) == own and chosen != own
    assert runner._costs(own, items) == [(513, 256)] * 3 + [(5, 256)]
    assert runner._costs(chosen, items) == [(20, 128)] * 4
