"""``medfuse-gui``: the desktop viewer.

    medfuse-gui                                   # empty window
    medfuse-gui --demo                            # the bundled SPECT-MRI demo case
    medfuse-gui --anat A --func B --method NAME   # open a pair
    medfuse-gui ... --screenshot OUT.png          # wait for fusion + metrics, save the window, exit (CI, README)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

_IMPORTED = time.perf_counter()


def parse_args(argv: list[str]) -> argparse.Namespace:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="medfuse-gui", description="MedFuse — multimodal medical image fusion viewer")
    parser.add_argument("--anat", help="anatomical image, DICOM file/folder or NIfTI")
    parser.add_argument("--func", help="functional image, DICOM file/folder or NIfTI")
    parser.add_argument("--method", help="fusion method (see `medfuse methods`)")
    parser.add_argument("--demo", action="store_true", help="open the bundled SPECT-MRI demo case")
    parser.add_argument("--screenshot", metavar="PNG", help="save a screenshot once fused and metrics shown, then exit")
    parser.add_argument("--size", default="1500x820", help="window size WxH (default 1500x820)")
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
    if args.screenshot and not (args.anat or args.demo):
        print("medfuse-gui: --screenshot needs --anat/--func or --demo", file=sys.stderr)
        return 2
    for path in (args.anat, args.func):
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
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"medfuse-gui: --size must be WxH, got {args.size}", file=sys.stderr)
        return 2
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
        window.errorShown.connect(lambda message: failed(message) if not window.pair or window.current is None else None)
        QTimer.singleShot(int(args.timeout * 1000), timed_out)

    if args.anat:
        window.open_pair(args.anat, args.func, args.method)
    elif args.demo:
        anat, func = demo_paths()
        window.open_pair(anat, func, args.method)
    elif args.method:
        window.select_method(args.method)
    code = app.exec()
    return status["code"] or code


def console_main() -> int:
    """The ``medfuse-gui`` entry point: the viewer runs torch in its worker, so it gets the tuned allocator too."""
    from .._launch import reexec_with_tuned_malloc

    reexec_with_tuned_malloc("medfuse_gui.gui.app", sys.argv[1:])
    return main()


if __name__ == "__main__":
    sys.exit(console_main())
