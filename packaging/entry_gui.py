"""Bundled viewer executable (MedFuse)."""

import sys

from medfuse_gui._launch import reexec_with_tuned_malloc

if __name__ == "__main__":
    reexec_with_tuned_malloc("medfuse_gui.gui.app", sys.argv[1:])
    from medfuse_gui.gui.app import main

    sys.exit(main())
