"""Progress of a validity run on the terminal: rich bars with the loss and an ETA.

On a terminal: one bar per fold over all its training batches (epoch, running loss, time left)
and one over the held-out slides. Elsewhere (CI logs) one line per epoch instead.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from dqm.i18n import N_, Message, gettext, translator
from dqm.validity.models import CurvePoint
from dqm.validity.train import Reporter


class RichReporter(Reporter):
    """Draws the bars on ``console`` (stderr) in ``lang``; use as a context manager."""

    def __init__(self, console: Console, lang: str = "en") -> None:
        self.console = console
        self.lang = lang
        self._ = translator(lang)
        self.live = console.is_terminal
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TextColumn(gettext(N_("ETA"), lang)),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            disable=not self.live,
        )
        self._task: Any = None
        self._fold: str | None = None
        self._slides: Any = None
        self._epoch = (0, 0)
        self._sum = 0.0
        self._n = 0

    def __enter__(self) -> RichReporter:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)  # type: ignore[arg-type]

    def stage(self, text: str) -> None:
        if not self.live:
            shown = text.rendered(self.lang) if isinstance(text, Message) else gettext(text, self.lang)
            self.console.print(shown, highlight=False)

    def warn(self, text: str) -> None:
        shown = text.rendered(self.lang) if isinstance(text, Message) else gettext(text, self.lang)
        self.console.print(self._("warning: {line}", line=shown), highlight=False, markup=False)

    def epoch_start(self, fold: str, epoch: int, epochs: int, steps: int) -> None:
        self._epoch = (epoch, epochs)
        self._sum, self._n = 0.0, 0
        if fold != self._fold:
            self._fold = fold
            self._task = self.progress.add_task(
                self._("training {fold}", fold=fold), total=epochs * steps, info=""
            )
        self.progress.update(
            self._task,
            total=epochs * steps,
            completed=(epoch - 1) * steps,
            info=self._("epoch {epoch}/{epochs}", epoch=epoch, epochs=epochs),
        )

    def step(self, loss: float) -> None:
        self._sum += loss
        self._n += 1
        e, n = self._epoch
        info = self._("epoch {epoch}/{epochs} loss {loss:.3f}", epoch=e, epochs=n, loss=self._sum / self._n)
        self.progress.update(self._task, advance=1, info=info)

    def epoch_end(self, point: CurvePoint) -> None:
        if not self.live:
            td = gettext(N_("n/a"), self.lang) if point.tile_dice is None else f"{point.tile_dice:.3f}"
            line = self._(
                "{fold} epoch {epoch}/{epochs}: loss {loss:.4f}, tile Dice {dice}, {seconds:.1f} s "
                "({rate:.1f} tiles/s)",
                fold=point.fold,
                epoch=point.epoch,
                epochs=self._epoch[1],
                loss=point.loss,
                dice=td,
                seconds=point.seconds,
                rate=point.tiles / max(point.seconds, 1e-9),
            )
            self.console.print("  " + line, highlight=False)

    def slide_done(self, done: int, total: int) -> None:
        if self._slides is None or done == 1:
            self._slides = self.progress.add_task(self._("predicting held-out slides"), total=total, info="")
        self.progress.update(self._slides, completed=done, total=total)
