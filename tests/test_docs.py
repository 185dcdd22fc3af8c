"""The README and docs/ name only what exists: commands and their flags, finding codes, code
names, files and headings.

A doc that names ``dqm audit --no-slides``, a code a check does not declare, a constant since
renamed or a link to a missing heading fails here, so a rename in the code cannot leave the docs
behind silently."""

from __future__ import annotations

import ast
import functools
import importlib
import re
from pathlib import Path

import typer

from dqm.cli import app
from validators import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

EXTERNAL_FLAGS = frozenset({
    "--no-index", "--find-links",  # pip
    "--tag",  # sha256sum
    "--protocol", "--port", "--tls-ca-file", "--tls-cert", "--tls-key", "--nworkers", "--nthreads",  # dask
})  # fmt: skip
"""Flags of other programs the docs show beside dqm (pip, sha256sum, the dask scheduler and workers)."""

OTHER_NAMES = frozenset({
    "DASK_CONFIG", "DASK_DISTRIBUTED__COMM__TLS__CA_FILE", "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT",
    "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY",  # dask's settings
    "ALLOWED_HOSTS",  # Django's, for comparison
    "DEBRIS_DUST", "DEBRIS_CORE", "DEBRIS_MIN_COLOUR", "ISO_YEAR_NUMBERS",  # named as replaced or gone
    "PIM_DP_UFS_BARCODE",  # a Philips slide property the identifier scan reads
    "PATIENT_IDENTITY",  # an example of a key the identifier scan matches
})  # fmt: skip
"""Capitalised names the docs use that are not dqm's: other programs' settings, a scanner's
vendor property and example key, and former constants a doc names as replaced (formats.md's
history of the debris rule and the standards list)."""


def _lines(text: str) -> list[tuple[int, str, bool]]:
    """Each line with its number and whether it is inside a fenced code block."""
    out, fenced = [], False
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        out.append((n, line, fenced))
    return out


def _commands() -> dict[tuple[str, ...], frozenset[str]]:
    """Every dqm command (``("audit",)``, ``("review", "ingest")``) and its option strings."""
    found: dict[tuple[str, ...], frozenset[str]] = {}

    def walk(command: object, path: tuple[str, ...]) -> None:
        subs = getattr(command, "commands", None)
        if subs is not None:
            for name, sub in subs.items():
                walk(sub, (*path, name))
            return
        params = getattr(command, "params", [])
        opts = {o for p in params if p.param_type_name == "option" for o in (*p.opts, *p.secondary_opts)}
        found[path] = frozenset({*opts, "--help"})

    walk(typer.main.get_command(app), ())
    return found


_PREFIX = r"(?:[A-Z_]+=\S+\s+|(?:time|env|nice|sudo|exec|command)\s+|timeout\s+\S+\s+|-n\s+\d+\s+)*"
"""What may stand before a command: environment settings and the programs that run one
(``time dqm …``, ``env DQM_LANG=ko dqm …``, ``timeout 60 dqm …``)."""
_DQM_CALL = re.compile(rf"(?:^\s*|[|;&(]\s*){_PREFIX}dqm\s+([a-z][a-z-]*)(?:\s+([a-z][a-z-]*))?")
"""``dqm`` where a command starts (after environment settings, ``time``, a pipe, ``;``, ``&&``),
not as a path (``pybabel extract … dqm validators``)."""
_FLAG = re.compile(r"(?<![\w./-])(--?[a-zA-Z][\w-]*)")


def _logical_lines(text: str) -> list[tuple[int, str, bool]]:
    """:func:`_lines`, a code block's lines ending in ``\\`` joined to the next (numbered by the
    first): a flag on a continuation line belongs to the command above it."""
    out: list[tuple[int, str, bool]] = []
    carry: tuple[int, str] | None = None
    for n, line, fenced in _lines(text):
        if carry is not None and fenced:
            n, line = carry[0], carry[1] + " " + line
        elif carry is not None:
            out.append((carry[0], carry[1], True))
        carry = None
        if fenced and line.rstrip().endswith("\\"):
            carry = (n, line.rstrip()[:-1])
            continue
        out.append((n, line, fenced))
    if carry is not None:
        out.append((carry[0], carry[1], True))
    return out


def command_problems(name: str, text: str, commands: dict[tuple[str, ...], frozenset[str]]) -> list[str]:
    """``dqm SUB ... --flag`` in a code block line or a code span: SUB must be a command and each
    flag one of its options (up to a ``#`` comment or the next ``dqm``)."""
    groups = {path[0] for path in commands if len(path) > 1}
    problems = []
    for n, line, fenced in _logical_lines(text):
        chunks = [re.split(r"(?:^|\s)#", line)[0]] if fenced else re.findall(r"`([^`]+)`", line)
        for chunk in chunks:
            for m in _DQM_CALL.finditer(chunk):
                path: tuple[str, ...] = (m.group(1),)
                if m.group(1) in groups and m.group(2):
                    path = (m.group(1), m.group(2))
                if path not in commands:
                    problems.append(f"{name}:{n}: no command dqm {' '.join(path)}")
                    continue
                rest = re.split(r"(?:^|\s)dqm\s", chunk[m.end() :])[0]
                problems += [
                    f"{name}:{n}: dqm {' '.join(path)} has no option {flag}"
                    for flag in _FLAG.findall(rest)
                    if flag not in commands[path]
                ]
    return problems


def _script_flags() -> set[str]:
    """The flags the benchmarks, examples and dqm's own ``python -m`` tools parse (their literals)."""
    flags: set[str] = set()
    for folder in ("benchmarks", "examples", "dqm"):
        for py in (ROOT / folder).rglob("*.py"):
            flags |= set(re.findall(r"[\"'](--[a-z][a-z0-9-]*)[\"'=]", py.read_text(encoding="utf-8")))
    return flags


def flag_problems(name: str, text: str, known: set[str] | frozenset[str]) -> list[str]:
    """Every ``--flag`` anywhere in a doc (prose included) is one dqm, a script of this project or
    a program the docs show parses."""
    return [
        f"{name}:{n}: no command or script takes {flag}"
        for n, line, _ in _lines(text)
        for flag in re.findall(r"(?<![\w./-])(--[a-z][\w-]*)", line)
        if flag not in known
    ]


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(text: str) -> set[str]:
    return {
        _slug(m.group(1))
        for _, line, fenced in _lines(text)
        if not fenced and (m := re.match(r"#{1,6}\s+(.*)", line))
    }


def link_problems(path: Path, text: str, root: Path) -> list[str]:
    """Relative links lead to a file (and heading) that exists; a repository path in a code span
    (``dqm/…``, ``benchmarks/…``) names a file or folder that exists."""
    problems = []
    for n, line, fenced in _lines(text):
        if fenced:
            continue
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            if re.match(r"[a-z][a-z+]*:", target):  # https:, mailto:
                continue
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            if not dest.exists():
                problems.append(f"{path.name}:{n}: link to missing {target}")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest.read_text(encoding="utf-8")):
                problems.append(f"{path.name}:{n}: no heading #{anchor} in {dest.name}")
        for span in re.findall(r"`([^`]+)`", line):
            for named in re.findall(
                r"(?<![\w./~-])((?:dqm|docs|benchmarks|examples|validators|tests|reports)/[\w./-]*\w)", span
            ):
                # placeholders (validators/X.py) and what a benchmark writes (benchmarks/_data/) are not files of the repository
                placeholder = named.split("/")[-1].split(".")[0] == "X" or "/_data/" in named
                if not placeholder and not (root / named).exists():
                    problems.append(f"{path.name}:{n}: `{named}` does not exist")
    return problems


def check_table_problems(name: str, text: str) -> list[str]:
    """A table row ``| `check.id` | `CODE` … |`` (or ``| `check.id` (batch) | …``, a note after the
    id) names a registered check that declares each code."""
    problems = []
    for n, line, _ in _lines(text):
        m = re.match(r"\|\s*`([a-z_]+\.[a-z_]+)`(?:\s*\([^)|]*\))?\s*\|([^|]*)\|", line)
        if m is None:
            continue
        check, codes = m.group(1), re.findall(r"`([A-Z][A-Z0-9_]+)`", m.group(2))
        if check not in REGISTRY:
            if codes:  # a row of check ids with codes; diversity's test ids and file names hold none
                problems.append(f"{name}:{n}: no check {check}")
            continue
        problems += [
            f"{name}:{n}: {check} declares no {code}" for code in codes if code not in REGISTRY[check].codes
        ]
    return problems


_CAPITALISED = re.compile(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+")


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of a module's, class's and function's docstring nodes, and of every string that is
    a statement by itself (the attribute docstrings after a constant)."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def code_names_in(source: str) -> set[str]:
    """The capitalised names a module uses as code: identifiers (``MAX_PARTS``, ``CODES_SINCE``) and
    string values that are one name (a finding code ``"VERDICT_MISSING"``, ``"DQM_SCHEDULER"``).
    Docstrings, comments and prose are not code: a code renamed where it is emitted but still
    named in a docstring is gone."""
    tree = ast.parse(source)
    skipped = _docstrings(tree)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.rsplit(".", 1)[-1])
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped:
            names.add(node.value.strip())
    return {name for name in names if _CAPITALISED.fullmatch(name)}


@functools.cache
def _code_names() -> frozenset[str]:
    """Capitalised names (finding codes, constants, environment variables) dqm's code uses, and
    the codes each registered check declares."""
    names = {code for check in REGISTRY.values() for code in check.codes}
    files = [*(ROOT / "dqm").rglob("*.py"), *(ROOT / "validators").rglob("*.py")]
    files += [
        *(ROOT / "reports").rglob("*.py"),
        *(ROOT / "benchmarks").rglob("*.py"),
        ROOT / "tests" / "conftest.py",
    ]
    for py in files:
        names |= code_names_in(py.read_text(encoding="utf-8"))
    return frozenset(names)


def name_problems(name: str, text: str, known: set[str] | frozenset[str]) -> list[str]:
    """A code span that is a capitalised name (``SLIDE_NOT_AUDITED``, ``MAX_PARTS``,
    ``DQM_SCHEDULER``) names one that exists in the code."""
    return [
        f"{name}:{n}: {code} is named nowhere in the code"
        for n, line, _ in _lines(text)
        for span in re.findall(r"`([^`]+)`", line)
        if re.fullmatch(r"\$?([A-Z][A-Z0-9]*_[A-Z0-9_]+)", span.strip())
        and (code := span.strip().lstrip("$")) not in known
    ]


JUNIT_NAMES = frozenset({"dqm.run_id"})
"""Dotted names the docs give that are junit.xml's properties, not Python's."""


def _resolves(dotted: str) -> bool:
    """``dqm.results.NEWER_MEMBERS``: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for part in parts[i:]:
                obj = getattr(obj, part)
        except AttributeError:
            return False
        return True
    return False


def dotted_problems(name: str, text: str) -> list[str]:
    """A code span's ``dqm.module.name`` (``validators.…``, ``reports.…``) can be imported; names
    in quotes (junit.xml's ``classname="dqm.syntactic.checks"``) and file names are not Python's."""
    found = [
        (n, dotted)
        for n, line, _ in _lines(text)
        for span in re.findall(r"`([^`]+)`", line)
        for dotted in re.findall(
            r"(?<![\w./\"-])((?:dqm|validators|reports)(?:\.[A-Za-z_]\w*)+)(?![\w/\"-])", span
        )
    ]
    files = (".py", ".json", ".yaml", ".md", ".sqlite", ".pot", ".po", ".mo", ".html", ".key")
    return [
        f"{name}:{n}: {dotted} cannot be imported"
        for n, dotted in found
        if not dotted.endswith(files) and dotted not in JUNIT_NAMES and not _resolves(dotted)
    ]


def _docs() -> list[tuple[Path, str]]:
    return [(doc, doc.read_text(encoding="utf-8")) for doc in DOCS]


def test_every_command_and_option_the_docs_show_exists() -> None:
    commands = _commands()
    problems = [p for doc, text in _docs() for p in command_problems(doc.name, text, commands)]
    assert not problems, "\n".join(problems)


def test_every_flag_the_docs_name_is_taken_by_dqm_or_a_script() -> None:
    known = {o for opts in _commands().values() for o in opts} | _script_flags() | EXTERNAL_FLAGS
    problems = [p for doc, text in _docs() for p in flag_problems(doc.name, text, known)]
    assert not problems, "\n".join(problems)


def test_every_relative_link_and_repository_path_resolves() -> None:
    problems = [p for doc, text in _docs() for p in link_problems(doc, text, ROOT)]
    assert not problems, "\n".join(problems)


def test_every_check_table_row_names_a_check_and_its_codes() -> None:
    problems = [p for doc, text in _docs() for p in check_table_problems(doc.name, text)]
    assert not problems, "\n".join(problems)


def test_every_dotted_python_name_the_docs_give_imports() -> None:
    problems = [p for doc, text in _docs() for p in dotted_problems(doc.name, text)]
    assert not problems, "\n".join(problems)


def test_every_capitalised_name_the_docs_give_exists_in_the_code() -> None:
    known = _code_names() | OTHER_NAMES
    problems = [p for doc, text in _docs() for p in name_problems(doc.name, text, known)]
    assert not problems, "\n".join(problems)


def test_the_readme_starts_with_the_demo_and_the_tests_and_make_has_each_target_docs_name() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1].splitlines()[1:]
    assert [line.split("#")[0].strip() for line in first_block[:2]] == ["make demo", "make test"]
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M))
    named = {
        target
        for _, text in _docs()
        for _, line, fenced in _lines(text)
        for target in re.findall(r"^make ([a-z][\w-]*)" if fenced else r"`make ([a-z][\w-]*)`", line)
    }
    assert named and named <= targets, f"make targets the docs name but the Makefile lacks: {named - targets}"


def test_the_scanners_find_a_planted_wrong_name(tmp_path: Path) -> None:
    """Each scanner reports what a stale doc would say (so the tests above can fail)."""
    commands = _commands()
    doc = tmp_path / "stale.md"
    text = (
        "```bash\ndqm audit BATCH --no-slides   # gone\ndqm frobnicate X\n```\n"
        "Pass `--adjudication` or `dqm review ingest --adjudication strict`; see `ANNOTATION_MPP_GONE`,\n"
        "[the gate](report.md#no-such-heading), [a file](missing.md) and `dqm/syntactic.py`.\n"
        "| `slide.annotation_agrees` | `MPP_MISSING_NOW` | info | what |\n"
    )
    doc.write_text(text)
    (tmp_path / "report.md").write_text("# The gate\n")
    assert len(command_problems("stale.md", text, commands)) == 3
    known = {o for opts in commands.values() for o in opts}
    assert [p.rsplit(" ", 1)[1] for p in flag_problems("stale.md", text, known)] == [
        "--no-slides",
        "--adjudication",
        "--adjudication",
    ]
    assert [p.split(": ")[1] for p in name_problems("stale.md", text, _code_names())] == [
        "ANNOTATION_MPP_GONE is named nowhere in the code",
        "MPP_MISSING_NOW is named nowhere in the code",
    ]
    assert len(link_problems(doc, text, ROOT)) == 3
    assert dotted_problems("stale.md", "`dqm.results.NO_SUCH_NAME`, `dqm.nomodule.x`, `dqm.run_id`") == [
        "stale.md:1: dqm.results.NO_SUCH_NAME cannot be imported",
        "stale.md:1: dqm.nomodule.x cannot be imported",
    ]
    assert check_table_problems("stale.md", text) == [
        "stale.md:7: slide.annotation_agrees declares no MPP_MISSING_NOW"
    ]


def test_the_require_help_of_gate_and_audit_states_their_defaults_as_report_md_does() -> None:
    """Without --require ``dqm gate`` requires every dimension and ``dqm audit`` those it ran, those
    its verdict lists as failed or pending and those whose stage crashed (docs/report.md); each
    one's --help says its own default (the gate's once said the audit's)."""
    groups = getattr(typer.main.get_command(app), "commands", {})

    def require_help(command: str) -> str:
        return next(p.help or "" for p in groups[command].params if p.name == "require")

    assert "default: every dimension" in require_help("gate")
    audit_help = require_help("audit")
    assert "default: those evaluated" in audit_help
    # the audit also requires what its verdict lists as pending (a review not yet ingested) and a
    # crashed stage's dimension (dqm/gate.py): its help once left them out
    assert "pending" in audit_help and "stage crashed" in audit_help
    report = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    assert "`--require` defaults to **every dimension**" in report


def test_a_stale_flag_a_continuation_line_or_time_hides_a_noted_row_and_a_docstring_code_are_caught() -> None:
    """Copies of the real docs, each made stale one way the scanners once missed: a flag on a
    ``\\`` continuation line (semantic.md's ``dqm review serve``), after ``time dqm``, a code in a
    check-table row with a note after its id (formats.md's ``(batch)``), and a finding code renamed
    where it is emitted (dqm/semantic/ingest.py) but still named in a docstring there."""
    commands = _commands()
    semantic = (ROOT / "docs" / "semantic.md").read_text(encoding="utf-8")
    assert command_problems("semantic.md", semantic, commands) == []
    stale = semantic.replace("    --allowed-host review.pathology.example \\", "    --lot-review x \\", 1)
    (problem,) = command_problems("semantic.md", stale, commands)
    assert problem.endswith("dqm review serve has no option --lot-review")
    timed = "`time dqm sample LOT --out X --no-such-flag`, `nice -n 10 dqm audit B --no-slides`"
    assert [p.rsplit(" ", 1)[1] for p in command_problems("x.md", timed, commands)] == [
        "--no-such-flag",
        "--no-slides",
    ]
    formats = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    row = "| `format.unmapped_classes` (batch) | `CLASS_UNMAPPED` |"
    assert row in formats and check_table_problems("formats.md", formats) == []
    (problem,) = check_table_problems("formats.md", formats.replace(row, row.replace("CLASS_", "COCO_"), 1))
    assert problem.endswith("format.unmapped_classes declares no COCO_UNMAPPED")
    ingest = (ROOT / "dqm" / "semantic" / "ingest.py").read_text(encoding="utf-8")
    renamed = ingest.replace('code="VERDICT_MISSING"', 'code="VERDICT_ABSENT"')
    assert renamed != ingest and "VERDICT_MISSING" in renamed  # its docstrings still name it
    assert "VERDICT_MISSING" in code_names_in(ingest)
    assert "VERDICT_MISSING" not in code_names_in(renamed) and "VERDICT_ABSENT" in code_names_in(renamed)
