"""Checks as a profile configures them, and running them on a view.

:func:`configure` applies the profile's settings to the registered checks once (enabled,
parameters validated, severities); :func:`run_checks` runs the configured checks of one scope on
an :class:`~validators.context.ItemView` or the :class:`~validators.context.BatchView`, turning a
check that raises into a ``CHECK_CRASHED`` finding. Reading files and spreading items over
workers stay with the runner (``dqm.runner``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from dqm.budget import progress
from dqm.findings import CHECK_CRASHED, Aspect, Finding, Location, Severity, clip
from dqm.i18n import N_, msg
from dqm.output import visible
from dqm.profile import MAX_YAML_PROBLEMS, Profile, ProfileError, problem_lines, shown_key
from validators.context import BatchView, ItemView
from validators.registry import REGISTRY, CheckContext, CheckSpec, Scope, all_codes

CRASH_CODE = CHECK_CRASHED
"""Reserved for the runner: a check raised; the item could not be verified by it."""

RUN_ORDER = (
    "clinical.structure",
    "clinical.domain",
    "deid.slide_properties",
    "deid.file_names",
    "deid.annotation_properties",
    "deid.clinical_record",
    "file.annotation_readable",
    "file.pairing",
    "file.duplicate_slide_id",
    "file.duplicate_slide_content",
    "file.layout",
    "file.sparse",
    "schema.manifest",
    "format.class_known",
    "format.slide_info",
    "format.diagnosis_lesions",
    "clinical.consistency",
    "geometry.finite",
    "geometry.vertices",
    "geometry.validity",
    "geometry.zero_area",
    "geometry.bounds",
    "geometry.duplicate",
    "geometry.overlap",
    "geometry.min_area",
    "file.annotation_xml",
    "schema.foreign_annotation",
    "format.foreign_shapes",
    "format.lesion_class",
    "format.coco_boxes",
    "format.unmapped_classes",
    "schema.annotation",
    "slide.opens",
    "slide.resolution",
    "slide.annotation_agrees",
    "deid.associated_images",
    "slide.header",
    "slide.codec",
    "slide.format",
    "slide.time_budget",
    "slide.lesion_tissue",
)
"""The order in which the checks run, and so the order of an item's findings and of the results'
``checks`` list, as it was when checks were registered module by module. Kept so results read as
before; a check not listed here runs after these, in id order (a new check needs no line here)."""

ONCE_CODES = frozenset({"SLIDE_ALL_INK", "SLIDE_ONE_COLOUR"})
"""Codes that several checks say of one item so that one is said whichever of them is enabled
(``SLIDE_ALL_INK``, ``SLIDE_ONE_COLOUR``: ``slide.lesion_tissue``, ``artefacts.slide``, ``artefacts.lesion``): only the
first enabled check's, in run order, is kept."""

_RANK = {check_id: k for k, check_id in enumerate(RUN_ORDER)}


def run_order(check_id: str) -> tuple[int, str]:
    """Sort key of a check: its place in :data:`RUN_ORDER`, else after them by id."""
    return _RANK.get(check_id, len(_RANK)), check_id


@dataclass(frozen=True, slots=True)
class ConfiguredCheck:
    """A registered check with the profile's settings applied."""

    id: str
    params: BaseModel
    severities: dict[str, Severity]
    spec: CheckSpec


def configure(profile: Profile) -> list[ConfiguredCheck]:
    """The enabled checks in run order, parameters validated once; bad settings are a
    :class:`ProfileError`."""
    unknown = sorted(set(profile.checks) - set(REGISTRY))
    if unknown:
        named = _named(unknown)
        if "_more" in named:
            raise ProfileError(msg("profile configures unknown checks: {names}{_more}", **named))
        raise ProfileError(msg("profile configures unknown checks: {names}", **named))
    bad_codes = sorted(set(profile.severities) - set(all_codes()))
    if bad_codes:
        named = _named(bad_codes)
        if "_more" in named:
            raise ProfileError(msg("profile sets severities for unknown codes: {names}{_more}", **named))
        raise ProfileError(msg("profile sets severities for unknown codes: {names}", **named))
    out = []
    errors = []
    for check_id in sorted(REGISTRY, key=run_order):
        spec = REGISTRY[check_id]
        setting = profile.checks.get(check_id)
        if setting is not None and not setting.enabled:
            continue
        try:
            params = spec.params.model_validate(setting.params if setting else {})
        except ValidationError as exc:
            for e in exc.errors():
                loc = ".".join(shown_key(p) for p in e["loc"])
                errors.append(f"  checks.{check_id}.params.{loc}: {visible(e['msg'], newlines=False)}")
            continue
        severities = {}
        for code in spec.codes:
            default = setting.severity if setting and setting.severity else spec.severity_of(code)
            severities[code] = profile.severities.get(code, default)
        out.append(ConfiguredCheck(check_id, params, severities, spec))
    if errors:
        listed = problem_lines(errors)
        head = (
            N_("invalid check parameters in profile\n{problems}\n  {_more}")
            if "_more" in listed
            else N_("invalid check parameters in profile\n{problems}")
        )
        raise ProfileError(msg(head, **listed))
    return out


def _named(names: list[str]) -> dict[str, object]:
    """The parameters naming the first :data:`~dqm.profile.MAX_YAML_PROBLEMS` of ``names`` (a
    profile's own keys, each shown by :func:`~dqm.profile.shown_key`): ``names``, and where there
    are more, ``_more`` (how many, translated with the message): a profile of a million unknown
    check ids is one short line."""
    shown = ", ".join(shown_key(n) for n in names[:MAX_YAML_PROBLEMS])
    more = len(names) - MAX_YAML_PROBLEMS
    return {"names": shown} if more <= 0 else {"names": shown, "_more": N_(" and {n} more"), "n": more}


def run_checks(scope: Scope, view: ItemView | BatchView, checks: Iterable[ConfiguredCheck]) -> list[Finding]:
    """The findings of the configured checks of ``scope`` on ``view``, in the checks' order.

    A check that raises becomes a ``CHECK_CRASHED`` finding (:func:`crash_finding`) and the
    others still run: a check's bug must not stop the run or hide the item.
    """
    item_id, file = view.item_id, view.findings_file
    out: list[Finding] = []
    for cfg in checks:
        spec = cfg.spec
        if spec.scope != scope:
            continue
        ctx = CheckContext(spec, item_id, cfg.severities, file)
        progress()  # the item's limit counts a step at a time (dqm.budget.progress)
        try:
            said = spec.func(view, cfg.params, ctx)
            once = {f.code for f in out if f.code in ONCE_CODES}
            out.extend(f for f in said if f.code not in once)
        except Exception as exc:
            out.append(crash_finding(cfg.id, item_id, exc, file))
    return out


def crash_finding(check_id: str, item_id: str, exc: BaseException, file: str | None) -> Finding:
    """The record of a check that raised: an error of aspect ``internal``, so the item is *not
    evaluated* (never certified unverified, never counted as failed: :func:`dqm.findings.not_evaluated`)."""
    return Finding(
        item_id=item_id,
        check=check_id,
        code=CRASH_CODE,
        severity=Severity.ERROR,
        aspect=Aspect.INTERNAL,
        message=msg(
            "check crashed: {error}: {reason}", error=type(exc).__name__[:100], reason=clip(str(exc), 400)
        ),
        location=Location(file=file),
    )
