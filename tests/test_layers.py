"""The house has layers, and nothing points up: read from the source, function-level imports included.

Every module of ``dqm``, ``validators`` and ``reports`` belongs to exactly one layer of
:data:`LAYERS` (the longest matching prefix decides). An import, wherever it stands in a module
(top level, inside a function, or a constant string given to ``importlib.import_module``), may
point to the same layer or a lower one, never a higher one; and the module graph has no cycle at
all, so a cycle cannot hide behind a registry or a late import either. A new module must be given
its layer here: that is the moment to decide where it stands.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dqm", "validators", "reports")

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "model",
        (
            "=dqm",
            "dqm.facts",
            "dqm.tolerance",  # when a figure reaches its target: every gate, the display
            "dqm.decided",
            "dqm.findings",
            "dqm.i18n",  # messages as msgids with named placeholders, the catalogues
            "dqm.coords",
            "dqm.raster",  # label rasters from outlines (validity, dqm convert --to mask)
            "dqm.model",
            "dqm.columns",  # sequences of models kept as columns (summaries, file digests)
            "dqm.records",  # the item records a run keeps, as columns
            "dqm.output",
            "dqm.strictjson",  # dqm's own JSON files read back strictly (no repeated key)
            "dqm.digest",  # content digests of the outputs
            "dqm.signing",  # Ed25519 signatures of results.json
            "dqm.user_regex",  # regular expressions a profile supplies, run on RE2 (linear time)
            "dqm.identifiers",
            "dqm.profile",
            "dqm.quality_layout",  # the profile's quality_table block
            "dqm.diversity.settings",  # the profile's diversity block
            "dqm.diversity.variables",  # the table of variables it names (targets, rules)
            "dqm.delivery",  # waivers and redelivery status, stored in results.json
        ),
    ),
    (
        "readers and slide I/O",
        (
            "dqm.readers",
            "dqm.slide_io",
            "dqm.probe_mpp",  # the resolution a probe is given: the annotation's where it fits the image
            "dqm.check_params",  # the params models of the checks the probe reads before any check runs
            "dqm.slide_refs",  # the files a multi-file slide makes OpenSlide open, checked first
            "dqm.slide_tiles",  # a plain JPEG-tiled level's regions decoded from the tiles' bytes
            "dqm.budget",  # the probe's time budget: CPU time, with a wall-clock backstop
            "dqm.sparse_files",  # files mostly holes, never read whole
            "dqm.file_digests",  # the SHA-256 of files read whole, by their stat (a shared file hashed once)
            "dqm.image_text",  # the text an image carries besides its pixels (identifier checks)
            "dqm.archive_names",  # the member names of a 7z or RAR archive (identifier checks)
            "dqm.doc_text",  # the text of a PDF, a Word file, a ZIP beside the slides (identifier checks)
            "dqm.pixels",
            "dqm.hangul_syllables",  # Hangul syllables by frequency (generated), for the manifests' CP949 guess
            "dqm.han_characters",  # Chinese and Japanese Han characters by frequency (generated), the same guess
            "dqm.batch",
            "dqm.checksums",
            "dqm.order",  # the buyer's order list (--expect), read as untrusted input
            "dqm.clinical_table",
        ),
    ),
    ("checks", ("validators",)),
    ("runner", ("dqm.runner", "dqm.cache", "dqm.executors", "dqm.single_files", "dqm.convert", "dqm.synth")),
    ("dimensions", ("dqm.syntactic", "dqm.semantic", "dqm.diversity", "dqm.validity", "dqm.lots")),
    (
        "results",
        (
            "dqm.results",
            "dqm.baseline",
            "dqm.audit",
            "dqm.figures",
            "dqm.gate",
            "dqm.diff",
            "dqm.thumbnails",
            "dqm.redelivery",
            "dqm.waivers",
            "dqm.reuse",  # one pass reused: --results checked and its run rebuilt from the records
            "dqm.verify",
            "dqm.i18n_catalogue",  # the catalogues against the source and the registered codes (a tool)
        ),
    ),
    ("reports", ("reports",)),
    ("cli", ("dqm.cli", "=dqm.__main__", "dqm.schemas")),
]
"""Bottom to top."""


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def layer(module: str) -> int:
    """The index in :data:`LAYERS` of the longest entry naming ``module`` or a package above it
    (``=name`` names that module alone), -1 when none does."""
    best, where = -1, -1
    for k, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if prefix.startswith("="):
                if module == prefix[1:] and len(prefix) > best:
                    best, where = len(prefix), k
            elif (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, where = len(prefix), k
    return where


def _target(name: str) -> str | None:
    """The project module an import of ``name`` loads (its longest importable prefix)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" for a in node.names] or [base]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        for name in names:
            target = _target(name)
            if target is not None and target != module:
                yield target, node.lineno


def _graph() -> dict[str, dict[str, int]]:
    return {m: dict(_imports(m, p)) for m, p in MODULES.items()}


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer(m) < 0] == []


def test_no_import_points_to_a_higher_layer():
    upward = [
        f"{MODULES[m].relative_to(ROOT)}:{line} {m} ({LAYERS[layer(m)][0]}) imports {t} ({LAYERS[layer(t)][0]})"
        for m, targets in _graph().items()
        for t, line in targets.items()
        if layer(t) > layer(m)
    ]
    assert upward == []


def test_the_module_graph_has_no_cycle():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_checker_sees_a_function_level_import_upward(tmp_path: Path):
    """The reader above would miss nothing it should see: a late import inside a function counts."""
    source = tmp_path / "m.py"
    source.write_text(
        "def f():\n    from reports import render_html\n    import importlib\n"
        "    importlib.import_module('dqm.cli')\n"
    )
    found = dict(_imports("dqm.model", source))
    assert set(found) == {"reports", "dqm.cli"}
    assert all(layer(t) > layer("dqm.model") for t in found)
