"""What a native annotation's unknown keys cost: one identifier search a key, one count of the shell.

A file of a million unknown keys (14 MB) took ~15 s of CPU in identifier work per key name: each
key was folded and searched twice (:func:`dqm.identifiers.key_holds_text`, then
:meth:`dqm.identifiers.KeyNames.by_name`) and each top-level value counted mark by mark. The keys'
names, pointers and findings are those of before (``benchmarks/bench_unknown_keys.py``).
"""

from __future__ import annotations

import json

import pytest

import dqm.identifiers as identifiers
from dqm.identifiers import KEY_TEXT
from dqm.readers import _MemoryCheck, parse_annotation
from dqm.readers.common import base, pieces

SQUARE = [[[0, 0], [10, 0], [10, 10], [0, 0]]]


def _doc(extra: dict[str, object]) -> bytes:
    doc = {
        "format": "dqm.annotation/1",
        "slide": {"file": "S1.tiff", "width": 1000, "height": 1000, "mpp": 0.5},
        "lesions": [{"id": 1, "class": "BCC", "geometry": {"type": "Polygon", "coordinates": SQUARE}}],
        "clinical": {},
    }
    doc.update(extra)
    return json.dumps(doc).encode()


def test_a_plain_unknown_key_is_searched_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = identifiers.whole_key

    def counted(key: str, search: object) -> bool:
        calls.append(key)
        return real(key, search)  # type: ignore[arg-type]

    monkeypatch.setattr(identifiers, "whole_key", counted)
    value = {f"k{i}": 1 for i in range(500)} | {"patient_name": 1, "Patient name: Hong": 2, "note": "x"}
    got = base.object_texts(value, "")
    # only a plain key an identifier key names is asked whether it is all of one
    assert calls == ["patient_name"]
    assert got == {"/patient_name": 1, "/#502": 2, "/#502" + KEY_TEXT: "Patient name: Hong", "/#503": "x"}


def test_scalars_hold_no_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "holds_text", lambda value: pytest.fail(f"walked {value!r}"))
    assert not any(base.has_text(v) for v in (1, 2.5, True, None))


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"k0": 7},
        {f"k{i}": v for i, v in enumerate(([1, [2, 3]], {"a": "\\u0041"}, '"x"', 7, "[[", "]", "é", "😀"))},
    ],
)
def test_shell_counted_once_as_value_by_value(extra: dict[str, object]) -> None:
    # the joined count is the sum of each value's (no mark spans two values), the width too
    check = _MemoryCheck(_doc(extra))
    top = pieces.top_values(check.text)
    assert top is not None
    by_value = sum(check.text_need(bytes(v)) for k, v in top.items() if k != "lesions")
    assert check._shell_need() == by_value


def test_large_shell_values_are_counted_one_at_a_time() -> None:
    # joined, four large values were copied at once inside the check that guards memory
    import tracemalloc

    size = 2_000_000
    check = _MemoryCheck(_doc({f"m{i}": "a" * size for i in range(4)} | {"s": "é", "t": [1]}))
    check.char_bytes()
    tracemalloc.start()
    try:
        need = check._shell_need()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    top = pieces.top_values(check.text)
    assert top is not None
    assert need == sum(check.text_need(bytes(v)) for k, v in top.items() if k != "lesions")
    assert peak < 1.5 * size, peak


def test_unknown_keys_named_as_before() -> None:
    # a key all of it an identifier key by its name, any other unknown key by its position
    keys = {"k0": 1, "patient_name": "Hong Gildong", "Patient: Kim": 1, "patient_name_Kim": 2}
    (ann,) = parse_annotation(_doc(keys), "S1.json")
    assert [i.pointer for i in ann.issues if i.code == "UNKNOWN_KEY"] == [
        "/#1",
        "/patient_name",
        "/#3",
        "/#4",
    ]
