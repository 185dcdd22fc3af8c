"""The ``lots`` section of results.json: one row per lot, the certificate's rows."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dqm.facts import Frozen, Ratio


class LotPlan(Frozen):
    """The ISO 2859-1 single sampling plan for the lot's size, at its supplier's severity."""

    severity: Literal["normal", "tightened", "reduced"]
    level: str
    aql: float
    code_letter: str
    sample_size: int
    acceptance_number: int
    rejection_number: int
    note: str = ""


class Lot(Frozen):
    """One lot: its syntactic figures, its sampling plan and decision, and its gate."""

    name: str
    """The lot's value of the field, as the batch gives it (masked in every output dqm writes)."""
    items: int
    files: Ratio
    """File accuracy of the lot's files, with the profile's target."""
    structure: Ratio
    """Structure accuracy of the lot's values."""
    format: Ratio
    """Format accuracy of the lot's structurally accurate values."""
    errors: int = 0
    warnings: int = 0
    crashed: int = 0
    syntactic_passed: bool
    scheme: Literal["normal", "tightened", "reduced", "discontinued"] = "normal"
    """Where the lot's supplier stands in ISO 2859-1's switching rules (normal without a history)."""
    switching_score: int | None = None
    """The supplier's switching score before this lot (normal inspection only)."""
    plan: LotPlan | None = None
    """None when inspection is discontinued for the supplier."""
    decision: Literal["accept", "reject", "pending"] = "pending"
    """The ISO 2859-1 decision of the lot's review; pending until a review of the lot is ingested."""
    nonconforming: int | None = None
    """FAILs counted by the decision."""
    evaluated: list[str] = Field(default_factory=list)
    """The dimensions the lot's gate reads: syntactic, and semantic once the lot has a decision."""
    failed: list[str] = Field(default_factory=list)
    passed: bool
    note: str = ""


class LotsResult(Frozen):
    """The batch split into lots by one field (``dqm audit --lot-by``)."""

    field: str
    lots: list[Lot]
    history: str | None = None
    """The supplier history the severities were read from (None: every lot at normal inspection)."""
    method: str = ""
