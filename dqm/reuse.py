"""One pass, reused: commands that take an audit's results.json instead of checking the batch again.

``dqm sample``, ``dqm validity`` and ``dqm audit`` (its diversity, validity, thumbnail and lot
stages) accept ``--results DIR/results.json``. Every one of them first asks :func:`refusal`
whether that result may stand for the batch as it is now: audited with this profile (its SHA-256)
and of these files (:func:`~dqm.syntactic.accuracy.batch_fingerprint`, the files OpenSlide opens
besides each slide included from results 1.15 on: a MIRAX data file changed since the audit left
the fingerprint as it was, and the item was checked again under the old plan). A stage that needs more
than results.json holds — the parsed annotations, slide facts and clinical records of
:class:`~dqm.model.ItemRecord` — rebuilds the audit's :class:`~dqm.runner.Run` from the audit's
per-item result cache (:func:`reused_run`): no annotation is parsed and no slide is probed again.
An item the cache does not hold is checked again, alone, and :class:`Reused` names it so that the
command says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dqm.batch import PATH_COLUMNS, Discovery, discover
from dqm.cache import DB_NAME, RecordCache, context_key
from dqm.identifiers import Masker
from dqm.profile import Profile
from dqm.results import QualityResult, with_parts_of_1_16, with_slide_parts
from dqm.runner import Progress, Run, RunOptions, run_batch
from dqm.syntactic.accuracy import batch_fingerprint
from validators.context import EarlierRelease


def refusal(
    result: QualityResult,
    path: Path,
    root: Path,
    profile: Profile,
    discovery: Discovery | None = None,
    mask: Callable[[str], str] | None = None,
) -> str | None:
    """Why the audit in ``path`` cannot stand for ``root`` checked with ``profile``; None when it
    can. ``discovery``: the batch as just discovered, when the caller has it; ``mask``: the run's
    masker (results.json names a slide whose id holds an identifier masked)."""
    if result.profile.sha256 != profile.sha256:
        return (
            f"--results {path} was audited with profile {result.profile.name} (sha256 "
            f"{result.profile.sha256[:12]}…), not this one ({profile.name}, {profile.sha256[:12]}…): "
            "give the audit's profile, or audit again"
        )
    # by role as well as path: a file OpenSlide opens besides a slide may be an annotation too, its
    # SHA-256 no stand-in for its quick print (an unchanged batch was refused)
    recorded = {
        (f.path, f.role == "annotation"): (f.stat, f.sha256 if f.role == "annotation" else f.quick_print)
        for f in result.batch.files
    }
    discovery = discovery if discovery is not None else discover(root)
    parts = with_slide_parts(result.schema_version)  # 1.15 on: the files besides each slide too
    since_1_16 = with_parts_of_1_16(result.schema_version)  # a DICOM series, a Trestle macro
    if result.batch.fingerprint != batch_fingerprint(root, discovery, recorded, parts, since_1_16=since_1_16):
        return (
            f"--results {path} does not match the batch: its files changed since that audit "
            "(fingerprint differs); audit the batch again, or run without --results"
        )
    named = zip(*(result.items.column(c) for c in PATH_COLUMNS), strict=True)
    if not _same_items(named, len(result.items), discovery, mask):
        return (
            f"--results {path} does not match the batch: its items are not the batch's (a slide it "
            "lists is not in the batch, one of the batch is not listed, or a slide's files are "
            "another's); audit the batch again, or run without --results"
        )
    return None


def _same_items(
    listed: Iterable[tuple[str, str | None, str | None]],
    count: int,
    discovery: Discovery,
    mask: Callable[[str], str] | None,
) -> bool:
    """Whether an audit lists exactly the batch's items, in discovery's order, each with its own
    slide id, image and annotation path (as they are or, where one holds an identifier, masked).
    The fingerprint covers the files, not what results.json says they are: a slide it names that
    the batch has not would be drawn for review, one it leaves out never drawn, and a slide given
    another's image shown to the reviewers under the wrong name. ``count``: how many ``listed`` holds."""

    def same(name: str | None, real: str | None) -> bool:
        if name == real:
            return True
        return name is not None and real is not None and mask is not None and name == mask(real)

    if count != len(discovery.items):
        return False
    return all(
        same(sid, item.slide_id) and same(image, item.image_path) and same(ann, item.annotation_path)
        for (sid, image, ann), item in zip(listed, discovery.items, strict=True)
    )


FULL_HASHES = frozenset({"--full-hashes", "--certify", "--sign-key"})
"""Options of ``dqm audit`` that make it hash every file whole (an item option of the cache)."""


def audit_item_options(result: QualityResult, options: RunOptions) -> RunOptions:
    """``options`` with the item options the audit ran with (``--slide-budget``,
    ``--label-thumbnails``, full hashes: ``--full-hashes``, ``--certify`` or ``--sign-key``, read
    from its command line): the cache holds its records under them. An audit with full hashes had
    every record missed, and every item checked again (hours on real slides)."""
    command = list(result.command)
    if command[1:2] != ["audit"]:
        return options
    update: dict[str, Any] = {}
    if "--label-thumbnails" in command:
        update["label_thumbnails"] = True
    if any(arg in FULL_HASHES or arg.startswith("--sign-key=") for arg in command):
        update["full_hashes"] = True
    for k, arg in enumerate(command):
        value = command[k + 1] if arg == "--slide-budget" and k + 1 < len(command) else None
        if arg.startswith("--slide-budget="):
            value = arg.partition("=")[2]
        if value is not None:
            with contextlib.suppress(ValueError):
                update["slide_budget_s"] = float(value)
    return replace(options, **update)


@dataclass
class Reused:
    """A run rebuilt from an audit's records, and what could not be taken from them."""

    run: Run
    rechecked: list[str] = field(default_factory=list)
    """Slide ids of the items checked again: the cache held no record of them."""
    why: str = ""
    """Why those items were not in the cache (empty when none was checked again)."""


def reused_run(
    result: QualityResult,
    root: Path,
    profile: Profile,
    folder: Path,
    options: RunOptions,
    progress: Progress | None = None,
    warn: Any = None,
    earlier: EarlierRelease | None = None,
    mask: Masker | None = None,
) -> Reused:
    """The run of ``result`` (already accepted by :func:`refusal`) from the result cache in
    ``folder``: each item's record as the audit stored it, the batch checks run again over them
    (they read no annotation). Items without a record are checked again (with ``options``'
    executor) and named in the answer; their records join the cache. ``earlier``: the slides of a
    previous release, for the batch checks (as :func:`~dqm.runner.run_batch`). ``mask``: the
    run's masker, which keys and masks the cache (:class:`~dqm.cache.RecordCache`)."""
    options = audit_item_options(result, options)
    if not (folder / DB_NAME).is_file():
        run = run_batch(root, profile, options, progress, earlier=earlier)
        why = f"the audit's result cache {folder} does not exist (the audit ran with --no-cache, or it moved)"
        return Reused(run, list(run.outcomes.summaries().column("slide_id")), why)
    kw: dict[str, Any] = {"mask": mask} if warn is None else {"warn": warn, "mask": mask}
    cache = RecordCache(folder, root, context_key(profile.sha256, options), **kw)
    with cache:
        run = run_batch(root, profile, options, progress, cache if cache.usable else None, earlier)
        if not cache.usable:
            why = f"the audit's result cache {folder} cannot be read"
            return Reused(run, list(run.outcomes.summaries().column("slide_id")), why)
        missed = cache.missed + cache.unconfirmed
    why = (
        f"the audit's result cache {folder} holds no record of them under their current files "
        "(modification time, inode) and the audit's options"
        if missed
        else ""
    )
    return Reused(run, missed, why)
