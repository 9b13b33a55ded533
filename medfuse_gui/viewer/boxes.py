"""The red and green zoom boxes, in whole display pixels of one plane.

Boxes are integral: the region drawn on screen, the one shown magnified in the insets, the one the metrics are
computed over and the one cropped in an exported figure are then the same pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

BOX_COLOURS = {"red": (230, 40, 40), "green": (40, 200, 60)}
BOX_NAMES = tuple(BOX_COLOURS)
MIN_SIDE = 4


@dataclass(frozen=True)
class Box:
    """Top-left corner (x = column, y = row) and size in display pixels."""

    x: float
    y: float
    w: float
    h: float

    def rect(self) -> tuple[int, int, int, int]:
        """(row0, col0, row1, col1), integer and half-open, as the metrics module takes regions."""
        r0, c0 = int(round(self.y)), int(round(self.x))
        return r0, c0, r0 + max(1, int(round(self.h))), c0 + max(1, int(round(self.w)))

    def snapped(self) -> "Box":
        r0, c0, r1, c1 = self.rect()
        return Box(float(c0), float(r0), float(c1 - c0), float(r1 - r0))

    def clamped(self, rows: int, cols: int) -> "Box":
        """Inside a rows x cols plane, at least MIN_SIDE pixels a side where the plane allows, whole pixels."""
        w = float(min(max(MIN_SIDE, round(self.w)), cols))
        h = float(min(max(MIN_SIDE, round(self.h)), rows))
        x = float(min(max(0, round(self.x)), cols - w))
        y = float(min(max(0, round(self.y)), rows - h))
        return Box(x, y, w, h)

    def as_list(self) -> list[float]:
        return [self.x, self.y, self.w, self.h]


def default_boxes(rows: int, cols: int) -> dict[str, Box]:
    """Two boxes where fusion papers usually put them: one on cortex, one nearer the centre."""
    side = max(8.0, round(min(rows, cols) * 0.18))
    return {"red": Box(cols * 0.22, rows * 0.28, side, side).clamped(rows, cols),
            "green": Box(cols * 0.56, rows * 0.52, side, side).clamped(rows, cols)}
