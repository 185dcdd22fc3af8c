"""A Dask worker's warm-up (``dask_map``'s ``prepare``) runs in a thread of its own, not on the
worker's event loop (which answers the scheduler: a worker that had just joined was held from it
for the warm-up's seconds), and the first item still starts after it, outside its clock."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from dqm.executors import DaskOptions, _keep_shared, _register, dask_client, dask_map
from tests.helpers import within

pytestmark = [pytest.mark.slow]

WARM_S = 8.0
_WARMED: list[float] = []


def slow_warm_up(seconds: float) -> None:
    time.sleep(seconds)
    _WARMED.append(time.monotonic())


def warmed_before(item: int, seconds: float) -> bool:
    return bool(_WARMED)


def stuck_warm_up(seconds: float) -> None:
    time.sleep(300)  # a warm-up that does not end while the map runs (a hung mount)


def ran_at(item: int, seconds: float) -> float:
    return time.monotonic()


def shorten_the_wait(seconds: float) -> None:
    import dqm.executors

    dqm.executors.WARM_UP_WAIT_S = seconds


@pytest.fixture
def own_client():
    with dask_client(DaskOptions(workers=1)) as c:
        yield c


def test_the_warm_up_leaves_the_worker_s_event_loop_free(own_client) -> None:
    with within(120):
        # the worker imports this module (the plugin's functions) once, outside the timing
        first = uuid.uuid4().hex
        _register(own_client, f"dqm-shared-{first}", _keep_shared, first, (0.0,), slow_warm_up)
        own_client.unregister_worker_plugin(f"dqm-shared-{first}")
        token = uuid.uuid4().hex
        began = time.monotonic()
        _register(own_client, f"dqm-shared-{token}", _keep_shared, token, (WARM_S,), slow_warm_up)
        own_client.run(os.getpid)  # run on the worker's event loop
        answered = time.monotonic() - began
        own_client.unregister_worker_plugin(f"dqm-shared-{token}")
    assert answered < WARM_S / 2


def test_the_first_item_starts_after_the_warm_up_outside_its_clock(own_client) -> None:
    with within(180):
        got = dict(
            dask_map(
                own_client, warmed_before, list(range(4)), (WARM_S,), prepare=slow_warm_up, item_limit_s=3
            )
        )
    assert got == dict.fromkeys(range(4), True)


def test_a_stuck_warm_up_is_waited_for_once_per_worker_not_by_each_task(own_client) -> None:
    wait_s = 3.0  # base: 5 more waits, 15 s; now only dispatch between the items
    with within(180):
        own_client.run(shorten_the_wait, wait_s)
        # one task per item on the one single-threaded worker: each task came to the wait in turn
        got = dict(dask_map(own_client, ran_at, list(range(6)), (0.0,), prepare=stuck_warm_up, chunk=1))
    # the worker's monotonic clock is the system's: the items' spread is the tasks' waits after the first
    spread = max(got.values()) - min(got.values())
    assert spread < wait_s * 2, f"items ran over {spread:.1f} s: later tasks waited for the warm-up again"
