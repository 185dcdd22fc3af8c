"""Import hygiene: dqm starts light, and the top-level package names are this project's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "monai", "great_expectations", "distributed")


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return {m for m in out.stdout.strip().split(",") if m}


def test_import_dqm_loads_no_heavy_dependency():
    assert _loaded_after("import dqm") == set()


def test_cli_and_runner_load_no_heavy_dependency():
    assert _loaded_after("import dqm.cli, dqm.runner, dqm.syntactic, validators, reports") == set()


def test_top_level_packages_are_this_project():
    import dqm
    import reports
    import validators

    for module in (dqm, validators, reports):
        assert Path(module.__file__).resolve().parent.parent == ROOT, module.__file__
