"""Where items are checked: this machine's processes, or a Dask cluster.

The runner hands an executor a function and the items; the executor gives back each item's result
as it finishes, as ``(index, result)``. Dask's own machinery does the work (``Client.submit``,
``as_completed``, worker plugins carrying the shared arguments to every worker once, the
scheduler's handling of dead workers); dqm sends the items in chunks (:func:`chunk_size`) and
keeps the number of tasks in flight bounded, so a million items never become a million futures,
and the scheduler's cost per task is paid once per chunk.

A worker that dies costs nothing: the tasks it held run again at the end, one at a time. An item
whose task then ends its worker too is given back as :class:`ItemKilledWorkers`, and the runner
records it as that item's crash; the run completes.

An item that never ends (a decoder looping on a hostile tile, a read blocked on a dead network
filesystem) is ended by its worker: a watchdog thread in each worker process sees a task on one
item past the item limit (``item_limit_s``), tells the scheduler which item (an event under
:data:`TIMED_OUT_TOPIC`) and ends its own process, since a thread cannot be interrupted; the
nanny starts a fresh worker. The item is given back as :class:`ItemTimedOut`, the other items of
the tasks that worker held run again, and the run completes.

Security: Dask pickles data in the clear by default, and whoever reaches a scheduler can run code on
its workers. A scheduler on another machine must be reached over TLS (Dask's ``distributed.comm.tls``
configuration, see ``docs/scale.md``); dqm refuses a plain ``tcp://`` address that is not this
machine.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dqm.budget import on_progress

SCHEDULER_ENV = "DQM_SCHEDULER"
"""Environment variable naming a running scheduler (``--scheduler`` wins)."""


class ExecutorError(Exception):
    """The executor cannot be used as asked (an insecure address, no Dask); the message says why."""


class ItemKilledWorkers(Exception):
    """The item's task ended the worker process running it, also when it ran alone (a native
    library crashing on one of its files, or the system killing it): its files were not checked."""


class ItemTimedOut(Exception):
    """The item's task went past the item's wall-clock limit and its worker process was ended:
    its files were not checked."""

    def __init__(self, limit_s: float) -> None:
        super().__init__(f"the item's task went past its limit of {limit_s:g} s and its worker was ended")
        self.limit_s = limit_s


@dataclass(frozen=True, slots=True)
class DaskOptions:
    """How to reach or start a Dask cluster."""

    scheduler: str | None = None
    """A running scheduler's address; None starts a ``LocalCluster`` on this machine."""
    workers: int | None = None
    """Worker processes of the ``LocalCluster`` (default: one per core)."""
    in_flight_per_worker: int = 4
    """Tasks kept submitted per worker thread: enough to keep workers busy, bounded in memory."""
    worker_setup: Callable[[], object] | None = None
    """Called once in every worker process, including those started after a worker died."""


def _scheme_and_host(address: str) -> tuple[str, str]:
    """The scheme and host of a scheduler address as Dask splits it (``parse_address``, then
    ``parse_host_port``): the scheme before the last ``://`` (``tcp`` when there is none), the host
    in brackets or before the last ``:``. Nothing else is taken out of it (no user part after an
    ``@``, no ``#`` or ``/`` tail, no tab dropped), so what is judged is the name Dask connects to."""
    scheme, sep, loc = address.rpartition("://")
    if loc.startswith("["):
        return (scheme if sep else "tcp"), loc[1:].partition("]")[0]
    host, colon, port = loc.rpartition(":")
    return (scheme if sep else "tcp"), (host if colon else port)


def is_loopback(address: str) -> bool:
    """Whether a scheduler address names this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = _scheme_and_host(address)[1]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_secure(address: str, security: Any) -> None:
    """Refuse an address off this machine unless the connection is TLS with certificates."""
    if is_loopback(address):
        return
    scheme = _scheme_and_host(address)[0]
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
        try:
            client = Client(address, security=security, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        try:
            _register_setup(client, options.worker_setup)
            yield client
        finally:
            client.close()
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    # A task whose worker dies fails at once (allowed-failures 0); the executor runs it again alone,
    # so only an item that ends a worker by itself is given up, and an item that merely shared a
    # dying worker runs again.
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
        _register_setup(client, options.worker_setup)
        yield client


def _register_setup(client: Any, setup: Callable[[], object] | None) -> None:
    """Run ``setup`` on every worker, now and on each worker that joins later."""
    if setup is not None:
        _register(client, "dqm-worker-setup", setup)


def _register(
    client: Any,
    name: str,
    setup: Callable[..., object],
    *args: Any,
    teardown: Callable[..., object] | None = None,
) -> None:
    """A Dask worker plugin: ``setup(*args)`` on every worker, now and on each one that joins
    later (a nanny's replacement for a dead worker); ``teardown(*args)`` when it is unregistered.
    ``setup`` and ``teardown`` are module-level functions, sent by reference."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class Plugin(WorkerPlugin):
        def __init__(self) -> None:
            self.name = name

        def setup(self, worker: Any) -> None:
            setup(*args)

        def teardown(self, worker: Any) -> None:
            if teardown is not None:
                teardown(*args)

    client.register_plugin(Plugin(), name=name)


_SHARED: dict[str, tuple[Any, ...]] = {}
"""In a worker process: the shared arguments of each running :func:`dask_map`, by its token."""


_WARMED: dict[str, tuple[threading.Event, float]] = {}
"""In a worker process: per running :func:`dask_map`'s token, an event set once its warm-up has
ended, and the ``time.monotonic`` after which its tasks no longer wait for it."""
WARM_UP_WAIT_S = 600.0
"""How long after its start a worker's warm-up is waited for, once per worker and map: tasks that
start within it wait for its end before their first item; a warm-up stuck longer is left to run
beside the items (which then compile what they need in their own clocks), and no later task waits
for it."""


def _keep_shared(token: str, shared: tuple[Any, ...], prepare: Callable[..., object] | None = None) -> None:
    """A worker plugin's setup (:func:`_register`): keep the map's shared arguments and start its
    warm-up in a thread of its own. The setup runs on the worker's event loop, which talks to the
    scheduler: a warm-up there (about 2 s of CPU, seconds on a loaded machine) held a worker that
    had just joined (a nanny's replacement) from answering it meanwhile. The tasks wait for the
    warm-up before their first item's clock starts (:func:`_call_with_shared`)."""
    _SHARED[token] = shared
    if prepare is None:
        return
    done = threading.Event()
    _WARMED[token] = (done, time.monotonic() + WARM_UP_WAIT_S)

    def warm_up() -> None:
        # a warm-up that fails (a decoder missing on this node) is met by each item instead, as
        # CHECK_CRASHED, as it was without the warm-up
        try:
            with contextlib.suppress(Exception):
                prepare(*shared)
        finally:
            done.set()

    threading.Thread(target=warm_up, name=f"dqm-warm-up-{token[:8]}", daemon=True).start()


def _drop_shared(token: str, shared: tuple[Any, ...], prepare: Callable[..., object] | None = None) -> None:
    _SHARED.pop(token, None)
    _WARMED.pop(token, None)


TIMED_OUT_TOPIC = "dqm-item-timed-out"
"""The scheduler's event topic under which a worker names the item it was ended for."""
WATCH_POLL_S = 0.5
"""How often a worker's watchdog looks at the items its tasks are on."""
DELIVER_S = 30.0
"""How long a worker's watchdog waits for the scheduler to confirm its event before ending the
process anyway (the client then finds the item by its being lost twice: a crash)."""
WORKERS_WAIT_S = 300.0
"""How long a map waits on a cluster that had workers and has none left (a nanny bringing a killed
one back may take minutes on a loaded machine) before it gives up with :class:`ExecutorError`. A
cluster that has had no worker yet since the map started (a remote scheduler whose workers are
still queued, an adaptive cluster scaled to zero) is waited for as long as it takes."""
DONE_POLL_S = 0.05
"""How often a map waiting for a result looks whether one is back."""
WORKERS_POLL_S = 1.0
"""How often a map waiting for a result asks the scheduler whether it has workers."""

_RUNNING: dict[int, tuple[str, int, float, float]] = {}
"""In a worker process: by task thread, the item it is on (its ``dask_map``'s token, its index),
when it last made progress (``time.monotonic``: its start, or :func:`dqm.budget.progress`) and
its limit in seconds."""
_WATCHDOG: list[threading.Thread] = []
_WATCHDOG_LOCK = threading.Lock()


def _call_with_shared(
    func: Callable[..., Any],
    token: str,
    items: Sequence[Any],
    first: int = 0,
    limit_s: float | None = None,
) -> list[Any]:
    """``func(item, *shared)`` of each of ``items`` (indices ``first`` onwards); with ``limit_s``,
    each watched by this worker's watchdog (:func:`_watch`). The worker's warm-up for the map
    (:func:`_keep_shared`) ends first, outside every item's clock."""
    shared = _SHARED[token]
    if (warming := _WARMED.get(token)) is not None:
        # one deadline from the warm-up's start: a stuck warm-up costs the worker its wait once,
        # not each of its tasks (the wait is outside every item's clock, unseen by the watchdog)
        done, deadline = warming
        done.wait(max(0.0, deadline - time.monotonic()))
    if limit_s is None:
        return [func(item, *shared) for item in items]
    from distributed import get_worker

    _start_watchdog(get_worker())
    me = threading.get_ident()
    out = []
    try:
        for k, item in enumerate(items, first):
            _RUNNING[me] = (token, k, time.monotonic(), limit_s)
            out.append(func(item, *shared))
    finally:
        _RUNNING.pop(me, None)
    return out


def _beat() -> None:
    """The calling task thread's item made progress (:func:`dqm.budget.progress`)."""
    me = threading.get_ident()
    running = _RUNNING.get(me)
    if running is not None:
        token, k, _, limit = running
        _RUNNING[me] = (token, k, time.monotonic(), limit)


def _start_watchdog(worker: Any) -> None:
    with _WATCHDOG_LOCK:
        if not _WATCHDOG:
            on_progress(_beat)
            thread = threading.Thread(target=_watch, args=(worker,), name="dqm-item-watch", daemon=True)
            thread.start()
            _WATCHDOG.append(thread)


def _watch(worker: Any) -> None:
    """In a worker process, for ever: once a task made no progress on its item past its limit,
    name the item to the scheduler (:data:`TIMED_OUT_TOPIC`) and end the process (its nanny
    starts another)."""
    while True:
        time.sleep(WATCH_POLL_S)
        now = time.monotonic()
        stuck = [(token, k) for token, k, began, limit in list(_RUNNING.values()) if now - began > limit]
        if stuck:
            for token, k in stuck:
                _tell(worker, {"token": token, "index": k})
            os._exit(1)


def _tell(worker: Any, message: dict[str, Any]) -> None:
    """Log ``message`` under :data:`TIMED_OUT_TOPIC` on the scheduler and wait, at most
    :data:`DELIVER_S`, for it to say it has it (a worker's own ``log_event`` is sent later, on
    its loop's batched stream: a process ended meanwhile never sends it)."""
    from distributed.utils import sync

    try:
        sync(
            worker.loop,
            worker.scheduler.log_event,
            topic=TIMED_OUT_TOPIC,
            msg=message,
            callback_timeout=DELIVER_S,
        )
    except Exception:  # not confirmed: the process ends anyway, the client calls it a crash
        return


def _timed_out(client: Any, token: str) -> set[int]:
    """The indices of the items of ``token``'s map that a worker was ended for."""
    return {
        int(m["index"])
        for _, m in client.get_events(TIMED_OUT_TOPIC)
        if isinstance(m, dict) and m.get("token") == token
    }


MAX_CHUNK = 256
"""The most items one task carries."""


def chunk_size(n_items: int, slots: int) -> int:
    """Items per task: about eight tasks per worker slot, so the work stays balanced as tasks
    finish unevenly, yet a large batch pays the per-task overhead (the pool's pickling, the Dask
    scheduler's bookkeeping) once per chunk instead of once per item."""
    return max(1, min(MAX_CHUNK, n_items // (max(1, slots) * 8)))


def dask_map(
    client: Any,
    func: Callable[..., Any],
    items: Sequence[Any],
    shared: tuple[Any, ...] = (),
    in_flight_per_worker: int = 4,
    chunk: int | None = None,
    item_limit_s: float | None = None,
    prepare: Callable[..., object] | None = None,
) -> Iterator[tuple[int, Any]]:
    """``(index, func(item, *shared))`` for every item, in the order they finish.

    ``shared`` (the profile, the configured checks, the options) goes to every worker once.
    Each task carries ``chunk`` consecutive items (default :func:`chunk_size`); at most
    ``in_flight_per_worker`` tasks per worker thread are submitted at a time. The tasks a dying
    worker held fail with it (``distributed.scheduler.allowed-failures`` 0): their items run
    again at the end, one item per task, one task at a time, and an item whose task then ends its
    worker too (twice: :func:`_alone`) is given back as an :class:`ItemKilledWorkers` instance.
    With ``item_limit_s``, an item whose task makes no progress on it for longer (no
    :func:`dqm.budget.progress` said meanwhile) ends its worker (:func:`_watch`) and
    is given back as an :class:`ItemTimedOut` instance, never run again; the rest of the tasks
    that worker held run again as above. On a cluster whose scheduler allows a lost task to be
    retried (``distributed.scheduler.allowed-failures``, 3 by default; dqm's LocalCluster: 0),
    such a task is first retried on other workers, each ended in turn.

    ``prepare(*shared)`` (a module-level function) runs in each worker once it has the shared
    arguments, before any item: what a first item would otherwise do in its clock. A cluster
    left with no worker for :data:`WORKERS_WAIT_S` ends the map with :class:`ExecutorError`.
    """
    if not items:
        return
    # The shared arguments travel in a worker plugin, not as scattered data: the scheduler hands
    # the plugin to every worker, including one that replaces a dead worker, whereas scattered
    # data dies with the last worker holding it (and every task needing it fails with it).
    token = uuid.uuid4().hex
    name = f"dqm-shared-{token}"
    _register(client, name, _keep_shared, token, tuple(shared), prepare, teardown=_drop_shared)
    try:
        yield from _waves(client, func, items, token, in_flight_per_worker, chunk, item_limit_s)
    finally:
        client.unregister_worker_plugin(name)


def _waves(
    client: Any,
    func: Callable[..., Any],
    items: Sequence[Any],
    token: str,
    in_flight_per_worker: int,
    chunk: int | None,
    limit_s: float | None,
) -> Iterator[tuple[int, Any]]:
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    threads = max(1, sum(client.nthreads().values()))
    limit = max(1, threads * in_flight_per_worker)
    size = chunk or chunk_size(len(items), threads)
    pending = iter(range(0, len(items), size))
    start_of: dict[str, int] = {}
    queue = as_completed()
    lost = (KilledWorker, FutureCancelledError)

    def submit(start: int) -> Any:
        future = client.submit(
            _call_with_shared, func, token, items[start : start + size], start, limit_s, pure=False
        )
        start_of[future.key] = start
        queue.add(future)
        return future

    for start in pending:
        submit(start)
        if len(start_of) >= limit:
            break
    suspects: list[int] = []
    workers = _Workers(client)  # one for the whole map: it remembers having seen a worker
    while (future := _next_done(workers, queue)) is not None:
        start = start_of.pop(future.key)
        try:
            # bounded too: a future done when it was picked may be pending again, its result lost
            # with the worker that held it (to be recomputed elsewhere, or never, on no worker)
            yield from enumerate(_result(workers, future), start)
        except lost:
            # every task the dead worker held fails with it, not only the one that killed it
            suspects.extend(range(start, min(start + size, len(items))))
        finally:
            future.release()
        nxt = next(pending, None)
        if nxt is not None:
            submit(nxt)
    timed_out = _timed_out(client, token) if suspects and limit_s is not None else set()
    for k in suspects:  # alone on the cluster, a task that ends its worker names its item
        if k in timed_out:
            assert limit_s is not None
            yield k, ItemTimedOut(limit_s)
        else:
            yield k, _alone(client, func, items[k], token, lost, k, limit_s, workers)


class _Workers:
    """Whether a cluster still has workers, asked at most every :data:`WORKERS_POLL_S`: none for
    :data:`WORKERS_WAIT_S` raises :class:`ExecutorError`."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.asked = time.monotonic()
        self.none_since: float | None = None
        self.seen = bool(client.nthreads())

    def check(self) -> None:
        now = time.monotonic()
        if now - self.asked < WORKERS_POLL_S:
            return
        self.asked = now
        if self.client.nthreads():
            self.none_since = None
            self.seen = True
            return
        if not self.seen:  # no worker yet: one may still be queued
            return
        if self.none_since is None:
            self.none_since = now
        elif now - self.none_since > WORKERS_WAIT_S:
            raise ExecutorError(
                f"the Dask cluster lost its workers and has had none for {WORKERS_WAIT_S:g} s (none "
                "came back): the run cannot go on"
            )


def _next_done(workers: _Workers, queue: Any) -> Any:
    """The next future of ``queue`` (a ``distributed.as_completed``) that is done, None when it
    holds no more; waiting for ever on a cluster whose workers are gone is :class:`ExecutorError`."""
    while not queue.is_empty():
        if queue.has_ready():
            return next(queue)
        time.sleep(DONE_POLL_S)
        workers.check()
    return None


def _result(workers: _Workers, future: Any) -> Any:
    """``future.result()``, raising :class:`ExecutorError` rather than waiting for ever on a
    cluster whose workers are gone."""
    from distributed import TimeoutError as DaskTimeout

    while True:
        try:
            return future.result(timeout=WORKERS_POLL_S)
        except (TimeoutError, DaskTimeout):
            workers.check()


def _alone(
    client: Any,
    func: Callable[..., Any],
    item: Any,
    token: str,
    lost: tuple[type[BaseException], ...],
    k: int = 0,
    limit_s: float | None = None,
    workers: _Workers | None = None,
) -> Any:
    """One item (index ``k``) in a task of its own, tried twice: a task lost once may only have
    met a worker that was still being replaced (a busy machine); lost twice, the item ends its
    worker itself. Lost because its worker was ended past ``limit_s``: :class:`ItemTimedOut`."""
    lost_as = ""
    for _ in range(2):
        future = client.submit(_call_with_shared, func, token, [item], k, limit_s, pure=False)
        try:
            (result,) = _result(workers or _Workers(client), future)
            return result
        except lost as exc:
            lost_as = type(exc).__name__
            if limit_s is not None and k in _timed_out(client, token):
                return ItemTimedOut(limit_s)
        finally:
            future.release()
    why = " ".join((ItemKilledWorkers.__doc__ or "").split())  # one line in the finding
    return ItemKilledWorkers(f"{why} ({lost_as})")
