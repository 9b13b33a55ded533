"""Loading, geometry and writing of images and volumes. Qt-free."""

from __future__ import annotations

from pathlib import Path

from .errors import GeometryError, LoadError, MedFuseError, MixedSeriesError, UnsupportedFormatError, WriteError
from .volume import Volume, default_window, to_unit

# The format readers (pydicom, nibabel, OpenCV, SciPy: ~0.8 s of imports) load on first use, which in the viewer is
# a worker thread: the window paints without waiting for them.
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

__all__ = ["Volume", "load", "align", "Alignment", "to_unit", "default_window", "reorient_for_display",
           "MedFuseError", "LoadError", "UnsupportedFormatError", "MixedSeriesError", "GeometryError", "WriteError"]


def align(functional: Volume, anatomical: Volume, transform=None):
    from .geometry import align as _align

    return _align(functional, anatomical, transform)


def reorient_for_display(volume: Volume) -> Volume:
    from .geometry import reorient_for_display as _reorient

    return _reorient(volume)


def __getattr__(name: str):
    if name == "Alignment":
        from .geometry import Alignment

        return Alignment
    raise AttributeError(name)

OPEN_FILTER = "Images and volumes (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.dcm *.nii *.nii.gz);;All files (*)"


def load(path: str | Path, reorient: bool = True) -> Volume:
    """Open a raster image, a DICOM file, a folder holding one DICOM series, or a NIfTI volume.

    Volumes with world geometry are reoriented (flips/permutations only) to the radiological axial layout.
    Raises a :class:`LoadError` naming the file and the reason.
    """
    from .dicom import is_dicom_file, load_dicom_file, load_dicom_series
    from .geometry import reorient_for_display
    from .nifti import is_nifti, load_nifti
    from .raster import load_raster

    path = Path(path)
    if not path.exists():
        raise LoadError(path, "no such file or folder")
    if path.is_dir():
        volume = load_dicom_series(path)
    elif is_nifti(path):
        volume = load_nifti(path)
    elif path.suffix.lower() in RASTER_SUFFIXES:
        volume = load_raster(path)
    elif is_dicom_file(path):
        volume = load_dicom_file(path)
    else:
        raise UnsupportedFormatError(path, "unknown format (expected PNG/JPEG/TIFF/BMP, DICOM, a DICOM folder or NIfTI)")
    return reorient_for_display(volume) if reorient else volume
