"""Hypothesis strategies for structural mutations of real annotation files and of whole batches.

A JSON or XML file is parsed once, trimmed (a list of objects keeps its first few, an element its
first few children, so one example stays cheap) and then mutated where it is structured: a value
anywhere replaced by a hostile one (nesting thousands deep, numbers of thousands of digits,
non-finite and extreme numbers, wrong types), a key duplicated, an entry dropped. The text is then
re-encoded (UTF-16/32, byte-order marks, invalid UTF-8) and may be cut at any byte.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

KEEP = 4
"""Objects kept of a list of objects, children kept of an XML element."""
KEEP_CHILDREN = 8


class Raw(str):
    """JSON text written as it is (a number no float can hold, ``NaN``, nesting too deep to build)."""


class Pairs(list):
    """A JSON object as (key, value) pairs: keys may repeat."""


def dumps(value: Any) -> str:
    """JSON text of ``value``; :class:`Raw` verbatim, :class:`Pairs` with their repeated keys."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in value) + "}"
    if isinstance(value, dict):
        return dumps(Pairs(value.items()))
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value)


def _trim(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _trim(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            value = value[:KEEP]
        return [_trim(v) for v in value]
    return value


@cache
def _json_doc(path: Path) -> Any:
    return _trim(json.loads(path.read_bytes()))


def _paths(value: Any, here: tuple = ()) -> list[tuple]:
    out = [here]
    if isinstance(value, Pairs):
        return out  # already mutated: a later mutation may replace it whole
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*here, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*here, i))
    return out


def _nested(depth: int, kind: str) -> Raw:
    if kind == "list":
        return Raw("[" * depth + "1" + "]" * depth)
    return Raw('{"a":' * depth + "1" + "}" * depth)


hostile_numbers = st.one_of(
    st.integers(20, 5000).map(lambda n: Raw("9" * n)),
    st.integers(20, 5000).map(lambda n: Raw("-" + "9" * n)),
    st.integers(20, 400).map(lambda n: Raw("0." + "0" * n + "1")),
    st.sampled_from(
        [Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e999"), Raw("-1e999"), Raw("1e-999")]
    ),
    st.sampled_from([1e308, -1e308, 5e-324, 2**31, -(2**31), 2**53 + 1, 2**63, -(2**63), 2**64, 0, -0.0]),
    st.floats(allow_nan=False, allow_infinity=False),
)
hostile_json = st.one_of(
    hostile_numbers,
    st.builds(_nested, st.integers(50, 3000), st.sampled_from(["list", "dict"])),
    # copied: a later mutation may reach into a drawn container, and the constants must stay as written
    st.sampled_from([None, True, "", [], {}, [[]], [[[]]], "NaN", "1e999"]).map(copy.deepcopy),
    st.integers(1000, 200_000).map(lambda n: "x" * n),
    st.text(max_size=20),
)


@st.composite
def json_mutations(draw, source: Path | dict) -> str:
    """The JSON file at ``source`` (or the document ``source``), trimmed, with one to three
    structural mutations, as text."""
    doc: Any = copy.deepcopy(_json_doc(source) if isinstance(source, Path) else _trim(source))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(_paths(doc)))
        kind = draw(st.sampled_from(["replace", "replace", "replace", "duplicate_key", "drop"]))
        doc = _mutate(doc, where, kind, draw)
    return dumps(doc)


def _mutate(doc: Any, where: tuple, kind: str, draw) -> Any:
    parent, key = None, None
    node = doc
    for step in where:
        parent, key, node = node, step, node[step]
    if kind == "duplicate_key" and isinstance(node, dict) and node:
        dup = draw(st.sampled_from(sorted(node)))
        pairs = Pairs(node.items())
        pairs.insert(draw(st.integers(0, len(pairs))), (dup, draw(hostile_json | st.just(node[dup]))))
        new: Any = pairs
    elif kind == "drop" and parent is not None:
        del parent[key]
        return doc
    else:
        new = draw(hostile_json)
    if parent is None:
        return new
    parent[key] = new
    return doc


# XML


@cache
def _xml_root(path: Path) -> ET.Element:
    root = ET.fromstring(path.read_bytes())
    for el in root.iter():
        del el[KEEP_CHILDREN:]
    return root


hostile_attribute = st.one_of(
    st.integers(20, 5000).map(lambda n: "9" * n),
    st.sampled_from(
        [
            "nan",
            "NaN",
            "inf",
            "-inf",
            "Infinity",
            "1e308",
            "-1e308",
            "1e999",
            "-1e999",
            "5e-324",
            "",
            " ",
            "0x10",
            "1,5",
            "١٢٣",
            "9223372036854775808",
            "-2147483649",
            "true",
            "None",
        ]
    ),
    st.floats().map(repr),
    st.text(max_size=20),
)


@st.composite
def xml_mutations(draw, path: Path) -> str:
    """The XML file at ``path``, trimmed, with one to three structural mutations, as text."""
    root = copy.deepcopy(_xml_root(path))
    duplicates: list[tuple[str, str]] = []
    nests: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        elements = list(root.iter())
        el = draw(st.sampled_from(elements))
        kind = draw(st.sampled_from(["attribute", "attribute", "nest", "drop", "copy", "duplicate", "text"]))
        if kind == "attribute" and el.attrib:
            el.set(draw(st.sampled_from(sorted(el.attrib))), draw(hostile_attribute))
        elif kind == "nest":  # written as text: ElementTree serialises and copies recursively
            tag = draw(st.sampled_from([el.tag, "Annotation", "x"]))
            depth = draw(st.integers(50, 3000))
            ET.SubElement(el, f"dqmnest{len(nests)}")
            nests.append(f"<{tag}>" * depth + f"</{tag}>" * depth)
        elif kind in ("drop", "copy") and len(el):
            child = draw(st.sampled_from(list(el)))
            if kind == "drop":
                el.remove(child)
            else:
                el.append(copy.deepcopy(child))
        elif kind == "duplicate" and el.attrib:
            name = draw(st.sampled_from(sorted(el.attrib)))
            marker = f"dqmdup{len(duplicates)}"
            el.set(marker, draw(hostile_attribute))
            duplicates.append((marker, name))
        else:
            el.text = draw(hostile_attribute)
    text = ET.tostring(root, encoding="unicode")
    for marker, name in duplicates:
        text = text.replace(f" {marker}=", f" {name}=", 1)
    for k, nest in enumerate(nests):
        text = text.replace(f"<dqmnest{k} />", nest)
    if draw(st.booleans()):
        text = draw(st.sampled_from(XML_PROLOGUES)) + text
    return text


XML_PROLOGUES = [
    '<?xml version="1.0" encoding="UTF-8"?>\n',
    '<?xml version="1.0" encoding="latin-1"?>\n',
    '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>\n',
    '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n',
]
"""Declarations an XML export may open with: a wrong encoding, entity expansion, an external entity."""


# bytes

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "latin-1"]


@st.composite
def as_bytes(draw, text: str) -> bytes:
    """``text`` encoded some way, maybe with invalid UTF-8 spliced in, maybe cut at any byte."""
    encoding = draw(st.sampled_from(ENCODINGS))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        pos = draw(st.integers(0, len(data)))
        junk = draw(
            st.sampled_from(
                [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00", b"\xef\xbb\xbf"]
            )
        )
        data = data[:pos] + junk + data[pos:]
    if draw(st.integers(0, 3)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


def mutated_file(path: Path) -> st.SearchStrategy[bytes]:
    """Bytes of a structurally mutated copy of the real JSON or XML file at ``path``."""
    text = xml_mutations(path) if path.read_bytes()[:200].lstrip().startswith(b"<") else json_mutations(path)
    return text.flatmap(as_bytes)
