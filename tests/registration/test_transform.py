"""Transform: ITK parameters, world matrix, files read back by SimpleITK, nudges, sessions."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from medfuse_gui.io import Volume, align
from medfuse_gui.io.errors import LoadError, MedFuseError, WriteError
from medfuse_gui.registration import LPS_TO_RAS, Transform

POINTS = np.array([[0.0, 0.0, 0.0], [10.0, -20.0, 30.0], [-55.5, 40.0, 12.0], [80.0, 80.0, -60.0]])


def example() -> Transform:
    return Transform.rigid((8.0, -5.0, 3.0), (10.0, -4.0, 2.5), center=(5.0, 6.0, -7.0), metric_value=-0.51,
                           iterations=87, stop_reason="Step too small", method="test")


def test_parameters_follow_itk_formula():
    t = example()
    expected = POINTS @ t.matrix.T + (t.center + t.translation - t.matrix @ t.center)
    assert np.allclose(t.transform_points(POINTS), expected)
    assert np.allclose(np.asarray(t.to_sitk().GetCenter()), (5.0, 6.0, -7.0))
    for point in POINTS:
        assert np.allclose(t.to_sitk().TransformPoint(tuple(point)), t.transform_points(point[None])[0], atol=1e-9)


def test_file_round_trip_and_simpleitk_directly(tmp_path):
    t = example()
    path = t.write(tmp_path / "t.tfm")
    back = Transform.read(path)
    assert np.allclose(back.transform_points(POINTS), t.transform_points(POINTS), atol=1e-9)
    assert back.metric_value == pytest.approx(-0.51) and back.iterations == 87 and back.method == "test"
    direct = sitk.ReadTransform(str(path))  # what SimpleITK or 3D Slicer sees
    for point in POINTS:
        assert np.allclose(direct.TransformPoint(tuple(point)), t.transform_points(point[None])[0], atol=1e-9)
    assert "Euler3DTransform" in path.read_text().splitlines()[2]


def test_affine_file_round_trip(tmp_path):
    matrix = np.array([[1.05, 0.02, 0.0], [-0.03, 0.97, 0.01], [0.0, 0.04, 1.1]])
    t = Transform(matrix, (1.0, 2.0, 3.0), (0.0, 10.0, 0.0), kind="affine")
    back = Transform.read(t.write(tmp_path / "a.txt"))
    assert back.kind == "affine" and np.allclose(back.transform_points(POINTS), t.transform_points(POINTS))


def test_write_refuses_overwrite_and_bad_names(tmp_path):
    path = example().write(tmp_path / "t.tfm")
    with pytest.raises(WriteError, match="exists"):
        example().write(path)
    example().write(path, force=True)
    with pytest.raises(MedFuseError, match=r"\.tfm or \.txt"):
        example().write(tmp_path / "t.json")
    (tmp_path / "junk.tfm").write_text("not a transform\n")
    with pytest.raises(LoadError, match="junk.tfm"):
        Transform.read(tmp_path / "junk.tfm")
    with pytest.raises(LoadError, match="no such file"):
        Transform.read(tmp_path / "missing.tfm")


def test_world_matrix_is_lps_conjugate():
    t = example()
    world = t.world_matrix()
    ras = np.c_[POINTS, np.ones(len(POINTS))]
    lps = (LPS_TO_RAS @ ras.T).T[:, :3]
    expected = (LPS_TO_RAS @ np.c_[t.transform_points(lps), np.ones(len(lps))].T).T
    assert np.allclose((world @ ras.T).T, expected)


def test_nudges_move_the_functional_content_and_undo_is_the_old_transform():
    t = Transform.identity(3)
    moved = t.nudged(translation_mm=(2.0, 0.0, -1.0))
    # content at world p appears at p + d: the anatomical point p + d shows the functional point p
    world = moved.world_matrix()
    assert np.allclose(world @ [12.0, 5.0, 4.0, 1.0], [10.0, 5.0, 5.0, 1.0])
    turned = t.nudged(rotation_deg=(0.0, 0.0, 90.0), centre_ras=(10.0, 0.0, 0.0))
    # content at (11, 0, 0) rotates 90 deg about S through (10, 0, 0) to (10, 1, 0)
    assert np.allclose(turned.world_matrix() @ [10.0, 1.0, 0.0, 1.0], [11.0, 0.0, 0.0, 1.0])
    assert turned.kind == "rigid" and len(turned.nudges) == 1 and t.nudges == ()
    both = turned.nudged(translation_mm=(0.0, 0.0, 3.0))
    assert len(both.nudges) == 2 and "2 manual nudge(s)" in both.describe()


def test_two_d_nudge_in_pixel_frame_and_out_of_plane_refused():
    anatomical = Volume(np.zeros((1, 20, 30), np.uint8))
    t = Transform.identity(2)
    moved = t.nudged(translation_mm=(3.0, -2.0, 0.0), anatomical=anatomical)
    assert np.allclose(moved.transform_points(np.array([[5.0, 5.0]])), [[2.0, 7.0]])
    with pytest.raises(MedFuseError, match="out of its plane"):
        t.nudged(rotation_deg=(10.0, 0.0, 0.0), anatomical=anatomical)


def test_session_dict_round_trip():
    t = example().nudged(translation_mm=(1.0, 2.0, 3.0))
    back = Transform.from_dict(t.to_dict())
    assert np.allclose(back.transform_points(POINTS), t.transform_points(POINTS))
    assert back.nudges == t.nudges and back.iterations == 87
    with pytest.raises(MedFuseError, match="malformed"):
        Transform.from_dict({"matrix": [[1, 0], [0, 1]]})


def test_align_resamples_once_through_the_transform():
    """A volume with a bright voxel: aligned through a 6 mm shift it lands 3 voxels (2 mm) away, exactly."""
    pixels = np.zeros((10, 12, 14), np.float32)
    pixels[5, 6, 4] = 100.0
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    anatomical = Volume(pixels.copy(), affine=affine, geometry_known=True)
    functional = Volume(pixels.copy(), modality="PT", affine=affine, geometry_known=True)
    shift = Transform.identity(3).nudged(translation_mm=(6.0, 0.0, 0.0))  # content moves +6 mm in R
    result = align(functional, anatomical, shift)
    assert result.method == "registered"
    assert np.unravel_index(np.argmax(result.volume.pixels), pixels.shape) == (5, 6, 7)
    assert result.volume.pixels.max() == pytest.approx(100.0)


def test_describe_is_one_line():
    text = example().describe()
    assert "\n" not in text and "Mattes MI -0.5100" in text and "87 iterations" in text
    assert len(example().describe_short()) <= 60


def test_describe_says_whether_a_registration_ran():
    """Nudges from the world alignment are not a registration: the provenance and the window must not say so."""
    by_hand = Transform.identity(3).nudged(translation_mm=(1.0, 0.0, 0.0))
    assert by_hand.by_hand
    assert by_hand.describe().startswith("functional aligned to anatomical by hand: 3-D rigid from the files'")
    assert "1 manual nudge(s)" in by_hand.describe() and "manual+nudged" in by_hand.describe_short()
    registered_then_nudged = example().nudged(translation_mm=(1.0, 0.0, 0.0))
    assert not registered_then_nudged.by_hand
    assert registered_then_nudged.describe().startswith("functional registered to anatomical: 3-D rigid (test)")
    given = Transform.from_dict({**example().to_dict(), "method": "", "metric_value": None})  # a file that does not say
    assert not given.by_hand and "(given transform)" in given.describe()


def test_a_caution_travels_with_the_transform(tmp_path):
    """A doubtful result (a thin slab) says so wherever it goes: file, session, nudges, provenance line."""
    from dataclasses import replace

    doubtful = replace(example(), caution="the functional covers only 24 mm (3 voxels) along one axis")
    assert Transform.read(doubtful.write(tmp_path / "c.tfm")).caution == doubtful.caution
    assert Transform.from_dict(doubtful.to_dict()).caution == doubtful.caution
    nudged = doubtful.nudged(translation_mm=(1.0, 0.0, 0.0))
    assert nudged.caution == doubtful.caution
    assert nudged.describe().endswith("; caution: the functional covers only 24 mm (3 voxels) along one axis")
    assert "caution" not in example().describe() and Transform.read(example().write(tmp_path / "e.tfm")).caution == ""
    assert Transform.from_dict({k: v for k, v in example().to_dict().items() if k != "caution"}).caution == ""
