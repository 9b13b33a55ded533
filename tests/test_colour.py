"""Colour as the papers do it: BT.601 YCbCr split, luminance fused, chroma restored."""

from __future__ import annotations

import numpy as np
import pytest

from medfuse_gui import colour, io
from tests.conftest import HARVARD


def test_bt601_luma_matches_the_published_coefficients():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    luma, chroma = colour.rgb_to_luma_chroma(rgb)
    np.testing.assert_allclose(luma[0], [0.299, 0.587, 0.114, 1.0], atol=1e-6)
    # pure blue has maximal Cb (0.5 + 0.5), pure red maximal Cr; white is achromatic (0.5, 0.5)
    assert chroma[0, 2, 0] == pytest.approx(1.0, abs=1e-6)
    assert chroma[0, 0, 1] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(chroma[0, 3], [0.5, 0.5], atol=1e-6)


@pytest.mark.parametrize("space", ["ycbcr", "yiq"])
def test_round_trip_on_real_spect(space, shared):
    rgb = io.load(HARVARD / "SPECT-MRI" / "SPECT" / "11017.png").pixels[0]
    luma, chroma = colour.rgb_to_luma_chroma(rgb, space)
    back = colour.to_uint8(colour.luma_chroma_to_rgb(luma, chroma, space))
    assert np.abs(back.astype(int) - rgb).max() <= 1


def test_replacing_luma_changes_rgb_equally_in_both_spaces(shared):
    rgb = io.load(HARVARD / "PET-MRI" / "PET" / "25057.png").pixels[0]
    mri = io.to_unit(io.load(HARVARD / "PET-MRI" / "MRI" / "25057.png").pixels[0], (0, 255))
    _, ycc = colour.rgb_to_luma_chroma(rgb, "ycbcr")
    _, yiq = colour.rgb_to_luma_chroma(rgb, "yiq")
    np.testing.assert_allclose(colour.merge(mri, ycc, "ycbcr"), colour.merge(mri, yiq, "yiq"), atol=2e-6)


def test_fused_luma_is_exactly_what_merge_puts_back_when_in_gamut(shared):
    rgb = io.load(HARVARD / "SPECT-MRI" / "SPECT" / "11017.png").pixels[0]
    luma, chroma = colour.rgb_to_luma_chroma(rgb)
    fused = luma * 0.8
    merged = colour.merge(fused, chroma)
    in_gamut = np.all((merged > 0.001) & (merged < 0.999), axis=-1)
    assert in_gamut.mean() > 0.3
    np.testing.assert_allclose(colour.luminance(merged)[in_gamut], fused[in_gamut], atol=1e-5)


@pytest.mark.parametrize("name", colour.COLORMAPS)
def test_colormaps_are_monotonic_in_luminance_ends(name):
    lut = colour.colormap_lut(name)
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    luma = colour.luminance(lut[None].astype(np.float32) / 255)[0]
    assert luma[0] < 0.05 and luma[-1] > 0.95  # black for no uptake, white at the top


def test_gray_functional_goes_through_colormap():
    gray = np.linspace(0, 1, 256, dtype=np.float32)[None].repeat(4, 0)
    luma, chroma, rgb = colour.split_functional(gray, "hot")
    np.testing.assert_array_equal(colour.to_uint8(rgb)[0], colour.colormap_lut("hot"))
    with pytest.raises(KeyError, match="unknown colormap"):
        colour.split_functional(gray, "viridis2")
