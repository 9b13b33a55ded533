"""``medfuse compare``: every method on one pair (figure + table), or mean/std tables over a folder or a split."""

from __future__ import annotations

import sys
from pathlib import Path

from ..io.errors import MedFuseError


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "compare", help="compare fusion methods: one pair (figure + table) or a folder/split (mean ± std table)",
        description="One pair: --anat A --func B [--figure FIG.png|.pdf|.svg] [--table T.csv|.tex|.md]. "
                    "Many pairs: --split test [--task ...] or --anat-dir D1 --func-dir D2 (files paired by name) "
                    "with --table: the mean and standard deviation per method and metric, as the papers print.")
    parser.add_argument("--anat", help="anatomical image or volume")
    parser.add_argument("--func", help="functional image or volume")
    parser.add_argument("--anat-dir", help="folder of anatomical images (paired with --func-dir by file name)")
    parser.add_argument("--func-dir", help="folder of functional images")
    parser.add_argument("--split", choices=("test", "train"), help="a split of the Harvard data (split.csv)")
    parser.add_argument("--task", default="all", help="with --split: CT-MRI, PET-MRI, SPECT-MRI or all")
    parser.add_argument("--data", default=None, help="with --split: the Harvard folder")
    parser.add_argument("--methods", default="all", help="comma-separated names, or all (available ones)")
    parser.add_argument("--preset", default="default", help="metric conventions (default, cddfuse, vifb)")
    parser.add_argument("--slice", type=int, default=None, help="axial slice of a volume (default: middle)")
    parser.add_argument("--box", action="append", default=[], metavar="NAME=R0,C0,R1,C1",
                        help="zoom box (red/green) in pixels; default: the viewer's default boxes")
    parser.add_argument("--figure", help="figure output (.png, .pdf, .svg); one pair only")
    parser.add_argument("--table", help="table output (.csv, .tex, .md)")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(run=run)


def _boxes(specs: list[str], rows: int, cols: int) -> dict[str, tuple[int, int, int, int]]:
    from ..evaluation import default_rects

    boxes = default_rects(rows, cols)
    for spec in specs:
        name, _, coords = spec.partition("=")
        try:
            r0, c0, r1, c1 = (int(v) for v in coords.split(","))
        except ValueError as exc:
            raise MedFuseError(f"--box {spec!r}: expected NAME=R0,C0,R1,C1") from exc
        if name not in ("red", "green"):
            raise MedFuseError(f"--box {spec!r}: the boxes are red and green")
        if not (0 <= r0 < r1 <= rows and 0 <= c0 < c1 <= cols):
            raise MedFuseError(f"--box {spec!r} is outside the {cols}x{rows} image")
        boxes[name] = (r0, c0, r1, c1)
    return boxes


def run(args) -> int:
    from tqdm import tqdm

    from ..compare import resolve_methods
    from ..io.writers import check_target, refuse_overwriting_inputs

    single = bool(args.anat or args.func)
    many = bool(args.split or args.anat_dir or args.func_dir)
    if single == many:
        raise MedFuseError("give one pair (--anat and --func) or many (--split, or --anat-dir and --func-dir)")
    if not (args.figure or args.table):
        raise MedFuseError("nothing to write: give --figure and/or --table")
    for out in (args.figure, args.table):
        if out:
            refuse_overwriting_inputs(out, (args.anat, args.func, args.anat_dir, args.func_dir))
            check_target(out, args.force)
    methods = resolve_methods(args.methods)
    bar = tqdm(disable=args.quiet, file=sys.stderr, unit="fusion", desc="compare")

    def progress(done, total, what):
        bar.total = total
        bar.n = done
        bar.set_postfix_str(what, refresh=False)
        bar.update(0)

    try:
        if single:
            return _one_pair(args, methods, progress)
        return _many_pairs(args, methods, progress)
    finally:
        bar.close()


def _one_pair(args, methods, progress) -> int:
    from .. import io, pipeline
    from ..compare import compare_slice, figure, write_table

    if not (args.anat and args.func):
        raise MedFuseError("give both --anat and --func")
    pair = pipeline.make_pair(io.load(args.anat), io.load(args.func))
    index = pair.n_slices // 2 if args.slice is None else args.slice
    if not 0 <= index < pair.n_slices:
        raise MedFuseError(f"--slice {index} is outside 0..{pair.n_slices - 1}")
    rows, cols = pair.anatomical.shape2d
    label = f"{Path(args.anat).name}" + (f" slice {index}" if pair.n_slices > 1 else "")
    comparison = compare_slice(pair, index, methods, _boxes(args.box, rows, cols), args.preset, label=label,
                               progress=progress)
    if args.figure:
        figure(comparison, args.figure, force=args.force)
    if args.table:
        write_table(comparison, args.table, force=args.force)
    if not args.quiet:
        print(f"compared {len(methods)} methods on {label}", file=sys.stderr)
    return 0


def _many_pairs(args, methods, progress) -> int:
    from .. import report
    from ..evaluation import evaluate, evaluate_records, task_tables
    from ..fusion import get_model_info
    from ..io.writers import write_bytes_atomic
    from ..metrics import get_preset
    from ..training.data import PairRecord

    if args.figure:
        raise MedFuseError("--figure needs one pair (--anat/--func); over many pairs write a --table")
    if args.split:
        result = evaluate(args.split, args.task, methods, args.preset, data_root=args.data, progress=progress)
    else:
        if not (args.anat_dir and args.func_dir):
            raise MedFuseError("give both --anat-dir and --func-dir")
        anat_dir, func_dir = Path(args.anat_dir), Path(args.func_dir)
        names = sorted({p.name for p in anat_dir.iterdir() if p.is_file()} & {p.name for p in func_dir.iterdir()
                                                                              if p.is_file()})
        if not names:
            raise MedFuseError(f"no file name appears in both {anat_dir} and {func_dir}")
        records = [PairRecord(func_dir.name or "pairs", n, "", "", anat_dir / n, func_dir / n) for n in names]
        result = evaluate_records(records, methods, args.preset, progress=progress)
    names = list(get_preset(args.preset).metrics)
    titles = {m: get_model_info(m).title for m in methods}
    tables = task_tables(result, names)
    suffix = Path(args.table).suffix.lower()
    if suffix == ".csv":
        chunks = []
        for task, table in tables.items():
            lines = report.csv_text(table, names).splitlines()
            chunks += ([f"task,{lines[0]}"] if not chunks else []) + [f"{task},{line}" for line in lines[1:]]
        text = "\n".join(chunks) + "\n"
    elif suffix == ".tex":
        text = "".join(report.latex(t, names, titles, caption=f"{task}: mean ± std over "
                                    f"{len(next(iter(result.per_task[task].values())))} pairs")
                       for task, t in tables.items())
    elif suffix == ".md":
        text = "".join(f"\n## {task}\n\n" + report.markdown(t, names, titles) for task, t in tables.items())
    else:
        raise MedFuseError(f"table type {suffix} not supported (use .csv, .tex or .md)")
    write_bytes_atomic(args.table, text.encode(), force=args.force)
    return 0
