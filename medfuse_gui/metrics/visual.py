"""Visual information fidelity: Sheikh-Bovik pixel-domain VIF (vifp) and Han et al.'s VIFF.

Both rest on the same 4-scale Gaussian statistics (sigma1^2, gain g, distortion variance sv^2) of each source against
F; they are computed once per call and shared. Maps are whole-image; a box sums the positions whose window centre
lies inside it, at every scale."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ._context import Context, Rect, map_window

SCALES = 4
EPS = 1e-10
VIFP_SIGMA_NSQ = 2.0
VIFF_SIGMA_NSQ = 0.005 * 255.0 * 255.0
VIFF_C = 1e-7
VIFF_WEIGHTS = (1.0, 0.0, 0.15, 1.0)  # divided by their sum 2.15


@lru_cache(maxsize=None)
def gaussian_1d(n: int, sigma: float) -> np.ndarray:
    """1-D factor of MATLAB fspecial('gaussian', n, sigma) (the 2-D kernel is its outer product)."""
    x = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def window_size(scale: int) -> int:
    return 2 ** (SCALES - scale + 1) + 1  # 17, 9, 5, 3


def filter_valid(x: np.ndarray, n: int, sigma: float) -> np.ndarray:
    """MATLAB filter2(fspecial('gaussian', n, sigma), x, 'valid') via a separable filter."""
    import cv2

    h, w = x.shape
    if h < n or w < n:
        return np.zeros((max(0, h - n + 1), max(0, w - n + 1)))
    k = gaussian_1d(n, sigma)
    r = (n - 1) // 2
    out = cv2.sepFilter2D(x, cv2.CV_64F, k, k, borderType=cv2.BORDER_REFLECT)
    return out[r:h - r, r:w - r]


def _pyramid(ctx: Context, name: str) -> list[tuple[np.ndarray, float, int]]:
    """Per scale: (image at that scale, row/col of its pixel 0 in full-image pixels, stride)."""
    def build() -> list[tuple[np.ndarray, float, int]]:
        x = ctx.images[name]
        out = []
        offset, stride = 0.0, 1
        for scale in range(1, SCALES + 1):
            n = window_size(scale)
            if scale > 1:
                x = filter_valid(x, n, n / 5.0)[::2, ::2]
                offset += stride * (n - 1) / 2.0
                stride *= 2
            out.append((x, offset, stride))
        return out
    return ctx.get(("vif_pyramid", name), build)


def _moments(ctx: Context, name: str, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma^2 clipped at 0) of one image at one scale."""
    def build() -> tuple[np.ndarray, np.ndarray]:
        x = _pyramid(ctx, name)[scale - 1][0]
        n = window_size(scale)
        mu = filter_valid(x, n, n / 5.0)
        var = filter_valid(x * x, n, n / 5.0) - mu * mu
        return mu, np.maximum(var, 0.0)
    return ctx.get(("vif_moments", name, scale), build)


def vif_stats(ctx: Context, src: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, float, int]]:
    """Per scale: (sigma1^2, g, sv^2, map offset, stride) of reference src against distorted F, with the
    conditioning of vifp_mscale.m applied in its order."""
    def build() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, float, int]]:
        out = []
        for scale in range(1, SCALES + 1):
            n = window_size(scale)
            ref, offset, stride = _pyramid(ctx, src)[scale - 1]
            dist = _pyramid(ctx, "F")[scale - 1][0]
            mu1, s1 = _moments(ctx, src, scale)
            mu2, s2 = _moments(ctx, "F", scale)
            s12 = filter_valid(ref * dist, n, n / 5.0) - mu1 * mu2
            g = s12 / (s1 + EPS)
            sv = s2 - g * s12
            low1 = s1 < EPS
            g[low1] = 0.0
            sv[low1] = s2[low1]
            s1 = np.where(low1, 0.0, s1)
            low2 = s2 < EPS
            g[low2] = 0.0
            sv[low2] = 0.0
            neg = g < 0
            sv[neg] = s2[neg]
            g[neg] = 0.0
            sv[sv <= EPS] = EPS
            out.append((s1, g, sv, offset + stride * (n - 1) / 2.0, stride))
        return out
    return ctx.get(("vif_stats", src), build)


def _vifp_terms(ctx: Context, src: str) -> list[tuple[np.ndarray, np.ndarray, float, int]]:
    def build() -> list[tuple[np.ndarray, np.ndarray, float, int]]:
        return [(np.log10(1.0 + g * g * s1 / (sv + VIFP_SIGMA_NSQ)), np.log10(1.0 + s1 / VIFP_SIGMA_NSQ), off, st)
                for s1, g, sv, off, st in vif_stats(ctx, src)]
    return ctx.get(("vifp_terms", src), build)


def vifp(ctx: Context, rect: Rect, src: str, nan_value: float | None = None) -> float:
    """Sheikh-Bovik multi-scale pixel VIF of reference src against F: sum of num over all scales / sum of den."""
    num = den = 0.0
    for n_map, d_map, off, stride in _vifp_terms(ctx, src):
        num += float(map_window(n_map, rect, (off, off), stride).sum())
        den += float(map_window(d_map, rect, (off, off), stride).sum())
    if den == 0.0:
        return math.nan if nan_value is None else float(nan_value)
    return num / den


def vif(ctx: Context, rect: Rect, combine: str = "mean", nan_value: float | None = None) -> float:
    """vifp(A,F) and vifp(B,F): mean (default) or sum (cddfuse, which also maps an undefined vifp to 1.0)."""
    va = vifp(ctx, rect, "A", nan_value)
    vb = vifp(ctx, rect, "B", nan_value)
    if combine == "mean":
        return 0.5 * (va + vb)
    if combine == "sum":
        return va + vb
    raise ValueError(f"VIF: unknown combine {combine!r}")


def _viff_maps(ctx: Context) -> list[tuple[np.ndarray, np.ndarray, float, int]]:
    """Per scale: (VID, VIND) of the source with the smaller gain at each position (ties: B), log10."""
    def build() -> list[tuple[np.ndarray, np.ndarray, float, int]]:
        out = []
        for (s1a, ga, sva, off, st), (s1b, gb, svb, _, _) in zip(vif_stats(ctx, "A"), vif_stats(ctx, "B")):
            take_a = ga < gb
            s1 = np.where(take_a, s1a, s1b)
            g = np.where(take_a, ga, gb)
            sv = np.where(take_a, sva, svb)
            vid = np.log10(1.0 + g * g * s1 / (sv + VIFF_SIGMA_NSQ))
            vind = np.log10(1.0 + s1 / VIFF_SIGMA_NSQ)
            out.append((vid, vind, off, st))
        return out
    return ctx.get("viff_maps", build)


def viff(ctx: Context, rect: Rect) -> float:
    """Han et al.: sum_s p_s F_s, F_s = sum(VID + C) / sum(VIND + C), p = [1, 0, 0.15, 1] / 2.15. Scales with no
    window centre in the box are left out and the weights of the others renormalised."""
    total = weight = 0.0
    for p, (vid, vind, off, stride) in zip(VIFF_WEIGHTS, _viff_maps(ctx)):
        n_win = map_window(vid, rect, (off, off), stride)
        if n_win.size == 0 or p == 0.0:
            continue
        d_win = map_window(vind, rect, (off, off), stride)
        total += p * (float(n_win.sum()) + VIFF_C * n_win.size) / (float(d_win.sum()) + VIFF_C * d_win.size)
        weight += p
    return total / weight if weight else math.nan
