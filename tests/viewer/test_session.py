"""Sessions: the model written to JSON and read back into a fresh viewer gives the same state; bad files are refused
with a message that names the problem."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medfuse_gui.viewer import Box
from medfuse_gui.viewer.session import Session, SessionError

from .conftest import Viewer, volume_demo_paths


def test_a_saved_session_restores_the_same_state(tmp_path):
    first = Viewer()
    first.service.open_pair(*volume_demo_paths())
    first.run()
    model = first.model
    model.set_method("laplacian")
    model.set_orientation("coronal")
    model.set_cursor((70.0, 120.0, 80.0))
    model.set_anat_window((12.0, 90.0))
    model.set_func_window((0.5, 3.0))
    model.set_colormap("gray")
    model.set_overlay(visible=True, alpha=0.3, threshold=0.4)
    model.set_box("red", Box(20, 30, 40, 24))
    model.set_radiological(False)
    first.run()
    path = Session.from_model(model, window={"geometry": "AAAA"}).write(tmp_path / "s.medfuse.json")

    session = Session.read(path)
    second = Viewer()
    second.service.open_pair(session.anatomical, session.functional)
    second.run()
    session.apply_view(second.model)
    second.run()
    other = second.model
    for name in ("method", "orientation", "anat_window", "anat_window_preset", "func_window", "colormap",
                 "overlay_visible", "overlay_alpha", "overlay_threshold", "radiological", "slice_index"):
        assert getattr(other, name) == getattr(model, name), name
    np.testing.assert_allclose(other.cursor_world, model.cursor_world, atol=1e-6)
    assert other.boxes == model.boxes
    np.testing.assert_array_equal(other.current_fused().fused_rgb_uint8(), model.current_fused().fused_rgb_uint8())
    assert session.window == {"geometry": "AAAA"}


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not JSON"),
    (json.dumps({"format": "something-else"}), "not a MedFuse session"),
    (json.dumps({"format": "medfuse-session", "version": 99}), "newer MedFuse"),
    (json.dumps({"format": "medfuse-session", "version": 1, "anatomical": "a", "functional": "b",
                 "anat_window": [5, 1]}), "'anat_window'"),
    (json.dumps({"format": "medfuse-session", "version": 1, "anatomical": "a", "functional": "b",
                 "orientation": "oblique"}), "'orientation'"),
    (json.dumps({"format": "medfuse-session", "version": 1, "anatomical": "a", "functional": "b",
                 "boxes": {"axial": {"red": [1, 2, -3, 4]}}}), "boxes.axial.red"),
    (json.dumps({"format": "medfuse-session", "version": 1}), "names no anatomical"),
])
def test_bad_session_files_are_refused_clearly(tmp_path, content, reason):
    path = tmp_path / "bad.medfuse.json"
    path.write_text(content)
    with pytest.raises(SessionError) as info:
        Session.read(path)
    assert reason in str(info.value) and "bad.medfuse.json" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_session_naming_a_method_this_install_lacks_opens_with_a_warning(tmp_path):
    first = Viewer()
    first.service.open_pair(*volume_demo_paths())
    first.run()
    first.model.set_method("dwt")
    data = Session.from_model(first.model).to_dict()
    data["method"] = "plugin-net-removed"
    (tmp_path / "s.medfuse.json").write_text(json.dumps(data))
    session = Session.read(tmp_path / "s.medfuse.json")
    second = Viewer()
    second.service.open_pair(session.anatomical, session.functional)
    second.run()
    session.apply_view(second.model)
    second.run()
    assert second.model.method == "average"
    assert "plugin-net-removed" in second.model.messages[-1].text or any(
        "plugin-net-removed" in m.text and m.level == "warning" for m in second.model.messages)
    assert second.model.current_fused() is not None and second.model.current_fused().method == "average"
