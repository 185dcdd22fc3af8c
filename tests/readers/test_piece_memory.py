"""What a QuPath or native file read in pieces holds."""

from __future__ import annotations

import json

from dqm.readers import parse_annotation

_TRI = [[[0, 0], [1, 0], [0, 1]]]


def _feature(geometry: object = None, properties: object = None) -> dict[str, object]:
    out: dict[str, object] = {"type": "Feature"}
    if geometry is not None:
        out["geometry"] = geometry
    if properties is not None:
        out["properties"] = properties
    return out


def test_a_feature_issue_message_is_made_once() -> None:
    """A file of features without a class (or a geometry) holds one issue a feature until its read
    ends: their message is one object (a message is some 560 bytes), its text as before."""
    features = [_feature({"type": "Polygon", "coordinates": _TRI}) for _ in range(3)] + [_feature()] * 2
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    issues = parse_annotation(data, "a.geojson")[0].issues
    unclassified = [i for i in issues if i.code == "CLASS_MISSING"]
    no_geometry = [i for i in issues if i.code == "MISSING_KEY"]
    assert len(unclassified) == 5 and len(no_geometry) == 2
    assert all(i.message is unclassified[0].message for i in unclassified)
    assert no_geometry[0].message is no_geometry[1].message
    assert unclassified[0].message == "the feature has no classification: its lesion class is unknown"
    assert no_geometry[0].message == "a feature needs a geometry object"
