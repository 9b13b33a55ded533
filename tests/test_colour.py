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


@pytest.mark.parametrize("name", ("hot", "pet", "gray", "hot-metal"))
def test_heat_colormaps_run_from_black_to_white(name):
    lut = colour.colormap_lut(name)
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    luma = colour.luminance(lut[None].astype(np.float32) / 255)[0]
    assert luma[0] < 0.05 and luma[-1] > 0.95  # black for no uptake, white at the top


@pytest.mark.parametrize("name, first, last", [
    # end colours as matplotlib publishes them (viridis #440154 -> #fde725, inferno #000004 -> #fcffa4)
    ("viridis", (0x44, 0x01, 0x54), (0xFD, 0xE7, 0x25)),
    ("inferno", (0x00, 0x00, 0x04), (0xFC, 0xFF, 0xA4)),
    ("hot-metal", (0, 0, 0), (255, 255, 255)),
    ("spectral", (0, 0, 0), (204, 204, 204)),
])
def test_catalogue_maps_have_the_published_end_colours(name, first, last):
    lut = colour.colormap_lut(name)
    assert tuple(lut[0]) == first and tuple(lut[-1]) == last


@pytest.mark.parametrize("name", ("viridis", "inferno"))
def test_perceptually_uniform_maps_rise_in_luminance(name):
    luma = colour.luminance(colour.colormap_lut(name)[None].astype(np.float32) / 255)[0]
    assert np.all(np.diff(luma) > -0.004)  # monotonic up to uint8 rounding
    assert luma[-1] - luma[0] > 0.7


def test_hot_metal_is_black_red_yellow_white_and_spectral_passes_through_blue_and_green():
    hot = colour.colormap_lut("hot-metal").astype(int)
    r, g, b = hot[128]
    assert r > 150 and g < 20 and b < 5          # mid-window: red
    assert np.all(np.diff(hot, axis=0) >= 0)     # every channel rises: no hue reversal
    spectral = colour.colormap_lut("spectral").astype(int)
    hues = [int(np.argmax(spectral[i])) for i in (50, 128, 210)]
    assert hues == [2, 1, 0]                     # blue, then green, then red as uptake rises


def test_existing_maps_keep_their_tables_and_every_map_has_a_title():
    points = np.array([(0.0, 0.0416, 0.0, 0.0), (0.365079, 1.0, 0.0, 0.0), (0.746032, 1.0, 1.0, 0.0),
                       (1.0, 1.0, 1.0, 1.0)])
    x = np.linspace(0, 1, 256)
    hot = np.rint(np.stack([np.interp(x, points[:, 0], points[:, c]) for c in (1, 2, 3)], -1) * 255)
    np.testing.assert_array_equal(colour.colormap_lut("hot"), hot.astype(np.uint8))
    assert set(colour.COLORMAP_TITLES) == set(colour.COLORMAPS)
    assert {"hot", "pet", "gray"} <= set(colour.COLORMAPS)


def test_colour_bar_runs_from_the_window_top_at_row_zero():
    bar = colour.colour_bar("inferno", length=100, thickness=12)
    lut = colour.colormap_lut("inferno", 100)
    assert bar.shape == (100, 12, 3) and bar.dtype == np.uint8
    np.testing.assert_array_equal(bar[0, 5], lut[-1])
    np.testing.assert_array_equal(bar[-1, 0], lut[0])
    horizontal = colour.colour_bar("gray", length=64, thickness=4, vertical=False)
    assert horizontal.shape == (4, 64, 3) and tuple(horizontal[2, 0]) == (0, 0, 0)


def test_colour_bar_ticks_are_round_values_inside_the_window():
    ticks = colour.colour_bar_ticks((0.0, 7.3), count=4)
    assert [v for _, v in ticks] == [0.0, 2.0, 4.0, 6.0]
    np.testing.assert_allclose([f for f, _ in ticks], np.array([0, 2, 4, 6]) / 7.3)
    assert [v for _, v in colour.colour_bar_ticks((-1000.0, 1000.0))][0] == -1000.0
    assert colour.colour_bar_ticks((3.0, 3.0)) == [(0.0, 3.0)]


def test_gray_functional_goes_through_colormap():
    gray = np.linspace(0, 1, 256, dtype=np.float32)[None].repeat(4, 0)
    luma, chroma, rgb = colour.split_functional(gray, "hot")
    np.testing.assert_array_equal(colour.to_uint8(rgb)[0], colour.colormap_lut("hot"))
    with pytest.raises(KeyError, match="unknown colormap"):
        colour.split_functional(gray, "viridis2")
