"""Writers. Every write is atomic (temporary file in the target folder, then rename: ``io.atomic``), follows the
umask, and refuses to overwrite an existing file unless ``force`` is given, so an interrupted export never leaves half
a file or destroys a good one; an output that is an input is refused even with ``force``."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from .atomic import atomic_file, check_parent, exists
from .errors import WriteError


def check_target(path: str | Path, force: bool) -> Path:
    path = Path(path)
    if exists(path) and not force:
        raise WriteError(path, "the file exists (use --force to overwrite)")
    if exists(path) and path.is_dir():
        raise WriteError(path, "a folder of that name exists")
    check_parent(path)
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``, on failure remove it."""
    target = check_target(path, force)
    with atomic_file(target) as tmp:
        yield tmp


def refuse_overwriting_inputs(output: str | Path, inputs: Iterable[str | Path | None], inside_ok: bool = True) -> None:
    """An output that is an input or holds one (a folder export replaces the folder) is refused, with or without
    --force; so is one inside an input folder unless ``inside_ok`` (a folder export there would join the series)."""
    out = _resolved(output)
    for given in inputs:
        if not given:
            continue
        source = _resolved(given)
        same = out == source
        if not same and exists(Path(output)) and exists(Path(given)):
            with contextlib.suppress(OSError):
                same = os.path.samefile(output, given)
        if same:
            raise WriteError(output, f"it is the input {given}: choose another output (--force never replaces an "
                                     "input)")
        if not inside_ok and source in out.parents:
            raise WriteError(output, f"it lies inside the input folder {given}: choose another output")
        if out in source.parents:
            raise WriteError(output, f"it holds the input {given}: choose another output")


def _resolved(path: str | Path) -> Path:
    try:
        return Path(os.path.realpath(os.path.abspath(os.fspath(path).rstrip("/") or "/")))
    except (OSError, ValueError):
        return Path(os.path.abspath(os.fspath(path)))


def write_bytes_atomic(path: str | Path, data: bytes, force: bool = False) -> Path:
    with atomic_path(path, force) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def encode_png(image: np.ndarray, path: str | Path = "image.png") -> bytes:
    """An 8-bit gray (H,W) or RGB (H,W,3) image as PNG bytes at full resolution (``path`` names it in errors)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"write_png expects uint8, got {image.dtype}")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise WriteError(path, "PNG encoding failed")
    return encoded.tobytes()


def write_png(path: str | Path, image: np.ndarray, force: bool = False) -> Path:
    """Write an 8-bit gray (H,W) or RGB (H,W,3) image as PNG at full resolution, atomically."""
    return write_bytes_atomic(path, encode_png(image, path), force)


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
