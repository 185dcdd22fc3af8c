"""dqm's checks and their engine.

Declaring a check (:mod:`validators.registry`), configuring it from the profile and running it
(:mod:`validators.engine`) live here; every other module is one family of checks, and check
``X.y`` is in ``validators/X.py``. Importing this package registers every check in
:data:`REGISTRY`.
"""

from validators import (  # noqa: F401
    artefacts,
    checksum,
    clinical,
    deid,
    duplicates,
    file,
    format,
    geometry,
    order,
    schema,
    slide,
)
from validators.registry import REGISTRY, CheckSpec, check

__all__ = ["REGISTRY", "CheckSpec", "check"]
