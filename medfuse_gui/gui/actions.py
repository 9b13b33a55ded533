"""Menus and window-wide actions with their shortcuts (listed in the menus and in Help > Keyboard shortcuts).

Slice and orientation keys are actions of the whole window: a focused combo box, slider or spin box does not eat
them (``ViewKeyFilter`` declines their shortcut-override request), so A/C/S and Up/Down act on the views whatever
control was clicked last. Text fields of dialogs are separate windows and keep their keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractSlider, QAbstractSpinBox, QComboBox,
                               QMainWindow, QMenu)

VIEW_KEYS = {Qt.Key.Key_A, Qt.Key.Key_C, Qt.Key.Key_S, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp,
             Qt.Key.Key_PageDown, Qt.Key.Key_O, Qt.Key.Key_R, Qt.Key.Key_X, Qt.Key.Key_K}
CONTROL_TYPES = (QComboBox, QAbstractSlider, QAbstractSpinBox, QAbstractButton, QAbstractItemView)

MOUSE_GESTURES = [
    ("Wheel over a view", "next / previous slice"),
    ("Ctrl + wheel", "zoom"),
    ("Left-drag", "pan (all views are linked)"),
    ("Drag a red or green box (or its corner handle)", "move / resize the zoom box in every view"),
    ("Right-drag in the anatomical view", "window (horizontal) and level (vertical)"),
    ("Shift + click (or X for the crosshair tool, then click)", "set the crosshair in every view"),
    ("Drop a file on a view", "open it as that view's image"),
]


@dataclass
class ActionSpec:
    text: str
    slot: Callable[[], None]
    shortcut: str | QKeySequence.StandardKey | None = None
    checkable: bool = False
    tip: str = ""


class ViewKeyFilter(QObject):
    """Installed on the application: a control with focus declines the view keys, so their actions fire."""

    def eventFilter(self, obj, event):  # noqa: N802 (Qt override)
        if (event.type() == QEvent.Type.ShortcutOverride and event.key() in VIEW_KEYS
                and not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
                and isinstance(obj, CONTROL_TYPES) and not _in_popup(obj)):
            event.ignore()
            return True
        return False


def _in_popup(widget) -> bool:
    window = widget.window()
    return bool(window is not None and window.windowFlags() & Qt.WindowType.Popup)


def add_actions(window: QMainWindow, menu: QMenu, specs: list[ActionSpec | None]) -> dict[str, QAction]:
    actions = {}
    for spec in specs:
        if spec is None:
            menu.addSeparator()
            continue
        action = QAction(spec.text, window)
        if spec.shortcut is not None:
            action.setShortcut(QKeySequence(spec.shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(spec.checkable)
        if spec.tip:
            action.setToolTip(spec.tip)
            action.setStatusTip(spec.tip)
        if spec.checkable:
            action.toggled.connect(lambda checked, slot=spec.slot: slot(checked))
        else:
            action.triggered.connect(lambda checked=False, slot=spec.slot: slot())
        menu.addAction(action)
        window.addAction(action)   # window-wide, even while the menu bar is hidden
        actions[spec.text.replace("&", "").rstrip("…")] = action
    return actions


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str]]:
    """(keys, what) for every action with a shortcut, in menu order, then the mouse gestures."""
    rows = []
    for action in window.actions():
        sequence = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if sequence:
            rows.append((sequence, action.text().replace("&", "").rstrip("…")))
    return rows + MOUSE_GESTURES
