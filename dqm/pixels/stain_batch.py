"""Over- and under-staining judged against the slide's own batch (issue 15 §1).

A site's staining protocol makes all of its slides darker or paler than another site's: the
absolute rules of :mod:`dqm.pixels.artefacts` (``OVERSTAIN_MIN_OD``, ``UNDERSTAIN_MAX_OD`` and the
profile's shares) flagged 11 of 18 dark EBHI crops and all 6 pale TNBC patches, each clean for its
site. Here a slide is over- or under-stained when its stain strength is an outlier among the other
slides of its institution (when the batch names institutions and that one has :data:`MIN_PEERS`
other measured slides), else of the whole batch; with fewer peers the absolute rule judges its
over-staining, and only the safety net and a faint-and-pale rule its under-staining (:func:`verdict`),
and likewise a slide over the absolute share whose group is too small to judge as a whole
(:func:`group_verdict`: a group alike and stained darker would be neither outlier nor group).

The descriptor is the mean optical density of the slide's tissue (``od_mean`` of the stain
descriptors the probe already keeps in the slide summary, :mod:`dqm.pixels.stain`) on a log scale
(:func:`strength`): stain three times too strong or a quarter as strong moves it by about 0.3 to
0.6, while the clean slides of one site spread by a median absolute deviation of 0.04 to 0.19
(GlaS the widest). Where the slide and ``min_peers`` of its peers have the nuclei's density too
(``h_p99``, the 99th percentile of the haematoxylin concentration, also in the stain descriptors),
the slide's spreads are the mean of the two descriptors' (:func:`verdict`, :data:`MEASURES`): a
slide's mean density moves with its tissue (stroma, nuclei) as much as with its stain, and BreakHis's
palest clean slides made three times darker stayed inside the density's floor (found 34 of 46, 38
with both). The shares of near-black and of pale tissue the absolute rules use separate
worse within a site: most clean slides have no near-black pixel at all (a spread of zero), a pale
site's slides have no nucleus-dense one, and a pale slide made paler changes neither. Each slide
is compared, leaving itself out, with its peers' median; the spread is their median absolute
deviation (scaled to a normal's standard deviation), at least :data:`MIN_SPREAD`: a slide is
flagged when it lies more than :data:`MAX_Z` spreads beyond the median, on the kind's side. A
slide whose density is no outlier but whose near-black share passes the absolute rule and lies
as far past its peers' shares (:func:`by_share`, the spread at least the absolute share: their
median plus 4.5 % near-black among clean peers, with the built-in 3 %) is over-stained too: a
few slides at 30 % near-black among clean ones were flagged by no rule. The constants were chosen by ``benchmarks/bench_artefacts.py`` on GlaS train, the real-slide regions
and the external set (its docstring gives the figures).

A safety net stays absolute (:data:`EXTREME_SHARE`, :data:`EXTREME_OD`): a value no clean slide
of any measured site reaches is flagged whatever its peers show, so a batch mis-stained as a whole is still seen
there. A batch or institution stained darker or paler as a whole, short of that, is not an
outlier among its own slides: no slide of it is flagged for it; the group is reported once
(:func:`group_verdicts`) when its own median share passes the absolute rule, and §3's batch-effect
report compares the institutions' stain descriptors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from dqm.pixels.artefacts import Artefacts

STAIN_KINDS = ("overstain", "understain")
MIN_PEERS = 5
"""Fewest other measured slides a reference group (an institution, else the batch) needs; fewer:
the absolute rule judges the slide."""
MAX_Z = 1.5
"""A slide this many spreads beyond its peers' median (on the kind's side) is flagged."""
MIN_SPREAD = 0.2
"""The least spread (log10 of the optical density): peers alike to the pixel do not make a 25 %
step an outlier."""
EXTREME_SHARE = 0.5
"""The over-staining safety net: more than this share of the tissue near-black (clean slides of
every measured site: at most 0.18) is over-stained whatever the peers show."""
EXTREME_OD = 0.1
"""The under-staining safety net: a mean optical density of the tissue under this (clean slides
of every measured site: at least 0.19) is under-stained whatever the peers show."""
PALE_SHARE = 0.99
"""A slide without stain descriptors (too few pixels denser than ``dqm.pixels.stain.OD_MIN``)
whose tissue is more than this share paler than any nucleus counts at ``OD_MIN`` (:func:`od_of`)."""
OTHER_SIDE = 0.5
"""Spreads the nuclei's density must lie on the other side of its peers' median for the mean
density to judge a slide alone (:func:`verdict`): a slide three times darker whose nuclei are 0.7
times its peers' (0.8 spreads on the mean of the two) is over-stained by its density's 2.4. Not
cross-validated: on the 346 pooled stored rows every value from 0.4 to 1.0 flags what the mean of
the two flagged (clean 3, over 313, under 328-329 with the library's constants); 0.1 flags 2
more clean set-3 slides, 0.25 one more over- and under-stained copy (the pooled rows tabulated
by ``benchmarks/bench_artefacts.py --shares POOL --stain-only`` at each value)."""
COLOUR_INKS = ("blue", "green", "red")
"""The pen inks that leave a slide's nuclei's density out (:func:`colour_pen_share`): not black,
whose rule (the brightest channel under 75 of 255, greyish: ``artefacts.BLACK_MAX_VALUE``) marks
near-black tissue as ink too, so that
over-staining a slide inked it and switched off the very measure that finds it (the review's pooled
rows, pen over 0.5 %: EBHI 1 clean slide of 18 against 10 of their over-stained copies, BreakHis
0 of 46 against 7, DL4ETI 11 of 51 against 16). Black ink on a clean slide is as dark as
over-staining in every descriptor dqm keeps: its nuclei stay in."""
NUCLEI_MAX_NEAR_BLACK_DEFAULT = 0.03
"""A slide whose tissue beside its ink is more than this share near-black keeps its nuclei's
density whatever its ink (:func:`nuclei_of`) where the profile sets no ``artefacts.slide``
over-stain share (the check reads that share, whose default this is): over-staining a slide makes
the blue pen rule read its darkened haematoxylin as ink (the pooled rows' over-stained copies: 10
to 54 % blue ink on EBHI, 4-37 % on UCSB, PANDA, DL4ETI), so ink alone would switch off the
measure that finds it. Clean inked slides of the pool are 0-1.2 % near-black beside their ink
(ThyHisTer's false-colour patches 0.4 and 1.2 %, DL4ETI's 0-0.1 %); one EBHI clean slide 4.3 %.
Not tuned, not cross-validated: the absolute share one slide may have."""
NUCLEI_MAX_PEN_DEFAULT = 0.005
"""Coloured pen ink over more of the tissue than this leaves a slide's nuclei's density out
(:func:`nuclei_of`) where the profile sets no ``artefacts.slide`` pen share (the check reads that
share, whose default this is): ink is as dense as a nucleus, so it raises ``h_p99``, taken over all
tissue before the pen mask exists. Two clean ThyHisTer patches whose false-colour blocks the pen
rule marks (7 % and 20 % of the tissue) had nuclei 3.7 and 4.0 times their peers' and were flagged
over-stained on the mean of the two (their density alone: 0.7 and 1.3 spreads); a pale copy with a
blue stroke over 4 % of its tissue was missed (density alone 1.8 spreads, 1.4 on the mean). Every
value from 0.005 to 0.05 gave the same verdicts on the 477 pooled stored rows (tuning and sets
1-4; ``benchmarks/bench_artefacts.py --shares POOL --stain-only``) when all ink counted; not a
tuned value, not cross-validated."""
MEASURES = ("density", "density+nuclei")
"""What a slide compared with its peers was judged on: its tissue's mean optical density alone, or
the mean of that and its nuclei's density (``h_p99``: the 99th percentile of the haematoxylin
concentration), each in spreads from its peers' median (:func:`verdict`)."""
RULES = ("institution", "batch", "share", "absolute", "extreme", "uncompared", "unmeasured")
"""Which rule judged a slide: its institution's or the batch's slides, their near-black shares
(:func:`by_share`: past the absolute share and far past theirs), the profile's absolute share (too
few peers), the safety net, none for under-staining in a batch too small to compare (:func:`verdict`:
only the safety net judged it), or none (no tissue measured)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """How one slide's over- or under-staining was judged."""

    kind: str
    share: float | None
    """The slide's share of the kind (None: not measured)."""
    rule: str
    """One of :data:`RULES`."""
    flagged: bool
    peers: int = 0
    """Slides of the reference group, the slide itself left out (0: no group; rule ``share``:
    those with a near-black share)."""
    od: float | None = None
    """The slide's mean optical density of its tissue (None: not measured)."""
    median: float | None = None
    """The peers' median optical density (rule ``share``: their median near-black share)."""
    z: float | None = None
    """Spreads from the peers' median, on the kind's side (positive: more over- or under-stained)."""
    group: str | None = None
    """The institution compared with (None: the batch, or no group)."""
    measure: str = "density"
    """One of :data:`MEASURES`: for rules ``institution`` and ``batch``, what ``z`` was measured on."""
    nuclei: float | None = None
    """Measure ``density+nuclei``: the slide's nuclei's density (``h_p99``), else None."""
    nuclei_median: float | None = None
    """Measure ``density+nuclei``: its peers' median ``h_p99``, else None."""
    group_shares: int | None = None
    """Rule ``absolute`` for a slide whose reference group could not be judged as a whole
    (:func:`group_verdict`: fewer than ``min_peers`` + 1 of its slides with a share, the batch's
    counted on the slides no institution group holds): how many have one; None otherwise."""


def stain_share(found: Artefacts | None, kind: str) -> float | None:
    """The slide summary's ``overstain_share`` or ``understain_share`` (``kind``) from the artefact
    measure; None where it did not run or found no tissue."""
    return found.shares[kind] if found is not None and found.tissue_px > 0 else None


def od_of(od_mean: float | None, understain: float | None) -> float | None:
    """The optical density a slide is compared with: its stain descriptors' mean, or, without
    them, ``OD_MIN`` when its tissue is nearly all paler than any nucleus (:data:`PALE_SHARE`: too
    pale to describe is an upper bound, not a gap); None (or NaN, or not positive): not measured."""
    from dqm.pixels.stain import OD_MIN

    if od_mean is not None and math.isfinite(od_mean) and od_mean > 0:
        return od_mean
    if od_mean is None and understain is not None and math.isfinite(understain) and understain > PALE_SHARE:
        return OD_MIN
    return None


def colour_pen_share(found: Artefacts | None) -> float | None:
    """The slide summary's ``colour_pen_share``: the share of the tissue under blue, green or red
    pen ink (:data:`COLOUR_INKS`) from the artefact measure; None where it did not run or found no
    tissue."""
    if found is None or found.tissue_px <= 0:
        return None
    return min(1.0, sum(found.pens.get(c, 0.0) for c in COLOUR_INKS))


def nuclei_of(
    h_p99: float | None,
    pen: float | None,
    near_black: float | None = None,
    max_pen: float = NUCLEI_MAX_PEN_DEFAULT,
    max_near_black: float = NUCLEI_MAX_NEAR_BLACK_DEFAULT,
) -> float | None:
    """The nuclei's density a slide is compared on (:func:`judge`'s ``nuclei``): its stain
    descriptors' ``h_p99``, None where coloured pen ink covers more than ``max_pen`` of its tissue
    (``pen``: :func:`colour_pen_share`; None: not measured) on a slide whose tissue beside the ink
    is no more than ``max_near_black`` near-black (``near_black``: its ``overstain_share``; None:
    not measured), so that its mean density judges it alone and its ``h_p99`` counts in no peer's
    median. Past that near-black share the ink may be the over-staining itself (the blue rule reads
    darkened haematoxylin as ink): the nuclei stay in."""
    if near_black is not None and math.isfinite(near_black) and near_black > max_near_black:
        return h_p99
    if pen is not None and math.isfinite(pen) and pen > max_pen:
        return None
    return h_p99


def strength(kind: str, od: float | None) -> float | None:
    """The descriptor compared across slides: ``log10`` of the tissue's mean optical density,
    negated for under-staining (larger is more of the kind); None: not measured."""
    if od is None or not math.isfinite(od) or od <= 0:
        return None
    return math.log10(od) if kind == "overstain" else -math.log10(od)


def extreme(kind: str, share: float | None, od: float | None) -> bool:
    """Past the safety net: over-stained past :data:`EXTREME_SHARE` near-black, under-stained under
    :data:`EXTREME_OD`, whatever the peers show."""
    if kind == "overstain":
        return share is not None and share > EXTREME_SHARE
    return od is not None and od < EXTREME_OD


def judge(
    kind: str,
    shares: Sequence[float | None],
    ods: Sequence[float | None],
    institutions: Sequence[str | None],
    absolute: float,
    min_peers: int = MIN_PEERS,
    nuclei: Sequence[float | None] | None = None,
) -> list[Verdict]:
    """Each slide's verdict for ``kind`` (:data:`STAIN_KINDS`) from every slide's share of it
    and optical density (:func:`od_of`; None or NaN: not measured) and institution (None:
    unknown), ``absolute`` the profile's share for slides without peers enough; ``nuclei``: each
    slide's nuclei's density (``h_p99`` of its stain descriptors; None, or an entry None: not
    measured), compared with that of the peers measured for it (:func:`verdict`); as
    :func:`compare` gives, each slide against the other measured slides of its institution when
    they are ``min_peers`` at least, else of the batch. The leave-one-out medians come from one
    sort per group (:func:`_left_out`): a batch of a million slides takes seconds."""
    values = [strength(kind, od) for od in ods]
    x = np.array([v if v is not None else np.nan for v in values], dtype=np.float64)
    groups = reference_groups(ods, institutions, min_peers)
    y = np.array([_finite(v) for v in shares], dtype=np.float64)
    hs = [strength(kind, h) for h in (nuclei if nuclei is not None else [None] * len(ods))]
    hx = np.array([v if v is not None else np.nan for v in hs], dtype=np.float64)
    stats: dict[int, tuple[str | None, float, float, int]] = {}
    by_share: dict[int, tuple[float, float, int]] = {}
    by_nuclei: dict[int, tuple[float, float, int]] = {}
    for group, members in groups.items():
        centres, spreads = _left_out(x[members])
        with_h = members[np.isfinite(hx[members])]
        h_centres, h_spreads = _left_out(hx[with_h])
        for i, k in enumerate(with_h.tolist()):
            if group is not None or not _own(institutions[k], groups):
                by_nuclei[k] = (float(h_centres[i]), float(h_spreads[i]), with_h.size - 1)
        with_share = members[np.isfinite(y[members])] if kind == "overstain" else members[:0]
        share_centres, share_spreads = _left_out(y[with_share])
        n_shares = with_share.size - 1
        for i, k in enumerate(members.tolist()):
            if group is not None or not _own(institutions[k], groups):
                stats[k] = (group, float(centres[i]), float(spreads[i]), members.size - 1)
        for i, k in enumerate(with_share.tolist()):
            if group is not None or not _own(institutions[k], groups):
                by_share[k] = (float(share_centres[i]), float(share_spreads[i]), n_shares)
    # the slides each group is judged on as a whole (group_verdicts), with a share
    whole = {
        g: int(np.count_nonzero(np.isfinite(y[m]))) for g, m in judged_as_group(groups, institutions).items()
    }
    batch = batch_median(y[groups[None]])
    out = []
    for k, (share, od) in enumerate(zip(shares, ods, strict=True)):
        # no descriptor of its own: compared with nobody, its group's measured slides counted
        inst = institutions[k] if _own(institutions[k], groups) else None
        unmeasured = (None, math.nan, math.nan, groups[None].size if inst is None else groups[inst].size)
        group, centre, spread, n = stats.get(k, unmeasured)
        peer_shares = by_share.get(k, (math.nan, math.nan, 0))
        judged_whole = held_whole(kind, group, whole[group], batch, absolute) if k in stats else None
        h = nuclei[k] if nuclei is not None and k in by_nuclei else None
        out.append(
            verdict(
                kind,
                share,
                od,
                n,
                centre,
                spread,
                absolute,
                group,
                min_peers,
                peer_shares=peer_shares,
                whole=judged_whole,
                nuclei=(h, *by_nuclei.get(k, (math.nan, math.nan, 0))),
            )
        )
    return out


def batch_median(shares: np.ndarray) -> float:
    """The median of the finite ``shares`` of a batch's measured slides (NaN: none)."""
    finite = shares[np.isfinite(shares)]
    return float(np.median(finite)) if finite.size else math.nan


def held_whole(kind: str, group: str | None, whole: int, batch: float, absolute: float) -> int | None:
    """:func:`verdict`'s ``whole`` for a slide of reference ``group`` judged as a whole on ``whole``
    slides with a share: an institution's always; for a slide compared with the whole batch (no
    institution, or one too small), only when the batch's median share ``batch``
    (:func:`batch_median`) passes ``absolute`` (a dark slide among a dark batch is no outlier, and
    the few slides outside the institutions make no group finding); else None: the comparison
    with the batch judges it (five pale slides of a small pale site among 30 clean ones are not
    held to the absolute pale share, which is near 1 on every slide of a pale site). Under-staining
    is never held so: the pale share cannot tell a pale slide from a slide of a pale batch (30 pale
    slides of one institution made five of a small one "under-stained" by it, which the same
    slides without the institution column were not), so the comparison with the batch judges it
    and a pale batch is its group finding."""
    if group is not None:
        return whole
    return whole if kind == "overstain" and batch > absolute else None


def judged_as_group(
    groups: dict[str | None, np.ndarray], institutions: Sequence[str | None]
) -> dict[str | None, np.ndarray]:
    """The slides each reference group is judged on as a whole (:func:`group_verdicts`): an
    institution's measured slides; the batch's that no institution group holds."""
    out = dict(groups)
    out[None] = np.array(
        [k for k in groups[None].tolist() if not _own(institutions[k], groups)], dtype=np.int64
    )
    return out


def _finite(v: float | None) -> float:
    return v if v is not None and math.isfinite(v) else math.nan


def reference_groups(
    ods: Sequence[float | None], institutions: Sequence[str | None], min_peers: int = MIN_PEERS
) -> dict[str | None, np.ndarray]:
    """The measured slides (by index) of each reference group :func:`judge` compares with: each
    institution with ``min_peers`` other measured slides at least, and (key None) the whole batch."""
    measured = [strength("overstain", od) is not None for od in ods]
    by_group: dict[str, list[int]] = {}
    for k, inst in enumerate(institutions):
        if measured[k] and inst is not None:
            by_group.setdefault(inst, []).append(k)
    groups: dict[str | None, np.ndarray] = {None: np.flatnonzero(np.array(measured, dtype=bool))}
    groups.update((g, np.array(m)) for g, m in by_group.items() if len(m) - 1 >= min_peers)
    return groups


def _own(institution: str | None, groups: dict[str | None, np.ndarray]) -> bool:
    """Whether a slide of ``institution`` is compared with its institution's slides."""
    return institution is not None and institution in groups


@dataclass(frozen=True, slots=True)
class GroupVerdict:
    """A reference group (an institution, else the batch) whose own median share of a kind passes
    the absolute rule: stained darker or paler as a whole, which no slide of it is among its peers."""

    kind: str
    group: str | None
    """The institution (None: the batch)."""
    n: int
    """Its measured slides."""
    median: float
    """Their median share of the kind."""
    limit: float
    """The absolute rule's share."""
    over: int
    """How many of its slides pass the absolute rule."""
    passing: tuple[int, ...] = ()
    """Those slides (indexes into the batch), in batch order."""


def group_verdicts(
    kind: str,
    shares: Sequence[float | None],
    groups: dict[str | None, np.ndarray],
    institutions: Sequence[str | None],
    absolute: float,
    min_peers: int = MIN_PEERS,
) -> list[GroupVerdict]:
    """The reference groups of :func:`judge` (``groups``, :func:`reference_groups` of the same
    slides) whose slides' median share of ``kind`` is over ``absolute`` (:func:`group_verdict`):
    each institution with peers enough, and the batch judged on the slides no institution group
    holds (a slide is reported with one group at most: an institution of 20 dark slides and 3
    clean slides elsewhere is one finding, not two). Such a group is reported once: its slides are
    judged against each other, so being all alike no one of them is an outlier."""
    out = []
    for group, members in judged_as_group(groups, institutions).items():
        g = group_verdict(kind, shares, members, group, absolute, min_peers)
        if g is not None:
            out.append(g)
    return out


def group_verdict(
    kind: str,
    shares: Sequence[float | None],
    members: np.ndarray,
    group: str | None,
    absolute: float,
    min_peers: int = MIN_PEERS,
) -> GroupVerdict | None:
    """The verdict on ``members`` (slide indexes) of ``group`` when the median share of ``kind``
    of those with a share measured, ``min_peers`` + 1 at least, is over ``absolute`` (None: it is
    not, or too few are measured; slides without shares count nowhere)."""
    values = [shares[k] for k in members.tolist()]
    finite = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if finite.size - 1 < min_peers or float(np.median(finite)) <= absolute:
        return None
    passing = tuple(sorted(k for k, v in zip(members.tolist(), values, strict=True) if _finite(v) > absolute))
    return GroupVerdict(
        kind, group, int(finite.size), float(np.median(finite)), absolute, len(passing), passing
    )


def _left_out(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each value's peers' median and median absolute deviation, the value itself left out: the
    middle of the sorted values without its own rank, and likewise of the deviations from that
    median (which takes at most two values, so one sort of the deviations per value)."""
    centre = _middles(x)
    spread = np.empty_like(x)
    for c in np.unique(centre):
        these = centre == c
        spread[these] = _middles(np.abs(x - c))[these]
    return centre, spread


def _middles(x: np.ndarray) -> np.ndarray:
    """``np.median(np.delete(x, k))`` for every ``k``, from one sort (the same values: the middle
    one, or the mean of the two middle ones)."""
    m = x.size
    if m < 2:
        return np.full(m, np.nan)
    order = np.argsort(x, kind="stable")
    s = x[order]
    rank = np.empty(m, dtype=np.int64)
    rank[order] = np.arange(m)
    lo, hi = (m - 2) // 2, (m - 1) // 2  # the middle of the m - 1 others

    def nth(j: int) -> np.ndarray:  # the j-th smallest of the others
        return np.where(j < rank, s[j], s[min(j + 1, m - 1)])

    return (nth(lo) + nth(hi)) / 2


def compare(
    kind: str,
    share: float | None,
    od: float | None,
    peers: Sequence[float],
    absolute: float,
    group: str | None = None,
    min_peers: int = MIN_PEERS,
    max_z: float = MAX_Z,
    min_spread: float = MIN_SPREAD,
    nuclei: float | None = None,
    nuclei_peers: Sequence[float] = (),
) -> Verdict:
    """The verdict for ``kind`` of a slide whose share of it is ``share`` and whose optical
    density is ``od`` (None or NaN: not measured), against the optical densities of its ``peers``
    (measured; the slide left out), the slides of institution ``group`` (None: of the batch).
    Past the safety net (:data:`EXTREME_SHARE`, :data:`EXTREME_OD`) the slide is flagged whatever
    its peers; with fewer than ``min_peers`` peers, or no optical density, its share is compared
    with ``absolute``; else it is flagged when its :func:`strength` lies more than ``max_z``
    spreads (1.4826 times the peers' median absolute deviation, at least ``min_spread``) beyond
    theirs; with its nuclei's density ``nuclei`` and its peers' (``nuclei_peers``, measured), the
    mean of the two descriptors' spreads (:func:`verdict`)."""
    ref = np.array([strength(kind, p) for p in peers], dtype=np.float64)
    centre, mad = _centre_mad(ref)
    h_ref = np.array([strength(kind, p) for p in nuclei_peers], dtype=np.float64)
    h_centre, h_mad = _centre_mad(h_ref)
    return verdict(
        kind,
        share,
        od,
        ref.size,
        centre,
        mad,
        absolute,
        group,
        min_peers,
        max_z,
        min_spread,
        nuclei=(nuclei, h_centre, h_mad, h_ref.size),
    )


def _centre_mad(values: np.ndarray) -> tuple[float, float]:
    """The median of ``values`` and their median absolute deviation (NaN: none)."""
    if not values.size:
        return math.nan, math.nan
    centre = float(np.median(values))
    return centre, float(np.median(np.abs(values - centre)))


def verdict(
    kind: str,
    share: float | None,
    od: float | None,
    n: int,
    centre: float,
    mad: float,
    absolute: float,
    group: str | None,
    min_peers: int,
    max_z: float = MAX_Z,
    min_spread: float = MIN_SPREAD,
    peer_shares: tuple[float, float, int] = (math.nan, math.nan, 0),
    whole: int | None = None,
    nuclei: tuple[float | None, float, float, int] = (None, math.nan, math.nan, 0),
) -> Verdict:
    """One slide's verdict (what :func:`judge` and :func:`compare` give, and what
    ``benchmarks/bench_artefacts.py`` tabulates) from its peers' median ``centre`` and median
    absolute deviation ``mad`` (unscaled) of their :func:`strength`, and how many they are (``n``);
    ``peer_shares``: the median and median absolute deviation of the peers' near-black shares
    (NaN: not known) and how many they are, for :func:`by_share` (over-staining only; fewer than
    ``min_peers``: not used); ``whole``: how many slides with a share the slide's group is judged on as a whole
    (:func:`group_verdict`; None: not known, or a slide compared with a batch not stained its way
    as a whole, :func:`held_whole`), too few of them (under ``min_peers`` + 1) and the
    slide passing the absolute share, it is flagged by that (a group alike and stained darker
    would be no outlier and no group finding); ``nuclei``: the slide's nuclei's density (``h_p99``;
    None: not measured), the median and median absolute deviation of its peers' :func:`strength`
    of theirs, and how many they are. With ``min_peers`` of them at least, the slide's spreads
    from its peers are the mean of its density's and its nuclei's (each at least ``min_spread``;
    measure ``density+nuclei``), else its density's alone (measure ``density``; so too when its
    density lies on the kind's side and its nuclei more than :data:`OTHER_SIDE` spreads on the
    other: one measure pointing the other way does not cancel the density's call). The mean density
    moves with the tissue (how much stroma, how many nuclei) as much as with the stain: BreakHis's
    clean slides spread by 0.09 (log10), so its palest slides made three times darker stayed inside
    the floor; the nuclei's density varies less with the tissue (``benchmarks/stain_descriptors.py``).

    With fewer than ``min_peers`` peers (the batch itself too small) a slide is over-stained by
    the absolute near-black share, under-stained past the safety net or (rule ``uncompared``)
    when its tissue's mean optical density is at most ``dqm.pixels.stain.OD_MIN`` (the density a
    pixel needs to count as stained; clean slides of every measured site: at least 0.19) with
    more than :data:`PALE_SHARE` of it paler than any nucleus. The pale share alone is near 1 on
    every slide of a pale site (BCNB's clean patches: 4 of 5 over the profile's share), so without
    peers it cannot tell a pale site from a pale slide."""
    share = share if share is not None and math.isfinite(share) else None
    value = strength(kind, od)
    od = od if value is not None else None
    if share is None and value is None:
        return Verdict(kind, None, "unmeasured", False)
    if extreme(kind, share, od):
        return Verdict(kind, share, "extreme", True, od=od)
    if value is not None and n < min_peers and kind == "understain":
        from dqm.pixels.stain import OD_MIN

        pale = od is not None and od <= OD_MIN and share is not None and share > PALE_SHARE
        return Verdict(kind, share, "uncompared", pale, n, od)
    if value is None or n < min_peers:
        flagged = share is not None and share > absolute
        return Verdict(kind, share, "absolute" if share is not None else "unmeasured", flagged, n, od)
    z = _spreads(value, centre, mad, min_spread)
    median = _density(kind, centre)  # the peers' middle optical density
    rule = "institution" if group is not None else "batch"
    h, h_centre, h_mad, n_h = nuclei
    h_value = strength(kind, h)
    if h_value is not None and n_h >= min_peers and math.isfinite(h_centre) and math.isfinite(h_mad):
        h_z = _spreads(h_value, h_centre, h_mad, min_spread)
        h_median = _density(kind, h_centre)
        # the two on opposite sides (eosin flooding a faint haematoxylin): the mean density judges
        # alone, the nuclei kept to say so
        alone = z > 0 > h_z + OTHER_SIDE
        z = z if alone else (z + h_z) / 2
        measure = "density" if alone else "density+nuclei"
        out = Verdict(kind, share, rule, z > max_z, n, od, median, z, group, measure, h, h_median)
    else:
        out = Verdict(kind, share, rule, z > max_z, n, od, median, z, group)
    if z <= max_z and share is not None and kind == "overstain":
        share_centre, share_mad, n_shares = peer_shares
        share_z = by_share(share, share_centre, share_mad, absolute) if n_shares >= min_peers else -math.inf
        if share_z > max_z:
            out = Verdict(kind, share, "share", True, n_shares, od, share_centre, share_z, group)
    if (
        whole is not None
        and whole - 1 < min_peers
        and not out.flagged
        and share is not None
        and share > absolute
    ):
        # its group too small to judge as a whole: the absolute share judges the slide
        out = Verdict(kind, share, "absolute", True, n, od, group=group, group_shares=whole)
    return out


def by_share(share: float, centre: float, mad: float, absolute: float) -> float:
    """Spreads a slide's near-black ``share`` lies over its peers' median ``centre`` (their median
    absolute deviation ``mad`` scaled, at least ``absolute``), when it passes ``absolute`` too; else
    (or peers' shares not known: NaN) minus infinity. A slide whose optical density is no outlier
    (a dark site's slides vary by a factor of two) is over-stained when this passes :data:`MAX_Z`:
    among peers with next to no near-black tissue, at their median share plus ``MAX_Z`` times
    ``absolute`` (4.5 % with the built-in 3 %: 30 clean peers, a slide at 5 % is flagged, one at
    4 % not). 30 clean slides and a few at 30 % near-black were flagged by neither rule before."""
    if not (share > absolute and math.isfinite(centre) and math.isfinite(mad)):
        return -math.inf
    return _spreads(share, centre, mad, absolute)


def _spreads(value: float, centre: float, mad: float, floor: float) -> float:
    """How many spreads ``value`` lies over ``centre``: its peers' median absolute deviation
    ``mad`` scaled to a standard deviation (1.4826), at least ``floor``."""
    return (value - centre) / max(1.4826 * mad, floor)


def _density(kind: str, centre: float) -> float:
    """The optical density a :func:`strength` of ``centre`` stands for (its log, negated for
    under-staining)."""
    return 10.0 ** (centre if kind == "overstain" else -centre)
