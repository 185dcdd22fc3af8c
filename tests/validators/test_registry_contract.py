"""The contract every registered check keeps."""

from __future__ import annotations

import re

import pytest

from dqm.model import Item
from tests.helpers import native_doc, view_of
from validators import REGISTRY
from validators.context import BatchView, FileStatus, ItemFacts, ItemView
from validators.engine import CRASH_CODE, RUN_ORDER, configure, run_checks, run_order
from validators.registry import CheckContext

SPECS = sorted(REGISTRY.values(), key=lambda s: s.id)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_check_is_documented_and_well_formed(spec):
    assert re.fullmatch(r"[a-z_]+\.[a-z_]+", spec.id)
    assert spec.doc and spec.doc.endswith("."), "one-line docstring shown by `dqm checks`"
    assert spec.codes, "a check declares the codes it can emit"
    for code, meaning in spec.codes.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", code)
        assert meaning.strip()
    spec.params()  # parameters have defaults


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_check_lives_in_the_module_its_id_names(spec):
    """Check ``X.y`` is in ``validators/X.py``: its id says where to look."""
    assert spec.func.__module__ == "validators." + spec.id.split(".")[0]


def test_codes_are_unique_across_the_registry():
    """One check owns each code, except :data:`validators.engine.ONCE_CODES`: said by several checks
    so that one is said whichever of them is enabled (the engine keeps the first)."""
    from validators.engine import ONCE_CODES

    seen: dict[str, str] = {}
    for spec in SPECS:
        for code in spec.codes:
            if code in ONCE_CODES:
                continue
            assert code not in seen, f"{code} declared by {seen.get(code)} and {spec.id}"
            seen[code] = spec.id
    assert CRASH_CODE not in seen


def _ctx(spec, profile):
    cfg = {c.id: c for c in configure(profile)}[spec.id]
    return cfg, CheckContext(spec, "S1", cfg.severities, "annotations/S1.json")


@pytest.mark.parametrize("spec", [s for s in SPECS if s.scope == "item"], ids=lambda s: s.id)
def test_item_check_passes_a_clean_item_and_survives_an_empty_one(spec, profile):
    cfg, ctx = _ctx(spec, profile)
    clean = view_of(native_doc(), profile)
    assert spec.func(clean, cfg.params, ctx) == []
    empty = ItemView(Item("S0", None, None), profile)
    assert all(f.code in spec.codes for f in spec.func(empty, cfg.params, ctx))
    no_lesions = view_of({"slide": {}, "lesions": [], "clinical": {}}, profile)
    assert isinstance(spec.func(no_lesions, cfg.params, ctx), list)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.scope == "batch"], ids=lambda s: s.id)
def test_batch_check_passes_a_clean_batch_and_survives_an_empty_one(spec, profile):
    cfg, ctx = _ctx(spec, profile)
    clean = BatchView(
        profile, [ItemFacts("S1", 1, "slides/S1.tiff", "annotations/S1.json", "a" * 64)], "manifest.csv"
    )
    assert spec.func(clean, cfg.params, ctx) == []
    assert spec.func(BatchView(profile, [], None), cfg.params, ctx) == []


def _boom(view, params, ctx):
    raise RuntimeError("bug in a check")


def _raising(monkeypatch, check_id):
    spec = REGISTRY[check_id]
    fields = {f: getattr(spec, f) for f in spec.__slots__}
    monkeypatch.setitem(REGISTRY, check_id, spec.__class__(**{**fields, "func": _boom}))


def test_a_raising_check_becomes_a_crash_finding_and_the_run_goes_on(profile, monkeypatch):
    _raising(monkeypatch, "geometry.zero_area")
    doc = native_doc()
    doc["lesions"][0]["class"] = "no such class"
    findings = run_checks("item", view_of(doc, profile), configure(profile))
    crashed = [f for f in findings if f.code == CRASH_CODE]
    assert len(crashed) == 1 and crashed[0].check == "geometry.zero_area"
    assert crashed[0].message == "check crashed: RuntimeError: bug in a check"
    assert crashed[0].severity == "error" and crashed[0].aspect == "internal"
    assert crashed[0].item_id == "S1" and crashed[0].location.file == "annotations/S1.json"
    assert [f.code for f in findings if f.code != CRASH_CODE] == ["CLASS_UNKNOWN"], "the others still ran"


def test_a_raising_batch_check_becomes_a_crash_finding_of_the_batch(profile, monkeypatch):
    _raising(monkeypatch, "file.duplicate_slide_id")
    facts = [ItemFacts("S1", 1, "slides/S1.tiff", None), ItemFacts("S2", 2, "slides/S1.tiff", None)]
    view = BatchView(profile, facts, "manifest.csv")
    item_findings = run_checks("item", view_of(native_doc(), profile), configure(profile))
    findings = run_checks("batch", view, configure(profile))
    (crash,) = [f for f in findings if f.code == CRASH_CODE]
    assert (crash.check, crash.item_id, crash.location.file) == (
        "file.duplicate_slide_id",
        "batch",
        "manifest.csv",
    )
    assert not [f for f in item_findings if f.code == CRASH_CODE], "batch checks do not run on an item"


def test_a_view_without_an_annotation_names_its_slide_in_findings(profile):
    view = ItemView(Item("S0", "slides/S0.tiff", None), profile, image=FileStatus("slides/S0.tiff", True))
    assert (view.item_id, view.findings_file) == ("S0", "slides/S0.tiff")
    batch = BatchView(profile, [], None)
    assert (batch.item_id, batch.findings_file) == ("batch", None)


def test_checks_run_in_the_order_results_have_always_listed_them(profile):
    assert len(set(RUN_ORDER)) == len(RUN_ORDER) and set(RUN_ORDER) <= set(REGISTRY)
    assert [c.id for c in configure(profile)] == [*RUN_ORDER, *sorted(set(REGISTRY) - set(RUN_ORDER))]
    assert sorted(["zeta.new", "geometry.finite", "alpha.new", "clinical.structure"], key=run_order) == [
        "clinical.structure",
        "geometry.finite",
        "alpha.new",
        "zeta.new",
    ], "a check the order does not list runs after the listed ones, by id"


def test_undeclared_code_is_refused(profile):
    spec = REGISTRY["geometry.zero_area"]
    _, ctx = _ctx(spec, profile)
    with pytest.raises(KeyError):
        ctx.finding("NOT_DECLARED", "x")
