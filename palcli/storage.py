"""Inputs and outputs named by URLs (s3://, gs://, file://, memory://...), through fsspec.

    is_url("s3://bucket/in/")               # True; "photos/" and "-" are not
    exists(p), lexists(p), isdir(p)         # os.path's answers for a local path, else fsspec's
    mtime_ns(p)                             # the same: modified time, for --skip-existing
    walk("s3://bucket/in/", output, test)   # relative names of the images under a URL, sorted
    open_input(url);  write(url, write)     # a file to decode; one put of the finished bytes

The planner asks the probes above of every path; walks, reads and writes come here only for
URLs, so local trees keep their own walk and local outputs the atomic rename.
fsspec and its backends (s3fs, gcsfs...) are optional and imported on first use: a protocol
that is unknown or whose backend is missing is one UsageError naming what to install.
"""

from __future__ import annotations

import io
import os
import posixpath
import re

from .atomic import write_atomic
from .errors import ImageError, UsageError

# Protocols whose backend palcli names as its own extra; others get fsspec's advice.
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*(::[A-Za-z][A-Za-z0-9+.-]*)*://")


def is_url(path: str) -> bool:
    """Whether path names a location by protocol ('s3://...'), not a local path."""
    return _URL.match(path) is not None


def exists(path: str) -> bool:
    """os.path.exists for a local path; for a URL, whether the filesystem has it."""
    return _exists(path) if is_url(path) else os.path.exists(path)


def lexists(path: str) -> bool:
    """os.path.lexists for a local path (a broken link exists); exists() for a URL."""
    return _exists(path) if is_url(path) else os.path.lexists(path)


def isdir(path: str) -> bool:
    """A directory, or on an object store a prefix that holds objects."""
    if not is_url(path):
        return os.path.isdir(path)
    fs, p = filesystem(path)
    return _ask(path, lambda: fs.isdir(p))


def _exists(url: str) -> bool:
    fs, p = filesystem(url)
    return _ask(url, lambda: fs.exists(p))


def walk(top: str, output: str, is_image):
    """Names relative to top of its image files (by is_image(suffix)), sorted. Names with a
    part starting with '.' are skipped, as is everything under output."""
    fs, root = filesystem(top)
    root = root.rstrip("/")
    fs.invalidate_cache(root)  # another process may have written since this one last looked
    found = _ask(top, lambda: fs.find(root))
    skip = _under(output, fs)
    for path in sorted(found):
        rel = posixpath.relpath(path, root)
        if skip is not None and (path == skip or path.startswith(skip + "/")):
            continue
        if not any(part.startswith(".") for part in rel.split("/")) and \
                is_image(posixpath.splitext(rel)[1]):
            yield rel


def mtime_ns(path: str) -> int:
    """os.stat(path).st_mtime_ns, or the filesystem's modified time of a URL; OSError when
    there is none (no such object, or a filesystem that keeps no times)."""
    if not is_url(path):
        return os.stat(path).st_mtime_ns
    fs, p = filesystem(path)
    try:
        return int(fs.modified(p).timestamp() * 1e9)
    except OSError:
        raise
    except Exception as exc:  # NotImplementedError, a backend's own error
        raise OSError(f"{path}: no modified time: {_reason(exc)}") from None


def open_input(url: str):
    """The object as a binary file, read as far as the decoder asks (a header that Pillow
    refuses costs no more); ImageError naming it when it cannot be opened."""
    fs, p = filesystem(url)
    try:
        return fs.open(p, "rb")
    except FileNotFoundError:
        raise ImageError(url, "no such file") from None
    except Exception as exc:  # backends raise their own types (botocore, aiohttp...)
        raise ImageError(url, f"cannot read: {_reason(exc)}") from None


def write(url: str, write_to) -> None:
    """write_to(f) into memory, then one put of the finished bytes: a reader sees the whole
    object or none. A file:// URL gets the local temp file and rename instead."""
    fs, p = filesystem(url)
    if _is_local(fs):
        write_atomic(p, write_to, makedirs=True, follow=True)
        return
    buf = io.BytesIO()
    write_to(buf)
    fs.pipe_file(p, buf.getvalue())


def filesystem(url: str):
    """(fsspec filesystem, path within it) for a URL. UsageError when fsspec or the protocol's
    backend is not installed, or the protocol is unknown."""
    protocols = url.split("://", 1)[0].split("::")
    try:
        import fsspec
    except ImportError:
        raise UsageError(f"{url}: URLs need fsspec: {_install_hint(protocols[-1])}") from None
    for protocol in protocols:
        try:
            fsspec.get_filesystem_class(protocol)
        except ValueError:
            raise UsageError(f"{url}: unknown protocol {protocol}://") from None
        except ImportError as exc:
            raise UsageError(f"{url}: the {protocol}:// backend is not installed: "
                             f"{_install_hint(protocol, exc)}") from None
    try:
        return fsspec.core.url_to_fs(url)
    except Exception as exc:  # malformed URL, bad options
        raise UsageError(f"{url}: {_reason(exc)}") from None


def _install_hint(protocol: str, exc: ImportError | None = None) -> str:
    extra = EXTRAS.get(protocol)
    if extra is not None:
        return f"pip install 'palcli[{extra}]'"
    return str(exc) if exc is not None else "pip install fsspec"


def _ask(url: str, question):
    """A listing or a probe; a backend's failure (no credentials, no bucket) as UsageError."""
    try:
        return question()
    except Exception as exc:
        raise UsageError(f"{url}: {_reason(exc)}") from None


def _under(output: str, fs) -> str | None:
    """output as a path in fs, when it lies there (then a walk must not enter it)."""
    if not is_url(output):
        return os.path.realpath(output) if _is_local(fs) else None
    out_fs, p = filesystem(output)
    return p.rstrip("/") if type(out_fs) is type(fs) else None


def _is_local(fs) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
