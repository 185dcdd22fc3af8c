"""Agreement between reviewers, the disagreements, and the rule that settles them.

* Two reviewers: Cohen's kappa over the slides both judged, with the large-sample standard error
  of Fleiss, Cohen & Everitt (1969) and a normal interval (the formula statsmodels'
  ``cohens_kappa`` uses).
* Three or more: Fleiss' kappa over the slides every reviewer judged, with a percentile bootstrap
  interval over slides (seeded, so reproducible): the usual analytic variance of Fleiss' kappa
  holds only under κ = 0, which makes it a test, not an interval.
* Adjudication of a slide judged by several reviewers: ``strict`` (FAIL if anyone says FAIL),
  ``majority`` (ties FAIL, the conservative side) or ``reviewer=NAME`` (NAME's verdict; the strict
  rule over the others where NAME did not judge the slide).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dqm.semantic.intervals import z_value
from dqm.semantic.models import Kappa

CATEGORIES = ("pass", "fail")


def parse_adjudication(rule: str) -> tuple[str, str | None]:
    """``strict`` / ``majority`` / ``reviewer=NAME`` → (kind, name). ValueError otherwise."""
    rule = rule.strip()
    if rule in ("strict", "majority"):
        return rule, None
    if rule.startswith("reviewer="):
        name = rule.split("=", 1)[1].strip()
        if name:
            return "reviewer", name
    raise ValueError(f"unknown adjudication {rule!r}: use strict, majority or reviewer=NAME")


def adjudicate(verdicts: Mapping[str, str], rule: str = "strict") -> str:
    """The final verdict of one slide from its reviewers' verdicts (reviewer → pass / fail).

    One verdict is final as it is. Raises ValueError for no verdict or an unknown rule.
    """
    if not verdicts:
        raise ValueError("no verdict to adjudicate")
    kind, name = parse_adjudication(rule)
    values = list(verdicts.values())
    if kind == "reviewer" and name is not None and name in verdicts:
        return verdicts[name]
    if kind == "majority":
        fails = values.count("fail")
        return "fail" if fails * 2 >= len(values) else "pass"
    return "fail" if "fail" in values else "pass"


def _table(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(CATEGORIES)}
    table = np.zeros((len(CATEGORIES), len(CATEGORIES)))
    for x, y in zip(a, b, strict=True):
        table[index[x], index[y]] += 1
    return table


def cohen_kappa(
    a: Sequence[str], b: Sequence[str], reviewers: Sequence[str] = ("a", "b"), confidence: float = 0.95
) -> Kappa:
    """Cohen's kappa between two reviewers' verdicts on the same slides, with a normal interval.

    Degenerate input: no common slide gives ``kappa`` None; when chance agreement is 1 (both
    reviewers gave one and the same verdict to every slide) kappa is undefined (None), with a note.
    The interval is clipped to [-1, 1]; with a zero standard error it collapses on the estimate.
    """
    n = len(a)
    base = dict(
        method="cohen", reviewers=list(reviewers), n_items=n, ci_method="normal, Fleiss–Cohen–Everitt SE"
    )
    if n == 0:
        return Kappa(**base, kappa=None, note="no slide judged by both reviewers")  # type: ignore[arg-type]
    table = _table(a, b)
    probs = table / n
    row, col = probs.sum(axis=1), probs.sum(axis=0)
    p_o = float(np.trace(probs))
    p_e = float((row * col).sum())
    if p_e >= 1.0 - 1e-12:
        return Kappa(
            **base,  # type: ignore[arg-type]
            kappa=None,
            observed_agreement=p_o,
            expected_agreement=p_e,
            note="kappa undefined: both reviewers gave every slide the same single verdict",
        )
    kappa = (p_o - p_e) / (1.0 - p_e)
    diag = np.diag(probs)
    term_a = float((diag * (1.0 - (row + col) * (1.0 - kappa)) ** 2).sum())
    off = probs * (col[:, None] + row[None, :]) ** 2
    np.fill_diagonal(off, 0.0)
    term_b = (1.0 - kappa) ** 2 * float(off.sum())
    term_c = (kappa - p_e * (1.0 - kappa)) ** 2
    var = max((term_a + term_b - term_c) / (1.0 - p_e) ** 2 / n, 0.0)
    half = z_value(confidence) * math.sqrt(var)
    return Kappa(
        **base,  # type: ignore[arg-type]
        kappa=kappa,
        ci_low=max(-1.0, kappa - half),
        ci_high=min(1.0, kappa + half),
        observed_agreement=p_o,
        expected_agreement=p_e,
    )


def fleiss_value(counts: np.ndarray) -> tuple[float | None, float, float]:
    """Fleiss' kappa of an ``items × categories`` count matrix (same number of raters per item).

    Returns ``(kappa, P̄, P_e)``; kappa is None when ``P_e`` is 1 (one category only).
    """
    counts = np.asarray(counts, dtype=float)
    n_items = counts.shape[0]
    m = counts.sum(axis=1)[0]
    p_j = counts.sum(axis=0) / (n_items * m)
    p_i = ((counts**2).sum(axis=1) - m) / (m * (m - 1.0))
    p_bar = float(p_i.mean())
    p_e = float((p_j**2).sum())
    if p_e >= 1.0 - 1e-12:
        return None, p_bar, p_e
    return (p_bar - p_e) / (1.0 - p_e), p_bar, p_e


def fleiss_kappa(
    ratings: Mapping[str, Mapping[str, str]],
    reviewers: Sequence[str],
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Kappa:
    """Fleiss' kappa over the slides every reviewer judged, with a seeded bootstrap interval.

    ``ratings`` maps slide id → (reviewer → pass / fail). Slides missing a reviewer are left out
    (the note says how many). Fewer than two complete slides give no interval; one category only
    gives kappa None. Bootstrap replicates whose kappa is undefined are dropped (the note counts them).
    """
    complete = sorted(s for s, r in ratings.items() if all(x in r for x in reviewers))
    left_out = len(ratings) - len(complete)

    def make(**kw: Any) -> Kappa:
        return Kappa(
            method="fleiss",
            reviewers=list(reviewers),
            n_items=len(complete),
            ci_method=f"percentile bootstrap over slides ({n_boot} replicates, seed {seed})",
            **kw,
        )

    notes = [f"{left_out} slide(s) not judged by every reviewer left out"] if left_out else []
    if not complete:
        return make(kappa=None, note="; ".join(["no slide judged by every reviewer", *notes]))
    counts = np.array(
        [[sum(ratings[s][r] == c for r in reviewers) for c in CATEGORIES] for s in complete], dtype=float
    )
    kappa, p_bar, p_e = fleiss_value(counts)
    if kappa is None:
        notes.insert(0, "kappa undefined: every reviewer gave every slide the same single verdict")
        return make(kappa=None, observed_agreement=p_bar, expected_agreement=p_e, note="; ".join(notes))
    low = high = None
    if len(complete) >= 2:
        rng = np.random.default_rng(seed)
        reps = []
        for _ in range(n_boot):
            k, _, _ = fleiss_value(counts[rng.integers(0, len(complete), len(complete))])
            if k is not None:
                reps.append(k)
        if len(reps) < n_boot:
            notes.append(f"{n_boot - len(reps)} bootstrap replicate(s) with undefined kappa dropped")
        if reps:
            alpha = 1.0 - confidence
            low, high = (float(v) for v in np.quantile(reps, [alpha / 2.0, 1.0 - alpha / 2.0]))
    else:
        notes.append("one slide only: no interval")
    return make(
        kappa=kappa,
        ci_low=low,
        ci_high=high,
        observed_agreement=p_bar,
        expected_agreement=p_e,
        note="; ".join(notes),
    )


def agreement(
    ratings: Mapping[str, Mapping[str, str]], confidence: float = 0.95, seed: int = 0
) -> Kappa | None:
    """Cohen's kappa for two reviewers, Fleiss' for more, None for one or none."""
    reviewers = sorted({r for per in ratings.values() for r in per})
    if len(reviewers) < 2:
        return None
    if len(reviewers) == 2:
        both = sorted(s for s, r in ratings.items() if all(x in r for x in reviewers))
        a = [ratings[s][reviewers[0]] for s in both]
        b = [ratings[s][reviewers[1]] for s in both]
        return cohen_kappa(a, b, reviewers, confidence)
    return fleiss_kappa(ratings, reviewers, confidence, seed=seed)
