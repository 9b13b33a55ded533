"""`medfuse bench volume`'s per-network peak memory: the peak is reset between networks, so each reports its own."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from medfuse_gui.commands import bench

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc high-water mark")


def test_peak_is_reset_and_then_measures_what_follows():
    big = np.ones(48 * 2 ** 20 // 8)          # 48 MB touched
    del big
    assert bench.reset_peak_memory(torch.device("cpu"))
    after_reset = bench.peak_rss_mb()
    # the earlier 48 MB no longer counts: the peak is back near what is resident now
    assert after_reset - bench.current_rss_mb() < 8
    block = np.ones(32 * 2 ** 20 // 8)        # 32 MB touched after the reset
    grown = bench.peak_rss_mb() - after_reset
    del block
    assert 28 < grown < 40
    assert bench.peak_device_mb(torch.device("cpu")) is None
