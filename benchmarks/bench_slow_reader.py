"""Whether the review server's slow-read rule cuts an honest slow reader of an answer of a given size.

    .venv/bin/python benchmarks/bench_slow_reader.py --size 4000000 --rate 2000 --seconds 75
    .venv/bin/python benchmarks/bench_slow_reader.py --size 1000000 --rate 2000 --write-seconds 1 --seconds 8

Serves an answer of ``--size`` bytes (sent in 64 KiB pieces, as StaticFiles sends a file) through
the guarded protocol of ``dqm review serve`` (:func:`~dqm.semantic.server.guard.guarded_protocol`,
its slow-read clock ``--write-seconds``, 30 by default) on a loopback port, and reads it with one
client at ``--rate`` bytes a second for ``--seconds``; prints how much it read and whether the
server counted the connection as stalled (cut). Over loopback (Linux 6.x, tcp_rmem 131072):
4 MB at 2 kB/s is cut at 30 s, at 4 kB/s it is not; 1 MB at 2 kB/s is not cut even with a 1 s
clock (the whole answer fits in the kernels' buffers)."""

from __future__ import annotations

import argparse
import socket
import threading
import time
from typing import Any


def main() -> None:
    import uvicorn

    from dqm.semantic.server.guard import WRITE_SECONDS, guarded_protocol

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=4_000_000)
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--seconds", type=float, default=75.0)
    parser.add_argument("--write-seconds", type=float, default=WRITE_SECONDS)
    args = parser.parse_args()
    size = args.size

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % size)]}
        )
        for start in range(0, size, 65536):
            chunk = min(65536, size - start)
            await send(
                {"type": "http.response.body", "body": b"x" * chunk, "more_body": start + chunk < size}
            )

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    protocol = guarded_protocol(False, write_seconds=args.write_seconds)
    server = uvicorn.Server(uvicorn.Config(app, http=protocol, log_level="error", lifespan="off"))
    threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    client = socket.create_connection(listener.getsockname(), timeout=60)
    client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    got, started, closed = 0, time.monotonic(), ""
    while time.monotonic() - started < args.seconds and got < size:
        try:
            data = client.recv(max(1, int(args.rate / 10)))
        except ConnectionResetError:
            closed = "reset"
            break
        if not data:
            closed = "closed"
            break
        got += len(data)
        time.sleep(len(data) / args.rate)
    # the counts are zeroed when the guard logs them: "logged" is there once it logged a cut (the
    # request is whole at once, so the one cut it can count here is a stalled read)
    stalled = int(protocol.counts.get("stalled", 0)) or (1 if "logged" in protocol.counts else 0)
    print(
        f"answer {size:,} B, read at {args.rate:,.0f} B/s, clock {args.write_seconds:g} s: read {got:,} B in "
        f"{time.monotonic() - started:.1f} s; cut: {'yes' if stalled or closed else 'no'} {closed}".rstrip()
    )
    server.should_exit = True


if __name__ == "__main__":
    main()
