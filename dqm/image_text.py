"""The text an image file carries besides its pixels, for the identifier checks.

A scanner or an editor may write the patient or the accession number into any text tag of any page:
the label or macro page's ``ImageDescription``, a ``PageName``, a private ASCII tag, an XMP packet
(tag 700), the ICC profile's description (tag 34675). OpenSlide shows only the main page's usual tags, and Pillow none. :func:`tiff_texts`
walks the IFD chain itself and reads only the entries and the text values, never a pixel, within
fixed bounds: a file of 100,000 pages, an IFD of 65,535 entries, a 4 GB count or an offset past the
end costs no more than :data:`MAX_PAGES` pages of :data:`MAX_ENTRIES` entries, :data:`MAX_TEXTS`
values and :data:`MAX_TEXT_BYTES` of text. A plain image opened by Pillow shows its text in
:func:`pillow_texts`: a PNG's text chunks, a JPEG's comment, the EXIF text tags.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np

from dqm.i18n import N_

MAX_PAGES = 64
"""IFDs (pages) read; a slide holds a pyramid, a label and a macro, rarely more than 20."""
MAX_ENTRIES = 4096
"""Entries of one IFD read (a real one holds fewer than 50; a corrupt count may say 65,535)."""
VALUE_BYTES = 256 * 1024
"""Bytes of one text value read; the rest of it is not."""
MAX_TEXT_BYTES = 1 << 20
"""Bytes of text read from the whole file."""
MAX_TEXTS = 512
"""Text values read from the whole file (each becomes a property to search)."""
UNREAD = "dqm.unread"
"""The key under which :func:`tiff_texts` and :func:`pillow_texts` say where the first text they did
not read whole is (a cap met: a value past :data:`VALUE_BYTES`, the file's text past
:data:`MAX_TEXT_BYTES` or :data:`MAX_TEXTS`, an IFD past :data:`MAX_ENTRIES`, pages past
:data:`MAX_PAGES`), e.g. ``page 2 ImageDescription: 262,144 of 300,000 bytes``; the
slide probe keeps it apart (``SlideProbe.text_unread``), and the de-identification check reports it
(``DEID_SLIDE_UNSEARCHED``)."""

ASCII = 2
XMP = 700
ICC = 34675
MAX_ICC_TAGS = 64
"""Tags of an ICC profile looked at (a real one holds about 10 to 20)."""
TAG_NAMES = {
    269: "DocumentName",
    270: "ImageDescription",
    271: "Make",
    272: "Model",
    285: "PageName",
    305: "Software",
    306: "DateTime",
    315: "Artist",
    316: "HostComputer",
    XMP: "XMP",
    33432: "Copyright",
}
"""Names of the text tags a TIFF usually holds (the others are ``Tag<code>``), as OpenSlide names
the main page's (``tiff.ImageDescription``)."""


def _layout(head: bytes) -> tuple[str, bool, int] | None:
    """``(byte order, BigTIFF, first IFD offset)`` from the file's first 16 bytes, or None."""
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None or len(head) < 8:
        return None
    version = struct.unpack(order + "H", head[2:4])[0]
    if version == 42:
        return order, False, struct.unpack(order + "I", head[4:8])[0]
    if version == 43 and len(head) >= 16:
        return order, True, struct.unpack(order + "Q", head[8:16])[0]
    return None


def _entries(order: str, big: bool) -> np.dtype:
    size = "Q" if big else "I"
    return np.dtype(
        [("tag", order + "u2"), ("type", order + "u2"), ("count", order + size), ("value", order + size)]
    )


def tiff_texts(fh: BinaryIO) -> dict[str, list[tuple[int, str]]]:
    """The text tags (ASCII, the XMP packet, the ICC profile's text as ``ICC.<signature>``) of the file's first :data:`MAX_PAGES` pages, as
    ``{tag name: [(page, text), ...]}`` in page order; each text its first :data:`VALUE_BYTES`,
    decoded as UTF-8 (what is not is replaced), stripped of NULs and blanks at its ends. A loop in
    the chain, a short read or a bad header ends the walk with what was read so far."""
    out: dict[str, list[tuple[int, str]]] = {}
    try:
        fh.seek(0)
        layout = _layout(fh.read(16))
        if layout is not None:
            _walk(fh, *layout, out)
    except (OSError, OverflowError, ValueError):
        pass  # an offset past what the file or the system can seek to: what was read stands
    return out


def _walk(fh: BinaryIO, order: str, big: bool, offset: int, out: dict[str, list[tuple[int, str]]]) -> None:
    entry = _entries(order, big)
    count_fmt, offset_fmt = (order + "Q", order + "Q") if big else (order + "H", order + "I")
    count_size, offset_size = struct.calcsize(count_fmt), struct.calcsize(offset_fmt)
    budget, left, seen = MAX_TEXT_BYTES, MAX_TEXTS, set()

    def unread(page: int, what: str) -> None:
        out.setdefault(UNREAD, [(page, what)])  # the first place only

    for page in range(MAX_PAGES + 1):
        if not offset or offset in seen:
            break
        if page == MAX_PAGES:
            unread(page, f"pages past the first {MAX_PAGES}")
            break
        seen.add(offset)
        fh.seek(offset)
        raw = fh.read(count_size)
        if len(raw) < count_size:
            break
        n = struct.unpack(count_fmt, raw)[0]
        shown = min(n, MAX_ENTRIES)
        if n > shown:
            unread(page, f"page {page}: {n - shown:,} entries past the first {MAX_ENTRIES:,}")
        table = fh.read(shown * entry.itemsize)
        if len(table) < shown * entry.itemsize:
            break
        if n == shown:
            tail = fh.read(offset_size)
            offset = struct.unpack(offset_fmt, tail)[0] if len(tail) == offset_size else 0
        else:
            offset = 0  # past the entries read: the chain is not followed
        rows = np.frombuffer(table, entry)
        tags, kinds = rows["tag"], rows["type"]  # compared value by value: np.isin costs 8 µs a call
        texts = rows[(kinds == ASCII) | (((tags == XMP) | (tags == ICC)) & ((kinds == 1) | (kinds == 7)))]
        for tag, _, count, value in texts.tolist():
            name = TAG_NAMES.get(tag, "ICC" if tag == ICC else f"Tag{tag}")
            if not count:
                continue
            if budget <= 0 or left <= 0:
                unread(
                    page,
                    f"page {page} {name} and the text after it ({MAX_TEXTS} values, {MAX_TEXT_BYTES:,} bytes read)",
                )
                break
            n_bytes = min(count, VALUE_BYTES, budget)
            if n_bytes < count:
                unread(page, f"page {page} {name}: {n_bytes:,} of {count:,} bytes")
            if count <= entry["value"].itemsize:  # held in the entry itself
                data = struct.pack(offset_fmt, value)[:n_bytes]
            else:
                fh.seek(value)
                data = fh.read(n_bytes)
            budget, left = budget - len(data), left - 1
            if tag == ICC:
                for sig, text in icc_texts(data):
                    out.setdefault(f"icc.{sig}", []).append((page, text))
                continue
            text = data.decode("utf-8", "replace").strip("\x00 \t\r\n")
            if text:
                out.setdefault(name, []).append((page, text))


def _icc_text(body: bytes) -> str:
    """The text of one ICC tag's data: ``desc`` (v2: a count, then ASCII), ``text`` (ASCII) or
    ``mluc`` (v4: records of UTF-16 text, at most 16 read); another type has none."""
    kind = body[:4]
    if kind == b"desc" and len(body) >= 12:
        text = body[12 : 12 + struct.unpack(">I", body[8:12])[0]].decode("latin-1")
    elif kind == b"text":
        text = body[8:].decode("latin-1")
    elif kind == b"mluc" and len(body) >= 16:
        n, size = struct.unpack(">II", body[8:16])
        parts = []
        for k in range(min(n, 16)):
            record = body[16 + k * size : 16 + k * size + 12]
            if size < 12 or len(record) < 12:
                break
            length, at = struct.unpack(">II", record[4:12])
            parts.append(body[at : at + length].decode("utf-16-be", "replace"))
        text = "\n".join(dict.fromkeys(parts))
    else:
        return ""
    return text.strip("\x00 \t\r\n")


def icc_texts(profile: bytes) -> list[tuple[str, str]]:
    """``(tag signature, text)`` of an ICC profile's text tags (its description, copyright, device
    maker and model), from its first :data:`MAX_ICC_TAGS` tags; a profile cut short gives the tags
    that are whole."""
    if len(profile) < 132:
        return []
    out = []
    for k in range(min(struct.unpack(">I", profile[128:132])[0], MAX_ICC_TAGS)):
        entry = profile[132 + 12 * k : 144 + 12 * k]
        if len(entry) < 12:
            break
        sig, at, size = struct.unpack(">4sII", entry)
        text = _icc_text(profile[at : at + min(size, VALUE_BYTES)])
        if text:
            out.append((sig.decode("latin-1").strip(), text))
    return out


EXIF_IFD = 0x8769
USER_COMMENT = 37510
WINDOWS_TEXT = range(0x9C9B, 0x9CA0)
"""``XPTitle``, ``XPComment``, ``XPAuthor``, ``XPKeywords``, ``XPSubject``: UTF-16 in bytes."""


def _user_comment(data: bytes) -> str:
    """EXIF ``UserComment``: an 8-byte character code, then the text (UTF-16 of either byte order
    for ``UNICODE``: the one with its zeros on the even bytes is big-endian)."""
    code, body = data[:8], data[8:]
    if code.startswith(b"UNICODE"):
        big = body[0::2].count(0) >= body[1::2].count(0)
        return body.decode("utf-16-be" if big else "utf-16-le", "replace")
    return body.decode("utf-8", "replace")


def _exif_texts(img: Any) -> Iterator[tuple[str, str]]:
    from PIL.ExifTags import TAGS

    exif = img.getexif()
    for ifd in (exif, exif.get_ifd(EXIF_IFD)):
        for tag, value in ifd.items():
            if isinstance(value, str):
                text = value
            elif isinstance(value, bytes) and tag == USER_COMMENT:
                text = _user_comment(value)
            elif isinstance(value, bytes) and tag in WINDOWS_TEXT:
                text = value.decode("utf-16-le", "replace")
            else:
                continue
            yield f"exif.{TAGS.get(tag, f'Tag{tag}')}", text


MAX_PNG_CHUNKS = 100_000
"""Chunks of a PNG walked past its pixels (:func:`png_text_chunks`): a header read and a seek
each; a file of millions of empty chunks stops here, said so."""
PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt", b"eXIf")
PNG_PIXELS = (b"IDAT", b"fdAT")


def png_text_chunks(fh: BinaryIO) -> tuple[list[tuple[str, Any]], str | None]:
    """Every text chunk (``tEXt``, ``zTXt``, ``iTXt``, ``eXIf``) of a PNG, in the file's order and
    each on its own (Pillow's ``img.info`` keeps one value a keyword, the last, so a ``Comment``
    before the pixels and another after them, or two before, hid all but one), as ``(keyword,
    text)`` (an eXIf block as ``("exif", bytes)``); and where the walk stopped short, or None.
    Pillow reads the chunks past the pixels only as it decodes them, which a PNG refused as too
    large never is.

    Each chunk's header is read and its data skipped by its length (the pixels are never read); a
    text chunk is read by Pillow's own PNG reader (its limits: 1 MiB of text a chunk decompressed,
    64 MiB in all), at most :data:`MAX_TEXT_BYTES` of them and :data:`MAX_PNG_CHUNKS` chunks walked.
    A file that ends inside a chunk, or a broken chunk header, stops the walk with a note."""
    from PIL import PngImagePlugin

    stream = PngImagePlugin.PngStream(fh)
    found: list[tuple[str, Any]] = []
    left = MAX_TEXT_BYTES
    try:
        end = fh.seek(0, 2)
        fh.seek(8)  # past the signature
        for _ in range(MAX_PNG_CHUNKS):
            cid, pos, length = stream.read()
            if cid == b"IEND":
                return found, None
            if pos + length + 4 > end:
                return found, f"PNG chunks past byte {pos - 8:,}: the file ends inside a chunk"
            if cid in PNG_TEXT_CHUNKS:
                if length > left:
                    return found, f"PNG text chunks past the first {MAX_TEXT_BYTES:,} bytes"
                left -= length
                stream.im_text.clear()
                stream.im_info.pop("exif", None)
                try:
                    stream.call(cid, pos, length)
                except (ValueError, SyntaxError, UnicodeDecodeError) as exc:  # over a limit, unknown
                    return found, f"PNG {cid.decode('latin-1')} chunk at byte {pos:,}: {exc}"
                if cid == b"eXIf" and "exif" in stream.im_info:
                    found.append(("exif", stream.im_info["exif"]))
                found += [(k, str(v)) for k, v in stream.im_text.items()]
            fh.seek(pos + length + 4)  # past its data and CRC, read or not
        return found, f"PNG chunks past the first {MAX_PNG_CHUNKS:,}"
    except (OSError, SyntaxError, struct.error) as exc:  # cut short, a broken chunk header
        return found, f"PNG chunks past byte {fh.tell():,}: {exc or type(exc).__name__}"


def _png_info(img: Any, path: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``img.info`` with a PNG's text entries replaced by every text chunk of the file at ``path``
    (:func:`png_text_chunks`), a keyword met again as ``keyword#2``, ``#3``…; a second EXIF block
    is said unsearched. Not a PNG, or no path: ``img.info`` as it is."""
    if img.format != "PNG" or path is None:
        return dict(img.info), []
    notes: list[tuple[str, str]] = []
    try:
        with open(path, "rb") as fh:
            chunks, note = png_text_chunks(fh)
    except OSError as exc:
        return dict(img.info), [(UNREAD, f"PNG text chunks: {exc}")]
    if note is not None:
        notes.append((UNREAD, note))
    info = {k: v for k, v in img.info.items() if not isinstance(v, str) and k != "exif"}
    for key, value in chunks:
        if key == "exif":
            if "exif" in info and info["exif"] != value:
                notes.append((UNREAD, "a second PNG exif block"))
            info.setdefault("exif", value)
            continue
        name, n = key, 1
        while name in info:
            n += 1
            name = f"{key}#{n}"
        info[name] = value
    return info, notes


def pillow_texts(img: Any, header_only: bool = False, path: Any = None) -> list[tuple[str, str]]:
    """The text of an image Pillow opened, as ``(property key, text)``: each text entry of
    ``img.info`` (a PNG's tEXt, zTXt and iTXt chunks, ``png.<keyword>``; a JPEG's or GIF's comment,
    ``jpeg.comment``; a JPEG's or WebP's XMP packet, ``jpeg.xmp``; the ICC profile's text tags, ``icc.<signature>``) and each EXIF text tag (``exif.<Tag>``, the Exif IFD's ``UserComment``
    included); at most :data:`MAX_TEXTS` values of :data:`VALUE_BYTES` characters, stripped of NULs
    and blanks at their ends. A corrupt EXIF block gives what was read before it. A PNG read from
    ``path`` has every text chunk read on its own, those past its pixels too, its pixels skipped
    (:func:`png_text_chunks`: a keyword written twice kept twice). ``header_only``: an image whose
    pixels must not be decoded (too large)."""
    fmt = (img.format or "image").lower()
    info, pairs = _png_info(img, path)
    full = False
    for key, value in info.items():
        if len(pairs) >= MAX_TEXTS:  # Pillow keeps up to 64 MB of a PNG's text chunks
            full = True
            break
        if isinstance(value, bytes) and key in ("comment", "xmp"):  # a JPEG's XMP packet is bytes
            pairs.append((f"{fmt}.{key}", value.decode("utf-8", "replace")))
        elif isinstance(value, bytes) and key == "icc_profile":
            pairs += [(f"icc.{sig}", text) for sig, text in icc_texts(value)]
        elif isinstance(value, str):
            pairs.append((f"{fmt}.{key}", value))
    # a PNG's EXIF after its pixels: Pillow decodes them all to reach it (a refused image: never)
    skip_exif = header_only and img.format == "PNG" and "exif" not in info
    if img.format == "PNG" and "exif" in info:
        img.info["exif"] = info["exif"]  # what getexif reads, past the pixels too
    try:
        for pair in () if skip_exif else _exif_texts(img):
            if len(pairs) >= MAX_TEXTS:
                full = True
                break
            pairs.append(pair)
    except (OSError, ValueError, SyntaxError, struct.error, KeyError, TypeError):
        pass  # a corrupt EXIF block: what was read stands
    out: list[tuple[str, str]] = []
    for key, text in pairs[:MAX_TEXTS]:
        cut = text[:VALUE_BYTES].strip("\x00 \t\r\n")
        if len(text) > VALUE_BYTES and not any(k == UNREAD for k, _ in out):
            out.append((UNREAD, f"{key}: {VALUE_BYTES:,} of {len(text):,} characters"))
        if cut:
            out.append((key, cut))
    if full and not any(k == UNREAD for k, _ in out):
        out.append((UNREAD, f"text values past the first {MAX_TEXTS}"))
    return out


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image_texts(fh: BinaryIO) -> str:
    """The text a TIFF (its text tags: :func:`tiff_texts`), a PNG (its text chunks:
    :func:`png_text_chunks`) or a JPEG (its comment, XMP, ICC and EXIF text: :func:`pillow_texts`
    of its header, never its pixels) carries, one value a line, for a slide no item reads (an
    orphan), within their bounds; another file, none (:func:`image_texts_why` says when a JPEG's
    header could not be read)."""
    return image_texts_why(fh)[0]


def image_texts_why(fh: BinaryIO) -> tuple[str, str | None]:
    """:func:`image_texts`, and why it is not all of the file's text (None: it is): a JPEG whose
    header Pillow cannot read."""
    fh.seek(0)
    head = fh.read(8)
    if head == PNG_SIGNATURE:
        chunks = png_text_chunks(fh)[0]
        return "\n".join(f"{key} {value}" for key, value in chunks if isinstance(value, str)), None
    if head[:3] == b"\xff\xd8\xff":
        from PIL import JpegImagePlugin, UnidentifiedImageError

        fh.seek(0)
        try:
            # JpegImageFile, not Image.open: a slide-sized header (20000 x 20000) is past
            # Image.open's guard against decompression bombs, and no pixel is decoded here
            with JpegImagePlugin.JpegImageFile(fh) as img:
                return "\n".join(f"{key} {text}" for key, text in pillow_texts(img, header_only=True)), None
        except (OSError, ValueError, SyntaxError, UnidentifiedImageError, EOFError, struct.error):
            return "", N_("a JPEG header that could not be read")
    return "\n".join(text for values in tiff_texts(fh).values() for _, text in values), None
