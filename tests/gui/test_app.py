"""``medfuse-gui --screenshot``: the whole window, once fusion and metrics are shown, as a PNG (offscreen)."""

from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np


def run_app(tmp_path, *args):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "medfuse_gui.gui.app", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_screenshot_of_the_demo_pair(tmp_path):
    out = tmp_path / "shot.png"
    result = run_app(tmp_path, "--demo", "--method", "gff", "--size", "1500x820", "--screenshot", str(out))
    assert result.returncode == 0, result.stderr
    image = cv2.imread(str(out), cv2.IMREAD_COLOR)
    assert image.shape == (820, 1500, 3)
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    # the fused SPECT colour (saturated pixels), and red and green box outlines, are all on screen
    saturated = (hsv[..., 1] > 120) & (hsv[..., 2] > 80)
    assert saturated.mean() > 0.02
    b, g, r = (image[..., c].astype(int) for c in range(3))
    assert ((r > 200) & (g < 80) & (b < 80)).sum() > 500   # red frames and insets
    assert ((g > 170) & (r < 90) & (b < 110)).sum() > 500  # green frames and insets


def test_bad_arguments_fail_with_one_line(tmp_path):
    result = run_app(tmp_path, "--anat", str(tmp_path / "missing.png"), "--func", str(tmp_path / "missing.png"),
                     "--screenshot", str(tmp_path / "x.png"))
    assert result.returncode == 1 and "no such file" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_unreadable_input_exits_nonzero_in_screenshot_mode(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"junk")
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), np.zeros((32, 32), np.uint8))
    result = run_app(tmp_path, "--anat", str(bad), "--func", str(good), "--screenshot", str(tmp_path / "x.png"))
    assert result.returncode == 1 and "bad.png" in result.stderr


def test_the_default_window_fits_a_1024x700_screen(tmp_path):
    """No --size and no remembered geometry: the default size shrinks to the screen, and the window can be that
    small (offscreen platform configured as one 1024x700 screen)."""
    import json

    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"windowFrameMargins": False, "screens": [
        {"name": "small", "x": 0, "y": 0, "width": 1024, "height": 700, "logicalDpi": 96, "logicalBaseDpi": 96,
         "dpr": 1}]}))
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "medfuse_gui.gui.app", "--demo", "--method", "average",
                             "--screenshot", str(out)], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert cv2.imread(str(out), cv2.IMREAD_COLOR).shape == (700, 1024, 3)
