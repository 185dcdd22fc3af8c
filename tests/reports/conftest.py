"""Results to render: a real audit of the synthetic defect batch, and hand-built results with
stand-ins for the dimensions other modules add (semantic, diversity, validity), so every output
is tested on dimensions whose shape it does not know in advance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from dqm.diversity.models import DiversityResult, verdict_gates
from dqm.findings import Aspect, Finding, Location, Severity
from dqm.results import (
    BatchInfo,
    Breakdown,
    CheckInfo,
    CodeInfo,
    Grains,
    ItemSummary,
    ProfileInfo,
    QualityResult,
    Ratio,
    SyntacticResult,
    Verdict,
)
from dqm.semantic.models import SemanticResult
from dqm.validity.models import ValidityResult

PLANT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">'


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FullResult(QualityResult):
    """A QualityResult with the three other dimensions, as the merged core will have."""

    semantic: SemanticResult | None = None
    diversity: DiversityResult | None = None
    validity: ValidityResult | None = None


def syntactic(files_ok: int, files: int, values_ok: int, values: int, errors: int = 0) -> SyntacticResult:
    file_ratio = Ratio.of("file_accuracy", "files", files_ok, files, 0.99)
    structure = Grains(
        files=Ratio.of("structure_file_accuracy", "files", files_ok, files),
        values=Ratio.of("structure_accuracy", "values", values_ok, values, 0.995),
    )
    fmt = Grains(
        files=Ratio.of("format_file_accuracy", "files", files_ok, files_ok),
        values=Ratio.of("format_accuracy", "values", values_ok, values_ok, 0.995),
    )
    gates = [file_ratio, structure.values, fmt.values]
    return SyntacticResult(
        file_accuracy=file_ratio.value,
        files_total=files,
        files_valid=files_ok,
        value_accuracy=values_ok / values,
        values_total=values,
        values_valid=values_ok,
        structure=structure,
        format=fmt,
        gates=gates,
        by_code={},
        errors=errors,
        passed=all(g.passed is not False for g in gates),
        method="census",
    )


CHECKS = [
    CheckInfo(
        id="geometry.validity",
        aspect="format",
        doc="Outlines are valid polygons.",
        codes=[
            CodeInfo(code="SELF_INTERSECTION", severity="error", meaning="the outline crosses itself"),
            CodeInfo(code="HOLE_OUTSIDE_SHELL", severity="error", meaning="a hole lies outside its shell"),
        ],
    ),
    CheckInfo(
        id="slide.resolution",
        aspect="image",
        doc="The slide states its resolution.",
        codes=[CodeInfo(code="MPP_MISSING", severity="warning", meaning="no mpp")],
    ),
]


def finding(item: str, code: str, severity: str = "error", aspect: str = "format", **loc: Any) -> Finding:
    check = {"MPP_MISSING": "slide.resolution"}.get(code, "geometry.validity")
    return Finding(
        item_id=item,
        check=check,
        code=code,
        severity=Severity(severity),
        aspect=Aspect(aspect),
        message=loc.pop("message", f"{code} on {item}"),
        location=Location(**loc),
    )


def make_result(
    n_items: int = 20,
    findings: list[Finding] | None = None,
    *,
    files_ok: int | None = None,
    path: str = "/data/batch",
    institution: str = "Seoul-A",
    diagnosis: str = "BCC",
    clinical: dict[str, str | None] | None = None,
    **dims: Any,
) -> FullResult:
    """A result of ``n_items`` slides; dimensions given as keyword arguments (``semantic=...``)."""
    from dqm.audit import with_verdict

    findings = findings or []
    items = [
        ItemSummary(
            slide_id=f"S{i:05d}",
            row=i + 1,
            image_path=f"slides/S{i:05d}.tiff",
            annotation_path=f"annotations/S{i:05d}.json",
            institution=institution if i % 2 == 0 else "Busan-B",
            diagnosis=diagnosis if i % 3 == 0 else "SK",
            clinical=clinical or {"age": str(40 + i), "sex": "F", "site": "trunk"},
            n_lesions=1,
            lesion_classes={"BCC": 1},
            errors=sum(f.item_id == f"S{i:05d}" and f.severity == Severity.ERROR for f in findings),
            warnings=sum(f.item_id == f"S{i:05d}" and f.severity == Severity.WARNING for f in findings),
        )
        for i in range(n_items)
    ]
    files = 2 * n_items
    ok = files if files_ok is None else files_ok
    syn = syntactic(ok, files, 10 * n_items - (files - ok), 10 * n_items, errors=files - ok)
    groups = {
        "by_institution": sorted({i.institution or "" for i in items}),
        "by_class": sorted({i.diagnosis or "" for i in items}),
    }
    breakdowns = {
        name: [
            Breakdown(
                key=k,
                files=Ratio.of("file_accuracy", "files", 2 * n - 1, 2 * n),
                values=Ratio.of("value_accuracy", "values", 10 * n, 10 * n),
            )
            for k in keys
            for n in [sum((i.institution if name == "by_institution" else i.diagnosis) == k for i in items)]
        ]
        for name, keys in groups.items()
    }
    syn = syn.model_copy(update={"by_code": _by_code(findings), **breakdowns})
    draft = FullResult(
        dqm_version="0.1.0",
        created=dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC).isoformat(),
        command=["dqm", "audit", path, "--out", "out"],
        batch=BatchInfo(
            path=path,
            fingerprint="ab" * 32,
            n_items=n_items,
            n_slide_files=n_items,
            n_annotation_files=n_items,
        ),
        profile=ProfileInfo(name="dermatopathology", version="1.0", sha256="cd" * 32),
        items=items,
        findings=findings,
        syntactic=syn,
        verdict=Verdict(status="incomplete"),
        checks=CHECKS,
        **dims,
    )
    return with_verdict(draft)  # type: ignore[return-value]


def as_core(r: QualityResult) -> QualityResult:
    """The result as this branch's core model holds it (the stand-in dimensions dropped), for
    code paths that go through results.json."""
    return QualityResult.model_validate(r.model_dump(exclude={"semantic", "diversity", "validity"}))


def _by_code(findings: list[Finding]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f.code] = out.get(f.code, 0) + 1
    return dict(sorted(out.items()))


def semantic(passed: bool = True, decision: str = "accept") -> SemanticResult:
    """A real semantic result: 315 of a 34,376-slide lot reviewed, 9 failures: accepted at
    AQL 1.5 (Ac 10, Re 11), rejected at AQL 1.0 (Ac 7, Re 8)."""
    n_fail = 9
    ac = 7 if decision == "reject" else 10
    n_reviewed = 200 if decision == "incomplete" else 315
    return SemanticResult(
        plan_id="p" * 16,
        plan="iso2859",
        batch_fingerprint="f" * 64,
        lot_size=34376,
        sample_size=315,
        plan_sample_size=315,
        level="II",
        aql=1.0 if ac == 7 else 1.5,
        code_letter="M",
        acceptance_number=ac,
        rejection_number=ac + 1,
        accuracy=(n_reviewed - n_fail) / n_reviewed,
        ci_low=0.9468,
        ci_high=0.9850,
        ci_method="wilson",
        confidence=0.95,
        n_reviewed=n_reviewed,
        n_pass=n_reviewed - n_fail,
        n_fail=n_fail,
        remaining=0 if decision != "incomplete" else 115,
        provisional=decision == "incomplete",
        decision=decision,
        decision_basis="count",
        failures_counted=float(n_fail),
        target=None,  # an ISO plan decides on the FAIL count against Ac / Re, not on a target
        passed=passed,
        method="ISO 2859-1 single sampling, normal inspection, level II.",
    )


def validity(passed: bool = True) -> ValidityResult:
    """A real validity result: BCC 0.86 and MM 0.81 (or 0.38 when failing), target 0.80."""
    from dqm.validity import load_validity_profile
    from dqm.validity.models import ClassDice, FoldSummary, SplitSummary

    dice = {"BCC": 0.86, "MM": 0.81 if passed else 0.38}
    per = {
        c: ClassDice(
            name=c, dice=d, ci_low=d - 0.03, ci_high=d + 0.02, n_slides=30, target=0.8, passed=d >= 0.8
        )
        for c, d in dice.items()
    }
    split = SplitSummary(
        mode="holdout",
        unit="patient",
        seed=0,
        folds=[FoldSummary(name="holdout", train=["S1"], test=["S2"], train_groups=1, test_groups=1)],
    )
    return ValidityResult(
        dice_per_class=per,
        mean_dice=sum(dice.values()) / 2,
        target=0.8,
        passed=passed,
        classes=list(dice),
        n_slides=100,
        n_used=98,
        n_scored=60,
        split=split,
        profile=load_validity_profile("smoke"),
        seeds={"split": 0, "train": 0},
        device="cpu",
    )


_DIVERSITY: dict[bool, DiversityResult] = {}


def diversity(passed: bool = True) -> DiversityResult:
    """A real diversity result of 200 synthetic slides; ``passed=False`` flips its verdict."""
    if passed not in _DIVERSITY:
        from dqm.diversity.analyse import diversity_result
        from dqm.profile import load_profile
        from dqm.synth.summaries import synthetic_items

        real = diversity_result(synthetic_items(200, seed=4), load_profile())
        _DIVERSITY[passed] = real.model_copy(
            update={"passed": passed, "verdict": "pass" if passed else "fail", "gates": verdict_gates(passed)}
        )
    return _DIVERSITY[passed]


@pytest.fixture
def result_factory():
    return make_result


@pytest.fixture(scope="session")
def audited(defect_batch: Path) -> QualityResult:
    """The real pipeline on the synthetic defect batch: run, result, thumbnails."""
    from dqm.audit import build_result
    from dqm.profile import load_profile
    from dqm.runner import RunOptions, run_batch
    from dqm.thumbnails import with_thumbnails
    from validators.engine import configure

    profile = load_profile()
    configure(profile)
    run = run_batch(defect_batch, profile, RunOptions(workers=1))
    result = build_result(run, ["dqm", "audit", str(defect_batch)])
    return with_thumbnails(result, run.outcomes, defect_batch, profile, count=6)


# ---- a small HTML tree, enough to query the report (stdlib only) ------------------------------

VOID = {"meta", "img", "input", "br", "link", "hr", "wbr", "source", "col", "area", "base"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag)
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def by_id(self, id_: str) -> Node:
        (n,) = [n for n in self.iter() if n.attrs.get("id") == id_]
        return n


def parse_html(text: str) -> Node:
    from html.parser import HTMLParser

    root = Node("#root", {}, None)

    class P(HTMLParser):
        cur = root

        def handle_starttag(self, tag, attrs):
            node = Node(tag, dict(attrs), self.cur)
            self.cur.children.append(node)
            if tag not in VOID:
                self.cur = node

        def handle_startendtag(self, tag, attrs):
            self.cur.children.append(Node(tag, dict(attrs), self.cur))

        def handle_endtag(self, tag):
            n = self.cur
            while n is not None and n.tag != tag:
                n = n.parent
            if n is not None and n.parent is not None:
                self.cur = n.parent

        def handle_data(self, data):
            self.cur.children.append(data)

    p = P(convert_charrefs=True)
    p.feed(text)
    p.close()
    return root
