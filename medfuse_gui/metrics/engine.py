"""compute / compute_regions / time_metrics: run the metrics of a preset over the whole image and boxes."""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from . import basic, gradient, information, structural, visual
from ._context import Context, MetricInputError, Rect, check_images, check_region
from .spec import DEFAULT_PRESET, METRICS, PRESETS, Preset

Impl = Callable[..., float]

IMPLEMENTATIONS: Mapping[str, Impl] = {
    "EN": information.en, "SD": basic.sd, "SF": basic.sf, "AG": basic.ag, "MI": information.mi,
    "NMI": information.nmi, "FMI_pixel": information.fmi_pixel, "Qabf": gradient.qabf, "VIFF": visual.viff,
    "VIF": visual.vif, "SSIM": structural.ssim, "PSNR": basic.psnr, "MSE": basic.mse, "CC": basic.cc,
    "SCD": basic.scd, "FSIM": structural.fsim, "AFM": structural.afm,
}
assert set(IMPLEMENTATIONS) == set(METRICS)


def get_preset(preset: str | Preset) -> Preset:
    if isinstance(preset, Preset):
        return preset
    try:
        return PRESETS[preset]
    except KeyError:
        raise MetricInputError(f"unknown metrics preset {preset!r}; choose one of {', '.join(PRESETS)}") from None


def resolve_metrics(preset: Preset, metrics: Iterable[str] | None) -> tuple[str, ...]:
    if metrics is None:
        return preset.metrics
    if isinstance(metrics, str):
        metrics = [metrics]
    names = tuple(metrics)
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise MetricInputError(f"unknown metric(s) {', '.join(map(repr, unknown))}; known: {', '.join(METRICS)}")
    return names


def _run(ctx: Context, rect: Rect, preset: Preset, names: Sequence[str]) -> dict[str, float]:
    return {name: float(IMPLEMENTATIONS[name](ctx, rect, **preset.options[name])) for name in names}


def compute_regions(anatomical: Any, functional: Any, fused: Any, regions: Mapping[str, Sequence[int] | None],
                    preset: str | Preset = DEFAULT_PRESET, metrics: Iterable[str] | None = None
                    ) -> dict[str, dict[str, float]]:
    """Metrics of several regions of one triple. Whole-image maps (gradients, SSIM / VIF / FSIM maps, phase
    congruency, edge maps) are computed once and restricted to each box; crop-based metrics use the box's pixels.

    regions: name -> (row0, col0, row1, col1) half-open, or None for the whole image. Returns name -> {metric: value}.
    Values are floats; NaN / inf only in the documented cases (MetricSpec.undefined)."""
    p = get_preset(preset)
    names = resolve_metrics(p, metrics)
    a, b, f = check_images(anatomical, functional, fused)
    rects = {key: check_region(region, a.shape) for key, region in regions.items()}
    ctx = Context(a, b, f)
    return {key: _run(ctx, rect, p, names) for key, rect in rects.items()}


def compute(anatomical: Any, functional: Any, fused: Any, preset: str | Preset = DEFAULT_PRESET,
            region: Sequence[int] | None = None, metrics: Iterable[str] | None = None) -> dict[str, float]:
    """Metrics of one triple: A anatomical gray, B functional luminance, F fused luminance; 2-D, same shape, uint8 or
    float on the 0..255 scale. region: (row0, col0, row1, col1) half-open or None (whole image)."""
    return compute_regions(anatomical, functional, fused, {"": region}, preset, metrics)[""]


def time_metrics(anatomical: Any, functional: Any, fused: Any, preset: str | Preset = DEFAULT_PRESET,
                 metrics: Iterable[str] | None = None, repeat: int = 5) -> dict[str, Any]:
    """Timing for ``medfuse bench metrics``, in seconds, medians over ``repeat`` runs after one warm-up run.

    alone[name]: the metric with a fresh cache, so it pays for everything it needs (wall and CPU time of this
    thread); total: the whole set with sharing, as compute() runs it. CPU time is what the set costs on an idle
    core; wall time includes waiting for a core when the machine is busy."""
    p = get_preset(preset)
    names = resolve_metrics(p, metrics)
    a, b, f = check_images(anatomical, functional, fused)
    compute(a, b, f, p, None, names)  # warm-up: imports, filter banks, the FMI pattern table

    def clock(fn: Callable[[], Any]) -> tuple[float, float]:
        w0, c0 = time.perf_counter(), time.thread_time()
        fn()
        return time.perf_counter() - w0, time.thread_time() - c0

    alone: dict[str, dict[str, float]] = {}
    for name in names:
        runs = []
        for _ in range(repeat):
            ctx = Context(a, b, f)
            runs.append(clock(lambda: _run(ctx, ctx.full, p, [name])))
        alone[name] = {"wall": float(np.median([r[0] for r in runs])), "cpu": float(np.median([r[1] for r in runs]))}
    totals = [clock(lambda: compute(a, b, f, p, None, names)) for _ in range(repeat)]
    return {"preset": p.name, "shape": tuple(a.shape), "repeat": repeat, "alone": alone,
            "total": {"wall": float(np.median([t[0] for t in totals])), "wall_min": float(min(t[0] for t in totals)),
                      "cpu": float(np.median([t[1] for t in totals]))}}
