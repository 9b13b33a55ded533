"""Evaluation over a split of the Harvard pairs: every method on every pair, metrics, paper-style tables, figures.

Used by ``medfuse evaluate`` (writes docs/results.md) and by ``medfuse compare`` over folders.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import colour, figures, metrics, report
from .fusion import get_model, get_model_info, list_models
from .fusion.registry import training_stages
from .pipeline import Cancelled
from .training.data import PairRecord, read_split

DEFAULT_BOX_FRACTIONS = {"red": (0.28, 0.22), "green": (0.52, 0.56)}  # (row, col) of the top-left, as the GUI's
BOX_SIDE_FRACTION = 0.18


def default_rects(rows: int, cols: int) -> dict[str, figures.Rect]:
    side = max(8, int(round(min(rows, cols) * BOX_SIDE_FRACTION)))
    return {name: (int(round(rows * fr)), int(round(cols * fc)), int(round(rows * fr)) + side,
                   int(round(cols * fc)) + side) for name, (fr, fc) in DEFAULT_BOX_FRACTIONS.items()}


@dataclass
class PairInputs:
    record: PairRecord
    anatomical: np.ndarray        # (H,W) [0,1]
    functional_luma: np.ndarray   # (H,W) [0,1]
    functional_chroma: np.ndarray
    functional_rgb: np.ndarray    # (H,W,3) [0,1]


def load_inputs(record: PairRecord) -> PairInputs:
    from . import io

    anatomical = io.to_unit(io.load(record.anatomical).pixels[0], (0, 255))
    functional = io.load(record.functional).pixels[0]
    if functional.ndim == 2:
        functional = io.to_unit(functional, (0, 255))
        luma, chroma, rgb = colour.split_functional(functional, "gray")
    else:
        luma, chroma, rgb = colour.split_functional(functional)
    return PairInputs(record, anatomical, luma, chroma, rgb)


@dataclass
class EvaluationResult:
    split: str
    preset: str
    methods: list[str]
    per_task: dict[str, dict[str, list[dict[str, float]]]] = field(default_factory=dict)  # task -> method -> samples
    seconds: dict[str, list[float]] = field(default_factory=dict)                          # method -> fusion times
    figures: dict[str, Path] = field(default_factory=dict)


def evaluate(split: str = "test", tasks: str = "all", methods: list[str] | None = None, preset: str = "default",
             limit: int | None = None, data_root: Path | None = None,
             progress: Callable[[int, int, str], None] | None = None, cancelled: Callable[[], bool] | None = None
             ) -> EvaluationResult:
    kwargs = {"tasks": tasks, "split": split}
    if data_root is not None:
        kwargs["root"] = Path(data_root)
    records = read_split(**kwargs)
    return evaluate_records(records, methods, preset, limit, split, progress, cancelled)


def evaluate_records(records: list[PairRecord], methods: list[str] | None = None, preset: str = "default",
                     limit: int | None = None, split: str = "", progress=None, cancelled=None) -> EvaluationResult:
    """Every method on every pair of ``records``, grouped by their task."""
    by_task: dict[str, list[PairRecord]] = {}
    for record in records:
        by_task.setdefault(record.task, []).append(record)
    if limit:
        by_task = {t: _spread(rs, limit) for t, rs in by_task.items()}
    methods = methods or list_models(available_only=True)
    fusers = {m: get_model(m) for m in methods}
    result = EvaluationResult(split, preset, methods)
    total = sum(len(rs) for rs in by_task.values()) * len(methods)
    done = 0
    for task, task_records in by_task.items():
        result.per_task[task] = {m: [] for m in methods}
        for record in task_records:
            inputs = load_inputs(record)
            for method in methods:
                if cancelled is not None and cancelled():
                    raise Cancelled()
                start = time.perf_counter()
                fused = fusers[method].fuse(inputs.anatomical, inputs.functional_luma)
                result.seconds.setdefault(method, []).append(time.perf_counter() - start)
                values = metrics.compute(inputs.anatomical * 255.0, inputs.functional_luma * 255.0, fused * 255.0,
                                         preset=preset)
                result.per_task[task][method].append(values)
                done += 1
                if progress is not None:
                    progress(done, total, f"{task} {record.name} {method}")
    return result


def _spread(items: list, count: int) -> list:
    if count >= len(items):
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, count).round().astype(int)]


def figure_for_pair(record: PairRecord, methods: list[str], path: Path, force: bool = True) -> figures.FigureLayout:
    inputs = load_inputs(record)
    rows, cols = inputs.anatomical.shape
    panels = [("MRI", colour.to_uint8(inputs.anatomical)),
              (record.task.split("-")[0], colour.to_uint8(inputs.functional_rgb))]
    for method in methods:
        info = get_model_info(method)
        fused = get_model(method).fuse(inputs.anatomical, inputs.functional_luma)
        panels.append((info.title, colour.to_uint8(colour.merge(fused, inputs.functional_chroma))))
    row = figures.FigureRow(f"{record.task} {Path(record.name).stem}", panels, default_rects(rows, cols))
    return figures.render([row], path, force=force)


def task_tables(result: EvaluationResult, metric_names: list[str] | None = None) -> dict[str, dict]:
    """task -> report table (method -> metric -> Cell with mean and std)."""
    metric_names = metric_names or list(metrics.get_preset(result.preset).metrics)
    return {task: report.summarise(per_method, metric_names) for task, per_method in result.per_task.items()}


BAR_METRICS = ("Qabf", "VIF", "MI")


def quality_bar(result: EvaluationResult) -> dict[str, dict[str, dict[str, tuple[float, float]]]]:
    """network -> task -> metric -> (network mean, average mean), for the metrics every network must beat averaging on."""
    networks = [m for m in result.methods if get_model_info(m).kind == "network"]
    bar: dict = {}
    if "average" not in result.methods:
        return bar
    for task, per_method in result.per_task.items():
        table = report.summarise({m: per_method[m] for m in networks + ["average"]}, list(BAR_METRICS))
        for network in networks:
            bar.setdefault(network, {})[task] = {k: (table[network][k].mean, table["average"][k].mean)
                                                 for k in BAR_METRICS}
    return bar


def quality_bar_markdown(result: EvaluationResult, titles: dict[str, str]) -> str:
    bar = quality_bar(result)
    if not bar:
        return ""
    tasks = list(result.per_task)
    lines = ["\n## Networks against plain averaging (mean over the split; ✓ = higher than averaging)\n\n",
             "| Network | " + " | ".join(f"{t} {k}" for t in tasks for k in BAR_METRICS) + " |\n",
             "|---|" + "---|" * (len(tasks) * len(BAR_METRICS)) + "\n"]
    for network, per_task in bar.items():
        cells = []
        for task in tasks:
            for key in BAR_METRICS:
                ours, average = per_task[task][key]
                cells.append(f"{'✓' if ours > average else '✗'} {ours:.3f} / {average:.3f}")
        lines.append(f"| {titles[network]} | " + " | ".join(cells) + " |\n")
    return "".join(lines)


def _stage_text(meta: dict) -> tuple[str, str, str]:
    """(steps, batch x patch, lr) of one training run."""
    schedule = meta.get("lr_schedule") or ([[0, meta["lr"]]] if "lr" in meta else [])
    lr = ", ".join(f"{lr:g}" + (f" from step {start}" if start else "") for start, lr in schedule) or "—"
    crop = f"{meta['batch_size']} x {meta['patch_size']}²" if "patch_size" in meta else "—"
    steps = str(meta.get("steps", "—")) + (" (BatchNorm frozen)" if meta.get("batchnorm", "").startswith("frozen")
                                           else "")
    return steps, crop, lr


def training_markdown(methods: list[str]) -> str:
    """How each evaluated network's weights were made, from their manifest records (weights/manifest.json); a
    fine-tuned network lists each run it went through, oldest first, joined by "then"."""
    rows = []
    for name in methods:
        info = get_model_info(name)
        if info.kind != "network" or info.weights is None:
            continue
        meta = info.weights.meta
        stages = training_stages(meta)
        steps, crop, lr = (" then ".join(column) for column in zip(*map(_stage_text, stages)))
        wall_s = sum(float(stage.get("wall_time_s", 0)) for stage in stages)
        wall = f"{wall_s / 60:.0f} min" if wall_s else "—"
        rows.append(f"| {info.title} | {steps} | {crop} | {lr} | {wall} | {meta.get('loss', '')} "
                    f"| {meta.get('training_data', '')} |\n")
    if not rows:
        return ""
    return ("\n## How the networks were trained (weights/manifest.json)\n\n"
            "| Network | steps | batch x patch | Adam lr | wall time | loss | data |\n|---|---|---|---|---|---|---|\n"
            + "".join(rows))


def results_markdown(result: EvaluationResult, metric_names: list[str] | None = None,
                     figure_paths: dict[str, str] | None = None) -> str:
    metric_names = metric_names or list(metrics.get_preset(result.preset).metrics)
    titles = {m: get_model_info(m).title for m in result.methods}
    parts = [f"# Results on the `{result.split}` split\n",
             f"Generated by `medfuse evaluate --split {result.split}` — every registered method on every {result.split} "
             f"pair of `../shared/data/harvard` (case-level split, `split.csv`). Metrics: preset `{result.preset}` "
             "(docs/metrics.md), anatomical gray vs functional luminance (BT.601 Y) vs fused luminance, 0..255. "
             "Mean ± standard deviation over pairs; **bold** best, <u>underlined</u> second; ↑/↓ higher/lower is "
             "better. Networks were trained on the `train` split only (weights/manifest.json).\n"]
    for task, per_method in result.per_task.items():
        n = len(next(iter(per_method.values())))
        table = report.summarise(per_method, metric_names)
        parts.append(f"\n## {task} ({n} pairs)\n")
        parts.append(report.markdown(table, metric_names, titles))
        if figure_paths and task in figure_paths:
            parts.append(f"\n![{task}]({figure_paths[task]})\n")
    parts.append(quality_bar_markdown(result, titles))
    parts.append(training_markdown(result.methods))
    times = {titles[m]: 1000 * float(np.median(s)) for m, s in result.seconds.items()}
    parts.append("\n## Fusion time (median ms per 256x256 slice, this machine's CPU)\n\n| Method | ms |\n|---|---|\n")
    parts += [f"| {k} | {v:.1f} |\n" for k, v in times.items()]
    return "".join(parts)
