"""dqm's checks, and the engine that configures and runs them. Importing this package registers
every check in :data:`REGISTRY` (check ``X.y`` lives in ``validators/X.py``)."""

from validators import clinical, deid, file, format, geometry, schema, slide  # noqa: F401
from validators.engine import CRASH_CODE, ConfiguredCheck, configure, crash_finding, run_checks
from validators.registry import REGISTRY, CheckSpec, check

__all__ = [
    "CRASH_CODE",
    "REGISTRY",
    "CheckSpec",
    "ConfiguredCheck",
    "check",
    "configure",
    "crash_finding",
    "run_checks",
]
