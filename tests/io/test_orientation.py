"""Edge labels from the affine: a RAS and an LAS file, every orientation, radiological and neurological."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from medfuse_gui import io, pipeline
from medfuse_gui.io.orientation import EdgeLabels, axis_codes, direction_letters, edge_labels, lps_to_ras, ras_to_lps
from medfuse_gui.io.readout import read_value


def _write(tmp_path, name, affine):
    data = np.zeros((6, 5, 4), np.float32)
    data[0, 2, 2] = 100.0   # a marker at the first i index
    path = tmp_path / name
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


RAS = np.diag([2.0, 2.0, 3.0, 1.0])
LAS = np.diag([-2.0, 2.0, 3.0, 1.0])


def test_ras_and_las_files_have_flipped_labels_as_stored(tmp_path):
    ras = io.load(_write(tmp_path, "ras.nii", RAS), reorient=False)
    las = io.load(_write(tmp_path, "las.nii", LAS), reorient=False)
    assert edge_labels(ras, "axial") == EdgeLabels(left="L", right="R", top="P", bottom="A")
    assert edge_labels(las, "axial") == EdgeLabels(left="R", right="L", top="P", bottom="A")
    assert edge_labels(ras, "coronal") == EdgeLabels(left="L", right="R", top="S", bottom="I")
    assert edge_labels(las, "sagittal") == EdgeLabels(left="P", right="A", top="S", bottom="I")
    assert axis_codes(ras) == "RAS" and axis_codes(las) == "LAS"


def test_after_display_reorientation_the_patient_right_is_on_the_screen_left(tmp_path):
    # The marker is at i = 0: x = 0 is the patient's leftmost column in the RAS file (x grows to the right) and the
    # rightmost in the LAS file (x = -2 i). Displayed, it must sit on the screen edge that the labels name.
    for name, affine, marker_edge in (("ras.nii", RAS, "L"), ("las.nii", LAS, "R")):
        volume = io.load(_write(tmp_path, name, affine))
        labels = edge_labels(volume, "axial")
        assert labels == EdgeLabels(left="R", right="L", top="A", bottom="P")
        assert edge_labels(volume, "axial", radiological=False) == EdgeLabels(left="L", right="R", top="A", bottom="P")
        assert edge_labels(volume, "coronal").as_dict() == {"left": "R", "right": "L", "top": "S", "bottom": "I"}
        assert edge_labels(volume, "sagittal") == EdgeLabels(left="A", right="P", top="S", bottom="I")
        plane = pipeline.plane(volume, "axial", 2)
        col = int(np.argwhere(plane == 100.0)[0][1])
        on_screen = labels.left if col == 0 else labels.right if col == plane.shape[1] - 1 else "?"
        assert on_screen == marker_edge


def test_images_without_geometry_have_no_labels(tmp_path):
    import cv2

    path = tmp_path / "x.png"
    cv2.imwrite(str(path), np.zeros((4, 4), np.uint8))
    assert edge_labels(io.load(path), "axial") is None and axis_codes(io.load(path)) is None


def test_oblique_directions_name_two_letters():
    assert direction_letters([1.0, 0.2, 0.0]) == "R"
    assert direction_letters([-1.0, 0.8, 0.0]) == "LA"
    assert direction_letters([0.0, -0.1, -1.0]) == "I"
    with pytest.raises(ValueError):
        edge_labels(io.Volume(np.zeros((2, 2, 2)), geometry_known=True), "oblique")


def test_ras_lps_round_trip_flips_x_and_y():
    np.testing.assert_array_equal(ras_to_lps([10.0, -20.0, 30.0]), [-10.0, 20.0, 30.0])
    np.testing.assert_array_equal(lps_to_ras(ras_to_lps([1.5, 2.5, -3.5])), [1.5, 2.5, -3.5])


def test_readout_gives_world_in_both_conventions(tmp_path):
    volume = io.load(_write(tmp_path, "ras.nii", RAS))
    reading = read_value(volume, [0.0, 4.0, 6.0])   # voxel (0, 2, 2) of the RAS file: the marker
    assert reading.value == 100.0 and reading.file_index == (0, 2, 2)
    np.testing.assert_array_equal(reading.world_lps, [0.0, -4.0, 6.0])
    assert reading.position_text() == "RAS (0.0, 4.0, 6.0) mm · LPS (0.0, -4.0, 6.0) mm · voxel (5, 2, 2)"
