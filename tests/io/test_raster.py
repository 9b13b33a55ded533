"""Raster loaders on the real Harvard PNGs and on files written here in every supported flavour."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from medfuse_gui import io
from medfuse_gui.io.errors import LoadError, UnsupportedFormatError
from tests.conftest import HARVARD


def test_harvard_gray_mri(shared):
    volume = io.load(HARVARD / "SPECT-MRI" / "MRI" / "11017.png")
    assert volume.pixels.shape == (1, 256, 256)
    assert volume.pixels.dtype == np.uint8
    assert volume.modality == "MR"
    assert not volume.is_rgb and not volume.geometry_known
    assert volume.window == (0.0, 255.0)
    expected = cv2.imread(str(HARVARD / "SPECT-MRI" / "MRI" / "11017.png"), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(volume.pixels[0], expected)


def test_harvard_rgb_spect_is_rgb_in_rgb_order(shared):
    path = HARVARD / "SPECT-MRI" / "SPECT" / "11017.png"
    volume = io.load(path)
    assert volume.is_rgb and volume.pixels.shape == (1, 256, 256, 3)
    assert volume.modality == "NM"
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(volume.pixels[0], bgr[..., ::-1])


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp"])
def test_lossless_formats_round_trip(tmp_path, suffix, shared):
    gray = cv2.imread(str(HARVARD / "CT-MRI" / "CT" / "16009.png"), cv2.IMREAD_GRAYSCALE)
    path = tmp_path / f"ct{suffix}"
    assert cv2.imwrite(str(path), gray)
    np.testing.assert_array_equal(io.load(path).pixels[0], gray)


def test_jpeg_loads_close_to_source(tmp_path, shared):
    gray = cv2.imread(str(HARVARD / "CT-MRI" / "CT" / "16009.png"), cv2.IMREAD_GRAYSCALE)
    path = tmp_path / "ct.jpg"
    cv2.imwrite(str(path), gray, [cv2.IMWRITE_JPEG_QUALITY, 98])
    loaded = io.load(path).pixels[0].astype(int)
    assert np.abs(loaded - gray).mean() < 1.5


def test_16bit_gray_keeps_depth_and_windows_on_its_range(tmp_path):
    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 7).astype(np.uint16)
    path = tmp_path / "ramp16.png"
    cv2.imwrite(str(path), ramp)
    volume = io.load(path)
    assert volume.pixels.dtype == np.uint16
    np.testing.assert_array_equal(volume.pixels[0], ramp)
    low, high = volume.window
    assert low == 0.0 and 0.97 * ramp.max() < high <= ramp.max()


def test_rgba_drops_alpha_and_gray_rgb_becomes_gray(tmp_path, shared):
    rgb = cv2.imread(str(HARVARD / "PET-MRI" / "PET" / "25057.png"), cv2.IMREAD_COLOR)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    cv2.imwrite(str(tmp_path / "pet_rgba.png"), rgba)
    np.testing.assert_array_equal(io.load(tmp_path / "pet_rgba.png").pixels[0], rgb[..., ::-1])
    gray = cv2.imread(str(HARVARD / "PET-MRI" / "MRI" / "25057.png"), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(tmp_path / "mri_as_rgb.png"), np.dstack([gray] * 3))
    volume = io.load(tmp_path / "mri_as_rgb.png")
    assert not volume.is_rgb
    np.testing.assert_array_equal(volume.pixels[0], gray)


def test_bad_files_raise_load_errors_naming_the_file(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00garbage")
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    with pytest.raises(LoadError, match="empty.png: the file is empty"):
        io.load(empty)
    with pytest.raises(LoadError, match="truncated.png: not a readable"):
        io.load(truncated)
    with pytest.raises(UnsupportedFormatError, match="notes.txt: unknown format"):
        io.load(text)
    with pytest.raises(LoadError, match="no such file"):
        io.load(tmp_path / "missing.png")
