"""Corrupt slides are findings, never exceptions: mutated real slide files through the probe
and every slide check (1,200 such files also ran clean outside the suite; see the report)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dqm.model import Item
from dqm.profile import load_profile
from dqm.runner import run_item_checks
from dqm.slide_io import probe_slide
from validators.context import FileStatus, ItemView
from validators.engine import CRASH_CODE, configure

pytestmark = pytest.mark.wsi
PROFILE = load_profile()
SMALL = ["small.svs", "boxes.tiff", "boxes_0.dcm", "small_HE_levels.tiff", "smalltif.tif"]
ops = st.lists(
    st.tuples(
        st.sampled_from(["flip", "truncate", "delete", "insert"]),
        st.floats(0, 1),
        st.binary(min_size=1, max_size=8),
    ),
    min_size=1,
    max_size=3,
)


def mutate(data: bytes, steps) -> bytes:
    buf = bytearray(data)
    for kind, where, junk in steps:
        pos = int(where * max(len(buf) - 1, 0))
        if not buf:
            break
        if kind == "flip":
            buf[pos] ^= junk[0] or 0xFF
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "delete":
            del buf[pos : pos + 8 * len(junk)]
        else:
            buf[pos:pos] = junk
    return bytes(buf)


@pytest.mark.parametrize("name", SMALL)
def test_mutated_slides(real_data: Path, tmp_path: Path, name: str) -> None:
    original = (real_data / "slides" / name).read_bytes()
    target = tmp_path / name
    checks = configure(PROFILE)

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ops)
    def run(steps) -> None:
        target.write_bytes(mutate(original, steps))
        probe = probe_slide(target, name)
        view = ItemView(Item("x", name, None, {}, None), PROFILE, None, probe, FileStatus(name, True))
        assert not [f for f in run_item_checks(view, checks) if f.code == CRASH_CODE]

    run()
