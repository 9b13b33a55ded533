"""The one input guard every loader goes through: regular files only, and a limit on the decoded pixel bytes that a
file *declares*, checked before any pixel is decoded or decompressed.

The limit (default 2 GiB) comes from, in order: :func:`set_max_pixel_bytes` (the GUI settings), the environment
variable ``MEDFUSE_MAX_PIXEL_BYTES`` (bytes, or with a K/M/G suffix), the default. See docs/input-safety.md.
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
import sys
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator

from .errors import InputTooLargeError, LoadError, MedFuseError, SpecialFileError

ENV_MAX_PIXEL_BYTES = "MEDFUSE_MAX_PIXEL_BYTES"
DEFAULT_MAX_PIXEL_BYTES = 2 * 1024 ** 3
_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}

_override: int | None = None
# The largest slice MedFuse takes, whatever the byte limit: radiology's largest images (mammography, ~4k x 5k) fit
# well within it; a header declaring more is a decompression bomb or a corrupt Rows/Columns.
MAX_SLICE_PIXELS = 8192 * 8192
_ROW_NAMES = ("Rows", "rows", "dim y")
_COLUMN_NAMES = ("Columns", "columns", "dim x")


def parse_byte_size(text: str) -> int:
    """'2147483648', '512M', '2G', '1.5GiB' -> bytes. Raises ValueError on anything else or a value below 1."""
    cleaned = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    unit = cleaned[-1:] if cleaned[-1:] in _UNITS and cleaned[-1:] else ""
    number = float(cleaned[: len(cleaned) - len(unit)])
    value = int(number * _UNITS[unit])
    if not math.isfinite(number) or value < 1:
        raise ValueError(text)
    return value


def set_max_pixel_bytes(limit: int | None) -> None:
    """Set the decoded-pixel limit for this process (the GUI's setting); None returns to the environment/default."""
    global _override
    if limit is not None and int(limit) < 1:
        raise MedFuseError(f"the pixel limit must be a positive number of bytes, got {limit}")
    _override = None if limit is None else int(limit)


def max_pixel_bytes() -> int:
    """The limit in force, in bytes of decoded pixels."""
    if _override is not None:
        return _override
    text = os.environ.get(ENV_MAX_PIXEL_BYTES, "").strip()
    if not text:
        return DEFAULT_MAX_PIXEL_BYTES
    try:
        return parse_byte_size(text)
    except (ValueError, OverflowError):
        raise MedFuseError(f"{ENV_MAX_PIXEL_BYTES}={text!r} is not a size in bytes (e.g. 2147483648 or 2G)") from None


def human_bytes(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"  # pragma: no cover


_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _stat(path: Path) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise LoadError(path, "no such file or folder") from None
    except OSError as exc:
        raise LoadError(path, (exc.strerror or "cannot be read").lower()) from None
    except ValueError:  # an embedded NUL byte
        raise LoadError(path.as_posix().replace("\0", "\\0"), "not a valid path") from None


def check_path(path: str | Path) -> os.stat_result:
    """Stat ``path`` without opening it: a regular file or a folder passes, anything else raises a LoadError."""
    path = Path(path)
    info = _stat(path)
    if stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode):
        return info
    kind = next((text for test, text in _KINDS if test(info.st_mode)), "a special file")
    raise SpecialFileError(path, f"{kind}, not a regular file")


def check_regular_file(path: str | Path) -> os.stat_result:
    """Stat ``path`` without opening it (opening a FIFO blocks for ever): only a regular file passes."""
    info = check_path(path)
    if stat.S_ISDIR(info.st_mode):
        raise LoadError(path, "a folder, not a file")
    return info


def is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def check_declared_size(path: str | Path, what: str, dims: dict[str, int], bytes_per_sample: float) -> int:
    """Refuse a file whose declared pixels (the product of ``dims`` x ``bytes_per_sample``) exceed the limit.

    ``dims`` names each factor as the header does ({"Rows": 512, "Columns": 512, "NumberOfFrames": 1, ...}), so that
    the message says where the size comes from. Returns the declared byte count."""
    for name, value in dims.items():
        if value < 1:
            raise LoadError(path, f"{what} declares {name} = {value}: no pixels")
    rows = next((dims[k] for k in _ROW_NAMES if k in dims), 1)
    columns = next((dims[k] for k in _COLUMN_NAMES if k in dims), 1)
    if rows * columns > MAX_SLICE_PIXELS:
        raise InputTooLargeError(path, f"{what} declares a {columns} x {rows} image ({rows * columns / 1e6:.0f} "
                                       f"megapixels), more than the largest slice MedFuse takes "
                                       f"({MAX_SLICE_PIXELS / 1e6:.0f} megapixels)")
    total = math.prod(int(v) for v in dims.values()) * bytes_per_sample
    limit = max_pixel_bytes()
    if total > limit:
        shape = " x ".join(f"{v} {k}" for k, v in dims.items())
        raise InputTooLargeError(path, f"{what} declares {shape} x {bytes_per_sample:g} bytes = {human_bytes(total)} "
                                       f"of pixels, more than the limit of {human_bytes(limit)} "
                                       f"(set {ENV_MAX_PIXEL_BYTES} to raise it)")
    return int(total)


def check_inflated_size(path: str | Path, stream: BinaryIO, limit: int, chunk: int = 1 << 20) -> int:
    """Inflate a raw-deflate stream (DICOM Deflated Explicit VR Little Endian) chunk by chunk, keeping nothing,
    and refuse it as soon as it grows past ``limit`` bytes. Returns the inflated size."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total = 0
    try:
        while True:
            data = stream.read(chunk)
            if not data:
                break
            piece = inflater.decompress(data, chunk)
            while True:
                total += len(piece)
                if total > limit:
                    raise InputTooLargeError(path, f"the deflated data set inflates past {human_bytes(limit)}, the "
                                                   f"limit (set {ENV_MAX_PIXEL_BYTES} to raise it)")
                if not inflater.unconsumed_tail:
                    break
                piece = inflater.decompress(inflater.unconsumed_tail, chunk)
            if inflater.eof:
                break
        total += len(inflater.flush())
    except zlib.error:
        raise LoadError(path, "the deflated data set is corrupt (it does not inflate)") from None
    return total


_mute_native = False


def set_native_messages_muted(muted: bool) -> None:
    """The CLI mutes what C codecs print on stderr themselves (libpng, libtiff, OpenCV's log) so that a bad file
    gives one line, MedFuse's; the GUI has no terminal and leaves them alone."""
    global _mute_native
    _mute_native = bool(muted)


@contextlib.contextmanager
def native_messages_muted() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null around a native decode call (when muted, else do nothing)."""
    if not _mute_native:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
