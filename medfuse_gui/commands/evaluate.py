"""``medfuse evaluate``: every method on every pair of a split; writes docs/results.md with figures."""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub) -> None:
    parser = sub.add_parser("evaluate", help="fuse a split with every method and write a results table (Markdown)")
    parser.add_argument("--split", default="test", choices=("test", "train"))
    parser.add_argument("--task", default="all", help="CT-MRI, PET-MRI, SPECT-MRI or all")
    parser.add_argument("--methods", default="all", help="comma-separated names, or all (available ones)")
    parser.add_argument("--preset", default="default", help="metric conventions (default, cddfuse, vifb)")
    parser.add_argument("--out", default="docs/results.md", help="Markdown output (figures go beside it)")
    parser.add_argument("--limit", type=int, default=None, help="at most N pairs per task, spread over the split")
    parser.add_argument("--data", default=None, help="Harvard folder with split.csv")
    parser.add_argument("--no-figures", action="store_true")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(run=run)


def run(args) -> int:
    from tqdm import tqdm

    from ..evaluation import evaluate, figure_for_pair, results_markdown
    from ..fusion import get_model_info, list_models
    from ..io.errors import MedFuseError
    from ..io.writers import check_target, write_bytes_atomic
    from ..training.data import read_split

    out = Path(args.out)
    check_target(out, args.force)
    if args.methods == "all":
        methods = list_models(available_only=True)
    else:
        methods = [get_model_info(m).name for m in args.methods.split(",") if m.strip()]
        for method in methods:
            ok, reason = get_model_info(method).availability()
            if not ok:
                raise MedFuseError(f"{method}: {reason}")
    with tqdm(disable=args.quiet, file=sys.stderr, unit="fusion", desc="evaluate") as bar:
        def progress(done, total, what):
            bar.total = total
            bar.n = done
            bar.set_postfix_str(what, refresh=False)
            bar.update(0)

        result = evaluate(args.split, args.task, methods, args.preset, args.limit, args.data, progress)
    figure_paths = {}
    if not args.no_figures:
        folder = out.with_suffix("")
        folder.mkdir(parents=True, exist_ok=True)
        kwargs = {"root": Path(args.data)} if args.data else {}
        for task in result.per_task:
            records = read_split(split=args.split, tasks=task, **kwargs)
            record = records[len(records) // 2]
            path = folder / f"{task}.png"
            figure_for_pair(record, methods, path, force=True)
            figure_paths[task] = f"{folder.name}/{path.name}"
    write_bytes_atomic(out, results_markdown(result, figure_paths=figure_paths).encode(), force=args.force)
    print(f"wrote {out}", file=sys.stderr)
    return 0
