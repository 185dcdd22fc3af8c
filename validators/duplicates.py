"""Duplicate checks across slides (aspect ``image``, ``format``): near-duplicate slides by their
tissue-thumbnail hashes, in the batch and against an earlier release, and patients in two splits.

Byte-identical slide files stay ``file.duplicate_slide_content``'s; a pair of them is not reported
again here. No finding echoes a patient identifier: the slides (their ids, masked in the outputs
like every id) say which patient is meant.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from dqm.findings import Aspect, Finding, Severity, clip
from dqm.i18n import N_, msg
from dqm.pixels.hashes import BITS, WORDS, stack
from dqm.pixels.matches import Matches, cross_matches, near_matches
from validators.context import BatchView, EarlierRelease, ItemFacts
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
        "BASELINE_HASH_MALFORMED": "slide hashes of the earlier release given as baseline are not hashes dqm "
        "writes (another length, not hex): those slides are not compared",
    },
    code_severity={
        "NEAR_DUPLICATE_SLIDE": Severity.WARNING,
        "NEAR_DUPLICATE_SAME_PATIENT": Severity.INFO,
        "NEAR_DUPLICATE_OTHER_PATIENT": Severity.ERROR,
        "SLIDE_DELIVERED_AGAIN": Severity.WARNING,
        "BASELINE_HASH_MALFORMED": Severity.WARNING,
    },
)
def near_slides(batch: BatchView, params: NearParams, ctx: CheckContext) -> list[Finding]:
    """No two slides show the same tissue, in the batch or the baseline release (hashes, any rotation or flip)."""
    words, index = stack([f.perceptual_hash for f in batch.items])
    hashed = [batch.items[n] for n in index]
    # one finding per slide, against the earlier slide it matches worst: a cluster of n alike
    # slides gives n - 1 findings, not n^2 / 2; its pairs are tallied, never listed
    found = near_matches(words, params.max_distance, _patients(hashed, params), _files(hashed))
    out = [
        _pair_finding(batch, index[r], index[int(found.other[r])], found, r, ctx)
        for r in np.nonzero(found.number)[0].tolist()
    ]
    if batch.earlier is not None and batch.earlier.slides:
        old, old_index = stack([s.perceptual_hash for s in batch.earlier.slides])
        if len(old_index) < len(batch.earlier.slides):
            out.append(_malformed_earlier(batch.earlier, set(old_index), ctx))
        codes: dict[str, int] = {}
        names = np.array(
            [codes.setdefault(batch.earlier.slides[k].slide_id, len(codes)) for k in old_index],
            dtype=np.int64,
        )
        # the same slide under its own id is the item delivered again (a redelivery's unchanged
        # slide), not a duplicate across releases
        ids = [[codes.get(name, -1) for name in batch.earlier.names(f.slide_id)] for f in hashed]
        width = max(map(len, ids), default=1)
        own = np.array([row + [-1] * (width - len(row)) for row in ids], dtype=np.int64)
        again = cross_matches(words, old, params.max_distance, own.reshape(-1, width), names)
        for r in np.nonzero(again.number)[0].tolist():
            facts, earlier = hashed[r], batch.earlier.slides[old_index[int(again.other[r])]]
            where = f" ({earlier.image_path!r})" if earlier.image_path else ""
            template = (
                N_(
                    "slide looks like slide {slide_id!r}{where} of the earlier release {release} "
                    "(hash distance {d} of {bits} bits); and {others} other slide(s) as near"
                )
                if again.number[r] > 1
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
                        d=int(again.distance[r]),
                        bits=HASH_BITS,
                        others=int(again.number[r]) - 1,
                    ),
                    item_id=facts.slide_id,
                    file=facts.image_path,
                )
            )
    return out


def _malformed_earlier(earlier: EarlierRelease, parsed: set[int], ctx: CheckContext) -> Finding:
    """The finding of the earlier release's slides whose hashes :func:`stack` left out (a
    hand-edited or foreign ``results.json``): they were dropped without a word."""
    bad = [k for k in range(len(earlier.slides)) if k not in parsed]
    return ctx.finding(
        "BASELINE_HASH_MALFORMED",
        msg(
            "{n} of {total} slide hashes of the earlier release {release} are not hashes dqm writes "
            "({chars} hex characters): those slides are not compared (the first: slide {slide_id!r})",
            n=len(bad),
            total=len(earlier.slides),
            release=earlier.name,
            chars=HASH_BITS // 4,
            slide_id=earlier.slides[bad[0]].slide_id,
        ),
        item_id="batch",
    )


def _patients(items: list[ItemFacts], params: NearParams) -> np.ndarray:
    """Each item's patient as a code, -1 where not known."""
    codes: dict[str, int] = {}
    out = []
    for facts in items:
        patient = _text(facts.clinical.get(params.patient_column))
        out.append(-1 if patient is None else codes.setdefault(patient, len(codes)))
    return np.array(out, dtype=np.int64)


def _files(items: list[ItemFacts]) -> np.ndarray:
    """Which items are one slide file, as codes: two items are when equal in a column: the same
    path, byte-identical files (one full hash), or one fingerprint where neither has a full hash
    (``file.duplicate_slide_content`` reports them); a missing value is a code of its own."""
    codes: dict[tuple[int, str], int] = {}
    out = []
    for n, facts in enumerate(items):
        keys = (
            facts.image_path,
            facts.full_hash or None,
            None if facts.full_hash else facts.fingerprint or None,
        )
        out.append(
            [-1 - n if key is None else codes.setdefault((c, key), len(codes)) for c, key in enumerate(keys)]
        )
    return np.array(out, dtype=np.int64).reshape(-1, 3)


_JUDGED = (
    ("NEAR_DUPLICATE_OTHER_PATIENT", N_("; of two different patients: a likely mix-up")),
    ("NEAR_DUPLICATE_SLIDE", ""),
    ("NEAR_DUPLICATE_SAME_PATIENT", N_("; both of one patient (a recut or rescan?)")),
)
"""What a near pair is by its patients, worst first (msgids: the finding's ``{_why}``)."""


def _pair_finding(
    batch: BatchView, second: int, first_item: int, found: Matches, r: int, ctx: CheckContext
) -> Finding:
    """The finding of slide ``second`` (row ``r`` of ``found``) near earlier slides: about the
    worst of them (two patients before unknown before one, then the nearest), ``first_item``."""
    facts, first = batch.items[second], batch.items[first_item]
    code, why = _JUDGED[int(found.rank[r])]
    others = int(found.number[r]) - 1
    template = (
        N_(
            "slide looks like slide {slide_id!r} ({path!r}): hash distance {d} of {bits} bits, under any "
            "rotation or flip{_why}; and {others} other slide(s) as near"
        )
        if others
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
            d=int(found.distance[r]),
            bits=HASH_BITS,
            _why=why,
            others=others,
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
