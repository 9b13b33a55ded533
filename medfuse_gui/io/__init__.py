"""Loading, geometry and writing of images and volumes. Qt-free."""

from __future__ import annotations

from pathlib import Path

from .errors import GeometryError, LoadError, MedFuseError, MixedSeriesError, UnsupportedFormatError, WriteError
from .volume import Volume, default_window, to_unit

# The format readers (pydicom, nibabel, OpenCV, SciPy: ~0.8 s of imports) load on first use, which in the viewer is
# a worker thread: the window paints without waiting for them.
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

__all__ = ["Volume", "load", "align", "Alignment", "to_unit", "default_window", "reorient_for_display",
           "MedFuseError", "LoadError", "UnsupportedFormatError", "MixedSeriesError", "GeometryError", "WriteError",
           "set_max_pixel_bytes", "max_pixel_bytes"]


def set_max_pixel_bytes(limit: int | None) -> None:
    """The GUI's setting for the decoded-pixel limit of every loader (None: MEDFUSE_MAX_PIXEL_BYTES or 2 GiB)."""
    from .guard import set_max_pixel_bytes as _set

    _set(limit)


def max_pixel_bytes() -> int:
    from .guard import max_pixel_bytes as _get

    return _get()


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

    Every path goes through the input guard first (regular files and folders only, declared pixel size under the
    limit: ``io.guard``); NaN/Inf voxels are treated as missing data (``io.finite``). Volumes with world geometry are
    reoriented (flips/permutations only) to the radiological axial layout.
    Raises a :class:`LoadError` naming the file and the reason, in one line.
    """
    import stat

    from .dicom import is_dicom_file, load_dicom_file, load_dicom_series
    from .finite import make_finite
    from .geometry import reorient_for_display
    from .guard import check_path
    from .nifti import is_nifti, load_nifti
    from .raster import load_raster

    path = Path(path)
    info = check_path(path)  # by stat, before anything opens it: a FIFO or a device would block for ever
    try:
        if stat.S_ISDIR(info.st_mode):
            volume = load_dicom_series(path)
        elif is_nifti(path):
            volume = load_nifti(path)
        elif path.suffix.lower() in RASTER_SUFFIXES:
            volume = load_raster(path)
        elif is_dicom_file(path):
            volume = load_dicom_file(path)
        else:
            raise UnsupportedFormatError(path, "unknown format (expected PNG/JPEG/TIFF/BMP, DICOM, a DICOM folder or "
                                               "NIfTI)")
    except MemoryError:
        raise LoadError(path, "the image does not fit in memory (lower MEDFUSE_MAX_PIXEL_BYTES to refuse such files "
                              "early)") from None
    volume = make_finite(volume)
    return reorient_for_display(volume) if reorient else volume
