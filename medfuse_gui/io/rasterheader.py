"""What a PNG/JPEG/TIFF/BMP file declares (width, height, samples, bytes per sample), read from its header alone,
so that a decompression bomb is refused before OpenCV decodes a pixel. PNG's IHDR is read directly; other formats
through Pillow (which opens lazily) or tifffile (every TIFF variant), both dependencies of scikit-image."""

from __future__ import annotations

import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

from .errors import LoadError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_SAMPLES = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}  # colour type -> samples after decoding (palette -> RGB)
_BAND_BYTES = {"1": 1, "L": 1, "P": 3, "RGB": 3, "RGBA": 4, "CMYK": 4, "YCbCr": 3, "LA": 2, "I": 4, "F": 4,
               "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "LAB": 3, "HSV": 3, "RGBX": 4, "La": 2, "RGBa": 4}


@dataclass(frozen=True)
class RasterHeader:
    width: int
    height: int
    samples: int
    bytes_per_sample: int
    kind: str

    def dims(self) -> dict[str, int]:
        return {"columns": self.width, "rows": self.height, "samples": self.samples}


def read_header(path: Path) -> RasterHeader:
    """The declared layout of a raster file; a LoadError when the header cannot be read."""
    with open(path, "rb") as handle:
        head = handle.read(33)
    if head.startswith(PNG_SIGNATURE):
        return _png(path, head)
    if head[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        return _tiff(path)
    return _pillow(path)


def _png(path: Path, head: bytes) -> RasterHeader:
    if len(head) < 33 or head[12:16] != b"IHDR":
        raise LoadError(path, "not a readable PNG image (no IHDR header: truncated or corrupt)")
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    if colour not in _PNG_SAMPLES or depth not in (1, 2, 4, 8, 16):
        raise LoadError(path, f"not a readable PNG image (colour type {colour}, bit depth {depth})")
    return RasterHeader(width, height, _PNG_SAMPLES[colour], 2 if depth == 16 else 1, "PNG")


def _tiff(path: Path) -> RasterHeader:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            shape, itemsize = tuple(int(v) for v in page.shape), page.dtype.itemsize if page.dtype else 8
    except Exception:  # noqa: BLE001 - tifffile raises TiffFileError/ValueError/struct.error on damage
        raise LoadError(path, "not a readable TIFF image (corrupt or truncated header)") from None
    if len(shape) < 2:
        raise LoadError(path, f"a TIFF image of shape {shape}, not a 2-D image")
    samples = shape[2] if len(shape) == 3 else 1
    if len(shape) > 3:  # planar/volumetric pages: OpenCV decodes one plane; count them all to be safe
        samples = 1
        for v in shape[2:]:
            samples *= v
    return RasterHeader(shape[1], shape[0], samples, max(itemsize, 1), "TIFF")


def _pillow(path: Path) -> RasterHeader:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                width, height, mode, kind = image.width, image.height, image.mode, image.format or "image"
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = f"{int(found.group(1))} pixels" if found else "a decompression bomb"
        return _bomb(path, pixels)
    except Exception:  # noqa: BLE001 - UnidentifiedImageError, OSError, SyntaxError on damage
        raise LoadError(path, "not a readable PNG/JPEG/TIFF/BMP image (unknown or corrupt header)") from None
    return RasterHeader(width, height, 1, _BAND_BYTES.get(mode, 4), kind)


def _bomb(path: Path, pixels: str) -> RasterHeader:
    from .errors import InputTooLargeError

    raise InputTooLargeError(path, f"the image header declares {pixels}, far past the decompression-bomb limit")
