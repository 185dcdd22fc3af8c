"""dqm: quality assurance and certification for histopathology lesion-segmentation datasets.

Importing :mod:`dqm` is cheap on purpose: torch, monai and great_expectations are imported only
by the modules that use them (validity, clinical-table validation).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
