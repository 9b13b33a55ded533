"""The core (everything but medfuse_gui.gui) never imports Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "medfuse_gui"
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "qtpy", "shiboken6")
QT_LAYER = {"gui"}


def core_files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] not in QT_LAYER]


def test_no_core_module_imports_qt_statically():
    offenders = []
    for path in core_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom) and node.level > 0 and node.module and node.module.startswith("gui"):
                names = ["medfuse_gui.gui"]
            offenders += [f"{path.relative_to(PACKAGE)}: {n}" for n in names
                          if n.split(".")[0] in QT_MODULES or n.startswith("medfuse_gui.gui")]
    assert offenders == []


def test_importing_every_core_module_loads_no_qt():
    modules = sorted({".".join(("medfuse_gui",) + p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
                      for p in core_files()})
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n    importlib.import_module(m)\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}]\n"
            "print(','.join(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == ""


def test_listing_methods_does_not_import_torch():
    code = ("import sys; from medfuse_gui import fusion; fusion.list_models(); "
            "[fusion.get_model_info(n).availability() for n in fusion.list_models()]; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize("path", sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")))
def test_torch_load_always_weights_only(path):
    source = (PACKAGE / path).read_text()
    for line in source.splitlines():
        if "torch.load(" in line:
            assert "weights_only=True" in line, f"{path}: {line.strip()}"
