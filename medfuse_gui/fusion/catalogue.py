"""Every fusion method MedFuse offers. The GUI's model selector and ``medfuse methods`` are filled from here.

``typical_ms``: median ms per 256x256 slice on the project's 2-core CPU (`medfuse bench models`, 2026-12-06 runs);
only an order of magnitude, for ordering work (the loupe) before the session has timed a method itself."""

from __future__ import annotations

from .registry import MethodInfo, Paper, register

_CLASSIC = "medfuse_gui.fusion.classic"

register(MethodInfo("average", "Average", "classic", "pixel-wise mean of the two inputs", f"{_CLASSIC}:average",
                    typical_ms=0.1))
register(MethodInfo("maximum", "Maximum", "classic", "pixel-wise maximum (keeps the brighter source)",
                    f"{_CLASSIC}:maximum", typical_ms=0.1))
register(MethodInfo("laplacian", "Laplacian pyramid", "classic",
                    "4-level Laplacian pyramid, details by max-abs, base averaged (Burt & Adelson 1983)",
                    f"{_CLASSIC}:laplacian", short_title="Laplacian", typical_ms=0.8))
register(MethodInfo("dwt", "DWT", "classic", "3-level db2 wavelet, approximation averaged, details by max-abs",
                    f"{_CLASSIC}:dwt", typical_ms=3.1))
register(MethodInfo("gff", "Guided filtering (GFF)", "classic",
                    "two-scale guided-filter weighted fusion",
                    f"{_CLASSIC}:gff",
                    paper=Paper("Image Fusion With Guided Filtering", "S. Li, X. Kang, J. Hu",
                                "IEEE Trans. Image Processing 22(7):2864-2875, 2013"), short_title="GFF",
                    typical_ms=3.4))

# --- published networks (one module each; weights from weights/manifest.json) -----------------------------------
register(MethodInfo(
    "mmif-amin", "MMIF-AMIN", "network",
    "invertible dense networks + multi-scale CNN/Transformer complementary features, adaptive loss",
    "medfuse_gui.fusion.amin:build",
    paper=Paper("MMIF-AMIN: Adaptive Loss-Driven Multi-Scale Invertible Dense Network for Multimodal Medical Image "
                "Fusion", "T. Luo, W. Xu", "2025", "mmif-amin.txt"),
    pad_multiple=8, paper_params=76_470, paper_gflops=7.37, typical_ms=430))
register(MethodInfo(
    "dilran", "DILRAN", "network",
    "dilated residual attention encoder, softmax + nuclear-norm (SFNN) feature fusion, conv decoder",
    "medfuse_gui.fusion.dilran:build",
    paper=Paper("An Attention-based Multi-Scale Feature Learning Network for Multimodal Medical Image Fusion",
                "M. Zhou, X. Xu, Y. Zhang", "arXiv:2212.04661, 2022", "dilran.txt"),
    pad_multiple=2, builder_kwargs={"phi": "max"}, typical_ms=600))  # SFNN-max: the paper's final choice (Sec. 4.4)
register(MethodInfo(
    "dilran-authors", "DILRAN (authors' weights)", "network",
    "DILRAN with the weights released by its authors (trained on Harvard CT-MRI), for fidelity checks",
    "medfuse_gui.fusion.dilran:build",
    paper=Paper("An Attention-based Multi-Scale Feature Learning Network for Multimodal Medical Image Fusion",
                "M. Zhou, X. Xu, Y. Zhang", "arXiv:2212.04661, 2022", "dilran.txt"),
    # SFNN-max^2: their released code, as their goldens
    pad_multiple=2, builder_kwargs={"phi": "max2"}, short_title="DILRAN (auth.)", typical_ms=600))
register(MethodInfo(
    "mmif-net", "MMIF-Net", "network",
    "DenseFuse-style encoder, multi-scale layer, hybrid channel+self attention, l1-norm fusion, decoder",
    "medfuse_gui.fusion.mmifnet:build", colour_space="yiq", paper_params=160_000,
    paper=Paper("MMIF: Multimodal Medical Image Fusion Network Based on Multi-Scale Hybrid Attention",
                "J. Liu, Y. Li, X. Sun, X. Wang, H. Luo", "2025", "mmif-net-multiscale-hybrid-attention.txt"),
    pad_multiple=1, typical_ms=280))
register(MethodInfo(
    "mask-pa", "Mask-opt + parallel attention", "network",
    "Otsu masks, contrast-enhancement and detail-preserving paths, parallel channel/spatial attention",
    "medfuse_gui.fusion.maskpa:build",
    paper=Paper("Multimodal medical image fusion based on mask optimization and parallel attention mechanism",
                "J. Di, C. Liang, W. Guo, J. Lian", "2024", "mask-optimization-parallel-attention.txt"),
    pad_multiple=1, paper_params=5_000_000, paper_gflops=2.5314, short_title="Mask-PA", typical_ms=100))
