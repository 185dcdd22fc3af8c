"""dqm's checks. Importing this package registers every check in :data:`REGISTRY`."""

from validators import clinical, deid, file, format, geometry, readers, schema, slide  # noqa: F401
from validators.registry import REGISTRY, CheckSpec, check

__all__ = ["REGISTRY", "CheckSpec", "check"]
