"""``medfuse bench TARGET``: measure how fast a part of MedFuse runs on this machine.

Targets live in TARGETS (name -> (help, function(args) -> int)); add one by writing a function and an entry.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

DEFAULT_PAIR = ("SPECT-MRI", "11017.png")


def add_parser(sub) -> None:
    parser = sub.add_parser("bench", help="time metrics (and later models) on this machine")
    parser.add_argument("target", choices=sorted(TARGETS), help="; ".join(f"{k}: {v[0]}" for k, v in TARGETS.items()))
    parser.add_argument("--repeat", type=int, default=7, help="runs per measurement (median reported)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--preset", default=None, help="metrics: conventions preset (default: default)")
    parser.add_argument("--anat", metavar="FILE", help="metrics: anatomical image (default: a Harvard SPECT-MRI pair)")
    parser.add_argument("--func", metavar="FILE", help="metrics: functional image")
    parser.set_defaults(run=run)


def run(args) -> int:
    return TARGETS[args.target][1](args)


def _shared_dir() -> Path:
    root = Path(__file__).resolve().parents[2]
    return Path(os.environ.get("MEDFUSE_SHARED", root.parent / "shared"))


def _metrics_pair(args):
    """A (anatomical gray, functional luminance, fused) triple on 0..255, 256x256 unless files say otherwise."""
    import numpy as np

    from ..io.errors import MedFuseError
    from ..metrics import read_gray

    if bool(args.anat) != bool(args.func):
        raise MedFuseError("give both --anat and --func, or neither")
    if args.anat:
        anat_path, func_path = Path(args.anat), Path(args.func)
    else:
        task, name = DEFAULT_PAIR
        base = _shared_dir() / "data" / "harvard" / task
        anat_path, func_path = base / "MRI" / name, base / task.split("-")[0] / name
        if not anat_path.exists():
            raise MedFuseError(f"the default pair {anat_path} is missing: pass --anat and --func")
    a = read_gray(anat_path)
    b = read_gray(func_path)
    from ..fusion import get_model

    fused = get_model("average").fuse((a / 255.0).astype(np.float32), (b / 255.0).astype(np.float32))
    f = np.clip(np.asarray(fused, dtype=np.float64) * 255.0, 0.0, 255.0)
    return (anat_path, func_path), a, b, f


def bench_metrics(args) -> int:
    from ..metrics import DEFAULT_PRESET, METRICS, time_metrics

    paths, a, b, f = _metrics_pair(args)
    result = time_metrics(a, b, f, preset=args.preset or DEFAULT_PRESET, repeat=max(1, args.repeat))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    result.update(anat=str(paths[0]), func=str(paths[1]), fused="average of the two", load_average_1min=load,
                  cpu_count=os.cpu_count())
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    alone = result["alone"]
    width = max(map(len, alone))
    print(f"metrics of one {a.shape[0]}x{a.shape[1]} pair ({paths[0].parent.name}/{paths[0].name}), preset "
          f"{result['preset']}, median of {result['repeat']} runs; load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'metric':<{width}}  {'wall ms':>8}  {'cpu ms':>8}   (alone: pays for everything it needs)")
    for name, t in alone.items():
        print(f"{name:<{width}}  {t['wall'] * 1e3:8.1f}  {t['cpu'] * 1e3:8.1f}   {METRICS[name].title}")
    total = result["total"]
    print(f"{'sum':<{width}}  {sum(t['wall'] for t in alone.values()) * 1e3:8.1f}  "
          f"{sum(t['cpu'] for t in alone.values()) * 1e3:8.1f}   (no sharing)")
    print(f"{'TOTAL':<{width}}  {total['wall'] * 1e3:8.1f}  {total['cpu'] * 1e3:8.1f}   (the whole set with shared "
          f"intermediates, as compute() runs it; best wall {total['wall_min'] * 1e3:.1f} ms)")
    return 0


TARGETS: dict[str, tuple[str, Callable[..., int]]] = {
    "metrics": ("per-metric and total time of the fusion metrics on a 256x256 real pair", bench_metrics),
}
