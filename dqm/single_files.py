"""Validating annotation files on their own, without a batch (``dqm validate FILE...``).

For pre-commit hooks: each file is read and given the item checks that need no slide and no
manifest (structure, format, geometry against its own declared slide size).
"""

from __future__ import annotations

from pathlib import Path

from dqm.batch import stem
from dqm.findings import Finding
from dqm.model import Item
from dqm.profile import Profile
from dqm.runner import RunOptions, check_item_safely
from validators.engine import configure


def validate_files(paths: list[Path], profile: Profile) -> list[Finding]:
    """Findings for each annotation file, located by the path as given."""
    checks = configure(profile)
    options = RunOptions(slides=False, clinical=False)
    findings: list[Finding] = []
    for path in paths:
        parent = path.parent.resolve()
        item = Item(stem(path.name), None, path.name, {}, None)
        outcome = check_item_safely(item, parent, profile, checks, options)
        assert outcome is not None  # None only confirms a cached record (--certify)
        for f in outcome.findings:
            loc = f.location.model_copy(update={"file": str(path)}) if f.location.file else f.location
            findings.append(f.model_copy(update={"location": loc}))
    return findings
