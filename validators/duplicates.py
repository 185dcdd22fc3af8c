"""Duplicate checks across slides (aspect ``image``, ``format``): near-duplicate slides by their
tissue-thumbnail hashes, in the batch and against an earlier release, and patients in two splits.

Byte-identical slide files stay ``file.duplicate_slide_content``'s; a pair of them is not reported
again here. No finding echoes a patient identifier: the slides (their ids, masked in the outputs
like every id) say which patient is meant.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, ConfigDict, Field

from dqm.findings import Aspect, Finding, Severity, clip
from dqm.i18n import N_, msg
from dqm.pixels.hashes import BITS, WORDS, stack
from dqm.pixels.pairs import cross_pairs, near_pairs
from validators.context import BatchView, ItemFacts
from validators.registry import CheckContext, check

HASH_BITS = WORDS * BITS * BITS


class NearParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    max_distance: int = Field(
        32,
        ge=0,
        le=HASH_BITS,
        description=f"Hamming distance (of {HASH_BITS} bits, least over rotations and flips) at or under "
        "which two slides are near duplicates (benchmarks/bench_duplicates.py measures it).",
    )
    patient_column: str = Field("patient_id", description="Clinical column naming the patient.")


SPLIT_CHARS = 40
"""A split name is echoed cut to this many characters."""


def _text(value: object) -> str | None:
    """A clinical cell as a key: stripped text, None when empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _same_file(a: ItemFacts, b: ItemFacts) -> bool:
    """Two items that name one slide file, or byte-identical files (reported as exact duplicates)."""
    if a.image_path is not None and a.image_path == b.image_path:
        return True
    if a.full_hash and a.full_hash == b.full_hash:
        return True
    return bool(a.fingerprint and a.fingerprint == b.fingerprint and not (a.full_hash or b.full_hash))


@check(
    "duplicates.near_slides",
    aspect=Aspect.IMAGE,
    scope="batch",
    params=NearParams,
    codes={
        "NEAR_DUPLICATE_SLIDE": "two slides look alike (re-saved, cropped, rotated or flipped): no patient known",
        "NEAR_DUPLICATE_SAME_PATIENT": "two slides of one patient look alike (a recut or rescan of one block)",
        "NEAR_DUPLICATE_OTHER_PATIENT": "two slides of different patients look alike: a likely mix-up",
        "SLIDE_DELIVERED_AGAIN": "a slide looks like another slide of the earlier release given as baseline",
    },
    code_severity={
        "NEAR_DUPLICATE_SLIDE": Severity.WARNING,
        "NEAR_DUPLICATE_SAME_PATIENT": Severity.INFO,
        "NEAR_DUPLICATE_OTHER_PATIENT": Severity.ERROR,
        "SLIDE_DELIVERED_AGAIN": Severity.WARNING,
    },
)
def near_slides(batch: BatchView, params: NearParams, ctx: CheckContext) -> list[Finding]:
    """No two slides show the same tissue, in the batch or the baseline release (hashes, any rotation or flip)."""
    words, index = stack([f.perceptual_hash for f in batch.items])
    # one finding per slide, against the earlier slide it matches worst: a cluster of n alike
    # slides gives n - 1 findings, not n^2 / 2
    near: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for i, j, d in near_pairs(words, params.max_distance):
        if not _same_file(batch.items[index[i]], batch.items[index[j]]):
            near[index[j]].append((d, index[i]))
    out = [_pair_finding(batch, second, matches, params, ctx) for second, matches in sorted(near.items())]
    if batch.earlier is not None and batch.earlier.slides:
        old, _ = stack([s.perceptual_hash for s in batch.earlier.slides])
        again: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for i, k, d in cross_pairs(words, old, params.max_distance):
            again[index[i]].append((d, k))
        for n, found in sorted(again.items()):
            # the same slide under its own id is the item delivered again (a redelivery's
            # unchanged slide), not a duplicate across releases
            own = batch.earlier.names(batch.items[n].slide_id)
            matches = [(d, k) for d, k in found if batch.earlier.slides[k].slide_id not in own]
            if not matches:
                continue
            d, k = min(matches)
            facts, earlier = batch.items[n], batch.earlier.slides[k]
            where = f" ({earlier.image_path!r})" if earlier.image_path else ""
            template = (
                N_(
                    "slide looks like slide {slide_id!r}{where} of the earlier release {release} "
                    "(hash distance {d} of {bits} bits); and {others} other slide(s) as near"
                )
                if len(matches) > 1
                else N_(
                    "slide looks like slide {slide_id!r}{where} of the earlier release {release} "
                    "(hash distance {d} of {bits} bits)"
                )
            )
            out.append(
                ctx.finding(
                    "SLIDE_DELIVERED_AGAIN",
                    msg(
                        template,
                        slide_id=earlier.slide_id,
                        where=where,
                        release=batch.earlier.name,
                        d=d,
                        bits=HASH_BITS,
                        others=len(matches) - 1,
                    ),
                    item_id=facts.slide_id,
                    file=facts.image_path,
                )
            )
    return out


_JUDGED = (
    ("NEAR_DUPLICATE_OTHER_PATIENT", N_("; of two different patients: a likely mix-up")),
    ("NEAR_DUPLICATE_SLIDE", ""),
    ("NEAR_DUPLICATE_SAME_PATIENT", N_("; both of one patient (a recut or rescan?)")),
)
"""What a near pair is by its patients, worst first (msgids: the finding's ``{_why}``)."""


def _pair_finding(
    batch: BatchView, second: int, matches: list[tuple[int, int]], params: NearParams, ctx: CheckContext
) -> Finding:
    """The finding of slide ``second`` near the earlier slides ``matches`` (``(distance, index)``):
    about the worst of them (two patients before unknown before one), then the nearest."""
    facts = batch.items[second]
    patient = _text(facts.clinical.get(params.patient_column))

    def judged(match: tuple[int, int]) -> tuple[int, int, int]:
        other = _text(batch.items[match[1]].clinical.get(params.patient_column))
        rank = 1 if patient is None or other is None else (2 if other == patient else 0)
        return rank, *match

    rank, d, k = min(judged(m) for m in matches)
    code, why = _JUDGED[rank]
    first = batch.items[k]
    template = (
        N_(
            "slide looks like slide {slide_id!r} ({path!r}): hash distance {d} of {bits} bits, under any "
            "rotation or flip{_why}; and {others} other slide(s) as near"
        )
        if len(matches) > 1
        else N_(
            "slide looks like slide {slide_id!r} ({path!r}): hash distance {d} of {bits} bits, under any "
            "rotation or flip{_why}"
        )
    )
    return ctx.finding(
        code,
        msg(
            template,
            slide_id=first.slide_id,
            path=first.image_path,
            d=d,
            bits=HASH_BITS,
            _why=why,
            others=len(matches) - 1,
        ),
        item_id=facts.slide_id,
        file=facts.image_path,
    )


class SplitParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    patient_column: str = Field("patient_id", description="Clinical column naming the patient.")
    split_column: str = Field("split", description="Clinical column naming the split (train, test...).")


@check(
    "duplicates.patient_split",
    aspect=Aspect.FORMAT,
    scope="batch",
    params=SplitParams,
    codes={"PATIENT_IN_TWO_SPLITS": "one patient's slides lie in two splits (train / test leakage)"},
)
def patient_split(batch: BatchView, params: SplitParams, ctx: CheckContext) -> list[Finding]:
    """Every patient's slides lie in one split (when the delivery names patients and splits)."""
    by_patient: dict[str, dict[str, list[ItemFacts]]] = defaultdict(lambda: defaultdict(list))
    for facts in batch.items:
        patient = _text(facts.clinical.get(params.patient_column))
        split = _text(facts.clinical.get(params.split_column))
        if patient is not None and split is not None:
            by_patient[patient][split.casefold()].append(facts)
    out = []
    for splits in by_patient.values():
        if len(splits) < 2:
            continue
        # the patient's slides in the smaller splits leak into the largest one
        ranked = sorted(splits.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        (main_split, main_items), rest = ranked[0], ranked[1:]
        where = ", ".join(repr(f.slide_id) for f in main_items[:3]) + (" ..." if len(main_items) > 3 else "")
        for split, items in rest:
            for facts in items:
                out.append(
                    ctx.finding(
                        "PATIENT_IN_TWO_SPLITS",
                        msg(
                            "slide is in split {split!r}, and its patient's slide(s) {where} in split {main!r}",
                            split=clip(split, SPLIT_CHARS),
                            where=where,
                            main=clip(main_split, SPLIT_CHARS),
                        ),
                        item_id=facts.slide_id,
                        file=batch.manifest if facts.row is not None else facts.image_path,
                        row=facts.row,
                        column=params.split_column if facts.row is not None else None,
                    )
                )
    return out
