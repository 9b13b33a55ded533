"""Classic (non-learned) fusion baselines. Each fuses gray/luminance float32 [0,1] images, (H,W) or (N,H,W)."""

from __future__ import annotations

import cv2
import numpy as np
import pywt


class _SliceFuser:
    """Applies a 2-D rule to every slice of a stack and clips the result to [0, 1]."""

    name = ""

    def fuse(self, anatomical: np.ndarray, functional: np.ndarray) -> np.ndarray:
        a = np.asarray(anatomical, dtype=np.float32)
        b = np.asarray(functional, dtype=np.float32)
        if a.shape != b.shape:
            raise ValueError(f"{self.name}: shapes differ {a.shape} vs {b.shape}")
        if a.ndim == 2:
            return np.clip(self.fuse2d(a, b), 0.0, 1.0).astype(np.float32)
        return np.stack([self.fuse(x, y) for x, y in zip(a, b)])

    def fuse2d(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class AverageFusion(_SliceFuser):
    name = "average"

    def fuse2d(self, a, b):
        return (a + b) * np.float32(0.5)


class MaximumFusion(_SliceFuser):
    name = "maximum"

    def fuse2d(self, a, b):
        return np.maximum(a, b)


def _max_abs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) >= np.abs(y), x, y)


class LaplacianPyramidFusion(_SliceFuser):
    """Burt & Adelson Laplacian pyramid: detail levels by larger absolute value, the coarsest level averaged."""

    name = "laplacian"

    def __init__(self, levels: int = 4):
        self.levels = levels

    def _pyramid(self, image: np.ndarray, levels: int) -> list[np.ndarray]:
        gaussian = [image]
        for _ in range(levels):
            gaussian.append(cv2.pyrDown(gaussian[-1]))
        laplacian = [g - cv2.pyrUp(gn, dstsize=(g.shape[1], g.shape[0])) for g, gn in zip(gaussian[:-1], gaussian[1:])]
        return laplacian + [gaussian[-1]]

    def fuse2d(self, a, b):
        levels = max(1, min(self.levels, int(np.log2(max(2, min(a.shape)))) - 2))
        pa, pb = self._pyramid(a, levels), self._pyramid(b, levels)
        fused = [_max_abs(x, y) for x, y in zip(pa[:-1], pb[:-1])] + [(pa[-1] + pb[-1]) * np.float32(0.5)]
        image = fused[-1]
        for detail in reversed(fused[:-1]):
            image = cv2.pyrUp(image, dstsize=(detail.shape[1], detail.shape[0])) + detail
        return image


class DWTFusion(_SliceFuser):
    """Discrete wavelet transform (PyWavelets): approximation averaged, detail coefficients by larger magnitude."""

    name = "dwt"

    def __init__(self, wavelet: str = "db2", levels: int = 3):
        self.wavelet = wavelet
        self.levels = levels

    def fuse2d(self, a, b):
        level = min(self.levels, pywt.dwtn_max_level(a.shape, self.wavelet))
        ca = pywt.wavedec2(a, self.wavelet, level=level, mode="symmetric")
        cb = pywt.wavedec2(b, self.wavelet, level=level, mode="symmetric")
        fused = [(ca[0] + cb[0]) * 0.5]
        for da, db in zip(ca[1:], cb[1:]):
            fused.append(tuple(_max_abs(x, y) for x, y in zip(da, db)))
        out = pywt.waverec2(fused, self.wavelet, mode="symmetric")
        return out[: a.shape[0], : a.shape[1]].astype(np.float32)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter (O(1) box-filter form), gray guide. opencv-contrib's ximgproc is not in the headless
    wheel; this is the published 8-line algorithm."""
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x):
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(src)
    cov_ip = box(guide * src) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + np.float32(eps))
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


class GuidedFilterFusion(_SliceFuser):
    """GFF: Li, Kang, Hu, "Image Fusion With Guided Filtering", IEEE TIP 22(7), 2013.

    Two-scale decomposition with a 31x31 mean filter; saliency = Gaussian(r=5, sigma=5) of |3x3 Laplacian|; binary
    weight maps (argmax of saliency) refined by guided filtering with the source as guide — (r1, eps1) = (45, 0.3)
    for base layers and (r2, eps2) = (7, 1e-6) for detail layers, the paper's defaults; weights normalised per pixel.
    """

    name = "gff"

    def __init__(self, r1: int = 45, eps1: float = 0.3, r2: int = 7, eps2: float = 1e-6):
        self.r1, self.eps1, self.r2, self.eps2 = r1, eps1, r2, eps2

    def fuse2d(self, a, b):
        sources = [a, b]
        bases = [cv2.blur(s, (31, 31), borderType=cv2.BORDER_REFLECT) for s in sources]
        details = [s - base for s, base in zip(sources, bases)]
        laplacian = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32)
        saliency = [cv2.GaussianBlur(np.abs(cv2.filter2D(s, -1, laplacian, borderType=cv2.BORDER_REFLECT)), (11, 11), 5,
                                     borderType=cv2.BORDER_REFLECT) for s in sources]
        masks = [(saliency[0] >= saliency[1]).astype(np.float32)]
        masks.append(np.float32(1.0) - masks[0])
        w_base = [guided_filter(s, m, self.r1, self.eps1) for s, m in zip(sources, masks)]
        w_detail = [guided_filter(s, m, self.r2, self.eps2) for s, m in zip(sources, masks)]

        def normalise(weights):
            weights = [np.clip(w, 0, None) for w in weights]
            total = weights[0] + weights[1]
            total = np.where(total < 1e-6, np.float32(1.0), total)
            return [w / total for w in weights]

        wb, wd = normalise(w_base), normalise(w_detail)
        return wb[0] * bases[0] + wb[1] * bases[1] + wd[0] * details[0] + wd[1] * details[1]


def average() -> AverageFusion:
    return AverageFusion()


def maximum() -> MaximumFusion:
    return MaximumFusion()


def laplacian(levels: int = 4) -> LaplacianPyramidFusion:
    return LaplacianPyramidFusion(levels)


def dwt(wavelet: str = "db2", levels: int = 3) -> DWTFusion:
    return DWTFusion(wavelet, levels)


def gff() -> GuidedFilterFusion:
    return GuidedFilterFusion()
