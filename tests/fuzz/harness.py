"""The fuzz harness's judges: run the real pipeline on an input and check what came out.

A judge asserts the three properties every fuzz example must keep: no exception escapes (and no
check crashed), every finding carries a code its check declares, and nothing outside the batch is
opened or listed (watched with an audit hook, :func:`watch_outside`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from dqm.findings import Finding
from dqm.model import Annotation, Item
from dqm.profile import load_profile
from dqm.readers import parse_annotation, resolve_classes
from dqm.runner import Run, RunOptions, run_batch, run_item_checks
from validators.context import FileStatus, ItemView
from validators.engine import CRASH_CODE, configure
from validators.registry import REGISTRY

PROFILE = load_profile()
CHECKS = configure(PROFILE)
TIME_LIMIT_S = 60
"""One example that runs longer is stuck (a FIFO opened, a loop): it fails instead of hanging CI."""


def assert_findings_declared(findings: list[Finding]) -> None:
    """No check crashed, and every code is one its check declares."""
    crashed = [f for f in findings if f.code == CRASH_CODE]
    assert not crashed, f"{crashed[0].location.file}: {crashed[0].message}"
    for f in findings:
        assert f.check in REGISTRY, f"finding from unknown check {f.check!r}"
        assert f.code in REGISTRY[f.check].codes, f"{f.check} emitted undeclared code {f.code}"


@contextlib.contextmanager
def time_limit(seconds: int = TIME_LIMIT_S) -> Iterator[None]:
    """Raise in this (main) thread once ``seconds`` have passed."""

    def expire(signum, frame):
        raise TimeoutError(f"one fuzz example ran past {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def judge_bytes(data: bytes, name: str) -> list[Annotation]:
    """Parse ``data`` as the file ``name`` and run every item check on what it holds."""
    with time_limit():
        anns = parse_annotation(data, name)
        assert anns and all(isinstance(a, Annotation) for a in anns)
        for ann in anns[:3]:
            resolved = resolve_classes(ann, PROFILE)
            item = Item("x", None, name, {}, None)
            view = ItemView(
                item, PROFILE, resolved, None, FileStatus(None, False), FileStatus(name, True), False
            )
            assert_findings_declared(run_item_checks(view, CHECKS))
    return anns


_WATCHED: list[tuple[str, list[str]]] = []
"""(outside folder, events seen in it) while :func:`watch_outside` is active."""
_EVENTS = {"open", "os.listdir", "os.scandir", "os.chdir"}


def _hook(event: str, args: tuple) -> None:
    if not _WATCHED or event not in _EVENTS or not args:
        return
    target = args[0]
    if isinstance(target, int) or target is None:
        return
    with contextlib.suppress(TypeError, ValueError):
        real = os.path.realpath(os.fsdecode(target))
        for outside, seen in _WATCHED:
            if real == outside or real.startswith(outside + os.sep):
                seen.append(f"{event} {os.fsdecode(target)}")


_HOOKED: list[bool] = []


@contextlib.contextmanager
def watch_outside(outside: Path) -> Iterator[list[str]]:
    """The opens and listings of anything under ``outside`` (links followed) in this process."""
    if not _HOOKED:
        sys.addaudithook(_hook)  # audit hooks cannot be removed: one, switched by _WATCHED
        _HOOKED.append(True)
    seen: list[str] = []
    _WATCHED.append((os.path.realpath(outside), seen))
    try:
        yield seen
    finally:
        _WATCHED.pop()


def judge_batch(root: Path, outside: Path, *, slides: bool = True) -> Run:
    """``run_batch`` on ``root`` in this process; nothing under ``outside`` may be touched."""
    options = RunOptions(workers=1, slides=slides, clinical=False)
    with time_limit(), watch_outside(outside) as seen:
        run = run_batch(root, PROFILE, options)
    assert not seen, f"read outside the batch: {seen[:3]}"
    findings = [f for o in run.outcomes for f in o.findings] + list(run.batch_findings)
    assert_findings_declared(findings)
    return run
