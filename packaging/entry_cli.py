"""Bundled console executable (medfuse): the CLI, and `medfuse gui ...` for the viewer with a console (debug)."""

import sys

from medfuse_gui._launch import reexec_with_tuned_malloc

if __name__ == "__main__":
    reexec_with_tuned_malloc("medfuse_gui.cli", sys.argv[1:])
    if sys.argv[1:2] == ["gui"]:
        from medfuse_gui.gui.app import main as gui

        sys.exit(gui(sys.argv[2:]))
    from medfuse_gui.cli import main

    sys.exit(main(sys.argv[1:]))
