"""The slide probe's time budget counts the probe's CPU time, so load on the machine does not change a
probe's result; a wall-clock backstop still stops a probe whose reads wait (issue 13 §1, §4)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

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
    """``slow_reads(wait=, burn=)``: every region the probe reads from then on first sleeps ``wait``
    seconds (wall clock only: a loaded machine, a slow filesystem) and spends ``burn`` seconds of CPU."""
    import openslide

    plain = openslide.OpenSlide.read_region

    def slowed(wait: float = 0.0, burn: float = 0.0) -> None:
        def read(self: openslide.OpenSlide, location: Any, level: int, size: Any) -> Any:
            time.sleep(wait)
            _burn(burn)
            return plain(self, location, level, size)

        monkeypatch.setattr(openslide.OpenSlide, "read_region", read)

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
    which a wall-clock budget stopped after fewer steps and tiles, but spends the same CPU time: its
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


def test_a_probe_that_spends_its_cpu_budget_stops_and_says_so(
    slide: Path, slow_reads: Any, profile: Profile
) -> None:
    """Reads that each cost 0.05 s of CPU time: a 0.12 s probe stops its tile sample, a 0.12 s
    artefact budget its blur sample, each after a few reads, and each says the CPU time ran out."""
    slow_reads(burn=0.05)
    probe = probe_slide(slide, slide.name, ProbeOptions(budget_s=0.12))
    assert probe.skipped[0] == "tile sample" and 0 < probe.regions_read < 5
    assert probe.budget_clock == "cpu" and probe.elapsed_s > 0.12
    finding = _budget_finding(profile, probe)
    assert finding.message.startswith("probing spent its 0.12 s CPU time budget: skipped tile sample")

    probe = probe_slide(slide, slide.name, ProbeOptions(budget_s=30.0, artefacts_budget_s=0.12))
    assert not probe.skipped and probe.artefacts is not None and probe.artefacts.blur is not None
    blur = probe.artefacts.blur
    assert 0 < blur.tiles < 8 and blur.note == f"CPU time budget spent after {blur.tiles} tiles"


def test_the_wall_clock_backstop_stops_a_probe_whose_reads_wait(
    slide: Path, slow_reads: Any, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads that each wait 0.4 s and cost nothing: the probe's 0.1 s of CPU time would last, but
    after its backstop (1 s on the wall clock) it reads no more and says it waited; the blur sample's
    own backstop (10 times 0.05 s) stops it likewise."""
    slow_reads(wait=0.4)
    probe = probe_slide(slide, slide.name, ProbeOptions(budget_s=0.1))
    assert probe.skipped[0] == "tile sample" and 0 < probe.regions_read < 5
    assert probe.budget_clock == "wall" and probe.elapsed_s < 0.1
    finding = _budget_finding(profile, probe)
    assert finding.message.startswith(
        f"probing waited on its reads for over {WALL_FACTOR * 0.1:g} s on the wall clock "
        f"({WALL_FACTOR:g} times its 0.1 s CPU time budget): skipped tile sample"
    )

    monkeypatch.undo()  # the sample reads at full speed; the blur tiles wait
    tiles = slide_io._openslide_tiles

    def waiting(*args: Any) -> Any:
        source = tiles(*args)
        return dataclasses.replace(source, read=lambda *xy: time.sleep(0.2) or source.read(*xy))

    monkeypatch.setattr(slide_io, "_openslide_tiles", waiting)
    probe = probe_slide(slide, slide.name, ProbeOptions(budget_s=30.0, artefacts_budget_s=0.05))
    assert not probe.skipped and probe.artefacts is not None and probe.artefacts.blur is not None
    blur = probe.artefacts.blur
    assert 0 < blur.tiles < 8
    assert blur.note == f"time budget's wall-clock backstop passed after {blur.tiles} tiles"


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
    assert (whole.seconds, whole.wall_limit_s) == (0.5, WALL_FACTOR * 0.5)
    part = whole.part(1.0)
    assert part.seconds <= 0.5 and part.wall_limit_s <= WALL_FACTOR * 0.5 and part.spent() is None
    _burn(0.01)
    assert whole.part(1.0).seconds < 0.5 - 0.01  # what is left of the whole
    assert Budget(0.0).part(1.0).seconds == 0.0
    spent = Budget(1e-6)
    _burn(0.001)
    assert spent.spent() == "cpu"
