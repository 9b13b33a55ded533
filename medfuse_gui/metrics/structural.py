"""SSIM, and the phase-congruency metrics FSIM (Zhang et al. 2011) and AFM (Zhao, Laganiere, Liu 2007).

Phase congruency uses FSIM's log-Gabor bank (4 scales, 4 orientations) applied by FFT to all 16 filters at once in
single precision; it is computed once per image and shared by FSIM and AFM."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ._context import Context, Rect, map_window
from .gradient import convolve_same_zero

# --- SSIM -----------------------------------------------------------------------------------------------------------
K1, K2 = 0.01, 0.03


def _filter_valid(x: np.ndarray, variant: str) -> np.ndarray:
    import cv2

    if variant == "wang":      # Gaussian 11x11, sigma 1.5 (Wang et al. 2004, ssim_index.m)
        n = 11
        from .visual import gaussian_1d
        k = gaussian_1d(11, 1.5)
    elif variant == "skimage":  # 7x7 uniform window (scikit-image structural_similarity defaults)
        n = 7
        k = np.full(7, 1.0 / 7.0)
    else:
        raise ValueError(f"SSIM: unknown variant {variant!r} (wang or skimage)")
    h, w = x.shape
    r = (n - 1) // 2
    if h < n or w < n:
        return np.zeros((max(0, h - n + 1), max(0, w - n + 1)))
    return cv2.sepFilter2D(x, cv2.CV_64F, k, k, borderType=cv2.BORDER_REFLECT)[r:h - r, r:w - r]


def ssim_map(x: np.ndarray, y: np.ndarray, variant: str = "wang", data_range: float = 255.0,
             cache: dict | None = None) -> np.ndarray:
    """SSIM at every position where the window fits ('valid'); the map's pixel (0,0) is centred on image pixel
    (r, r) with r = 5 (wang) or 3 (skimage). skimage uses the sample covariance (factor N/(N-1), N = 49)."""
    def filt(key: str, value) -> np.ndarray:
        if cache is not None and key in cache:
            return cache[key]
        out = _filter_valid(value(), variant)
        if cache is not None:
            cache[key] = out
        return out

    norm = 49.0 / 48.0 if variant == "skimage" else 1.0
    mx = _filter_valid(x, variant)
    my = filt("my", lambda: y)
    vx = norm * (_filter_valid(x * x, variant) - mx * mx)
    vy = norm * (filt("myy", lambda: y * y) - my * my)
    vxy = norm * (_filter_valid(x * y, variant) - mx * my)
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    return ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))


def ssim(ctx: Context, rect: Rect, variant: str = "wang", data_range: float = 255.0, combine: str = "mean") -> float:
    """SSIM(A,F) and SSIM(B,F), each the mean of the SSIM map over the window centres in the box."""
    def build() -> list[np.ndarray]:
        shared: dict = {}
        return [ssim_map(ctx.images[s], ctx.images["F"], variant, data_range, shared) for s in ("A", "B")]
    maps = ctx.get(("ssim", variant, data_range), build)
    r = 5 if variant == "wang" else 3
    values = []
    for m in maps:
        win = map_window(m, rect, (r, r))
        if win.size == 0:
            return math.nan
        values.append(float(win.mean()))
    if combine == "mean":
        return 0.5 * (values[0] + values[1])
    if combine == "sum":
        return values[0] + values[1]
    raise ValueError(f"SSIM: unknown combine {combine!r}")


# --- phase congruency -----------------------------------------------------------------------------------------------
NSCALE, NORIENT = 4, 4
MIN_WAVELENGTH, MULT, SIGMA_ONF, DTHETA_ON_SIGMA, K_NOISE, PC_EPS = 6.0, 2.0, 0.55, 1.2, 2.0, 1e-4


def _freq_grid(n: int) -> np.ndarray:
    if n % 2:
        return np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1)
    return np.arange(-n / 2, n / 2) / n


@lru_cache(maxsize=8)
def _filter_bank(rows: int, cols: int):
    """FSIM's phasecong2 filters (orientation, scale, rows, cols) float32, and per-orientation noise constants."""
    x, y = np.meshgrid(_freq_grid(cols), _freq_grid(rows))
    radius = np.sqrt(x * x + y * y)
    theta = np.arctan2(-y, x)
    lowpass = np.fft.ifftshift(1.0 / (1.0 + (radius / 0.45) ** (2 * 15)))
    radius = np.fft.ifftshift(radius)
    theta = np.fft.ifftshift(theta)
    radius[0, 0] = 1.0
    sin_t, cos_t = np.sin(theta), np.cos(theta)
    log_gabor = []
    for s in range(NSCALE):
        fo = 1.0 / (MIN_WAVELENGTH * MULT ** s)
        lg = np.exp(-(np.log(radius / fo)) ** 2 / (2 * math.log(SIGMA_ONF) ** 2)) * lowpass
        lg[0, 0] = 0.0
        log_gabor.append(lg)
    theta_sigma = math.pi / NORIENT / DTHETA_ON_SIGMA
    filters = np.empty((NORIENT, NSCALE, rows, cols))
    em_n = np.empty(NORIENT)
    sum_an2 = np.empty(NORIENT)
    sum_aiaj = np.empty(NORIENT)
    for o in range(NORIENT):
        angle = o * math.pi / NORIENT
        ds = sin_t * math.cos(angle) - cos_t * math.sin(angle)
        dc = cos_t * math.cos(angle) + sin_t * math.sin(angle)
        spread = np.exp(-np.arctan2(ds, dc) ** 2 / (2 * theta_sigma ** 2))
        for s in range(NSCALE):
            filters[o, s] = log_gabor[s] * spread
        em_n[o] = float(np.sum(filters[o, 0] ** 2))
        spatial = np.real(np.fft.ifft2(filters[o])) * math.sqrt(rows * cols)  # (scale, rows, cols)
        sum_an2[o] = float(np.sum(spatial ** 2))
        total = spatial.sum(axis=0)
        sum_aiaj[o] = float((np.sum(total ** 2) - sum_an2[o]) / 2.0)  # sum over scale pairs si < sj
    return filters.astype(np.float32), em_n, sum_an2, sum_aiaj


def phase_congruency(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FSIM's phasecong2: (PC, per-orientation PC_o) of a 2-D image; PC float64, PC_o float32 (orient, rows, cols).

    With EO_so the complex response of scale s, orientation o, M_o = sum_s EO_so / (|sum_s EO_so| + eps):
    E_o = sum_s [Re(EO_so conj M_o) - |Im(EO_so conj M_o)|] (Kovesi's energy; its first term sums to
    |sum_s EO_so|^2 / (|sum_s EO_so| + eps)), thresholded by the noise level T_o from the median of the smallest
    scale's |EO|^2 (k = 2, divided by 1.7): max(E_o - T_o, 0). PC = sum_o E_o / sum_o sum_s |EO_so| (0 where the
    denominator is 0); PC_o = E_o / (sum_s |EO_so| + eps) feeds the moments of AFM."""
    from scipy import fft

    rows, cols = image.shape
    filters, em_n, sum_an2, sum_aiaj = _filter_bank(rows, cols)
    spectrum = fft.fft2(image.astype(np.float32))
    eo = np.multiply(spectrum[None, None], filters)
    eo = fft.ifft2(eo, axes=(-2, -1), overwrite_x=True)  # (orient, scale, rows, cols) complex64
    an = np.abs(eo)
    sum_an = an.sum(axis=1)
    sum_eo = eo.sum(axis=1)
    amplitude = np.abs(sum_eo)
    x_energy = amplitude + np.float32(PC_EPS)
    eo *= (sum_eo / x_energy).conj()[:, None]
    energy = amplitude * amplitude / x_energy - np.abs(eo.imag).sum(axis=1)
    n = rows * cols
    lo, hi = (n - 1) // 2, n // 2
    part = np.partition(an[:, 0].reshape(NORIENT, -1), [lo, hi], axis=1)
    median = 0.5 * (part[:, lo].astype(np.float64) ** 2 + part[:, hi].astype(np.float64) ** 2)  # of |EO|^2
    noise_power = (-median / math.log(0.5)) / em_n
    tau = np.sqrt((2 * noise_power * sum_an2 + 4 * noise_power * sum_aiaj) / 2)
    threshold = (tau * math.sqrt(math.pi / 2) + K_NOISE * np.sqrt((2 - math.pi / 2) * tau * tau)) / 1.7
    energy = np.maximum(energy - threshold.astype(np.float32)[:, None, None], np.float32(0.0))
    an_all = sum_an.sum(axis=0, dtype=np.float64)
    pc = np.divide(energy.sum(axis=0, dtype=np.float64), an_all, out=np.zeros_like(an_all), where=an_all > 0)
    return pc, energy / (sum_an + np.float32(PC_EPS))


def _pc(ctx: Context, name: str, factor: int) -> tuple[np.ndarray, np.ndarray]:
    return ctx.get(("pc", name, factor), lambda: phase_congruency(_downsampled(ctx, name, factor)))


# --- FSIM -----------------------------------------------------------------------------------------------------------
T1, T2 = 0.85, 160.0
SCHARR_X = np.array([[3.0, 0.0, -3.0], [10.0, 0.0, -10.0], [3.0, 0.0, -3.0]]) / 16.0


def fsim_factor(shape: tuple[int, int]) -> int:
    return max(1, round(min(shape) / 256))


def _downsampled(ctx: Context, name: str, factor: int) -> np.ndarray:
    """FSIM's pre-filter: conv2 with an FxF average, 'same', then every F-th sample."""
    def build() -> np.ndarray:
        x = ctx.images[name]
        if factor == 1:
            return x
        avg = convolve_same_zero(x, np.full((factor, factor), 1.0 / factor ** 2))
        return np.ascontiguousarray(avg[::factor, ::factor])
    return ctx.get(("down", name, factor), build)


def _gradient_magnitude(ctx: Context, name: str, factor: int) -> np.ndarray:
    def build() -> np.ndarray:
        x = _downsampled(ctx, name, factor)
        gx = convolve_same_zero(x, SCHARR_X)
        gy = convolve_same_zero(x, np.ascontiguousarray(SCHARR_X.T))
        return np.sqrt(gx * gx + gy * gy)
    return ctx.get(("scharr", name, factor), build)


def fsim_maps(ctx: Context, src: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(S_L * PC_m, PC_m, factor) of src against F on the (possibly downsampled) grid."""
    def build() -> tuple[np.ndarray, np.ndarray, int]:
        factor = fsim_factor(ctx.shape)
        p1, p2 = _pc(ctx, src, factor)[0], _pc(ctx, "F", factor)[0]
        g1, g2 = _gradient_magnitude(ctx, src, factor), _gradient_magnitude(ctx, "F", factor)
        pc_sim = (2 * p1 * p2 + T1) / (p1 * p1 + p2 * p2 + T1)
        g_sim = (2 * g1 * g2 + T2) / (g1 * g1 + g2 * g2 + T2)
        pcm = np.maximum(p1, p2)
        return g_sim * pc_sim * pcm, pcm, factor
    return ctx.get(("fsim", src), build)


def fsim(ctx: Context, rect: Rect) -> float:
    """Mean of FSIM(A,F) and FSIM(B,F); FSIM = sum(S_L PC_m) / sum(PC_m) over the box."""
    values = []
    for src in ("A", "B"):
        num, pcm, factor = fsim_maps(ctx, src)
        den = float(map_window(pcm, rect, (0, 0), factor).sum())
        if den == 0.0:
            return math.nan
        values.append(float(map_window(num, rect, (0, 0), factor).sum()) / den)
    return 0.5 * (values[0] + values[1])


# --- AFM (Q_P) ------------------------------------------------------------------------------------------------------
def _features(ctx: Context, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(phase congruency, maximum moment M, minimum moment m) at full resolution (Kovesi's moment analysis)."""
    def build() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pc, pc_o = _pc(ctx, name, 1)
        angles = np.arange(NORIENT) * math.pi / NORIENT
        cx = pc_o * np.cos(angles)[:, None, None]
        cy = pc_o * np.sin(angles)[:, None, None]
        a = np.sum(cx * cx, axis=0) / (NORIENT / 2)
        b = 4 * np.sum(cx * cy, axis=0) / NORIENT
        c = np.sum(cy * cy, axis=0) / (NORIENT / 2)
        denom = np.sqrt(b * b + (a - c) ** 2) + PC_EPS
        return pc, (c + a + denom) / 2, (c + a - denom) / 2
    return ctx.get(("pc_features", name), build)


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson sigma_xy / (sigma_x sigma_y) over the box; NaN when either map is constant there."""
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    sx, sy = float(x.std()), float(y.std())
    if sx == 0.0 or sy == 0.0:
        return math.nan
    return float(np.mean((x - x.mean()) * (y - y.mean()))) / (sx * sy)


def afm(ctx: Context, rect: Rect) -> float:
    """Q_P = P_p P_M P_m, P_k = max(C(A^k,F^k), C(B^k,F^k), C(S^k,F^k)) clipped at 0, S^k = max(A^k, B^k)."""
    r0, c0, r1, c1 = rect
    feats = {s: [m[r0:r1, c0:c1] for m in _features(ctx, s)] for s in ("A", "B", "F")}
    product = 1.0
    for k in range(3):
        fa, fb, ff = feats["A"][k], feats["B"][k], feats["F"][k]
        corrs = [c for c in (_corr(fa, ff), _corr(fb, ff), _corr(np.maximum(fa, fb), ff)) if not math.isnan(c)]
        if not corrs:
            return math.nan
        product *= min(1.0, max(0.0, max(corrs)))
    return product
