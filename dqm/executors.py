"""Where items are checked: this machine's processes, or a Dask cluster.

The runner hands an executor a function and the items; the executor gives back each item's result
as it finishes, as ``(index, result)``. Dask's own machinery does the work (``Client.submit`` with
the shared arguments scattered once, ``as_completed``, the scheduler's retry of tasks whose worker
died); dqm only keeps the number of tasks in flight bounded, so a million items never become a
million futures at once.

A worker that dies costs nothing: its tasks run again on another worker. An item whose task kills
a worker twice is given back as :class:`ItemKilledWorkers`, and the runner records it as that item's
crash; the run completes.

Security: Dask pickles data in the clear by default, and whoever reaches a scheduler can run code on
its workers. A scheduler on another machine must be reached over TLS (Dask's ``distributed.comm.tls``
configuration, see ``docs/scale.md``); dqm refuses a plain ``tcp://`` address that is not this
machine.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

SCHEDULER_ENV = "DQM_SCHEDULER"
"""Environment variable naming a running scheduler (``--scheduler`` wins)."""


class ExecutorError(Exception):
    """The executor cannot be used as asked (an insecure address, no Dask); the message says why."""


class ItemKilledWorkers(Exception):
    """The item's task ended the worker process running it twice (a native library crashing on one
    of its files, or the system killing it): its files were not checked."""


@dataclass(frozen=True, slots=True)
class DaskOptions:
    """How to reach or start a Dask cluster."""

    scheduler: str | None = None
    """A running scheduler's address; None starts a ``LocalCluster`` on this machine."""
    workers: int | None = None
    """Worker processes of the ``LocalCluster`` (default: one per core)."""
    in_flight_per_worker: int = 4
    """Tasks kept submitted per worker thread: enough to keep workers busy, bounded in memory."""


def is_loopback(address: str) -> bool:
    """Whether a scheduler address names this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_secure(address: str, security: Any) -> None:
    """Refuse an address off this machine unless the connection is TLS with certificates."""
    if is_loopback(address):
        return
    scheme = address.split("://", 1)[0] if "://" in address else "tcp"
    has_certs = bool(getattr(security, "tls_ca_file", None) and getattr(security, "tls_client_cert", None))
    if scheme != "tls" or not has_certs:
        raise ExecutorError(
            f"refusing to connect to {address}: a scheduler on another machine must be reached over TLS "
            "(tls://HOST:PORT, with Dask's distributed.comm.tls.ca-file and client certificate configured; "
            "see docs/scale.md). Unencrypted Dask traffic can be read, and a scheduler runs the code it is sent."
        )


@contextmanager
def dask_client(options: DaskOptions) -> Iterator[Any]:
    """A Dask client: connected to ``options.scheduler`` (or ``$DQM_SCHEDULER``), else to a
    ``LocalCluster`` of worker processes started here and closed on exit."""
    try:
        import dask
        from distributed import Client, LocalCluster
        from distributed.security import Security
    except ImportError as exc:  # pragma: no cover - dask is a dependency; a broken install says so
        raise ExecutorError(f"--executor dask needs the dask and distributed packages: {exc}") from exc
    address = options.scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address:
        security = Security()  # Dask's own configuration: distributed.comm.tls.*
        check_secure(address, security)
        client = Client(address, security=security, timeout="30s")
        try:
            yield client
        finally:
            client.close()
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    # A task whose worker dies fails at once (allowed-failures 0); the executor submits it once more,
    # so only an item that ends a worker twice is given up, and an item that merely shared a dying
    # worker runs again elsewhere.
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(
            n_workers=options.workers or cores,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: never 8787 taken by another cluster (and no warning)
            host="127.0.0.1",
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def dask_map(
    client: Any,
    func: Callable[..., Any],
    items: Sequence[Any],
    shared: tuple[Any, ...] = (),
    in_flight_per_worker: int = 4,
) -> Iterator[tuple[int, Any]]:
    """``(index, func(item, *shared))`` for every item, in the order they finish.

    ``shared`` (the profile, the configured checks, the options) is scattered to every worker once.
    At most ``in_flight_per_worker`` tasks per worker thread are submitted at a time. A task whose
    worker died is submitted once more; if that one also ends its worker, the item's result is an
    :class:`ItemKilledWorkers` instance.
    """
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    if not items:
        return
    shared_futures = client.scatter(list(shared), broadcast=True) if shared else []
    threads = max(1, sum(client.nthreads().values()))
    limit = max(1, threads * in_flight_per_worker)
    pending = iter(range(len(items)))
    index_of: dict[str, int] = {}
    tries: dict[int, int] = {}
    queue = as_completed()

    def submit(k: int) -> None:
        tries[k] = tries.get(k, 0) + 1
        future = client.submit(func, items[k], *shared_futures, pure=False)
        index_of[future.key] = k
        queue.add(future)

    for k in pending:
        submit(k)
        if len(index_of) >= limit:
            break
    for future in queue:
        k = index_of.pop(future.key)
        try:
            result = future.result()
        except (KilledWorker, FutureCancelledError) as exc:
            if tries[k] < 2:
                submit(k)
                continue
            result = ItemKilledWorkers(f"{ItemKilledWorkers.__doc__} ({type(exc).__name__})")
        finally:
            future.release()
        yield k, result
        nxt = next(pending, None)
        if nxt is not None:
            submit(nxt)
