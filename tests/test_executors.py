"""The Dask executor on a real LocalCluster of two worker processes: same results as a plain map,
a worker killed mid-run costs nothing, an item that kills its workers is reported, not fatal."""

from __future__ import annotations

import os
import signal
import time

import pytest

from dqm.executors import DaskOptions, ExecutorError, ItemKilledWorkers, check_secure, dask_client, dask_map

pytestmark = pytest.mark.slow


def square(item: int, offset: int) -> int:
    time.sleep(0.05)
    return item * item + offset


def slow_square(item: int, offset: int) -> int:
    time.sleep(0.3)
    return item * item + offset


def poisoned(item: int, offset: int) -> int:
    if item == 7:
        os._exit(3)  # a native crash: the worker process ends without a word
    return item + offset


@pytest.fixture(scope="module")
def client():
    with dask_client(DaskOptions(workers=2)) as c:
        yield c


def test_results_match_a_plain_map_whatever_the_finishing_order(client) -> None:
    items = list(range(40))
    got = dict(dask_map(client, square, items, shared=(5,), in_flight_per_worker=2))
    assert got == {k: square(k, 5) for k in items}


def test_a_worker_killed_mid_run_costs_nothing(client) -> None:
    items = list(range(16))
    got: dict[int, int] = {}
    for k, result in dask_map(client, slow_square, items, shared=(1,)):
        got[k] = result
        if len(got) == 2:
            pid = next(iter(client.run(os.getpid).values()))
            os.kill(pid, signal.SIGKILL)  # one worker process dies with tasks in hand
    assert got == {k: k * k + 1 for k in items}


def test_an_item_that_kills_its_workers_is_reported_and_the_rest_complete(client) -> None:
    got = dict(dask_map(client, poisoned, list(range(12)), shared=(100,)))
    assert isinstance(got.pop(7), ItemKilledWorkers)
    assert got == {k: k + 100 for k in range(12) if k != 7}
    client.wait_for_workers(2, timeout=30)  # the nannies bring the dead workers back


@pytest.mark.parametrize(
    "address",
    ["tcp://10.1.2.3:8786", "192.168.0.4:8786", "tls://scheduler.example:8786", "tcp://[2001:db8::1]:8786"],
)
def test_a_scheduler_off_this_machine_needs_tls_with_certificates(address: str) -> None:
    class NoCerts:
        tls_ca_file = None
        tls_client_cert = None

    with pytest.raises(ExecutorError, match="must be reached over TLS"):
        check_secure(address, NoCerts())


def test_this_machine_needs_no_tls_and_tls_with_certificates_is_accepted() -> None:
    class Certs:
        tls_ca_file = "ca.pem"
        tls_client_cert = "client.pem"

    for address in ("tcp://127.0.0.1:8786", "localhost:8786", "tcp://[::1]:8786"):
        check_secure(address, None)
    check_secure("tls://scheduler.example:8786", Certs())
