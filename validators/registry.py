"""The check registry: every check is a small pure function registered under a stable dotted id.

A check receives the thing it checks (an :class:`~validators.context.ItemView` or a
:class:`~validators.context.BatchView`), its typed parameters and a :class:`CheckContext`; it
returns a list of findings, empty when it passed. It writes no file, prints nothing, keeps no
state. ``ctx.finding(code, message, **location)`` builds a finding with the check's id, severity
and aspect filled in and refuses codes the check did not declare; ``forward(issues, ctx)`` turns the
issues met before the checks ran (a reader's, discovery's, the clinical table's) into the findings
of the check that declares their codes. Configuring and running checks: :mod:`validators.engine`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from dqm.findings import Aspect, Finding, Location, Severity
from validators.context import ItemView

Scope = Literal["item", "batch"]


class NoParams(BaseModel):
    """A check without parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A registered check."""

    id: str
    func: Callable[..., list[Finding]]
    scope: Scope
    aspect: Aspect
    severity: Severity
    codes: dict[str, str]
    params: type[BaseModel]
    code_severity: dict[str, Severity]
    """Codes whose default severity differs from the check's."""

    def severity_of(self, code: str) -> Severity:
        return self.code_severity.get(code, self.severity)

    @property
    def doc(self) -> str:
        """The one-line docstring shown by the report and ``dqm checks``."""
        return (inspect.getdoc(self.func) or "").splitlines()[0]


REGISTRY: dict[str, CheckSpec] = {}


def check(
    check_id: str,
    *,
    codes: dict[str, str],
    aspect: Aspect,
    severity: Severity = Severity.ERROR,
    scope: Scope = "item",
    params: type[BaseModel] = NoParams,
    code_severity: dict[str, Severity] | None = None,
) -> Callable[[Callable[..., list[Finding]]], Callable[..., list[Finding]]]:
    """Register ``func`` as check ``check_id`` emitting the reason ``codes`` (code -> meaning)."""

    def register(func: Callable[..., list[Finding]]) -> Callable[..., list[Finding]]:
        if check_id in REGISTRY:
            raise ValueError(f"check {check_id!r} registered twice")
        unknown = set(code_severity or {}) - set(codes)
        if unknown:
            raise ValueError(f"check {check_id!r}: severities for undeclared codes {unknown}")
        REGISTRY[check_id] = CheckSpec(
            check_id, func, scope, aspect, severity, dict(codes), params, dict(code_severity or {})
        )
        return func

    return register


@dataclass(slots=True)
class CheckContext:
    """Builds findings for one check run on one item (or the batch). Not frozen: one is made per
    check and item, and a frozen dataclass costs several times more to construct."""

    spec: CheckSpec
    item_id: str
    severities: dict[str, Severity]
    """Severity per code, after the profile's overrides."""
    file: str | None = None

    def finding(self, code: str, message: str, **location: Any) -> Finding:
        """A finding of this check; ``location`` fields as in :class:`dqm.findings.Location`.

        ``file`` defaults to the item's annotation file; ``item_id`` may be overridden for batch
        checks that report about one item; ``counted_values`` those of a finding that counts the
        issues past a reader's cap (:attr:`dqm.findings.Finding.counted_values`).
        """
        if code not in self.spec.codes:
            raise KeyError(f"check {self.spec.id} emitted undeclared code {code}")
        item_id = location.pop("item_id", self.item_id)
        counted_values = location.pop("counted_values", 0)
        location.setdefault("file", self.file)
        return Finding(
            item_id=item_id,
            check=self.spec.id,
            code=code,
            severity=self.severities[code],
            aspect=self.spec.aspect,
            message=message,
            location=Location(**location),
            counted_values=counted_values,
        )


class Issue(Protocol):
    """A problem met before the checks ran (reading a file, discovering the batch, the clinical
    table's expectations), reported by the check that declares its ``code``."""

    @property
    def code(self) -> str: ...

    @property
    def message(self) -> str: ...

    def where(self) -> dict[str, Any]:
        """Location fields of :class:`dqm.findings.Location` (and ``item_id`` if it names one)."""
        ...


def forward(issues: Iterable[Issue], ctx: CheckContext, **where: Any) -> list[Finding]:
    """Findings for the ``issues`` whose code this check declares, each where the issue says;
    ``where`` adds what the issues do not know themselves (the file a reader read). An issue that
    counts others past a reader's cap passes on the value slots they name."""
    return [
        ctx.finding(i.code, i.message, counted_values=getattr(i, "counted_values", 0), **where, **i.where())
        for i in issues
        if i.code in ctx.spec.codes
    ]


def read_issues(view: ItemView, ctx: CheckContext) -> list[Finding]:
    """Findings for what the reader met in the item's annotation file (:func:`forward`)."""
    ann = view.annotation
    return [] if ann is None else forward(ann.issues, ctx, file=ann.path)


def all_codes() -> dict[str, CheckSpec]:
    """Every registered reason code and the check that owns it."""
    out: dict[str, CheckSpec] = {}
    for spec in REGISTRY.values():
        for code in spec.codes:
            out[code] = spec
    return out
