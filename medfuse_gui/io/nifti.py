"""NIfTI-1/2 volumes (.nii, .nii.gz) through nibabel."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from .errors import LoadError
from .units import header_text, nifti_space_time_units, nifti_unit
from .volume import Volume

NIFTI_SUFFIXES = (".nii", ".nii.gz")

_MODALITY_HINTS = {"pet": "PT", "fdg": "PT", "spect": "NM", "ct": "CT", "t1": "MR", "t2": "MR", "mri": "MR", "flair": "MR"}


def is_nifti(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def _guess_modality(path: Path) -> str:
    tokens = path.name.lower().replace(".nii.gz", "").replace(".nii", "").replace("-", "_").split("_")
    for token in tokens:
        if token in _MODALITY_HINTS:
            return _MODALITY_HINTS[token]
    return "OT"


def load_nifti(path: str | Path) -> Volume:
    path = Path(path)
    try:
        image = nib.load(str(path))
    except FileNotFoundError as exc:
        raise LoadError(path, "no such file") from exc
    except Exception as exc:  # nibabel raises ImageFileError, ValueError, EOFError, gzip errors...
        raise LoadError(path, f"not a readable NIfTI file ({exc.__class__.__name__}: {exc})") from exc
    meta: dict = {"format": "nifti"}
    try:
        if image.get_data_dtype().names:  # RGB24 / RGBA32 structured dtype
            raw = np.asanyarray(image.dataobj)
            data = np.stack([raw[name] for name in image.get_data_dtype().names[:3]], axis=-1).astype(np.uint8)
        else:
            data = np.asanyarray(image.dataobj)
    except Exception as exc:
        raise LoadError(path, f"voxel data could not be read ({exc.__class__.__name__}: {exc})") from exc
    rgb = data.ndim >= 4 and data.shape[-1] == 3 and image.get_data_dtype().names is not None
    if not rgb:
        while data.ndim > 3 and data.shape[-1] == 1:
            data = data[..., 0]
        if data.ndim == 4:  # a time series: the viewer fuses one 3-D volume, the first
            meta["warning"] = f"4-D image with {data.shape[3]} volumes: showing the first"
            data = data[..., 0]
        if data.ndim == 2:
            data = data[..., None]
        if data.ndim != 3:
            raise LoadError(path, f"unsupported NIfTI shape {data.shape}")
        if not np.issubdtype(data.dtype, np.floating) and data.dtype not in (np.uint8, np.int16, np.uint16):
            data = data.astype(np.float32)
        elif np.issubdtype(data.dtype, np.floating) and data.dtype != np.float32:
            data = data.astype(np.float32)
        pixels = np.ascontiguousarray(np.transpose(data, (2, 1, 0)))  # (i,j,k) -> (k,j,i) = (slice,row,col)
    else:
        pixels = np.ascontiguousarray(np.transpose(data, (2, 1, 0, 3)))
    header = image.header
    sform_code = int(header["sform_code"]) if "sform_code" in header else 0
    qform_code = int(header["qform_code"]) if "qform_code" in header else 0
    known = sform_code > 0 or qform_code > 0
    zooms = [float(z) for z in header.get_zooms()[:3]] + [1.0] * (3 - len(header.get_zooms()[:3]))
    if not known:
        meta["warning"] = "no sform/qform: world geometry unknown, voxel sizes used on an arbitrary origin"
    space_unit, time_unit = nifti_space_time_units(header)
    meta["space_unit"] = space_unit or "unknown (mm assumed)"
    if time_unit:
        meta["time_unit"] = time_unit
    if space_unit not in (None, "mm"):
        meta["warning"] = f"xyzt_units says {space_unit}, not mm: world coordinates are shown as if they were mm"
    description = header_text(header, "descrip")
    if description:
        meta["descrip"] = description
    if pixels.ndim == 3 and np.issubdtype(pixels.dtype, np.floating) and not np.all(np.isfinite(pixels)):
        pixels = np.nan_to_num(pixels, nan=0.0, posinf=0.0, neginf=0.0)
        meta["warning"] = "non-finite voxels (NaN/Inf) set to 0"
    return Volume(
        pixels=pixels,
        modality=_guess_modality(path),
        spacing=(zooms[2], zooms[1], zooms[0]),
        affine=np.asarray(image.affine, dtype=float),
        source=str(path),
        geometry_known=known,
        meta=dict(meta, file_affine=np.asarray(image.affine, dtype=float).tolist()),
        unit="a.u." if pixels.ndim == 4 else nifti_unit(header),
    )

