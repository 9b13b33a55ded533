"""2-D registration of Harvard slices (no geometry: the transform lives in the anatomical pixel frame)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from medfuse_gui import io
from medfuse_gui.registration import Transform, register

from tests.conftest import harvard_pair

CENTRE = np.array([127.5, 127.5])  # (col, row) of a 256x256 slice


def moved_slice(volume, shift_px, angle_deg):
    """Content at pixel p = (col, row) moves to R (p - c) + c + shift; returns the moved volume and that map."""
    angle = np.radians(angle_deg)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    inverse = rotation.T
    matrix = inverse[::-1, ::-1]  # scipy works on (row, col)
    offset = (CENTRE - inverse @ (CENTRE + np.asarray(shift_px)))[::-1]

    def one(plane):
        return ndimage.affine_transform(plane.astype(np.float32), matrix, offset, order=1)

    image = volume.pixels[0]
    moved = np.stack([one(image[..., c]) for c in range(3)], -1) if image.ndim == 3 else one(image)
    moved = np.clip(np.rint(moved), 0, 255).astype(np.uint8)
    return volume.with_pixels(moved[None]), (lambda q: (q - CENTRE) @ rotation.T + CENTRE + np.asarray(shift_px))


def head_points(anatomical):
    rows, cols = np.nonzero(anatomical.pixels[0] > 20)
    return np.c_[cols, rows].astype(float)


def test_slice_moved_6px_5deg_recovered_same_modality(spect_pair):
    """The 2-D path end to end (frames, Euler2D, inversion): an MRI slice against its own moved copy."""
    anatomical = io.load(spect_pair[0])
    moved, truth = moved_slice(anatomical, (6.0, 0.0), 5.0)
    result = register(anatomical, moved)
    assert result.dimension == 2 and result.kind == "rigid"
    points = head_points(anatomical)
    assert np.abs(result.transform_points(points) - truth(points)).max() < 0.2
    assert result.rotation_deg() == pytest.approx(5.0, abs=0.05)


def test_slice_transform_resamples_the_functional_back(spect_pair):
    """align() through the 2-D transform puts the moved SPECT back where the unmoved one was."""
    anatomical, functional = io.load(spect_pair[0]), io.load(spect_pair[1])
    moved, _ = moved_slice(functional, (6.0, 0.0), 5.0)
    exact = Transform.rigid((5.0,), (6.0, 0.0), center=CENTRE)  # the known motion, as ITK parameters
    back = io.align(moved, anatomical, exact).volume.pixels[0].astype(float)
    reference = functional.pixels[0].astype(float)
    inside = anatomical.pixels[0] > 20
    before = np.abs(moved.pixels[0].astype(float) - reference)[inside].mean()
    assert np.abs(back - reference)[inside].mean() < 0.25 * before


def test_spect_mri_moved_6px_5deg_comes_back_where_the_unmoved_one_registers(spect_pair):
    """Moved by 6 px and 5 deg, the SPECT comes back close to where the same registration puts the unmoved SPECT:
    the result hardly depends on the start (train cases: median 0.14 px; this test case 2.4 px; before the 2-D pose
    search: median 8 px, worst 50 px; 1.7 px before the best 4 grid points were each refined, chosen on train). The
    Harvard atlas's own alignment is not the optimum of MI on these colour maps, nor of any scalar tried
    (docs/registration.md), hence the looser bound to it."""
    anatomical, functional = io.load(spect_pair[0]), io.load(spect_pair[1])
    moved, truth = moved_slice(functional, (6.0, 0.0), 5.0)
    unmoved_result = register(anatomical, functional)
    result = register(anatomical, moved)
    points = head_points(anatomical)
    assert np.linalg.norm(result.transform_points(points) - truth(unmoved_result.transform_points(points)),
                          axis=1).max() < 2.5
    assert np.linalg.norm(unmoved_result.transform_points(points) - points, axis=1).max() < 10.0
    assert "pose search" in result.method


def test_two_basins_of_similar_mi_the_better_refined_one_wins(shared):
    """PET-MRI train case 30: the pose search's best grid point lies in a wrong basin, 89 px from the atlas's
    alignment; refining the 4 best distinct grid points and keeping the best final metric lands within 5 px (the MI
    optimum on these colour maps is a few pixels from the atlas's, see the xfail below)."""
    harvard = shared / "data" / "harvard" / "PET-MRI"
    anatomical, functional = io.load(harvard / "MRI" / "30067.png"), io.load(harvard / "PET" / "30067.png")
    moved, truth = moved_slice(functional, (6.0, 0.0), 5.0)
    result = register(anatomical, moved)
    points = head_points(anatomical)
    assert np.linalg.norm(result.transform_points(points) - truth(points), axis=1).max() < 6.0


@pytest.mark.parametrize("shift_px, angle_deg", [((6.0, 0.0), 5.0), ((0.0, -6.0), -5.0)])
def test_spect_mri_moved_comes_back_within_1px_where_the_atlas_alignment_is_the_mi_optimum(shared, shift_px,
                                                                                          angle_deg):
    """Issue 17's 2-D criterion on a pair whose published alignment can serve as the truth. On most Harvard SPECT-MRI
    slices it cannot: the atlas's own alignment is a median 3.5 px from where registration puts the unmoved SPECT,
    consistently along a case, and visibly turned on some (docs/registration.md, "The atlas's alignment is not a
    1-px truth"). Train slice 28011 is one of the 2 of 224 train slices where the unmoved pair stays within 1 px,
    chosen for that property alone (asserted first); moved, it must come back to the atlas's alignment."""
    anatomical, functional = (io.load(path) for path in harvard_pair("SPECT-MRI", "28011.png"))
    points = head_points(anatomical)
    unmoved = register(anatomical, functional)
    assert np.linalg.norm(unmoved.transform_points(points) - points, axis=1).max() < 1.0
    moved, truth = moved_slice(functional, shift_px, angle_deg)
    result = register(anatomical, moved)
    assert np.linalg.norm(result.transform_points(points) - truth(points), axis=1).max() < 1.0


@pytest.mark.xfail(strict=True, reason="known limit (docs/registration.md): Mattes MI of the MRI against the "
                                       "SPECT colour map's luminance has its optimum several pixels from the atlas's")
def test_spect_mri_moved_6px_5deg_within_1px_of_the_atlas_alignment(spect_pair):
    anatomical, functional = io.load(spect_pair[0]), io.load(spect_pair[1])
    moved, truth = moved_slice(functional, (6.0, 0.0), 5.0)
    result = register(anatomical, moved)
    points = head_points(anatomical)
    assert np.linalg.norm(result.transform_points(points) - truth(points), axis=1).max() < 1.0


def test_slice_and_volume_refused(spect_pair):
    from medfuse_gui.demo import volume_demo_paths
    from medfuse_gui.io.errors import GeometryError

    with pytest.raises(GeometryError, match="2-D image with a volume"):
        register(io.load(spect_pair[0]), io.load(volume_demo_paths()[1]))


def test_registration_starts_from_the_current_alignment(spect_pair):
    """A 60-degree turn is beyond the pose search (+-20 deg) and the centres of mass (no rotation): from the files'
    geometry the registration lands elsewhere; started from the user's rough nudge (50 deg) it finds the motion, as
    3D Slicer's initial transform does. The same start, inverted by the smaller-field swap, is handled too."""
    anatomical = io.load(spect_pair[0])
    moved, truth = moved_slice(anatomical, (4.0, -3.0), 60.0)
    points = head_points(anatomical)

    def worst(result):
        return np.linalg.norm(result.transform_points(points) - truth(points), axis=1).max()

    assert worst(register(anatomical, moved)) > 5.0
    nudge = Transform.rigid((50.0,), (0.0, 0.0), center=CENTRE)
    result = register(anatomical, moved, initial=nudge)
    assert worst(result) < 0.3
    assert result.rotation_deg() == pytest.approx(60.0, abs=0.1)


def test_a_starting_transform_of_the_wrong_dimension_is_refused(spect_pair):
    from medfuse_gui.io.errors import GeometryError

    anatomical = io.load(spect_pair[0])
    with pytest.raises(GeometryError, match="3-D starting transform"):
        register(anatomical, anatomical, initial=Transform.identity(3))


def test_distinct_best_skips_grid_neighbours_and_unevaluated_points():
    from medfuse_gui.registration.engine import _distinct_best

    points = [("shoulder", -0.9, np.array([1.0, 0.0, 0.0])), ("best", -1.0, np.array([0.0, 0.0, 0.0])),
              ("off grid", np.nan, np.array([9.0, 9.0, 9.0])), ("other basin", -0.8, np.array([0.0, 3.0, 0.0])),
              ("diagonal neighbour", -0.85, np.array([1.0, 1.0, -1.0])), ("third", -0.1, np.array([0.0, -2.0, 0.0]))]
    assert _distinct_best(points, 3) == ["best", "other basin", "third"]
    assert _distinct_best(points, 1) == ["best"]
    assert _distinct_best([("as is", np.inf, np.zeros(6))], 4) == ["as is"]
