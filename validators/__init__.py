"""dqm's checks and their engine.

Declaring a check (:mod:`validators.registry`), configuring it from the profile and running it
(:mod:`validators.engine`) live here; every other module is one family of checks, and check
``X.y`` is in ``validators/X.py``. Importing this package registers every check in
:data:`REGISTRY`.
"""

from validators import artefacts, clinical, deid, duplicates, file, format, geometry, schema, slide  # noqa: F401
from validators.registry import REGISTRY, CheckSpec, check

__all__ = ["REGISTRY", "CheckSpec", "check"]
