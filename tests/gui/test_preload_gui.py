"""The window preloads networks in its own lane (issue 18): a classic method is shown while that lane is busy, and
switching to a network uses the fuser warmed in the background."""

from __future__ import annotations

import threading

import pytest

from medfuse_gui.demo import demo_paths

TIMEOUT_MS = 60_000


@pytest.fixture(autouse=True)
def preload_on(monkeypatch):
    monkeypatch.setenv("MEDFUSE_PRELOAD", "1")


def test_a_classic_method_is_shown_while_torch_and_the_networks_load(window, qtbot):
    release = threading.Event()
    window.runner.submit("preload", "hold", lambda progress, cancelled: release.wait(60), on_result=lambda v: None,
                         droppable=False)
    try:
        with qtbot.waitSignal(window.fusedShown, timeout=TIMEOUT_MS) as shown:
            window.open_pair(*demo_paths(), "average")
        assert shown.args[0].params.method == "average"
        assert not release.is_set()   # shown while the preload lane was still held
    finally:
        release.set()


def test_switching_to_a_preloaded_network_uses_the_warmed_fuser(window, qtbot):
    with qtbot.waitSignal(window.networksPreloaded, timeout=TIMEOUT_MS) as ready:
        window.open_pair(*demo_paths(), "average")
    loaded = list(ready.args[0])
    assert loaded == window.service.preloader.loaded and window.model.device
    fusers = window.service._fusers["fusion"]
    # the fusion lane adopted them (one more small pass each, in its own thread) before anything asked for them
    assert set(loaded) <= set(fusers)
    warmed = {name: fusers[name] for name in loaded}
    for name in loaded:
        with qtbot.waitSignal(window.fusedShown, timeout=TIMEOUT_MS,
                              check_params_cb=lambda fused, name=name: fused.params.method == name):
            window.select_method(name)
        assert fusers[name] is warmed[name]
    assert not window.service.preloader.ready        # every warmed fuser was taken, none built again
