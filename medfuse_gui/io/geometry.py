"""World geometry: display orientation and resampling one volume onto another's grid.

Voxel index order everywhere is (col, row, slice) = (i, j, k) for affines and (slice, row, col) for arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from nibabel import orientations as ornt
from scipy import ndimage

from .errors import GeometryError
from .volume import Volume

DISPLAY_AXES = ("L", "P", "S")  # DICOM's usual axial layout: patient right on screen left, anterior at top


def reorient_for_display(volume: Volume) -> Volume:
    """Flip/permute voxel axes (no interpolation) so that col->L, row->P, slice->S, the radiological axial layout.

    Single slices keep their acquired plane: a lone coronal slice must stay a 2-D image, not become a 1-row volume.
    """
    if not volume.geometry_known or volume.n_slices < 2:
        return volume
    start = ornt.io_orientation(volume.affine)
    end = ornt.axcodes2ornt(DISPLAY_AXES)
    transform = ornt.ornt_transform(start, end)
    if np.array_equal(transform, [[0, 1], [1, 1], [2, 1]]):
        return volume
    ijk = np.moveaxis(volume.pixels, (0, 1, 2), (2, 1, 0))  # (k,j,i[,c]) -> (i,j,k[,c])
    shape_ijk = ijk.shape[:3]
    moved = ornt.apply_orientation(ijk, transform)
    pixels = np.ascontiguousarray(np.moveaxis(moved, (0, 1, 2), (2, 1, 0)))
    affine = volume.affine @ ornt.inv_ornt_aff(transform, shape_ijk)
    zooms = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    return Volume(pixels=pixels, modality=volume.modality, spacing=(zooms[2], zooms[1], zooms[0]), affine=affine,
                  source=volume.source, geometry_known=True, window=volume.window,
                  frame_of_reference=volume.frame_of_reference, unit=volume.unit, quantity=volume.quantity,
                  suv=volume.suv, meta=dict(volume.meta, reoriented_from="".join(
                      ornt.aff2axcodes(volume.affine))))


@dataclass
class Alignment:
    """The functional volume on the anatomical grid, and what the user must be told about how it got there."""

    volume: Volume
    warnings: list[str] = field(default_factory=list)
    method: str = "world"  # "world" (affines), "identity" (same grid), "fitted" (no geometry: centred and scaled),
    # "registered" (through a registration transform)


def _fitted_affine(moving: Volume, target: Volume) -> np.ndarray:
    """Placeholder geometry for images without any: centre ``moving`` on ``target`` and scale it to fit in-plane."""
    tz, tr, tc = target.grid_shape
    mz, mr, mc = moving.grid_shape
    scale = min(tr / mr, tc / mc)
    zscale = tz / mz
    # target voxel index = scale * (moving index + 0.5) - 0.5 + centring offset; expressed in target voxel units,
    # then through the target affine into its world.
    to_target = np.eye(4)
    to_target[0, 0] = to_target[1, 1] = scale
    to_target[2, 2] = zscale
    to_target[0, 3] = (tc - mc * scale) / 2.0 + 0.5 * scale - 0.5
    to_target[1, 3] = (tr - mr * scale) / 2.0 + 0.5 * scale - 0.5
    to_target[2, 3] = 0.5 * zscale - 0.5
    return target.affine @ to_target


def resample(moving: Volume, target: Volume, moving_affine: np.ndarray | None = None, order: int = 1) -> np.ndarray:
    """Sample ``moving`` at the world position of every voxel centre of ``target`` (linear by default, 0 outside)."""
    source_affine = moving.affine if moving_affine is None else moving_affine
    # target voxel (i,j,k) -> moving voxel (i,j,k)
    ijk_map = np.linalg.solve(source_affine, target.affine)
    # scipy works in array-axis order (k,j,i): reverse both index vectors.
    perm = np.eye(4)[[2, 1, 0, 3]]
    kji_map = perm @ ijk_map @ perm
    matrix, offset = kji_map[:3, :3], kji_map[:3, 3]
    out_shape = target.grid_shape
    if np.allclose(matrix, np.eye(3)) and np.allclose(offset, 0) and moving.grid_shape == out_shape:
        return moving.pixels.copy()

    def one(channel: np.ndarray) -> np.ndarray:
        data = channel.astype(np.float32, copy=False)
        if data.shape[0] == 1 and out_shape[0] == 1:  # 2-D: keep the slice axis out of the interpolation
            plane = ndimage.affine_transform(data[0], matrix[1:, 1:], offset[1:], output_shape=out_shape[1:],
                                             order=order, mode="constant", cval=0.0, prefilter=False)
            return plane[None]
        return ndimage.affine_transform(data, matrix, offset, output_shape=out_shape, order=order, mode="constant",
                                        cval=0.0, prefilter=False)

    if moving.is_rgb:
        result = np.stack([one(moving.pixels[..., c]) for c in range(3)], axis=-1)
        return np.clip(np.rint(result), 0, 255).astype(np.uint8)
    return one(moving.pixels)


def _overlap_fraction(moving: Volume, target: Volume, moving_affine: np.ndarray) -> float:
    """Fraction of the target's voxel-centre bounding box that falls inside the moving volume (sampled on a grid)."""
    tz, tr, tc = target.grid_shape
    axes = [np.linspace(0, n - 1, min(n, 12)) for n in (tc, tr, tz)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    world = target.affine @ np.c_[grid, np.ones(len(grid))].T
    voxels = np.linalg.solve(moving_affine, world)[:3].T
    mz, mr, mc = moving.grid_shape
    inside = np.all((voxels >= -0.5) & (voxels <= np.array([mc, mr, mz]) - 0.5), axis=1)
    return float(inside.mean())


def functional_placement(functional: Volume, anatomical: Volume) -> tuple[np.ndarray, str]:
    """Where the functional's voxels sit in the anatomical world before any registration, and how that was decided:
    its own affine ("world") when both have geometry, else centred and scaled onto the anatomical ("fitted")."""
    if functional.geometry_known and anatomical.geometry_known:
        return functional.affine, "world"
    return _fitted_affine(functional, anatomical), "fitted"


def align(functional: Volume, anatomical: Volume, transform=None) -> Alignment:
    """Put the functional volume on the anatomical grid, in world coordinates when both have geometry.

    ``transform`` (a :class:`medfuse_gui.registration.Transform`, anatomical world -> functional world) is composed
    with that placement, so the functional is resampled once, through both.
    """
    warnings: list[str] = []
    # anatomical world point -> the functional world point it shows; None: the placement as it is.
    registration = None if transform is None else np.linalg.inv(transform.world_matrix(anatomical))
    if functional.geometry_known and anatomical.geometry_known:
        fa, fb = functional.frame_of_reference, anatomical.frame_of_reference
        if fa and fb and fa != fb and registration is None:
            warnings.append("the two series have different DICOM Frames of Reference: their world coordinates may not "
                            "correspond (registered by the scanner only within one frame)")
        moving_affine = functional.affine if registration is None else registration @ functional.affine
        fraction = _overlap_fraction(functional, anatomical, moving_affine)
        if fraction == 0.0:
            raise GeometryError("the functional and anatomical volumes do not overlap in world coordinates — "
                                "different patients, or geometry written wrongly; nothing would be fused")
        if fraction < 0.5:
            warnings.append(f"only {fraction:.0%} of the anatomical field of view is covered by the functional volume")
        method = "world"
    else:
        method = "fitted"
        moving_affine = _fitted_affine(functional, anatomical)
        if registration is not None:
            moving_affine = registration @ moving_affine
        elif functional.grid_shape != anatomical.grid_shape:
            warnings.append("no world geometry in at least one image: the functional image was centred and scaled to "
                            "the anatomical one (check the registration by eye)")
    if registration is not None:
        method = "registered"
    if method == "fitted" and functional.grid_shape == anatomical.grid_shape:
        return Alignment(volume=functional, warnings=warnings, method="identity")
    pixels = resample(functional, anatomical, moving_affine)
    resampled = Volume(pixels=pixels, modality=functional.modality, spacing=anatomical.spacing,
                       affine=anatomical.affine, source=functional.source,
                       geometry_known=anatomical.geometry_known, window=functional.window,
                       frame_of_reference=anatomical.frame_of_reference, unit=functional.unit,
                       quantity=functional.quantity, suv=functional.suv, meta=dict(functional.meta, resampled=method))
    return Alignment(volume=resampled, warnings=warnings, method=method)
