"""Shared fixtures: the real data in ../shared (CI has it beside the checkout)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Windows in tests do not preload the networks (seconds of background CPU per window); the preload tests turn it on.
os.environ["MEDFUSE_PRELOAD"] = "0"

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MEDFUSE_SHARED", ROOT.parent / "shared"))
HARVARD = SHARED / "data" / "harvard"
REFERENCE = SHARED / "reference"


def harvard_pair(task: str, name: str) -> tuple[Path, Path]:
    """(anatomical MRI, functional/other) paths of one registered Harvard pair."""
    other = task.split("-")[0]
    return HARVARD / task / "MRI" / name, HARVARD / task / other / name


@pytest.fixture(scope="session")
def shared() -> Path:
    if not HARVARD.is_dir():
        pytest.fail(f"the shared data folder {HARVARD} is missing (CI keeps ../shared beside the checkout)")
    return SHARED


@pytest.fixture(scope="session")
def spect_pair(shared) -> tuple[Path, Path]:
    return harvard_pair("SPECT-MRI", "11017.png")


@pytest.fixture(scope="session")
def pet_pair(shared) -> tuple[Path, Path]:
    return harvard_pair("PET-MRI", "25057.png")


@pytest.fixture(scope="session")
def ct_pair(shared) -> tuple[Path, Path]:
    return harvard_pair("CT-MRI", "16009.png")


@pytest.fixture(scope="session")
def spect_unit(spect_pair) -> tuple[np.ndarray, np.ndarray]:
    """The SPECT-MRI pair as the fusion methods see it: MRI gray and SPECT luminance, float32 in [0, 1]."""
    from medfuse_gui import colour, io

    anat = io.to_unit(io.load(spect_pair[0]).pixels[0], (0, 255))
    luma, _, _ = colour.split_functional(io.load(spect_pair[1]).pixels[0])
    return anat, luma


@pytest.fixture(scope="session")
def ct_unit(ct_pair) -> tuple[np.ndarray, np.ndarray]:
    """The CT-MRI pair: MRI and CT, both gray, float32 in [0, 1]."""
    from medfuse_gui import io

    return io.to_unit(io.load(ct_pair[0]).pixels[0], (0, 255)), io.to_unit(io.load(ct_pair[1]).pixels[0], (0, 255))
