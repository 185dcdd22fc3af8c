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
the finding's item and file (a code several checks say once, whichever is enabled, ``SLIDE_ALL_INK``, is
covered with any of its checks named). Patterns are matched as written and as the run's masker writes them,
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
from fnmatch import fnmatchcase, translate
from pathlib import Path

import yaml
from pydantic import ValidationError

from dqm.delivery import Waiver, WaiverFile, WaiverSection, WaiverUse
from dqm.facts import Ratio
from dqm.findings import Aspect, Finding
from dqm.i18n import N_, msg
from dqm.output import TooLarge, read_bounded, visible
from dqm.profile import load_yaml, problem_lines, shown_key
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
        # counted as read: a size the system gives may be 0 (/proc) or grow while it is read
        text = read_bounded(path, MAX_WAIVER_BYTES).decode("utf-8")
    except TooLarge:
        raise WaiverError(
            msg(
                "waiver file {path} is larger than {limit:,} bytes",
                path=path,
                limit=MAX_WAIVER_BYTES,
            )
        ) from None
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
        waivers = WaiverFile.model_validate(data).waivers
    except ValidationError as exc:
        listed = problem_lines(
            [
                f"  {'/'.join(shown_key(p) for p in e['loc']) or '(top)'}: {visible(e['msg'], newlines=False)}"
                for e in exc.errors()
            ],
            max_errors,
        )
        head = (
            N_("waiver file {path} is not valid:\n{problems}\n  {_more}")
            if "_more" in listed
            else N_("waiver file {path} is not valid:\n{problems}")
        )
        raise WaiverError(msg(head, path=path, **listed)) from None
    for k, waiver in enumerate(waivers):
        moved = MOVED_CODES.get((waiver.check, waiver.code))
        if moved is not None:
            raise WaiverError(
                msg(
                    "waiver file {path}: waivers/{index} names check {check} with code {code}, which that "
                    "check no longer raises (it would waive nothing): {code} is raised by {moved}; name "
                    "check {moved}, or leave the check out",
                    path=path,
                    index=k,
                    check=waiver.check,
                    code=waiver.code,
                    moved=moved,
                )
            )
    return waivers


MOVED_CODES: dict[tuple[str | None, str | None], str] = {
    ("artefacts.slide", "OVERSTAINED"): "artefacts.stain",
    ("artefacts.slide", "UNDERSTAINED"): "artefacts.stain",
}
"""Codes a check no longer raises, by (check, code), with the check that raises them now (results
1.18: over- and under-staining are judged against the batch): a waiver naming the old pair would
match nothing, so the waiver file is refused, saying what to name."""


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


def _names_check(check: str, code: str | None, f: Finding) -> bool:
    """Whether a waiver naming ``check`` (and ``code``) names ``f``'s check: the same check, or for a
    code several checks say once whichever is enabled (:data:`validators.engine.ONCE_CODES`,
    ``SLIDE_ALL_INK``), a waiver naming that code with any of its declarers covers it whichever said it."""
    if check == f.check:
        return True
    if code is None or code != f.code:
        return False
    # imported here: the registry loads every check module (about 0.8 s), which a waivers file read
    # for a stored results.json does not need unless a waiver names another check than the finding's
    from validators.engine import ONCE_CODES
    from validators.registry import REGISTRY

    if code not in ONCE_CODES:
        return False
    declares = REGISTRY.get(check)
    return declares is not None and code in declares.codes


def _covers(waiver: Waiver, items: tuple[str, ...] | None, files: tuple[str, ...] | None, f: Finding) -> bool:
    if f.aspect == Aspect.INTERNAL:
        return False
    if waiver.code is not None and waiver.code != f.code:
        return False
    if waiver.check is not None and not _names_check(waiver.check, waiver.code, f):
        return False
    return _hit(items, f.item_id) and _hit(files, f.location.file)


def covers(waiver: Waiver, finding: Finding, mask: Callable[[str], str] | None = None) -> bool:
    """Whether ``waiver`` names ``finding`` (expiry aside)."""
    return _covers(waiver, _globs(waiver.item, mask), _globs(waiver.file, mask), finding)


def _literal_head(glob: str) -> tuple[str, bool]:
    """The text every match of ``glob`` starts with, and whether that is the whole glob (it then
    matches that text only). A one-character class (``[[]``, ``[]]``, ``[x]``) is its character, so
    a masked identifier's token stays literal; any other wildcard or class ends the head."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if c == "[" and glob.startswith("[]]", i):
            out.append("]")
            i += 3
        elif c == "[" and i + 2 < n and glob[i + 2] == "]" and glob[i + 1] not in "!]-^\\":
            out.append(glob[i + 1])
            i += 3
        elif c in "*?[":
            return "".join(out), False
        else:
            out.append(c)
            i += 1
    return "".join(out), True


def _literal_tail(glob: str) -> str:
    """The text every match of ``glob`` ends with: what follows its last ``*?[]``. That text is in
    no class (a class closes with ``]``; an unclosed ``[`` is literal), so it is matched as written."""
    return glob[max(glob.rfind(c) for c in "*?[]") + 1 :]


def _literal_runs(glob: str) -> list[str]:
    """The runs of literal text in ``glob``: each is in every match of it, as written. A class
    (``[...]``, found as :func:`fnmatch.translate` finds it) and ``*?`` end a run; an unclosed
    ``[`` is literal text (translate's rule) but ends one too, to stay on the safe side."""
    runs: list[str] = []
    run: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        i += 1
        if c in "*?[":
            runs.append("".join(run))
            run = []
            if c == "[":
                j = i + 1 if i < n and glob[i] == "!" else i
                j = j + 1 if j < n and glob[j] == "]" else j
                j = glob.find("]", j)
                i = i if j < 0 else j + 1
        else:
            run.append(c)
    runs.append("".join(run))
    return [r for r in runs if r]


_MIDDLE = 16
"""Characters of a glob's longest literal run that index it (every piece of a run is in a match too):
a value is looked up by its substrings of at most this many lengths."""

_NONE: frozenset[int] = frozenset()

_Glob = tuple[tuple[int, ...], Callable[[str], object]]
"""The waivers that share a glob, and the glob's matcher."""


_FAN = 8
"""Children of an inner node of :class:`_Alternation`: 2,000 globs (1,000 waivers, as written and
masked) make four levels, each compiled once (~0.2 ms a glob a level)."""


class _Alternation:
    """Which of many globs match a value, for globs without literal text (``*``, ``[ab]*``,
    ``?*[!a]``): a tree whose leaves are the globs' own regexes (what :func:`fnmatch.fnmatchcase`
    runs) and whose every inner node is one compiled alternation of its leaves' regexes. A node
    matches a value exactly when one of its leaves does (each alternative is anchored by its own
    ``\\Z``), so a value is tried on a node's children only when the node matches: one regex call
    for a value no glob matches instead of one per glob, and :data:`_FAN` a level for each glob
    that does.

    Globs that match most values (``?*[!a]*``, ``*[0-9]*``: no literal text to narrow them) make
    every node match, and the tree then costs its depth in alternations on top of each glob's own
    regex: 1.4 to 1.8 times trying each glob in turn (``benchmarks/bench_waiver_globs.py``). The
    root counts the nodes it tries; once it has tried more than one node per :data:`_TREE_WEIGHT`
    globs a value on average (:data:`_LINEAR_AFTER` values in, or later), the values left are
    tried on each glob in turn, the bounded cost, with the same answers."""

    def __init__(self, globs: list[tuple[tuple[int, ...], str]]) -> None:
        self.members: tuple[int, ...] = ()
        self.children: list[_Alternation] = []
        if len(globs) == 1:
            self.members, pattern = globs[0]
        else:
            step = -(-len(globs) // _FAN)
            self.children = [_Alternation(globs[k : k + step]) for k in range(0, len(globs), step)]
            pattern = "|".join(f"(?:{p})" for _, p in globs)
        self.match = re.compile(pattern).match
        self.size, self.values, self.tries = len(globs), 0, 0
        self.linear: list[_Glob] | None = None

    def _leaves(self) -> list[_Glob]:
        if not self.children:
            return [(self.members, self.match)]
        return [leaf for child in self.children for leaf in child._leaves()]

    def naming(self, value: str) -> set[int]:
        """The waivers of the globs that match ``value``."""
        if self.linear is not None:
            return {w for members, match in self.linear if match(value) is not None for w in members}
        out: set[int] = set()
        todo = [self]
        tries = 0
        while todo:
            node = todo.pop()
            tries += 1
            if node.match(value) is not None:
                todo.extend(node.children)
                out.update(node.members)
        self.values, self.tries = self.values + 1, self.tries + tries
        if self.values >= _LINEAR_AFTER and _TREE_WEIGHT * self.tries > self.values * self.size:
            self.linear = self._leaves()
        return out


_LINEAR_AFTER = 16
"""Values an :class:`_Alternation` tries as a tree before it may turn to trying each glob in turn."""

_TREE_WEIGHT = 4
"""A node of an :class:`_Alternation` tried costs about this many globs tried in turn (an alternation
of pathological globs is scanned in part before it matches): past one node tried per this many globs
a value, the tree costs more than the globs in turn (1,000 random globs of 8 to 16 wildcards and
classes: 3.33 s as a tree then at 1 a node, 2.48 s at 4, 2.37 s in turn)."""


class _Index:
    """Which of a group's waivers name a value (an item or a file) by a pattern, looked up rather
    than matched against every waiver: a literal pattern is a dict key, a glob is tried only on
    values that start (or end) with its literal head (tail) or hold its longest literal run (up to
    :data:`_MIDDLE` characters of it), each distinct glob once, and the globs without literal text
    are tried together (:class:`_Alternation`). Globs match as
    :func:`fnmatch.fnmatchcase` does (its very regex); answers are kept per distinct value.
    ``any`` are the waivers without a pattern here (they hold for every value)."""

    def __init__(self, globs: list[tuple[str, ...] | None]) -> None:
        self.any = frozenset(w for w, g in enumerate(globs) if g is None)
        self.exact: dict[str, frozenset[int]] = {}
        sharing: dict[str, list[int]] = defaultdict(list)
        for w, patterns in enumerate(globs):
            for glob in patterns or ():
                head, literal = _literal_head(glob)
                if literal:
                    self.exact[head] = self.exact.get(head, _NONE) | {w}
                else:
                    sharing[glob].append(w)
        self.heads: dict[str, list[_Glob]] = defaultdict(list)
        self.tails: dict[str, list[_Glob]] = defaultdict(list)
        self.middles: dict[str, list[_Glob]] = defaultdict(list)
        rest: list[tuple[tuple[int, ...], str]] = []
        for glob, members in sharing.items():
            head, tail = _literal_head(glob)[0], _literal_tail(glob)
            middle = max(_literal_runs(glob), key=len, default="")[:_MIDDLE] if not (head or tail) else ""
            if not (head or tail or middle):
                rest.append((tuple(members), translate(glob)))
                continue
            entry = (tuple(members), re.compile(translate(glob)).match)  # what fnmatchcase runs
            if head and len(head) >= len(tail):
                self.heads[head].append(entry)
            elif tail:
                self.tails[tail].append(entry)
            else:
                self.middles[middle].append(entry)
        self.rest = _Alternation(rest) if rest else None
        self.head_lengths = sorted({len(h) for h in self.heads})
        self.tail_lengths = sorted({len(t) for t in self.tails})
        self.middle_lengths = sorted({len(m) for m in self.middles})
        self.globbed = bool(self.heads or self.tails or self.middles or rest)
        self.seen: dict[str, frozenset[int]] = {}

    def naming(self, value: str | None) -> frozenset[int]:
        """The waivers whose pattern here matches ``value`` (none match a missing value)."""
        if value is None:
            return _NONE
        exact = self.exact.get(value, _NONE)
        if not self.globbed:
            return exact
        known = self.seen.get(value)
        if known is not None:
            return known
        n = len(value)
        tries = [e for k in self.head_lengths if k <= n for e in self.heads.get(value[:k], ())]
        tries.extend(e for k in self.tail_lengths if k <= n for e in self.tails.get(value[n - k :], ()))
        for k in self.middle_lengths:
            for middle in {value[i : i + k] for i in range(n - k + 1)}:  # each glob once
                tries.extend(self.middles.get(middle, ()))
        hits = {w for members, match in tries if match(value) is not None for w in members}
        if self.rest is not None:
            hits |= self.rest.naming(value)
        out = self.seen[value] = exact | hits if hits else exact
        return out


def _matches(
    waivers: list[Waiver], findings: list[Finding], mask: Callable[[str], str] | None
) -> list[list[int]]:
    """For each waiver, the indexes of the findings it names (expiry aside), ascending: what
    :func:`covers` says of every pair, at the cost of one pass over each code's (check's) findings
    and a few lookups per finding instead of one glob match per waiver per finding."""
    by_code: dict[str, list[int]] = defaultdict(list)
    by_check: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(findings):
        if f.aspect != Aspect.INTERNAL:  # a crashed check is never waived
            by_code[f.code].append(i)
            by_check[f.check].append(i)
    groups: dict[tuple[str | None, str | None], list[int]] = defaultdict(list)
    for w, waiver in enumerate(waivers):
        groups[(waiver.code, waiver.check)].append(w)
    out: list[list[int]] = [[] for _ in waivers]
    for (code, check), members in groups.items():
        if code is not None:
            candidates = by_code.get(code, [])
            if check is not None:
                candidates = [i for i in candidates if _names_check(check, code, findings[i])]
        else:
            candidates = by_check.get(check or "", [])
        if not candidates:
            continue
        items = _Index([_globs(waivers[w].item, mask) for w in members])
        files = _Index([_globs(waivers[w].file, mask) for w in members])
        for i in candidates:
            f = findings[i]
            by_item, by_file = items.naming(f.item_id), files.naming(f.location.file)
            hits = [m for m in by_item if m in files.any or m in by_file]  # an item pattern matched
            hits.extend(m for m in by_file if m in items.any)  # a file pattern alone (a waiver has one)
            for m in hits:
                out[members[m]].append(i)
    return out


def _use(waiver: Waiver, matched: list[int], today: dt.date) -> WaiverUse:
    if waiver.expires < today:
        return WaiverUse(waiver=waiver, status="expired", would_cover=len(matched))
    return WaiverUse(waiver=waiver, status="active" if matched else "unused", covered=matched)


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
    uses = [_use(w, m, today) for w, m in zip(waivers, _matches(waivers, findings, mask), strict=True)]
    waived = sorted({i for u in uses for i in u.covered})
    before = set(result.waivers.waived) if result.waivers is not None else set()
    syntactic = result.syntactic
    measured: list[Ratio] = []
    if syntactic is not None:
        measured = result.waivers.measured if result.waivers is not None else list(syntactic.gates)
        syntactic = rewaived(
            syntactic,
            findings,
            before,
            set(waived),
            table_rows(result),
            [i.slide_id for i in result.items],
            [(i.image_path, i.annotation_path, i.row) for i in result.items],
            result.batch.manifest,
        )
    section = WaiverSection(
        source=source,
        checked_on=today,
        uses=uses,
        waived=waived,
        measured=measured,
        warnings=[w for u in uses if (w := _warning(u)) is not None],
    )
    return with_verdict(result.model_copy(update={"syntactic": syntactic, "waivers": section}))
