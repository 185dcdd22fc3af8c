"""The params models of the two checks whose values are needed before any check runs:
``slide.header``'s plausible resolutions and objective powers (the probe's choice of a resolution,
the diversity table's objective range) and ``geometry.bounds``' tolerance (whether an annotation
fits the image it is put beside). The checks (:mod:`validators.slide`, :mod:`validators.geometry`)
declare these models; :mod:`dqm.probe_mpp` reads a profile's values through them, so one rule
validates a value wherever it is read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dqm.coords import PLAUSIBLE_MPP, PLAUSIBLE_OBJECTIVE_POWER
from dqm.slide_io import FIT_TOLERANCE_PX


class HeaderParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    mpp_min: float = Field(
        PLAUSIBLE_MPP[0], gt=0, description="Smallest plausible level-0 resolution, µm per pixel."
    )
    mpp_max: float = Field(
        PLAUSIBLE_MPP[1], gt=0, description="Largest plausible level-0 resolution, µm per pixel."
    )
    objective_min: float = Field(
        PLAUSIBLE_OBJECTIVE_POWER[0], gt=0, description="Smallest plausible objective power."
    )
    objective_max: float = Field(
        PLAUSIBLE_OBJECTIVE_POWER[1], gt=0, description="Largest plausible objective power."
    )
    anisotropy_tolerance: float = Field(0.02, ge=0, description="Relative mpp-x / mpp-y difference allowed.")
    mpp_objective_range: tuple[float, float] = Field(
        (4.0, 20.0), description="Plausible range of mpp × objective power (10 at 20× 0.5 µm/px)."
    )
    pyramid_min_side: int = Field(
        10_000, ge=1, description="A level 0 at least this long on a side should have a pyramid."
    )


class BoundsParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    tolerance_px: float = Field(
        FIT_TOLERANCE_PX, ge=0, description="Pixels a vertex may lie beyond the edge."
    )
