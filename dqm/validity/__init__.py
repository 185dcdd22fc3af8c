"""Validity: can the batch teach a segmentation model? A MONAI run scored by Dice per class.

Importing this package is cheap (pydantic models and the profile loader); torch and monai are
imported by the functions that train and predict. Entry points: :func:`run_validity` (a batch
folder) and :func:`validity_stage` (an audit stage), both in :mod:`dqm.validity.run`.
"""

from dqm.validity.models import ValidityResult
from dqm.validity.settings import ValidityProfile, ValidityProfileError, load_validity_profile

__all__ = ["ValidityProfile", "ValidityProfileError", "ValidityResult", "load_validity_profile"]
