"""Connection limits of the review server: uvicorn's HTTP/1.1 protocol (h11) with a deadline for
each request and bounds on the connections it holds.

uvicorn (0.55) times out only an idle keep-alive connection: a client that opens a connection and
sends nothing, or one header byte every few seconds (slowloris), or a body it never finishes, holds
its connection, a file descriptor and its buffers for as long as it likes, and a few hundred such
clients hold every descriptor the process has. Its ``limit_concurrency`` does not help: it answers
503 to the *complete* requests that arrive while too many connections are open, so it turns the
attackers' connections into refusals of the reviewers' requests.

:func:`guarded_protocol` makes the protocol class ``dqm review serve`` gives uvicorn (its ``http``
option):

* a request (its headers and its body) must arrive whole within :data:`REQUEST_SECONDS` of its first
  byte, or of the connection's opening for the first request: past it the server answers 408 and
  closes the connection (nginx's ``client_header_timeout`` / ``client_body_timeout``);
* a client that reads nothing of an answer for :data:`WRITE_SECONDS` while some of it is still to
  be sent (a "slow read": it asks for tiles and never takes them) is cut off, with what was
  buffered for it; the clock looks again every :data:`WRITE_SECONDS`, so a client that reads
  slowly but steadily is not (what the server sees move is the socket's send queue, which a
  client's kernel takes in steps when its receive window opens: on loopback a reader at 100 kB/s
  showed no move for over 1 s, one at 400 kB/s did; a reader needs a few kB/s against 30 s). An
  answer that fits in the kernels' buffers (about 1 MB over loopback: every answer of a review
  page, the largest OpenSeadragon's 352 kB) leaves nothing in the transport's buffer: its reader
  is never cut, however slowly it reads (a 2 kB/s reader of a 4 MB answer over loopback was);
* at most :data:`PER_CLIENT` connections are open from one client (its address, or the /64 network
  of an IPv6 one: :func:`~dqm.semantic.server.auth.sign_in_key`; not behind a reverse proxy, whose
  connections all come from 127.0.0.1): a connection past the bound is answered 503 with
  ``Retry-After`` as soon as it is made, before it is read;
* at most :data:`MAX_CONNECTIONS` in all: past it the oldest connection whose request is
  unfinished is closed (408) to make room, and only where there is none is the new one answered
  503. A client at many addresses that finishes its requests and keeps its connections busy can
  still hold every place for as long as it keeps that up;
* a request whose body is over :data:`~dqm.semantic.server.app.MAX_BODY` is refused by the
  application with 413 before its body is read, and the connection is closed
  (:class:`~dqm.semantic.server.app.SecurityHeaders`);
* over TLS, the handshake must end within :data:`HANDSHAKE_SECONDS` of the connection's opening
  (:class:`GuardedServer`): asyncio's default gave a client that connects and sends nothing 60 s,
  and the protocol above (its deadline, its bounds) sees a connection only once its handshake is
  done;
* over TLS, at most :data:`HANDSHAKES_PER_CLIENT` handshakes are unfinished at once from one client
  (as :data:`PER_CLIENT` counts it; no bound behind a reverse proxy): a connection past it is
  closed as soon as it is accepted; and at most :data:`HANDSHAKES_AT_ONCE` in all: past it a
  handshake is ended to make room for the new connection (:meth:`Handshakes._victim`): one from
  a network no reviewer was seen signed in from where there is one (a reviewer's network: an
  IPv4 /24 or IPv6 /56 where a request proved a session or a sign-in within
  :data:`SIGNED_IN_SECONDS`, :data:`SIGNED_IN_NETWORKS` kept at most; of its handshakes a burst,
  of all reviewers' networks' half the places, count as a reviewer's, the rest as any other's,
  and a network holding its burst gives one up to a newcomer from an address holding fewer
  than :data:`HANDSHAKES_PROTECTED_PER_ADDRESS` there (another address's silent one) or fewer
  than the address holding the most (:meth:`Handshakes._protected`):
  anyone in such a network, a client with no account behind a campus's NAT or in a hosting /24,
  held every place with 16 addresses, and every new connection from elsewhere was refused),
  and of those one of the
  network holding the most unfinished of those holding more than :data:`HANDSHAKES_PER_CLIENT` (a
  burst: a browser's six connections at once, reviewers behind one NAT address), the widest first
  (an IPv4 /16, in it the /24, then the address; an IPv6 /32, /48, /56, then /64), its oldest;
  where no network holds more, the oldest handshake whose client has sent nothing (read, or
  waiting in the kernel's buffer: :func:`spoke`), else the
  oldest. Ending the oldest alone (the usual defence against slowloris), a client at 16 addresses
  of one /16 sending one byte on each connection ended a reviewer's handshake under way by opening
  256 connections while it took (a reviewer 0.5 s away: 512 connections a second); now it ends
  only its own, however fast it connects. Ending one of the network holding the most, even within
  a burst, let a client holding one silent handshake in each of 64 /16s end a reviewer's six
  begun at once (as it replaces them at the :data:`HANDSHAKE_SECONDS` limit: 26 connections a
  second); silent ones go first again. A client at 16 or more /16s sending a byte on each
  connection, 256 of them while a reviewer's handshake takes, ended it (its networks within a
  burst, so age decides): it still does for a reviewer never signed in from that network (a
  first sign-in, a new place), never for one who was (unless the flood comes from the
  reviewer's own /24 or /56 where a client holds protected places from three or more
  addresses, each sending a byte: a network's burst is shared by its addresses, a newcomer
  from one holding fewer taking the place of the newest handshake of the one holding the most,
  so three leave the reviewer's browser 4 of its six, 15 one; or from 8 or more
  reviewers' networks, a burst each, where the reviewers' half of the places is full and a
  reviewer's new handshake shares the other half by age). A completed handshake makes no network a
  reviewer's: anyone can complete one, and a flood that had would outrank every reviewer not yet
  signed in. A ClientHello not yet read (the
  connection accepted in the same turn of the event loop as the next ones) looked silent and
  was ended first; it is peeked now. A
  connection whose handshake is done is never ended for this, nor counted (:class:`Handshakes`).
  An ended handshake gives its descriptor back once the event loop has seen it closed; while
  :data:`HANDSHAKES_CLOSING` are still closing (a burst accepted in one go), no new connection is
  accepted (it waits in the kernel's queue for the loop's next turn), so handshakes hold at most
  :data:`HANDSHAKES_AT_ONCE` + :data:`HANDSHAKES_CLOSING` descriptors. Without these bounds a
  client opening connections that never finish the handshake held a descriptor each for
  :data:`HANDSHAKE_SECONDS`, as many as it could open, out of the per-client and overall bounds
  above (which count a connection once its handshake is done); past :data:`HANDSHAKES_AT_ONCE`
  new connections were refused, so one client at many addresses kept every reviewer out.

Closed connections are counted and logged at most once a minute (an attack would flood the log).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import errno
import logging
import operator
import socket
import struct
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from dqm.i18n import N_, msg
from dqm.semantic.server.auth import IDLE_SECONDS, SIGNED_IN, sign_in_key

try:
    from fcntl import ioctl
    from termios import TIOCOUTQ
except ImportError:  # not on Linux or another Unix: the process's buffer only
    ioctl = TIOCOUTQ = None  # type: ignore[assignment,misc]

REQUEST_SECONDS = 10.0
"""Seconds a client has to send a whole request (64 KiB at most: 6.4 KB/s is enough)."""
MAX_CONNECTIONS = 512
"""Connections open at once (a browser opens six per server; the process has 1,024 descriptors
by default, and tiles need some for the slides)."""
PER_CLIENT = 48
"""Connections open at once from one client address (a browser opens six per server: room for
several reviewers behind one address)."""
WRITE_SECONDS = 30.0
"""Seconds an answer may wait for the client to read any of it (uvicorn waits for ever)."""
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 10\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
)
"""The answer to a connection past the bounds, before it is read (a reset told the client nothing)."""
LOG_EVERY = 60.0
"""Seconds between two log lines about closed connections."""
HANDSHAKE_SECONDS = REQUEST_SECONDS
"""Seconds a client has to finish the TLS handshake (asyncio's default: 60)."""
HANDSHAKES_PER_CLIENT = 16
"""TLS handshakes one client address may have unfinished at once (a browser opens six connections
to a server at once, and a handshake on a working link takes milliseconds: room for several
reviewers behind one address starting together)."""
HANDSHAKES_AT_ONCE = MAX_CONNECTIONS // 2
"""TLS handshakes unfinished at once from all clients together (each holds a descriptor; with
:data:`MAX_CONNECTIONS` made connections and :data:`HANDSHAKES_CLOSING` they stay below the
process's 1,024): past it one is ended (:meth:`Handshakes._victim`)."""
HANDSHAKES_CLOSING = HANDSHAKES_AT_ONCE // 4
"""Handshakes ended to make room (:data:`HANDSHAKES_AT_ONCE`) that may be closing at once: their
descriptors are given back as the event loop next turns; a connection accepted while this many
are closing is closed at once (asyncio accepts up to the listening backlog, 2,048, in one go)."""
HANDSHAKES_PROTECTED_PER_ADDRESS = 6
"""A browser's connections to a server at once: an address (an IPv4 address, an IPv6 /64) holding
fewer of its reviewer's network's protected handshakes (:meth:`Handshakes._protected`) may take
the place of another address's silent one where the network holds its burst."""
SIGNED_IN_NETWORKS = 1024
"""Networks (an IPv4 /24, an IPv6 /56) a reviewer was seen signed in from that
:class:`Handshakes` keeps (bounded memory; only a request with a valid session or token adds
one): past it, the one seen longest ago is forgotten."""
SIGNED_IN_SECONDS = float(IDLE_SECONDS)
"""Seconds a network stays a reviewer's after its last signed-in request (a session's idle time)."""
_PEEK = socket.MSG_PEEK | getattr(socket, "MSG_DONTWAIT", 0)


LOGGED_CHARS = 300
"""Characters of one client-supplied value (a path, an address) a log line keeps."""
LOGGERS = ("uvicorn.access", "uvicorn.error")


class SafeLog(logging.Filter):
    """What the server logs, made safe and in its language: each text argument of a record (the
    access log's path and query, the client's address; a forwarded one behind a proxy) escaped
    (:func:`~dqm.output.visible`: no terminal escape, carriage return, line break or bidi control
    reaches the console or a log file; h11 already refuses control characters in a request
    line, not bytes 0x80-0xFF in a header) and clipped to :data:`LOGGED_CHARS` (a request
    target may be 16 KiB: one line each); a message of dqm's (:func:`~dqm.i18n.msg`, the guard's
    count of closed connections) rendered in ``lang``, as the rest of the command line."""

    def __init__(self, lang: str = "en") -> None:
        super().__init__()
        self.lang = lang

    def filter(self, record: logging.LogRecord) -> bool:
        from dqm.findings import clip
        from dqm.i18n import Message
        from dqm.output import visible

        if isinstance(record.msg, Message):
            record.msg = record.msg.rendered(self.lang)
        if isinstance(record.args, tuple):
            record.args = tuple(
                clip(visible(a, newlines=False), LOGGED_CHARS) if isinstance(a, str) else a
                for a in record.args
            )
        return True


def safe_logs(lang: str) -> None:
    """Put a :class:`SafeLog` in ``lang`` on uvicorn's loggers, in place of one put there before."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, SafeLog)]:
            logger.removeFilter(old)
        logger.addFilter(SafeLog(lang))


def networks(address: Any) -> tuple[Any, ...]:
    """The networks a client's address is in, widest first, that :class:`Handshakes` shares its
    places by: an IPv4 address's /16 and /24 networks and the address, an IPv6 one's /32, /48, /56
    (a customer's, 256 in an ISP's /48) and /64 (the last as
    :func:`~dqm.semantic.server.auth.sign_in_key` counts a client: an IPv4 address mapped into
    IPv6 is the IPv4 address); anything else (a test client's name) alone."""
    import ipaddress

    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    except ValueError:
        return (str(address),)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    bits, prefixes = (32, (16, 24, 32)) if ip.version == 4 else (128, (32, 48, 56, 64))
    return tuple((ip.version, n, int(ip) >> (bits - n)) for n in prefixes)


def reviewers_network(nets: tuple[Any, ...]) -> Any:
    """The network of :func:`networks` that :meth:`Handshakes.signed_in` keeps as a reviewer's: an
    IPv4 /24 (a NAT's pool, a lab), an IPv6 /56 (a customer's: its /64s and addresses change)."""
    return nets[-2] if len(nets) > 1 else nets[0]


def spoke(sock: socket.socket) -> bool:
    """Whether the client of ``sock`` has sent a byte: read already (an :class:`_Accepted` notes
    it as asyncio's transport reads) or waiting in the kernel's buffer (peeked, not taken; a
    connection accepted in the same turn as the next ones has not been read yet: a reviewer's
    ClientHello looked silent and was ended first)."""
    if getattr(sock, "heard", False):
        return True
    try:
        return bool(sock.recv(1, _PEEK))  # an _Accepted's recv notes it
    except OSError:  # nothing yet (BlockingIOError), or reset
        return False


class _Holders:
    """The unfinished handshakes (not being ended) of one network, oldest first, and of each
    narrower network in it (:func:`networks`)."""

    __slots__ = ("members", "parts")

    def __init__(self) -> None:
        self.members: dict[tuple[Any, Any], int] = {}
        """Each handshake's key (:attr:`Handshakes.pending`) → when it was admitted (a count)."""
        self.parts: dict[Any, _Holders] = {}


class Handshakes:
    """The TLS handshakes under way, by client (:func:`~dqm.semantic.server.auth.sign_in_key` of
    its address): :meth:`admit` when a connection is accepted, :meth:`done` when its handshake has
    ended, either way (the application's protocol sees the connection, or the socket is closed).
    Past ``at_once`` unfinished, :meth:`admit` ends one (:meth:`_victim`), its socket shut down
    (asyncio's transport reads its end, fails the handshake and closes it, which says
    :meth:`done`).
    Everything runs on the event loop's thread."""

    def __init__(
        self,
        per_client: int | None = HANDSHAKES_PER_CLIENT,
        at_once: int = HANDSHAKES_AT_ONCE,
        closing: int = HANDSHAKES_CLOSING,
        burst: int = HANDSHAKES_PER_CLIENT,
        signed_networks: int = SIGNED_IN_NETWORKS,
        clock: Callable[[], float] = time.monotonic,
        reviewers_at_once: int | None = None,
        per_address: int = HANDSHAKES_PROTECTED_PER_ADDRESS,
    ) -> None:
        self.per_client = per_client
        self.at_once = at_once
        self.reviewers_at_once = at_once // 2 if reviewers_at_once is None else reviewers_at_once
        """Unfinished handshakes :attr:`reviewers` holds at most (half the places by default): past
        it a connection from a reviewer's network counts as any other (:meth:`_protected`)."""
        self.closing_at_once = closing
        self.burst = burst
        """Unfinished handshakes a network may hold and count as any other (:meth:`_victim`): a
        browser's connections at once, several reviewers' behind one address."""
        self.per_address = per_address
        """Of a reviewer's network's protected handshakes, fewer than those held by one address
        (the last of :func:`networks`) let it take another address's silent one where the network
        holds :attr:`burst` (:meth:`_protected`)."""
        self.pending: dict[tuple[Any, Any], tuple[str, socket.socket]] = {}
        """The local and peer addresses (as accepted) of each connection whose handshake is under
        way → its client and socket, oldest first. Both, for the peer address alone is not one
        connection's: a client reusing a source port for two addresses of the server (``0.0.0.0``
        on a host with several) has two connections from it."""
        self.by_client: dict[str, int] = {}
        self.holders = _Holders()
        """The keys of :attr:`pending` not being ended and not in :attr:`reviewers`, by network
        (:func:`networks`): ended first (:meth:`_victim`)."""
        self.reviewers = _Holders()
        """The keys of :attr:`pending` not being ended from a reviewer's network (as
        :meth:`signed_in` says) within its bounds (:meth:`_protected`), by network."""
        self.networks: dict[tuple[Any, Any], tuple[Any, ...]] = {}
        """The networks of each key in :attr:`holders` or :attr:`reviewers`."""
        self.of_reviewers: set[tuple[Any, Any]] = set()
        """The keys in :attr:`reviewers`."""
        self.signed_networks = signed_networks
        self.clock = clock
        """When a network was seen signed in, and how long ago (:data:`SIGNED_IN_SECONDS`)."""
        self.signed: OrderedDict[Any, float] = OrderedDict()
        """A reviewer's networks (:func:`reviewers_network`) → when a request of theirs last proved
        a session (:meth:`signed_in`), the longest ago first; :attr:`signed_networks` at most."""
        self.admitted = 0
        """Handshakes admitted so far (their order in :attr:`holders`)."""
        self.closing: set[tuple[Any, Any]] = set()
        """The keys of :attr:`pending` whose handshakes were ended to make room, not yet closed."""
        self.refused = 0
        """New connections closed since the last log line."""
        self.dropped = 0
        """Handshakes ended to make room since the last log line."""
        self.logged = -LOG_EVERY

    def admit(self, peer: Any, sock: socket.socket, local: Any = None) -> bool:
        """Whether the connection from ``peer`` to ``local`` (its socket ``sock``) may start its
        handshake (counted if so), another ended where all places are taken (:meth:`_victim`)."""
        address = peer[0] if isinstance(peer, tuple) and peer else str(peer)
        client = sign_in_key(address) if isinstance(peer, tuple) and peer else address
        if self.per_client is not None and self.by_client.get(client, 0) >= self.per_client:
            return self._refused()
        if self.jammed():  # ended ones still hold their descriptors (:class:`_Listening` waits)
            return self._refused()
        full = len(self.pending) - len(self.closing) >= self.at_once
        key = (local, peer)
        self.pending[key] = (client, sock)
        self.by_client[client] = self.by_client.get(client, 0) + 1
        self.admitted += 1
        nets = networks(address)
        self._hold(key, nets, self.admitted, self._reviewers(nets) and self._protected(nets))
        if full:
            victim = self._victim(key)
            if victim == key:  # none other to end (a bound of 0)
                self.done(peer, local)
                return self._refused()
            self._end(victim)
        return True

    def jammed(self) -> bool:
        """Whether every place is taken and :attr:`closing_at_once` ended handshakes are still
        closing: no room can be made until the event loop has closed some."""
        full = len(self.pending) - len(self.closing) >= self.at_once
        return full and len(self.closing) >= self.closing_at_once

    def signed_in(self, address: Any) -> None:
        """A request from ``address`` proved a reviewer's session or signed in: its network
        (:func:`reviewers_network`) is a reviewer's for :data:`SIGNED_IN_SECONDS`, its handshakes
        admitted from now on ended only where no other's can be (:meth:`_victim`)."""
        site = reviewers_network(networks(address))
        self.signed[site] = self.clock()
        self.signed.move_to_end(site)
        if len(self.signed) > self.signed_networks:
            self.signed.popitem(last=False)

    def _reviewers(self, nets: tuple[Any, ...]) -> bool:
        """Whether ``nets`` (:func:`networks`) are a reviewer's, as :meth:`signed_in` last said."""
        seen = self.signed.get(reviewers_network(nets))
        return seen is not None and self.clock() - seen <= SIGNED_IN_SECONDS

    def _protected(self, nets: tuple[Any, ...]) -> bool:
        """Whether a connection from the reviewer's network of ``nets`` (:func:`networks`) may join
        :attr:`reviewers`: while all of them hold fewer than :attr:`reviewers_at_once` and its
        network (:func:`reviewers_network`) fewer than :attr:`burst` there. Where that network
        holds its burst already and its address (the last of ``nets``) holds fewer than
        :attr:`per_address` there or fewer than another address, the network's oldest handshake
        from another address whose client has sent nothing (:func:`spoke`) is moved to
        :attr:`holders` to make room; where none is silent and its address holds fewer than the
        address holding the most, that address's newest is; else the connection counts as any
        other (:attr:`holders`: ended first, its network's most first). Without the bounds
        anyone in a network where a reviewer signed in (a NAT's pool, a campus, a hosting /24, a
        relay) held every place with 16 addresses, and a new connection from anywhere else was
        refused (a reviewer's first sign-in, one at a new place: 0 of 20 admitted, 20 before
        networks were a reviewer's); and a flood from 16 reviewers' networks, each within its
        burst, did the same. With the burst alone, first come, one address's 16 connections
        there (no account needed, silent or sending a byte) held all of the network's places,
        and a flood of a byte a connection from 32 /16s then ended the reviewer's own six; with
        :attr:`per_address` a cap, two reviewers behind one address kept 6 of their 12, and a
        client with two addresses, a byte each, left the reviewer 4 of 6. A handshake of the
        newcomer's own address is not given up: it would only move the newcomer's address's
        place, and a browser's six, silent until their ClientHellos are read, each gave up the
        one before."""
        if len(self.reviewers.members) >= self.reviewers_at_once:
            return False
        site = reviewers_network(nets)
        node: _Holders | None = self.reviewers
        held = None
        for net in nets:
            node = node.parts.get(net) if node is not None else None
            if net == site:
                held = node
        if held is None or len(held.members) < self.burst:
            return True
        mine = len(node.members) if node is not None else 0
        most = max(held.parts.values(), key=lambda part: len(part.members), default=held)
        if mine < self.per_address or mine < len(most.members):
            for key in held.members:
                if (node is None or key not in node.members) and self._silent(key):
                    self._demote(key)
                    return True
        if mine < len(most.members):
            self._demote(next(reversed(most.members)))
            return True
        return False

    def _demote(self, key: tuple[Any, Any]) -> None:
        """Move ``key`` from :attr:`reviewers` to :attr:`holders`, in its place by age there (each
        network's members oldest first, as :meth:`_victim` reads them)."""
        nets, order = self.networks[key], self.reviewers.members[key]
        self._release(key)
        self._hold(key, nets, order, False)
        node = self.holders
        for net in (None, *nets):  # appended last: put back in its place where a newer one is held
            node = node if net is None else node.parts[net]
            items = list(node.members.items())
            if len(items) > 1 and items[-2][1] > order:
                at = bisect.bisect(items, order, hi=len(items) - 1, key=operator.itemgetter(1))
                node.members = dict(items[:at] + items[-1:] + items[at:-1])

    def _silent(self, key: tuple[Any, Any]) -> bool:
        """Whether the client of handshake ``key`` has sent nothing (:func:`spoke`; read already
        is checked first, for :func:`spoke` is a system call)."""
        sock = self.pending[key][1]
        return not getattr(sock, "heard", False) and not spoke(sock)

    def _hold(self, key: tuple[Any, Any], nets: tuple[Any, ...], order: int, reviewers: bool) -> None:
        self.networks[key] = nets
        node = self.holders
        if reviewers:
            node = self.reviewers
            self.of_reviewers.add(key)
        node.members[key] = order
        for net in nets:
            node = node.parts.setdefault(net, _Holders())
            node.members[key] = order

    def _release(self, key: tuple[Any, Any]) -> None:
        """Take ``key`` out of :attr:`holders` (a network left with none goes, and those in it)."""
        nets = self.networks.pop(key, None)
        if nets is None:
            return
        node = self.holders
        if key in self.of_reviewers:
            node = self.reviewers
            self.of_reviewers.discard(key)
        del node.members[key]
        for net in nets:
            part = node.parts[net]
            del part.members[key]
            if not part.members:
                del node.parts[net]
                return
            node = part

    def _victim(self, new: tuple[Any, Any]) -> tuple[Any, Any]:
        """The handshake to end to make room for ``new`` (held already): one from a network no
        reviewer was seen signed in from or past its bounds (:attr:`holders`) where there is one
        (``new`` itself where it is the only one: a connection from an unknown network does not
        end a reviewer's; with :attr:`reviewers_at_once` below :attr:`at_once` there always is
        another), else one of :attr:`reviewers`; of those, from the widest network down
        (:func:`networks`), the one holding the most unfinished of those holding more than
        :attr:`burst` (of two holding as many, the one holding the older); where none holds more,
        of what the network reached holds (all, at the widest), the oldest one whose client has
        sent nothing (:func:`spoke`: read or still in the kernel's buffer), else the oldest,
        ``new`` only where it is alone. A client flooding from one network (an IPv4 /16 holds
        256 /24s, an IPv6 /48 256 /56s) ends only its own, however fast it connects: ending the
        oldest let it end a reviewer's handshake under way by opening 256 connections while it
        took. A network holding no more than :attr:`burst` is not ended for holding more than
        others: a browser opens six connections at once, and a client holding one silent
        handshake in each of 64 /16s ended a reviewer's as its network held the most. A client
        at 16 or more /16s sending a byte on each connection is ended by age, as anyone else of
        its tier: a reviewer's network that signed in ranks above it."""
        node = self.holders if self.holders.members else self.reviewers
        while over := [part for part in node.parts.values() if len(part.members) > self.burst]:
            node = max(over, key=lambda p: (len(p.members), -next(iter(p.members.values()))))
        oldest = None
        for key in node.members:
            if key != new:
                if self._silent(key):
                    return key
                if oldest is None:
                    oldest = key
        return new if oldest is None else oldest

    def _end(self, key: tuple[Any, Any]) -> None:
        """End the handshake of ``key``: its socket is shut down, not closed, for asyncio's
        transport holds its descriptor (a descriptor closed under it could be another
        connection's by the time the transport lets it go)."""
        self._release(key)
        self.closing.add(key)
        with contextlib.suppress(OSError):  # reset by the client meanwhile: asyncio closes it
            self.pending[key][1].shutdown(socket.SHUT_RDWR)
        self.dropped += 1
        self._log()

    def done(self, peer: Any, local: Any = None) -> None:
        """The handshake of the connection from ``peer`` to ``local`` has ended (nothing if it was
        not counted)."""
        held = self.pending.pop((local, peer), None)
        if held is not None:
            self._release((local, peer))
            self.closing.discard((local, peer))
            client = held[0]
            left = self.by_client[client] - 1
            if left:
                self.by_client[client] = left
            else:
                del self.by_client[client]

    def watching(self, factory: Any) -> Any:
        """``factory`` (of the application's protocol) with :meth:`done` called as a protocol
        receives its connection: over TLS that is when the handshake has succeeded; a
        :class:`GuardedH11Protocol` tells :meth:`signed_in` of its signed-in requests."""

        def made() -> Any:
            protocol = factory()
            if isinstance(protocol, GuardedH11Protocol):
                protocol.handshakes = self
            connection_made = protocol.connection_made

            def handshake_done(transport: Any) -> None:
                self.done(transport.get_extra_info("peername"), transport.get_extra_info("sockname"))
                connection_made(transport)

            protocol.connection_made = handshake_done
            return protocol

        return made

    def listening(self, sock: socket.socket) -> socket.socket:
        """``sock`` (bound, not yet listening) as a socket whose ``accept`` admits connections
        (asyncio's server calls it) and whose accepted sockets say :meth:`done` as they close."""
        return _Listening(self, sock)

    def _refused(self) -> bool:
        self.refused += 1
        self._log()
        return False

    def _log(self) -> None:
        now = time.monotonic()
        if now - self.logged >= LOG_EVERY:
            template = (
                N_(
                    "ended {dropped} TLS handshake(s) to make room, past "
                    "{at_once} unfinished in all, and closed {n} new connection(s) while {closing} of those "
                    "were closing"
                )
                if self.per_client is None
                else N_(
                    "ended {dropped} TLS handshake(s) to make room, past "
                    "{at_once} unfinished in all, and closed {n} new connection(s) past {bound} unfinished "
                    "from one address or while {closing} of those were closing"
                )
            )
            said = msg(
                template,
                dropped=self.dropped,
                at_once=self.at_once,
                n=self.refused,
                bound=self.per_client,
                closing=self.closing_at_once,
            )
            logging.getLogger("uvicorn.error").warning(said)
            self.refused, self.dropped, self.logged = 0, 0, now


class _Listening(socket.socket):
    """A listening socket whose :meth:`accept` counts the handshakes each client has under way
    (:class:`Handshakes`): a connection past the bound of its client is closed at once, one past
    the bound of all ends another unfinished handshake instead (:meth:`Handshakes._victim`); while
    :attr:`Handshakes.closing_at_once` ended ones are still closing, no connection is taken (they
    wait in the kernel's queue, as asyncio's accept loop stops at a ``BlockingIOError``, for the
    loop to close them)."""

    def __init__(self, handshakes: Handshakes, sock: socket.socket) -> None:
        super().__init__(sock.family, sock.type, sock.proto, fileno=sock.detach())
        self.handshakes = handshakes

    def accept(self) -> tuple[socket.socket, Any]:
        while True:  # BlockingIOError when no connection waits: asyncio's accept loop stops there
            if self.handshakes.jammed():  # the next one waits in the kernel's queue, not refused
                raise BlockingIOError(errno.EAGAIN, "ended handshakes are still closing")
            conn, peer = super().accept()
            accepted = _Accepted(self.handshakes, conn, peer)
            if self.handshakes.admit(peer, accepted, accepted.local):
                accepted.counted = True
                return accepted, peer
            accepted.close()  # refused, never counted: its close says no done()


class _Accepted(socket.socket):
    """An accepted connection whose handshake, if admitted and still counted, ends when it is
    closed (timed out, or failed: the application's protocol never saw it)."""

    def __init__(self, handshakes: Handshakes, conn: socket.socket, peer: Any) -> None:
        super().__init__(conn.family, conn.type, conn.proto, fileno=conn.detach())
        self.handshakes, self.peer = handshakes, peer
        self.counted = False
        """Whether :meth:`Handshakes.admit` counted it (a refused one is closed uncounted)."""
        self.heard = False
        """Whether the client has sent a byte (its ClientHello begun): of handshakes that hold as
        many as each other, one that has not is ended first (:meth:`Handshakes._victim`)."""
        self.local: Any = None
        """Its local address, as asyncio's transport tells it (``sockname``; None where unknown)."""
        with contextlib.suppress(OSError):
            self.local = self.getsockname()

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        """As the socket's (asyncio's transport reads with it), noting that the client spoke."""
        n = super().recv_into(buffer, nbytes, flags)
        self.heard = self.heard or n > 0
        return n

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        self.heard = self.heard or bool(data)
        return data

    def close(self) -> None:
        if self.counted:
            self.counted = False
            self.handshakes.done(self.peer, self.local)
        super().close()


def listening_sockets(host: str | None, port: int) -> list[socket.socket]:
    """Sockets bound (not yet listening) to every address ``host`` names for ``port``, as asyncio's
    ``create_server`` binds a host (what uvicorn serves without TLS): one socket per address
    ``getaddrinfo`` gives (a name may give several, IPv4 and IPv6), each with ``SO_REUSEADDR``, an
    IPv6 one IPv6 only (``::`` takes no IPv4 connection); an address whose family the system has
    not enabled is passed over. uvicorn's ``Config.bind_socket`` made one socket, IPv4 unless the
    host held a colon: ``::`` was dual stack, a name bound its first IPv4 address only."""
    infos = socket.getaddrinfo(host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    made: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            try:
                sock = socket.socket(family, kind, proto)
            except OSError:
                continue  # a family or protocol this system lacks
            made.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno != errno.EADDRNOTAVAIL:
                    raise OSError(exc.errno, f"cannot bind {address!r}: {exc.strerror}") from None
                made.pop().close()  # the family is not enabled (asyncio passes it over too)
        if not made:
            raise OSError(f"could not bind any address of {host!r}")
    except BaseException:
        for sock in made:
            sock.close()
        raise
    return made


class GuardedServer(uvicorn.Server):
    """uvicorn's server, its TLS handshakes bounded by :attr:`handshake_seconds`, from one client at
    once by :attr:`handshakes_per_client` and from all together by :attr:`handshakes_at_once` (the
    oldest ended past it, :attr:`handshakes_closing` of those closing at once):
    uvicorn has no option for any, so the listening sockets are made here
    (:func:`listening_sockets`: every address of the host, as uvicorn binds it without TLS) with
    :class:`Handshakes` counting what they accept, and served with asyncio's
    ``ssl_handshake_timeout`` (the loop's ``create_server`` wrapped while the server starts; the
    loop must be asyncio's, :func:`~dqm.semantic.server.commands.server_options` says so); its log
    lines made safe and in ``lang`` (:class:`SafeLog`, put on once uvicorn's ``Config`` has set up
    its logging)."""

    handshake_seconds = HANDSHAKE_SECONDS
    handshakes_per_client = HANDSHAKES_PER_CLIENT
    handshakes_at_once = HANDSHAKES_AT_ONCE
    handshakes_closing = HANDSHAKES_CLOSING
    handshakes_burst = HANDSHAKES_PER_CLIENT

    def __init__(self, config: uvicorn.Config, lang: str = "en") -> None:
        super().__init__(config)
        safe_logs(lang)
        self.handshakes: Handshakes | None = None

    async def startup(self, sockets: list[Any] | None = None) -> None:
        config = self.config
        made = config.is_ssl and sockets is None and config.uds is None and config.fd is None
        if made:
            behind_proxy = bool(config.proxy_headers and config.forwarded_allow_ips)
            self.handshakes = Handshakes(
                None if behind_proxy else self.handshakes_per_client,
                self.handshakes_at_once,
                self.handshakes_closing,
                self.handshakes_burst,
            )
            try:
                bound = listening_sockets(config.host, config.port)
            except OSError as exc:  # as uvicorn ends a server whose address cannot be bound
                logging.getLogger("uvicorn.error").error(exc)
                sys.exit(uvicorn.config.STARTUP_FAILURE)
            sockets = [self.handshakes.listening(sock) for sock in bound]
        loop = asyncio.get_running_loop()
        create_server = loop.create_server
        handshakes = self.handshakes

        async def bounded(factory: Any, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("ssl") is not None:
                kwargs["ssl_handshake_timeout"] = self.handshake_seconds
                if handshakes is not None:
                    factory = handshakes.watching(factory)
            return await create_server(factory, *args, **kwargs)

        loop.create_server = bounded  # type: ignore[method-assign,assignment]
        try:
            await super().startup(sockets)
        finally:
            del loop.create_server
        if made and sockets:  # uvicorn says where it runs only for the sockets it made itself
            self._log_started_message(sockets)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the limits of the module; :func:`guarded_protocol` sets them."""

    request_seconds = REQUEST_SECONDS
    write_seconds = WRITE_SECONDS
    max_connections = MAX_CONNECTIONS
    per_client: int | None = PER_CLIENT
    counts: ClassVar[dict[str, float]] = {}
    """Connections closed since the last log line (``slow``, ``stalled``, ``over``) and when it was written
    (``logged``): one dictionary per class that :func:`guarded_protocol` makes."""
    handshakes: Handshakes | None = None
    """The server's TLS handshakes (:meth:`Handshakes.watching` sets it): told of each request that
    proved a session (:data:`~dqm.semantic.server.auth.SIGNED_IN` in its ASGI ``state``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline: Any = None
        """The timer that closes the connection when its request is not whole in time."""
        self.stalled: Any = None
        """The timer that cuts the connection off when the client reads none of an answer."""
        self.unsent = 0
        """Bytes not yet taken by the client when :attr:`stalled` started or last looked (:meth:`_unsent`)."""
        self.opened = 0.0
        """When the connection was made (:meth:`_make_room` closes the oldest first)."""
        self.key: str | None = None
        """What the connection counts against :attr:`per_client` by: its client's address, the /64
        network of an IPv6 one (:func:`~dqm.semantic.server.auth.sign_in_key`)."""

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.opened = time.monotonic()
        self.key = sign_in_key(self.client[0]) if self.client else None
        if (self.per_client is not None and self._from_same_client() > self.per_client) or (
            len(self.connections) > self.max_connections and not self._make_room()
        ):
            self._count("over")
            transport.write(BUSY)
            transport.close()
            return
        self._arm()

    def _from_same_client(self) -> int:
        return sum(1 for c in self.connections if getattr(c, "key", None) == self.key)

    def _make_room(self) -> bool:
        """Every place is taken: close the oldest connection whose request is unfinished (408, as
        at its deadline: whoever holds places with requests it never finishes gives them up first);
        False where every connection has a whole request, an answer or nothing pending."""
        waiting = [
            c
            for c in self.connections
            if isinstance(c, GuardedH11Protocol)
            and c is not self
            and c.deadline is not None
            and not c.transport.is_closing()
        ]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda c: c.opened)
        oldest._disarm()
        oldest._too_slow()
        return True

    def data_received(self, data: bytes) -> None:
        self._arm()  # a new request's first byte starts its clock
        super().data_received(data)
        self._settle()

    def on_response_complete(self) -> None:
        if self.handshakes is not None and self.client and self.scope.get("state", {}).get(SIGNED_IN):
            self.handshakes.signed_in(self.client[0])
        super().on_response_complete()
        self._settle()
        if self.transport.get_write_buffer_size():
            # the answer is whole but not all sent (under the high-water mark, so no pause_writing):
            # closing, at the keep-alive timeout or now, would wait for a client that may never read
            self._stall()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._unstall()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        """The transport's buffer is full: the client has to read before more is sent."""
        super().pause_writing()
        self._stall()

    def resume_writing(self) -> None:
        self._unstall()
        super().resume_writing()

    def _stall(self) -> None:
        """Start the clock of an answer that waits for the client to read it."""
        if self.stalled is None:
            self.unsent = self._unsent()
            self.stalled = self.loop.call_later(self.write_seconds, self._not_reading)

    def _unsent(self) -> int:
        """Bytes not yet taken by the client: the transport's buffer and, where the system tells,
        the socket's send queue (on a fast link the kernel holds megabytes of an answer: a client
        reading them steadily changes nothing in the transport's buffer for many seconds)."""
        unsent = int(self.transport.get_write_buffer_size())
        sock = self.transport.get_extra_info("socket")
        if ioctl is not None and sock is not None:
            with contextlib.suppress(OSError, ValueError):
                unsent += struct.unpack("i", ioctl(sock.fileno(), TIOCOUTQ, b"\0\0\0\0"))[0]
        return unsent

    def _unstall(self) -> None:
        if self.stalled is not None:
            self.stalled.cancel()
            self.stalled = None

    def _not_reading(self) -> None:
        """:data:`WRITE_SECONDS` since the clock started or last looked: where all was sent, stop;
        where the client took some of it since (the buffer changed), look again after as long;
        where it took nothing, drop the connection and what is buffered for it (closing would wait
        for the buffer to be sent)."""
        self.stalled = None
        if not self.transport.get_write_buffer_size():
            return
        if self._unsent() != self.unsent:
            self._stall()
            return
        self._count("stalled")
        self.transport.abort()

    def _settle(self) -> None:
        """Keep the clock running while a request is incomplete; stop it once it is whole."""
        state = self.conn.their_state
        begun = state is h11.SEND_BODY or (state is h11.IDLE and bool(self.conn.trailing_data[0]))
        if begun and not self.transport.is_closing():
            self._arm()
        else:
            self._disarm()

    def _arm(self) -> None:
        if self.deadline is None:
            self.deadline = self.loop.call_later(self.request_seconds, self._too_slow)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _too_slow(self) -> None:
        """The request did not arrive whole in time: 408 where no answer has begun, then close."""
        self.deadline = None
        if self.transport.is_closing():
            return
        self._count("slow")
        started = self.cycle is not None and self.cycle.response_started and not self.cycle.response_complete
        if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE) and not started:
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
        self.transport.close()

    def _count(self, what: str) -> None:
        counts = type(self).counts
        counts[what] = counts.get(what, 0) + 1
        now = time.monotonic()
        if now - counts.get("logged", -LOG_EVERY) >= LOG_EVERY:
            logging.getLogger("uvicorn.error").warning(
                msg(
                    "closed {slow} connection(s) that did not send a whole request within {seconds} s, "
                    "{stalled} that read nothing of an answer for {write_seconds} s and {over} over the "
                    "limits ({total} open at once, {per_client} from one address)",
                    slow=int(counts.get("slow", 0)),
                    seconds=self.request_seconds,
                    stalled=int(counts.get("stalled", 0)),
                    write_seconds=self.write_seconds,
                    over=int(counts.get("over", 0)),
                    total=self.max_connections,
                    per_client=self.per_client if self.per_client is not None else "-",
                )
            )
            counts.update(slow=0, stalled=0, over=0, logged=now)


def guarded_protocol(
    behind_proxy: bool,
    request_seconds: float = REQUEST_SECONDS,
    write_seconds: float = WRITE_SECONDS,
    max_connections: int = MAX_CONNECTIONS,
    per_client: int = PER_CLIENT,
) -> type[GuardedH11Protocol]:
    """The protocol class for uvicorn's ``http`` option. Behind a reverse proxy every connection
    comes from the proxy: no bound per client address then (the proxy's own limits apply)."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {
            "request_seconds": request_seconds,
            "write_seconds": write_seconds,
            "max_connections": max_connections,
            "per_client": None if behind_proxy else per_client,
            "counts": {},
        },
    )
