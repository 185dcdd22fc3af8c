"""From a run to a :class:`~dqm.results.QualityResult`, and the verdict over the dimensions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from dqm import __version__
from dqm.profile import Profile
from dqm.results import BatchInfo, ProfileInfo, QualityResult, Verdict
from dqm.runner import Run
from dqm.syntactic import fingerprint, syntactic_result

DIMENSIONS = ("syntactic", "semantic", "diversity", "validity")


def dimension_passed(result: QualityResult, name: str) -> bool | None:
    """True / False for a dimension that was evaluated, None when it is absent."""
    dim = getattr(result, name, None)
    if dim is None:
        return None
    return bool(dim.passed)


def verdict(result: QualityResult) -> Verdict:
    """CERTIFIED only when every dimension was evaluated and passed."""
    failed = [d for d in DIMENSIONS if dimension_passed(result, d) is False]
    missing = [d for d in DIMENSIONS if dimension_passed(result, d) is None]
    if failed:
        return Verdict(
            status="not_certified",
            failed=failed,
            missing=missing,
            summary=f"NOT CERTIFIED: {', '.join(failed)} failed",
        )
    if missing:
        return Verdict(
            status="incomplete",
            missing=missing,
            summary=f"INCOMPLETE: {', '.join(missing)} not evaluated",
        )
    return Verdict(status="certified", summary="CERTIFIED: every dimension met its targets")


def build_result(run: Run, command: list[str]) -> QualityResult:
    """The quality result of a run (syntactic accuracy; other dimensions are added by their stages)."""
    items = [o.summary for o in run.outcomes]
    disc = run.discovery
    draft = QualityResult(
        dqm_version=__version__,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        command=command,
        batch=BatchInfo(
            path=str(run.root),
            fingerprint=fingerprint(run),
            n_items=len(items),
            n_slide_files=len(disc.slide_files),
            n_annotation_files=len(disc.annotation_files),
            manifest=disc.manifest,
        ),
        profile=ProfileInfo(name=run.profile.name, version=run.profile.version, sha256=run.profile.sha256),
        items=items,
        findings=run.findings,
        syntactic=syntactic_result(run),
        verdict=Verdict(status="incomplete"),
    )
    return with_verdict(draft)


def with_verdict(result: QualityResult) -> QualityResult:
    """The result with its verdict recomputed (after a dimension was added)."""
    return result.model_copy(update={"verdict": verdict(result)})


def with_diversity(result: QualityResult, profile: Profile, baseline: Any = None) -> QualityResult:
    """The result with its statistical-diversity dimension (computed from its items) and the
    verdict recomputed. ``baseline`` comes from :func:`dqm.diversity.load_baseline` (None: no drift)."""
    from dqm.diversity import diversity_result

    diversity = diversity_result(result.items, profile, baseline)
    return with_verdict(result.model_copy(update={"diversity": diversity}))


def write_outputs(result: QualityResult, out: Path) -> dict[str, Path]:
    """``results.json`` and ``report.html`` in ``out`` (created)."""
    from reports import render_html

    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.json", "report": out / "report.html"}
    result.dump(paths["results"])
    paths["report"].write_text(render_html(result), encoding="utf-8")
    return paths
