"""A slide probe's budget: work counted before it is done, with clocks only as a backstop.

What a probe may do is counted in **work units**: a pixel a step reads or processes, weighted by
what the step does to it (:data:`dqm.slide_io.WORK_PER_PIXEL`). Each step's units are known
before it starts, from the slide's header (a region's size, a level's or an associated image's
dimensions, the low-resolution image the pixel measures run on): :meth:`Budget.take` counts them
and lets the step run, or refuses it when they would take the work done past the budget. The
same file and the same budget then give the same steps run and skipped, and the same blur tiles,
on every machine: a slower or faster CPU, an idle or loaded one. The budget is
:func:`work_units` of the probe's seconds (the profile's ``limits.slide_seconds``): a fixed
:data:`WORK_RATE` units a second, the same number everywhere, never measured on the machine.

The clocks stay, as a backstop against what the units cannot foresee: a decoder that crawls or
hangs on a hostile tile, a read blocked on a slow filesystem. A budget's CPU time (the calling
thread's, ``time.thread_time``: another process's load does not count) may reach its seconds,
and its wall-clock time :data:`WALL_FACTOR` times as many; past either, a step is refused too,
and which meter refused it is said (``work``, ``cpu`` or ``wall``): a step a clock refused
depends on the machine, and only then do results. A normal slide's probe takes a few hundredths
of its work budget (``benchmarks/bench_probe_budget.py``), so no meter stops it. Like the budget,
the backstop is checked between steps: it cannot interrupt a read that never returns. What does
is the item's wall-clock limit (:func:`item_limit_s`), kept outside the item's process and
counted from the item's last :func:`progress` (each :meth:`Budget.take` says it): the run kills
the worker process of an item with no progress past it (a thread cannot be interrupted) and records an
``ITEM_TIMED_OUT`` finding on that item (:mod:`dqm.runner`, :mod:`dqm.executors`).

The thread's clock, not the process's: a Dask worker runs its tasks on threads beside its own
(communication, heartbeats) and may run several tasks at once, and a run in the main process has
the progress bar's thread; the process's clock counts all of them. A probe runs start to end on
one thread, and the decoders it calls (OpenSlide, libtiff, Pillow, numpy, scipy) decode on the
calling thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

WALL_FACTOR = 10.0
"""A budget of ``s`` seconds also runs out after ``WALL_FACTOR * s`` seconds on the wall clock."""

ITEM_FACTOR = 2.0
"""An item's wall-clock limit, without the profile's ``limits.item_seconds``, is this many times
its probe's wall-clock backstop (``WALL_FACTOR * slide_seconds``): the probe may take all of its
own, and as long again is left for the item's other steps (reading and parsing its annotation,
which the profile's size limits bound, and hashing its files whole), 600 s with the default
30 s budget. Only a stuck item reaches it: a normal slide's probe takes a few hundredths of its
budget (``benchmarks/bench_probe_budget.py``)."""

WORK_RATE = 20_000_000
"""Work units a budget allows for each of its seconds. A core of the 2-core machine dqm is
measured on does 52-128 million units a second of a probe's work (lot slides 52, the real slides
66, GlaS images 85, a 13,300² PNG 128, under a load of 10: ``benchmarks/bench_probe_budget.py``):
a budget's work is done there in 16-38 % of its seconds, so on a machine up to 2.6 times slower
(6 times, for big plain images) the work budget, the same on every machine, still decides before
the CPU time backstop."""

Meter = Literal["work", "cpu", "wall"]
"""What refused a step: the work budget (the same on every machine), the CPU time backstop or
the wall-clock backstop (both depend on the machine)."""


_ON_PROGRESS: list[Callable[[], None]] = []


def progress() -> None:
    """Say that the calling thread's item is making progress (a probe step begins, a chunk of a
    file was hashed, an annotation was read): the item's wall-clock limit (:func:`item_limit_s`)
    counts from the last time this was said, so only an item stuck inside one step is ended. A
    no-op outside a watched worker."""
    for beat in _ON_PROGRESS:
        beat()


def on_progress(beat: Callable[[], None] | None) -> None:
    """In a worker process: ``beat`` is what :func:`progress` calls from now on (None: nothing)."""
    _ON_PROGRESS.clear()
    if beat is not None:
        _ON_PROGRESS.append(beat)


def work_units(seconds: float) -> int:
    """The work units a budget of ``seconds`` allows (:data:`WORK_RATE` a second)."""
    return int(WORK_RATE * seconds)


def item_limit_s(slide_seconds: float, item_seconds: float | None = None) -> float:
    """The wall-clock seconds one item's work may take before its process is killed:
    ``item_seconds`` (the profile's ``limits.item_seconds``) when set, else :data:`ITEM_FACTOR`
    times the probe's wall-clock backstop of ``slide_seconds``."""
    if item_seconds is not None:
        return item_seconds
    return ITEM_FACTOR * WALL_FACTOR * slide_seconds


class Budget:
    """Work units some work may take, counted before each step (:meth:`take`), with the calling
    thread's CPU seconds and :data:`WALL_FACTOR` times as many wall-clock seconds, from the moment
    this is made, as a backstop."""

    __slots__ = ("_cpu0", "_wall0", "_whole", "done", "seconds", "wall_limit_s", "work")

    def __init__(
        self,
        seconds: float,
        *,
        work: int | None = None,
        wall_limit_s: float | None = None,
        whole: Budget | None = None,
    ) -> None:
        self.seconds = seconds
        """CPU seconds after which no step starts, whatever the work (the backstop)."""
        self.work = work_units(seconds) if work is None else work
        """Work units the steps may take in all."""
        self.done = 0
        """Work units taken so far."""
        self.wall_limit_s = WALL_FACTOR * seconds if wall_limit_s is None else wall_limit_s
        """Wall-clock seconds after which no step starts, whatever the work or the CPU time."""
        self._whole = whole
        self._cpu0 = time.thread_time()
        self._wall0 = time.monotonic()

    @property
    def cpu_s(self) -> float:
        """CPU seconds this thread has spent since the budget began."""
        return time.thread_time() - self._cpu0

    @property
    def wall_s(self) -> float:
        """Seconds on the wall clock since the budget began."""
        return time.monotonic() - self._wall0

    def take(self, units: int) -> Meter | None:
        """Count a step of ``units`` work units and return None, letting it run; or, counting
        nothing, say what refuses it: ``work`` when the units would take the work done past the
        budget (decided by the units alone, on any machine), else ``cpu`` or ``wall`` when a
        clock's backstop has passed."""
        progress()  # the step before this one ended
        if self.done + units > self.work:
            return "work"
        if self.cpu_s > self.seconds:
            return "cpu"
        if self.wall_s > self.wall_limit_s:
            return "wall"
        self.count(units)
        return None

    def count(self, units: int) -> None:
        """Count ``units`` of work done that no budget decides (a plain image's decoding)."""
        progress()
        self.done += units
        if self._whole is not None:
            self._whole.count(units)

    def part(self, seconds: float) -> Budget:
        """A budget for a part of this work, beginning now: :func:`work_units` of ``seconds`` and
        ``seconds`` of CPU time (its backstop :data:`WALL_FACTOR` times that), never beyond what
        is left of this one on any meter; the work it takes counts in this one too."""
        return Budget(
            min(seconds, max(0.0, self.seconds - self.cpu_s)),
            work=min(work_units(seconds), max(0, self.work - self.done)),
            wall_limit_s=min(WALL_FACTOR * seconds, max(0.0, self.wall_limit_s - self.wall_s)),
            whole=self,
        )
