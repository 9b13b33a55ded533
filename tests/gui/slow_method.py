"""A deliberately slow fusion method: real numeric work (OpenCV and NumPy, some pure Python) for about 1.5 s."""

from __future__ import annotations

import time

import cv2
import numpy as np


class SlowAverage:
    name = "slow-test"

    def __init__(self, seconds: float = 1.5):
        self.seconds = seconds

    def fuse(self, anatomical, functional):
        work = np.random.default_rng(0).random((768, 768), dtype=np.float32)
        deadline = time.perf_counter() + self.seconds
        while time.perf_counter() < deadline:
            work = cv2.GaussianBlur(work, (31, 31), 5)
            work = np.sqrt(work * work + 1e-3)
            sum(i * i for i in range(20000))  # holds the GIL: the GUI must still get its turn
        return (np.asarray(anatomical) + np.asarray(functional)) * np.float32(0.5)


def build() -> SlowAverage:
    return SlowAverage()


def build_uninterruptible() -> SlowAverage:
    """Like a long network call: a minute of work that never looks for a cancel request."""
    return SlowAverage(60.0)
