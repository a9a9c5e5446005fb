"""Atomic file writes: a temp file beside the target, then os.replace.

A reader never sees a half-written file, and a failure or an interrupt leaves the old file (or
no file) in place, with the temp file removed.
"""

from __future__ import annotations

import os
import tempfile


def write_atomic(path, write, *, tmp: str | None = None, makedirs: bool = False) -> None:
    """Call write(f) on a temp file in path's directory, then rename it over path.

    tmp names the temp file (the converter uses a name its parent can find and remove after a
    kill); by default a fresh one is made with the mode a plain open() would give.
    OSError propagates for the caller to word; any exception removes the temp file first.
    """
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    if makedirs:
        os.makedirs(directory, exist_ok=True)
    if tmp is None:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                                   suffix=".tmp")
        file = os.fdopen(fd, "wb")
    else:
        file = open(tmp, "wb")
    try:
        with file:
            write(file)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs may be shared
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
