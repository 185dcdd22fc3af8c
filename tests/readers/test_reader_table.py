"""The table of readers: every format module shows the same face, and detection, the list of
formats, the UNKNOWN_FORMAT messages and the de-identification XML formats follow the table."""

from __future__ import annotations

import inspect
import pkgutil
from typing import get_args

import pytest

import dqm.readers
from dqm.readers import FORMATS, READERS, XML_FORMATS, parse_annotation
from dqm.readers.common.reader import Role, Syntax

NOT_FORMATS = {"common", "native_schema", "items"}
"""Modules of dqm/readers that are not formats: the shared helpers, the native format's schema and
the choice of an item's annotation in a multi-image file."""


def test_every_format_module_is_in_the_table_once() -> None:
    modules = {m.name for m in pkgutil.iter_modules(dqm.readers.__path__)} - NOT_FORMATS
    assert sorted(modules) == sorted(r.__name__.rsplit(".", 1)[-1] for r in READERS)
    assert len(set(FORMATS)) == len(FORMATS) == len(READERS)


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.NAME)
def test_every_format_shows_the_same_face(reader) -> None:
    assert reader.__name__.rsplit(".", 1)[-1] == reader.NAME
    assert isinstance(reader.TITLE, str) and reader.TITLE
    assert reader.ROLE in get_args(Role) and reader.SYNTAX in get_args(Syntax)
    assert (reader.ROOT is not None) == (reader.SYNTAX == "xml")
    assert list(inspect.signature(reader.looks).parameters)[1:] == ["rel"]
    assert len(inspect.signature(reader.read).parameters) == 3
    assert inspect.getdoc(reader.looks) and inspect.getdoc(reader.read)


def test_the_table_order_is_the_detection_order() -> None:
    """``<Annotations>`` is both ImageScope's and HALO's root: HALO's looks() defers to ImageScope."""
    assert FORMATS == ("native", "qupath", "asap", "imagescope", "halo", "coco", "dsa", "mask")
    assert XML_FORMATS == {r.NAME for r in READERS if r.SYNTAX == "xml"} == {"asap", "imagescope", "halo"}


def test_unknown_format_messages_name_every_format() -> None:
    (xml,) = parse_annotation(b"<svg/>", "a.xml")
    (text,) = parse_annotation(b"slide_id,class\n", "a.csv")
    for ann in (xml, text):
        assert [i.code for i in ann.issues] == ["UNKNOWN_FORMAT"] and not ann.readable
    assert xml.issues[0].message == (
        "XML with root <svg> is not ASAP (<ASAP_Annotations>), ImageScope or HALO (<Annotations>)"
    )
    assert text.issues[0].message == (
        "not a recognised annotation format (expected JSON: native, QuPath GeoJSON, COCO, DSA; "
        "or XML: ASAP, ImageScope, HALO; or an image: label mask (PNG/TIFF/BMP))"
    )
    for reader in READERS:
        assert reader.TITLE in text.issues[0].message


def test_the_deid_scan_knows_the_xml_formats_of_the_table() -> None:
    import validators.deid

    assert validators.deid.XML_FORMATS is XML_FORMATS
