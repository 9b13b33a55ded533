"""``medfuse fuse``: fuse an anatomical and a functional image or volume and write the result."""

from __future__ import annotations

import sys
from pathlib import Path

from ..io.errors import MedFuseError


def add_parser(sub) -> None:
    parser = sub.add_parser("fuse", help="fuse an anatomical and a functional image/volume",
                            description="Fuse an anatomical (MRI/CT) and a functional (PET/SPECT) image or volume. "
                                        "The output format follows the name: .png, .nii/.nii.gz.")
    parser.add_argument("--anat", required=True, help="anatomical image: PNG/JPEG/TIFF/BMP, DICOM file or folder, NIfTI")
    parser.add_argument("--func", required=True, help="functional image (same formats)")
    parser.add_argument("--method", default="average", help="fusion method (see `medfuse methods`)")
    parser.add_argument("-o", "--output", required=True, help="output file: .png (a slice), .nii/.nii.gz (volume)")
    parser.add_argument("--slice", type=int, default=None, help="slice index for a PNG from a volume (default: middle)")
    parser.add_argument("--colormap", default=None, help="colormap for a gray functional image (hot, pet, gray)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: CUDA when available)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args) -> int:
    from .. import io, pipeline
    from ..colour import COLORMAPS
    from ..fusion import get_model, get_model_info
    from ..io.writers import check_target, write_nifti, write_png

    output = Path(args.output)
    name = output.name.lower()
    if not (name.endswith(".png") or name.endswith(".nii") or name.endswith(".nii.gz")):
        raise MedFuseError(f"unsupported output type {output.name} (use .png, .nii or .nii.gz)")
    check_target(output, args.force)  # fail before minutes of fusion, not after
    if args.colormap is not None and args.colormap not in COLORMAPS:
        raise MedFuseError(f"unknown colormap {args.colormap!r}; choose one of {', '.join(COLORMAPS)}")
    info = get_model_info(args.method)
    pair = pipeline.make_pair(io.load(args.anat), io.load(args.func))
    for warning in pair.warnings:
        print(f"medfuse fuse: warning: {warning}", file=sys.stderr)
    fuser = get_model(info.name, device=args.device)

    if name.endswith(".png"):
        index = pair.n_slices // 2 if args.slice is None else args.slice
        if not 0 <= index < pair.n_slices:
            raise MedFuseError(f"--slice {index} is outside 0..{pair.n_slices - 1}")
        inputs = pipeline.slice_inputs(pair, index, colormap=args.colormap, colour_space=info.colour_space)
        fused = pipeline.fuse_inputs(inputs, fuser, index)
        write_png(output, fused.fused_rgb_uint8(), force=args.force)
        if not args.quiet:
            print(f"{output}: {info.title}, slice {index}, {fused.seconds * 1000:.0f} ms", file=sys.stderr)
        return 0

    from tqdm import tqdm

    with tqdm(total=pair.n_slices, unit="slice", disable=args.quiet, file=sys.stderr, desc=info.title) as bar:
        volume = pipeline.fuse_volume(pair, fuser, colormap=args.colormap, colour_space=info.colour_space,
                                      progress=lambda done, total: bar.update(done - bar.n))
    write_nifti(output, volume, pair.anatomical.affine, force=args.force, description=f"MedFuse {info.title}")
    if not args.quiet:
        print(f"{output}: {volume.shape[0]} slices, {info.title}", file=sys.stderr)
    return 0
