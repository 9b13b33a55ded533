"""Qt-free viewer fixtures: a model and its compute service driven by a queue the test drains."""

from __future__ import annotations

import pytest

from medfuse_gui.demo import demo_paths, volume_demo_paths  # noqa: F401  (used by the tests)
from medfuse_gui.viewer.compute import ComputeService
from medfuse_gui.viewer.model import ViewerModel
from medfuse_gui.viewer.runners import QueueRunner


class Viewer:
    def __init__(self) -> None:
        self.model = ViewerModel()
        self.runner = QueueRunner()
        self.service = ComputeService(self.model, self.runner)

    def run(self) -> int:
        return self.runner.run_pending()


@pytest.fixture
def viewer() -> Viewer:
    return Viewer()


@pytest.fixture
def demo_viewer(viewer) -> Viewer:
    viewer.service.open_pair(*demo_paths())
    viewer.run()
    assert viewer.model.pair is not None
    return viewer
