"""The slide probe's budget counts work, known before each step, so neither the machine nor its load
changes a probe's result; CPU and wall-clock backstops still stop a probe whose decoder crawls or
whose reads wait, and say so (issue 13 §1, §4)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dqm import budget as budget_module
from dqm import slide_io
from dqm.budget import WALL_FACTOR, Budget
from dqm.model import Item
from dqm.profile import Profile
from dqm.runner import run_item_checks
from dqm.slide_io import ProbeOptions, SlideProbe, probe_slide
from dqm.synth.pyramid import paint, write_pyramid
from validators.context import FileStatus, ItemView
from validators.engine import configure


@pytest.fixture(scope="module")
def slide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2048 px JPEG pyramid at 0.5 µm/px with tissue over most of it: 5 sample regions and 8 blur
    tiles, about 0.06 s of CPU time a probe."""
    outline = np.array([[200, 200], [1850, 200], [1850, 1850], [200, 1850]])
    path = tmp_path_factory.mktemp("budget") / "slide.tiff"
    write_pyramid(path, paint(np.random.default_rng(5), 2048, 2048, outline), 0.5)
    probe_slide(path, path.name)  # the first probe imports the decoders, on the probe's CPU clock
    return path


def _burn(seconds: float) -> None:
    """Spend ``seconds`` of this thread's CPU time."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


@pytest.fixture()
def slow_reads(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``slow_reads(wait=)``: every region the probe reads from then on first sleeps ``wait``
    seconds (wall clock only: a loaded machine, a slow filesystem)."""
    plain = slide_io._read_rgba  # every OpenSlide read of the probe

    def slowed(wait: float) -> None:
        def read(slide: Any, location: Any, level: int, size: Any, tiles: Any = None) -> Any:
            time.sleep(wait)
            return plain(slide, location, level, size, tiles)

        monkeypatch.setattr(slide_io, "_read_rgba", read)

    return slowed


def _result(probe: SlideProbe) -> tuple[Any, ...]:
    """What a probe found, without the seconds it measured (its CPU time)."""
    tissue = probe.tissue
    assert tissue is not None and probe.artefacts is not None
    return (
        probe.facts(),
        probe.skipped,
        probe.budget_clock,
        tissue.mask.tobytes(),
        tissue.perceptual_hash,
        tissue.stain,
        probe.artefacts.blur,
        probe.artefacts.flags.tobytes(),
    )


def _budget_finding(profile: Profile, probe: SlideProbe) -> Any:
    item = Item("s", probe.path, None, {}, None)
    view = ItemView(item, profile, None, probe, FileStatus(probe.path, True), FileStatus(None, False))
    (finding,) = [f for f in run_item_checks(view, configure(profile)) if f.check == "slide.time_budget"]
    return finding


def test_a_probe_slowed_on_the_wall_clock_finds_exactly_what_an_unhurried_one_finds(
    slide: Path, slow_reads: Any
) -> None:
    """Every read waits 0.08 s, as on a machine whose cores other processes hold: the probe takes
    longer on the wall clock than its whole budget (and its blur sample than the artefact budget),
    which a wall-clock budget stopped after fewer steps and tiles, but does the same work: its
    result is the unhurried one, to the bit."""
    options = ProbeOptions(budget_s=0.5, artefacts_budget_s=0.25)
    unhurried = probe_slide(slide, slide.name, options)
    assert not unhurried.skipped and unhurried.artefacts is not None and unhurried.artefacts.blur is not None
    assert unhurried.artefacts.blur.tiles == 8 and unhurried.artefacts.blur.note == ""
    slow_reads(wait=0.08)
    start = time.monotonic()
    slowed = probe_slide(slide, slide.name, options)
    assert time.monotonic() - start > options.budget_s
    assert slowed.artefacts is not None and slowed.artefacts.elapsed_s > options.artefacts_budget_s
    assert _result(slowed) == _result(unhurried)


class FakeClocks:
    """``dqm.budget``'s clocks: each reading advances both by ``step`` seconds (0: a machine
    infinitely fast; more: a slower one), and :meth:`hang` moves them on; ``readings`` counts the
    readings of the CPU clock."""

    def __init__(self, step: float = 0.0) -> None:
        self.step, self.cpu, self.wall, self.readings = step, 0.0, 0.0, 0

    def thread_time(self) -> float:
        self.cpu += self.step
        self.readings += 1
        return self.cpu

    def monotonic(self) -> float:
        self.wall += self.step
        return self.wall

    def hang(self, seconds: float, cpu: bool) -> None:
        """``seconds`` pass on the wall clock, and on the CPU clock too where ``cpu``."""
        self.wall += seconds
        self.cpu += seconds if cpu else 0.0


def _probe_on(clocks: FakeClocks, monkeypatch: pytest.MonkeyPatch, slide: Path, options: ProbeOptions) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(budget_module, "time", clocks)
        return probe_slide(slide, slide.name, options)


@pytest.mark.parametrize(
    ("options", "skipped", "work", "tiles"),
    [
        # the tile sample (5 regions of 256 px) and the mask's image (512 px) and its hash fit in
        # 1,000,000 units; the stain descriptors (2 a pixel) and the artefact measure (4) would not
        # (and the 68 tiles' offsets and byte counts read, 2 units each: 136)
        (ProbeOptions(budget_s=0.05), ("stain descriptors", "artefacts"), 851_968 + 136, None),
        # the blur sample's 200,000 units hold 3 tiles of 256 px
        (ProbeOptions(budget_s=30.0, artefacts_budget_s=0.01), (), 2_621_440 + 136, 3),
    ],
)
def test_a_probe_over_its_work_budget_skips_the_same_steps_on_a_fast_and_a_slow_machine(
    slide: Path,
    monkeypatch: pytest.MonkeyPatch,
    profile: Profile,
    options: ProbeOptions,
    skipped: tuple[str, ...],
    work: int,
    tiles: int | None,
) -> None:
    """The work budget decides which steps and blur tiles a probe does from the units each takes,
    counted before it starts: a machine whose clocks never move and one whose probe spends 90 % of
    its CPU time backstop skip the same steps, stop the blur sample after the same tile and give
    the same finding, which names the work budget, the same on every machine."""
    fast = FakeClocks()
    quick = _probe_on(fast, monkeypatch, slide, options)
    backstop = min(options.budget_s, options.artefacts_budget_s)
    slow = FakeClocks(0.9 * backstop / fast.readings)
    slowed = _probe_on(slow, monkeypatch, slide, options)
    assert slow.cpu > 0.85 * backstop  # near its CPU time backstop, not past it
    assert quick.skipped == slowed.skipped == skipped
    assert quick.work == slowed.work == work
    assert quick.facts() == slowed.facts() and (quick.artefacts is None) == (slowed.artefacts is None)
    if skipped:
        assert quick.budget_clock == slowed.budget_clock == "work"
        said = _budget_finding(profile, quick).message
        assert said == _budget_finding(profile, slowed).message
        assert said == (
            "probing reached its work budget of 1,000,000 units (0.05 s at 20,000,000 units a second, the "
            "same on every machine): skipped stain descriptors, artefacts (those checks did not run)"
        )
    else:
        assert quick.artefacts is not None and quick.artefacts.blur is not None
        assert quick.artefacts.blur.tiles == tiles
        assert quick.artefacts.blur.note == f"work budget spent after {tiles} tiles"


def test_a_decoder_that_crawls_or_a_read_that_hangs_stops_on_a_clocks_backstop_and_says_so(
    slide: Path, monkeypatch: pytest.MonkeyPatch, profile: Profile
) -> None:
    """Reads well within the work budget whose decoding takes 0.6 s of CPU time each (a hostile
    tile: the 1 s backstop passes after two), or which each wait 3 s on the wall clock (a hung
    filesystem: the 10 s backstop passes after four): the probe reads no more, and its finding
    says which clock stopped it and that this depends on the machine."""
    plain = slide_io._read_rgba  # every OpenSlide read of the probe
    for cpu, reads, clock, said in (
        (True, 2, "cpu", "probing spent its 1 s of CPU time before its work budget (a decoder that crawls"),
        (False, 4, "wall", f"probing waited on its reads for over {WALL_FACTOR:g} s on the wall clock"),
    ):
        clocks = FakeClocks()

        def read(
            slide: Any,
            location: Any,
            level: int,
            size: Any,
            tiles: Any = None,
            cpu: bool = cpu,
            clocks: Any = clocks,
        ) -> Any:
            clocks.hang(0.6 if cpu else 3.0, cpu)
            return plain(slide, location, level, size, tiles)

        monkeypatch.setattr(slide_io, "_read_rgba", read)
        probe = _probe_on(clocks, monkeypatch, slide, ProbeOptions(budget_s=1.0))
        assert probe.skipped[0] == "tile sample" and probe.regions_read == reads
        # the work: the regions read, and the 68 tiles' offsets and byte counts (2 units each)
        assert probe.budget_clock == clock and probe.work == reads * 256 * 256 + 136
        message = _budget_finding(profile, probe).message
        assert message.startswith(said) and "a backstop that depends on the machine" in message


def test_a_processs_first_probe_does_not_pay_the_imports(tmp_path: Path) -> None:
    """A fresh process (a spawned Dask worker, an audit with ``--workers 1``) imports the decoders on
    its first probe, about 0.2 s of CPU time (and seconds on the wall clock under load): before the
    probe's budget starts, so the first slide of each worker is probed like every other. This slide
    costs about 0.02 s; its budget here is 0.1 s."""
    outline = np.array([[50, 50], [460, 50], [460, 460], [50, 460]])
    path = tmp_path / "small.tiff"
    write_pyramid(path, paint(np.random.default_rng(5), 512, 512, outline), 0.5)
    code = (
        "import sys; from pathlib import Path; from dqm.slide_io import ProbeOptions, probe_slide; "
        "p = probe_slide(Path(sys.argv[1]), 'small.tiff', ProbeOptions(budget_s=0.1)); "
        "print(p.skipped, p.budget_clock, p.artefacts is not None)"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split("\n")[0] == "() None True", done.stdout + done.stderr


def test_a_part_of_a_budget_never_outlasts_the_whole() -> None:
    whole = Budget(0.5)
    assert (whole.seconds, whole.work, whole.wall_limit_s) == (0.5, 10_000_000, WALL_FACTOR * 0.5)
    part = whole.part(1.0)
    assert part.seconds <= 0.5 and part.wall_limit_s <= WALL_FACTOR * 0.5 and part.work == 10_000_000
    assert whole.take(4_000_000) is None and whole.part(1.0).work == 6_000_000  # what is left of it
    part = whole.part(0.1)
    assert part.work == 2_000_000
    assert part.take(2_000_001) == "work" and part.done == 0 and whole.done == 4_000_000  # nothing taken
    assert part.take(2_000_000) is None and whole.done == 6_000_000  # a part's work counts in the whole
    assert part.take(1) == "work"
    _burn(0.01)
    assert whole.part(1.0).seconds < 0.5 - 0.01  # what is left of the whole
    assert Budget(0.0).part(1.0).seconds == 0.0 and Budget(0.0).take(1) == "work"
    spent = Budget(1e-6, work=100)
    _burn(0.001)
    assert spent.take(1) == "cpu" and spent.done == 0
