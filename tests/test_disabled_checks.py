"""A profile that turns checks off says so wherever the verdict is read.

A vendor's profile that disabled all 48 checks (and still set the usual targets) gave "Syntactic
accuracy PASS, 0 errors, 0 warnings" in report.html, summary.md and on the console, and results.json
listed only the checks that ran: nothing told a reader that nothing had been checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from dqm.cli import app
from tests.helpers import write_tiny_batch
from validators import REGISTRY

runner = CliRunner()
BUILT_IN = Path(__file__).parents[1] / "dqm" / "profiles" / "dermatopathology.yaml"


def _audit(tmp_path: Path, disabled: list[str], lang: str = "en") -> tuple[Path, str]:
    profile = yaml.safe_load(BUILT_IN.read_text(encoding="utf-8"))
    profile["checks"] = {cid: {"enabled": False} for cid in disabled}
    path = tmp_path / "vendor.yaml"
    path.write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    batch = write_tiny_batch(tmp_path / "batch")
    key = tmp_path / "mask.key"
    key.write_bytes(b"k" * 32)
    out = tmp_path / "out"
    args = ["audit", batch, "--out", out, "-j", 1, "--no-cache", "--stages", "syntactic", "--profile", path]
    res = runner.invoke(app, [str(a) for a in [*args, "--mask-key", key, "--lang", lang]])
    assert res.exit_code in (0, 1), res.output
    return out, " ".join(res.output.split())


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_profile_that_disables_every_check_says_so(tmp_path: Path, lang: str) -> None:
    every = sorted(REGISTRY)
    out, console = _audit(tmp_path, every, lang)
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["disabled_checks"] == every
    assert [c["id"] for c in results["checks"]] == ["runner"]
    said = "disabled" if lang == "en" else "비활성화"
    count = f"{len(every)}"
    for text in (console, (out / "summary.md").read_text(encoding="utf-8")):
        assert said in text and count in text
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="disabled-checks"' in html and said in html
    assert every[0] in html


def test_a_profile_that_disables_none_says_nothing(tmp_path: Path) -> None:
    out, console = _audit(tmp_path, [])
    assert json.loads((out / "results.json").read_text(encoding="utf-8"))["disabled_checks"] == []
    assert "profile disabled" not in console
    assert "profile disabled" not in (out / "summary.md").read_text(encoding="utf-8")
    assert 'id="disabled-checks"' not in (out / "report.html").read_text(encoding="utf-8")
