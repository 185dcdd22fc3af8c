"""The contract every registered check keeps."""

from __future__ import annotations

import re

import pytest

from dqm.model import Item
from dqm.runner import run_item_checks
from tests.helpers import native_doc, view_of
from validators import REGISTRY
from validators.context import BatchView, ItemFacts, ItemView
from validators.engine import CRASH_CODE, configure
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


def test_codes_are_unique_across_the_registry():
    seen: dict[str, str] = {}
    for spec in SPECS:
        for code in spec.codes:
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


def test_a_raising_check_becomes_a_crash_finding_and_the_run_goes_on(profile, monkeypatch):
    spec = REGISTRY["geometry.zero_area"]

    def boom(view, params, ctx):
        raise RuntimeError("bug in a check")

    monkeypatch.setitem(
        REGISTRY, spec.id, spec.__class__(**{**{f: getattr(spec, f) for f in spec.__slots__}, "func": boom})
    )
    view = view_of(native_doc(), profile)
    findings = run_item_checks(view, configure(profile))
    crashed = [f for f in findings if f.code == CRASH_CODE]
    assert len(crashed) == 1 and crashed[0].check == "geometry.zero_area"
    assert "bug in a check" in crashed[0].message
    assert crashed[0].severity == "error"


def test_undeclared_code_is_refused(profile):
    spec = REGISTRY["geometry.zero_area"]
    _, ctx = _ctx(spec, profile)
    with pytest.raises(KeyError):
        ctx.finding("NOT_DECLARED", "x")


@pytest.mark.parametrize("spec", list(REGISTRY.values()), ids=lambda s: s.id)
def test_a_check_lives_in_the_module_its_id_names(spec) -> None:
    """Check ``X.y`` is found in ``validators/X.py``: the id says where to look."""
    assert spec.func.__module__ == "validators." + spec.id.split(".")[0]
