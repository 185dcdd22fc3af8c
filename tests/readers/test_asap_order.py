"""An ASAP ``Coordinate`` ``Order`` that contradicts the file's order (red team, session 28): not a
whole number, repeated, out of sequence or huge. ASAP draws the coordinates in the file's order,
and dqm reads them so; a tool that sorts by ``Order`` draws another outline, so a contradiction is
one ``VERTEX_ORDER`` warning an annotation, at the first coordinate that breaks the sequence."""

from __future__ import annotations

from pathlib import Path

import pytest

from dqm.profile import Profile
from dqm.readers import parse_annotation, resolve_classes

SQUARE = [(0, 0), (100, 0), (100, 100), (0, 100)]


def _doc(orders: list[str | None], pts=SQUARE) -> bytes:
    coords = "".join(
        f'<Coordinate{"" if o is None else f" Order={chr(34)}{o}{chr(34)}"} X="{x}" Y="{y}"/>'
        for o, (x, y) in zip(orders, pts, strict=True)
    )
    ann = f'<Annotation Name="A" Type="Polygon" PartOfGroup="BCC"><Coordinates>{coords}</Coordinates></Annotation>'
    return f"<ASAP_Annotations><Annotations>{ann}{ann}</Annotations></ASAP_Annotations>".encode()


@pytest.mark.parametrize(
    ("orders", "vertex", "said"),
    [
        (["0", "1", "x", "3"], 2, "coordinate 2's Order 'x' is not a whole number"),
        (["0", "1", "2.5", "3"], 2, "not a whole number"),
        (["0", "1", "-2", "3"], 2, "not a whole number"),
        (["0", "1", "1", "2"], 2, "coordinate 2's Order 1 repeats coordinate 1's"),
        (["0", "2", "1", "3"], 1, "coordinate 1's Order is 2, not 1"),
        (["0", "1", "2", "9" * 5000], 3, "cut: 5,000 characters], not 3"),  # int() refuses 4,300 digits
        (["0", "1", "2", "99999999"], 3, "coordinate 3's Order is 99999999, not 3"),
        (["5", "6", "7", "8"], 0, "coordinate 0's Order is 5, not 0"),
        (["0", None, "2", "0"], 3, "coordinate 3's Order 0 repeats coordinate 0's"),
        (["0", None, "1", "3"], 2, "coordinate 2's Order is 1, not 2"),  # coordinate 1 had none: no repeat
        ([None, "0", "1", "2"], 1, "coordinate 1's Order is 0, not 1"),
    ],
)
def test_a_malformed_order_is_a_warning_at_its_coordinate(
    profile: Profile, orders: list[str], vertex: int, said: str
) -> None:
    (ann,) = resolve_classes(parse_annotation(_doc(orders), "a.xml"), profile)
    found = [i for i in ann.issues if i.code == "VERTEX_ORDER"]
    assert [(i.lesion, i.vertex) for i in found] == [(0, vertex), (1, vertex)]  # one an annotation
    assert said in found[0].message and len(found[0].message) < 300
    assert found[0].pointer == (
        f"/ASAP_Annotations/Annotations/Annotation[1]/Coordinates/Coordinate[{vertex + 1}]/@Order"
    )
    assert [les.geometry.area for les in ann.lesions] == [10_000, 10_000]  # read in the file's order


@pytest.mark.parametrize(
    "orders",
    [
        ["0", "1", "2", "3"],
        ["1", "2", "3", "4"],
        [None] * 4,
        [" 0", "1 ", "2", "3"],
        ["0", None, "2", "3"],
        [None, "1", "2", "3"],  # the first coordinate without Order: the rest are still in their places
        [None, "2", "3", "4"],  # so, counted from one
        [None, None, "2", "3"],
        ["1", None, "3", "4"],
    ],
)
def test_an_order_that_agrees_with_the_file_is_no_finding(profile: Profile, orders: list[str | None]) -> None:
    """ASAP's own 0, 1, 2..., a writer counting from one, none at all."""
    (ann,) = resolve_classes(parse_annotation(_doc(orders), "a.xml"), profile)
    assert not [i for i in ann.issues if i.code == "VERTEX_ORDER"]


def test_the_finding_reaches_the_audit_as_a_warning(profile: Profile) -> None:
    """The check ``format.foreign_shapes`` forwards it, a warning (the outline is still read)."""
    from dqm.findings import Severity
    from dqm.model import Item
    from dqm.runner import run_item_checks
    from validators.context import FileStatus, ItemView
    from validators.engine import configure

    (ann,) = resolve_classes(parse_annotation(_doc(["0", "2", "1", "3"]), "ann/s1.xml"), profile)
    item = Item("s1", "slides/s1.svs", "ann/s1.xml", {}, None)
    view = ItemView(
        item, profile, ann, None, FileStatus(item.image_path, True), FileStatus(item.annotation_path, True)
    )
    found = [f for f in run_item_checks(view, configure(profile)) if f.code == "VERTEX_ORDER"]
    assert [(f.severity, f.location.vertex, f.check) for f in found] == [
        (Severity.WARNING, 1, "format.foreign_shapes")
    ] * 2


def test_no_real_asap_file_has_an_order_finding(real_data: Path) -> None:
    """The ASAP exports in the real data (ASAP, CAMELYON, other writers) are all read without one."""
    files = sorted((real_data / "annotations" / "asap").glob("*.xml"))
    assert len(files) >= 7
    for path in files:
        anns = parse_annotation(path.read_bytes(), path.name)
        assert sum(len(a.lesions) for a in anns) > 0, path.name
        assert not [i for a in anns for i in a.issues if i.code == "VERTEX_ORDER"], path.name
