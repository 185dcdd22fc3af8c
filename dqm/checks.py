"""Checks as a profile configures them: enabled, with validated parameters and severities."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from dqm.findings import Aspect, Finding, Location, Severity
from dqm.profile import Profile, ProfileError
from validators.registry import CheckSpec

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
    from validators import REGISTRY

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
