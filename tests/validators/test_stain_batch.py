"""Over- and under-staining judged against the slide's institution or batch (``artefacts.stain``)."""

from __future__ import annotations

import math
import unicodedata

import numpy as np
import pytest

from dqm.facts import SlideSummary, StainSummary
from dqm.pixels.stain_batch import EXTREME_SHARE, MIN_PEERS, compare, judge
from validators import REGISTRY
from validators.context import BatchView, ItemFacts
from validators.engine import configure
from validators.registry import CheckContext

CLEAN = 0.002
"""A clean slide's near-black share: a few pixels (the absolute rule allows 3 %)."""
OD = 0.5
"""A clean slide's mean optical density."""


def _run(profile, items):
    spec = REGISTRY["artefacts.stain"]
    cfg = {c.id: c for c in configure(profile)}["artefacts.stain"]
    ctx = CheckContext(spec, "batch", cfg.severities, "manifest.csv")
    return spec.func(BatchView(profile, items, "manifest.csv"), cfg.params, ctx)


def _item(sid, over=CLEAN, under=0.95, od=OD, institution="Seoul-A", slide=True, nuclei=None):
    # built as the runner builds it (model_construct: not validated, so a NaN would pass); nuclei:
    # the stain descriptors' h_p99 (None: left out, as a record before it was compared)
    more = {"h_p99": nuclei} if nuclei is not None else {}
    stain = StainSummary.model_construct(od_mean=od, **more) if od is not None else None
    summary = (
        SlideSummary.model_construct(overstain_share=over, understain_share=under, stain=stain)
        if slide
        else None
    )
    clinical = {"institution": institution} if institution is not None else {}
    return ItemFacts(sid, 1, f"slides/{sid}.svs", None, clinical=clinical, slide=summary)


def _peers(n, institution="Seoul-A", **kw):
    # clean slides a little unlike each other, as real ones are
    return [
        _item(f"P{k}", over=CLEAN * (1 + 0.1 * k), od=OD * (1 + 0.03 * k), institution=institution, **kw)
        for k in range(n)
    ]


def test_one_slide_much_darker_than_its_institution_is_over_stained(profile):
    items = [*_peers(10), _item("DARK", over=0.2, od=1.3)]
    (f,) = _run(profile, items)
    assert (f.code, f.item_id, f.location.file, f.check) == (
        "OVERSTAINED",
        "DARK",
        "slides/DARK.svs",
        "artefacts.stain",
    )
    text = f.message
    assert "institution 'Seoul-A'" in text and "its 10 other slides" in text and "1.30" in text


@pytest.mark.parametrize("institution", ["Seoul-A", None])
def test_a_batch_stained_dark_as_a_whole_is_reported_once_as_a_group(profile, institution):
    # every slide as dark (45 % near-black, 15 times the 3 % allowed): none an outlier among its
    # peers, so no slide finding; the group's own median passes the absolute rule: one finding
    items = [_item(f"S{k}", over=0.45, od=1.3 + 0.01 * k, institution=institution) for k in range(12)]
    (f,) = _run(profile, items)
    assert (f.code, f.item_id, f.check) == ("OVERSTAINED_GROUP", "batch", "artefacts.stain")
    said = "institution 'Seoul-A'" if institution else "the batch"
    assert said in f.message and "12 measured slides" in f.message and "45.0%" in f.message
    assert "3.0%" in f.message and "12 of them" in f.message
    # judged slide by slide, the absolute rule would have flagged all of them
    assert all(v.flagged for v in judge("overstain", [0.2] * 11, [1.3] * 11, [None] * 11, 0.03, min_peers=20))


def test_a_pale_institution_is_reported_as_a_group_and_a_clean_one_is_not(profile):
    pale = [_item(f"T{k}", under=0.9999, od=0.3 + 0.01 * k, institution="Busan-B") for k in range(8)]
    (f,) = _run(profile, [*_peers(10, under=0.5), *pale])
    assert f.code == "UNDERSTAINED_GROUP" and "'Busan-B'" in f.message and "8 measured" in f.message
    assert _run(profile, _peers(10, under=0.5)) == []


def test_a_dark_majority_does_not_make_the_clean_slides_the_odd_ones_silently(profile):
    # 20 dark slides and 5 clean: the batch is reported as dark, and each clean slide flagged
    # against it says its peers are the odd ones
    dark = [_item(f"D{k}", over=0.2, od=1.3 + 0.01 * k, institution=None) for k in range(20)]
    clean = [_item(f"C{k}", od=0.5 + 0.01 * k, institution=None) for k in range(5)]
    found = _run(profile, [*dark, *clean])
    group = [f for f in found if f.code == "OVERSTAINED_GROUP"]
    assert len(group) == 1 and "the batch" in group[0].message and "20 of them" in group[0].message
    flagged = [f for f in found if f.code == "UNDERSTAINED"]
    assert {f.item_id for f in flagged} == {f"C{k}" for k in range(5)}
    assert all("may be the odd ones" in f.message for f in flagged)


def test_dark_slides_under_a_label_of_their_own_are_reported_as_a_group(profile):
    dark = [_item(f"D{k}", over=0.3, od=1.3 + 0.01 * k, institution="Lab Z") for k in range(6)]
    (f,) = _run(profile, [*_peers(30), *dark])
    assert f.code == "OVERSTAINED_GROUP" and "'Lab Z'" in f.message and "6 of them" in f.message


@pytest.mark.parametrize(
    "variant",
    ["SEOUL-A", " seoul-a ", unicodedata.normalize("NFD", "Seoul-Ä")],
)
def test_an_institution_spelt_otherwise_is_the_same_institution(profile, variant):
    real = "Seoul-Ä" if "Ä" in unicodedata.normalize("NFC", variant) else "Seoul-A"
    dark = [_item(f"D{k}", over=0.3, od=1.3 + 0.01 * k, institution=variant) for k in range(6)]
    found = _run(profile, [*_peers(10, institution=unicodedata.normalize("NFC", real)), *dark])
    # judged against the 10 clean slides of the institution, not only against each other
    assert {f.item_id for f in found if f.code == "OVERSTAINED"} == {f"D{k}" for k in range(6)}
    assert "its 15 other slides" in found[0].message


def test_a_whole_batch_past_the_extreme_is_flagged_and_pointed_to_the_batch_effects(profile):
    items = [_item(f"S{k}", over=min(EXTREME_SHARE + 0.05 + 0.01 * k, 1.0)) for k in range(11)]
    found = _run(profile, items)
    assert [f.code for f in found].count("OVERSTAINED") == 11 and "batch-effect report" in found[-1].message
    assert [f.code for f in found].count("OVERSTAINED_GROUP") == 1


def test_a_slide_without_descriptors_says_why_the_absolute_rule_judged_it(profile):
    items = [*_peers(20), _item("NOSTAIN", over=0.2, od=None)]
    (f,) = _run(profile, items)
    assert f.item_id == "NOSTAIN" and "no stain descriptors" in f.message and "the 20 slides" in f.message
    assert "0 other slides" not in f.message


def test_a_small_institution_is_compared_with_the_batch(profile):
    # Daegu has 2 other slides; the batch 14: PALE is compared with the batch
    items = [
        *_peers(12, institution="Busan"),
        *_peers(2, institution="Daegu"),
        _item("PALE", under=0.9999, od=0.2, institution="Daegu"),
    ]
    (f,) = _run(profile, items)
    assert (f.code, f.item_id) == ("UNDERSTAINED", "PALE")
    assert "for its batch" in f.message and "14 other slides" in f.message


@pytest.mark.parametrize("kind", ["understain", "overstain", "share"])
def test_a_slide_of_a_small_institution_names_it(profile, kind):
    # Daegu has 3 measured slides, too few to be its own reference: the slide is judged against
    # the batch, and the finding says which institution it came from and why not against its own
    odd = {
        "understain": _item("ODD", under=0.9999, od=0.2, institution="Daegu <b>"),
        "overstain": _item("ODD", od=1.3, institution="Daegu <b>"),
        "share": _item("ODD", over=0.3, od=OD, institution="Daegu <b>"),
    }[kind]
    items = [*_peers(12, institution="Busan"), *_peers(2, institution="Daegu <b>"), odd]
    (f,) = _run(profile, items)
    assert f.item_id == "ODD" and "for its batch" in f.message and "14 other slides" in f.message
    assert "its institution 'Daegu <b>' has 3 measured slide(s), 6 needed" in f.message
    assert f.params["group"] == "Daegu <b>" and f.params["m"] == 3
    # a slide of no institution names none
    (g,) = _run(
        profile,
        [
            *_peers(12, institution="Busan"),
            *_peers(2, institution=None),
            _item("ODD", od=1.3, institution=None),
        ],
    )
    assert "its institution" not in g.message


def test_three_slides_fall_back_to_the_absolute_rule(profile):
    items = [*_peers(2, institution="Jeju"), _item("DARK", over=0.2, od=1.3, institution="Jeju")]
    (f,) = _run(profile, items)
    assert (f.code, f.item_id) == ("OVERSTAINED", "DARK")
    text = f.message
    assert "the absolute rule" in text and "2 other slides" in text and f"{MIN_PEERS} needed" in text
    # under the profile's share, the absolute rule flags nothing
    assert _run(profile, [*_peers(2, institution="Jeju"), _item("OK", over=0.02, institution="Jeju")]) == []


@pytest.mark.parametrize("missing", [None, math.nan, "no slide"])
def test_an_unmeasured_slide_is_not_judged_and_not_counted_as_a_peer(profile, missing):
    odd = (
        _item("X", slide=False)
        if missing == "no slide"
        else _item("X", over=missing, under=missing, od=missing)
    )
    items = [*_peers(MIN_PEERS - 1), odd, _item("DARK", over=0.2, od=1.3)]
    (f,) = _run(profile, items)  # DARK has MIN_PEERS - 1 measured peers: the absolute rule
    assert f.item_id == "DARK" and "the absolute rule" in f.message
    gone = missing if missing != "no slide" else None
    assert compare("overstain", gone, gone, [OD] * 10, 0.03).rule == "unmeasured"


def test_a_record_without_the_stain_shares_still_works(profile):
    # a slide summary written before the shares were kept (results 1.9 to 1.17, record 11): its
    # stain descriptors are compared with the batch; the absolute rule and the near-black safety
    # net, which need the shares, do not judge it
    def old(od):  # stained darker: its nuclei denser too
        return SlideSummary.model_validate({"width": 10, "stain": {**STAIN, "od_mean": od, "h_p99": 2 * od}})

    assert old(OD).overstain_share is None and old(OD).understain_share is None
    items = [ItemFacts(f"S{k}", 1, f"s/{k}.svs", None, slide=old(OD * (1 + 0.03 * k))) for k in range(10)]
    (f,) = _run(profile, [*items, ItemFacts("D", 1, "s/D.svs", None, slide=old(1.3))])
    assert (f.code, f.item_id) == ("OVERSTAINED", "D") and "for its batch" in f.message
    assert _run(profile, [*items[:3], ItemFacts("D", 1, "s/D.svs", None, slide=old(1.3))]) == []


STAIN = {
    "h_od_r": 0.65, "h_od_g": 0.7, "h_od_b": 0.29, "e_od_r": 0.07, "e_od_g": 0.99, "e_od_b": 0.1,
    "angle_spread": 40.0, "h_p50": 0.3, "h_p99": 1.0, "e_p50": 0.3, "e_p99": 1.0,
}  # fmt: skip


def test_institution_names_are_cut_and_quoted(profile):
    name = "Seoul<script>" + "x" * 200
    items = [*_peers(10, institution=name), _item("DARK", over=0.2, od=1.3, institution=name)]
    (f,) = _run(profile, items)
    text = f.message
    assert "x" * 200 not in text and "'Seoul<script>" in text


@pytest.mark.parametrize("described", [False, True])
def test_the_batch_judgement_is_each_slides_own_comparison_with_its_peers(described):
    # judge's leave-one-out medians (one sort per group) give compare's verdict on the peers it names
    rng = np.random.default_rng(3)
    n = 40
    ods = [float(v) for v in rng.uniform(0.3, 0.8, n)]
    ods[3], ods[5], ods[8] = None, 2.0, 0.12
    shares = [float(v) for v in rng.uniform(0, 0.02, n)]  # under the absolute rule's 3 %
    institutions = [None if k % 7 == 0 else "A" if k % 3 else "B" for k in range(n)]
    measured = [k for k in range(n) if ods[k] is not None]
    # described: the nuclei's density too, some slides without it (judged on the density alone)
    nuclei = [None if k % 11 == 4 else float(v) for k, v in enumerate(rng.uniform(0.8, 1.6, n))]
    nuclei[5], nuclei[8] = 3.0, 0.3
    for kind in ("overstain", "understain"):
        got = judge(kind, shares, ods, institutions, 0.03, nuclei=nuclei if described else None)
        for k in range(n):
            own = [
                j
                for j in measured
                if j != k and institutions[k] is not None and institutions[j] == institutions[k]
            ]
            group, peers = (
                (institutions[k], own) if len(own) >= MIN_PEERS else (None, [j for j in measured if j != k])
            )
            h_peers = [nuclei[j] for j in peers if nuclei[j] is not None] if described else []
            h = nuclei[k] if described else None
            want = compare(
                kind, shares[k], ods[k], [ods[j] for j in peers], 0.03, group, nuclei=h, nuclei_peers=h_peers
            )
            assert (got[k].rule, got[k].flagged, got[k].group) == (want.rule, want.flagged, want.group)
            assert (got[k].measure, got[k].nuclei) == (want.measure, want.nuclei)
            if want.z is not None:
                assert got[k].z == pytest.approx(want.z) and got[k].median == pytest.approx(want.median)
            if want.nuclei_median is not None:
                assert got[k].nuclei_median == pytest.approx(want.nuclei_median)
        both = [v.measure == "density+nuclei" for v in got if v.z is not None]
        assert any(both) == described and not all(both)  # slides without h_p99: the density alone
        assert [k for k, v in enumerate(got) if v.flagged] == ([5] if kind == "overstain" else [8])


def test_a_slide_darker_still_than_its_dark_peers_is_not_told_its_peers_are_the_odd_ones(profile):
    # 15 dark slides and one darker still (45 % near-black): flagged, the same way as its group
    dark = [_item(f"D{k}", over=0.2, od=1.0 + 0.01 * k) for k in range(15)]
    found = _run(profile, [*dark, _item("DARKER", over=0.45, od=3.0)])
    (f,) = [f for f in found if f.code == "OVERSTAINED"]
    assert f.item_id == "DARKER" and "odd ones" not in f.message
    assert [f.code for f in found].count("OVERSTAINED_GROUP") == 1


def test_dark_slides_among_as_many_clean_ones_are_not_told_their_peers_are_the_odd_ones(profile):
    # 6 dark, 6 clean: the median share is dark (10 %), and each dark slide an outlier of the group
    dark = [_item(f"D{k}", over=0.2, od=1.3 + 0.01 * k) for k in range(6)]
    clean = [_item(f"C{k}", od=0.5 + 0.01 * k) for k in range(6)]
    found = _run(profile, [*dark, *clean])
    # a dark slide flagged among a group whose median is dark is not told its peers are the odd ones
    over = [f for f in found if f.code == "OVERSTAINED"]
    assert {f.item_id for f in over} == {f"D{k}" for k in range(6)}
    assert not any("odd ones" in f.message for f in over)


def test_a_group_median_counts_only_its_slides_with_shares(profile):
    # 10 slides without shares and 2 dark ones: 2 measured shares are too few for a group median
    bare = [_item(f"B{k}", over=None, under=None, od=0.5 + 0.01 * k) for k in range(10)]
    dark = [_item(f"D{k}", over=0.2, od=0.5) for k in range(2)]
    found = _run(profile, [*bare, *dark])
    assert not any(f.code.endswith("_GROUP") for f in found)
    # with 6 dark ones the median is theirs and n counts them only
    dark = [_item(f"D{k}", over=0.2, od=0.5) for k in range(6)]
    (g,) = [f for f in _run(profile, [*bare, *dark]) if f.code == "OVERSTAINED_GROUP"]
    assert "6 measured slides" in g.message and "6 of them" in g.message


def test_slides_of_a_judged_institution_are_not_reported_again_with_the_batch(profile):
    # a dark institution of 20 and 3 clean slides of small institutions: one group finding
    dark = [_item(f"D{k}", over=0.2, od=1.3 + 0.01 * k, institution="Dark") for k in range(20)]
    small = [_item(f"S{k}", od=0.5 + 0.01 * k, institution=f"Small{k}") for k in range(3)]
    found = _run(profile, [*dark, *small])
    (g,) = [f for f in found if f.code.endswith("_GROUP")]
    assert "'Dark'" in g.message and "20 measured" in g.message
    # the clean slides, compared with the dark batch, are still told their peers may be the odd ones
    flagged = [f for f in found if f.code == "UNDERSTAINED"]
    assert {f.item_id for f in flagged} == {"S0", "S1", "S2"}
    assert all("may be the odd ones" in f.message for f in flagged)


@pytest.mark.parametrize("n_dark", [3, 6])
def test_slides_far_more_near_black_than_their_clean_peers_are_over_stained(profile, n_dark):
    # 30 clean slides and a few with 30 % of the tissue near-black (ten times the 3 % allowed) at
    # an optical density no outlier (1.3: the peers vary): flagged by their near-black share
    dark = [_item(f"D{k}", over=0.3, od=1.3 + 0.01 * k) for k in range(n_dark)]
    found = _run(profile, [*_peers(30), *dark])
    flagged = [f for f in found if f.code == "OVERSTAINED"]
    assert {f.item_id for f in flagged} == {f"D{k}" for k in range(n_dark)}
    assert (
        "institution 'Seoul-A'" in flagged[0].message
        and "30.0% of its tissue near-black" in flagged[0].message
    )
    assert f"its {30 + n_dark - 1} other slides" in flagged[0].message
    # the same share among peers as dark is no outlier (the group is reported instead)
    alike = [_item(f"S{k}", over=0.3 + 0.01 * (k % 3), od=0.9 + 0.01 * k) for k in range(12)]
    assert [f.code for f in _run(profile, alike)] == ["OVERSTAINED_GROUP"]


@pytest.mark.parametrize("n_loose", [3, 5])
def test_dark_slides_outside_a_dark_institution_are_held_to_the_absolute_share(profile, n_loose):
    # institution Dark of 20 slides at 20 % near-black and a few slides of no institution as dark:
    # too few to judge as a group, and no outlier among the dark batch, the absolute share judges them
    dark = [_item(f"D{k}", over=0.2, od=1.3 + 0.01 * k, institution="Dark") for k in range(20)]
    loose = [_item(f"L{k}", over=0.2, od=1.3 + 0.01 * k, institution=None) for k in range(n_loose)]
    found = _run(profile, [*dark, *loose])
    assert [f.code for f in found if f.code.endswith("_GROUP")] == ["OVERSTAINED_GROUP"]
    flagged = [f for f in found if f.code == "OVERSTAINED"]
    assert {f.item_id for f in flagged} == {f"L{k}" for k in range(n_loose)}
    said = (
        f"the {20 + n_loose - 1} other slides of its batch it was compared with are stained darker as a whole"
    )
    assert said in flagged[0].message
    assert f"{n_loose} slides outside the institutions" in flagged[0].message
    # the same few slides clean: one group finding, they pass
    clean = [_item(f"L{k}", od=1.3 + 0.01 * k, institution=None) for k in range(n_loose)]
    found = _run(profile, [*dark, *clean])
    assert [f.code for f in found if f.code.startswith("OVERSTAINED")] == ["OVERSTAINED_GROUP"]


@pytest.mark.parametrize("n_dark", [2, 5])
def test_slides_of_a_group_with_too_few_shares_are_held_to_the_absolute_share(profile, n_dark):
    # 10 slides without shares and a few at 20 % near-black: too few shares for a group median
    bare = [_item(f"B{k}", over=None, under=None, od=0.5 + 0.01 * k) for k in range(10)]
    dark = [_item(f"D{k}", over=0.2, od=0.5) for k in range(n_dark)]
    found = _run(profile, [*bare, *dark])
    assert {f.item_id for f in found if f.code == "OVERSTAINED"} == {f"D{k}" for k in range(n_dark)}
    assert not any(f.code.endswith("_GROUP") for f in found)
    # an institution likewise: its name said
    bare = [_item(f"B{k}", over=None, under=None, od=0.5 + 0.01 * k, institution="Busan") for k in range(10)]
    dark = [_item(f"D{k}", over=0.2, od=0.5, institution="Busan") for k in range(n_dark)]
    flagged = [f for f in _run(profile, [*bare, *dark]) if f.code == "OVERSTAINED"]
    assert {f.item_id for f in flagged} == {f"D{k}" for k in range(n_dark)}
    assert "institution 'Busan' is too small to compare as a whole" in flagged[0].message
    assert f"{n_dark} of its slides with a share measured, {MIN_PEERS + 1} needed" in flagged[0].message


def test_a_few_slides_over_the_absolute_share_in_a_judged_group_stay_unflagged(profile):
    # a group judged as a whole that did not fire (BreCaHAD-like): a few clean slides with a little
    # more near-black than the absolute share, no outliers among their peers, are not flagged
    peers = [_item(f"P{k}", over=0.01 + 0.005 * (k % 5), od=0.8 + 0.01 * k) for k in range(20)]
    over = [_item(f"O{k}", over=0.04, od=0.8) for k in range(3)]
    assert _run(profile, [*peers, *over]) == []


@pytest.mark.parametrize(("share", "flagged"), [(0.05, True), (0.04, False)])
def test_the_near_black_share_rule_flags_at_the_peers_median_plus_one_and_a_half_limits(
    profile, share, flagged
):
    # the docstring's threshold: 30 clean peers (median 0.49 % near-black), the spread at its floor
    # (the 3 % absolute share): flagged over 0.49 % + 1.5 x 3 % = 4.99 %, not ten times the limit
    found = _run(profile, [*_peers(30), _item("X", over=share, od=OD * 1.5)])
    assert [(f.code, f.item_id) for f in found] == ([("OVERSTAINED", "X")] if flagged else [])


def test_a_batch_too_small_to_compare_flags_no_pale_slide_by_the_pale_share_and_says_so(profile):
    # BCNB's 5 clean patches: pale as a whole (their pale share over the profile's), none paler
    # than the safety net; 4 of 5 were flagged under-stained by the absolute share
    items = [
        _item(f"B{k}", under=0.9999 if k else 0.995, od=0.45 + 0.01 * k, institution=None) for k in range(5)
    ]
    (f,) = _run(profile, items)
    assert (f.code, f.severity.value, f.item_id) == ("STAIN_NOT_COMPARED", "info", "batch")
    assert "5 measured slide(s)" in f.message and f"{MIN_PEERS + 1} needed" in f.message
    assert "4 of them have more than the 99.86%" in f.message  # the fifth under the share
    assert "under 0.10" in f.message
    # past the safety net a slide of such a batch is still under-stained
    pale = [*items[:4], _item("PALE", under=1.0, od=0.05, institution=None)]
    assert sorted((f.code, f.item_id) for f in _run(profile, pale)) == [
        ("STAIN_NOT_COMPARED", "batch"),
        ("UNDERSTAINED", "PALE"),
    ]
    # BCNB's under-stained copies: mean optical density 0.12 to 0.14, all of the tissue pale
    (faint,) = [
        f
        for f in _run(profile, [*items[:4], _item("FAINT", under=1.0, od=0.12, institution=None)])
        if f.item_id == "FAINT"
    ]
    assert faint.code == "UNDERSTAINED" and "0.12" in faint.message and "4 other measured" in faint.message
    # over-staining keeps the absolute near-black share (robust without peers)
    dark = [*items[:4], _item("DARK", over=0.2, under=0.9999, od=0.5, institution=None)]
    assert ("OVERSTAINED", "DARK") in [(f.code, f.item_id) for f in _run(profile, dark)]


def test_a_batch_large_enough_to_compare_says_nothing_of_it(profile):
    assert _run(profile, _peers(MIN_PEERS + 1, institution=None)) == []


def test_a_group_finding_names_the_slides_past_the_absolute_rule(profile):
    # a supplier's own institution, mostly bad: its bad slides compare with each other, so the
    # group finding is where a reviewer learns which slides to look at
    bad = [_item(f"B{k}", over=0.2, od=1.3 + 0.01 * k, institution="Lab Z") for k in range(5)]
    ok = [_item(f"K{k}", over=0.01, od=1.3 + 0.01 * k, institution="Lab Z") for k in range(2)]
    (f,) = _run(profile, [*_peers(30), *ok, *bad])
    assert f.code == "OVERSTAINED_GROUP" and "5 of them" in f.message
    assert "Past that rule: 'B0', 'B1', 'B2', 'B3', 'B4'." in f.message and "'K0'" not in f.message
    many = [_item(f"M{k}", over=0.2, od=1.3 + 0.01 * k, institution="Lab Z") for k in range(14)]
    (f,) = _run(profile, many)
    assert "'M9' and 4 more." in f.message and "'M10'" not in f.message


@pytest.mark.parametrize(("n", "listed"), [(14, "'B5', 'B6', 'B7', 'B8', 'B9' 외 4장."), (7, "'B5', 'B6'.")])
def test_a_group_finding_reads_in_korean_with_its_slide_list(profile, n, listed):
    # each variant its own msgid: the list (and "and N more") translated with the finding
    bad = [_item(f"B{k}", over=0.2, od=1.3 + 0.01 * k, institution="Lab Z") for k in range(n)]
    (f,) = _run(profile, bad)
    ko = f.text("ko")
    assert f.code == "OVERSTAINED_GROUP" and f.template is not None and "기관 'Lab Z'" in ko
    assert "stained darker" not in ko and "Past that rule" not in ko and "more." not in ko
    assert ko.endswith("그 기준을 넘은 슬라이드: 'B0', 'B1', 'B2', 'B3', 'B4', " + listed)


def test_every_stain_finding_has_a_template(profile):
    # a message joined as plain text reads English in every language: each finding keeps its msgid
    cases = [
        [_item(f"B{k}", over=0.2, od=1.3 + 0.01 * k, institution="Lab Z") for k in range(14)],
        [*_peers(10), _item("DARK", over=0.2, od=1.3)],
        [_item(f"B{k}", under=0.9999, od=0.45 + 0.01 * k, institution=None) for k in range(5)],
        [*_peers(30), *[_item(f"D{k}", over=0.2, od=1.3 + 0.01 * k, institution="Dark") for k in range(20)]],
    ]
    dark = [_item(f"D{k}", over=0.2, od=1.3 + 0.01 * k, institution=None) for k in range(20)]
    cases.append([*dark, *[_item(f"C{k}", od=0.5 + 0.01 * k, institution=None) for k in range(5)]])
    found = [f for items in cases for f in _run(profile, items)]
    assert {f.code for f in found} >= {
        "OVERSTAINED",
        "OVERSTAINED_GROUP",
        "UNDERSTAINED",
        "STAIN_NOT_COMPARED",
    }
    assert [f.code for f in found if f.template is None] == []
    # a slide flagged against peers stained the other way: both parts in Korean
    (odd, *_) = [f.text("ko") for f in found if f.code == "UNDERSTAINED"]
    assert "이 슬라이드가 아니라 그들이 이상할 수 있음" in odd and "may be the odd ones" not in odd


def test_long_slide_ids_are_cut_so_the_count_of_the_others_survives(profile):
    items = [
        _item(f"{'x' * 250}_{k:02d}", over=0.2, od=1.3 + 0.01 * k, institution="Lab Z") for k in range(14)
    ]
    (f,) = _run(profile, items)
    assert f.message.endswith(" and 4 more.") and f.text("ko").endswith("외 4장.")
    assert f.message.count("'" + "x" * 40 + "…'") == 10 and "x" * 41 not in f.message


def _bcnb(institution, n=5):
    # BCNB's clean patches: nearly all of the tissue paler than any nucleus, a normal density
    return [
        _item(f"B{k}", under=0.9999 if k else 0.995, od=0.45 + 0.01 * k, institution=institution)
        for k in range(n)
    ]


@pytest.mark.parametrize("n_peers", [6, 30])
def test_a_small_pale_institution_is_compared_with_the_whole_batch(profile, n_peers):
    # too small to be its own reference group: compared with the batch's measured slides (its own
    # left out), not held to the absolute pale share (near 1 on every slide of a pale site)
    assert _run(profile, [*_peers(n_peers), *_bcnb("BCNB")]) == []
    # as without the institution column
    assert _run(profile, [*_peers(n_peers, institution=None), *_bcnb(None)]) == []
    # a truly under-stained slide of it is still found, against the batch
    faint = [*_peers(n_peers), *_bcnb("BCNB", 4), _item("F", under=1.0, od=0.12, institution="BCNB")]
    (f,) = _run(profile, faint)
    assert (f.code, f.item_id) == ("UNDERSTAINED", "F")
    assert "for its batch" in f.message and f"the {n_peers + 4} other slides" in f.message
    # only the batch itself too small takes the small-batch rule
    (f,) = _run(profile, _bcnb("BCNB"))
    assert f.code == "STAIN_NOT_COMPARED"


def test_a_small_pale_institution_beside_a_pale_one_is_not_held_to_the_pale_share(profile):
    # 30 slides of a pale institution (pale share past the absolute) and five pale slides of a small
    # one: the five were each flagged by the absolute pale share ("the 34 other slides ... paler as a
    # whole"), which the same 35 slides without the institution column were not; the pale share
    # cannot tell a pale slide from a slide of a pale batch, so only the group finding is left
    pale = _peers(30, under=0.9995)
    found = _run(profile, [*pale, *_bcnb("BCNB")])
    assert [(f.code, f.item_id) for f in found if f.code == "UNDERSTAINED"] == []
    assert [f.code for f in found] == ["UNDERSTAINED_GROUP"], [f.message for f in found]
    loose = _run(profile, [*pale, *_bcnb(None)])
    assert [f.code for f in loose if f.code == "UNDERSTAINED"] == []


@pytest.mark.parametrize("char", ["\u200b", "\x01"])
def test_ids_of_escaped_characters_are_cut_as_quoted(profile, char):
    # an id of 250 zero-width spaces is 1,500 characters as the message quotes it: cut before
    # quoting, ten of them passed the message's 2,000 and "and 4 more" was lost
    items = [*_peers(6), *[_item(char * 250 + f"_{k:02d}", over=0.2, od=1.3 + 0.01 * k) for k in range(14)]]
    group = [f for f in _run(profile, items) if f.code == "OVERSTAINED_GROUP"]
    assert group and all(f.message.endswith(" and 4 more.") for f in group), [f.message[-80:] for f in group]


def _alike(n, institution="Lab B"):
    # clean slides alike in mean density (spread 0.04 in log10, under the floor) and in their
    # nuclei's density, not in step: as BreakHis's clean slides
    return [
        _item(
            f"P{k}",
            od=OD * 10 ** (0.04 * math.sin(k)),
            nuclei=1.0 * 10 ** (0.04 * math.cos(k)),
            institution=institution,
        )
        for k in range(n)
    ]


def test_a_slide_darker_by_its_nuclei_as_well_is_over_stained(profile):
    # a pale slide stained three times too dark ends 0.25 (log10) over its peers' mean density,
    # inside the floor (1.5 x 0.2): the density alone misses it; its nuclei 0.45 over theirs
    dark = _item("DARK", od=OD * 10**0.25, nuclei=10**0.45, institution="Lab B")
    (f,) = _run(profile, [*_alike(12), dark])
    assert (f.code, f.item_id) == ("OVERSTAINED", "DARK")
    assert "density of its nuclei (99th percentile of haematoxylin) 2.82" in f.message
    assert "medians of its 12 other slides are 0.50 and 0.99" in f.message and "on average" in f.message
    ko = f.text("ko")
    assert "핵의 밀도" in ko and "99th percentile" not in ko
    (v,) = [v for v in judge_batch([*_alike(12), dark], "overstain") if v.flagged]
    assert v.measure == "density+nuclei" and v.z > 1.5


def test_a_pale_slide_with_nuclei_as_dense_as_its_peers_is_not_under_stained(profile):
    # much pale stroma, nuclei stained as its peers': 0.32 under their mean density (1.6 spreads,
    # flagged by the density alone), its nuclei on their median
    pale = _item("PALE", od=OD * 10**-0.32, nuclei=1.0, institution="Lab B")
    assert _run(profile, [*_alike(12), pale]) == []
    # without its nuclei's density the density alone judges it, and flags it
    bare = _item("PALE", od=OD * 10**-0.32, institution="Lab B")
    (f,) = _run(profile, [*_alike(12), bare])
    assert (f.code, f.item_id) == ("UNDERSTAINED", "PALE") and "nuclei" not in f.message


def judge_batch(items, kind):
    """``judge`` on the items' shares, densities and nuclei, as ``artefacts.stain`` calls it."""
    slides = [i.slide for i in items]
    return judge(
        kind,
        [getattr(s, f"{kind}_share") for s in slides],
        [s.stain.od_mean for s in slides],
        [i.clinical.get("institution") for i in items],
        0.03 if kind == "overstain" else 0.9986,
        nuclei=[getattr(s.stain, "h_p99", None) for s in slides],
    )


def test_nuclei_paler_than_their_peers_do_not_cancel_a_slide_three_times_darker(profile):
    # eosin flooding a faint haematoxylin: the mean density three times its peers' (2.4 spreads,
    # flagged by the density alone), the nuclei 0.7 times theirs; their mean (0.8 spreads) missed it
    dark = _item("DARK", od=OD * 3, nuclei=0.7, institution="Lab B")
    (f,) = _run(profile, [*_alike(12), dark])
    assert (f.code, f.item_id) == ("OVERSTAINED", "DARK")
    # the finding says the nuclei pointed the other way, in Korean too
    assert "(99th percentile of haematoxylin) 0.70 is under its peers' median 0.99" in f.message
    assert "the two measures disagree" in f.message and "두 척도가 서로 달라" in f.text("ko")
    (v,) = [v for v in judge_batch([*_alike(12), dark], "overstain") if v.flagged]
    assert v.measure == "density" and v.z == pytest.approx(math.log10(3) / 0.2, abs=0.05)
    assert v.nuclei == 0.7  # what the nuclei showed is kept for the finding


def _inked(item, pen):
    # the artefact measure found coloured pen ink over ``pen`` of the slide's tissue
    slide = item.slide.model_copy(update={"colour_pen_share": pen})
    return ItemFacts(item.slide_id, 1, item.image_path, None, clinical=item.clinical, slide=slide)


def test_pen_ink_that_raised_a_slides_nuclei_does_not_make_it_over_stained(profile):
    # ThyHisTer's n_BN_1_0: a clean patch whose false-colour block the pen rule marks over 7 % of
    # its tissue; its density 0.7 spreads over its peers', its h_p99 3.7 times theirs (ink)
    inked = _item("INKED", od=OD * 10**0.14, nuclei=3.7, institution="Lab B")
    (f,) = _run(profile, [*_alike(12), inked])  # the mean of the two: 1.9 spreads
    assert (f.code, f.item_id) == ("OVERSTAINED", "INKED")
    assert _run(profile, [*_alike(12), _inked(inked, 0.07)]) == []
    # ink under the profile's pen share leaves the nuclei in
    assert [f.item_id for f in _run(profile, [*_alike(12), _inked(inked, 0.004)])] == ["INKED"]


def test_pen_ink_on_a_pale_slide_does_not_hide_its_under_staining(profile):
    # the review's pale copy: a blue stroke over 4 % of its tissue lifts its h_p99 to its peers';
    # its density alone 1.8 spreads under theirs, the mean of the two 0.9
    pale = _item("PALE", od=OD * 10**-0.36, nuclei=1.0, institution="Lab B")
    assert _run(profile, [*_alike(12), pale]) == []
    (f,) = _run(profile, [*_alike(12), _inked(pale, 0.04)])
    assert (f.code, f.item_id) == ("UNDERSTAINED", "PALE") and "99th percentile" not in f.message


def test_an_inked_peer_does_not_set_the_nuclei_median(profile):
    # seven of fourteen peers inked, their h_p99 three times the others': counted, their median
    # would hide a slide whose nuclei are three times its clean peers'
    peers = _alike(14)
    peers = [
        _inked(_item(p.slide_id, od=p.slide.stain.od_mean, nuclei=3.0, institution="Lab B"), 0.07)
        if k % 2
        else p
        for k, p in enumerate(peers)
    ]
    dark = _item("DARK", od=OD * 10**0.15, nuclei=3.0, institution="Lab B")
    (f,) = _run(profile, [*peers, dark])
    assert (f.code, f.item_id) == ("OVERSTAINED", "DARK") and "nuclei" in f.message
    # the same peers not inked: their median nuclei 3.0, and the slide is no outlier
    plain = [
        _item(p.slide_id, od=p.slide.stain.od_mean, nuclei=3.0, institution="Lab B") if k % 2 else p
        for k, p in enumerate(_alike(14))
    ]
    assert _run(profile, [*plain, dark]) == []


def _found(pens, tissue_px=1000):
    from dqm.pixels.artefacts import KINDS, Artefacts

    shares = dict.fromkeys(KINDS, 0.0) | {"pen": sum(pens.values())}
    return Artefacts(np.zeros((2, 2), np.uint8), (1.0, 1.0), tissue_px, shares, pens, None, 0.0)


def test_over_staining_read_as_black_ink_does_not_hide_itself(profile):
    # the review's repro: darkening a slide makes near-black tissue the black-pen rule marks as ink
    # (0.6 % of it); the runner keeps only the coloured inks, so its nuclei still count
    from dqm.pixels.stain_batch import colour_pen_share

    found = _found({"blue": 0.0, "green": 0.0, "red": 0.0, "black": 0.006})
    assert found.shares["pen"] > 0.005 and colour_pen_share(found) == 0.0
    dark = _item("DARK", od=OD * 10**0.2, nuclei=3.0, institution="Lab B")
    (f,) = _run(profile, [*_alike(12), _inked(dark, colour_pen_share(found))])
    assert (f.code, f.item_id) == ("OVERSTAINED", "DARK") and "nuclei" in f.message
    # darkened haematoxylin the blue rule reads as ink (EBHI's over-stained copies: 10-54 % of the
    # tissue), on a slide past the near-black share one slide may have: its nuclei stay in
    blue = _item("BLUE", over=0.05, od=OD * 10**0.2, nuclei=3.0, institution="Lab B")
    (f,) = _run(profile, [*_alike(12), _inked(blue, 0.3)])
    assert (f.code, f.item_id) == ("OVERSTAINED", "BLUE") and "99th percentile" in f.message
    # coloured ink is counted: a blue stroke and a red one together
    inked = _found({"blue": 0.004, "green": 0.0, "red": 0.003, "black": 0.2})
    assert colour_pen_share(inked) == pytest.approx(0.007)
    assert colour_pen_share(_found({"blue": 0.5}, tissue_px=0)) is None and colour_pen_share(None) is None


def test_the_finding_says_when_ink_left_the_nuclei_out(profile):
    pale = _item("PALE", od=OD * 10**-0.36, nuclei=1.0, institution="Lab B")
    (f,) = _run(profile, [*_alike(12), _inked(pale, 0.04)])
    assert (
        "nuclei's density was left out: coloured pen ink covers 4.0% of its tissue, over the 0.5%"
        in f.message
    )
    ko = f.text("ko")
    assert "핵 밀도는 제외됨" in ko and "4.0%" in ko
    # a slide whose nuclei were left out for no ink says nothing of it
    (g,) = _run(profile, [*_alike(12), _item("PALE", od=OD * 10**-0.36, institution="Lab B")])
    assert "left out" not in g.message


def test_the_nuclei_pen_gate_is_the_profiles_pen_share(profile):
    from dqm.profile import Profile

    inked = _inked(_item("INKED", od=OD * 10**0.14, nuclei=3.7, institution="Lab B"), 0.04)
    assert _run(profile, [*_alike(12), inked]) == []  # 4 % ink: over the built-in 0.5 %
    lenient = Profile.model_validate(
        {**profile.model_dump(exclude={"checks"}), "checks": {"artefacts.slide": {"params": {"pen": 0.05}}}}
    )
    assert [f.item_id for f in _run(lenient, [*_alike(12), inked])] == ["INKED"]
