"""Reading reviewers' verdict files: CSV or JSON in, records and findings out, never an exception.

Accepted shapes
---------------
CSV (UTF-8, optional BOM), header row with at least ``slide_id``, ``reviewer``, ``verdict``;
optional ``reason`` (several joined by ``;``), ``comment``, ``corrected`` (path of a GeoJSON file
with the corrected outline, relative to the verdict file and inside its folder).

JSON: a list of records, or an object ``{"format": "dqm.verdicts/1", "plan_id": …, "reviewer": …,
"verdicts": [records]}`` as the review sheet exports it. A record is an object with the same keys;
``reviewer`` may come from the enclosing object; ``corrected`` may hold GeoJSON inline or a path.

An empty ``verdict`` means "not reviewed yet" and is skipped with an info finding.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dqm.findings import clip
from dqm.i18n import N_, msg
from dqm.output import csv_cell_limit, from_spreadsheet, read_named
from dqm.semantic.models import REASONS, ReviewFinding
from dqm.strictjson import StrictJSONError, loads

MAX_BYTES = 64 * 1024 * 1024
REQUIRED = ("slide_id", "reviewer", "verdict")
MAX_REVIEWER = 200
"""Characters of a reviewer's name a verdict is read with (the server's names are at most 120): a
file naming its reviewer in 2 MB had that name printed whole in each finding and kept whole in
semantic.json."""
KNOWN_COLUMNS = frozenset({*REQUIRED, "reason", "reasons", "comment", "corrected", "reviewed_at", "plan_id"})
VERDICT_WORDS = {"pass": "pass", "fail": "fail", "passed": "pass", "failed": "fail"}
SHOWN_CHARS = 200
"""Characters of a file's own text (a slide id, a corrected outline's path) a finding shows
(:func:`file_text`)."""
FINDINGS_PER_CODE = 50
"""Findings of one code and severity listed in full, per verdict file and per ingest; one more
counts the rest (a review tool's full export handed in by mistake: a million rows, a bounded
semantic.json)."""


@dataclass(frozen=True, slots=True)
class VerdictRecord:
    """One usable verdict, with where it came from."""

    slide_id: str
    reviewer: str
    verdict: str
    """``pass`` or ``fail``."""
    reasons: tuple[str, ...]
    comment: str
    corrected: Any
    """Parsed GeoJSON of a corrected outline, or None."""
    file: str
    row: int | None = None
    pointer: str | None = None
    order: int = 0
    """Position over all files read (first read, first kept; of a reviewer's PASS and FAIL on one
    slide, the FAIL: :func:`dqm.semantic.ingest.validate`)."""


@dataclass(frozen=True, slots=True)
class NotReviewable:
    """A slide a review database's export lists under ``not_reviewable``: the review server refused
    it as not the file the audit checked (``reason``, as the server showed it), at ``pointer``."""

    slide_id: str
    reason: str
    pointer: str


@dataclass(slots=True)
class VerdictFile:
    """What one file gave: its records, its findings, the plan id it quotes (if any) and the
    slides it lists as not reviewable (:class:`NotReviewable`)."""

    path: str
    records: list[VerdictRecord]
    findings: list[ReviewFinding]
    plan_id: str | None = None
    not_reviewable: list[NotReviewable] = field(default_factory=list)


class Findings:
    """Review findings as they are met: the first :data:`FINDINGS_PER_CODE` of each code and
    severity in full, the others only counted (no model, no message built for them)."""

    def __init__(self, file: str | None = None) -> None:
        self.file = file
        self.listed: list[ReviewFinding] = []
        self._met: dict[tuple[str, str], int] = {}

    def room(self, code: str, severity: str) -> bool:
        """Count one finding of ``code`` and ``severity``; whether it is to be listed."""
        met = self._met.get((code, severity), 0)
        self._met[(code, severity)] = met + 1
        return met < FINDINGS_PER_CODE

    def all(self) -> list[ReviewFinding]:
        """The listed findings, then one per code and severity met more often, counting the rest."""
        return self.listed + [
            ReviewFinding(
                code=code,
                severity=severity,  # type: ignore[arg-type]
                message=msg(
                    "{n} more findings of this code are not listed (the first {listed} are)",
                    n=met - FINDINGS_PER_CODE,
                    listed=FINDINGS_PER_CODE,
                ),
                file=self.file,
            )
            for (code, severity), met in self._met.items()
            if met > FINDINGS_PER_CODE
        ]


def file_text(value: str) -> str:
    """``value``, the verdict file's own text of any length, as a finding shows it: cut to
    :data:`SHOWN_CHARS`, saying how long it was (a 2 MB slide id or ``corrected`` value was printed
    whole, in the console and in ``semantic.json``)."""
    return clip(value, SHOWN_CHARS)


class _Reader:
    def __init__(self, path: Path, label: str) -> None:
        self.path = path
        self.label = label
        self.found = Findings(label)
        self.records: list[VerdictRecord] = []
        self.not_reviewable: list[NotReviewable] = []
        self.long_reviewer = 0
        """Verdicts not read for the file's top-level ``reviewer``, over :data:`MAX_REVIEWER`."""
        self.long_reviewer_rows = 0
        """Rows under that name, an empty or unknown verdict's too (the name is said too long
        where only those used it)."""

    def finding(self, code: str, severity: str, message: str, **where: Any) -> None:
        if self.found.room(code, severity):
            self.found.listed.append(
                ReviewFinding(code=code, severity=severity, message=message, file=self.label, **where)  # type: ignore[arg-type]
            )

    def record(self, raw: dict[str, Any], default_reviewer: Any, **where: Any) -> None:
        """Validate one raw record; keep it when usable, else add findings."""

        def text(key: str) -> str | None:
            value = raw.get(key)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, str | int):
                self.finding(
                    "VERDICT_BAD_VALUE",
                    "error",
                    msg("{key} must be text, got {type}", key=key, type=type(value).__name__),
                    **where,
                )
                raise _Skip
            return str(value).strip()

        try:
            slide_id = text("slide_id")
            own = text("reviewer")
            reviewer = own or (str(default_reviewer).strip() if isinstance(default_reviewer, str) else None)
            verdict_raw = text("verdict")
        except _Skip:
            return
        if not slide_id:
            self.finding(
                "VERDICT_MISSING_FIELD", "error", N_("no slide_id: the verdict names no slide"), **where
            )
            return
        where = {**where, "slide_id": file_text(slide_id)}
        if not reviewer:
            self.finding(
                "VERDICT_MISSING_FIELD", "error", N_("no reviewer: verdicts must say who gave them"), **where
            )
            return
        long_default = len(reviewer) > MAX_REVIEWER and not own
        if len(reviewer) > MAX_REVIEWER and own:
            self.finding(
                "VERDICT_BAD_VALUE",
                "error",
                msg(
                    "the reviewer's name is {n:,} characters long, more than {cap}: the verdict is not read",
                    n=len(reviewer),
                    cap=MAX_REVIEWER,
                ),
                **where,
                reviewer=clip(reviewer, 40),
            )
            return
        where["reviewer"] = clip(reviewer, 40) if long_default else reviewer
        self.long_reviewer_rows += long_default
        if not verdict_raw:
            self.finding(
                "VERDICT_EMPTY", "info", N_("no verdict given (slide not reviewed yet): skipped"), **where
            )
            return
        verdict = VERDICT_WORDS.get(verdict_raw.casefold())
        if verdict is None:
            self.finding(
                "VERDICT_BAD_VALUE",
                "error",
                msg("verdict {value!r} is neither pass nor fail", value=clip(verdict_raw, 40)),
                **where,
            )
            return
        if long_default:
            # the file's name for all its verdicts: one finding for the file (_read_doc), counting
            # only the verdicts that would have counted (an empty or unknown verdict has its own)
            self.long_reviewer += 1
            return
        reasons = self._reasons(raw, verdict, where)
        comment_raw = raw.get("comment")
        comment = comment_raw.strip() if isinstance(comment_raw, str) else ""
        if comment_raw is not None and not isinstance(comment_raw, str):
            self.finding("VERDICT_BAD_VALUE", "warning", N_("comment is not text: ignored"), **where)
        corrected = self._corrected(raw.get("corrected"), where)
        self.records.append(
            VerdictRecord(
                slide_id,
                reviewer,
                verdict,
                reasons,
                comment,
                corrected,
                self.label,
                order=len(self.records),
                **_loc(where),
            )
        )

    def _reasons(self, raw: dict[str, Any], verdict: str, where: dict[str, Any]) -> tuple[str, ...]:
        value = raw.get("reason", raw.get("reasons"))
        items: list[Any]
        if value is None or value == "":
            items = []
        elif isinstance(value, str):
            items = [p for p in (s.strip() for s in value.replace("|", ";").split(";")) if p]
        elif isinstance(value, list):
            items = value
        else:
            self.finding(
                "VERDICT_BAD_REASON", "warning", N_("reason is neither text nor a list: ignored"), **where
            )
            items = []
        out: list[str] = []
        for item in items:
            norm = (
                item.strip().casefold().replace(" ", "_").replace("-", "_") if isinstance(item, str) else None
            )
            if norm in REASONS:
                out.append(norm)
            else:
                shown = clip(item, 40) if isinstance(item, str) else type(item).__name__
                self.finding(
                    "VERDICT_BAD_REASON",
                    "warning",
                    msg(
                        "reason {value!r} is not one of {reasons}: counted as other",
                        value=shown,
                        reasons=", ".join(REASONS),
                    ),
                    **where,
                )
                out.append("other")
        if verdict == "fail" and not out:
            self.finding("VERDICT_FAIL_WITHOUT_REASON", "warning", N_("FAIL without a reason"), **where)
        if verdict == "pass" and out:
            self.finding(
                "VERDICT_PASS_WITH_REASON", "info", N_("PASS with a failure reason: reason ignored"), **where
            )
            out = []
        return tuple(dict.fromkeys(out))

    def _corrected(self, value: Any, where: dict[str, Any]) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, dict | list):
            return value
        if not isinstance(value, str):
            self.finding(
                "CORRECTION_UNREADABLE",
                "error",
                N_("corrected must be GeoJSON or the path of a GeoJSON file"),
                **where,
            )
            return None
        try:
            folder = self.path.parent.resolve()
            resolved = (folder / value).resolve()  # a NUL raises ValueError, a link loop RuntimeError
            target = resolved if resolved.is_relative_to(folder) else None
        except (OSError, ValueError, RuntimeError):
            target = None
        if target is None:  # absolute, ../ or a link out: never opened
            self.finding(
                "CORRECTION_UNREADABLE",
                "error",
                msg(
                    "corrected outline {value} is not a path inside the folder of the verdict file",
                    value=repr(file_text(value)),
                ),
                **where,
            )
            return None
        try:
            if not target.is_file():  # a folder, a device or nothing: never read it
                raise OSError(msg("not a regular file"))
            raw = _read_capped(target)  # a FIFO swapped in after the test above: not read
            doc = json.loads(raw.decode("utf-8-sig"))
        except (OSError, ValueError, RecursionError) as exc:  # Unicode- and JSONDecodeError are ValueErrors
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.finding(
                "CORRECTION_UNREADABLE",
                "error",
                msg(
                    "cannot read corrected outline {value}: {reason}",
                    value=repr(file_text(value)),
                    reason=reason,
                ),
                **where,
            )
            return None
        if not isinstance(doc, dict | list):
            self.finding(
                "CORRECTION_UNREADABLE",
                "error",
                msg("{value} is not a GeoJSON object", value=repr(file_text(value))),
                **where,
            )
            return None
        return doc


class _Skip(Exception):
    pass


def _loc(where: dict[str, Any]) -> dict[str, Any]:
    return {k: where[k] for k in ("row", "pointer") if k in where}


def _read_capped(path: Path) -> bytes:
    """The bytes of ``path``, or ValueError naming its size when it is over :data:`MAX_BYTES`, by its
    size before the read or by what the read found (a file that grew in between is refused, not cut
    short at the limit)."""
    size = path.stat().st_size
    data = b"" if size > MAX_BYTES else read_named(path, MAX_BYTES)
    size = max(size, len(data))
    if size > MAX_BYTES:
        raise ValueError(msg("{size} bytes is over the {limit} byte limit", size=size, limit=MAX_BYTES))
    return data


def _decode(reader: _Reader) -> str | None:
    try:
        data = _read_capped(reader.path)  # a FIFO (size 0) never blocks, a device never fills memory
    except ValueError as exc:
        reader.finding("VERDICT_FILE_UNREADABLE", "error", str(exc))
        return None
    except OSError as exc:
        reader.finding(
            "VERDICT_FILE_UNREADABLE",
            "error",
            msg("cannot read the file: {reason}", reason=exc.strerror or exc),
        )
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        reader.finding(
            "VERDICT_FILE_UNREADABLE",
            "error",
            msg("not UTF-8 text (byte {byte}): save it as UTF-8", byte=exc.start),
        )
        return None


def _read_json(reader: _Reader, text: str) -> str | None:
    try:
        doc = loads(text)
    except StrictJSONError as exc:
        if exc.nested:
            reason = N_("the JSON is nested too deeply")
        elif exc.line is not None:
            reason = msg(
                "not valid JSON: {reason} (line {line}, column {column})",
                reason=exc.reason,
                line=exc.line,
                column=exc.column,
            )
        else:  # a repeated key
            reason = msg("not valid JSON: {reason}", reason=exc.reason)
        reader.finding("VERDICT_FILE_UNREADABLE", "error", reason)
        return None
    return _read_doc(reader, doc)


def _read_doc(reader: _Reader, doc: Any) -> str | None:
    plan = None
    default_reviewer = None
    prefix = ""
    if isinstance(doc, dict):
        plan = doc.get("plan_id") if isinstance(doc.get("plan_id"), str) else None
        if "not_reviewable" in doc:
            _read_not_reviewable(reader, doc["not_reviewable"])
        default_reviewer = doc.get("reviewer")
        records = doc.get("verdicts")
        prefix = "/verdicts"
        if not isinstance(records, list):
            reader.finding(
                "VERDICT_FILE_FORMAT",
                "error",
                N_('a JSON verdict file is a list of verdicts or an object with a "verdicts" list'),
                pointer=prefix,
            )
            return plan
    elif isinstance(doc, list):
        records = doc
    else:
        reader.finding(
            "VERDICT_FILE_FORMAT",
            "error",
            msg("expected a JSON list or object, got {type}", type=type(doc).__name__),
        )
        return None
    for i, raw in enumerate(records):
        pointer = f"{prefix}/{i}"
        if not isinstance(raw, dict):
            reader.finding(
                "VERDICT_FILE_FORMAT",
                "error",
                msg("a verdict is an object, got {type}", type=type(raw).__name__),
                pointer=pointer,
            )
            continue
        reader.record(raw, default_reviewer, pointer=pointer)
    if reader.long_reviewer_rows:
        # one finding, not one a verdict, and always listed, outside the cap of its code (at most
        # one a file): under 50 other bad values it was only counted, and the user never learnt
        # that the file's verdicts were not counted
        reader.found.listed.append(
            ReviewFinding(
                code="VERDICT_BAD_VALUE",
                severity="error",
                message=msg(
                    "the file's reviewer name is {n:,} characters long, more than {cap}: its {count:,} "
                    "verdict(s) naming no reviewer of their own are not counted",
                    n=len(str(default_reviewer).strip()),
                    cap=MAX_REVIEWER,
                    count=reader.long_reviewer,
                )
                if reader.long_reviewer  # else only empty or unknown verdicts used it: said all the same
                else msg(
                    "the file's reviewer name is {n:,} characters long, more than {cap}: a verdict naming "
                    "no reviewer of its own would not be counted",
                    n=len(str(default_reviewer).strip()),
                    cap=MAX_REVIEWER,
                ),
                file=reader.label,
                pointer="/reviewer",
                reviewer=clip(str(default_reviewer).strip(), 40),
            )
        )
    return plan


def _read_not_reviewable(reader: _Reader, listed: Any) -> None:
    """A review database export's ``not_reviewable`` list: each entry an object with a text
    ``slide_id`` (and ``reason``), else a format error."""
    if not isinstance(listed, list):
        reader.finding(
            "VERDICT_FILE_FORMAT",
            "error",
            N_('"not_reviewable" is a list of slides'),
            pointer="/not_reviewable",
        )
        return
    for i, entry in enumerate(listed):
        pointer = f"/not_reviewable/{i}"
        sid = entry.get("slide_id") if isinstance(entry, dict) else None
        if not isinstance(sid, str) or not sid.strip():
            reader.finding(
                "VERDICT_FILE_FORMAT",
                "error",
                N_("a slide not reviewable is an object with a slide_id"),
                pointer=pointer,
            )
            continue
        why = entry.get("reason")
        reader.not_reviewable.append(NotReviewable(sid.strip(), why if isinstance(why, str) else "", pointer))


def _read_csv(reader: _Reader, text: str) -> str | None:
    """The rows read one at a time (never a list of a million rows); a file the csv module cannot
    read is unreadable whole, its rows read so far dropped. A cell may hold
    :data:`dqm.output.CSV_CELL_LIMIT` characters."""
    csv_cell_limit()
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        return _read_rows(reader, rows)
    except csv.Error as exc:
        reader.records.clear()
        reader.found = Findings(reader.label)
        reader.finding(
            "VERDICT_FILE_UNREADABLE", "error", msg("not a readable CSV file: {reason}", reason=exc)
        )
        return None


def _read_rows(reader: _Reader, rows: Iterator[list[str]]) -> str | None:
    first = next(rows, None)
    if first is None or not any(c.strip() for c in first):
        reader.finding("VERDICT_FILE_FORMAT", "error", N_("no header row"))
        return None
    header = [c.strip().casefold() for c in first]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        reader.finding(
            "VERDICT_FILE_FORMAT",
            "error",
            msg(
                "header lacks {missing} (needs {required}; found {found})",
                missing=", ".join(missing),
                required=", ".join(REQUIRED),
                found=clip(", ".join(header), 200),
            ),
            row=0,
        )
        return None
    extra = [c for c in header if c and c not in KNOWN_COLUMNS]
    if extra:
        reader.finding(
            "VERDICT_FILE_FORMAT",
            "info",
            msg("columns ignored: {columns}", columns=clip(", ".join(extra), 200)),
            row=0,
        )
    plans = set()
    for number, row in enumerate(rows, start=1):
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(header):
            reader.finding(
                "VERDICT_FILE_FORMAT",
                "warning",
                msg(
                    "{cells} cells for {columns} columns: extra cells ignored",
                    cells=len(row),
                    columns=len(header),
                ),
                row=number,
            )
        # cells dqm's own CSV export protected from spreadsheets ('=…) are read back as written
        raw = {header[i]: from_spreadsheet(row[i]) if i < len(row) else None for i in range(len(header))}
        if raw.get("plan_id"):
            plans.add(str(raw["plan_id"]).strip())
        reader.record(raw, None, row=number)
    return plans.pop() if len(plans) == 1 else None


def read_verdict_file(path: Path, label: str | None = None) -> VerdictFile:
    """Read one verdict file. Bad files and bad rows become findings with a reason and a place.

    ``label`` is how the file is named in findings (default: the path as given). The format is
    chosen by extension (``.json`` / ``.csv``), else by content (``{`` or ``[`` first: JSON).
    """
    reader = _Reader(path, label or str(path))
    text = _decode(reader)
    plan = None
    if text is not None and not text.strip():
        reader.finding("VERDICT_FILE_FORMAT", "warning", N_("the file is empty: no verdicts"))
    elif text is not None:
        suffix = path.suffix.lower()
        is_json = suffix == ".json" or (suffix != ".csv" and text.lstrip()[:1] in ("{", "["))
        plan = _read_json(reader, text) if is_json else _read_csv(reader, text)
    return VerdictFile(reader.label, reader.records, reader.found.all(), plan, reader.not_reviewable)


def read_verdict_document(doc: Any, label: str) -> VerdictFile:
    """Verdicts already parsed from JSON (a list, or a ``dqm.verdicts/1`` object), e.g. a review
    database's export; checked exactly like a JSON verdict file named ``label``."""
    reader = _Reader(Path(label), label)
    plan = _read_doc(reader, doc)
    return VerdictFile(reader.label, reader.records, reader.found.all(), plan, reader.not_reviewable)


def read_verdict_files(
    paths: list[Path], read: Callable[[Path], VerdictFile] = read_verdict_file
) -> list[VerdictFile]:
    """Read every file in order (with ``read``); records are numbered across files (first read,
    first kept)."""
    files = [read(p) for p in paths]
    order = 0
    for f in files:
        for i, r in enumerate(f.records):
            if r.order != order:  # replaced one at a time: a file's records are never held twice
                f.records[i] = replace(r, order=order)
            order += 1
    return files
