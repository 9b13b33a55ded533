"""Writers. Every write is atomic (temporary file in the target folder, then rename) and refuses to overwrite an
existing file unless ``force`` is given, so an interrupted export never leaves half a file or destroys a good one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from .errors import WriteError


def check_target(path: str | Path, force: bool) -> Path:
    path = Path(path)
    if path.exists() and not force:
        raise WriteError(path, "the file exists (use --force to overwrite)")
    if path.exists() and path.is_dir():
        raise WriteError(path, "a folder of that name exists")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise WriteError(path, f"the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise WriteError(path, f"no permission to write in {parent}")
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``, on failure remove it."""
    target = check_target(path, force)
    suffix = "".join(target.suffixes) or ".tmp"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WriteError(target, exc.strerror or str(exc)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | Path, data: bytes, force: bool = False) -> Path:
    with atomic_path(path, force) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_png(path: str | Path, image: np.ndarray, force: bool = False) -> Path:
    """Write an 8-bit gray (H,W) or RGB (H,W,3) image as PNG at full resolution."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"write_png expects uint8, got {image.dtype}")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise WriteError(path, "PNG encoding failed")
    return write_bytes_atomic(path, encoded.tobytes(), force)


def write_nifti(path: str | Path, pixels: np.ndarray, affine: np.ndarray, force: bool = False,
                description: str = "") -> Path:
    """Write (Z,Y,X) gray or (Z,Y,X,3) uint8 RGB pixels with the given (col,row,slice)->RAS affine."""
    import nibabel as nib

    pixels = np.asarray(pixels)
    if pixels.ndim == 4:
        rgb_dtype = np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")])
        ijk = np.ascontiguousarray(np.transpose(pixels, (2, 1, 0, 3)))
        data = ijk.view(rgb_dtype)[..., 0]
    else:
        data = np.ascontiguousarray(np.transpose(pixels, (2, 1, 0)))
    image = nib.Nifti1Image(data, affine)
    image.header.set_sform(affine, code=1)  # scanner-anatomical: the source's world
    image.header.set_qform(affine, code=1)
    image.header.set_xyzt_units("mm")
    if description:
        image.header["descrip"] = description.encode("ascii", "replace")[:79]
    with atomic_path(path, force) as tmp:
        if str(path).lower().endswith(".gz") and not tmp.name.endswith(".gz"):
            raise WriteError(path, "internal: temporary name lost the .gz suffix")
        nib.save(image, str(tmp))
    return Path(path)


def write_many_atomic(paths: list[Path], write_one: Callable[[Path, int], None], force: bool = False) -> list[Path]:
    """Write a set of files (a PNG stack, a DICOM series) so that either all appear or none is left half-written.

    Existing targets are checked first (nothing is written if one exists and ``force`` is false)."""
    for path in paths:
        check_target(path, force)
    done: list[Path] = []
    try:
        for index, path in enumerate(paths):
            with atomic_path(path, force=True) as tmp:
                write_one(tmp, index)
            done.append(path)
    except BaseException:
        if not force:
            for path in done:
                path.unlink(missing_ok=True)
        raise
    return done
