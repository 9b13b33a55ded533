"""Q^AB/F (Xydeas & Petrovic 2000) on Sobel gradients shared by A, B and F. A whole-image map, summed over a box."""

from __future__ import annotations

import math

import numpy as np

from ._context import Context, Rect

# Sobel kernels as the toolboxes write them, applied by 2-D convolution ('same' size, zero padding).
SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
SOBEL_Y = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])

KG, DG, KA, DA = -15.0, 0.5, -22.0, 0.8
TOOLBOX_TG, TOOLBOX_TA = 0.9994, 0.9879
# Constants that make perfect preservation (G = 1, A = 1) score exactly 1. The toolbox values are 1/these.
NORMALISED_TG = 1.0 + math.exp(KG * (1.0 - DG))   # 1.000553...
NORMALISED_TA = 1.0 + math.exp(KA * (1.0 - DA))   # 1.012277...


def convolve_same_zero(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """2-D convolution, output the size of x, zero padding (MATLAB conv2(x, k, 'same'), scipy convolve2d 'same')."""
    import cv2

    k = np.ascontiguousarray(kernel[::-1, ::-1])
    anchor = (k.shape[1] - 1 - k.shape[1] // 2, k.shape[0] - 1 - k.shape[0] // 2)
    return cv2.filter2D(x, cv2.CV_64F, k, anchor=anchor, borderType=cv2.BORDER_CONSTANT)


def _gradient(ctx: Context, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(strength g, orientation alpha) of one image; alpha = arctan(Sy/Sx), pi/2 where Sx = 0."""
    def build() -> tuple[np.ndarray, np.ndarray]:
        x = ctx.images[name]
        sx = convolve_same_zero(x, SOBEL_X)
        sy = convolve_same_zero(x, SOBEL_Y)
        g = np.sqrt(sx * sx + sy * sy)
        zero = sx == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = np.where(zero, math.pi / 2, np.arctan(sy / np.where(zero, 1.0, sx)))
        return g, alpha
    return ctx.get(("sobel", name), build)


def _preservation(ga: np.ndarray, aa: np.ndarray, gf: np.ndarray, af: np.ndarray, variant: str) -> np.ndarray:
    if variant == "toolbox":
        # MATLAB Qabf.m / CDDFuse: G = gF/gA if gA > gF, gF where gA == gF (sic), gA/gF otherwise.
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(ga > gf, gf / ga, np.where(ga == gf, gf, ga / gf))
        tg, ta = TOOLBOX_TG, TOOLBOX_TA
    elif variant == "normalised":
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(ga == gf, 1.0, np.minimum(ga, gf) / np.maximum(ga, gf))
        tg, ta = NORMALISED_TG, NORMALISED_TA
    else:
        raise ValueError(f"Qabf: unknown variant {variant!r} (normalised or toolbox)")
    a = 1.0 - np.abs(aa - af) / (math.pi / 2)
    return tg / (1.0 + np.exp(KG * (g - DG))) * (ta / (1.0 + np.exp(KA * (a - DA))))


def qabf_maps(ctx: Context, variant: str) -> tuple[np.ndarray, np.ndarray]:
    """(numerator Q_AF gA + Q_BF gB, weight gA + gB), per pixel."""
    def build() -> tuple[np.ndarray, np.ndarray]:
        gf, af = _gradient(ctx, "F")
        ga, aa = _gradient(ctx, "A")
        gb, ab = _gradient(ctx, "B")
        num = _preservation(ga, aa, gf, af, variant) * ga + _preservation(gb, ab, gf, af, variant) * gb
        return num, ga + gb
    return ctx.get(("qabf", variant), build)


def qabf(ctx: Context, rect: Rect, variant: str = "normalised") -> float:
    num, weight = qabf_maps(ctx, variant)
    r0, c0, r1, c1 = rect
    den = float(weight[r0:r1, c0:c1].sum())
    if den == 0.0:
        return math.nan
    return float(num[r0:r1, c0:c1].sum() / den)
