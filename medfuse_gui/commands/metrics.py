"""``medfuse metrics``: fusion-quality metrics of one result, or a CSV table over a folder of results.

One triple:   medfuse metrics --anat A.png --func B.png --fused F.png [--preset NAME] [--json] [--region r0,c0,r1,c1]
A folder:     medfuse metrics --anat-dir MRI/ --func-dir SPECT/ --fused-dir fused/ --out table.csv [--force]
              (files are paired by name without extension: fused/11017.png with MRI/11017.png and SPECT/11017.png;
              the CSV has one row per pair, then a "mean" and a "std" row, like the papers' tables)
List:         medfuse metrics --list
"""

from __future__ import annotations

import csv
import io as _io
import json
import math
from pathlib import Path

SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def add_parser(sub) -> None:
    parser = sub.add_parser("metrics", help="fusion-quality metrics of a fused image or a folder of them",
                            description=__doc__.split("\n", 1)[1], formatter_class=_raw_formatter())
    one = parser.add_argument_group("one triple")
    one.add_argument("--anat", metavar="FILE", help="anatomical image (MRI/CT)")
    one.add_argument("--func", metavar="FILE", help="functional image (PET/SPECT; colour is evaluated on its luminance)")
    one.add_argument("--fused", metavar="FILE", help="fused image (colour is evaluated on its luminance)")
    one.add_argument("--region", metavar="R0,C0,R1,C1", help="a box (rows r0..r1-1, columns c0..c1-1) instead of the "
                     "whole image")
    one.add_argument("--json", action="store_true", help="machine-readable output")
    many = parser.add_argument_group("a folder of results")
    many.add_argument("--anat-dir", metavar="DIR")
    many.add_argument("--func-dir", metavar="DIR")
    many.add_argument("--fused-dir", metavar="DIR")
    many.add_argument("--out", metavar="FILE.csv", help="the CSV to write (refuses to overwrite without --force)")
    many.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    parser.add_argument("--preset", default=None, help="conventions: default, cddfuse or vifb (see --list)")
    parser.add_argument("--metrics", metavar="NAMES", help="comma-separated subset, e.g. EN,MI,Qabf (default: all of "
                        "the preset)")
    parser.add_argument("--slice", type=int, default=None, help="slice index when the inputs are volumes")
    parser.add_argument("--list", action="store_true", help="list the metrics and presets and exit")
    parser.set_defaults(run=run)


def _raw_formatter():
    import argparse

    return argparse.RawDescriptionHelpFormatter


def _fmt(value: float, digits: int = 10) -> str:
    """Text for a value: nan / inf / -inf spelled so that float() reads them back; CSV keeps every digit (repr)."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value)) if digits >= 17 else format(value, f".{digits}g")


def _json_value(value: float):
    return value if math.isfinite(value) else _fmt(value)


def _names(args) -> list[str] | None:
    if not args.metrics:
        return None
    return [n.strip() for n in args.metrics.split(",") if n.strip()]


def _region(text: str | None):
    from ..io.errors import MedFuseError

    if not text:
        return None
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise MedFuseError(f"--region expects four integers r0,c0,r1,c1, got {text!r}")
    return values


def run(args) -> int:
    from ..io.errors import MedFuseError
    from ..metrics import DEFAULT_PRESET, PRESETS

    if args.list:
        return _list()
    preset_name = args.preset or DEFAULT_PRESET
    if preset_name not in PRESETS:
        raise MedFuseError(f"unknown preset {preset_name!r}; choose one of {', '.join(PRESETS)}")
    preset = PRESETS[preset_name]
    single = [args.anat, args.func, args.fused]
    folder = [args.anat_dir, args.func_dir, args.fused_dir]
    if any(single) and any(folder):
        raise MedFuseError("give either --anat/--func/--fused or --anat-dir/--func-dir/--fused-dir, not both")
    if any(folder):
        if not all(folder):
            raise MedFuseError("folder mode needs --anat-dir, --func-dir and --fused-dir")
        if not args.out:
            raise MedFuseError("folder mode needs --out FILE.csv")
        return _run_folder(args, preset)
    if not all(single):
        raise MedFuseError("give --anat, --func and --fused (or the three --*-dir options); see medfuse metrics -h")
    return _run_single(args, preset)


def _list() -> int:
    from ..metrics import METRICS, PRESETS

    width = max(map(len, METRICS))
    for spec in METRICS.values():
        arrow = "higher is better" if spec.higher_is_better else "lower is better"
        print(f"{spec.name:<{width}}  {spec.title} ({arrow}{', ' + spec.unit if spec.unit else ''}; "
              f"box: {spec.region})")
    print()
    for p in PRESETS.values():
        print(f"preset {p.name}: {p.title} — {', '.join(p.metrics)}")
    return 0


def _read(path: str, preset, slice_index):
    from ..metrics import read_gray

    return read_gray(path, preset.read, slice_index)


def _run_single(args, preset) -> int:
    from ..metrics import METRICS, compute

    a = _read(args.anat, preset, args.slice)
    b = _read(args.func, preset, args.slice)
    f = _read(args.fused, preset, args.slice)
    region = _region(args.region)
    values = compute(a, b, f, preset=preset, region=region, metrics=_names(args))
    if args.json:
        print(json.dumps({"preset": preset.name, "anat": args.anat, "func": args.func, "fused": args.fused,
                          "region": list(region) if region else None,
                          "values": {k: _json_value(v) for k, v in values.items()},
                          "units": {k: preset.unit(k) for k in values}, "printed_as": dict(preset.printed_as)},
                         indent=2))
        return 0
    width = max(map(len, values))
    print(f"preset {preset.name} ({preset.title})" + (f", region {region}" if region else ""))
    for name, value in values.items():
        spec = METRICS[name]
        alias = f"  [printed as {preset.printed_as[name]} by the toolbox]" if name in preset.printed_as else ""
        unit = f" {preset.unit(name)}" if preset.unit(name) else ""
        print(f"{name:<{width}}  {_fmt(value):>14}{unit}  {spec.title}{alias}")
    return 0


def _index(folder: Path) -> dict[str, Path]:
    from ..io.errors import MedFuseError

    if not folder.is_dir():
        raise MedFuseError(f"{folder} is not a folder")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            if path.stem in found:
                raise MedFuseError(f"{folder} holds two images named {path.stem} ({found[path.stem].name}, {path.name})")
            found[path.stem] = path
    return found


def pair_folders(anat_dir: Path, func_dir: Path, fused_dir: Path) -> list[tuple[str, Path, Path, Path]]:
    """(name, anat, func, fused) for every image of fused_dir, matched by file name without extension."""
    from ..io.errors import MedFuseError

    fused = _index(fused_dir)
    if not fused:
        raise MedFuseError(f"no images ({', '.join(SUFFIXES)}) in {fused_dir}")
    anat, func = _index(anat_dir), _index(func_dir)
    missing = [n for n in fused if n not in anat or n not in func]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise MedFuseError(f"{len(missing)} fused image(s) have no source of the same name in {anat_dir} / "
                           f"{func_dir}: {shown}")
    return [(n, anat[n], func[n], fused[n]) for n in fused]


def summary_rows(rows: list[dict[str, float]], names: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    """Mean and sample standard deviation (n-1) per metric over the finite values (NaN / inf rows left out)."""
    import numpy as np

    mean, std = {}, {}
    for name in names:
        finite = np.array([r[name] for r in rows if math.isfinite(r[name])], dtype=np.float64)
        mean[name] = float(finite.mean()) if finite.size else math.nan
        std[name] = float(finite.std(ddof=1)) if finite.size > 1 else math.nan
    return mean, std


def _run_folder(args, preset) -> int:
    from ..io.writers import check_target, refuse_overwriting_inputs, write_bytes_atomic
    from ..metrics import compute

    out = Path(args.out)
    refuse_overwriting_inputs(out, (args.anat_dir, args.func_dir, args.fused_dir))
    check_target(out, args.force)  # fail before the work, not after it
    pairs = pair_folders(Path(args.anat_dir), Path(args.func_dir), Path(args.fused_dir))
    rows, names = [], None
    for name, a_path, b_path, f_path in pairs:
        values = compute(_read(str(a_path), preset, args.slice), _read(str(b_path), preset, args.slice),
                         _read(str(f_path), preset, args.slice), preset=preset, metrics=_names(args))
        names = names or list(values)
        rows.append(values)
    assert names is not None
    mean, std = summary_rows(rows, names)
    buffer = _io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["pair", *names])
    for (name, *_), values in zip(pairs, rows):
        writer.writerow([name, *(_fmt(values[n], 17) for n in names)])
    writer.writerow(["mean", *(_fmt(mean[n], 17) for n in names)])
    writer.writerow(["std", *(_fmt(std[n], 17) for n in names)])
    write_bytes_atomic(out, buffer.getvalue().encode("utf-8"), force=args.force)
    width = max(map(len, names))
    print(f"{len(rows)} pairs, preset {preset.name}: wrote {out}")
    for n in names:
        print(f"{n:<{width}}  {_fmt(mean[n]):>14} ± {_fmt(std[n])}")
    return 0
