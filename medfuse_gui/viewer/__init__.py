"""The viewer model: what is open and shown, its events, the compute service that keeps it computed, and sessions.
Qt-free (a test enforces it); ``medfuse_gui.gui`` renders it and writes the user's intent back."""

from .boxes import BOX_COLOURS, BOX_NAMES, Box, default_boxes
from .keys import FusionKey, MetricsKey
from .model import Message, PendingPair, ViewerModel
from .planes import ORIENTATIONS, PlaneGeometry

__all__ = ["ViewerModel", "Message", "PendingPair", "Box", "BOX_NAMES", "BOX_COLOURS", "default_boxes", "FusionKey",
           "MetricsKey", "ORIENTATIONS", "PlaneGeometry"]
