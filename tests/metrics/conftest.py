"""Fixtures of the metrics tests: real Harvard triples as the metrics take them (0..255 float, luminance)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import REFERENCE, harvard_pair


def _triple(task: str, name: str, method: str = "laplacian") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from medfuse_gui.fusion import get_model
    from medfuse_gui.metrics import read_gray

    anat_path, func_path = harvard_pair(task, name)
    a, b = read_gray(anat_path), read_gray(func_path)
    fused = get_model(method).fuse((a / 255).astype(np.float32), (b / 255).astype(np.float32))
    return a, b, np.clip(np.asarray(fused, np.float64) * 255.0, 0, 255)


@pytest.fixture(scope="session")
def spect_triple(shared) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _triple("SPECT-MRI", "11017.png")


@pytest.fixture(scope="session")
def ct_triple(shared) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _triple("CT-MRI", "16009.png", "maximum")


@pytest.fixture(scope="session")
def golden_dir(shared):
    return REFERENCE / "metrics"
