"""Run in a child process (bounded address space and pixel limit): load every corpus file and fuse it with a good
partner through the CLI, in both roles; print one JSON record per case. Used by test_corpus.py."""

from __future__ import annotations

import contextlib
import io as _io
import json
import resource
import sys
import time
from pathlib import Path


def main(listing: str, partner: str, out_dir: str) -> None:
    from medfuse_gui import cli, io

    cases = json.loads(Path(listing).read_text())
    out = Path(out_dir)
    for index, (name, path) in enumerate(sorted(cases.items())):
        record: dict = {"name": name}
        start = time.perf_counter()
        try:
            volume = io.load(path)
            import numpy as np

            record["load"] = "volume"
            record["finite"] = bool(np.isfinite(volume.pixels).all())
        except io.MedFuseError as exc:
            record["load"] = "error"
            record["message"] = str(exc)
        except BaseException as exc:  # noqa: BLE001 - what the test must never see
            record["load"] = f"crash {exc.__class__.__name__}: {exc}"
        record["load_s"] = time.perf_counter() - start
        for role, argv in (("anat", ["--anat", path, "--func", partner]), ("func", ["--anat", partner, "--func", path])):
            target = out / f"{index}_{role}.png"
            stderr = _io.StringIO()
            start = time.perf_counter()
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(_io.StringIO()):
                try:
                    rc = cli.main(["fuse", *argv, "-o", str(target), "--method", "average", "--quiet"])
                except BaseException as exc:  # noqa: BLE001
                    rc = f"raised {exc.__class__.__name__}: {exc}"
            record[role] = {"rc": rc, "stderr": stderr.getvalue(), "output": target.is_file(),
                            "seconds": time.perf_counter() - start}
        print(json.dumps(record), flush=True)
    print(json.dumps({"maxrss_mb": peak_rss_mb()}), flush=True)


def peak_rss_mb() -> int:
    """This process's peak resident memory. Not ru_maxrss: Linux carries it across execve from the forking parent,
    so a child of a large pytest process would report the parent's size; VmHWM belongs to this address space."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


if __name__ == "__main__":
    limit = int(sys.argv[4])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    main(*sys.argv[1:4])
