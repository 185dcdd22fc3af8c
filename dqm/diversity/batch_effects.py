"""Stain and scanner batch effects: can a model tell the institution from how a slide looks?

Two parts, both over the variables of :data:`~dqm.diversity.variables.VARIABLES` marked ``batch``:

* :func:`comparisons` — every continuous descriptor across the institutions and the scanners
  (Kruskal–Wallis H, η²_H, one corrected family of their own; reported, not gated).
* :func:`site_prediction` — a cross-validated logistic regression (scikit-learn) predicting the
  institution, once from the stain descriptors (``pixel``) and once from the acquisition metadata
  (``acquisition``: scanner, vendor, codec, JPEG quality, resolution), never mixed: acquisition
  metadata identifies the site almost perfectly on real data and would hide what the colours say.
  The institutions' class mix is controlled by reweighting: each slide of class c at institution s
  weighs n_s · p_c / n_sc, so every institution has the batch's class mix in the weighted data,
  and both the fit and the AUC use the weights (classes absent from some institution are left out,
  since no weight can balance them). The AUC is out-of-fold (stratified by institution and class),
  one-vs-rest macro for more than two institutions, with a 95 % bootstrap interval over slides and
  a permutation baseline (institutions permuted within each class, so the class mix per institution
  stays as it is; the same cross-validation). Which descriptors carry a prediction: the mean drop
  of the out-of-fold AUC when a descriptor's values are permuted in the test fold. Every random
  step is seeded by the profile's ``seed``.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from dqm.diversity.family import fmt_p
from dqm.diversity.models import BatchEffects, Comparison, Importance, SitePrediction, TestResult
from dqm.diversity.settings import BatchEffectSettings, DiversitySettings
from dqm.diversity.stats import ETA2_THRESHOLDS, adjust, effect_label, kruskal_wallis
from dqm.diversity.table import Table
from dqm.diversity.variables import ACQUISITION, PIXEL
from dqm.i18n import N_, msg
from dqm.tolerance import fmt_among

GROUPINGS = ("institution", "scanner_header", "scanner")
"""What the descriptors are compared across: the institution, the scanner the header names, the
scanner of the clinical record."""
MAX_MEDIANS = 20
IMPORTANCE_REPEATS = 3
MODEL = "logistic regression (standardised, median-imputed descriptors; scikit-learn)"
NO_CLASS = "(no class)"
Kind = Literal["pixel", "acquisition"]


def comparisons(table: Table, correction: str, alpha: float) -> list[Comparison]:
    """Each continuous ``batch`` descriptor across the categories of each grouping that has two or more.

    Kruskal–Wallis H with η²_H; the p-values are adjusted together (their own family). A descriptor
    with fewer than two groups holding values, or all values equal, is listed with the reason.
    """
    names = [n for n in (*PIXEL, *ACQUISITION) if table.variables[n].kind == "continuous"]
    drafts: list[tuple[Comparison, Any]] = []
    for by in GROUPINGS:
        groups = table.columns[by]
        cats = sorted({g for g in groups.tolist() if g is not None})
        if len(cats) < 2:
            continue
        code = {c: i for i, c in enumerate(cats)}
        ids = np.fromiter((-1 if g is None else code[g] for g in groups.tolist()), np.int64, len(groups))
        for name in names:
            x = table.columns[name]
            ok = (ids >= 0) & ~np.isnan(x)
            parts = _split(x[ok], ids[ok], cats)
            outcome = kruskal_wallis(list(parts.values()))
            largest = sorted((c for c in cats if len(parts[c])), key=lambda c: -len(parts[c]))[:MAX_MEDIANS]
            draft = Comparison(
                variable=name,
                label=table.variables[name].label,
                by=by,
                method=outcome.method,
                statistic=outcome.statistic,
                df=outcome.df,
                p_value=outcome.p_value,
                effect_size=outcome.effect,
                effect_label=effect_label(outcome.effect, "eta2"),
                n=outcome.n,
                medians={c: float(np.median(parts[c])) for c in largest},
                sentence=msg("not compared: {note}", note=outcome.note) if outcome.p_value is None else "",
            )
            drafts.append((draft, outcome))
    tested = [i for i, (_, o) in enumerate(drafts) if o.p_value is not None]
    adjusted = dict(zip(tested, adjust([drafts[i][1].p_value for i in tested], correction), strict=True))
    out = []
    for i, (c, _) in enumerate(drafts):
        p_adj = adjusted.get(i)
        if p_adj is None:
            out.append(c)
            continue
        by_label = table.variables[c.by].label
        size = (
            f"η²_H {fmt_among(c.effect_size, ETA2_THRESHOLDS)} ({c.effect_label}), p_adj {fmt_p(p_adj)}"
            if c.effect_size is not None
            else ""
        )
        template = (
            N_("{label} differs across {by} ({size})")
            if p_adj < alpha
            else N_("no evidence that {label} differs across {by} ({size})")
        )
        text = msg(template, label=c.label, by=by_label, size=size)
        out.append(c.model_copy(update={"p_adjusted": p_adj, "sentence": text}))
    return out


def _split(values: np.ndarray, ids: np.ndarray, cats: Sequence[Any]) -> dict[Any, np.ndarray]:
    """The values of each category of ``cats`` (``ids``: each value's index in ``cats``), in their
    order (empty where it has none), by one stable sort: one comparison of the whole column per
    category was quadratic (9,000 institutions of one slide each: 26 s)."""
    order = np.argsort(ids, kind="stable")
    pieces = np.split(values[order], np.cumsum(np.bincount(ids, minlength=len(cats)))[:-1])
    return dict(zip(cats, pieces, strict=True))


def _present(table: Table, names: Sequence[str]) -> np.ndarray:
    """Which rows have a value of at least one of ``names``."""
    present = np.zeros(table.n_items, dtype=bool)
    for name in names:
        col = table.columns[name]
        present |= ~np.isnan(col) if table.variables[name].kind == "continuous" else col != None  # noqa: E711
    return present


MAX_ONE_HOT = 500
"""Categories of one categorical descriptor with two sampled slides or more given a column each,
at most; past it the most frequent half keep theirs (ties by a digest of the name) and the others
share the other half by that digest (:func:`_one_hot`). The cost grows with the columns: 5,000
slides with 2,500 scanners of two slides each, 34 s of CPU and 494 MB with a column each, 8 s and
262 MB so, four scanners 4 s and 200 MB. With a cap of 100 and ties by name, the first names kept
their columns: serial numbers by site (a column a slide, none of which can carry out of fold) read
as a batch effect of the site whose names sort first (AUC 0.51 -> 0.75, warn), and 300 scanners of
two slides each no longer did (warn 0.98 -> pass 0.73)."""
MIN_ONE_HOT = 2
"""Sampled slides a category needs for a column of its own. A category of one slide is in the test
fold or in the training folds, never both: its column cannot carry a prediction out of fold. Such
categories share one column: serial numbers, a category a slide, cost one column, not one a slide."""


def _digest(category: Any) -> bytes:
    return hashlib.blake2b(str(category).encode("utf-8", "surrogatepass"), digest_size=8).digest()


@dataclass(frozen=True, slots=True)
class Pooling:
    """How the categories of a categorical descriptor became columns (:func:`_one_hot`)."""

    categories: int
    own: int
    """Categories with a column of their own."""
    hashed: int
    """Categories sharing :attr:`buckets` columns by a digest of their name."""
    buckets: int
    rare: int
    """Categories of one slide, sharing one column."""


def _one_hot(col: np.ndarray) -> tuple[list[np.ndarray], Pooling]:
    """The one-hot columns of a categorical column: one for each category of :data:`MIN_ONE_HOT`
    slides or more (in the order of their names); past :data:`MAX_ONE_HOT` such categories, the
    half most frequent (ties by a digest of the name) and the others shared out among the other
    half by that digest; then one column for the categories of one slide, if any."""
    values = col.tolist()
    counts = Counter(c for c in values if c is not None)
    common = sorted(
        (c for c, n in counts.items() if n >= MIN_ONE_HOT), key=lambda c: (-counts[c], _digest(c))
    )
    own = common if len(common) <= MAX_ONE_HOT else common[: MAX_ONE_HOT // 2]
    buckets = MAX_ONE_HOT - len(own) if len(own) < len(common) else 0
    column = {c: k for k, c in enumerate(sorted(own))}
    column.update((c, len(own) + int.from_bytes(_digest(c), "big") % buckets) for c in common[len(own) :])
    rare = len(own) + buckets
    index = np.fromiter((-1 if c is None else column.get(c, rare) for c in values), np.int64, len(values))
    width = rare + (len(common) < len(counts))
    out = [index == k for k in range(width)]
    return out, Pooling(len(counts), len(own), len(common) - len(own), buckets, len(counts) - len(common))


def _features(
    table: Table, names: Sequence[str], rows: np.ndarray
) -> tuple[np.ndarray, list[str], list[tuple[str, Pooling]]]:
    """The design matrix of ``rows`` (NaN for missing), the variable each column belongs to, and
    the categorical variables whose categories shared columns. Categorical variables are one-hot
    (a missing value: all zeros), a column for each category the rows hold (:func:`_one_hot`):
    built for the sampled rows only, as one array (one-hot over the whole batch, 9,000 categories
    of one slide each made a matrix of 650 MB, stacked from a list as large)."""
    cols: list[tuple[str, np.ndarray]] = []
    pooled: list[tuple[str, Pooling]] = []
    for name in names:
        v, col = table.variables[name], table.columns[name][rows]
        if v.kind == "continuous":
            if (~np.isnan(col)).any():
                cols.append((name, col))
        else:
            hots, pooling = _one_hot(col)
            cols.extend((name, hot) for hot in hots)
            if pooling.hashed or pooling.rare > 1:  # a category of one slide alone keeps its column
                pooled.append((name, pooling))
    matrix = np.empty((len(rows), len(cols)))
    for j, (_, col) in enumerate(cols):
        matrix[:, j] = col
    return matrix, [name for name, _ in cols], pooled


def _keep(sites: np.ndarray, classes: np.ndarray, rows: np.ndarray, minimum: int) -> np.ndarray:
    """Rows of institutions with at least ``minimum`` slides, of classes every such institution has."""
    keep = rows.copy()
    for _ in range(10):  # dropping a class may shrink an institution under the minimum, and so on
        counts = Counter(sites[keep].tolist())
        kept_sites = [s for s in sorted(counts) if counts[s] >= minimum]
        keep &= np.isin(sites, kept_sites)
        pairs = set(zip(sites[keep].tolist(), classes[keep].tolist(), strict=True))
        shared = [c for c in sorted(set(classes[keep].tolist())) if all((s, c) in pairs for s in kept_sites)]
        new = keep & np.isin(classes, shared)
        if (new == keep).all():
            break
        keep = new
    return keep


def _sample(strata: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of at most ``limit`` rows, each stratum kept in proportion (at least one row)."""
    n = len(strata)
    if n <= limit:
        return np.arange(n)
    chosen = []
    for s in sorted(set(strata.tolist())):
        idx = np.flatnonzero(strata == s)
        take = max(1, round(limit * len(idx) / n))
        chosen.append(rng.choice(idx, size=min(take, len(idx)), replace=False))
    return np.sort(np.concatenate(chosen))


def class_weights(sites: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """n_s · p_c / n_sc per slide (mean 1): every institution gets the batch's class mix."""
    n = len(sites)
    out = np.empty(n)
    for s in sorted(set(sites.tolist())):
        in_s = sites == s
        for c in sorted(set(classes[in_s].tolist())):
            cell = in_s & (classes == c)
            out[cell] = in_s.sum() * ((classes == c).sum() / n) / cell.sum()
    return out / out.mean()


def weighted_auc(positive: np.ndarray, score: np.ndarray, w: np.ndarray) -> float:
    """Weighted ROC AUC of ``score`` for the ``positive`` slides: the weighted share of
    (positive, negative) pairs ranked right, ties counting half (``sklearn.metrics.roc_auc_score``
    with ``sample_weight`` gives the same; this one skips its input checks, called thousands of times)."""
    order = np.argsort(score, kind="mergesort")
    s, pos, ww = score[order], positive[order], w[order]
    _, start = np.unique(s, return_index=True)
    neg_w = np.where(pos, 0.0, ww)
    pos_w = np.where(pos, ww, 0.0)
    ends = np.append(start[1:], len(s))
    neg_tie = np.add.reduceat(neg_w, start)
    pos_tie = np.add.reduceat(pos_w, start)
    neg_below = np.cumsum(neg_tie) - neg_tie
    total_pos, total_neg = pos_w.sum(), neg_w.sum()
    if total_pos <= 0 or total_neg <= 0 or len(ends) == 0:
        raise ValueError("the AUC needs slides of both sides")
    return float((pos_tie * (neg_below + 0.5 * neg_tie)).sum() / (total_pos * total_neg))


def site_aucs(y: np.ndarray, proba: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Each institution's one-vs-rest AUC (with two institutions both are the binary AUC)."""
    if proba.shape[1] == 2:
        return np.full(2, weighted_auc(y == 1, proba[:, 1], w))
    return np.array([weighted_auc(y == c, proba[:, c], w) for c in range(proba.shape[1])])


def _auc(y: np.ndarray, proba: np.ndarray, w: np.ndarray) -> float:
    """Binary AUC for two institutions, else the one-vs-rest macro average."""
    return float(site_aucs(y, proba, w).mean())


def _splits(y: np.ndarray, classes: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified by institution and class when every such cell can be split, else by institution."""
    from sklearn.model_selection import StratifiedKFold

    cells = np.array([f"{a}|{b}" for a, b in zip(y.tolist(), classes.tolist(), strict=True)])
    _, counts = np.unique(cells, return_counts=True)
    strata = cells if counts.min() >= folds else y
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(cv.split(np.zeros(len(y)), strata))


def _cross_validate(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, splits: Sequence[tuple[np.ndarray, np.ndarray]], k: int
) -> tuple[np.ndarray, list[Any]]:
    """Out-of-fold probabilities and the model fitted on each fold (``x`` already standardised)."""
    from sklearn.linear_model import LogisticRegression

    proba = np.zeros((len(y), k))
    models = []
    with warnings.catch_warnings():
        # a convergence notice of a fold says nothing the AUC does not
        warnings.simplefilter("ignore")
        for train, test in splits:
            model = LogisticRegression(max_iter=500)
            model.fit(x[train], y[train], sample_weight=w[train])
            fitted = np.zeros((len(test), k))
            fitted[:, model.classes_] = model.predict_proba(x[test])
            proba[test] = fitted
            models.append(model)
    return proba, models


def _permuted_within(y: np.ndarray, classes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = y.copy()
    for c in sorted(
        set(classes.tolist())
    ):  # in a fixed order: the draws follow it (a set's order follows PYTHONHASHSEED)
        idx = np.flatnonzero(classes == c)
        out[idx] = y[rng.permutation(idx)]
    return out


def _importance(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    owners: Sequence[str],
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    models: Sequence[Any],
    k: int,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Mean drop of each fold's AUC when one variable's columns are permuted together in its test fold."""
    drops: dict[str, list[float]] = {o: [] for o in dict.fromkeys(owners)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for (_, test), model in zip(splits, models, strict=True):
            xt, yt, wt = x[test], y[test], w[test]
            proba = np.zeros((len(test), k))
            proba[:, model.classes_] = model.predict_proba(xt)
            base = _auc(yt, proba, wt)
            for owner in drops:
                idx = [i for i, o in enumerate(owners) if o == owner]
                for _ in range(IMPORTANCE_REPEATS):
                    xp = xt.copy()
                    xp[:, idx] = xt[rng.permutation(len(test))][:, idx]
                    proba[:, model.classes_] = model.predict_proba(xp)
                    drops[owner].append(base - _auc(yt, proba, wt))
    return {o: float(np.mean(d)) for o, d in drops.items()}


def standardised(x: np.ndarray) -> np.ndarray:
    """Missing values as the column's median, then zero mean and unit SD (a constant column: 0).

    Fitted on every slide used, without the labels: no institution is seen, so nothing leaks into
    the cross-validation that the folds would hide."""
    out = x.copy()
    for j in range(out.shape[1]):
        col = out[:, j]
        missing = np.isnan(col)
        col[missing] = np.median(col[~missing]) if (~missing).any() else 0.0
        sd = col.std()
        out[:, j] = (col - col.mean()) / sd if sd > 0 else 0.0
    return out


def _not_evaluated(kind: Kind, reason: str, excluded: int) -> SitePrediction:
    return SitePrediction(features=kind, evaluated=False, reason=reason, excluded=excluded, sentence=reason)


def site_prediction(
    table: Table, kind: Kind, settings: BatchEffectSettings, alpha: float, seed: int
) -> SitePrediction:
    """How well the ``kind`` descriptors predict the institution; ``evaluated`` False with the reason
    when there are too few institutions, slides or descriptors."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # hundreds of small fits: threads cost more than they give
        return _site_prediction(table, kind, settings, alpha, seed)


def _site_prediction(
    table: Table, kind: Kind, settings: BatchEffectSettings, alpha: float, seed: int
) -> SitePrediction:
    names = PIXEL if kind == "pixel" else ACQUISITION
    present = _present(table, names)
    sites = table.columns["institution"]
    classes = np.array(
        [c if c is not None else NO_CLASS for c in table.columns["class"].tolist()], dtype=object
    )
    rows = present & (sites != None)  # noqa: E711 (element-wise on an object array)
    what = N_("stain descriptors") if kind == "pixel" else N_("acquisition metadata")
    if not present.any():
        return _not_evaluated(kind, msg("no slide has {what}", what=what), table.n_items)
    keep = _keep(sites, classes, rows, settings.min_slides_per_site)
    kept_sites = sorted(set(sites[keep].tolist()))
    if len(kept_sites) < 2:
        return _not_evaluated(
            kind,
            msg(
                "fewer than two institutions with {n} or more slides with {what} (of classes every institution has)",
                n=settings.min_slides_per_site,
                what=what,
            ),
            table.n_items,
        )
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(keep)
    strata = np.array([f"{s}|{c}" for s, c in zip(sites[idx].tolist(), classes[idx].tolist(), strict=True)])
    idx = idx[_sample(strata, settings.max_slides, rng)]
    code = {s: i for i, s in enumerate(kept_sites)}
    y = np.array([code[s] for s in sites[idx].tolist()])
    cls = classes[idx]
    x, owners, pooled = _features(table, names, idx)
    notes = [
        msg(
            N_(
                "{label}: {categories} categories, {own} with a column of their own, {hashed} sharing "
                "{buckets} columns by a digest of their names, {rare} of one slide sharing one column"
            )
            if q.hashed
            else N_(
                "{label}: {categories} categories, {own} with a column of their own, {rare} of one "
                "slide sharing one column"
            ),
            label=table.variables[name].label,
            categories=q.categories,
            own=q.own,
            hashed=q.hashed,
            buckets=q.buckets,
            rare=q.rare,
        )
        for name, q in pooled
    ]
    xs, w, k = standardised(x), class_weights(sites[idx], cls), len(kept_sites)
    varies = xs.std(axis=0) > 0
    if not varies.any() and notes:  # a serial number a slide: no column carries out of fold
        reason = msg(
            "no {what} tell the slides apart once the categories of one slide are pooled ({notes})",
            what=what, notes="; ".join(notes),
        )  # fmt: skip
        return _not_evaluated(kind, reason, table.n_items)
    if not varies.any():
        return _not_evaluated(kind, f"every slide has the same {what}", table.n_items)
    xs, owners = xs[:, varies], [o for o, v in zip(owners, varies.tolist(), strict=True) if v]
    folds = int(min(settings.folds, np.bincount(y).min()))
    splits = _splits(y, cls, folds, seed)
    try:
        proba, models = _cross_validate(xs, y, w, splits, k)
        auc, per_site = _auc(y, proba, w), site_aucs(y, proba, w)
        fold_aucs = [_auc(y[t], proba[t], w[t]) for _, t in splits]
    except ValueError as exc:  # a fold without two institutions: too few slides to say anything
        return _not_evaluated(kind, f"the cross-validation could not be scored: {exc}", table.n_items)
    boot = []
    for _ in range(settings.bootstrap):
        b = rng.integers(0, len(y), len(y))
        if len(set(y[b].tolist())) == k:
            boot.append(_auc(y[b], proba[b], w[b]))
    perms: list[tuple[float, float]] = []
    for _ in range(settings.permutations):
        yp = _permuted_within(y, cls, rng)
        try:
            pp, _ = _cross_validate(xs, yp, w, _splits(yp, cls, folds, seed), k)
            perms.append((_auc(yp, pp, w), float(site_aucs(yp, pp, w).max())))
        except ValueError:
            continue
    drops = _importance(xs, y, w, owners, splits, models, k, rng)
    labels = {n: table.variables[n].label for n in drops}
    return _prediction(
        kind,
        settings,
        alpha,
        Evidence(auc, per_site, fold_aucs, boot, perms, drops),
        labels,
        notes,
        kept_sites,
        folds,
        n=len(y),
        excluded=table.n_items - len(y),
    )


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the cross-validation, the bootstrap, the permutations and the importance measured."""

    auc: float
    per_site: np.ndarray
    fold_aucs: list[float]
    boot: list[float]
    perms: list[tuple[float, float]]
    """(macro AUC, largest institution's AUC) of each permutation."""
    drops: dict[str, float]

    def p_values(self) -> tuple[float | None, float | None]:
        """Monte Carlo p-values (1 + permutations at least as high) / (1 + permutations) of the macro
        AUC and of the largest institution's AUC (compared with each permutation's largest)."""
        if not self.perms:
            return None, None
        n = len(self.perms) + 1
        top = float(self.per_site.max())
        return (
            (1 + sum(m >= self.auc for m, _ in self.perms)) / n,
            (1 + sum(t >= top for _, t in self.perms)) / n,
        )


def _prediction(
    kind: Kind,
    settings: BatchEffectSettings,
    alpha: float,
    e: Evidence,
    labels: dict[str, str],
    pooled: Sequence[str],
    sites: list[str],
    folds: int,
    n: int,
    excluded: int,
) -> SitePrediction:
    """The decision and its sentence from the evidence; ``pooled`` says which categorical
    descriptors' rarer categories shared a column (:func:`_one_hot`), after the figures."""
    what = N_("stain descriptors") if kind == "pixel" else N_("acquisition metadata")
    ranked = sorted(e.drops.items(), key=lambda kv: -kv[1])
    carriers = [labels[n] for n, d in ranked if d >= settings.importance_min]
    p_macro, p_top = e.p_values()
    perm_macro = [m for m, _ in e.perms]
    perm_mean = float(np.mean(perm_macro)) if perm_macro else None
    ci = (float(np.percentile(e.boot, 2.5)), float(np.percentile(e.boot, 97.5))) if e.boot else (None, None)
    by_site = dict(zip(sites, e.per_site.tolist(), strict=True))
    standing_out = [s for s, a in by_site.items() if a >= settings.auc_warn]
    whole = p_macro is not None and p_macro <= alpha and e.auc >= settings.auc_warn
    one = p_top is not None and p_top <= alpha and bool(standing_out)
    ci_text = f", 95 % CI {ci[0]:.2f}–{ci[1]:.2f}" if ci[0] is not None else ""
    perm_text = (
        "; " + msg("permuted institutions {auc:.2f}, p {p}", auc=perm_mean, p=fmt_p(p_macro))
        if perm_mean is not None
        else ""
    )
    from dqm.tolerance import fmt_decimals, fmt_value_target

    # beside the warning level, an AUC under it never reads as it (0.7496: not "0.75" under 0.75)
    figures = (
        f"AUC {fmt_decimals(e.auc, 2, settings.auc_warn, e.auc >= settings.auc_warn)}{ci_text}{perm_text}"
    )
    if one:
        best = ", ".join(
            f"{s} (AUC {fmt_decimals(by_site[s], 2, settings.auc_warn, True)})" for s in standing_out
        )
        figures += "; " + msg("told apart best: {sites}", sites=best)
    figures += "".join("; " + p for p in pooled)
    if whole or one:
        if carriers:
            sentence = msg(
                "the {what} predict the institution ({figures}): a batch effect a model can learn; "
                "carried by {carriers}",
                what=what, figures=figures, carriers=", ".join(carriers[:5]),
            )  # fmt: skip
        else:
            sentence = msg(
                "the {what} predict the institution ({figures}): a batch effect a model can learn",
                what=what, figures=figures,
            )  # fmt: skip
    elif p_macro is not None and p_macro <= alpha:
        sentence = msg(
            "the {what} predict the institution a little ({figures}), under the warning level {warn}",
            what=what, figures=figures, warn=fmt_value_target(settings.auc_warn, False),
        )  # fmt: skip
    else:
        sentence = msg(
            "the {what} do not predict the institution beyond chance ({figures})", what=what, figures=figures
        )
    return SitePrediction(
        features=kind,
        evaluated=True,
        model=MODEL,
        n=n,
        excluded=excluded,
        sites=sites,
        folds=folds,
        auc=e.auc,
        ci_low=ci[0],
        ci_high=ci[1],
        fold_aucs=e.fold_aucs,
        site_aucs=by_site,
        permutation_auc=perm_mean,
        permutation_p95=float(np.percentile(perm_macro, 95)) if perm_macro else None,
        permutation_p=p_macro,
        site_permutation_p=p_top,
        class_control=N_("reweighted (n_s · p_c / n_sc) so every institution has the batch's class mix"),
        importance=[Importance(variable=n, label=labels[n], drop=d) for n, d in ranked],
        carriers=carriers,
        decision="warn" if whole or one else "pass",
        sentence=sentence,
    )


def as_test(p: SitePrediction, settings: BatchEffectSettings, alpha: float) -> TestResult:
    """The prediction as a row of the dimension's tests: the stain descriptors' is gated (a warning
    at most), the acquisition metadata's reported only."""
    from dqm.tolerance import fmt_value_target

    gated = p.features == "pixel"
    rule = (
        msg(
            "warn when the out-of-fold AUC ≥ {auc} and the permutation p ≤ {alpha:g}",
            auc=fmt_value_target(settings.auc_warn, False),
            alpha=alpha,
        )
        if gated
        else N_(
            "reported only: scanner, resolution and compression often identify the institution by themselves"
        )
    )
    return TestResult(
        name=f"site_predictability.{p.features}",
        title=N_("institution predicted from the stain descriptors")
        if gated
        else N_("institution predicted from the acquisition metadata"),
        variables=["institution", *(i.variable for i in p.importance)],
        method=N_("cross-validated logistic regression, permutation baseline"),
        statistic=p.auc,
        statistic_name="AUC",
        p_value=p.permutation_p,
        effect_size=p.auc,
        effect_name="AUC",
        n=p.n,
        excluded=p.excluded,
        decision=(p.decision if gated else "pass") if p.evaluated else "not_applicable",
        rule=rule,
        sentence=p.sentence,
        gated=gated,
    )


def batch_effects(table: Table, settings: DiversitySettings) -> BatchEffects:
    """Comparisons across institutions and scanners, and both site predictions."""
    s = settings.batch_effects
    assert s is not None, "the profile turned the batch-effect analysis off"
    method = msg(
        "Stain descriptors (Macenko stain vectors, optical density, H and E concentration percentiles, "
        "background brightness, from the tissue at low resolution) and acquisition metadata (scanner, "
        "vendor, codec, JPEG quality, resolution) are compared across institutions and scanners with "
        "Kruskal–Wallis tests (η²_H; their own corrected family, reported), and each set predicts the "
        "institution on its own: {model}, {folds}-fold cross-validation stratified by institution and "
        "class, class mix controlled by reweighting every institution to the batch's class mix (classes "
        "absent from an institution left out), AUC one-vs-rest macro, {bootstrap} bootstrap resamples for "
        "its interval, {permutations} permutations of the institutions within each class for the "
        "baseline, permutation importance for the descriptors that carry it; seed {seed}.",
        model=MODEL, folds=s.folds, bootstrap=s.bootstrap, permutations=s.permutations, seed=settings.seed,
    )  # fmt: skip
    return BatchEffects(
        pixel=site_prediction(table, "pixel", s, settings.alpha, settings.seed),
        acquisition=site_prediction(table, "acquisition", s, settings.alpha, settings.seed),
        comparisons=comparisons(table, settings.correction, settings.alpha),
        method=method,
    )
