"""Information-theoretic metrics: EN, MI, NMI (computed on the crop) and FMI_pixel (a whole-image map).

Histograms are built once per (image, region, quantisation) and shared by EN, MI and NMI."""

from __future__ import annotations

import math
import threading

import numpy as np

from ._context import Context, Rect, map_window

LEVELS = 256
_LOG = {"2": math.log(2.0), "e": 1.0}


# --- quantisation and histograms ------------------------------------------------------------------------------------
def quantise(x: np.ndarray, levels: str = "round") -> tuple[np.ndarray, int]:
    """Integer labels of the grey values and their number.

    round: clip(rint(x), 0, 255) on 256 levels (what an 8-bit file would store; round half to even);
    minmax: rint(255 (x - min) / (max - min)) (MATLAB toolboxes; a constant image is all 0);
    raw: every distinct value its own label (sklearn mutual_info_score on raw values, cddfuse)."""
    if levels == "round":
        return np.clip(np.rint(x), 0, LEVELS - 1).astype(np.intp), LEVELS
    if levels == "minmax":
        lo, hi = float(x.min()), float(x.max())
        if hi == lo:
            return np.zeros(x.shape, np.intp), LEVELS
        return np.rint((x - lo) * ((LEVELS - 1) / (hi - lo))).astype(np.intp), LEVELS
    if levels == "raw":
        if x.min() >= 0 and x.max() <= LEVELS - 1 and np.array_equal(x, np.rint(x)):
            return x.astype(np.intp), LEVELS  # integer grey values: the labels are the values themselves
        uniq, inverse = np.unique(x, return_inverse=True)
        return inverse.reshape(x.shape).astype(np.intp), int(uniq.size)
    raise ValueError(f"unknown quantisation {levels!r} (round, minmax or raw)")


def _labels(ctx: Context, name: str, rect: Rect, levels: str) -> tuple[np.ndarray, int]:
    return ctx.get(("labels", name, rect, levels), lambda: quantise(ctx.crop(name, rect), levels))


def entropy_from_counts(counts: np.ndarray, base: str = "2") -> float:
    total = counts.sum()
    p = counts[counts > 0] / total
    return float(-np.sum(p * np.log(p)) / _LOG[base]) + 0.0  # + 0.0: no -0.0 for a constant image


def _hist(ctx: Context, name: str, rect: Rect, levels: str) -> np.ndarray:
    def build() -> np.ndarray:
        q, n = _labels(ctx, name, rect, levels)
        return np.bincount(q.ravel(), minlength=n)
    return ctx.get(("hist", name, rect, levels), build)


def _joint(ctx: Context, x: str, y: str, rect: Rect, levels: str) -> np.ndarray:
    def build() -> np.ndarray:
        qx, nx = _labels(ctx, x, rect, levels)
        qy, ny = _labels(ctx, y, rect, levels)
        return np.bincount((qx * ny + qy).ravel(), minlength=nx * ny).reshape(nx, ny)
    return ctx.get(("joint", x, y, rect, levels), build)


def mutual_information_from_joint(joint: np.ndarray, base: str = "2") -> float:
    total = joint.sum()
    px = joint.sum(axis=1) / total
    py = joint.sum(axis=0) / total
    nz = np.nonzero(joint)
    pxy = joint[nz] / total
    mi = float(np.sum(pxy * (np.log(pxy) - np.log(px[nz[0]]) - np.log(py[nz[1]]))) / _LOG[base])
    return max(mi, 0.0)  # rounding can leave -1e-16 for independent images


def entropy(x: np.ndarray, levels: str = "round", base: str = "2") -> float:
    """Shannon entropy of one image's grey-level histogram (stand-alone helper)."""
    q, n = quantise(np.asarray(x, dtype=np.float64), levels)
    return entropy_from_counts(np.bincount(q.ravel(), minlength=n), base)


def mutual_information(x: np.ndarray, y: np.ndarray, levels: str = "round", base: str = "2") -> float:
    """I(X;Y) from the joint histogram of two images (stand-alone helper)."""
    qx, nx = quantise(np.asarray(x, dtype=np.float64), levels)
    qy, ny = quantise(np.asarray(y, dtype=np.float64), levels)
    joint = np.bincount((qx * ny + qy).ravel(), minlength=nx * ny).reshape(nx, ny)
    return mutual_information_from_joint(joint, base)


# --- metrics --------------------------------------------------------------------------------------------------------
def en(ctx: Context, rect: Rect, levels: str = "round", base: str = "2") -> float:
    return entropy_from_counts(_hist(ctx, "F", rect, levels), base)


def mi(ctx: Context, rect: Rect, levels: str = "round", base: str = "2") -> float:
    """I(A;F) + I(B;F)."""
    return sum(mutual_information_from_joint(_joint(ctx, s, "F", rect, levels), base) for s in ("A", "B"))


def nmi(ctx: Context, rect: Rect, levels: str = "round") -> float:
    """Hossny et al.: 2 [I(A;F)/(H(A)+H(F)) + I(B;F)/(H(B)+H(F))], log2 (the base cancels)."""
    hf = entropy_from_counts(_hist(ctx, "F", rect, levels))
    total = 0.0
    for s in ("A", "B"):
        den = entropy_from_counts(_hist(ctx, s, rect, levels)) + hf
        if den == 0.0:
            return math.nan
        total += mutual_information_from_joint(_joint(ctx, s, "F", rect, levels)) / den
    return 2.0 * total


# --- FMI_pixel ------------------------------------------------------------------------------------------------------
def sobel_edges(x: np.ndarray) -> np.ndarray:
    """Binary Sobel edge map in the manner of MATLAB edge(I) (method 'sobel', automatic threshold, thinning).

    bx, by: correlation with fspecial('sobel')'/8 and fspecial('sobel')/8, replicated border; b = bx^2 + by^2;
    cutoff = 4 mean(b); a pixel is an edge if b > cutoff and b is a maximum across the edge: along x when
    |bx| >= |by| (b >= left neighbour, b > right neighbour), along y when |by| >= |bx| (b >= upper, b > lower)."""
    import cv2

    op = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]) / 8.0
    by = cv2.filter2D(x, cv2.CV_64F, op, borderType=cv2.BORDER_REPLICATE)
    bx = cv2.filter2D(x, cv2.CV_64F, np.ascontiguousarray(op.T), borderType=cv2.BORDER_REPLICATE)
    b = bx * bx + by * by
    cutoff = 4.0 * float(b.mean())
    pad = np.pad(b, 1, mode="edge")
    left, right = pad[1:-1, :-2], pad[1:-1, 2:]
    up, down = pad[:-2, 1:-1], pad[2:, 1:-1]
    abx, aby = np.abs(bx), np.abs(by)
    thin_x = (abx >= aby) & (b >= left) & (b > right)
    thin_y = (aby >= abx) & (b >= up) & (b > down)
    return (b > cutoff) & (thin_x | thin_y)


def _window_codes(edges: np.ndarray) -> np.ndarray:
    """9-bit code of every 3x3 window (bit k = raster position k), for window centres (1..H-2, 1..W-2)."""
    e = edges.astype(np.uint16)
    h, w = e.shape
    code = np.zeros((h - 2, w - 2), np.uint16)
    for k in range(9):
        di, dj = divmod(k, 3)
        code |= e[di:h - 2 + di, dj:w - 2 + dj] << k
    return code


_BITS = ((np.arange(512)[:, None] >> np.arange(9)[None, :]) & 1).astype(np.float64)  # (512, 9)
_FMI_LUT = np.full(512 * 512, np.nan)  # FMI of every (source pattern, fused pattern) pair, filled on demand
_LUT_LOCK = threading.Lock()


def _pattern_pdf(bits: np.ndarray) -> np.ndarray:
    """Min-max normalised window as a PDF over its 9 positions; a constant window is uniform."""
    s = bits.sum(axis=1, keepdims=True)
    const = (s == 0) | (s == 9)
    return np.where(const, 1.0 / 9.0, bits / np.where(s == 0, 1.0, s))


def fmi_of_patterns(pair_codes: np.ndarray) -> np.ndarray:
    """FMI of 3x3 binary windows, pair code = source_code * 512 + fused_code. Vectorised over pairs.

    Each window is a PDF over its 9 positions; the joint CDF on the 9x9 grid of marginal CDFs is the Frechet-copula
    mixture by the windows' Pearson correlation c: c >= 0: c min(Fa, Ff) + (1-c) Fa Ff; c < 0:
    -c max(Fa + Ff - 1, 0) + (1+c) Fa Ff. FMI = 2 I / (Ha + Hf), I = Ha + Hf - Hjoint, log2. Two constant windows
    have c = 1 (identical uniform PDFs: FMI 1); one constant and one not, c = 0. Ha + Hf = 0 (two single-pixel
    windows): FMI = 1 if the windows are equal, else 0."""
    ca, cf = pair_codes // 512, pair_codes % 512
    ba, bf = _BITS[ca], _BITS[cf]
    pa, pf = _pattern_pdf(ba), _pattern_pdf(bf)

    def ent(p: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.sum(np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0), axis=-1)

    ha, hf = ent(pa), ent(pf)
    ac = ba - ba.mean(axis=1, keepdims=True)
    fc = bf - bf.mean(axis=1, keepdims=True)
    va, vf = np.sum(ac * ac, axis=1), np.sum(fc * fc, axis=1)
    both_const = (va == 0) & (vf == 0)
    one_const = (va == 0) ^ (vf == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.sum(ac * fc, axis=1) / np.sqrt(va * vf)
    c = np.where(both_const, 1.0, np.where(one_const, 0.0, c))
    fa = np.cumsum(pa, axis=1)[:, :, None]
    ff = np.cumsum(pf, axis=1)[:, None, :]
    indep = fa * ff
    cpos = c[:, None, None]
    upper = np.minimum(fa, ff)
    lower = np.maximum(fa + ff - 1.0, 0.0)
    joint_cdf = np.where(cpos >= 0, cpos * upper + (1.0 - cpos) * indep, -cpos * lower + (1.0 + cpos) * indep)
    padded = np.zeros((joint_cdf.shape[0], 10, 10))
    padded[:, 1:, 1:] = joint_cdf
    joint = padded[:, 1:, 1:] - padded[:, :-1, 1:] - padded[:, 1:, :-1] + padded[:, :-1, :-1]
    joint = np.where(joint > 1e-12, joint, 0.0).reshape(joint.shape[0], -1)
    hj = ent(joint)
    hsum = ha + hf
    with np.errstate(divide="ignore", invalid="ignore"):
        fmi = 2.0 * (hsum - hj) / hsum
    return np.where(hsum > 0, fmi, np.where(ca == cf, 1.0, 0.0))


def _fmi_lookup(pair: np.ndarray) -> np.ndarray:
    flat = pair.ravel().astype(np.intp)
    present = np.flatnonzero(np.bincount(flat, minlength=512 * 512))
    missing = present[np.isnan(_FMI_LUT[present])]
    if missing.size:
        values = fmi_of_patterns(missing)
        with _LUT_LOCK:
            _FMI_LUT[missing] = values
    return _FMI_LUT[flat].reshape(pair.shape)


def _edges(ctx: Context, name: str) -> np.ndarray:
    return ctx.get(("sobel_edges", name), lambda: sobel_edges(ctx.images[name]))


def fmi_map(ctx: Context) -> np.ndarray:
    """(FMI_AF + FMI_BF) / 2 per 3x3 window, centred on pixel (1, 1) + (i, j)."""
    def build() -> np.ndarray:
        cfused = _window_codes(_edges(ctx, "F")).astype(np.intp)
        maps = [_fmi_lookup(_window_codes(_edges(ctx, s)).astype(np.intp) * 512 + cfused) for s in ("A", "B")]
        return 0.5 * (maps[0] + maps[1])
    return ctx.get("fmi_map", build)


def fmi_pixel(ctx: Context, rect: Rect) -> float:
    window = map_window(fmi_map(ctx), rect, offset=(1, 1))
    return float(window.mean()) if window.size else math.nan
