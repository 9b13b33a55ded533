"""Publication figures laid out like the fusion papers' comparison figures (Qt-free, matplotlib Agg).

Each row is one image pair: the sources and every method's fused image side by side, each with the red and green
boxes drawn on it and, underneath, the two boxes' enlarged crops framed in their colours; a row whose functional image
is a gray volume under a colormap ends with its colour bar (the colormap, its window and unit, SUV for PET with a valid
factor), so the colours can be read off the printed figure as off the viewer. PNG, PDF and SVG by the output suffix;
the write is atomic and refuses to overwrite unless forced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # never a GUI backend from the core
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from . import colour  # noqa: E402
from .io.writers import atomic_path  # noqa: E402

BOX_RGB = {"red": (0.9, 0.1, 0.1), "green": (0.1, 0.8, 0.2)}
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")

Rect = tuple[int, int, int, int]  # (row0, col0, row1, col1), half-open


@dataclass
class FigureRow:
    label: str                               # e.g. "SPECT-MRI 11017"
    panels: list[tuple[str, np.ndarray]]     # (title, (H,W) gray or (H,W,3) uint8 image)
    boxes: dict[str, Rect] = field(default_factory=dict)
    colour_scale: colour.ColourScale | None = None   # drawn as a colour bar at the row's end


@dataclass
class FigureLayout:
    """Where things landed, in pixels of the PNG (origin top-left): for tests and for captions."""

    width: int
    height: int
    images: list[list[tuple[float, float, float, float]]]          # per row, per panel: x0, y0, x1, y1
    crops: list[list[dict[str, tuple[float, float, float, float]]]]  # per row, per panel: box -> extent
    colour_bars: list[tuple[float, float, float, float] | None] = field(default_factory=list)  # per row
    colour_bar_labels: list[tuple[str, list[str]] | None] = field(default_factory=list)  # per row: label, ticks


def _show(ax, image: np.ndarray) -> None:
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", vmin=0, vmax=255 if image.dtype == np.uint8 else 1, interpolation="nearest")
    else:
        ax.imshow(image, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _colour_bar(fig, cell, scale: colour.ColourScale):
    """The same lookup table the viewer uses (colour.colormap_lut), from the window's low end (bottom) to its top."""
    from matplotlib.colors import ListedColormap, Normalize
    from matplotlib.cm import ScalarMappable

    cax = fig.add_subplot(cell)
    lut = ListedColormap(colour.colormap_lut(scale.colormap).astype(np.float64) / 255.0)
    low, high = scale.window
    bar = fig.colorbar(ScalarMappable(Normalize(low, high), lut), cax=cax)
    bar.set_ticks([value for _, value in colour.colour_bar_ticks(scale.window)])
    bar.ax.tick_params(labelsize=6, length=2, pad=1)
    bar.set_label(scale.unit, fontsize=7, labelpad=2)
    return cax


def render(rows: list[FigureRow], path: str | Path, force: bool = False, dpi: int = 150,
           panel_inches: float = 1.9) -> FigureLayout:
    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise ValueError(f"figure type {path.suffix} not supported (use {', '.join(FIGURE_SUFFIXES)})")
    n_cols = max(len(r.panels) for r in rows)
    n_boxes = max(1, max(len(r.boxes) for r in rows))
    crop_ratio = 1.0 / n_boxes
    bar_inches = 0.75 if any(r.colour_scale is not None for r in rows) else 0.0   # the bar and its tick labels
    width_inches = n_cols * panel_inches + bar_inches
    height_inches = len(rows) * panel_inches * (1.12 + crop_ratio)
    fig = plt.figure(figsize=(width_inches, height_inches), dpi=dpi)
    outer = fig.add_gridspec(len(rows), 1, hspace=0.25, left=0.025, top=1 - 0.22 / height_inches, bottom=0.01,
                             right=0.995 - (0.55 * bool(bar_inches)) / width_inches)
    axes_images, axes_crops, axes_bars = [], [], []
    bar_columns = 1 if bar_inches else 0
    widths = [1.0] * (n_cols * n_boxes) + [0.12 * n_boxes] * bar_columns
    for r, row in enumerate(rows):
        grid = outer[r].subgridspec(2, n_cols * n_boxes + bar_columns, height_ratios=[1.0, crop_ratio],
                                    width_ratios=widths, hspace=0.06, wspace=0.06)
        row_images, row_crops = [], []
        for c, (title, image) in enumerate(row.panels):
            ax = fig.add_subplot(grid[0, c * n_boxes:(c + 1) * n_boxes])
            _show(ax, image)
            ax.set_title(title, fontsize=8, pad=3)
            if c == 0 and row.label:
                ax.set_ylabel(row.label, fontsize=8)
            for name, (r0, c0, r1, c1) in row.boxes.items():
                ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False,
                                       edgecolor=BOX_RGB[name], linewidth=1.2))
            row_images.append(ax)
            crops = {}
            for b, (name, (r0, c0, r1, c1)) in enumerate(row.boxes.items()):
                cax = fig.add_subplot(grid[1, c * n_boxes + b])
                _show(cax, image[r0:r1, c0:c1])
                for spine in cax.spines.values():
                    spine.set_edgecolor(BOX_RGB[name])
                    spine.set_linewidth(2.0)
                crops[name] = cax
            row_crops.append(crops)
        axes_images.append(row_images)
        axes_crops.append(row_crops)
        axes_bars.append(_colour_bar(fig, grid[0, -1], row.colour_scale) if row.colour_scale is not None else None)
    fig.canvas.draw()
    width, height = fig.canvas.get_width_height()

    def extent(ax):
        box = ax.get_window_extent()
        return (box.x0, height - box.y1, box.x1, height - box.y0)

    layout = FigureLayout(width, height, [[extent(a) for a in row] for row in axes_images],
                          [[{n: extent(a) for n, a in crops.items()} for crops in row] for row in axes_crops],
                          [extent(a) if a is not None else None for a in axes_bars],
                          [(a.get_ylabel(), [t.get_text() for t in a.get_yticklabels()]) if a is not None else None
                           for a in axes_bars])
    with atomic_path(path, force) as tmp:
        fig.savefig(tmp, format=path.suffix.lower().lstrip("."), dpi=dpi)
    plt.close(fig)
    return layout
