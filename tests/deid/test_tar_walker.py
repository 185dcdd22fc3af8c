"""dqm's own tar header walker (:func:`dqm.doc_text._walk_tar`, session 30) against :mod:`tarfile`:
the same names, the same reason, the same bytes read, on real and hostile archives."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import random
import tarfile
import tracemalloc
from pathlib import Path
from typing import cast

from dqm.doc_text import (
    TAR_DAMAGED,
    TAR_DAMAGED_STOPPED,
    _Counted,
    _Fallback,
    _tar_read,
    document_text,
    tar_text,
)
from dqm.profile import load_profile
from dqm.runner import RunOptions, run_batch
from tests.helpers import within, write_tiny_batch

RRN = "900101-1234567"


def _read(
    data: bytes, own: bool, bound: int, counted: _Counted | None = None
) -> tuple[list[str], str | None, int] | None:
    """What :func:`_tar_read` lists and says, and the bytes it read (``counted``: the reading, its
    damaged block kept); None where dqm's walker leaves the archive to tarfile."""
    counted = _Counted(io.BytesIO(data), bound) if counted is None else counted
    fh = cast(io.BytesIO, counted.raw)
    head = fh.read(6)
    names: list[str] = []
    try:
        unread = _tar_read(fh, head, counted, names, 1_000_000, own)
    except _Fallback:
        return None
    return names, unread, bound - counted.left


def _agree(data: bytes, bound: int = 1 << 20) -> bool:
    """dqm's walker reads ``data`` as tarfile does (True), or leaves it to tarfile (False); past a
    damaged block after a member, where tarfile ends the archive silently, dqm's walker goes on at
    the next whole header: tarfile's names are the first of its names, and it says why."""
    counted = _Counted(io.BytesIO(data), bound)
    own = _read(data, True, bound, counted)
    if own is None:
        return False
    theirs = _read(data, False, bound)
    if counted.damaged is not None:
        assert theirs is not None and own[0][: len(theirs[0])] == theirs[0], data[:64]
        assert tar_text(io.BytesIO(data), 1_000_000)[1] is not None
        return True
    assert own == theirs, data[:64]
    return True


def _with_checksum(h: bytearray) -> bytearray:
    h[148:156] = b"        "
    h[148:156] = b"%06o\0 " % sum(h)
    return h


def _archives() -> list[bytes]:
    """Archives tarfile writes: ustar (a prefix), GNU (long names and link names), pax (long and
    non-ASCII names, a size record), links, folders, devices, data."""
    out = []
    for fmt in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8") as tf:
            for i, name in enumerate(
                [
                    "a.txt",
                    "scans/" + "d" * 90 + "/" + "f" * 60 + ".svs",
                    f"환자/{RRN}.svs",
                    "dir/",
                    "longdir" * 20 + "/",
                    "x" * 150,
                    "deep/" * 30 + "end",
                ]
            ):
                if fmt == tarfile.USTAR_FORMAT and (
                    (len(name) > 100 and "/" not in name) or not name.isascii()
                ):
                    continue
                if fmt == tarfile.USTAR_FORMAT and len(name) > 255:
                    continue
                info = tarfile.TarInfo(name)
                if name.endswith("/"):
                    info.type = tarfile.DIRTYPE
                    tf.addfile(info)
                    continue
                data = bytes([65 + i]) * (i * 300)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            for kind, link in ((tarfile.SYMTYPE, "../" + "l" * 120), (tarfile.LNKTYPE, "a.txt")):
                if fmt == tarfile.USTAR_FORMAT and len(link) > 100:
                    continue
                info = tarfile.TarInfo(f"link{kind!r}")
                info.type = kind
                info.linkname = link
                tf.addfile(info)
            for kind in (tarfile.FIFOTYPE, tarfile.CHRTYPE):
                info = tarfile.TarInfo(f"dev{kind!r}")
                info.type = kind
                tf.addfile(info)
        out.append(buf.getvalue())
    return out


def test_dqms_walker_lists_real_archives_as_tarfile_does() -> None:
    """Plain and compressed, whole: every name, nothing left to tarfile."""
    for data in _archives():
        for packed in (data, gzip.compress(data), bz2.compress(data), lzma.compress(data)):
            assert _agree(packed)
        names = _read(data, True, 1 << 20)
        assert (names is not None and f"환자/{RRN}.svs" in names[0]) or b"\xed" not in data


def _mutants(rng: random.Random, data: bytes) -> list[bytes]:
    """Truncated, bytes flipped (the checksum kept right or not), sizes and types changed, a block
    of zeros or of a pax header put in."""
    heads = [
        at
        for at in range(0, len(data) - 512, 512)
        if sum(data[at + 148 : at + 156]) and data[at + 257 : at + 262] == b"ustar"
    ]
    out = [data[: rng.randrange(len(data))] for _ in range(4)]
    for _ in range(12):
        b = bytearray(data)
        at = rng.choice(heads)
        field = rng.choice(
            [(0, 100), (100, 108), (124, 136), (136, 148), (156, 157), (157, 257), (329, 345), (345, 500)]
        )
        choice = rng.randrange(7)
        if choice == 0:
            b[at + rng.randrange(*field)] = rng.randrange(256)
        elif choice == 1 and field == (124, 136):
            size = rng.choice([2**63, 2**70, 1 << rng.randrange(40), rng.randrange(5000)])
            b[at + 124 : at + 136] = (
                b"\x80" + size.to_bytes(11, "big") if size >= 8**11 else b"%011o\0" % size
            )
        elif choice == 1:
            b[at + 124 : at + 136] = rng.choice(
                [b"\xff" * 12, b" 1_0 \0      ", b"0o17\0       ", b"\x00" * 12, b"99999999999\0"]
            )
        elif choice == 2:
            b[at + 156] = rng.choice(b"0125LKxgSXAV\0")
        elif choice == 3:
            b[at : at + 512] = bytes(512)
        elif choice == 4:
            b[at + 100 : at + 108] = rng.choice(
                [b"0000644 ", b"\x80" + bytes(7), b"12\x009abc\0", b"abc\0\0\0\0\0", b"\t644\n\0\0\0"]
            )
        elif choice == 5:
            b[at + rng.randrange(512)] ^= 1 << rng.randrange(8)
            out.append(bytes(b))
            continue
        else:
            b[at + 345 : at + 360] = b"pre/fix\0".ljust(15, b"\0")
        out.append(bytes(_with_checksum_at(b, at)))
    return out


def _with_checksum_at(b: bytearray, at: int) -> bytearray:
    h = _with_checksum(bytearray(b[at : at + 512]))
    b[at : at + 512] = h
    return b


def test_dqms_walker_agrees_with_tarfile_on_mutated_archives() -> None:
    """Fuzzed, seeded: wherever dqm's walker reads an archive (not left to tarfile), it lists the
    same names, gives the same reason and reads the same bytes as tarfile, plain and as a stream."""
    rng = random.Random(30)
    own = 0
    total = 0
    for data in _archives():
        for mutant in _mutants(rng, data) + _mutants(rng, data) + _mutants(rng, data):
            # a base-256 size past the data in a stream: tarfile's reading never ends (see below)
            huge = any(mutant[at + 124] in (0x80, 0xFF) for at in range(0, len(mutant) - 511, 512))
            for packed in (mutant,) if huge else (mutant, gzip.compress(mutant, 1)):
                total += 1
                own += _agree(packed)
                own += _agree(packed, rng.randrange(512, 8192))
    assert own > total  # most read by dqm's walker, not left to tarfile


def _pax(records: bytes) -> bytes:
    """A pax header (``x``) holding ``records``."""
    h = tarfile.TarInfo("././@PaxHeader")
    h.type = tarfile.XHDTYPE
    h.size = len(records)
    return h.tobuf(tarfile.USTAR_FORMAT) + records.ljust(-(-len(records) // 512) * 512, b"\0")


def _member(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = kind
    return info.tobuf(tarfile.GNU_FORMAT) + bytes(-(-size // 512) * 512)


def _rec(key: str, value: str) -> bytes:
    """A pax record, its length right."""
    body = f" {key}={value}\n".encode()
    n = len(body) + len(str(len(body) + 1))
    return f"{n}".encode() + body


NOT_A_TAR = "not a readable tar archive"


def test_pax_records_apply_as_tarfiles() -> None:
    """Hand-made pax headers, read as tarfile reads them since CPython's fix for CVE-2024-6232
    (3.11.10, 3.12.6, 3.13; the expectations are fixed, not the running tarfile's, which on an
    older Python lists a badly framed record's bytes as a name): a record repeated (the last wins),
    a path and a GNU long name (the one read last applies first), a size that moves the next
    header, two pax headers; a badly framed record (a length past the header, under 5, of a
    record whose last byte is no line feed, bytes after the records, no keyword, no ``=``) is a
    header dqm says is no tar, first or after a member (tarfile ends the archive there: session 30's
    second fix round, the names after it went unsearched); a size that
    is not plain digits or a character set is left to tarfile. Each as a plain tar with and
    without its end blocks and as a .tar.gz: the same names and reason, and the bytes read."""
    long = "t" * 200
    cases: list[tuple[bytes, list[str], str | None, tuple[int, int, int] | None]] = [
        (
            _pax(_rec("path", "first") + _rec("path", f"{RRN}/")) + _member("short"),
            [RRN],
            None,
            (2048, 1536, 2560),
        ),
        (
            _pax(_rec("path", "p") + _rec("size", "1024")) + _member("m", 3) + bytes(1024) + _member("after"),
            ["p"],
            None,
            (2049, 2049, 4608),
        ),
        (
            _pax(_rec("linkpath", long)) + _member("l", 0, tarfile.SYMTYPE),
            [f"l\n{long}"],
            None,
            (2048, 1536, 2560),
        ),
        (
            _pax(_rec("path", "from-pax")) + _member("l" * 150) + _member("next"),
            ["from-pax", "next"],
            None,
            (3584, 3072, 4096),
        ),
        (_pax(b"99 path=cut\n" + _rec("path", "x")) + _member("y"), [], NOT_A_TAR, (1024, 1024, 2560)),
        (_pax(_rec("path", "a") + b"0 path=b\n") + _member("z"), [], NOT_A_TAR, (1024, 1024, 2560)),
        (
            _pax(_rec("path", "a") + _rec("path", "b")) + _pax(_rec("path", "c")) + _member("d"),
            ["b"],
            None,
            (3072, 2560, 3584),
        ),
        (_pax(_rec("mtime", "x") + _rec("uid", "y")) + _member("e"), ["e"], None, (2048, 1536, 2560)),
        (
            _member("first") + _pax(b"2 2 2 2 =\n") + _member("second"),
            ["first"],
            NOT_A_TAR,
            (1536, 1536, 3072),
        ),
        (
            _member("first") + _pax(_rec("path", "a") + b"6 p=a\n") + _member("second"),
            ["first", "a"],
            None,
            (2560, 2048, 3072),
        ),
        (
            _member("first") + _pax(_rec("path", "a") + b"junk") + _member("second"),
            ["first"],
            NOT_A_TAR,
            (1536, 1536, 3072),
        ),
        (_member("first") + _pax(b"5 =a\n") + _member("second"), ["first"], NOT_A_TAR, (1536, 1536, 3072)),
        (_member("first") + _pax(b"6 pat\n") + _member("second"), ["first"], NOT_A_TAR, (1536, 1536, 3072)),
        (_pax(_rec("size", "+5")) + _member("q", 0) + _member("r"), ["q"], None, None),
        (
            _member("first") + _pax(_rec("hdrcharset", "BINARY")) + _member("second"),
            ["first", "second"],
            None,
            None,
        ),
    ]
    for data, names, why, spent in cases:
        for at, packed in enumerate((data + bytes(1024), data, gzip.compress(data + bytes(1024)))):
            ext = ".tar.gz" if at == 2 else ".tar"
            assert document_text(io.BytesIO(packed), ext, 100_000) == ("\n".join(names), why), data[:64]
            assert _read(packed, True, 1 << 20) == (None if spent is None else (names, why, spent[at]))


def test_a_pax_bomb_is_read_in_linear_time_and_memory() -> None:
    """A 4 KB .tar.gz holding a 4 MB pax header of records ``2 2 2 …=``: the records were matched
    as an older tarfile matches them (CVE-2024-6232's pattern), each keyword scanned to the far
    ``=`` and kept, a distinct length each (40 KB of them: 1.3 s and 400 MB; 4 MB: out of
    memory). A bad header now, at its first record."""
    body = b"2 " * 2_000_000 + b"=\n"
    h = tarfile.TarInfo("././@PaxHeader")
    h.type = tarfile.XHDTYPE
    h.size = len(body)
    data = (
        h.tobuf(tarfile.USTAR_FORMAT) + body + bytes(-len(body) % 512) + _member(f"{RRN}.svs") + bytes(1024)
    )
    packed = gzip.compress(data, 9)
    assert len(packed) < 8_000
    tracemalloc.start()
    try:
        with within(10):
            got = document_text(io.BytesIO(packed), ".tar.gz", 100_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == ("", NOT_A_TAR)
    assert peak < 40_000_000  # the header read (4 MB) and the decompression's buffers


def _global_header() -> bytes:
    """A pax global header (``g``: left to tarfile) and its records."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "x"}) as tf:
        tf.addfile(tarfile.TarInfo("first"))
    return buf.getvalue()[:1024]


def _negative_size() -> bytes:
    """A member whose size is negative (base-256, all 0xff: left to tarfile)."""
    h = bytearray(tarfile.TarInfo("n").tobuf(format=tarfile.GNU_FORMAT))
    h[124:136] = b"\xff" * 12
    return bytes(_with_checksum(h))


def test_a_pax_header_read_by_tarfile_is_checked_first() -> None:
    """Where a global pax header has tarfile read the archive, a pax header after it: badly framed,
    or holding a run of 60,000 digits, which a tarfile older than CPython's fix for CVE-2024-6232
    searches for ``\\d+ hdrcharset=`` in time growing with the square of the run (3.11.7: 8 s;
    4 MB, a 4 KB .tar.gz: days), is a bad header there too: no tar."""
    for records in (_rec("comment", "1" * 60_000), b"2 2 2 2 =\n"):
        data = _global_header() + _pax(records) + _member(f"{RRN}.svs") + bytes(1024)
        assert _read(data, True, 1 << 20) is None  # left to tarfile
        for ext, packed in ((".tar", data), (".tar.gz", gzip.compress(data))):
            with within(4):
                assert document_text(io.BytesIO(packed), ext, 1000) == ("", NOT_A_TAR)


def test_a_huge_size_in_a_compressed_tar_ends() -> None:
    """A .tar.gz whose member claims 2**70 bytes: tarfile's stream reader went on reading
    nothing, 10 KB at a time, for 2**56 turns (it never ended). Also where a global pax header or
    a negative size before it has the archive read by tarfile (session 30's fix round: it hung)."""
    h = bytearray(tarfile.TarInfo("a").tobuf(format=tarfile.GNU_FORMAT))
    h[124:136] = b"\x80" + (2**70).to_bytes(11, "big")
    huge = bytes(_with_checksum(h)) + bytes(1024)
    for first, names in ((b"", "a"), (_global_header(), "a"), (_negative_size(), "n\na")):
        with within(20):
            assert document_text(io.BytesIO(gzip.compress(first + huge)), ".tar.gz", 1000) == (
                names,
                NOT_A_TAR,
            )


def test_a_chain_of_long_name_headers_is_no_crash() -> None:
    """5,000 GNU long-name headers before one member: tarfile reads them by recursion and raised
    RecursionError, which stopped the audit. Where a global pax header before them has the archive
    read by tarfile, its RecursionError is no tar (session 30's fix round: it stopped the audit)."""
    long = tarfile.TarInfo("././@LongLink")
    long.type = tarfile.GNUTYPE_LONGNAME
    name = f"{RRN}.svs".encode() + b"\0"
    long.size = len(name)
    block = long.tobuf(tarfile.GNU_FORMAT) + name.ljust(512, b"\0")
    data = block * 5000 + tarfile.TarInfo("short").tobuf(tarfile.GNU_FORMAT) + bytes(1024)
    assert document_text(io.BytesIO(data), ".tar", 1000) == (f"{RRN}.svs", None)
    assert document_text(io.BytesIO(_global_header() + data), ".tar", 1000) == ("", NOT_A_TAR)


def test_a_fallback_to_tarfile_is_bounded_and_charged_once() -> None:
    """A 50 MB GNU long name, then a global pax header (left to tarfile): each reading is held to
    the bound, and the batch's is charged the larger of the two readings (session 30: the sum,
    100 MB of a 60 MB bound; its fix round gave tarfile only what was left: a normal sparse archive
    was cut)."""

    class Spy(io.BytesIO):
        total = 0

        def read(self, n: int | None = -1) -> bytes:
            data = super().read(n)
            Spy.total += len(data)
            return data

    big = 50_000_000
    long = tarfile.TarInfo("././@LongLink")
    long.type = tarfile.GNUTYPE_LONGNAME
    long.size = big
    data = long.tobuf(tarfile.GNU_FORMAT) + b"n" * big + bytes(-big % 512) + _member("m") + _global_header()
    reads = [60_000_000]
    assert tar_text(Spy(data), 10**9, reads) == ("n" * big, NOT_A_TAR)  # nothing after the global header
    assert 2 * len(data) - 1024 <= Spy.total - 6 <= 2 * (len(data) + 10_240)  # each reads (nearly) all
    assert 60_000_000 - len(data) - 10_240 <= reads[0] <= 60_000_000 - len(data)
    reads = [30_000_000]
    Spy.total = 0
    assert tar_text(Spy(data), 10**9, reads) == ("", "past the bound read")
    assert reads[0] == 0
    assert Spy.total <= 6 + 2 * (30_000_000 + 1)


def test_a_sparse_member_after_32_mb_is_read() -> None:
    """A .tar.gz of a 40 MB member, then a GNU sparse member (left to tarfile), then an identifier
    named: all three names (session 30's fix round: tarfile got the 24 MB left of the bound, and the
    name after the sparse member went unsearched)."""
    h = bytearray(tarfile.TarInfo("sparse.img").tobuf(format=tarfile.GNU_FORMAT))
    h[156:157] = tarfile.GNUTYPE_SPARSE
    data = _member("big.bin", 40_000_000) + bytes(_with_checksum(h)) + _member(f"{RRN}.svs") + bytes(1024)
    assert document_text(io.BytesIO(gzip.compress(data, 1)), ".tar.gz", 1000) == (
        f"big.bin\nsparse.img\n{RRN}.svs",
        None,
    )


def test_a_sparse_or_global_header_is_left_to_tarfile() -> None:
    """A global pax header: read again by tarfile, whose names are kept."""
    info = tarfile.TarInfo("g")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "x"}) as tf:
        tf.addfile(info)
    data = buf.getvalue()
    assert _read(data, True, 1 << 20) is None
    assert document_text(io.BytesIO(data), ".tar", 1000) == ("g", None)
    by_tarfile = _read(data, False, 1 << 20)
    assert by_tarfile is not None
    reads = [10_000]
    assert document_text(io.BytesIO(data), ".tar", 1000, tar_reads=reads)[0] == "g"
    assert reads[0] == 10_000 - max(512, by_tarfile[2])  # the larger reading is charged (dqm's: one header)
    h = bytearray(tarfile.TarInfo(f"{RRN}.svs").tobuf(format=tarfile.GNU_FORMAT))
    h[156:157] = tarfile.GNUTYPE_SPARSE
    sparse = bytes(_with_checksum(h)) + bytes(1024)
    assert _agree(sparse)  # an old GNU sparse member: read by dqm's walker since session 31


def test_a_truncated_sparse_extension_is_no_crash(tmp_path: Path) -> None:
    """A GNU sparse member whose header says an extension block follows, the block missing or
    short (left to tarfile, whose ``_proc_sparse`` raised IndexError in every CPython: the audit
    stopped): no tar, first or after a member, plain or compressed, and a batch holding one runs on."""
    h = bytearray(tarfile.TarInfo(f"{RRN}.svs").tobuf(format=tarfile.GNU_FORMAT))
    h[156:157] = tarfile.GNUTYPE_SPARSE
    h[482] = 1
    sparse = bytes(_with_checksum(h))
    for data in (sparse, sparse + b"1" * 100, _member("first.txt") + sparse):
        for ext, packed in ((".tar", data), (".tar.gz", gzip.compress(data))):
            assert document_text(io.BytesIO(packed), ext, 1000)[1] == NOT_A_TAR
    root = write_tiny_batch(tmp_path / "b")
    (root / "a_sparse.tar").write_bytes(sparse)
    run = run_batch(root, load_profile(), RunOptions(workers=1))
    assert not [f for f in run.findings if f.code == "CHECK_CRASHED"]
    assert any(f.location.file == "a_sparse.tar" and NOT_A_TAR in (f.message or "") for f in run.findings)


def test_a_global_header_of_many_keywords_costs_them_once() -> None:
    """A global pax header (left to tarfile) of 50,000 keywords tarfile does not apply, then 1,000
    members: tarfile applied and copied every global keyword to every member (3.11.7: 15 s; at the
    bounds, a 1 MB .tar.gz, hours); only the records it applies are handed to it: the names at once."""
    records = b"".join(b"13 k%07d=\n" % i for i in range(50_000)) + _rec("mtime", "1")
    h = tarfile.TarInfo("././@PaxHeader")
    h.type = tarfile.XGLTYPE
    h.size = len(records)
    g = h.tobuf(tarfile.USTAR_FORMAT) + records + bytes(-len(records) % 512)
    names = [f"m{i}" for i in range(999)] + [f"{RRN}.svs"]
    data = g + b"".join(_member(n) for n in names) + bytes(1024)
    assert _read(data, True, 1 << 24) is None  # left to tarfile
    with within(10):
        assert document_text(io.BytesIO(gzip.compress(data)), ".tar.gz", 10**6) == ("\n".join(names), None)


def test_a_bad_pax_header_after_a_member_hides_no_name_silently() -> None:
    """A member, then a badly framed pax header (or, where tarfile reads the archive, one holding a
    run of 65 digits), then an identifier named: the names read so far, and no tar (session 30's
    fix round: the archive ended there with no reason, the name after it unsearched; GNU tar lists it)."""
    for first in (b"", _global_header()):
        for bad in (b"2 2 2 2 =\n", _rec("path", "a") + b"junk", _rec("comment", "1" * 65)):
            if not first and bad.startswith(b"7"):  # the 64-digit rule is the fallback's
                continue
            data = first + _member("first.txt") + _pax(bad) + _member(f"{RRN}.svs") + bytes(1024)
            for ext, packed in ((".tar", data), (".tar.gz", gzip.compress(data))):
                assert document_text(io.BytesIO(packed), ext, 1000) == ("first.txt", NOT_A_TAR), (first, bad)


def test_a_global_header_hands_tarfile_only_what_names_a_member() -> None:
    """A global pax header of 50,000 ``GNU.sparse.*`` keywords and an ``mtime`` of 200,000
    characters (``1_1_…``: no run of digits), then 400 members: tarfile read the sparse keywords
    again and converted the number again at every member (4.6 s and more; hours at the bounds: the
    review of session 30's texts4f2); only ``path``, ``linkpath``, ``hdrcharset`` and a plain
    ``size`` are handed to it: the names at once."""
    records = b"".join(_rec(f"GNU.sparse.k{i}", "") for i in range(50_000)) + _rec(
        "mtime", "1_" * 100_000 + "1"
    )
    h = tarfile.TarInfo("././@PaxHeader")
    h.type = tarfile.XGLTYPE
    h.size = len(records)
    g = h.tobuf(tarfile.USTAR_FORMAT) + records + bytes(-len(records) % 512)
    names = [f"m{i}" for i in range(399)] + [f"{RRN}.svs"]
    data = g + b"".join(_member(n) for n in names) + bytes(1024)
    with within(10):
        assert document_text(io.BytesIO(gzip.compress(data)), ".tar.gz", 10**6) == ("\n".join(names), None)


def test_names_after_a_damaged_block_are_searched(tmp_path: Path) -> None:
    """A member, then a block with a bad checksum, a number field that is no number or garbage, then
    an identifier named: its name is searched and the archive is named as not all searched, at the
    damaged block's byte (tarfile, and dqm before, ended the listing there silently; GNU tar skips
    to the next header)."""
    first = _member("first.txt", 700)  # two blocks of data: the damaged block starts at 1,536
    bad_sum = bytearray(_member("lost.txt"))
    bad_sum[0] ^= 1
    bad_number = _with_checksum(bytearray(_member("lost.txt")))
    bad_number[124:136] = b"12345678x00\0"
    for damaged_block in (bytes(bad_sum), bytes(_with_checksum(bad_number)), b"\x07" * 512 * 3):
        data = first + damaged_block + _member(f"홍길동_{RRN}.svs") + bytes(1024)
        for ext, packed in ((".tar", data), (".tar.gz", gzip.compress(data))):
            at: list[int] = []
            text, why = document_text(io.BytesIO(packed), ext, 1000, damaged=at)
            assert (text, why, at) == (f"first.txt\n홍길동_{RRN}.svs", TAR_DAMAGED, [1536]), damaged_block[:8]
    # the first header damaged: no tar, as before; the scan stays within the read bound
    assert document_text(io.BytesIO(bytes(bad_sum)), ".tar", 1000)[1] == NOT_A_TAR
    garbage = first + b"\x07" * 4_000_000 + _member(f"{RRN}.svs") + bytes(1024)
    reads = [100_000]
    assert tar_text(io.BytesIO(garbage), 1000, reads) == ("first.txt", "past the bound read")
    root = write_tiny_batch(tmp_path / "b")
    (root / "damaged.tar").write_bytes(first + bytes(bad_sum) + _member(f"{RRN}.svs") + bytes(1024))
    run = run_batch(root, load_profile(), RunOptions(workers=1))
    assert not [f for f in run.findings if f.code == "CHECK_CRASHED"]
    mine = [f for f in run.findings if f.location.file == "damaged.tar"]
    assert any(f.code == "DEID_OTHER_TEXT_UNSEARCHED" and "byte 1,536" in (f.message or "") for f in mine)
    assert any(f.code == "DEID_OTHER_TEXT_IDENTIFIER" for f in mine), [f.code for f in mine]


def test_a_damaged_block_whose_later_names_go_unsearched_is_said_so(tmp_path: Path) -> None:
    """Past a damaged block, a header dqm leaves to tarfile (a pax global header, a negative size):
    tarfile reads the archive again and ends it at the block, and a scan that reaches a block of
    zeros first stops there; either way the names after the block were not searched, and the reason
    says so, at its byte (was: after tarfile, no reason at all; at zeros, "the names after it were
    read")."""
    first = _member("first.txt", 700)  # the damaged block starts at 1,536
    bad_sum = bytearray(_member("lost.txt"))
    bad_sum[0] ^= 1
    named = _member(f"홍길동_{RRN}.svs", 3)
    pax = io.BytesIO()
    with tarfile.open(fileobj=pax, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "x"}) as tf:
        tf.addfile(tarfile.TarInfo(f"홍길동_{RRN}.svs"))
    negative = bytearray(named[:512])
    negative[124:136] = b"\xff" * 12
    negative = _with_checksum(negative)
    for after in (pax.getvalue(), bytes(negative) + named + bytes(1024), bytes(1024) + named + bytes(1024)):
        data = first + bytes(bad_sum) + after
        for ext, packed in ((".tar", data), (".tar.gz", gzip.compress(data))):
            at: list[int] = []
            text, why = document_text(io.BytesIO(packed), ext, 1000, damaged=at)
            assert (text, why, at) == ("first.txt", TAR_DAMAGED_STOPPED, [1536]), after[:8]
    root = write_tiny_batch(tmp_path / "b")
    (root / "damaged.tar").write_bytes(first + bytes(bad_sum) + pax.getvalue())
    (root / "cut.zip").write_bytes(b"PK\x03\x04")
    run = run_batch(root, load_profile(), RunOptions(workers=1))
    mine = [f for f in run.findings if f.code == "DEID_OTHER_TEXT_UNSEARCHED" and f.location.file]
    by_file = {f.location.file: f for f in mine}
    assert "byte 1,536" in (by_file["damaged.tar"].message or "")
    assert "not searched" in (by_file["damaged.tar"].message or "")
    assert by_file["damaged.tar"].params.get("at") == 1536, by_file["damaged.tar"].params
    assert "at" not in by_file["cut.zip"].params, by_file["cut.zip"].params  # no position: none given


def _sparse(name: str, extensions: int, size: int = 0, bad_at: int | None = None) -> bytes:
    """An old GNU sparse member (``S``) whose map goes on in ``extensions`` extension blocks of 21
    entries each (a number field that is no number in block ``bad_at``)."""
    h = bytearray(tarfile.TarInfo(name).tobuf(format=tarfile.GNU_FORMAT))
    h[156:157] = tarfile.GNUTYPE_SPARSE
    h[124:136] = b"%011o\0" % size
    h[386:410] = b"%011o\0%011o\0" % (0, size)
    h[482] = 1 if extensions else 0
    h[483:495] = b"%011o\0" % (size + extensions * 21 * 1024)
    blocks = []
    for i in range(extensions):
        block = bytearray(
            b"".join(b"%011o\0%011o\0" % (size + (i * 21 + k) * 1024, 1) for k in range(21)).ljust(512, b"\0")
        )
        block[504] = 1 if i < extensions - 1 else 0
        if i == bad_at:
            block[0:12] = b"12x\0        "
        blocks.append(bytes(block))
    return bytes(_with_checksum(h)) + b"".join(blocks) + bytes(-(-size // 512) * 512)


def test_an_old_gnu_sparse_map_is_walked_not_listed() -> None:
    """An old GNU sparse member (``S``) is read by dqm's walker as tarfile reads it (its name, where
    the next header is, a bad number in its map a bad header, a cut extension no tar), and its map's
    entries are never kept: a 30 MB map (61,000 extension blocks, 1.3 million entries) took tarfile
    hundreds of MB (session 30's note: ~400 MB), the walker a few hundred KB."""
    for data in (
        _sparse("a.img", 0, 700) + _member(f"{RRN}.svs") + bytes(1024),
        _member("first.txt") + _sparse("a.img", 3, 100) + _member(f"{RRN}.svs") + bytes(1024),
        _member("first.txt") + _sparse("a.img", 3, bad_at=1) + _member(f"{RRN}.svs") + bytes(1024),
        _sparse("a.img", 2, bad_at=0) + bytes(1024),
        _member("first.txt") + _sparse("a.img", 3)[:1500],
    ):
        for packed in (data, gzip.compress(data, 1)):
            assert _agree(packed)
    big = _member("first.txt") + _sparse("map.img", 61_000, 10) + _member(f"{RRN}.svs") + bytes(1024)
    assert len(big) > 30_000_000
    tracemalloc.start()
    try:
        text = document_text(io.BytesIO(big), ".tar", 1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert text == (f"first.txt\nmap.img\n{RRN}.svs", None)
    assert peak < 2_000_000, peak
