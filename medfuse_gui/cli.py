"""``medfuse``: the headless command line. Each sub-command lives in ``medfuse_gui.commands.<name>`` and exposes
``add_parser(subparsers)`` and ``run(args) -> int``. Errors a user can act on end in one line on stderr and a non-zero
exit status; tracebacks are only shown with ``--debug``."""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__

COMMANDS = ("methods", "info", "fuse", "register", "compare", "metrics", "train", "evaluate", "bench")

EXIT_USAGE = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(BaseException):
    """SIGTERM, raised where the process is so that atomic writes remove their temporaries on the way out."""


def _raise_terminated(signum, frame) -> None:  # noqa: ARG001 - the signal handler signature
    raise Terminated()


def _quiet_libraries(debug: bool) -> None:
    """Library warnings (pydicom on malformed values, nibabel) carry Python class names and source paths: MedFuse
    reports what matters in its own words, so they show only with --debug."""
    import logging
    import os
    import warnings

    if debug:
        return
    from .io.guard import set_native_messages_muted

    set_native_messages_muted(True)
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
    warnings.simplefilter("ignore")
    for name in ("pydicom", "nibabel", "PIL", "tifffile"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medfuse", description="Multimodal medical image fusion, headless.")
    parser.add_argument("--version", action="version", version=f"medfuse {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"medfuse_gui.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"medfuse_gui.commands.{name}":
                continue  # a command not written yet
            raise
        module.add_parser(sub)
    return parser


def console_main() -> int:
    """The ``medfuse`` console script: tune the allocator for torch-heavy commands, then run."""
    from ._launch import reexec_with_tuned_malloc

    argv = sys.argv[1:]
    if argv and argv[0] in ("fuse", "train", "evaluate", "bench", "compare"):
        reexec_with_tuned_malloc("medfuse_gui.cli", argv)
    return main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    import signal
    import threading

    from .io.errors import MedFuseError

    _quiet_libraries(args.debug)
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    else:  # pragma: no cover - main() called from a worker thread (tests): signals stay as they are
        previous = None
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("medfuse: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("medfuse: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except MedFuseError as exc:
        if args.debug:
            raise
        print(f"medfuse {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except MemoryError:
        if args.debug:
            raise
        print(f"medfuse {args.command}: out of memory (try fewer slices, a smaller image or the CPU)", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - one line and a status, never a traceback unless --debug
        if args.debug:
            raise
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if "out of memory" in text.lower():
            print(f"medfuse {args.command}: the GPU ran out of memory (try --device cpu or a smaller image)",
                  file=sys.stderr)
        else:
            print(f"medfuse {args.command}: unexpected internal error ({text or 'no message'}); please report it "
                  "(--debug shows the traceback)", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(console_main())
