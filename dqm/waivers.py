"""Waivers: exceptions a data team accepts, honoured by the verdict and listed beside it.

A waiver file (YAML, ``docs/delivery.md``)::

    waivers:
      - code: MPP_MISSING            # or check: slide.mpp_missing (both: both must match)
        item: "HOSP-B-*"             # a glob over the item (slide id), or
        file: "hospital_b/*.svs"     # a glob over the finding's file
        reason: scanner writes no resolution; measured on the glass
        approved_by: J. Kim (data manager)
        expires: 2027-03-31          # the last day it holds

A waiver covers a finding when its code (and/or check) is the finding's and its patterns match
the finding's item and file. Patterns are matched as written and as the run's masker writes them,
so a waiver naming a slide id also covers it in a masked ``results.json``. A crashed check is
never waived (the item was not verified). Waived findings stay in ``findings``; they no longer
make a file or a value inaccurate, so syntactic accuracy and the verdict are decided again
(:func:`dqm.syntactic.accuracy.rewaived`). An expired waiver covers nothing; an expired or unused
waiver is a warning.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path

import yaml
from pydantic import ValidationError

from dqm.delivery import Waiver, WaiverFile, WaiverSection, WaiverUse
from dqm.facts import Ratio
from dqm.findings import Aspect, Finding
from dqm.i18n import msg
from dqm.output import read_named
from dqm.profile import load_yaml
from dqm.results import QualityResult

MAX_WAIVER_BYTES = 1_000_000


class WaiverError(ValueError):
    """A waiver file that cannot be read or does not validate."""


def load_waivers(path: Path, max_errors: int = 5) -> list[Waiver]:
    """The waivers of a YAML file.

    Raises
    ------
    WaiverError
        The file is missing, too large, not YAML, or not a valid waiver file; the message names
        the first ``max_errors`` problems with their places (``waivers/2/expires``).
    """
    try:
        if path.stat().st_size > MAX_WAIVER_BYTES:
            raise WaiverError(
                msg(
                    "waiver file {path} is larger than {limit:,} bytes",
                    path=path,
                    limit=MAX_WAIVER_BYTES,
                )
            )
        text = read_named(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WaiverError(
            msg(
                "cannot read waiver file {path}: {reason}",
                path=path,
                reason=getattr(exc, "strerror", None) or exc,
            )
        ) from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise WaiverError(msg("waiver file {path} is not YAML: {reason}", path=path, reason=exc)) from None
    try:
        return WaiverFile.model_validate(data).waivers
    except ValidationError as exc:
        errors = exc.errors()
        lines = [
            f"  {'/'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in errors[:max_errors]
        ]
        if len(errors) > max_errors:
            lines.append("  " + msg("… and {n} more", n=len(errors) - max_errors))
        raise WaiverError(
            msg("waiver file {path} is not valid:\n{problems}", path=path, problems="\n".join(lines))
        ) from None


_TOKEN = re.compile(r"\[([A-Z0-9_]+-[0-9a-f]{10})\]")
"""A masked identifier (:meth:`dqm.identifiers.Masker.token`): its brackets are not a glob's."""


def _masked_glob(pattern: str, mask: Callable[[str], str]) -> str:
    return _TOKEN.sub(r"[[]\1[]]", mask(pattern))


def _globs(pattern: str | None, mask: Callable[[str], str] | None) -> tuple[str, ...] | None:
    """The globs a pattern matches with: as written and, when it names an identifier, as masked."""
    if pattern is None:
        return None
    masked = _masked_glob(pattern, mask) if mask is not None else pattern
    return (pattern,) if masked == pattern else (pattern, masked)


def _hit(globs: tuple[str, ...] | None, value: str | None) -> bool:
    if globs is None:
        return True
    return value is not None and any(fnmatchcase(value, g) for g in globs)


def _covers(waiver: Waiver, items: tuple[str, ...] | None, files: tuple[str, ...] | None, f: Finding) -> bool:
    if f.aspect == Aspect.INTERNAL:
        return False
    if waiver.code is not None and waiver.code != f.code:
        return False
    if waiver.check is not None and waiver.check != f.check:
        return False
    return _hit(items, f.item_id) and _hit(files, f.location.file)


def covers(waiver: Waiver, finding: Finding, mask: Callable[[str], str] | None = None) -> bool:
    """Whether ``waiver`` names ``finding`` (expiry aside)."""
    return _covers(waiver, _globs(waiver.item, mask), _globs(waiver.file, mask), finding)


_GLOB_CHARS = re.compile(r"[*?\[]")
"""What makes a pattern a glob (``fnmatch``); a pattern without them matches itself only."""


def _use(
    waiver: Waiver,
    findings: list[Finding],
    by_name: dict[str, list[int]],
    by_item: dict[tuple[str, str], list[int]],
    today: dt.date,
    mask: Callable[[str], str] | None,
) -> WaiverUse:
    items, files = _globs(waiver.item, mask), _globs(waiver.file, mask)  # masked once, not per finding
    name = waiver.code if waiver.code is not None else waiver.check
    if items is not None and not any(_GLOB_CHARS.search(g) for g in items):
        # a waiver naming slides, not a glob: those slides' findings (a file waiving every slide
        # one by one would match each waiver against every finding of its code)
        candidates = sorted({i for g in items for i in by_item.get((name or "", g), ())})
    else:
        candidates = by_name.get(name or "", [])  # a waiver names a code or a check: only those findings
    matched = [i for i in candidates if _covers(waiver, items, files, findings[i])]
    if waiver.expires < today:
        return WaiverUse(waiver=waiver, status="expired", would_cover=len(matched))
    return WaiverUse(waiver=waiver, status="active" if matched else "unused", covered=matched)


def _by_name(findings: list[Finding]) -> dict[str, list[int]]:
    """Finding indexes by code and by check (codes are UPPER_SNAKE, check ids dotted lower case)."""
    out: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(findings):
        out[f.code].append(i)
        if f.check != f.code:
            out[f.check].append(i)
    return out


def _warning(use: WaiverUse) -> str | None:
    w = use.waiver
    who = {"waiver": w.describe(), "by": w.approved_by}
    if use.status == "expired":
        if use.would_cover:
            return msg(
                "waiver {waiver} (approved by {by}) expired on {date}: the {n} findings it matches count again",
                **who, date=w.expires.isoformat(), n=use.would_cover,
            )  # fmt: skip
        return msg(
            "waiver {waiver} (approved by {by}) expired on {date}: it matches no finding",
            **who, date=w.expires.isoformat(),
        )  # fmt: skip
    if use.status == "unused":
        return msg("waiver {waiver} (approved by {by}) matched no finding", **who)
    return None


def table_rows(result: QualityResult) -> int:
    """The clinical table's data rows, as the items name them (a whole missing column counts one
    missing value per row)."""
    return sum(i.row is not None for i in result.items)


def with_waivers(
    result: QualityResult,
    waivers: list[Waiver],
    source: str,
    today: dt.date | None = None,
    mask: Callable[[str], str] | None = None,
) -> QualityResult:
    """``result`` decided with ``waivers`` (judged on ``today``, UTC by default): its ``waivers``
    section, syntactic accuracy without the waived findings and the verdict again. Waivers the
    result already held are replaced; the findings are never changed."""
    from dqm.audit import with_verdict
    from dqm.syntactic.accuracy import rewaived

    today = today or dt.datetime.now(dt.UTC).date()
    findings = result.findings
    by_name = _by_name(findings)
    by_item: dict[tuple[str, str], list[int]] = defaultdict(list)
    for name, indexes in by_name.items():
        for i in indexes:
            by_item[name, findings[i].item_id].append(i)
    uses = [_use(w, findings, by_name, by_item, today, mask) for w in waivers]
    waived = sorted({i for u in uses for i in u.covered})
    before = set(result.waivers.waived) if result.waivers is not None else set()
    syntactic = result.syntactic
    measured: list[Ratio] = []
    if syntactic is not None:
        measured = result.waivers.measured if result.waivers is not None else list(syntactic.gates)
        syntactic = rewaived(syntactic, findings, before, set(waived), table_rows(result))
    section = WaiverSection(
        source=source,
        checked_on=today,
        uses=uses,
        waived=waived,
        measured=measured,
        warnings=[w for u in uses if (w := _warning(u)) is not None],
    )
    return with_verdict(result.model_copy(update={"syntactic": syntactic, "waivers": section}))
