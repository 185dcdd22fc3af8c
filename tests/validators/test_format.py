"""Format checks across the batch: unmapped class names, one summary per name."""

from __future__ import annotations

from validators import REGISTRY
from validators.context import BatchView, ItemFacts
from validators.engine import configure
from validators.registry import CheckContext


class CountedPath(str):
    """A file path that counts how often it is compared for equality."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        CountedPath.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def _run(check_id, profile, items):
    spec = REGISTRY[check_id]
    cfg = {c.id: c for c in configure(profile)}[check_id]
    return spec.func(
        BatchView(profile, items, None), cfg.params, CheckContext(spec, "batch", cfg.severities, None)
    )


def test_one_unmapped_class_in_every_file_costs_one_look_up_a_file(profile):
    """Every file of a delivery using one class name the profile does not map: each file was
    looked for in the list of the name's files so far (n^2 / 2 comparisons, 31 s at 34,376 files)."""
    n = 2_000
    CountedPath.compared = 0
    items = [
        ItemFacts(f"S{k}", k, None, CountedPath(f"a/{k}.json"), unmapped_classes={"Tumour": 2})
        for k in range(n)
    ]
    items.append(ItemFacts("again", n, None, items[0].annotation_path, unmapped_classes={"Tumour": 1}))
    (f,) = _run("format.unmapped_classes", profile, items)
    assert CountedPath.compared < 4 * n
    assert (
        f"{2 * n + 1} lesion(s) in {n} file(s) (a/0.json, a/1.json, a/2.json and {n - 3} more)" in f.message
    )
