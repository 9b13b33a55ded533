"""Statistics of the fused image (SD, SF, AG) and pixel-wise comparisons with the sources (MSE, PSNR, CC, SCD).

All of these are computed on the cropped arrays of a region (MetricSpec.region == "crop")."""

from __future__ import annotations

import math

import numpy as np

from ._context import Context, Rect


def sd(ctx: Context, rect: Rect, ddof: int = 0) -> float:
    """Standard deviation of F: population (ddof 0, default and cddfuse) or sample (ddof 1, MATLAB std2)."""
    f = ctx.crop("F", rect)
    return float(np.std(f, ddof=ddof)) if f.size > ddof else math.nan


def sf(ctx: Context, rect: Rect) -> float:
    """sqrt(mean((F[:,1:]-F[:,:-1])^2) + mean((F[1:,:]-F[:-1,:])^2)); each mean over the differences that exist."""
    f = ctx.crop("F", rect)
    rf = np.mean(np.square(np.diff(f, axis=1)))
    cf = np.mean(np.square(np.diff(f, axis=0)))
    return float(math.sqrt(rf + cf))


def ag(ctx: Context, rect: Rect, mode: str = "forward") -> float:
    """Average gradient of F, mean of sqrt((gx^2 + gy^2) / 2).

    forward: forward differences on the (M-1)x(N-1) grid (default); numpy: numpy.gradient (central inside,
    one-sided at the border), mean over MxN (cddfuse); matlab: the same gradient, sum divided by (M-1)(N-1) (vifb)."""
    f = ctx.crop("F", rect)
    if mode == "forward":
        base = f[:-1, :-1]
        gx = f[:-1, 1:] - base
        gy = f[1:, :-1] - base
        return float(np.mean(np.sqrt((gx * gx + gy * gy) * 0.5)))
    gy, gx = np.gradient(f)
    s = np.sqrt((gx * gx + gy * gy) * 0.5)
    if mode == "numpy":
        return float(np.mean(s))
    if mode == "matlab":
        return float(np.sum(s) / ((f.shape[0] - 1) * (f.shape[1] - 1)))
    raise ValueError(f"AG: unknown mode {mode!r}")


def _mse(ctx: Context, rect: Rect, src: str) -> float:
    def build() -> float:
        d = ctx.crop(src, rect) - ctx.crop("F", rect)
        return float(np.mean(d * d))
    return ctx.get(("mse", src, rect), build)


def mse(ctx: Context, rect: Rect) -> float:
    return 0.5 * (_mse(ctx, rect, "A") + _mse(ctx, rect, "B"))


def _psnr(peak: float, err: float) -> float:
    if err == 0.0:
        return math.inf
    if peak <= 0.0:
        return -math.inf
    return 10.0 * math.log10(peak * peak / err)


def psnr(ctx: Context, rect: Rect, peak: float | str = 255.0, combine: str = "mean_psnr") -> float:
    """PSNR in dB. combine "mean_psnr": mean of PSNR(A,F) and PSNR(B,F) (default); "mse_mean": one PSNR of the mean
    of the two MSEs (toolboxes). peak 255 or "max_f" (the maximum of F in the region: cddfuse)."""
    p = float(ctx.crop("F", rect).max()) if peak == "max_f" else float(peak)
    ea, eb = _mse(ctx, rect, "A"), _mse(ctx, rect, "B")
    if combine == "mean_psnr":
        return 0.5 * (_psnr(p, ea) + _psnr(p, eb))
    if combine == "mse_mean":
        return _psnr(p, 0.5 * (ea + eb))
    raise ValueError(f"PSNR: unknown combine {combine!r}")


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN when either input has zero variance (documented)."""
    xc = x - x.mean()
    yc = y - y.mean()
    den = math.sqrt(float(np.sum(xc * xc)) * float(np.sum(yc * yc)))
    if den == 0.0:
        return math.nan
    return float(np.sum(xc * yc) / den)


def cc(ctx: Context, rect: Rect) -> float:
    """Mean of r(A,F) and r(B,F)."""
    f = ctx.crop("F", rect)
    return 0.5 * (pearson(ctx.crop("A", rect), f) + pearson(ctx.crop("B", rect), f))


def scd(ctx: Context, rect: Rect) -> float:
    """Aslantas-Bendes: r(A, F - B) + r(B, F - A)."""
    a, b, f = ctx.crop("A", rect), ctx.crop("B", rect), ctx.crop("F", rect)
    return pearson(a, f - b) + pearson(b, f - a)
