"""PNG / JPEG / TIFF / BMP slices (8- and 16-bit gray, RGB, RGBA)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .errors import LoadError
from .guard import check_declared_size, check_regular_file, native_messages_muted
from .rasterheader import read_header
from .volume import Volume

from . import RASTER_SUFFIXES  # noqa: F401  (one definition, in the package)

_MODALITY_HINTS = (("SPECT", "NM"), ("PET", "PT"), ("MRI", "MR"), ("MR", "MR"), ("CT", "CT"))


def guess_modality(path: Path) -> str:
    """Guess a DICOM modality code from folder/file names (Harvard layout: .../SPECT-MRI/SPECT/x.png)."""
    for part in (path.parent.name, path.stem):
        upper = part.upper()
        for hint, code in _MODALITY_HINTS:
            if upper == hint or upper.startswith(hint + "_") or upper.endswith("_" + hint):
                return code
    return "OT"


def load_raster(path: str | Path) -> Volume:
    path = Path(path)
    info = check_regular_file(path)
    if info.st_size == 0:
        raise LoadError(path, "the file is empty")
    try:
        header = read_header(path)
        # imdecode(fromfile) rather than imread: imread cannot open non-ASCII paths on Windows.
        buffer = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise LoadError(path, (exc.strerror or "cannot be read").lower()) from None
    check_declared_size(path, f"the {header.kind} header", header.dims(), header.bytes_per_sample)
    try:
        with native_messages_muted():
            image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        image = None
    if image is None:
        raise LoadError(path, f"not a readable {header.kind} image (corrupt or truncated?)")
    if image.dtype not in (np.uint8, np.uint16):
        with np.errstate(over="ignore", invalid="ignore"):  # float64 beyond float32: Inf, then the finite policy
            image = image.astype(np.float32)
    if image.ndim == 3:
        if image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
        elif image.shape[2] == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        elif image.shape[2] == 1:
            image = image[..., 0]
        else:
            raise LoadError(path, f"unsupported channel count {image.shape[2]}")
        # A gray image saved as RGB (R == G == B) is gray: treat it as such so it fuses as luminance.
        if image.ndim == 3 and np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2]):
            image = image[..., 0]
    if image.ndim == 2 and min(image.shape) < 2:
        raise LoadError(path, f"image too small ({image.shape[1]}x{image.shape[0]})")
    return Volume(
        pixels=np.ascontiguousarray(image[None]),
        modality=guess_modality(path),
        source=str(path),
        geometry_known=False,
        meta={"format": path.suffix.lower().lstrip("."), "bit_depth": 16 if image.dtype == np.uint16 else 8},
        unit="a.u.",  # a raster file stores display grey levels or colours, no physical unit
    )
