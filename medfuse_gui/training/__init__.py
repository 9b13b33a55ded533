"""Training of the fusion networks (Qt-free). Losses live in ``losses/<network>.py``, one per paper."""
