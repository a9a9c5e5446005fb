"""The one atomic write: a temp file beside the target, then os.replace.

A reader never sees a half-written file, and a failure or an interrupt leaves the old file (or
no file) in place, with the temp file removed. Temp files are named

    .<target name, shortened to fit>.palcli-<pid>-<8 random characters>.tmp

so a parent can remove the ones a killed worker left (by pid), `cache clear` and later runs
can recognise palcli's own (is_temp), and nobody can predict the name to plant a symlink there:
it is created with O_CREAT | O_EXCL | O_NOFOLLOW and given its mode with fchmod.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import string

NAME_MAX = 255  # bytes in a file name on the usual file systems
_TOKEN = string.ascii_lowercase + string.digits
_TEMP = re.compile(r"\.(?P<target>.*)\.palcli-(?P<pid>\d+)-[0-9a-z]{8}\.tmp", re.DOTALL)
_umask: int | None = None


def temp_name(path, pid: int | None = None) -> str:
    """A fresh, unpredictable temp path in path's directory, at most NAME_MAX bytes long."""
    directory, base = os.path.split(os.fspath(path))
    token = "".join(secrets.choice(_TOKEN) for _ in range(8))
    tail = f".palcli-{os.getpid() if pid is None else pid}-{token}.tmp"
    room = NAME_MAX - 1 - len(tail)
    prefix = os.fsencode(base)[:room]
    return os.path.join(directory, "." + os.fsdecode(prefix) + tail)


def is_temp(name: str) -> bool:
    """Whether a file name is one of palcli's temp names."""
    return _TEMP.fullmatch(name) is not None


def temp_owner(name: str) -> int | None:
    """The pid of the process that made a temp file of this name, or None."""
    m = _TEMP.fullmatch(name)
    return int(m["pid"]) if m else None


def temp_target(name: str) -> str | None:
    """The (possibly shortened) name of the file a temp file was to become, or None."""
    m = _TEMP.fullmatch(name)
    return m["target"] if m else None


def remove_temps(directory, pid: int) -> None:
    """Remove the temp files process pid left in directory (it was killed mid-write)."""
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return
    for name in names:
        if temp_owner(name) == pid:
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


def remove_stale(directory, max_age: float = 3600.0) -> int:
    """Remove palcli temp files in directory left by processes killed outright (kill -9 of a
    whole process group): older than max_age seconds and whose process is gone. Returns how
    many were removed."""
    import time

    try:
        names = [n for n in os.listdir(directory or ".") if is_temp(n)]
    except OSError:
        return 0
    removed = 0
    now = time.time()
    for name in names:
        path = os.path.join(directory, name)
        try:
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime > max_age \
                    and not _alive(temp_owner(name)):
                os.unlink(path)
                removed += 1
        except OSError:
            pass
    return removed


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def write_atomic(path, write, *, makedirs: bool = False, follow: bool = False) -> None:
    """Call write(f) on a new temp file beside path, then rename it over path.

    follow: path is a user's output: a symlink is followed and its target replaced; an existing
    FIFO or character device is written through (never replaced by a regular file); any other
    existing non-regular file is refused with OSError. Without follow (palcli's own files) the
    path itself is replaced whatever it is.
    OSError propagates for the caller to word; any exception removes the temp file first.
    """
    path = os.fspath(path)
    if follow:
        special = _special(path)
        if special is not None:
            _write_through(path, special, write)
            return
        path = os.path.realpath(path)  # a symlink to a regular file: replace its target
    if makedirs:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = temp_name(path)
    try:  # from before the file exists: an interrupt landing right after open() removes it too
        # Read-write: multi-page TIFF writers read back what they wrote.
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0), 0o600)
        with os.fdopen(fd, "w+b") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), 0o666 & ~_current_umask())  # outputs may be shared
        os.replace(tmp, path)
    except FileExistsError:  # the name was taken (never by us): leave it alone
        raise
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _special(path: str) -> int | None:
    """The st_mode of an existing non-regular file at path (None: absent or regular)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    raise OSError(errno.EINVAL, "not a regular file, FIFO or character device", path)


def _write_through(path: str, mode: int, write) -> None:
    # A FIFO with no reader would block open() for ever: O_NONBLOCK makes that ENXIO instead.
    flags = os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | (os.O_NONBLOCK if stat.S_ISFIFO(mode) else 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OSError(errno.ENXIO, "a FIFO with no reader", path) from None
        raise
    os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as f:
        write(f)


def _current_umask() -> int:
    # Read once: os.umask can only be read by setting it, which is not thread-safe.
    global _umask
    if _umask is None:
        _umask = os.umask(0o022)
        os.umask(_umask)
    return _umask
