"""Comparison tables as the fusion papers print them: mean (± std) per method and metric, best in bold, second
underlined, respecting each metric's direction. Markdown, LaTeX and CSV from one ranking (Qt-free)."""

from __future__ import annotations

import csv
import io as _io
import math
from dataclasses import dataclass

import numpy as np

from .metrics import METRICS


@dataclass
class Cell:
    mean: float
    std: float | None = None
    rank: int | None = None   # 1 = best, 2 = second, else None


def _finite(values) -> np.ndarray:
    array = np.asarray([v for v in values if v is not None], dtype=np.float64)
    return array[np.isfinite(array)]


def summarise(per_method: dict[str, list[dict[str, float]]], metric_names: list[str]) -> dict[str, dict[str, Cell]]:
    """method -> metric -> Cell(mean, std) over samples (NaN/inf samples are left out of that metric)."""
    table: dict[str, dict[str, Cell]] = {}
    for method, samples in per_method.items():
        row = {}
        for name in metric_names:
            values = _finite(s.get(name) for s in samples)
            row[name] = Cell(float(values.mean()) if values.size else float("nan"),
                             float(values.std()) if values.size > 1 else None)
        table[method] = row
    rank(table, metric_names)
    return table


def rank(table: dict[str, dict[str, Cell]], metric_names: list[str]) -> None:
    """Mark best (1) and second (2) per metric; ties share a rank; lower-is-better metrics rank ascending."""
    for name in metric_names:
        higher = METRICS[name].higher_is_better if name in METRICS else True
        means = sorted({round(row[name].mean, 12) for row in table.values() if math.isfinite(row[name].mean)},
                       reverse=higher)
        for row in table.values():
            cell = row[name]
            cell.rank = None
            if math.isfinite(cell.mean) and means:
                position = means.index(round(cell.mean, 12)) + 1
                cell.rank = position if position <= 2 else None


def _fmt(value: float, digits: int) -> str:
    if not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}"


def digits_for(name: str, table: dict[str, dict[str, Cell]]) -> int:
    magnitude = max((abs(r[name].mean) for r in table.values() if math.isfinite(r[name].mean)), default=1.0)
    return 2 if magnitude >= 10 else 4 if magnitude < 1 else 3


def markdown(table: dict[str, dict[str, Cell]], metric_names: list[str], titles: dict[str, str] | None = None,
             with_std: bool = True) -> str:
    titles = titles or {}
    head = "| Method | " + " | ".join(f"{n} {'↑' if METRICS[n].higher_is_better else '↓'}" if n in METRICS else n
                                       for n in metric_names) + " |"
    lines = [head, "|" + "---|" * (len(metric_names) + 1)]
    for method, row in table.items():
        cells = []
        for name in metric_names:
            cell, d = row[name], digits_for(name, table)
            text = _fmt(cell.mean, d) + (f" ± {_fmt(cell.std, d)}" if with_std and cell.std is not None else "")
            cells.append(f"**{text}**" if cell.rank == 1 else f"<u>{text}</u>" if cell.rank == 2 else text)
        lines.append(f"| {titles.get(method, method)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def latex(table: dict[str, dict[str, Cell]], metric_names: list[str], titles: dict[str, str] | None = None,
          with_std: bool = True, caption: str = "") -> str:
    titles = titles or {}
    esc = lambda s: s.replace("_", r"\_").replace("&", r"\&").replace("%", r"\%")  # noqa: E731
    arrows = [f"{esc(n)} $\\{'uparrow' if METRICS[n].higher_is_better else 'downarrow'}$" if n in METRICS else esc(n)
              for n in metric_names]
    out = [r"\begin{table}[t]", r"\centering", r"\begin{tabular}{l" + "c" * len(metric_names) + "}", r"\hline",
           "Method & " + " & ".join(arrows) + r" \\", r"\hline"]
    for method, row in table.items():
        cells = []
        for name in metric_names:
            cell, d = row[name], digits_for(name, table)
            text = _fmt(cell.mean, d) + (f" $\\pm$ {_fmt(cell.std, d)}" if with_std and cell.std is not None else "")
            cells.append(f"\\textbf{{{text}}}" if cell.rank == 1 else f"\\underline{{{text}}}" if cell.rank == 2
                         else text)
        out.append(esc(titles.get(method, method)) + " & " + " & ".join(cells) + r" \\")
    out += [r"\hline", r"\end{tabular}"]
    if caption:
        out.append(f"\\caption{{{esc(caption)}}}")
    out.append(r"\end{table}")
    return "\n".join(out) + "\n"


def csv_text(table: dict[str, dict[str, Cell]], metric_names: list[str], with_std: bool = True) -> str:
    """One row per method: NAME_mean, NAME_std, NAME_rank per metric (or NAME, NAME_rank for single values)."""
    buffer = _io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    fields = ("mean", "std", "rank") if with_std else ("", "rank")
    writer.writerow(["method"] + [f"{n}_{k}" if k else n for n in metric_names for k in fields])
    for method, row in table.items():
        values = []
        for name in metric_names:
            cell = row[name]
            values += [repr(cell.mean)] + (["" if cell.std is None else repr(cell.std)] if with_std else [])
            values.append(cell.rank or "")
        writer.writerow([method] + values)
    return buffer.getvalue()
