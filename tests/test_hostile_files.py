"""Hostile content in the files dqm decodes: slides whose header lies about their size or tiles,
plain images that decompress to gigabytes, XML that declares external entities.

Each is a finding with a reason that names the file by its place in the batch (never by the host's
folders), within bounded time and memory.
"""

from __future__ import annotations

import pytest

from dqm.readers import parse_annotation

ASAP = (
    '<ASAP_Annotations><Annotations><Annotation Name="{name}" PartOfGroup="bcc" Type="Polygon">'
    '<Coordinates><Coordinate Order="0" X="0" Y="0"/><Coordinate Order="1" X="10" Y="0"/>'
    '<Coordinate Order="2" X="10" Y="10"/></Coordinates></Annotation></Annotations></ASAP_Annotations>'
)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE r [<!ENTITY % x SYSTEM "file:///etc/passwd"> %x;]>',
    ],
    ids=["general", "parameter"],
)
def test_an_external_entity_is_refused_as_one_and_nothing_of_the_host_file_is_read(doctype: str) -> None:
    data = ('<?xml version="1.0"?>' + doctype + ASAP.format(name="&x;")).encode()
    (ann,) = parse_annotation(data, "annotations/S1.xml")
    (issue,) = ann.issues
    assert issue.code == "XML_FORBIDDEN"
    assert "external" in issue.message and "file:///etc/passwd" in issue.message
    assert "root:" not in repr(ann)


def test_an_entity_with_a_huge_name_is_refused_in_a_short_message() -> None:
    name = "e" * 1_000_000
    data = f'<!DOCTYPE r [<!ENTITY {name} "x">]>{ASAP.format(name="a")}'.encode()
    (ann,) = parse_annotation(data, "annotations/S1.xml")
    (issue,) = ann.issues
    assert issue.code == "XML_FORBIDDEN" and len(issue.message) < 400
