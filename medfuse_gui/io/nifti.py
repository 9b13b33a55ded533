"""NIfTI-1/2 volumes (.nii, .nii.gz) through nibabel."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from .errors import LoadError
from .finite import add_warning
from .guard import check_declared_size, check_regular_file
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


def _header_dims(path: Path, image) -> None:
    """The declared data shape and type against the pixel limit, before nibabel reads (or inflates) a voxel."""
    header = image.header
    try:
        shape = tuple(int(v) for v in header.get_data_shape())
        itemsize = int(header.get_data_dtype().itemsize)
    except Exception:  # noqa: BLE001
        raise LoadError(path, "the NIfTI header's dim or datatype field is malformed") from None
    names = ("x", "y", "z", "t", "u", "v", "w")
    dims = {f"dim {names[i]}": v for i, v in enumerate(shape)} or {"dim": 0}
    check_declared_size(path, "the NIfTI header", dims, max(itemsize, 1))


def _affine(path: Path, image, meta: dict) -> tuple[np.ndarray, bool]:
    """The file's affine when it is finite and invertible; else a diagonal of the voxel sizes (geometry unknown)."""
    affine = np.asarray(image.affine, dtype=float)
    linear = affine[:3, :3]
    usable = bool(np.all(np.isfinite(affine))) and abs(float(np.linalg.det(linear))) > 1e-12 * max(
        1.0, float(np.abs(linear).max()) ** 3)
    if usable:
        return affine, True
    add_warning(meta, "the sform/qform affine is singular or not finite: world geometry ignored, voxel sizes used")
    return np.diag(_zooms(image.header, meta) + [1.0]), False


def _zooms(header, meta: dict) -> list[float]:
    """Voxel sizes (pixdim 1..3): finite and positive, else 1 mm with a warning naming pixdim."""
    try:
        raw = [float(z) for z in header.get_zooms()[:3]]
    except Exception:  # noqa: BLE001
        raw = []
    raw += [1.0] * (3 - len(raw))
    zooms = [z if np.isfinite(z) and z > 0 else 1.0 for z in raw]
    if zooms != raw:
        add_warning(meta, f"pixdim {raw} holds zero, negative or non-finite voxel sizes: 1 mm used for those")
    return zooms


def load_nifti(path: str | Path) -> Volume:
    path = Path(path)
    check_regular_file(path)
    try:
        image = nib.load(str(path))
    except FileNotFoundError:
        raise LoadError(path, "no such file") from None
    except MemoryError:
        raise LoadError(path, "the header declares more data than fits in memory") from None
    except Exception:  # noqa: BLE001 - nibabel raises ImageFileError, ValueError, EOFError, gzip errors...
        raise LoadError(path, "not a readable NIfTI file (bad magic, header or compression)") from None
    _header_dims(path, image)
    meta: dict = {"format": "nifti"}
    try:
        if image.get_data_dtype().names:  # RGB24 / RGBA32 structured dtype
            raw = np.asanyarray(image.dataobj)
            data = np.stack([raw[name] for name in image.get_data_dtype().names[:3]], axis=-1).astype(np.uint8)
        else:
            data = np.asanyarray(image.dataobj)
    except MemoryError:
        raise LoadError(path, "the voxel data do not fit in memory") from None
    except Exception:  # noqa: BLE001 - truncated data, bad gzip stream, unsupported scaling
        raise LoadError(path, "the voxel data could not be read (truncated or corrupt file?)") from None
    rgb = data.ndim >= 4 and data.shape[-1] == 3 and image.get_data_dtype().names is not None
    if not rgb:
        while data.ndim > 3 and data.shape[-1] == 1:
            data = data[..., 0]
        if data.ndim == 4:  # a time series: the viewer fuses one 3-D volume, the first
            add_warning(meta, f"4-D image with {data.shape[3]} volumes: showing the first")
            data = data[..., 0]
        if data.ndim == 2:
            data = data[..., None]
        if data.ndim != 3:
            raise LoadError(path, f"unsupported NIfTI shape {data.shape}")
        if np.iscomplexobj(data) or data.dtype == bool:
            raise LoadError(path, f"{data.dtype} voxels are not image intensities")
        if not np.issubdtype(data.dtype, np.floating) and data.dtype not in (np.uint8, np.int16, np.uint16):
            data = data.astype(np.float32)
        elif np.issubdtype(data.dtype, np.floating) and data.dtype != np.float32:
            with np.errstate(over="ignore", invalid="ignore"):
                data = data.astype(np.float32)
        pixels = np.ascontiguousarray(np.transpose(data, (2, 1, 0)))  # (i,j,k) -> (k,j,i) = (slice,row,col)
    else:
        pixels = np.ascontiguousarray(np.transpose(data, (2, 1, 0, 3)))
    header = image.header
    sform_code = _code(header, "sform_code")
    qform_code = _code(header, "qform_code")
    known = sform_code > 0 or qform_code > 0
    zooms = _zooms(header, meta)
    if not known:
        add_warning(meta, "no sform/qform: world geometry unknown, voxel sizes used on an arbitrary origin")
    affine, usable = _affine(path, image, meta)
    known = known and usable
    space_unit, time_unit = nifti_space_time_units(header)
    meta["space_unit"] = space_unit or "unknown (mm assumed)"
    if time_unit:
        meta["time_unit"] = time_unit
    if space_unit not in (None, "mm"):
        add_warning(meta, f"xyzt_units says {space_unit}, not mm: world coordinates are shown as if they were mm")
    description = header_text(header, "descrip")
    if description:
        meta["descrip"] = description
    return Volume(
        pixels=pixels,
        modality=_guess_modality(path),
        spacing=(zooms[2], zooms[1], zooms[0]),
        affine=affine,
        source=str(path),
        geometry_known=known,
        meta=dict(meta, file_affine=affine.tolist()),
        unit="a.u." if pixels.ndim == 4 else nifti_unit(header),
    )


def _code(header, key: str) -> int:
    try:
        return int(header[key]) if key in header else 0
    except Exception:  # noqa: BLE001
        return 0
