"""Build the second demo case: the MNI152 2009a T1 and a SIMULATED FDG-PET on a coarser, differently placed grid.

Recipe (../shared/data/README.md): uptake = 4 x grey matter + 1 x white matter probability (+ one hypermetabolic
focus), Gaussian blur of 6 mm FWHM (scanner resolution), resampled to a 3 mm grid in LAS orientation whose origin is
shifted by (7, -5, 4) mm from the T1's, then Poisson noise at about 120 counts in grey matter. Run once; the outputs
are committed. Needs nilearn's bundled data files (pip download nilearn --no-deps; unzip the wheel).

    python make_simulated_pet.py /path/to/nilearn/datasets/data
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

HERE = Path(__file__).resolve().parent
FOCUS_WORLD_MM = (-38.0, -22.0, 48.0)  # left precentral region, MNI mm (RAS)
FOCUS_RADIUS_MM = 7.0


def main(nilearn_data: Path) -> None:
    t1_path = nilearn_data / "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
    gm = nib.load(nilearn_data / "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz")
    wm = nib.load(nilearn_data / "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz")
    shutil.copyfile(t1_path, HERE / "mni152_t1.nii.gz")

    affine = gm.affine
    gm_p, wm_p = gm.get_fdata(dtype=np.float32), wm.get_fdata(dtype=np.float32)
    gm_p, wm_p = gm_p / gm_p.max(), wm_p / wm_p.max()  # stored 0..255 in these files: make them probabilities
    uptake = 4.0 * gm_p + 1.0 * wm_p
    ijk = np.indices(uptake.shape).reshape(3, -1)
    world = (affine[:3, :3] @ ijk + affine[:3, 3:4]).T.reshape(*uptake.shape, 3)
    focus = np.linalg.norm(world - np.array(FOCUS_WORLD_MM), axis=-1) < FOCUS_RADIUS_MM
    uptake[focus] *= 2.5
    fwhm_mm = 6.0
    sigma_vox = fwhm_mm / 2.3548 / np.abs(np.diag(affine)[:3])
    blurred = ndimage.gaussian_filter(uptake, sigma_vox)

    # Target grid: 3 mm, LAS (x flipped), origin shifted; covers the T1's field of view.
    spacing = 3.0
    shape = (66, 78, 64)
    shift = np.array([7.0, -5.0, 4.0])
    centre = affine[:3, :3] @ (np.array(uptake.shape) / 2.0) + affine[:3, 3]
    pet_affine = np.diag([-spacing, spacing, spacing, 1.0])
    pet_affine[:3, 3] = centre + shift - pet_affine[:3, :3] @ (np.array(shape) / 2.0)
    target_ijk = np.indices(shape).reshape(3, -1)
    target_world = pet_affine[:3, :3] @ target_ijk + pet_affine[:3, 3:4]
    source_ijk = np.linalg.solve(affine[:3, :3], target_world - affine[:3, 3:4])
    # Average the 1 mm signal over each 3 mm voxel (box pre-filter), then sample at the voxel centres.
    boxed = ndimage.uniform_filter(blurred, size=3)
    pet = ndimage.map_coordinates(boxed, source_ijk, order=1, mode="constant").reshape(shape)
    rng = np.random.default_rng(20261121)
    counts_per_unit = 120.0 / 4.0
    noisy = rng.poisson(np.clip(pet, 0, None) * counts_per_unit).astype(np.float32) / counts_per_unit
    image = nib.Nifti1Image(noisy.astype(np.float32), pet_affine)
    image.header.set_sform(pet_affine, code=1)
    image.header.set_qform(pet_affine, code=1)
    image.header["descrip"] = b"SIMULATED FDG-PET (MedFuse demo), not patient data"
    nib.save(image, HERE / "simulated_fdg_pet.nii.gz")
    print("focus (world mm):", FOCUS_WORLD_MM, "PET shape", shape, "affine\n", pet_affine)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
