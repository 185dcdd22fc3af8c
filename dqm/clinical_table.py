"""The clinical table and its validation through great-expectations (the only GX adapter).

The table has one row per item, built from the manifest or, without one, from each annotation
file's clinical block. Cells are text, the way a CSV holds them (a JSON ``57`` and ``"57"`` are
both the text ``57``); blank text is missing. An expectation suite is generated from the profile
(:func:`profile_suite`), optionally joined by a user's own GX suite JSON, and run on the table.
What GX reports becomes :class:`TableFailure` records with the table row of each failing cell;
the ``clinical.*`` checks turn them into findings. GX contexts never leave this module.
"""

from __future__ import annotations

import json
import math
import os
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dqm.findings import clip
from dqm.i18n import N_, msg
from dqm.output import TooLarge, read_bounded
from dqm.profile import FieldDef, Profile
from dqm.user_regex import LinearPattern

if TYPE_CHECKING:
    import pandas as pd

_SPACE = r"[^\S\x1c-\x1f]"
"""The white space ``float()`` strips: ``re``'s ``\\s`` less U+001C-U+001F, which ``\\s`` (as
``str.isspace``) matches but ``float()`` refuses (``float("42\\x1c")`` raises)."""
INTEGER = rf"^{_SPACE}*[+-]?\d+{_SPACE}*$"
NUMBER = rf"^{_SPACE}*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?{_SPACE}*$"
DATE_FORMAT = "%Y-%m-%d"
BOOLEAN = ("true", "false", "True", "False", "TRUE", "FALSE", "0", "1")
IDENTIFYING = frozenset({"patient_id"})
"""Clinical fields whose values are never printed in messages nor copied into results."""


MAX_SUITE_BYTES = 16 << 20
"""The most a GX expectation suite (JSON) is read of: a larger file is refused unread."""


@dataclass(frozen=True, slots=True)
class RowSource:
    """Where one table row came from."""

    item_id: str
    file: str | None
    row: int | None
    """1-based manifest data row; None when the row is an annotation's clinical block."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One generated expectation and what its failure means."""

    code: str
    column: str
    """The clinical field (the expectation may run on a derived column)."""
    description: str
    """What a value is expected to be: a :class:`~dqm.i18n.Message` for the profile's rules (the
    clinical checks word their findings from its msgid), the expectation's type for a user's suite."""
    expectation: str | None = None
    """The expectation's type as reported, when GX runs another on a derived column."""


@dataclass(frozen=True, slots=True)
class TableFailure:
    """One failed expectation, with the table rows that failed it (empty for table-level)."""

    code: str
    column: str
    description: str
    rows: tuple[int, ...]
    values: tuple[Any, ...]
    expectation: str


@dataclass(slots=True)
class TableValidation:
    """The clinical table, where its rows came from, and what the expectations found."""

    frame: pd.DataFrame
    sources: list[RowSource]
    failures: list[TableFailure] = field(default_factory=list)
    error: str | None = None
    """Set when the expectation suite itself could not run (a bad user suite, say)."""

    @property
    def n_cells(self) -> int:
        return int(self.frame.shape[0] * self.frame.shape[1])


def nfc(value: str) -> str:
    """``value`` in Unicode's composed form (NFC): a manifest written on macOS spells ``여성`` or
    ``Café`` in decomposed code points (NFD), which were another category than the profile's
    (``CLINICAL_NOT_IN_SET`` saying "('여성'): expected one of 여성, 남성") and than the same word
    on the other slides (two rows of ``여성`` in the diversity counts)."""
    return value if value.isascii() else unicodedata.normalize("NFC", value)


def text(value: Any) -> str | None:
    """A clinical value as table text (a string in NFC, :func:`nfc`); None for missing."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return nfc(value) if value.strip() else None
    return json.dumps(value, default=str)


def build_table(records: list[dict[str, Any]], sources: list[RowSource], profile: Profile) -> pd.DataFrame:
    """The clinical table: profile fields first, then any other columns the records carry."""
    import pandas as pd  # here, not at import: dqm validate starts faster

    columns = list(profile.clinical)
    extra = sorted({k for r in records for k in r} - set(columns) - _PATH_COLUMNS)
    rows = [[text(r.get(c)) for c in (*columns, *extra)] for r in records]
    frame = pd.DataFrame(rows, columns=[*columns, *extra], dtype=object)
    present = [c for c in columns if any(c in r for r in records)] if records else []
    missing = [c for c in columns if c not in present]
    return frame.drop(columns=missing) if records else frame


_PATH_COLUMNS = {"slide_id", "image_path", "annotation_path"}


def field_number(value: str | None, fdef: FieldDef) -> float | None:
    """The number a cell of an ``integer`` or ``number`` field states, read as the table's
    expectations read it: text matching the type's pattern (:data:`INTEGER`, :data:`NUMBER`; a
    digit of any script, as ``re``'s ``\\d``), a finite float within the field's ``min`` and
    ``max``. None for anything else: missing, not of the type (``CLINICAL_WRONG_TYPE``: ``1e5``
    for an integer, ``1,5``, ``0x10``, ``nan``), past a double (a 400-digit integer) or out of the
    range (``CLINICAL_OUT_OF_RANGE``: an age of -1 or 250)."""
    if value is None or re.match(INTEGER if fdef.type == "integer" else NUMBER, value) is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    if (fdef.min is not None and number < fdef.min) or (fdef.max is not None and number > fdef.max):
        return None
    return number


def _derived(frame: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Typed helper columns the domain expectations run on (``__num__age``, ``__class__diagnosis``)."""
    import pandas as pd

    out = frame.copy()
    for name, fdef in profile.clinical.items():
        if name not in frame:
            continue
        col = frame[name]
        if fdef.type in ("integer", "number"):
            pattern = INTEGER if fdef.type == "integer" else NUMBER
            ok = col.str.match(pattern, na=False)
            num = pd.to_numeric(col.where(ok), errors="coerce").astype(float)
            lost = ok & num.isna()  # an integer past Python's digit limit: to_numeric gives NaN,
            if lost.any():  # which no range check sees; as a float it is infinite, out of any range
                num[lost] = [float(v) for v in col[lost]]
            out[f"__num__{name}"] = num
        elif fdef.type == "class":
            insts = frame["institution"] if "institution" in frame else pd.Series(None, index=frame.index)
            out[f"__class__{name}"] = [
                (profile.resolve_class(v, i) or v) if v is not None else None
                for v, i in zip(col, insts, strict=True)
            ]
        if fdef.pattern is not None:  # on RE2: GX's own regex expectation would run it on ``re``
            rx = LinearPattern(fdef.pattern)
            out[f"__unmatched__{name}"] = [
                v if v is not None and rx.search(str(v)) is None else None for v in col
            ]
    return out


def profile_suite(profile: Profile) -> list[tuple[Any, Rule]]:
    """The expectations the profile implies, each with the rule its failure breaks."""
    E = _gx().expectations
    out: list[tuple[Any, Rule]] = []
    for name, fdef in profile.clinical.items():
        out.extend(_field_expectations(E, name, fdef, profile))
    if profile.institutions and "institution" in profile.clinical:
        out.append(
            (
                E.ExpectColumnValuesToBeInSet(column="institution", value_set=list(profile.institutions)),
                Rule("CLINICAL_NOT_IN_SET", "institution", msg("one of the profile's institutions")),
            )
        )
    return out


def _field_expectations(E: Any, name: str, fdef: FieldDef, profile: Profile) -> list[tuple[Any, Rule]]:
    out: list[tuple[Any, Rule]] = []
    if fdef.required:
        out.append(
            (
                E.ExpectColumnToExist(column=name),
                Rule("CLINICAL_MISSING_COLUMN", name, msg("required field present")),
            )
        )
        out.append(
            (
                E.ExpectColumnValuesToNotBeNull(column=name),
                Rule("CLINICAL_MISSING_VALUE", name, msg("required value present")),
            )
        )
    if fdef.type in ("integer", "number"):
        pattern = INTEGER if fdef.type == "integer" else NUMBER
        out.append(
            (
                E.ExpectColumnValuesToMatchRegex(column=name, regex=pattern),
                Rule("CLINICAL_WRONG_TYPE", name, msg("an {type}", type=fdef.type)),
            )
        )
        if fdef.min is not None or fdef.max is not None:
            out.append(
                (
                    E.ExpectColumnValuesToBeBetween(
                        column=f"__num__{name}", min_value=fdef.min, max_value=fdef.max
                    ),
                    Rule(
                        "CLINICAL_OUT_OF_RANGE",
                        name,
                        msg("between {min} and {max}", min=fdef.min, max=fdef.max),
                    ),
                )
            )
    elif fdef.type == "category":
        assert fdef.values
        out.append(
            (
                E.ExpectColumnValuesToBeInSet(column=name, value_set=[nfc(v) for v in fdef.values]),
                Rule("CLINICAL_NOT_IN_SET", name, msg("one of {values}", values=", ".join(fdef.values))),
            )
        )
    elif fdef.type == "class":
        out.append(
            (
                E.ExpectColumnValuesToBeInSet(column=f"__class__{name}", value_set=list(profile.class_ids)),
                Rule("CLINICAL_UNKNOWN_CLASS", name, msg("a class of the taxonomy")),
            )
        )
    elif fdef.type == "date":
        out.append(
            (
                E.ExpectColumnValuesToMatchStrftimeFormat(column=name, strftime_format=DATE_FORMAT),
                Rule("CLINICAL_BAD_DATE", name, msg("a date YYYY-MM-DD")),
            )
        )
    elif fdef.type == "boolean":
        out.append(
            (
                E.ExpectColumnValuesToBeInSet(column=name, value_set=list(BOOLEAN)),
                Rule("CLINICAL_WRONG_TYPE", name, msg("a boolean")),
            )
        )
    if fdef.pattern is not None:  # the profile's pattern, run on RE2 in time linear in each value
        out.append(
            (
                E.ExpectColumnValuesToBeNull(column=f"__unmatched__{name}"),
                Rule(
                    "CLINICAL_PATTERN",
                    name,
                    msg("matches {pattern}", pattern=fdef.pattern),
                    "expect_column_values_to_match_regex",
                ),
            )
        )
    if fdef.unique:
        out.append(
            (
                E.ExpectColumnValuesToBeUnique(column=name),
                Rule("CLINICAL_NOT_UNIQUE", name, msg("unique")),
            )
        )
    return out


def import_gx() -> Any:
    """great_expectations, imported quietly and without usage statistics."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx
    return gx


_gx = import_gx


def _run(frame: pd.DataFrame, expectations: list[Any]) -> list[Any]:
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = context.data_sources.add_pandas("dqm")
        asset = source.add_dataframe_asset("clinical")
        batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": frame}
        )
        suite = gx.ExpectationSuite(name="dqm")
        for e in expectations:
            suite.add_expectation(e)
        result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    return list(result.results)


def _failure(res: Any, rule: Rule) -> TableFailure | None:
    if res.success:
        return None
    expectation = rule.expectation or res.expectation_config.type  # a rule dqm runs itself names its own
    info = res.exception_info or {}
    if info.get("raised_exception"):
        message = clip((str(info.get("exception_message", "")).splitlines() or [""])[0], 200)
        return TableFailure(
            "CLINICAL_EXPECTATION_ERROR",
            rule.column,
            f"{rule.description}: {message}",
            (),
            (),
            expectation,
        )
    result = res.result or {}
    rows = tuple(int(i) for i in result.get("unexpected_index_list") or ())
    values = tuple(result.get("unexpected_list") or ())
    return TableFailure(rule.code, rule.column, rule.description, rows, values, expectation)


def validate_table(
    frame: pd.DataFrame,
    sources: list[RowSource],
    profile: Profile,
    user_suite: Path | None = None,
) -> TableValidation:
    """Run the profile's expectations (and a user's suite) on the clinical table."""
    out = TableValidation(frame=frame, sources=sources)
    if len(frame) == 0:
        return out
    pairs = profile_suite(profile)
    # Column-existence expectations fail as a whole; value expectations on an absent column
    # would only raise inside GX, so they are left out for absent columns.
    runnable = [(e, r) for e, r in pairs if r.code == "CLINICAL_MISSING_COLUMN" or r.column in frame.columns]
    results = _run(_derived(frame, profile), [e for e, _ in runnable])
    for res, (_, rule) in zip(results, runnable, strict=True):
        failure = _failure(res, rule)
        if failure is not None:
            out.failures.append(failure)
    if user_suite is not None:
        out.failures.extend(_user_suite(frame, user_suite, out))
    return out


_REGEX_EXPECTATIONS = frozenset(
    {
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list",
        "expect_column_values_to_not_match_regex_list",
    }
)
"""The expectations of a user's suite whose regular expressions dqm runs itself, on RE2: GX runs
them with pandas' ``str.contains``, on Python's ``re``, where ``(a+)+$`` against ``aaaa…b`` holds
the audit for good (:mod:`dqm.user_regex`)."""

_SCHEMA_PATTERN_KEYS = frozenset({"pattern", "patternProperties"})
"""The keys of a JSON schema whose regular expressions ``jsonschema`` runs on Python's ``re``."""


def _expectation_type(entry: dict[str, Any]) -> str:
    kind = entry.get("type", entry.get("expectation_type"))
    return kind if isinstance(kind, str) else ""


def _schema_patterns(schema: Any, depth: int = 0) -> bool:
    """Whether a JSON schema holds a regular expression (at most 64 levels deep looked at)."""
    if depth > 64:
        return True  # deeper than any schema a table needs: refused as if it held one
    if isinstance(schema, dict):
        return bool(_SCHEMA_PATTERN_KEYS & schema.keys()) or any(
            _schema_patterns(v, depth + 1) for v in schema.values()
        )
    if isinstance(schema, list):
        return any(_schema_patterns(v, depth + 1) for v in schema)
    return False


def _pattern_refusal(kind: str, kwargs: dict[str, Any]) -> tuple[str | None, list[LinearPattern]]:
    """Why dqm cannot run the regular expressions of one expectation of a user's suite in time
    linear in each value (None when it can, or the expectation holds none), and those it can,
    compiled once: a regex expectation's patterns that are strings, in order."""
    compiled: list[LinearPattern] = []
    if kind in _REGEX_EXPECTATIONS:
        patterns = kwargs.get("regex_list") if kind.endswith("_list") else [kwargs.get("regex")]
        for pattern in patterns if isinstance(patterns, list) else []:
            if isinstance(pattern, str):
                try:
                    compiled.append(LinearPattern(pattern))
                except ValueError as exc:
                    return str(exc), []
    elif _schema_patterns(kwargs.get("json_schema")):
        return N_(
            "its JSON schema holds a 'pattern', which jsonschema runs on Python's re with no time "
            "bound; check the form of the values with expect_column_values_to_match_regex instead "
            "(run on RE2)"
        ), []
    return None, compiled


def suite_refusal(path: Path) -> str | None:
    """Why a user's GX suite cannot be run, when one of its regular expressions cannot run in time
    linear in each value (the command refuses it, as a profile's pattern is refused); None
    otherwise, a suite that cannot be read included (the audit reports that as before)."""
    try:
        data = json.loads(read_bounded(path, MAX_SUITE_BYTES))
    except (OSError, ValueError):
        return None  # the audit reports it (_user_suite)
    entries = data.get("expectations") if isinstance(data, dict) else None
    for k, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict) and isinstance(entry.get("kwargs"), dict):
            kind = _expectation_type(entry)
            why, _ = _pattern_refusal(kind, entry["kwargs"])
            if why is not None:
                return msg(
                    "GX suite {path}: expectation {k} ({type}) cannot be run: {_reason}",
                    path=str(path),
                    k=k,
                    type=kind,
                    _reason=why,
                )
    return None


def _regex_failure(
    frame: pd.DataFrame, kind: str, kwargs: dict[str, Any], rxs: list[LinearPattern]
) -> TableFailure | None:
    """What GX makes of a regex expectation (a value matches when the pattern is found in it, as
    ``str.contains``; missing values are not judged; ``mostly`` of the others must pass), on RE2:
    ``rxs`` are its patterns, compiled (:func:`_pattern_refusal`)."""
    import pandas as pd

    column = str(kwargs.get("column", ""))
    listed = kind.endswith("_list")
    patterns = kwargs.get("regex_list") if listed else [kwargs.get("regex")]
    match_on = kwargs.get("match_on", "any")
    mostly = kwargs.get("mostly", 1.0)
    if (
        column not in frame
        or not isinstance(patterns, list)
        or not patterns
        or not all(isinstance(p, str) for p in patterns)
        or match_on not in ("any", "all")
        or isinstance(mostly, bool)
        or not isinstance(mostly, int | float)
        or not 0 <= mostly <= 1  # as GX: NaN too
        or kwargs.get("row_condition")
    ):
        why = msg(
            "dqm runs a suite's regular expressions on RE2 and reads only column, regex, "
            "regex_list, match_on (any or all) and mostly (from 0 to 1): column {column!r} and the "
            "pattern must be there, row_condition is not read",
            column=column,
        )
        return TableFailure("CLINICAL_EXPECTATION_ERROR", column, f"{kind}: {why}", (), (), kind)
    rows: list[int] = []
    values: list[Any] = []
    judged = 0
    for row, value in zip(frame.index, frame[column], strict=True):
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            continue
        judged += 1
        found = [rx.search(str(value)) is not None for rx in rxs]
        if kind == "expect_column_values_to_match_regex_list":
            ok = all(found) if match_on == "all" else any(found)
        else:
            ok = any(found) != kind.startswith("expect_column_values_to_not_")
        if not ok:
            rows.append(int(row))
            values.append(value)
    if not rows or (judged - len(rows)) / judged >= mostly:
        return None
    return TableFailure("GX_EXPECTATION_FAILED", column, kind, tuple(rows), tuple(values), kind)


def _user_suite(frame: pd.DataFrame, path: Path, out: TableValidation) -> list[TableFailure]:
    try:
        # a FIFO never blocks the run, a device never fills memory, a huge file is refused unread
        data = json.loads(read_bounded(path, MAX_SUITE_BYTES))
        gx = _gx()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            suite = gx.ExpectationSuite(
                **{k: v for k, v in data.items() if k in ("name", "expectations", "meta")}
            )
            expectations = list(suite.expectations)
    except TooLarge as exc:
        out.error = exc.message(N_("GX suite"))
        return []
    except Exception as exc:  # a user file: every way it can be wrong is a reported error
        out.error = msg(
            "cannot load GX suite {path}: {error}: {reason}",
            path=str(path),
            error=type(exc).__name__,
            reason=exc,
        )
        return []
    for e in expectations:
        e.id = None
    configs = [e.configuration for e in expectations]
    # what no engine runs in linear time is refused before GX sees it (a library's run too)
    refusals = [_pattern_refusal(c.type, dict(c.kwargs)) for c in configs]
    by_gx = [
        e
        for e, c, (why, _) in zip(expectations, configs, refusals, strict=True)
        if c.type not in _REGEX_EXPECTATIONS and why is None
    ]
    results = iter(_run(frame, by_gx) if by_gx else [])
    failures = []
    for config, (why, rxs) in zip(configs, refusals, strict=True):  # in the suite's order
        failure: TableFailure | None
        if why is not None:
            column = str(config.kwargs.get("column", ""))
            failure = TableFailure(
                "CLINICAL_EXPECTATION_ERROR", column, f"{config.type}: {why}", (), (), config.type
            )
        elif config.type in _REGEX_EXPECTATIONS:
            failure = _regex_failure(frame, config.type, dict(config.kwargs), rxs)
        else:
            res = next(results)
            column = str(res.expectation_config.kwargs.get("column", ""))
            failure = _failure(res, Rule("GX_EXPECTATION_FAILED", column, res.expectation_config.type))
        if failure is not None:
            failures.append(failure)
    return failures
