"""The member names of a 7-Zip (``.7z``) or RAR (``.rar``) archive, for the identifier checks.

Names only, never a member's contents: a 7z archive's names are in its end header (its
``FilesInfo``, UTF-16LE), often itself compressed with LZMA or LZMA2, which the standard library's
:mod:`lzma` decodes (at most :data:`MAX_ARCHIVE_HEADER` bytes: a header that would expand past it is
refused, not read); a RAR archive's (RAR 5 and RAR 4) are in its file headers, plainly, unless the
headers are encrypted (then said so). Every count, size and offset an archive claims is checked
against the bytes there are before it is used: a truncated archive, a names list claiming 2⁴⁰
entries, a header past the end or whose CRC does not hold is a reason, never an exception.
"""

from __future__ import annotations

import lzma
import struct
import zlib
from typing import BinaryIO

from dqm.i18n import N_

MAX_ARCHIVE_HEADER = 16_000_000
"""Bytes of a 7z archive's end header read or decoded at most (and of a RAR archive's headers
read): a header past it is refused (its names not read)."""
MAX_NAMES = 100_000
"""Member names read at most (as :data:`dqm.doc_text.MAX_ARCHIVE_MEMBERS`)."""
MAX_HEADERS = 2 * MAX_NAMES
"""A RAR archive's headers read at most, of every kind (a member's service headers, old-style sub
blocks): past them, not all searched (16 MB of 7-byte headers were 2.27 M headers, 15.7 s)."""
_WINDOW = 1 << 12
"""Bytes of a RAR archive read at once (a page, as a buffered file reads at least), its next headers
taken from them where they lie within."""

SEVEN_Z_MAGIC = b"7z\xbc\xaf\x27\x1c"
RAR5_MAGIC = b"Rar!\x1a\x07\x01\x00"
RAR4_MAGIC = b"Rar!\x1a\x07\x00"

NOT_7Z = N_("not a readable 7z archive")
NOT_RAR = N_("not a readable RAR archive")
ENCRYPTED = N_("names encrypted, not searched")
METHOD = N_("names compressed with a method dqm does not read")
PAST_BOUND = N_("past the bound read")
TOO_MANY = N_("more members than dqm reads in one archive")


class _Bad(Exception):
    """Not a readable archive (the reason given by the caller)."""


class _Why(Exception):
    """An archive read in part: ``args[0]`` is why (a msgid)."""


class _Reader:
    """A header's bytes read forward, each count checked against what is left."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise _Bad
        self.pos += 1
        return self.data[self.pos - 1]

    def take(self, n: int) -> bytes:
        if n < 0 or n > len(self.data) - self.pos:
            raise _Bad
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def number(self) -> int:
        """7z's variable-length number: the first byte's leading ones count the bytes that follow."""
        first = self.byte()
        mask = 0x80
        value = 0
        for i in range(8):
            if not first & mask:
                return value | ((first & (mask - 1)) << (8 * i))
            value |= self.byte() << (8 * i)
            mask >>= 1
        return value

    def count(self, each: int = 1) -> int:
        """A number of items each at least ``each`` bytes (or bits, where ``each`` is 0: an eighth of
        a byte): more than the bytes left is no archive (2⁴⁰ entries never loop)."""
        n = self.number()
        if (n * each if each else n // 8) > len(self.data) - self.pos:
            raise _Bad
        return n

    def vint(self) -> int:
        """RAR 5's variable-length number: 7 bits a byte, low first, at most 10 bytes."""
        value = 0
        for i in range(10):
            b = self.byte()
            value |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                return value
        raise _Bad


def _bits(r: _Reader, n: int) -> list[bool]:
    """A 7z bit field of ``n`` items (``n`` checked against the bytes left)."""
    if n > 8 * (len(r.data) - r.pos):
        raise _Bad
    data = r.take((n + 7) // 8)
    return [bool(data[i // 8] & (0x80 >> (i % 8))) for i in range(n)]


def _defined(r: _Reader, n: int) -> int:
    """How many of ``n`` items are defined (7z's "all defined" byte, else a bit field)."""
    if r.byte():
        return n
    return sum(_bits(r, n))


class _Folder:
    """A 7z folder's coders (method id, properties), as read."""

    def __init__(self) -> None:
        self.coders: list[tuple[bytes, bytes]] = []
        self.outs = 0


def _folder(r: _Reader) -> _Folder:
    folder = _Folder()
    ins = 0
    for _ in range(r.count()):
        flag = r.byte()
        method = r.take(flag & 0x0F)
        n_in, n_out = (r.count(), r.count()) if flag & 0x10 else (1, 1)
        props = r.take(r.count()) if flag & 0x20 else b""
        if flag & 0x80:  # alternative methods: none in any 7-Zip written since 2000
            raise _Bad
        folder.coders.append((method, props))
        ins += n_in
        folder.outs += n_out
    if not folder.coders:
        raise _Bad
    for _ in range(folder.outs - 1):  # bind pairs
        r.number()
        r.number()
    packed = ins - (folder.outs - 1)
    if packed > 1:
        for _ in range(packed):
            r.number()
    return folder


def _streams(r: _Reader) -> tuple[int, list[int], list[_Folder], list[list[int]]]:
    """A 7z ``StreamsInfo``: where the packed streams start, their sizes, the folders and each
    folder's unpacked sizes."""
    pack_pos = 0
    sizes: list[int] = []
    folders: list[_Folder] = []
    unpack: list[list[int]] = []
    kind = r.byte()
    if kind == 0x06:  # PackInfo
        pack_pos = r.number()
        n = r.count()
        while (kind := r.byte()) != 0x00:
            if kind == 0x09:
                sizes = [r.number() for _ in range(n)]
            elif kind == 0x0A:
                r.take(4 * _defined(r, n))
            else:
                raise _Bad
        kind = r.byte()
    if kind == 0x07:  # UnpackInfo
        if r.byte() != 0x0B or (n_folders := r.count()) < 0 or r.byte() != 0:  # external folders: none
            raise _Bad
        folders = [_folder(r) for _ in range(n_folders)]
        if r.byte() != 0x0C:
            raise _Bad
        unpack = [[r.number() for _ in range(f.outs)] for f in folders]
        while (kind := r.byte()) != 0x00:
            if kind == 0x0A:
                r.take(4 * _defined(r, len(folders)))
            else:
                raise _Bad
        kind = r.byte()
    if kind == 0x08:  # SubStreamsInfo
        streams = [1] * len(folders)
        kind = r.byte()
        if kind == 0x0D:
            streams = [r.count(0) for _ in folders]
            kind = r.byte()
        if kind == 0x09:
            for n in streams:
                for _ in range(n - 1):
                    r.number()
            kind = r.byte()
        if kind == 0x0A:
            r.take(4 * _defined(r, sum(streams)))
            kind = r.byte()
        if kind != 0x00:
            raise _Bad
        kind = r.byte()
    if kind != 0x00:
        raise _Bad
    return pack_pos, sizes, folders, unpack


_LZMA = b"\x03\x01\x01"
_LZMA2 = b"\x21"
_COPY = b"\x00"
_AES = b"\x06\xf1\x07\x01"


def _decoded(fh: BinaryIO, end: int, r: _Reader, room: list[int]) -> bytes:
    """A 7z encoded header (``kEncodedHeader``) decoded: one folder of one coder (LZMA, LZMA2 or
    none), at most :data:`MAX_ARCHIVE_HEADER` bytes out; encrypted, another method or bigger is why."""
    pack_pos, sizes, folders, unpack = _streams(r)
    if len(folders) != 1 or len(sizes) != 1:
        raise _Bad
    methods = [m for m, _ in folders[0].coders]
    if _AES in methods:
        raise _Why(ENCRYPTED)
    if len(methods) != 1 or methods[0] not in (_LZMA, _LZMA2, _COPY):
        raise _Why(METHOD)
    size, out = sizes[0], unpack[0][-1]
    if out > min(MAX_ARCHIVE_HEADER, room[0]) or size > min(MAX_ARCHIVE_HEADER, room[0]):
        raise _Why(PAST_BOUND)
    room[0] -= size + out
    if 32 + pack_pos + size > end:
        raise _Bad
    fh.seek(32 + pack_pos)
    packed = fh.read(size)
    if len(packed) != size:
        raise _Bad
    method, props = folders[0].coders[0]
    if method == _COPY:
        return packed[:out]
    if method == _LZMA:
        if len(props) != 5 or props[0] >= 9 * 5 * 5:
            raise _Bad
        lc, rest = props[0] % 9, props[0] // 9
        flt = {"id": lzma.FILTER_LZMA1, "lc": lc, "lp": rest % 5, "pb": rest // 5}
        # a dictionary bigger than the header is never used: not allocated (a claimed 4 GB one)
        flt["dict_size"] = max(4096, min(struct.unpack("<I", props[1:5])[0], out))
    else:
        if len(props) != 1 or props[0] > 40:
            raise _Bad
        bits = props[0]
        claimed = (2 | (bits & 1)) << (bits // 2 + 11) if bits < 40 else 1 << 32
        flt = {"id": lzma.FILTER_LZMA2, "dict_size": max(4096, min(claimed, out))}
    try:
        data = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[flt]).decompress(packed, max_length=out)
    except lzma.LZMAError:
        raise _Bad from None
    if len(data) != out:
        raise _Bad
    return data


def _seven_z_names(fh: BinaryIO, names: list[str], room: list[int]) -> str | None:
    start = fh.read(32)
    if len(start) != 32 or not start.startswith(SEVEN_Z_MAGIC):
        raise _Bad
    crc, offset, size, header_crc = struct.unpack("<IQQI", start[8:32])
    if zlib.crc32(start[12:32]) != crc:
        raise _Bad
    end = fh.seek(0, 2)
    if size == 0:
        return None
    if 32 + offset + size > end:
        raise _Bad
    if size > min(MAX_ARCHIVE_HEADER, room[0]):
        raise _Why(PAST_BOUND)
    room[0] -= size
    fh.seek(32 + offset)
    data = fh.read(size)
    if len(data) != size or zlib.crc32(data) != header_crc:
        raise _Bad
    r = _Reader(data)
    kind = r.byte()
    if kind == 0x17:
        r = _Reader(_decoded(fh, end, r, room))
        kind = r.byte()
    if kind != 0x01:
        raise _Bad
    kind = r.byte()
    if kind == 0x02:  # ArchiveProperties
        while r.byte() != 0:
            r.take(r.count())
        kind = r.byte()
    if kind == 0x03:  # AdditionalStreamsInfo
        _streams(r)
        kind = r.byte()
    if kind == 0x04:  # MainStreamsInfo
        _streams(r)
        kind = r.byte()
    if kind == 0x05:  # FilesInfo
        n_files = r.count()
        while (kind := r.byte()) != 0x00:
            prop = r.take(r.count())
            if kind != 0x11:
                continue
            if not prop or prop[0]:  # names in another stream (external): none written
                raise _Bad
            listed = prop[1:]
            if len(listed) % 2:
                raise _Bad
            text = listed.decode("utf-16-le", "replace").split("\0")
            if text[-1]:
                raise _Bad  # the last name has no end
            text = text[:-1]
            if len(text) != n_files:
                raise _Bad
            if len(text) > MAX_NAMES:
                names.extend(text[:MAX_NAMES])
                return TOO_MANY
            names.extend(text)
        kind = r.byte()
    if kind != 0x00:
        raise _Bad
    return None


class _Window:
    """A file's bytes read :data:`_WINDOW` at a time, where the next ones asked for lie within the
    last read (a run of headers: one read, not a seek and read each); past them, read again."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.start = 0
        self.data = b""

    def get(self, at: int, n: int) -> bytes:
        """The ``n`` bytes at ``at`` (fewer at the end of the file)."""
        if not (self.start <= at and at + n <= self.start + len(self.data)):
            self.fh.seek(at)
            self.start = at
            self.data = self.fh.read(max(n, _WINDOW))
        return self.data[at - self.start : at - self.start + n]


def _rar5_names(fh: BinaryIO, names: list[str], end: int, room: list[int]) -> str | None:
    at = len(RAR5_MAGIC)
    read = 0
    window = _Window(fh)
    for _ in range(MAX_HEADERS):
        if at >= end:
            break
        head = window.get(at, 4 + 3)
        if len(head) < 5:
            raise _Bad
        r = _Reader(head[4:])
        size = r.vint()
        if size == 0 or size > 2 * 1024 * 1024:  # the format's bound on a header
            raise _Bad
        body_at = at + 4 + r.pos
        read += size
        if read > MAX_ARCHIVE_HEADER or size > room[0]:
            return PAST_BOUND
        room[0] -= size
        body = window.get(body_at, size)
        if len(body) != size or zlib.crc32(head[4 : 4 + r.pos] + body) != struct.unpack("<I", head[:4])[0]:
            raise _Bad
        b = _Reader(body)
        kind = b.vint()
        flags = b.vint()
        if flags & 0x01:
            b.vint()
        data_size = b.vint() if flags & 0x02 else 0
        if kind == 4:  # archive encryption: every header after it encrypted
            return ENCRYPTED
        if kind == 5:  # end of archive
            return None
        if kind == 2:  # a file
            file_flags = b.vint()
            b.vint()  # unpacked size
            b.vint()  # attributes
            if file_flags & 0x02:
                b.take(4)
            if file_flags & 0x04:
                b.take(4)
            b.vint()  # compression
            b.vint()  # host
            names.append(b.take(b.vint()).decode("utf-8", "replace"))
            if len(names) > MAX_NAMES:
                names.pop()
                return TOO_MANY
        at = body_at + size + data_size
    else:
        return PAST_BOUND  # more headers than read
    raise _Bad  # no end-of-archive header: cut


def _rar4_unicode(plain: bytes, encoded: bytes) -> str:
    """A RAR 4 name's encoded Unicode part decoded as unrar's ``EncodeFileName::Decode`` does (a
    high byte, then two flag bits a character: a low byte alone, with the high byte, a UTF-16 unit,
    or a run copied from the ``plain`` name, corrected), to its first NUL ("": none). A run asked
    past the plain name ends it: each turn of the loop adds a character, so a name of megabytes of
    such runs costs no more than one of 2,048 characters (they were walked to their end: 2 s CPU
    for 4 MB of names, "all searched")."""
    units: list[int] = []
    pos = 1
    high = encoded[0] if encoded else 0
    flags = bits = 0
    while pos < len(encoded) and len(units) < 2048:
        if not bits:
            flags, bits = encoded[pos], 8
            pos += 1
            if pos >= len(encoded):
                break
        mode = flags >> 6
        if mode == 0:
            units.append(encoded[pos])
            pos += 1
        elif mode == 1:
            units.append(encoded[pos] | high << 8)
            pos += 1
        elif mode == 2:
            if pos + 1 >= len(encoded):
                break
            units.append(encoded[pos] | encoded[pos + 1] << 8)
            pos += 2
        else:
            length = encoded[pos]
            pos += 1
            if len(units) >= len(plain):
                break  # a run past the plain name adds nothing: what follows is no name's
            if length & 0x80:
                if pos >= len(encoded):
                    break
                correction = encoded[pos]
                pos += 1
                for _ in range((length & 0x7F) + 2):
                    if len(units) >= len(plain):
                        break
                    units.append(((plain[len(units)] + correction) & 0xFF) | high << 8)
            else:
                for _ in range(length + 2):
                    if len(units) >= len(plain):
                        break
                    units.append(plain[len(units)])
        flags = (flags << 2) & 0xFF
        bits -= 2
    text = struct.pack(f"<{len(units)}H", *units).decode("utf-16-le", "replace")
    return text.split("\0", 1)[0]


def _rar4_names(fh: BinaryIO, names: list[str], end: int, room: list[int]) -> str | None:
    at = len(RAR4_MAGIC)
    read = 0
    window = _Window(fh)
    for _ in range(MAX_HEADERS):
        if at >= end:
            break
        head = window.get(at, 7)
        if len(head) < 7:
            raise _Bad
        _, kind, flags, size = struct.unpack("<HBHH", head)
        if size < 7:
            raise _Bad
        body = window.get(at + 7, size - 7)
        read += size
        if read > MAX_ARCHIVE_HEADER or size > room[0]:
            return PAST_BOUND
        room[0] -= size
        if len(body) != size - 7:
            raise _Bad
        add = struct.unpack("<I", body[:4])[0] if flags & 0x8000 and len(body) >= 4 else 0
        if kind == 0x73 and flags & 0x0080:  # the main header: the headers are encrypted
            return ENCRYPTED
        if kind == 0x7B:  # end of archive
            return None
        if kind == 0x74:  # a file
            at_name = 25 + (8 if flags & 0x100 else 0)  # a large file: the high halves of its sizes first
            if len(body) < at_name:
                raise _Bad
            name_size = struct.unpack("<H", body[19:21])[0]
            raw = body[at_name : at_name + name_size]
            if len(raw) != name_size:
                raise _Bad
            unicode = ""
            if flags & 0x200 and b"\0" in raw:  # the Unicode name, encoded, after the plain one
                raw, encoded = raw.split(b"\0", 1)
                unicode = _rar4_unicode(raw, encoded)
            if unicode:
                names.append(unicode)
            else:  # UTF-8 (a Unicode name with no encoded part), else the OEM code page: CP949
                try:
                    names.append(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    names.append(raw.decode("cp949", "replace"))
            if len(names) > MAX_NAMES:
                names.pop()
                return TOO_MANY
            if flags & 0x100:
                add += struct.unpack("<I", body[25:29])[0] << 32
        at += size + add
    else:
        return PAST_BOUND  # more headers than read
    return None


def archive_names(fh: BinaryIO, ext: str, names: list[str], room: list[int] | None = None) -> str | None:
    """Append the member names of the 7z (``ext`` ``.7z``) or RAR archive ``fh`` to ``names``
    (known by its first bytes; a ``.7z`` that is a RAR is read as one); why not all (None: all).
    ``room``: the header bytes the batch's archives may still read or decode, less what this one did
    (10,000 archives of 16 MB headers are not 10,000 times :data:`MAX_ARCHIVE_HEADER`)."""
    room = [MAX_ARCHIVE_HEADER] if room is None else room
    fh.seek(0)
    magic = fh.read(8)
    fh.seek(0)
    try:
        if magic.startswith(SEVEN_Z_MAGIC):
            return _seven_z_names(fh, names, room)
        end = fh.seek(0, 2)
        if magic.startswith(RAR5_MAGIC):
            return _rar5_names(fh, names, end, room)
        if magic.startswith(RAR4_MAGIC):
            return _rar4_names(fh, names, end, room)
    except _Why as why:
        return str(why.args[0])
    except (_Bad, OSError, OverflowError, ValueError):
        pass
    except Exception:  # a reader's bug on a hostile header: not readable, never the audit stopped
        pass
    return NOT_7Z if ext == ".7z" else NOT_RAR
