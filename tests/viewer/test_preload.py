"""Network preloading (issue 18): torch and the networks load in their own lane after the window paints, the selected
network first; the fusion lane uses the warmed fuser; classic methods never import torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from medfuse_gui.fusion import get_model, list_models
from medfuse_gui.viewer.compute import ComputeService
from medfuse_gui.viewer.model import ViewerModel
from medfuse_gui.viewer.runners import QueueRunner


@pytest.fixture(autouse=True)
def preload_on(monkeypatch):
    monkeypatch.setenv("MEDFUSE_PRELOAD", "1")


def counting_viewer():
    built: list[str] = []

    def build(name):
        built.append(name)
        return get_model(name, device="cpu")

    model, runner = ViewerModel(), QueueRunner()
    return model, runner, ComputeService(model, runner, get_model=build), built


def test_networks_preload_selected_first_and_the_fusion_lane_uses_them(demo_viewer):
    from .conftest import demo_paths

    model, runner, service, built = counting_viewer()
    networks = list(list_models(kind="network", available_only=True))
    assert len(networks) >= 2
    model.set_method(networks[-1])          # the user's last method: loaded before the others
    finished = []
    service.preloader.events.finished.connect(lambda e: finished.append(e.value))
    service.init_device()
    runner.run_pending()
    assert model.device and "unavailable" not in model.device
    assert finished == [tuple(service.preloader.loaded)]
    assert service.preloader.loaded[0] == networks[-1]
    assert sorted(service.preloader.loaded) == sorted(networks)
    assert built == service.preloader.loaded            # each built once, in that order

    service.open_pair(*demo_paths())
    runner.run_pending()
    for name in networks:
        model.set_method(name)
        runner.run_pending()
        assert model.fused is not None and model.fused.params.method == name
    assert sorted(built) == sorted(networks)            # switching built nothing again: the warmed fusers were used


def test_choosing_a_network_moves_it_to_the_front_of_the_queue():
    model, runner, service, built = counting_viewer()
    networks = list(list_models(kind="network", available_only=True))
    service.init_device()
    runner.run_pending(limit=2)        # torch imported, the first network loaded, the second one's job submitted
    wanted = networks[-1]
    assert wanted not in service.preloader.loaded
    model.set_method(wanted)
    runner.run_pending()
    assert service.preloader.loaded[2] == wanted        # next after the one already on its way


def test_a_classic_method_fuses_and_measures_without_importing_torch():
    """The window shows the 2 ms average before torch's ~1 s import has finished (it never needs torch)."""
    script = textwrap.dedent("""
        import sys
        from medfuse_gui.demo import demo_paths
        from medfuse_gui.viewer.compute import ComputeService
        from medfuse_gui.viewer.model import ViewerModel
        from medfuse_gui.viewer.runners import QueueRunner

        model, runner = ViewerModel(), QueueRunner()
        service = ComputeService(model, runner)
        model.set_method("gff")
        service.open_pair(*demo_paths())
        runner.run_pending()
        assert model.fused is not None and model.fused.params.method == "gff"
        assert model.metrics, "no metrics"
        print("torch" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"
