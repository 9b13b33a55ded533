"""``medfuse-gui``: the desktop viewer.

    medfuse-gui                                   # empty window
    medfuse-gui --demo                            # the bundled SPECT-MRI demo case
    medfuse-gui --anat A --func B --method NAME   # open a pair
    medfuse-gui --session FILE.medfuse.json       # restore a saved session
    medfuse-gui ... --screenshot OUT.png          # wait for fusion + metrics, save the window, exit (CI, README)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

_IMPORTED = time.perf_counter()
DEFAULT_SIZE = "1500x820"


def parse_args(argv: list[str]) -> argparse.Namespace:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="medfuse-gui", description="MedFuse — multimodal medical image fusion viewer")
    parser.add_argument("--anat", help="anatomical image, DICOM file/folder or NIfTI")
    parser.add_argument("--func", help="functional image, DICOM file/folder or NIfTI")
    parser.add_argument("--method", help="fusion method (see `medfuse methods`)")
    parser.add_argument("--demo", action="store_true", help="open the bundled SPECT-MRI demo case")
    parser.add_argument("--demo-volume", action="store_true",
                        help="open the MNI152 T1 + simulated FDG-PET demo volume")
    parser.add_argument("--crosshair", nargs=3, type=float, metavar=("R", "A", "S"),
                        help="put the crosshair at this world point (RAS mm) once the images are open")
    parser.add_argument("--session", metavar="FILE", help="open a saved session (File > Save session)")
    parser.add_argument("--screenshot", metavar="PNG", help="save a screenshot once fused and metrics shown, then exit")
    parser.add_argument("--size", default=None,
                        help="window size WxH (default: the last run's, else 1500x820)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for --screenshot (default 300)")
    parser.add_argument("--startup-time", action="store_true",
                        help="print the seconds from process start to the first painted window, then exit")
    parser.add_argument("--version", action="version", version=f"medfuse-gui {__version__}")
    return parser.parse_args(argv)


def process_age() -> float:
    """Seconds since this process started (Linux: from /proc; elsewhere: since this module was imported)."""
    try:
        with open("/proc/self/stat") as handle:
            start_ticks = float(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _IMPORTED


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    if bool(args.anat) != bool(args.func):
        print("medfuse-gui: give both --anat and --func", file=sys.stderr)
        return 2
    if args.screenshot and not (args.anat or args.demo or args.demo_volume or args.session):
        print("medfuse-gui: --screenshot needs --anat/--func, --demo, --demo-volume or --session", file=sys.stderr)
        return 2
    for path in (args.anat, args.func, args.session):
        if path and not Path(path).exists():
            print(f"medfuse-gui: cannot open {path}: no such file or folder", file=sys.stderr)
            return 1
    if args.method:
        from ..fusion import get_model_info
        from ..io.errors import MedFuseError

        try:
            get_model_info(args.method)
        except MedFuseError as exc:
            print(f"medfuse-gui: {exc}", file=sys.stderr)
            return 2

    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName("MedFuse")
    QCoreApplication.setApplicationName("MedFuse")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from .main_window import MainWindow, demo_paths

    window = MainWindow()
    if args.size or not window.geometry_restored:   # the last run's geometry wins over the default size
        try:
            width, height = (int(v) for v in (args.size or DEFAULT_SIZE).lower().split("x"))
        except ValueError:
            print(f"medfuse-gui: --size must be WxH, got {args.size}", file=sys.stderr)
            return 2
        if not args.size:   # the default must fit a small screen (a 1024x700 laptop, a remote desktop)
            width, height = fit_to_screen((width, height), app.primaryScreen())
        window.resize(width, height)
    window.show()
    status = {"code": 0}

    if args.startup_time:
        def report_first_paint() -> None:
            print(f"first window painted {process_age():.2f} s after process start "
                  f"(torch imported: {'torch' in sys.modules})")
            window.close()

        QTimer.singleShot(0, report_first_paint)  # runs once the event loop has painted the shown window

    if args.screenshot:
        window.modal_errors = False
        out = Path(args.screenshot)

        def save() -> None:
            app.processEvents()
            if not window.grab().save(str(out)):
                print(f"medfuse-gui: cannot write screenshot {out}", file=sys.stderr)
                status["code"] = 1
            else:
                print(f"medfuse-gui: screenshot saved to {out}", file=sys.stderr)
            window.close()

        def failed(message: str) -> None:
            print(f"medfuse-gui: {message}", file=sys.stderr)
            status["code"] = 1
            window.close()

        def timed_out() -> None:
            failed(f"gave up after {args.timeout:.0f} s waiting for fusion and metrics")

        window.pipelineIdle.connect(lambda: QTimer.singleShot(150, save))
        window.errorShown.connect(lambda message: failed(message) if window.model.current_fused() is None else None)
        QTimer.singleShot(int(args.timeout * 1000), timed_out)

    if args.session:
        window.open_session(args.session)
    elif args.anat:
        window.open_pair(args.anat, args.func, args.method)
    elif args.demo:
        anat, func = demo_paths()
        window.open_pair(anat, func, args.method)
    elif args.demo_volume:
        if args.method:
            window.select_method(args.method)
        window.open_volume_demo()
    elif args.method:
        window.select_method(args.method)
    if args.crosshair:
        window.pairReady.connect(lambda: window.show_crosshair_at(args.crosshair))
    code = app.exec()
    code = status["code"] or code
    if not getattr(window, "clean_exit", True):
        # a torch call that cannot be interrupted is still running in a worker: leave now rather than make the
        # user wait for it (Ctrl+Q must quit at once); nothing is half-written, exports write atomically
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def fit_to_screen(size: tuple[int, int], screen) -> tuple[int, int]:
    """``size`` shrunk to the screen's available area (without panels and docks), never below it."""
    if screen is None:
        return size
    available = screen.availableGeometry()
    return min(size[0], available.width()), min(size[1], available.height())


def console_main() -> int:
    """The ``medfuse-gui`` entry point: the viewer runs torch in its worker, so it gets the tuned allocator too."""
    from .._launch import reexec_with_tuned_malloc

    reexec_with_tuned_malloc("medfuse_gui.gui.app", sys.argv[1:])
    return main()


if __name__ == "__main__":
    sys.exit(console_main())
