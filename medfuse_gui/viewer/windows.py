"""Window presets of the anatomical image: the usual CT windows in HU; for MR (no absolute scale), percentiles of the
tissue (non-background) voxels."""

from __future__ import annotations

import numpy as np

CT_PRESETS = {"Brain (40/80)": (40, 80), "Subdural (75/215)": (75, 215), "Stroke (40/40)": (40, 40),
              "Soft tissue (50/400)": (50, 400), "Bone (600/2800)": (600, 2800)}   # (level, width) in HU
MR_PRESETS = {"Tissue 1-99 %": (1, 99), "High contrast 5-95 %": (5, 95), "Bright detail 50-99.9 %": (50, 99.9)}


def anatomical_presets(volume) -> dict[str, tuple[float, float]]:
    """Name -> (low, high), "Default" (the loader's window) first and "Full range" last."""
    presets = {"Default": tuple(float(v) for v in volume.window)}
    pixels = volume.pixels
    if volume.modality == "CT":
        for name, (level, width) in CT_PRESETS.items():
            presets[name] = (level - width / 2, level + width / 2)
    else:
        values = pixels[pixels > pixels.min()]
        if values.size > 100:
            values = values[:: max(1, values.size // 500_000)]
            for name, (low, high) in MR_PRESETS.items():
                presets[name] = tuple(float(v) for v in np.percentile(values, [low, high]))
    low, high = float(pixels.min()), float(pixels.max())
    presets["Full range"] = (low, high if high > low else low + 1.0)
    return presets
