"""Compare every method on one slice (the loupe's model, Qt-free) and write paper-style figures and tables.

A Comparison holds, for one pair and slice, each method's fused slice and its metrics over the whole image and over
each zoom box. The GUI's loupe fills one incrementally from its worker; ``medfuse compare`` fills one in a loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import colour, figures, metrics, pipeline, report
from .fusion import get_model, get_model_info, list_models
from .io.errors import MedFuseError
from .io.writers import write_bytes_atomic

Rect = tuple[int, int, int, int]
REGION_TITLES = {"whole": "whole image", "red": "red box", "green": "green box"}


@dataclass
class Comparison:
    inputs: pipeline.SliceInputs
    boxes: dict[str, Rect]
    label: str = ""
    fused: dict[str, pipeline.FusedSlice] = field(default_factory=dict)
    values: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # method -> region -> metric -> v
    preset: str = metrics.DEFAULT_PRESET

    @property
    def methods(self) -> list[str]:
        return list(self.fused)

    def regions(self) -> dict[str, Rect | None]:
        return {"whole": None, **self.boxes}

    def add(self, fused: pipeline.FusedSlice, values: dict[str, dict[str, float]] | None = None) -> None:
        self.fused[fused.method] = fused
        if values is None:
            a, b, f = fused.metric_arrays()
            values = metrics.compute_regions(a, b, f, self.regions(), preset=self.preset)
        self.values[fused.method] = values


def resolve_methods(spec: str | list[str]) -> list[str]:
    """'all' -> every available method; else the named ones, each checked for availability."""
    if spec == "all" or spec == ["all"]:
        return list_models(available_only=True)
    names = [get_model_info(m).name for m in (spec.split(",") if isinstance(spec, str) else spec) if m.strip()]
    for name in names:
        ok, reason = get_model_info(name).availability()
        if not ok:
            raise MedFuseError(f"{name}: {reason}")
    return names


def compare_slice(pair: pipeline.Pair, index: int, methods: list[str], boxes: dict[str, Rect],
                  preset: str = metrics.DEFAULT_PRESET, orientation: str = "axial", colormap: str | None = None,
                  label: str = "", progress: Callable[[int, int, str], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> Comparison:
    comparison: Comparison | None = None
    for done, method in enumerate(methods):
        if cancelled is not None and cancelled():
            raise pipeline.Cancelled()
        info = get_model_info(method)
        inputs = pipeline.slice_inputs(pair, index, colormap=colormap, colour_space=info.colour_space,
                                       orientation=orientation)
        if comparison is None:
            comparison = Comparison(inputs, boxes, label, preset=preset)
        comparison.add(pipeline.fuse_inputs(inputs, get_model(method), index))
        if progress is not None:
            progress(done + 1, len(methods), method)
    if comparison is None:
        raise MedFuseError("no methods to compare")
    return comparison


def figure(comparison: Comparison, path: str | Path, force: bool = False) -> figures.FigureLayout:
    """Sources then methods in a row, each with the red and green frames and their enlarged crops (paper Fig. 6)."""
    inputs = comparison.inputs
    panels = [("Anatomical", colour.to_uint8(inputs.anatomical)), ("Functional", colour.to_uint8(inputs.functional_rgb))]
    for method, fused in comparison.fused.items():
        panels.append((f"{get_model_info(method).title}", fused.fused_rgb_uint8()))
    row = figures.FigureRow(comparison.label, panels, dict(comparison.boxes), inputs.colour_scale)
    return figures.render([row], path, force=force)


def tables(comparison: Comparison, region: str = "whole") -> dict[str, report.Cell]:
    names = list(metrics.get_preset(comparison.preset).metrics)
    per_method = {m: [comparison.values[m][region]] for m in comparison.methods}
    return report.summarise(per_method, names)


def write_table(comparison: Comparison, path: str | Path, force: bool = False) -> Path:
    """CSV (one row per method and region) or LaTeX (one table per region) by the suffix, best bold, second
    underlined (LaTeX) / ranked (CSV)."""
    path = Path(path)
    names = list(metrics.get_preset(comparison.preset).metrics)
    titles = {m: get_model_info(m).title for m in comparison.methods}
    if path.suffix.lower() == ".csv":
        lines = ["region," + report.csv_text(tables(comparison, "whole"), names, False).splitlines()[0]]
        for region in comparison.regions():
            body = report.csv_text(tables(comparison, region), names, False).splitlines()[1:]
            lines += [f"{region},{line}" for line in body]
        text = "\n".join(lines) + "\n"
    elif path.suffix.lower() == ".tex":
        text = "".join(report.latex(tables(comparison, region), names, titles, with_std=False,
                                    caption=f"{comparison.label} — {REGION_TITLES[region]}".strip(" —"))
                       for region in comparison.regions())
    elif path.suffix.lower() == ".md":
        text = "".join(f"\n### {REGION_TITLES[region]}\n\n" + report.markdown(tables(comparison, region), names, titles,
                                                                           with_std=False)
                       for region in comparison.regions())
    else:
        raise MedFuseError(f"table type {path.suffix} not supported (use .csv, .tex or .md)")
    return write_bytes_atomic(path, text.encode(), force=force)


def timing_summary(comparison: Comparison) -> dict[str, float]:
    return {m: f.seconds for m, f in comparison.fused.items()}


