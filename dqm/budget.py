"""A slide probe's time budget: CPU seconds, with a wall-clock backstop.

A budget counts the CPU time of the thread doing the work (``time.thread_time``), not time on the
wall. On a loaded machine (other audits, more worker processes than cores, a Dask worker beside
other work) a probe waits for a core; a wall-clock budget then ran out after fewer steps or blur
tiles, and the same batch gave a different results.json depending on load. The thread's clock, not
the process's: a Dask worker runs its tasks on threads beside its own (communication, heartbeats)
and may run several tasks at once, and a run in the main process has the progress bar's thread;
the process's clock counts all of them. A probe runs start to end on one thread (a worker
process's, a Dask worker's task thread, or the main thread), and the decoders it calls (OpenSlide,
libtiff, Pillow, numpy, scipy) decode on the calling thread.

CPU time does not count what the thread waits for: a read blocked on a slow or hung filesystem. A
wall-clock backstop covers that: a budget also runs out once :data:`WALL_FACTOR` times its seconds
have passed on the wall clock, far more than a loaded machine stretches the work (a probe that
gets a sixth of a core takes six times its CPU time). Which clock ran out is said
(:meth:`Budget.spent`). Like the budget itself, the backstop is checked between steps: a read that
never returns is not interrupted.
"""

from __future__ import annotations

import time
from typing import Literal

WALL_FACTOR = 10.0
"""A budget of ``s`` CPU seconds also runs out after ``WALL_FACTOR * s`` seconds on the wall clock."""

Clock = Literal["cpu", "wall"]
"""Which clock ran out: the CPU time the budget counts, or the wall-clock backstop."""


class Budget:
    """Seconds of the calling thread's CPU time some work may spend, from the moment this is made,
    with the wall-clock backstop at :data:`WALL_FACTOR` times as many seconds."""

    __slots__ = ("_cpu0", "_wall0", "seconds", "wall_limit_s")

    def __init__(self, seconds: float, wall_limit_s: float | None = None) -> None:
        self.seconds = seconds
        self.wall_limit_s = WALL_FACTOR * seconds if wall_limit_s is None else wall_limit_s
        """Wall-clock seconds after which the budget is spent whatever the CPU time."""
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

    def spent(self) -> Clock | None:
        """``cpu`` once the CPU seconds are spent, ``wall`` once the backstop has passed (and the CPU
        seconds are not spent), None while both last."""
        if self.cpu_s > self.seconds:
            return "cpu"
        if self.wall_s > self.wall_limit_s:
            return "wall"
        return None

    def part(self, seconds: float) -> Budget:
        """A budget for a part of this work, beginning now: at most ``seconds`` of CPU time (its
        backstop :data:`WALL_FACTOR` times that), and never beyond what is left of this one on
        either clock."""
        return Budget(
            min(seconds, max(0.0, self.seconds - self.cpu_s)),
            min(WALL_FACTOR * seconds, max(0.0, self.wall_limit_s - self.wall_s)),
        )
