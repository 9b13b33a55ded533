"""Atomic files and folders that follow the umask and leave nothing behind.

A file is written to a temporary sibling (created with mode 0666 & ~umask, as any new file), synced, then renamed
over the target; a folder export is written into a temporary sibling folder and renamed as a whole. On an exception,
Ctrl-C or SIGTERM (the CLI turns it into an exception) the temporary is removed; after SIGKILL it stays, hidden, and
the next write into the same folder removes it: its name carries the writer's process id, and a temporary whose
process is gone is stale. See docs/input-safety.md.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Iterator

from .errors import WriteError

TEMP_PREFIX = ".medfuse-tmp-"
_TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-")
_FILE_MODE = 0o666  # the umask takes its share, as for any file a program creates
_DIR_MODE = 0o777


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long"
    return (exc.strerror or "cannot be written").lower()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process: not ours to judge
    return True


def clean_stale_temporaries(folder: Path) -> list[Path]:
    """Remove temporaries left in ``folder`` by MedFuse processes that no longer run (killed mid-write)."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        found = _TEMP_NAME.match(entry.name)
        if not found or _alive(int(found.group(1))):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed


def temporary_name(target: Path, folder: bool = False) -> Path:
    """A hidden sibling name that keeps the target's suffixes (nibabel picks gzip from '.gz')."""
    suffix = "" if folder else "".join(target.suffixes)[-16:]
    return target.parent / f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{suffix}"


def exists(path: Path) -> bool:
    """Path.exists that reports a name too long or a forbidden path as a WriteError, not an OSError."""
    try:
        os.stat(path)
        return True
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        return False
    except OSError as exc:
        raise WriteError(path, _reason(exc)) from None
    except ValueError:
        raise WriteError(str(path).replace("\0", "\\0"), "not a valid path") from None


def check_parent(path: Path) -> Path:
    parent = path.parent if str(path.parent) else Path(".")
    if not exists(parent) or not parent.is_dir():
        raise WriteError(path, f"the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise WriteError(path, f"no permission to write in {parent}")
    return parent


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a new, empty temporary file beside ``target``; rename it over ``target`` on success, remove it else."""
    parent = check_parent(target)
    clean_stale_temporaries(parent)
    tmp = temporary_name(target)
    try:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, _FILE_MODE))
    except OSError as exc:
        raise WriteError(target, _reason(exc)) from exc
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WriteError(target, _reason(exc)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_folder(target: Path, replace: bool = False) -> Iterator[Path]:
    """Yield a new temporary sibling folder; on success it becomes ``target`` in one rename (an existing ``target``
    is replaced only when ``replace``), on failure it is removed with everything in it."""
    parent = check_parent(target)
    clean_stale_temporaries(parent)
    tmp = temporary_name(target, folder=True)
    try:
        os.mkdir(tmp, _DIR_MODE)
    except OSError as exc:
        raise WriteError(target, _reason(exc)) from exc
    old: Path | None = None
    try:
        yield tmp
        if exists(target):
            if not replace:
                raise WriteError(target, "the folder exists (use --force to replace it)")
            old = temporary_name(target, folder=True)
            os.rename(target, old)  # the old export, kept until the new one is in place
        os.rename(tmp, target)
    except OSError as exc:
        if old is not None and not exists(target):
            os.rename(old, target)
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise WriteError(target, _reason(exc)) from exc
    except BaseException:
        if old is not None and not exists(target):
            os.rename(old, target)
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
