"""Whole-or-nothing file writes: write a temporary file beside the target, then rename.

A run killed at any moment leaves either the old file or the new one, never half of one.
Errors from the operating system (a full disk, a read-only folder) become
:class:`~invasim.errors.RunDirError` with one line naming the file and the reason.
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from invasim.errors import RunDirError


def os_error_line(exc: OSError, path: Path | str) -> str:
    """One line describing an OS error while writing ``path``."""
    if exc.errno == errno.ENOSPC:
        return f"disk full while writing {path}: free some space and resume the run"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {path}: permission denied (choose another --out)"
    return f"cannot write {path}: {exc.strerror or exc}"


def write_atomic(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Create ``path`` whole: ``write(f)`` fills a temporary file that is then renamed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise RunDirError(os_error_line(exc, path)) from None


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all."""
    write_atomic(path, lambda f: f.write(text.encode("utf-8")))


def stamped_dir(folder: str, name: str) -> Path:
    """``<folder>/<name>-<timestamp>`` in the current directory, made unique (``-2``, ``-3``...).

    The default output folder of runs, studies and cohorts.
    """
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(folder) / f"{name}-{stamp}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path
