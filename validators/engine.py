"""Running checks: the registered checks as a profile configures them, and the one loop that runs
them over an item or the batch.

The runner reads files and hands out items; everything about checks — declaring them
(:mod:`validators.registry`), configuring them from the profile and running them — lives here, in
``validators``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from dqm.findings import Aspect, Finding, Location, Severity
from dqm.profile import Profile, ProfileError
from validators.registry import REGISTRY, CheckContext, CheckSpec, Scope

CRASH_CODE = "CHECK_CRASHED"
"""Reserved for the runner: a check raised; the item could not be verified by it."""


@dataclass(frozen=True, slots=True)
class ConfiguredCheck:
    """A registered check with the profile's settings applied."""

    id: str
    params: BaseModel
    severities: dict[str, Severity]
    spec: CheckSpec


def configure(profile: Profile) -> list[ConfiguredCheck]:
    """The enabled checks, parameters validated once; bad settings are a :class:`ProfileError`."""
    unknown = sorted(set(profile.checks) - set(REGISTRY))
    if unknown:
        raise ProfileError(f"profile configures unknown checks: {', '.join(unknown)}")
    all_codes = {c for spec in REGISTRY.values() for c in spec.codes}
    bad_codes = sorted(set(profile.severities) - all_codes)
    if bad_codes:
        raise ProfileError(f"profile sets severities for unknown codes: {', '.join(bad_codes)}")
    out = []
    errors = []
    for check_id, spec in REGISTRY.items():
        setting = profile.checks.get(check_id)
        if setting is not None and not setting.enabled:
            continue
        try:
            params = spec.params.model_validate(setting.params if setting else {})
        except ValidationError as exc:
            for e in exc.errors():
                loc = ".".join(str(p) for p in e["loc"])
                errors.append(f"  checks.{check_id}.params.{loc}: {e['msg']}")
            continue
        severities = {}
        for code in spec.codes:
            default = setting.severity if setting and setting.severity else spec.severity_of(code)
            severities[code] = profile.severities.get(code, default)
        out.append(ConfiguredCheck(check_id, params, severities, spec))
    if errors:
        raise ProfileError("invalid check parameters in profile\n" + "\n".join(errors))
    return out


def crash_finding(check_id: str, item_id: str, exc: BaseException, file: str | None) -> Finding:
    """The record of a check that raised: an error, so the item is not certified unverified."""
    return Finding(
        item_id=item_id,
        check=check_id,
        code=CRASH_CODE,
        severity=Severity.ERROR,
        aspect=Aspect.INTERNAL,
        message=f"check crashed: {type(exc).__name__}: {exc}"[:500],
        location=Location(file=file),
    )


def run_checks(
    scope: Scope, view: Any, checks: list[ConfiguredCheck], item_id: str, file: str | None
) -> list[Finding]:
    """Every configured check of ``scope`` on ``view`` (an item's or the batch's); a check that
    raises becomes a :data:`CRASH_CODE` finding of ``item_id`` and the others still run."""
    out: list[Finding] = []
    for cfg in checks:
        spec = cfg.spec
        if spec.scope != scope:
            continue
        ctx = CheckContext(spec, item_id, cfg.severities, file)
        try:
            out.extend(spec.func(view, cfg.params, ctx))
        except Exception as exc:  # a check's bug must not stop the run or hide the item
            out.append(crash_finding(cfg.id, item_id, exc, file))
    return out
