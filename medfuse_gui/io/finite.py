"""The finite-value policy: NaN / Inf voxels are missing data.

Every loaded volume passes through :func:`make_finite` (from ``io.load``): non-finite voxels are counted, reported in
the volume's warning (status bar, stderr) and set to the volume's finite minimum, and the default window is computed
from the finite voxels only. A volume with no finite voxel is refused. Downstream — windowing, networks, metrics,
exporters — therefore never sees a non-finite value.
"""

from __future__ import annotations

import numpy as np

from .errors import NonFiniteError
from .volume import Volume, default_window


def add_warning(meta: dict, text: str) -> None:
    """Append one warning to a volume's meta (several warnings are kept, joined by '; ')."""
    current = str(meta.get("warning") or "")
    if text and text not in current:
        meta["warning"] = f"{current}; {text}" if current else text


def make_finite(volume: Volume) -> Volume:
    """The volume with non-finite voxels replaced by its finite minimum (and why, in its warning)."""
    pixels = volume.pixels
    if not np.issubdtype(pixels.dtype, np.floating):
        return volume
    bad = ~np.isfinite(pixels)
    count = int(np.count_nonzero(bad))
    if count == 0:
        return volume
    if count == pixels.size:
        raise NonFiniteError(volume.source or volume.name, f"no finite pixel value: all {count} values are NaN or "
                                                           "infinite")
    finite_min = float(np.min(pixels, where=~bad, initial=np.inf))
    window = volume.window
    if window is None or not all(np.isfinite(window)):
        window = default_window(pixels)  # percentiles of the finite voxels only
    clean = pixels.copy()
    clean[bad] = finite_min
    meta = dict(volume.meta)
    share = 100.0 * count / pixels.size
    add_warning(meta, f"{count} non-finite pixel value(s) (NaN/Inf, {share:.2g}% of the image) treated as missing: "
                      f"set to the minimum {finite_min:g}")
    meta["nonfinite_count"] = count
    return volume.with_pixels(clean, window=window, meta=meta)
