"""The quality result: plain, frozen data that every report renders and ``dqm gate`` reads.

Every ratio says what it counts (``unit``), carries its numerator and denominator, its target
and whether it passed. ``results.json`` is ``QualityResult.model_dump_json()``; it round-trips
through :meth:`QualityResult.load`. ``docs/results.schema.json`` is generated from these models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dqm.findings import Finding
from dqm.validity.result import ValidityResult

SCHEMA_VERSION = "1.0"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Ratio(_Frozen):
    """A ratio with its denominator, target and decision."""

    name: str
    unit: Literal["files", "values", "slides", "lesions", "labels"]
    numerator: int
    denominator: int
    value: float | None
    """None when there was nothing to count."""
    target: float | None = None
    passed: bool | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    note: str = ""

    @classmethod
    def of(
        cls,
        name: str,
        unit: str,
        numerator: int,
        denominator: int,
        target: float | None = None,
        note: str = "",
    ) -> Ratio:
        value = numerator / denominator if denominator else None
        passed = None if target is None or value is None else value >= target
        return cls(
            name=name,
            unit=unit,
            numerator=numerator,
            denominator=denominator,  # type: ignore[arg-type]
            value=value,
            target=target,
            passed=passed,
            note=note,
        )


class SlideSummary(_Frozen):
    """Facts from a slide's header."""

    width: int | None = None
    height: int | None = None
    mpp: float | None = None
    vendor: str | None = None
    levels: int = 0
    objective_power: float | None = None


class ItemSummary(_Frozen):
    """One slide of the batch, as the report and the other dimensions see it."""

    slide_id: str
    row: int | None = None
    image_path: str | None = None
    annotation_path: str | None = None
    institution: str | None = None
    diagnosis: str | None = None
    """Class id when the diagnosis resolves, else the value as written."""
    clinical: dict[str, str | None] = Field(default_factory=dict)
    """Clinical fields of the profile as table text (identifying fields such as patient_id left out)."""
    n_lesions: int = 0
    lesion_classes: dict[str, int] = Field(default_factory=dict)
    """Lesion count per class id (``?`` for classes outside the taxonomy)."""
    lesion_area_px: dict[str, float] = Field(default_factory=dict)
    """Summed lesion area per class, level-0 square pixels."""
    width: int | None = None
    height: int | None = None
    """Slide size the annotation declares."""
    slide: SlideSummary | None = None
    errors: int = 0
    warnings: int = 0


class Breakdown(_Frozen):
    """Syntactic accuracy for one group (an institution, a class)."""

    key: str
    files: Ratio
    values: Ratio


class Grains(_Frozen):
    """One aspect (structure or format) at file and value grain."""

    files: Ratio
    values: Ratio


class SyntacticResult(_Frozen):
    """Syntactic accuracy (ISO/IEC 25024 Acc-I-1) at three grains."""

    file_accuracy: float | None
    """Files with no error finding / files checked."""
    files_total: int
    files_valid: int
    value_accuracy: float | None
    """Value slots with no error finding / value slots checked."""
    values_total: int
    values_valid: int
    structure: Grains
    format: Grains
    gates: list[Ratio]
    """The ratios with a target from the profile."""
    by_institution: list[Breakdown] = Field(default_factory=list)
    by_class: list[Breakdown] = Field(default_factory=list)
    by_code: dict[str, int] = Field(default_factory=dict)
    """Findings per reason code (every severity)."""
    errors: int = 0
    warnings: int = 0
    crashed: int = 0
    """Checks that raised; each is an error finding with code CHECK_CRASHED."""
    passed: bool
    method: str = ""


class BatchInfo(_Frozen):
    """The batch checked."""

    path: str
    fingerprint: str
    """SHA-256 over the sorted ``path:hash`` lines of the batch's files (see docs)."""
    n_items: int
    n_slide_files: int
    n_annotation_files: int
    manifest: str | None = None


class ProfileInfo(_Frozen):
    name: str
    version: str
    sha256: str


class Verdict(_Frozen):
    """The overall decision over the dimensions."""

    status: Literal["certified", "not_certified", "incomplete"]
    failed: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    summary: str = ""


class QualityResult(_Frozen):
    """Everything one audit found."""

    schema_version: str = SCHEMA_VERSION
    dqm_version: str
    created: str
    command: list[str] = Field(default_factory=list)
    batch: BatchInfo
    profile: ProfileInfo
    items: list[ItemSummary]
    findings: list[Finding]
    syntactic: SyntacticResult | None = None
    validity: ValidityResult | None = None
    verdict: Verdict

    def dump(self, path: Path) -> None:
        """Write as JSON (UTF-8)."""
        path.write_bytes(self.model_dump_json(indent=None).encode("utf-8"))

    @classmethod
    def load(cls, path: Path) -> QualityResult:
        """Read a ``results.json``."""
        return cls.model_validate_json(path.read_bytes())

    def to_frame(self):  # type: ignore[no-untyped-def]
        """The findings as a long pandas table, one row per finding."""
        from dqm.findings import to_frame

        return to_frame(self.findings)
