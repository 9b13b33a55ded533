"""``medfuse fuse``: fuse an anatomical and a functional image or volume and write the result."""

from __future__ import annotations

import sys

from ..io.errors import MedFuseError


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "fuse", help="fuse an anatomical and a functional image/volume",
        description="Fuse an anatomical (MRI/CT) and a functional (PET/SPECT) image, volume or DICOM series folder. "
                    "The functional volume is resampled onto the anatomical grid in world coordinates. The output "
                    "type follows its name: .png (one slice), .nii/.nii.gz (volume), .dcm or a folder (DICOM "
                    "Secondary Capture series), or --format png-stack with a folder.")
    parser.add_argument("--anat", required=True, help="anatomical: PNG/JPEG/TIFF/BMP, DICOM file or series folder, NIfTI")
    parser.add_argument("--func", required=True, help="functional image (same formats)")
    parser.add_argument("--method", default="average", help="fusion method (see `medfuse methods`)")
    parser.add_argument("-o", "--output", required=True, help="output file or folder")
    parser.add_argument("--format", default=None, choices=("png", "png-stack", "nifti", "dicom"),
                        help="output format (default: from the output name)")
    parser.add_argument("--slice", type=int, default=None, help="axial slice for a .png from a volume (default: middle)")
    parser.add_argument("--colormap", default=None, help="colormap for a gray functional image (hot, pet, gray)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: CUDA when available)")
    alignment = parser.add_mutually_exclusive_group()
    alignment.add_argument("--register", action="store_true",
                           help="register the functional to the anatomical first (rigid, Mattes MI; see "
                                "`medfuse register`) and fuse through that transform")
    alignment.add_argument("--transform", metavar="T.tfm", default=None,
                           help="fuse through this ITK transform (anatomical -> functional, as `medfuse register` "
                                "writes it) instead of the world coordinates")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args) -> int:
    from tqdm import tqdm

    from .. import io, pipeline
    from ..colour import COLORMAPS
    from ..fusion import get_model, get_model_info
    from ..io.export import check_output_free, export_volume, format_for

    from ._checks import check_device

    fmt = format_for(args.output, args.format)
    device = check_device(args.device)
    # fail before minutes of fusion, not after; an input is never replaced, even with --force
    check_output_free(args.output, fmt, args.force, inputs=(args.anat, args.func, args.transform))
    if args.colormap is not None and args.colormap not in COLORMAPS:
        raise MedFuseError(f"unknown colormap {args.colormap!r}; choose one of {', '.join(COLORMAPS)}")
    info = get_model_info(args.method)
    ok, reason = info.availability()
    if not ok:
        raise MedFuseError(f"{info.title} is unavailable: {reason}")
    anatomical, functional = io.load(args.anat), io.load(args.func)
    transform = None
    if args.transform:
        from ..registration import Transform

        transform = Transform.read(args.transform)
    elif args.register:
        from ..registration import register

        transform = register(anatomical, functional)
        if not args.quiet:
            print(f"medfuse fuse: {transform.describe()} ({transform.seconds:.1f} s)", file=sys.stderr)
    if transform is not None and transform.caution:   # a registration's or a transform file's own warning
        print(f"medfuse fuse: warning: {transform.caution}", file=sys.stderr)
    pair = pipeline.make_pair(anatomical, functional, transform)
    for warning in pair.warnings:
        print(f"medfuse fuse: warning: {warning}", file=sys.stderr)
    fuser = get_model(info.name, device=device)

    if fmt == "png":
        index = pair.n_slices // 2 if args.slice is None else args.slice
        if not 0 <= index < pair.n_slices:
            raise MedFuseError(f"--slice {index} is outside 0..{pair.n_slices - 1}")
        slices = range(index, index + 1)
        reference = pair.anatomical.with_pixels(pair.anatomical.pixels[index:index + 1])
    else:
        slices, reference = None, pair.anatomical
    total = pair.n_slices if slices is None else 1
    with tqdm(total=total, unit="slice", disable=args.quiet or total == 1, file=sys.stderr, desc=info.title) as bar:
        volume = pipeline.fuse_volume(pair, fuser, colormap=args.colormap, colour_space=info.colour_space,
                                      slices=slices, progress=lambda done, _total: bar.update(done - bar.n))
    written = export_volume(args.output, volume, reference, info.title, fmt, force=args.force,
                            registration=transform)
    if not args.quiet:
        where = written[0] if len(written) == 1 else f"{written[0].parent}/ ({len(written)} files)"
        print(f"{where}: {info.title}, {volume.shape[0]} slice(s) on the anatomical grid", file=sys.stderr)
    return 0
