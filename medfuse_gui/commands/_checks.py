"""Argument checks shared by the commands, done before any long work."""

from __future__ import annotations

import re

from ..io.errors import MedFuseError

_DEVICE = re.compile(r"^(cpu|cuda|cuda:\d{1,3}|mps)$")


def check_device(text: str | None) -> str | None:
    """'cpu', 'cuda', 'cuda:N' or 'mps' (None: CUDA when available); anything else is a one-line error."""
    if text is None:
        return None
    device = text.strip().lower()
    if not _DEVICE.match(device):
        raise MedFuseError(f"unknown device {text!r}: use cpu, cuda or cuda:N")
    return device
