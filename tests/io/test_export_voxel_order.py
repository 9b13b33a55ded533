"""A fused NIfTI overlays its anatomical file voxel for voxel: the display reorientation is undone on export, so the
written affine and shape are the input's, and each voxel holds the fusion of that same input voxel."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from medfuse_gui import io
from medfuse_gui.io.export import export_volume

AFFINES = {
    "RAS": np.diag([2.0, 2.0, 3.0, 1.0]),
    "LAS": np.diag([-2.0, 2.0, 3.0, 1.0]),
    # permuted axes, voxel (i, j, k) along (S, L, A), as sagittal acquisitions are often stored
    "SLA": np.array([[0.0, -1.5, 0.0, 10.0], [0.0, 0.0, 2.0, -20.0], [2.5, 0.0, 0.0, 5.0], [0, 0, 0, 1.0]]),
}


@pytest.mark.parametrize("code", list(AFFINES))
def test_nifti_export_keeps_the_input_voxel_order_and_affine(tmp_path, code):
    affine = AFFINES[code].copy()
    affine[:3, 3] += (-30.0, 12.0, 7.0)
    shape = (9, 11, 7)
    data = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)   # every voxel its own value
    source = tmp_path / f"anat_{code}.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), str(source))
    volume = io.load(source)                       # reoriented for display (col->L, row->P, slice->S)
    assert volume.meta.get("reoriented_from") == "".join(nib.aff2axcodes(affine))   # none is stored as L,P,S
    # a stand-in fusion that keeps each voxel's identity: R,G,B = value mod 256, value // 256, 7
    values = volume.pixels.astype(np.int64)
    rgb = np.stack([values % 256, values // 256, np.full_like(values, 7)], axis=-1).astype(np.uint8)
    out = export_volume(tmp_path / "fused.nii.gz", rgb, volume, "test", "nifti")[0]

    written = nib.load(str(out))
    np.testing.assert_allclose(written.affine, affine, atol=1e-5)
    assert written.shape == shape
    fused = np.asarray(written.dataobj)
    decoded = fused["R"].astype(np.int64) + 256 * fused["G"].astype(np.int64)
    np.testing.assert_array_equal(decoded, data.astype(np.int64))   # voxel (i,j,k) is the input's voxel (i,j,k)
    assert (fused["B"] == 7).all()
