"""``medfuse register``: register a functional image to an anatomical one and write the ITK transform file."""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "register", help="register a functional image/volume to an anatomical one (writes an ITK .tfm)",
        description="Rigid registration (Mattes mutual information, SimpleITK) of the functional image to the "
                    "anatomical one, optionally followed by an affine stage. Writes an ITK transform file (.tfm or "
                    ".txt) in ITK's convention: it maps points of the anatomical (fixed) physical space, in LPS mm, "
                    "to the functional (moving) one; SimpleITK and 3D Slicer read it. Fuse through it with "
                    "`medfuse fuse ... --transform T.tfm`.")
    parser.add_argument("--anat", required=True, help="anatomical (fixed) image, volume or DICOM series folder")
    parser.add_argument("--func", required=True, help="functional (moving) image or volume")
    parser.add_argument("-o", "--output", required=True, help="transform file to write (.tfm or .txt)")
    parser.add_argument("--affine", action="store_true", help="add an affine stage after the rigid one (3-D)")
    parser.add_argument("--initial", metavar="T.tfm",
                        help="start from this transform (a rough manual alignment, an earlier result) instead of the "
                             "files' world geometry")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    parser.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from .. import io
    from ..io.errors import MedFuseError
    from ..io.writers import check_target, refuse_overwriting_inputs
    from ..registration import TRANSFORM_SUFFIXES, Transform, register

    if Path(args.output).suffix.lower() not in TRANSFORM_SUFFIXES:
        raise MedFuseError(f"cannot write {Path(args.output).name}: a transform file must end in .tfm or .txt")
    refuse_overwriting_inputs(args.output, (args.anat, args.func))
    check_target(args.output, args.force)  # fail before the registration, not after
    initial = Transform.read(args.initial) if args.initial else None
    anatomical, functional = io.load(args.anat), io.load(args.func)
    with tqdm(total=1, unit="it", disable=args.quiet, file=sys.stderr, desc="registering") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        transform = register(anatomical, functional, affine=args.affine, progress=progress, initial=initial)
    written = transform.write(args.output, force=args.force)
    if transform.caution:
        print(f"medfuse register: warning: {transform.caution}", file=sys.stderr)
    if not args.quiet:
        print(f"{written}: {transform.describe()} ({transform.seconds:.1f} s)", file=sys.stderr)
    return 0
