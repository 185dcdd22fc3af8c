"""Safe XML parsing for the XML annotation formats (ASAP, Aperio ImageScope, HALO).

Every XML byte goes through defusedxml: entity declarations (billion laughs, quadratic blow-up)
and external references (XXE) are refused and reported as ``XML_FORBIDDEN``; malformed XML is
``INVALID_XML`` with its line and column. Locations inside a document are XPath-like paths with
1-based positions among same-named siblings, e.g.
``/ASAP_Annotations/Annotations/Annotation[2]/Coordinates/Coordinate[5]``.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from dqm.findings import clip
from dqm.i18n import N_, msg
from dqm.identifiers import (
    KEY_TEXT,
    SCHEMA_KEYS,
    XML_ELEMENTS,
    identifying_key,
    identifying_word,
    key_holds_text,
    mask,
    plain_key,
    reader_keys,
)
from dqm.model import ReadIssue
from dqm.readers.common.base import utf8_boms, wide_encoding

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def looks_like_xml(data: bytes) -> bool:
    """True when the bytes start (after a byte-order mark and blanks) with ``<``, in UTF-16 with
    no byte-order mark too (the parser reads either order: a big-endian one was not XML)."""
    if data.startswith(UTF16_BOMS):
        return True
    wide = wide_encoding(data)
    if wide is not None:
        return data[:256].decode(wide[0], "ignore").lstrip()[:1] == "<"
    head = data[utf8_boms(data) :]  # every mark: two made the file UNKNOWN_FORMAT
    return head.lstrip()[:1] == b"<"


MALFORMED = N_("malformed XML")
XML_REASONS = (
    N_("no element found"),
    N_("mismatched tag"),
    N_("undefined entity"),
    N_("not well-formed (invalid token)"),
    N_("junk after document element"),
    N_("unclosed token"),
    N_("syntax error"),
    N_("duplicate attribute"),
    N_("unbound prefix"),
    N_("unclosed CDATA section"),
    N_("XML or text declaration not at start of entity"),
    N_("reference to invalid character number"),
)
"""The reasons expat gives for XML that is not well-formed, as msgids: an ``INVALID_XML``
message's ``{_reason}`` (another reason is shown as expat words it)."""


def parse_xml(data: bytes) -> tuple[Element | None, list[ReadIssue]]:
    """Parse XML bytes safely; ``(root, [])`` or ``(None, [issue])``."""
    import defusedxml
    from defusedxml import ElementTree as SafeTree

    try:
        parser = SafeTree.DefusedXMLParser(
            target=TreeBuilder(), forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
        parser.parser.StartDoctypeDeclHandler = _no_external_dtd
        for piece in _as_utf8(data):
            parser.feed(piece)
        return parser.close(), []
    except UnicodeDecodeError as exc:
        why = msg(
            "not {encoding} as its declaration says: byte 0x{byte:02x} at offset {offset:,}",
            encoding=exc.encoding.upper(),
            byte=exc.object[exc.start],
            offset=exc.start,
        )
        return None, [ReadIssue("INVALID_ENCODING", why)]
    except EncodingRefused as exc:
        return None, [ReadIssue("INVALID_ENCODING", exc.why)]
    except defusedxml.EntitiesForbidden as exc:
        name, sysid = getattr(exc, "name", None), getattr(exc, "sysid", None)
        if sysid:  # an entity declared with SYSTEM: an external entity, refused before it is read
            return None, [_external(sysid)]
        text = (
            msg(
                "entity {name!r} is declared: entity declarations are refused (entity expansion attack)",
                name=clip(name, 60),
            )
            if name
            else msg("an entity is declared: entity declarations are refused (entity expansion attack)")
        )
        return None, [ReadIssue("XML_FORBIDDEN", text)]
    except ExternalDtd as exc:
        return None, [_external(exc.sysid or exc.pubid, dtd=True)]
    except defusedxml.ExternalReferenceForbidden as exc:
        return None, [_external(getattr(exc, "sysid", None))]
    except defusedxml.DTDForbidden:  # pragma: no cover - forbid_dtd is False
        return None, [ReadIssue("XML_FORBIDDEN", msg("a document type declaration is refused"))]
    except defusedxml.DefusedXmlException as exc:
        return None, [
            ReadIssue("XML_FORBIDDEN", msg("refused by defusedxml: {error}", error=type(exc).__name__))
        ]
    except ParseError as exc:
        line, col = getattr(exc, "position", (None, None))
        reason = str(exc).split(":")[0] or MALFORMED
        return None, [
            ReadIssue(
                "INVALID_XML",
                msg("not well-formed XML: {_reason}", _reason=reason),
                line=line,
                char=col + 1 if isinstance(col, int) else None,
            )
        ]
    except (ValueError, RecursionError) as exc:
        return None, [
            ReadIssue("INVALID_XML", msg("not well-formed XML: {reason}", reason=type(exc).__name__))
        ]


MAX_NOTES = 64
"""Comments and processing instructions of one XML file kept for the de-identification checks."""
MAX_NOTE_BYTES = 16 * 1024
"""Bytes of one kept (the checks search a value's first 10,000 characters)."""
_NOTES = (("comment()", b"<!--", b"-->"), ("processing-instruction()", b"<?", b"?>"))
_DECLARED = re.compile(rb"""^<\?xml[^>]{0,200}?\sencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]{0,39})["']""")


def xml_encoding(data: bytes) -> str:
    """The codec XML ``data`` is read in, as expat reads it: a wide encoding by its byte-order mark
    or, without one, by the zero bytes around its first ``<``; else the encoding its declaration
    names (when it is one of a byte a character, as pyexpat takes them); else UTF-8."""
    wide = wide_encoding(data)
    if wide is not None:
        return wide[0]
    declared = _DECLARED.match(data.removeprefix(codecs.BOM_UTF8))
    if declared is not None and (
        _one_byte(name := declared[1].decode("ascii").lower()) or _codec(name) in MULTIBYTE_CODECS
    ):
        return codecs.lookup(name).name  # "UTF-8" as "utf-8": not decoded again
    return "utf-8"


MULTIBYTE_CODECS = frozenset(
    {
        "euc_kr",
        "cp949",
        "shift_jis",
        "cp932",
        "euc_jp",
        "gb2312",
        "gbk",
        "gb18030",
        "big5",
        "cp950",
        "big5hkscs",
    }
)
"""The codecs of several bytes a character a declaration may name, which expat does not read
(Korean, Japanese, Chinese): such a file is decoded in it. Others that keep ASCII as it is
(``ISO-2022-KR``, ``idna``, ``UTF-7``) are no file's encoding a scanner or a viewer writes: refused."""
_EXPAT_READS = frozenset({"utf-8", "utf-16", "utf-16-le", "utf-16-be"})


class EncodingRefused(Exception):
    """The declared encoding is not read (:func:`_as_utf8`): ``why`` says so."""

    def __init__(self, why: Any) -> None:
        super().__init__(str(why))
        self.why = why


CONVERTED_PIECE = 1024 * 1024
"""Bytes of a file in a codec of :data:`MULTIBYTE_CODECS` decoded at a time, each given to the
parser as UTF-8 before the next: the whole file decoded, then encoded, held 3.5 times the file's
size at once (140 MB for 40 MB of EUC-KR, 1.8 GB at ``limits.annotation_bytes``)."""


def _as_utf8(data: bytes) -> Iterator[bytes]:
    """XML ``data`` the parser takes, in pieces: as it is, unless its declaration names a codec of
    :data:`MULTIBYTE_CODECS` (``EUC-KR``, ``CP949``, ``Shift_JIS``: expat reads none, and a
    well-formed Korean file was 'not well-formed XML: ValueError'); such a file is decoded in it
    and given as UTF-8, its declaration saying so (its lines stay where they are), a
    :data:`CONVERTED_PIECE` at a time. Raises
    :class:`UnicodeDecodeError` where the bytes are not in the declared codec, and
    :class:`EncodingRefused` where the declaration names a codec neither expat nor this reads, or
    one of several bytes after a UTF-8 byte-order mark (which of the two is right is not known)."""
    if wide_encoding(data) is not None or data.startswith(UTF16_BOMS):
        yield data
        return
    body = data.removeprefix(codecs.BOM_UTF8)  # as xml_encoding() reads the declaration
    declared = _DECLARED.match(body)
    if declared is None:
        yield data
        return
    named = declared[1].decode("ascii")
    codec = _codec(named)
    if codec is None or (
        codec not in MULTIBYTE_CODECS and codec not in _EXPAT_READS and not _one_byte(codec)
    ):
        raise EncodingRefused(
            msg(
                "its declaration names the encoding {encoding!r}, which is not read (UTF-8, UTF-16, "
                "one byte a character, or EUC-KR, CP949, Shift_JIS, EUC-JP, GB2312, GBK, GB18030, Big5)",
                encoding=named,
            )
        )
    if codec not in MULTIBYTE_CODECS:
        yield data
        return
    if body is not data:
        raise EncodingRefused(
            msg(
                "a UTF-8 byte-order mark, but its declaration says {encoding}: which of the two is "
                "right is not known; save it as UTF-8",
                encoding=named,
            )
        )
    yield data[: declared.start(1)] + b"UTF-8"  # ASCII: the codec writes it as it is
    decoder = codecs.getincrementaldecoder(codec)()
    view = memoryview(data)
    try:
        for at in range(declared.end(1), len(data), CONVERTED_PIECE):
            yield decoder.decode(view[at : at + CONVERTED_PIECE]).encode("utf-8")
        yield decoder.decode(b"", final=True).encode("utf-8")
    except UnicodeDecodeError:
        data.decode(codec)  # raised again with the offset in the file, not in its piece
        raise


def _codec(name: str) -> str | None:
    """Python's name of the codec ``name`` (``EUC-KR`` as ``euc_kr``); None where it has none."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _one_byte(codec: str) -> bool:
    """Whether ``codec`` is a text encoding of one character a byte: the only ones the parser
    takes besides UTF-8 and UTF-16 (pyexpat decodes the 256 bytes to make expat's table)."""
    try:
        return len(bytes(range(256)).decode(codec, "replace")) == 256
    except (LookupError, UnicodeError, ValueError, TypeError):
        return False


_NOTE_MARKS = b"<!-- --> <? ?>"
"""What :func:`xml_notes` searches the bytes for: a codec that writes them as ASCII does (UTF-8, one
byte a character, :data:`MULTIBYTE_CODECS`, whose second bytes are never below 0x40) is searched
as it is, each note decoded alone; a file in another (UTF-16, UTF-32) is decoded a
:data:`CONVERTED_PIECE` at a time, each piece searched as UTF-8."""


def xml_notes(data: bytes) -> dict[str, str]:
    """The comments and processing instructions of XML ``data`` (not the XML declaration), keyed
    by their XPath (``/comment()[1]``): the parser drops them, and an identifier written there is
    in the delivered file all the same. At most :data:`MAX_NOTES` of each, read in the file's
    encoding (:func:`xml_encoding`; an undecodable byte replaced), each note decoded alone
    (:data:`_NOTE_MARKS`: a 40 MB EUC-KR file was decoded and encoded whole, 120 MB), a UTF-16 or
    UTF-32 file a piece at a time (:func:`_utf8_pieces`: decoded whole, 16 MB of UTF-16 held 40 MB
    more, a 475 MiB one 1 GB). One pass: each search for an end starts where the last note ended."""
    codec = xml_encoding(data)
    pieces: Iterator[bytes] = iter((data,))
    if _NOTE_MARKS.decode(codec, "replace") != _NOTE_MARKS.decode("ascii"):  # UTF-16, UTF-32
        pieces, codec = _utf8_pieces(data, codec), "utf-8"
    scans = [_NoteScan(kind, opener, closer) for kind, opener, closer in _NOTES]
    for piece in pieces:
        for scan in scans:
            scan.feed(piece)
        if all(len(scan.found) == MAX_NOTES for scan in scans):
            break
    return {
        f"/{scan.kind}[{k}]": raw.decode(codec, "replace").strip()
        for scan in scans
        for k, raw in enumerate(scan.found, 1)
    }


def _utf8_pieces(data: bytes, codec: str) -> Iterator[bytes]:
    """``data`` in ``codec`` as UTF-8, a :data:`CONVERTED_PIECE` of it at a time (an undecodable
    byte replaced)."""
    decoder = codecs.getincrementaldecoder(codec)("replace")
    view = memoryview(data)
    for at in range(0, len(data), CONVERTED_PIECE):
        yield decoder.decode(view[at : at + CONVERTED_PIECE]).encode("utf-8", "replace")
    yield decoder.decode(b"", final=True).encode("utf-8", "replace")


class _NoteScan:
    """The notes of one kind (:data:`_NOTES`) in a file given in pieces (:meth:`feed`), as one
    search of the whole file finds them: a note's first :data:`MAX_NOTE_BYTES`, at most
    :data:`MAX_NOTES` of them, not the XML declaration (the first instruction, when it is one), none
    past an opener never closed. Holds a note's kept bytes and a mark's first bytes between pieces."""

    def __init__(self, kind: str, opener: bytes, closer: bytes) -> None:
        self.kind, self.opener, self.closer = kind, opener, closer
        self.found: list[bytes] = []
        self.note: bytearray | None = None  # the note being read; None: searching for an opener
        self.tail = b""  # the last piece's end that may start a mark
        self.first = True

    def feed(self, piece: bytes) -> None:
        buf = self.tail + piece if self.tail else piece  # one piece: the file's bytes, not copied
        pos = 0
        while len(self.found) < MAX_NOTES:
            if self.note is None:
                start = buf.find(self.opener, pos)
                if start < 0:
                    self.tail = buf[max(pos, len(buf) - len(self.opener) + 1) :]
                    return
                self.note, pos = bytearray(), start + len(self.opener)
            end = buf.find(self.closer, pos)
            stop = end if end >= 0 else max(pos, len(buf) - len(self.closer) + 1)
            self.note += buf[pos : min(stop, pos + MAX_NOTE_BYTES - len(self.note))]
            if end < 0:
                self.tail = buf[stop:]
                return
            raw, self.note, pos = bytes(self.note), None, end + len(self.closer)
            declaration = self.first and self.kind != "comment()" and raw[:3] == b"xml" and raw[3:4].isspace()
            self.first = False
            if not declaration:  # the XML declaration is the first instruction, and not kept
                self.found.append(raw)
        self.tail = b""


class ExternalDtd(Exception):
    """A document type declaration that names an external DTD (:func:`_no_external_dtd`)."""

    def __init__(self, name: str, base: str | None, sysid: str | None, pubid: str | None) -> None:
        super().__init__(name, base, sysid, pubid)
        self.sysid = sysid
        self.pubid = pubid


def _no_external_dtd(name: str, sysid: str | None, pubid: str | None, internal: bool) -> None:
    """Refuse a document type declaration that names an external DTD (``<!DOCTYPE x SYSTEM
    "http://…">``): expat does not fetch it, but it is an external reference like an external
    entity's and was accepted without a word. An internal subset alone is checked entity by
    entity."""
    if sysid is not None or pubid is not None:  # SYSTEM "" too: it names the document itself
        raise ExternalDtd(name, None, sysid, pubid)


def _external(sysid: str | None, dtd: bool = False) -> ReadIssue:
    """``XML_FORBIDDEN`` for an external entity or DTD named ``sysid``, shown masked as every path
    a file names (it may hold an identifier: ``PT-2023 Hong Gildong.dtd``)."""
    shown = mask(sysid[:200]) + ("…" if len(sysid) > 200 else "") if sysid else ""
    if dtd:
        text = (
            msg("the document type names an external DTD {sysid!r}: it is refused", sysid=shown)
            if shown
            else msg("the document type names an external DTD: it is refused")
        )
    else:
        text = (
            msg("external reference {sysid!r} is refused (XML external entity)", sysid=shown)
            if shown
            else msg("an external reference is refused (XML external entity)")
        )
    return ReadIssue("XML_FORBIDDEN", text)


_NUMBER = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*\Z")
_VERTEX_ATTRIBUTES = frozenset({"X", "Y", "Z", "Order"})
"""The attributes of a vertex (ASAP's ``Coordinate``, ImageScope's and HALO's ``Vertex``): numbers,
read as the outline, and not looked at again (a file may hold millions)."""


MAX_PATH_DEPTH = 64
"""Elements a kept text's XPath names at most: a deeper element is named from its ancestor at this
depth (``…/descendant::a[3]``, counting its descendants of that tag in the file's order, as XPath
does: an empty one too, passed over otherwise) and
searched all the same; below the first element past this depth whose tag names a person, from that
element (``…/descendant::PatientName[1]/descendant::a[2]``: the path shows the tag, what is below is
that person's; a path names two such steps at most). Built whole, the paths of a tree nested 20,000
deep held 1 GB."""
MAX_TEXTS = 10_000
"""Distinct texts of one XML file kept for the de-identification checks."""
MAX_TEXT_CHARS = 4_000_000
"""Characters of those texts kept in all; past either cap the file's other texts are not searched
(:class:`XmlTexts` says where searching stopped)."""


MAX_TAGS = 10_000
"""Tags of one XML file kept beside an element's path (:func:`xml_texts`), apart from its texts:
each tag more than a plain word once, and a tag naming a person again where a text is kept below."""


@dataclass(slots=True)
class _Tag:
    """An element whose tag names a person (:func:`xml_texts`): its path, its tag, the nearest such
    element above it, and whether its tag is kept beside its path yet."""

    at: str
    tag: str
    above: _Tag | None
    kept: bool


@dataclass(slots=True)
class _Anchor:
    """An element past whose depth :func:`xml_texts` numbers what is below it (the ancestor at
    :data:`MAX_PATH_DEPTH`, or the first element past it whose tag names a person): its path, its
    descendants' tags as their paths name them, how many of each were met so far, in the file's
    order, and the anchor above it (a person's element's: the ancestor at that depth, which counts
    the elements below the person's too). Held by the elements still to walk below it alone: gone
    when its subtree ends (the walk is depth-first), so a file holds two at most at a time."""

    path: str
    above: _Anchor | None = None
    tags: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def number(self, tag: str) -> str:
        """The path of the next element of tag ``tag`` below this anchor, counted here and above."""
        if self.above is not None:
            self.above.number(tag)
        shown = _element_name(tag, self.tags)
        k = self.counts[shown] = self.counts.get(shown, 0) + 1
        return f"{self.path}/descendant::{shown}[{k}]"


@dataclass(frozen=True, slots=True)
class XmlTexts:
    """What :func:`xml_texts` keeps: the texts by XPath, and the XPath of the first text past a
    cap (None when every text was kept)."""

    texts: dict[str, str]
    stopped_at: str | None = None


class _Full(Exception):
    """A cap of :func:`xml_texts` met at ``where``."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def xml_texts(root: Element, held: set[str]) -> XmlTexts:
    """The text of an XML tree the reader did not make a lesion's (an attribute no reader reads, a
    layer with no region, a point, an element's text), keyed by its XPath (``/ASAP_Annotations/
    AnnotationGroups[1]/Group[2]/@Name``, ``…/text()[1]`` for an element's own text,
    ``…/B[2]/following-sibling::text()[1]`` for the text after a child: where XPath finds it, as
    lxml's ``xpath()`` evaluates it, whatever blank text nodes come before it; a comment or
    processing instruction splits a text the parser reads whole, and the path names its first
    part; a tag or an attribute's name no format defines is named by its position instead,
    :data:`XML_ELEMENTS`, :func:`_attribute_at`): each distinct text once, at its first
    place, where nothing names a person, and once more where something does (below a tag or
    under an attribute naming one: there it is that person's value), not a number (but where
    something names a person, the built-in identifier keys or the profile's: ``PatientID=
    "87654321"``, ``<DOB>19900101</DOB>``; such numbers count toward the caps), not in
    ``held`` (what the lesions hold: searched there already, as where nothing names a
    person). One pass
    over the tree; a vertex that has only its coordinates is passed over without a path built.
    Paths name at most :data:`MAX_PATH_DEPTH` elements; at most :data:`MAX_TEXTS` texts of
    :data:`MAX_TEXT_CHARS` characters in all are kept, and at most :data:`MAX_TAGS` tags beside them."""
    out: dict[str, str] = {}
    # each text once where nothing names a person, and once more below a tag or under an attribute
    # that names one: there it is that person's value (<Note>Kim</Note>…<PatientName>Kim</PatientName>
    # kept the first alone, and the name went unflagged); the lesions' texts were searched neutral
    seen, seen_named = set(held), set[str]()
    room = MAX_TEXT_CHARS
    names_kept = 0  # attributes' names kept beside their paths: not texts of the cap

    names: dict[str, bool] = {}  # by attribute name or tag: whether it names a person (identifying_key)

    def add(
        text: str | None,
        where: str | Callable[[], tuple[str, str | None]],
        named: bool = False,
        person: bool = False,
    ) -> None:
        """Keep ``text`` at ``where``: ``named``, under an attribute that names a person;
        ``person``, below an element whose tag names one (a number kept too in either)."""
        nonlocal room, names_kept
        if text is None or text.isspace() or not text:
            return
        text = text.strip()
        met = seen_named if named or person else seen
        if text not in met and (named or person or not _NUMBER.match(text)):
            name = None
            if not isinstance(where, str):  # an attribute: named by its position where no format defines it
                where, name = where()
            if len(out) - names_kept - n_tags >= MAX_TEXTS or len(text) > room:
                raise _Full(where)
            met.add(text)
            room -= len(text)
            out[where] = text
            claim(owner)
            if name is not None:  # its name searched as the path holding it was
                out[where + KEY_TEXT] = name
                names_kept += 1

    tags_kept: set[str] = set()  # the tags kept at their first place (each searched once)
    holds: dict[str, bool] = {}  # by tag no format defines: whether it is more than a plain word
    n_tags = 0  # the tags kept beside a path: not texts of MAX_TEXTS, at most MAX_TAGS of their own
    tags_stop: list[str] = []  # where the first tag past MAX_TAGS was (the texts are still kept)

    def keep_tag(at: str, tag: str) -> None:
        # past the tags' own cap the tags stop, not the texts: 12,000 empty <김민수{i}/> before a
        # <Note> holding an RRN left the note unsearched (review of the third XML round)
        nonlocal n_tags
        if n_tags >= MAX_TAGS:
            if not tags_stop:
                tags_stop.append(at)
            return
        out[at + KEY_TEXT] = tag
        n_tags += 1

    def tag_kept(element: Element, at: str, above: _Tag | None) -> _Tag | None:
        """An element's tag named by its position and more than a plain word (``<김민수>``), or in a
        namespace (kept whole: its URI, ``urn:Hong Gildong``, is the file's text too): kept
        beside its path at its first place, searched as the path holding it was; a tag naming a
        person (``<Patient_Name_Hong>``) kept again beside each element of it that holds a kept
        text, itself or below, so that text is flagged. ``above``: the nearest
        such element above; returns the one for what is below ``element``."""
        tag = local(element.tag)
        if (whole := _tag_text(element.tag)) == tag and (_by_name(tag) or not key_holds_text(tag)):
            return above
        first = whole not in tags_kept
        if first:
            tags_kept.add(whole)
            keep_tag(at, whole)
        return _Tag(at, whole, above, first) if identifying_key(tag) else above

    def claim(owner: _Tag | None) -> None:
        """A text kept where ``owner`` is the nearest tag naming a person above: that tag, and each
        such above it, kept beside its element's path where it was not yet."""
        while owner is not None and not owner.kept:
            keep_tag(owner.at, owner.tag)
            owner.kept = True
            owner = owner.above

    # an element, its path, its depth, the nearest element above whose tag names a person and is
    # named by its position, whether that path already shows a tag naming a person (a step, or the
    # element numbered from), and past MAX_PATH_DEPTH the anchor its path is numbered from (a path
    # None: an element with nothing to search past it, only counted there)
    stack: list[tuple[Element, str | None, int, _Tag | None, bool, _Anchor | None]] = [
        (root, "/" + _element_name(local(root.tag), {}), 1, None, False, None)
    ]
    try:
        while stack:
            element, path, depth, owner, linked, anchor = stack.pop()
            if anchor is not None:  # past MAX_PATH_DEPTH: numbered from the anchor
                numbered = anchor.number(local(element.tag))
                if path is None:  # counted alone
                    continue
                path = numbered
            assert path is not None  # only an element past MAX_PATH_DEPTH is counted alone
            owner = tag_kept(element, path, owner)
            if (person := names.get(element.tag)) is None:
                person = names[element.tag] = identifying_key(local(element.tag))
            person = person or linked  # it or an element above names a person
            if depth >= MAX_PATH_DEPTH and (anchor is None or (person and not linked)):
                # what is below is numbered from here: the ancestor at MAX_PATH_DEPTH, or the first
                # element past it naming a person (its path shows this tag, by its name or, kept
                # beside this path, by its position, and stays bounded: once under a person, no
                # other element is numbered from); the ancestor still counts what is below it
                anchor = _Anchor(path, anchor)
            shown: dict[str, str] = {}  # the element's attributes as paths name them, once worked out
            for name, value in element.attrib.items():
                if (named := names.get(name)) is None:
                    named = names[name] = identifying_key(local(name))
                add(value, functools.partial(_attribute_at, path, element, name, shown), named, person)
            add(element.text, f"{path}/text()[1]", person=person)
            counts: dict[str, int] = {}  # by the name the path shows: p:N and q:N are both N
            tags: dict[str, str] = {}  # the children's tags no format defines, by their position
            deeper: list[tuple[Element, str | None, int, _Tag | None, bool, _Anchor | None]] = []
            for child in element:
                tag = _element_name(local(child.tag), tags)
                n = counts[tag] = counts.get(tag, 0) + 1
                text, tail = child.text, child.tail
                if tail and not tail.isspace():  # the text node right after the child
                    add(tail, f"{path}/{tag}[{n}]/following-sibling::text()[1]", person=person)
                if (
                    len(child)
                    or (text and not text.isspace())
                    or not child.attrib.keys() <= _VERTEX_ATTRIBUTES
                    or (tag != child.tag and _holds_text(child.tag, tags_kept, holds))  # an empty one's
                ):
                    at = f"{path}/{tag}[{n}]" if anchor is None else ""  # past it: numbered when met
                    deeper.append((child, at, depth + 1, owner, person, anchor))
                elif anchor is not None:  # XPath's descendant:: counts it: counted when met, in order
                    deeper.append((child, None, depth + 1, owner, person, anchor))
            stack.extend(reversed(deeper))  # the file's order: a text met twice is kept at its first place
    except _Full as full:
        return XmlTexts(out, tags_stop[0] if tags_stop else full.where)
    return XmlTexts(out, tags_stop[0] if tags_stop else None)


def _tag_text(tag: object) -> str:
    """An element's tag as :func:`xml_texts` keeps it: whole in a namespace (``{urn:Hong
    Gildong}Foo``: the URI is the file's text), else without one (:func:`local`)."""
    return tag if isinstance(tag, str) and tag.startswith("{") else local(tag)


def _holds_text(full: object, kept: set[str], holds: dict[str, bool]) -> bool:
    """Whether an element with nothing else to search (``<RRN_900101-1234567/>``), its tag ``full``
    named by its position or in a namespace, is looked at for that tag: more than a plain word
    (:func:`dqm.identifiers.key_holds_text`, remembered in ``holds``), not yet kept (``kept``)."""
    tag = _tag_text(full)
    if tag in kept:
        return False
    if (held := holds.get(tag)) is None:
        held = holds[tag] = key_holds_text(tag)
    return held


def _by_name(tag: str) -> bool:
    """Whether a path names an element by its tag: one of :data:`XML_ELEMENTS`, or a plain word
    that is all of it a key naming a person (``PatientName``: :class:`dqm.identifiers.KeyNames`)."""
    return tag in XML_ELEMENTS or (plain_key(tag) and identifying_word(tag))


def _element_name(tag: str, met: dict[str, str]) -> str:
    """``tag`` as a path names it (:data:`XML_ELEMENTS`); ``met``: the tags no format defines met
    among its siblings so far, each with its position (added to)."""
    if _by_name(tag):
        return tag
    if (shown := met.get(tag)) is None:
        shown = met[tag] = f"#{len(met) + 1}"
    return shown


def _attribute_at(path: str, element: Element, name: str, shown: dict[str, str]) -> tuple[str, str | None]:
    """The XPath of ``element``'s attribute ``name`` (``…/@Name``), and the name where the path
    names the attribute by its position among the element's attributes no format defines
    (``…/@#2``, :class:`dqm.identifiers.KeyNames`: the name may be a person's) and the name is more
    than a plain word (:func:`dqm.identifiers.key_holds_text`: it is searched as the path was).
    An attribute in a namespace (``a:Kim``, ``{urn:a}Kim``) is named by its position whatever its
    local name: no format defines one, its namespace's URI is the file's text (``urn:Hong
    Gildong``), and ``a:Kim`` and ``b:Kim`` are two attributes, two positions (by their local name
    they were one path, the second's value taking the first's place). ``shown``: the element's
    names by full name, worked out at its first attribute kept (an element of many attributes costs
    one pass)."""
    if name in SCHEMA_KEYS:
        return f"{path}/@{name}", None
    if not shown:
        keys, n = reader_keys(), 0
        for full in element.attrib:
            if full in SCHEMA_KEYS:
                continue
            n += 1
            shown[full] = full if not full.startswith("{") and keys.by_name(full) else f"#{n}"
    at = shown.get(name, "#?")
    return f"{path}/@{at}", None if at == name or not key_holds_text(name) else name


def local(tag: object) -> str:
    """An element's tag without a namespace (``{ns}Region`` -> ``Region``)."""
    text = tag if isinstance(tag, str) else ""
    return text.rsplit("}", 1)[-1]


def children(parent: Element, tag: str, path: str) -> Iterator[tuple[Element, str]]:
    """Direct children named ``tag`` with their XPath-like paths (1-based positions)."""
    n = 0
    for child in parent:
        if local(child.tag) == tag:
            n += 1
            yield child, f"{path}/{tag}[{n}]"


def first(parent: Element, tag: str) -> Element | None:
    """The first direct child named ``tag``."""
    for child in parent:
        if local(child.tag) == tag:
            return child
    return None


def number(value: Any) -> float | None:
    """An attribute as a float, or None when it is missing or not a number (``inf``/``nan`` kept:
    the geometry checks report them)."""
    if not isinstance(value, str):
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def not_a_number(value: str | None, attr: str) -> str:
    """Why an attribute is not a number, naming the likely cause."""
    if value is None:
        return msg("attribute {attr} is missing", attr=attr)
    if "," in value and number(value.replace(",", ".")) is not None:
        return msg("{attr}={value!r} is not a number (decimal comma?)", attr=attr, value=clip(value, 40))
    return msg("{attr}={value!r} is not a number", attr=attr, value=clip(value, 40))
