"""Unknown keys of a native annotation past the issue cap (red team, session 28): their pydantic
errors are never made. 1,000,000 unknown keys (a 14 MB file, within the memory estimate) took the
read 1.7 GB and 34 s of CPU, most of it pydantic's error list, whose entries are counted anyway."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from dqm.readers import native, parse_annotation
from dqm.readers.common.base import MAX_ISSUES_PER_CODE


def _doc(root: int, slide: int, lesion: int, geometry: int) -> bytes:
    square = [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]
    doc = {
        "format": "dqm.annotation/1",
        "slide": {"file": "S1.tiff", "width": 100, "height": 100, "mpp": 0.5},
        "lesions": [
            {"id": k, "class": "BCC", "geometry": {"type": "Polygon", "coordinates": square}}
            for k in range(3)
        ],
        "clinical": {"age": 50},
    }
    doc.update({f"r{i}": i for i in range(root)})
    doc["slide"].update({f"s{i}": i for i in range(slide)})
    doc["lesions"][0].update({f"l{i}": i for i in range(lesion)})
    doc["lesions"][1]["geometry"].update({f"g{i}": i for i in range(geometry)})
    doc["lesions"][2]["x"] = 1
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "sizes",
    [(2500, 0, 0, 0), (10, 1500, 1200, 0), (0, 0, 0, 1100), (400, 400, 400, 400), (1200, 1500, 1001, 1002)],
)
def test_the_issues_are_those_of_every_key_validated(
    sizes: tuple[int, int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same issues, counts, value slots and pointers as when every key was validated."""
    data = _doc(*sizes)
    (cut,) = parse_annotation(data, "a.json")
    monkeypatch.setattr(native, "_trimmed", lambda doc, keep: (doc, {}))
    (whole,) = parse_annotation(data, "b.json")
    assert cut.issues == whole.issues
    assert cut.n_values == whole.n_values
    unknown = [i for i in cut.issues if i.code == "UNKNOWN_KEY"]
    assert len(unknown) == min(sum(sizes) + 1, MAX_ISSUES_PER_CODE + 1)


def test_unknown_keys_past_the_cap_take_a_bounded_share_of_memory() -> None:
    """300,000 unknown keys at the top (3.9 MB): the read's peak Python memory stays under 200 MB
    (it was 357 MB: over 1 KB a key, pydantic's error and its dict), and every key is counted."""
    data = _doc(300_000, 0, 0, 0)
    parse_annotation(b'{"format": "dqm.annotation/1"}', "w.json")  # imports, compiled patterns
    tracemalloc.start()
    try:
        (ann,) = parse_annotation(data, "a.json")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    counted = [i for i in ann.issues if i.code == "UNKNOWN_KEY" and i.counted]
    assert sum(i.counted for i in counted) == 300_001 - MAX_ISSUES_PER_CODE
    assert peak < 200 * 2**20, peak
