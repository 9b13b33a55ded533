"""Typed, user-facing errors of the io layer: each names the file and the reason in one line."""

from __future__ import annotations

from pathlib import Path


class MedFuseError(Exception):
    """Base of every error MedFuse reports to a user (GUI dialog, CLI one-line message)."""


class LoadError(MedFuseError):
    """A file or folder could not be read as an image or volume."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot open {self.path}: {reason}")


class UnsupportedFormatError(LoadError):
    """The file is not in a format MedFuse reads."""


class MixedSeriesError(LoadError):
    """A DICOM folder holds more than one series (or inconsistent slices)."""


class GeometryError(MedFuseError):
    """Two images cannot be put on one grid (no overlap, mismatched shapes, missing geometry)."""


class WriteError(MedFuseError):
    """An output could not be written (exists and not forced, no permission, disk full)."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot write {self.path}: {reason}")


class InputTooLargeError(LoadError):
    """The file declares more decoded pixels than the configured limit (checked before any pixel is decoded)."""


class SpecialFileError(LoadError):
    """The path is a FIFO, a device, a socket or something else than a regular file or folder."""


class NonFiniteError(LoadError):
    """The image holds no finite value at all (every voxel NaN or infinite)."""
