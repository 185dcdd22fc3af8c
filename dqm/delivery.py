"""The delivery loop's data: waivers, which findings they cover, and a redelivery's status per finding.

Plain frozen models (``results.json`` stores :class:`WaiverSection` and :class:`Redelivery`);
:mod:`dqm.waivers` and :mod:`dqm.redelivery` compute them.

Matching a finding across two deliveries (:func:`finding_key`): the same item, reason code, file,
pointer, table row and column, and lesion index. Line, character, vertex and coordinates are not
compared, because editing a file moves them. A column the profile does not declare is named by its
position (``#13``), which a column put before it changes: such a finding's column is not compared,
its masked value (``params['masked']``) is, and what is left unpaired then is paired with a finding
naming its column by its name, the rest equal (an annotation's clinical block's pointer cut to
``/clinical``): results written before such columns were named by position name them. Findings with
equal keys are paired one to one in the order they were reported: the earlier delivery's unpaired
ones are *fixed*, the redelivery's unpaired ones *new*, the paired ones *still there*.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dqm.facts import Frozen, Ratio
from dqm.findings import MAX_NAME_CHARS, Finding
from dqm.i18n import N_
from dqm.identifiers import SCHEMA_KEYS, XML_ELEMENTS

MATCHING_RULE = N_(
    "A finding is still there when the earlier delivery has one with the same item, reason code, "
    "file, pointer, table row and column, and lesion index (line, character, vertex and coordinates "
    "move when a file is edited and are not compared; a column or key named by its position, #13, is "
    "not compared either, the finding's masked value is, and such a finding matches one naming it "
    "by its name); equal findings are paired one to one. The "
    "earlier delivery's unpaired findings are fixed, the redelivery's unpaired findings are new."
)


def by_position(column: str | None) -> bool:
    """Whether a finding names its column by its position (``#13``: a column the profile does not
    declare, :func:`validators.deid.shown_column`)."""
    return column is not None and column.startswith("#")


_KEY_POSITION = re.compile(r"(?:(?<=/)|(?<=::))(@?)#\d+(?=/|$|\[\d+\](?:/|$))")
"""A pointer's key named by its position (``/features/0/properties/#2``, an XML attribute's
``/@#2``, an XML element's tag ``/#2[1]``: a key or tag no format defines,
:class:`dqm.identifiers.KeyNames`, :data:`dqm.identifiers.XML_ELEMENTS`)."""


def positioned(f: Finding) -> bool:
    """Whether a finding names a column or a key of its pointer by its position."""
    pointer = f.location.pointer
    return by_position(f.location.column) or (
        pointer is not None and _KEY_POSITION.search(pointer) is not None
    )


def _masked(f: Finding) -> Any:
    """The finding's masked value (a hit's ``masked``, a person's value under a key's ``value``)."""
    return f.params.get("masked", f.params.get("value"))


def finding_key(f: Finding) -> tuple[Any, ...]:
    """What identifies a finding across two deliveries (see the module's docstring): a column or
    a pointer's key named by its position is not compared (``#``), the finding's masked value is
    instead (a column or key put before it renumbers it, another may take its number)."""
    loc = f.location
    pointer, column, value = loc.pointer, loc.column, None
    if by_position(column):
        column, value = "#", f.params.get("masked")
    if pointer is not None and _KEY_POSITION.search(pointer) is not None:
        pointer, value = _KEY_POSITION.sub(r"\1#", pointer), _masked(f)
    return (f.item_id, f.code, loc.file, pointer, loc.row, column, loc.lesion, value)


def column_free_key(f: Finding) -> tuple[Any, ...]:
    """:func:`finding_key` without the column, an annotation's clinical-block pointer cut to
    ``/clinical``, every key of another pointer that no format defines as ``#``: what pairs a
    finding naming a column or key by its position with one naming it by its name (results
    written before they were named by position, or a column the profile has declared since)."""
    loc = f.location
    pointer = loc.pointer
    if pointer is not None and pointer.startswith("/clinical/"):
        pointer = "/clinical"
    elif pointer is not None:
        pointer = "/".join(_shape(part) for part in pointer.split("/"))
    return (f.item_id, f.code, loc.file, pointer, loc.row, loc.lesion, _masked(f))


_XML_STEP = re.compile(r"\[\d+\]$|\(\)|::")
"""An XML path's step (``Annotation[2]``, ``text()[1]``, ``following-sibling::text()[1]``): an
element and its position, no key."""
_XML_ELEMENT = re.compile(r"((?:descendant::)?)([^/\[\]@:()]+)(\[\d+\])")
"""An XML path's step naming an element (``Annotation[2]``, ``#1[1]``, ``descendant::#2[3]``):
its axis, its tag (or ``#`` and its position among the tags no format defines), its index."""


def _shape(part: str) -> str:
    """A pointer's segment as :func:`column_free_key` compares it: an index, a key a format defines
    or an XML path's step (:data:`_XML_STEP`) as it is, another key (named by its position, ``#2``,
    or by its name in results written before) as ``#`` (``@#`` for an XML attribute's), an XML
    element's step whose tag no format defines (``#2[1]``, ``Hong_Gildong[1]``) as ``#[1]``. An
    XML step taken for a key made every finding of one code and masked value in a file's XML text
    one (``/A/B[1]/@#1`` paired with ``/A/C[3]/@Kim``)."""
    key = part.removeprefix("@")
    if (element := _XML_ELEMENT.fullmatch(part)) is not None:
        axis, tag, index = element.groups()
        return part if tag in XML_ELEMENTS else f"{axis}#{index}"
    if not key or key.isdigit() or key in SCHEMA_KEYS or (key == part and _XML_STEP.search(part)):
        return part
    return "@#" if part.startswith("@") else "#"


class Waiver(BaseModel):
    """One accepted exception: findings of a code (or check) on matching items or files."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_CHARS)
    """A reason code (``MPP_MISSING``); with ``check`` both must match."""
    check: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_CHARS)
    """A check id (``slide.mpp_missing``)."""
    item: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_CHARS)
    """A glob over the finding's item (slide id), e.g. ``HOSP-B-*``; ``*`` for every item."""
    file: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_CHARS)
    """A glob over the finding's file (relative to the batch), e.g. ``hospital_b/*.json``."""
    reason: str = Field(min_length=1, max_length=2_000)
    approved_by: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    expires: dt.date
    """The last day the waiver holds."""

    @model_validator(mode="after")
    def _targets(self) -> Waiver:
        if self.code is None and self.check is None:
            raise ValueError("a waiver names a code or a check")
        if self.item is None and self.file is None:
            raise ValueError("a waiver names an item or a file pattern ('*' for every item)")
        return self

    def describe(self) -> str:
        what = " / ".join(x for x in (self.code, self.check) if x)
        where = " / ".join(x for x in (self.item, self.file) if x)
        return f"{what} on {where}"


MAX_WAIVERS = 1_000
"""Waivers one file may hold (matching costs a few lookups per finding, :func:`dqm.waivers._matches`)."""


class WaiverFile(BaseModel):
    """A waiver file (YAML): ``waivers:`` followed by a list of :class:`Waiver`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    waivers: list[Waiver] = Field(min_length=1, max_length=MAX_WAIVERS)


class WaiverUse(Frozen):
    """One waiver and what it did in this result."""

    waiver: Waiver
    status: Literal["active", "expired", "unused"]
    """``active``: it covered findings; ``expired``: past its date, it covers nothing (a warning);
    ``unused``: it matched no finding (a warning)."""
    covered: list[int] = Field(default_factory=list)
    """Indexes into ``findings`` of the findings it waives (none when expired)."""
    would_cover: int = 0
    """Findings an expired waiver matches but no longer covers."""


class WaiverSection(Frozen):
    """The waivers a result was decided with. The findings stay in ``findings``; a waived finding
    does not lower syntactic accuracy (``syntactic`` holds the figures with waivers, ``measured``
    the gated ratios as they were measured)."""

    source: str
    """The waiver file's name."""
    checked_on: dt.date
    """The day expiry was judged against."""
    uses: list[WaiverUse]
    waived: list[int] = Field(default_factory=list)
    """Indexes into ``findings`` covered by at least one waiver."""
    measured: list[Ratio] = Field(default_factory=list)
    """Syntactic accuracy's gated ratios before any waiver."""
    warnings: list[str] = Field(default_factory=list)


MAX_FIXED_LISTED = 1_000
"""Fixed findings a results.json lists: an earlier release of 300,000 findings made every
redelivery's results.json as large as the baseline (the counts stay whole: ``fixed_total``,
``fixed_by_code``; the earlier results.json holds the findings themselves)."""


class Redelivery(Frozen):
    """A redelivery compared with the earlier delivery (``dqm audit --baseline OLD/results.json``)."""

    baseline: str
    """The earlier ``results.json``."""
    baseline_fingerprint: str
    baseline_created: str
    rule: str = MATCHING_RULE
    still_there: list[int] = Field(default_factory=list)
    """Indexes into ``findings`` that the earlier delivery also had."""
    new: list[int] = Field(default_factory=list)
    """Indexes into ``findings`` that the earlier delivery did not have."""
    fixed: list[Finding] = Field(default_factory=list)
    """The earlier delivery's findings that are gone, in its order: the first
    :data:`MAX_FIXED_LISTED` of them (before 1.14, all of them)."""
    fixed_total: int | None = None
    """The earlier delivery's findings that are gone, all of them (1.14; absent: ``fixed`` lists
    every one)."""
    fixed_by_code: dict[str, int] = Field(default_factory=dict)
    """The findings that are gone per reason code, all of them (1.14)."""

    @property
    def n_fixed(self) -> int:
        """How many of the earlier delivery's findings are gone (``fixed`` may list fewer)."""
        return len(self.fixed) if self.fixed_total is None else self.fixed_total

    def statuses(self) -> dict[int, str]:
        """Finding index -> ``still there`` or ``new`` (a finding added after the comparison, such
        as a renderer's crash, has none)."""
        return {**dict.fromkeys(self.new, "new"), **dict.fromkeys(self.still_there, "still there")}
