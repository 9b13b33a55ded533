"""Fusion-quality metrics, Qt-free and torch-free (numpy, scipy, OpenCV).

    from medfuse_gui.metrics import compute, compute_regions, METRICS, PRESETS, DEFAULT_PRESET
    compute(anatomical, functional, fused, preset="default", region=None, metrics=None) -> {name: value}

A is the anatomical gray image, B the functional luminance, F the fused luminance: 2-D arrays of one shape, uint8 or
float on the 0..255 scale. Every formula, constant and preset convention is in docs/metrics.md.
"""

from .engine import IMPLEMENTATIONS, compute, compute_regions, get_preset, time_metrics
from .readers import read_gray
from .spec import ALL_METRICS, DEFAULT_PRESET, METRICS, PRESETS, MetricSpec, Preset

__all__ = ["compute", "compute_regions", "time_metrics", "get_preset", "read_gray", "METRICS", "PRESETS",
           "DEFAULT_PRESET", "ALL_METRICS", "MetricSpec", "Preset", "IMPLEMENTATIONS"]
