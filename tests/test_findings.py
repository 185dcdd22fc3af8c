"""Findings echo values from the batch, so what they echo is bounded."""

from __future__ import annotations

from dqm.findings import MAX_MESSAGE_CHARS, MAX_NAME_CHARS, Aspect, Finding, Location, Severity, clip


def test_long_values_are_cut_with_a_note() -> None:
    huge = "x" * 5_000_000
    f = Finding(
        item_id=huge,
        check="format.class_known",
        code="CLASS_UNKNOWN",
        severity=Severity.ERROR,
        aspect=Aspect.FORMAT,
        message=f"class {huge!r} is not in the taxonomy",
        location=Location(file=huge, pointer="/lesions/0/" + huge, column=huge),
    )
    assert len(f.message) < MAX_MESSAGE_CHARS + 40 and f.message.endswith("[cut: 5,000,031 characters]")
    for text in (f.item_id, f.location.file, f.location.pointer, f.location.column):
        assert text is not None and len(text) < MAX_NAME_CHARS + 40 and "[cut: " in text
    assert len(f.model_dump_json()) < 5 * (MAX_MESSAGE_CHARS + MAX_NAME_CHARS)


def test_short_values_are_kept_as_they_are() -> None:
    assert clip("S00001", MAX_NAME_CHARS) == "S00001"
    text = "a" * MAX_NAME_CHARS
    assert clip(text, MAX_NAME_CHARS) == text
