"""Registration of a functional image to an anatomical one (SimpleITK; Qt-free). See docs/registration.md.

SimpleITK loads on first use (inside the functions), so importing this package is cheap.
"""

from __future__ import annotations

from .engine import DEFAULT, RegistrationCancelled, RegistrationError, Settings, register
from .transform import LPS_TO_RAS, TRANSFORM_SUFFIXES, Transform, registration_frame

__all__ = ["Transform", "register", "Settings", "DEFAULT", "RegistrationCancelled", "RegistrationError",
           "registration_frame", "LPS_TO_RAS", "TRANSFORM_SUFFIXES"]
