"""What survives a restart (QSettings): window geometry and dock layout, recent pairs (only pairs the user opened
together or confirmed), and the last session, offered at start-up."""

from __future__ import annotations

import base64
from pathlib import Path

from PySide6.QtCore import QByteArray, QObject, QSettings, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu

from ..io.errors import MedFuseError
from ..viewer.model import ViewerModel
from ..viewer.session import Session

MAX_RECENT = 8
LAST_SESSION = "last-session.medfuse.json"


def encode(data: QByteArray) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def decode(text: str) -> QByteArray:
    try:
        return QByteArray(base64.b64decode(text.encode("ascii"), validate=True))
    except (ValueError, UnicodeEncodeError):
        return QByteArray()


def last_session_path() -> Path:
    """Beside the settings file, so a test's or a user's isolated settings keep their own last session."""
    return Path(QSettings().fileName()).parent / LAST_SESSION


class Persistence(QObject):
    recentChosen = Signal(str, str)

    def __init__(self, window: QMainWindow, model: ViewerModel, recent_menu: QMenu):
        super().__init__(window)
        self.window, self.model, self.recent_menu = window, model, recent_menu
        model.events.sources.connect(lambda e: self._remember_pair())
        self.fill_recent_menu()
        self.apply_input_limit()

    def apply_input_limit(self) -> None:
        """The decoded-pixel limit of every loader (docs/input-safety.md) from the settings key input/maxPixelBytes
        ("2G", "512M" or bytes); without it, MEDFUSE_MAX_PIXEL_BYTES or the 2 GiB default applies."""
        from ..io.guard import parse_byte_size, set_max_pixel_bytes

        text = str(QSettings().value("input/maxPixelBytes", "") or "").strip()
        try:
            set_max_pixel_bytes(parse_byte_size(text) if text else None)
        except (ValueError, OverflowError, MedFuseError):
            set_max_pixel_bytes(None)
            self.model.notify(f"Settings: input/maxPixelBytes={text!r} is not a size (e.g. 2G); the default limit "
                              f"applies.", "warning")

    # --- window layout ----------------------------------------------------------------------------------------------
    def window_state(self) -> dict[str, str]:
        return {"geometry": encode(self.window.saveGeometry()), "state": encode(self.window.saveState())}

    def restore_window_state(self, state: dict[str, str]) -> bool:
        restored = False
        if state.get("geometry"):
            restored = self.window.restoreGeometry(decode(state["geometry"]))
        if state.get("state"):
            self.window.restoreState(decode(state["state"]))
        return restored

    def restore_layout(self) -> bool:
        """The last run's geometry and docks; True when a geometry was restored (it wins over the default size)."""
        settings = QSettings()
        state = {key: settings.value(f"window/{key}") for key in ("geometry", "state")}
        return self.restore_window_state({k: v for k, v in state.items() if isinstance(v, str)})

    def save(self) -> None:
        settings = QSettings()
        for key, value in self.window_state().items():
            settings.setValue(f"window/{key}", value)
        settings.setValue("lastMethod", self.model.method)
        if self.model.pair is not None:
            try:
                Session.from_model(self.model, self.window_state()).write(last_session_path())
            except (MedFuseError, OSError, ValueError):
                pass  # the last session is a convenience; failing to keep it must not stop the window closing
        settings.sync()

    def last_method(self) -> str | None:
        from ..fusion.registry import list_models

        value = QSettings().value("lastMethod")
        return str(value) if value and str(value) in list_models() else None   # gone since: start as new

    def last_session(self) -> Session | None:
        path = last_session_path()
        if not path.is_file():
            return None
        try:
            return Session.read(path)
        except MedFuseError:
            return None

    # --- recent pairs -----------------------------------------------------------------------------------------------
    def recent_pairs(self) -> list[tuple[str, str]]:
        raw = QSettings().value("recentPairs", []) or []
        pairs = []
        for entry in raw if isinstance(raw, list) else [raw]:
            anat, _, func = str(entry).partition("\n")
            if anat and func:
                pairs.append((anat, func))
        return pairs

    def _remember_pair(self) -> None:
        model = self.model
        if model.pair is None or not model.confirmed:
            return   # a pair the user did not open together or confirm is never offered again
        entry = f"{model.anatomical.source}\n{model.functional.source}"
        pairs = [f"{a}\n{f}" for a, f in self.recent_pairs() if f"{a}\n{f}" != entry]
        QSettings().setValue("recentPairs", [entry] + pairs[: MAX_RECENT - 1])
        self.fill_recent_menu()

    def fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        pairs = self.recent_pairs()
        for anat, func in pairs:
            action = QAction(f"{Path(anat).name} + {Path(func).name}", self.window)
            action.setToolTip(f"{anat}\n{func}")
            action.triggered.connect(lambda checked=False, a=anat, f=func: self.recentChosen.emit(a, f))
            self.recent_menu.addAction(action)
        self.recent_menu.setEnabled(bool(pairs))
