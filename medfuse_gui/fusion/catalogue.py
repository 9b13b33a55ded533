"""Every fusion method MedFuse offers. The GUI's model selector and ``medfuse methods`` are filled from here."""

from __future__ import annotations

from .registry import MethodInfo, Paper, register

_CLASSIC = "medfuse_gui.fusion.classic"

register(MethodInfo("average", "Average", "classic", "pixel-wise mean of the two inputs", f"{_CLASSIC}:average"))
register(MethodInfo("maximum", "Maximum", "classic", "pixel-wise maximum (keeps the brighter source)",
                    f"{_CLASSIC}:maximum"))
register(MethodInfo("laplacian", "Laplacian pyramid", "classic",
                    "4-level Laplacian pyramid, details by max-abs, base averaged (Burt & Adelson 1983)",
                    f"{_CLASSIC}:laplacian"))
register(MethodInfo("dwt", "DWT", "classic", "3-level db2 wavelet, approximation averaged, details by max-abs",
                    f"{_CLASSIC}:dwt"))
register(MethodInfo("gff", "Guided filtering (GFF)", "classic",
                    "two-scale guided-filter weighted fusion",
                    f"{_CLASSIC}:gff",
                    paper=Paper("Image Fusion With Guided Filtering", "S. Li, X. Kang, J. Hu",
                                "IEEE Trans. Image Processing 22(7):2864-2875, 2013")))
