"""The native annotation format: one JSON file per slide, modelled on the AI-Hub label files.

These pydantic models are the contract. ``docs/native-annotation.schema.json`` is generated from
them (``dqm schema native``) and a test keeps the two equal. Validation is strict: a string
where a number belongs is a structure error, never silently converted.

Coordinates are level-0 pixels ``[x, y]`` (see :mod:`dqm.coords`); polygons follow GeoJSON
(first ring the shell, the others holes; closing vertex optional).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT_TAG = "dqm.annotation/1"


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


Vertex = Annotated[list[float], Field(min_length=2, max_length=2)]
LinearRing = list[Vertex]


class PolygonGeometry(_Strict):
    """A GeoJSON Polygon: ``coordinates`` is ``[shell, hole, ...]``."""

    type: Literal["Polygon"]
    coordinates: list[LinearRing]


class MultiPolygonGeometry(_Strict):
    """A GeoJSON MultiPolygon: ``coordinates`` is a list of polygons."""

    type: Literal["MultiPolygon"]
    coordinates: list[list[LinearRing]]


Geometry = Annotated[PolygonGeometry | MultiPolygonGeometry, Field(discriminator="type")]


class SlideInfo(_Strict):
    """The slide the annotation was drawn on."""

    file: str = Field(description="Slide file name, as delivered.")
    width: int = Field(description="Level-0 width in pixels.")
    height: int = Field(description="Level-0 height in pixels.")
    mpp: float | None = Field(None, description="Micrometres per level-0 pixel.")
    objective_power: float | None = Field(None, description="Scanning magnification, e.g. 20.")


class LesionRecord(_Strict):
    """One lesion: a class and its outline."""

    id: int | str | None = Field(None, description="Annotator's lesion id, free form.")
    class_: str = Field(alias="class", description="Class id, name or alias from the profile.")
    geometry: Geometry
    properties: dict[str, Any] = Field(default_factory=dict, description="Free-form extras.")


class NativeAnnotation(_Strict):
    """A native dqm annotation file."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        title="dqm native annotation",
        json_schema_extra={"$id": "https://dqm.invalid/schemas/native-annotation.schema.json"},
    )

    format: Literal["dqm.annotation/1"] | None = Field(
        None, description="Format tag; optional, but when present it must be this value."
    )
    slide: SlideInfo
    lesions: list[LesionRecord]
    clinical: dict[str, Any] = Field(
        description="Clinical record; its fields and domains come from the profile."
    )


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of the native format."""
    schema = NativeAnnotation.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
