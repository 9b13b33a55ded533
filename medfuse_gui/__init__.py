"""MedFuse: a viewer for multimodal medical image fusion.

The core (``io``, ``colour``, ``fusion``, ``metrics``, ``training``, ``pipeline``) never imports Qt;
only ``medfuse_gui.gui`` does.
"""

__version__ = "0.1.0"
