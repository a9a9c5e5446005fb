"""The cube cache on disk: where it lives, the file format, verified reads, atomic writes.

This module knows bytes on disk only; palcli.cube decides what a cube is and when to build one.
A cube file is a 4096-byte header followed by the raw (256, 256, 256) array, so a verified file
is memory-mapped at a page-aligned offset and shared by every process through the page cache.

    header = MAGIC, 4-byte little-endian JSON length, JSON, zero padding to HEADER_SIZE
    JSON   = {"format", "key", "dtype", "shape", "checksum", "palette", "metric", "colors"}

A file is used only when its magic, format, key, dtype, shape, size and payload checksum all
match and no index in it reaches the palette's size; anything else (truncated, corrupt, foreign,
older format, not a regular file) reads as missing, and the caller rebuilds and replaces it.

The cache is bounded: PALCLI_CACHE_MAX bytes (default 1 GiB, 0 for no limit). Opening a cube
marks it used (its modification time) and holds a shared lock on it for as long as it is
mapped; writing a new cube evicts the least recently used ones beyond the limit, skipping any
that another process holds.

The checksum must be cheap, since opening a cached cube should take a few milliseconds: CRC-32
of a 16 MiB payload took 5-10 ms here (32 MiB for uint16 cubes: 12-19 ms), while a numpy pass
that sums each 4 KiB page's 64-bit words with odd weights takes 1.5 ms (3 ms), and CRC-32 of those
page sums then covers the page order. Any change to one word changes its page's sum (the weights
are odd), swapped words or pages change the weighted sums or their CRC, and truncation is caught
by the size. The pass also faults the pages in, which the first lookup would otherwise pay for.
"""

from __future__ import annotations

import fcntl
import json
import mmap
import os
import re
import stat
import time
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import is_temp, remove_stale, temp_target, write_atomic

FORMAT_VERSION = 2  # bump whenever the layout or the meaning of a cube changes
MAGIC = b"PALCLI-CUBE\n"
HEADER_SIZE = 4096
SHAPE = (256, 256, 256)
SUFFIX = ".cube"
_NAME = re.compile(r"[0-9a-f]{32}\.cube")  # the names palcli gives its cube files
_PAGE_WORDS = 512  # 64-bit words in a 4 KiB page
# Odd weights (a Fibonacci-hashing multiplier): any change to a single word changes the page sum.
_WEIGHTS = np.arange(_PAGE_WORDS, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) | np.uint64(1)

DEFAULT_MAX = 1 << 30  # bytes: 64 cubes of 16 MiB
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_DIR_VARS = ("PALCLI_CACHE_DIR", "XDG_CACHE_HOME", "HOME", "LOCALAPPDATA")
_dirs: dict[tuple, Path] = {}


@dataclass(frozen=True)
class CubeInfo:
    path: Path
    palette: str | None  # None when the header cannot be read
    metric: str | None
    colors: int | None
    size: int  # bytes on disk
    ok: bool  # header readable and the size matches (and the checksum, when verified)


@dataclass(frozen=True)
class CacheInfo:
    dir: Path
    cubes: list[CubeInfo]

    @property
    def size(self) -> int:
        return sum(c.size for c in self.cubes)


def cache_dir() -> Path:
    """$PALCLI_CACHE_DIR (read now, not at import), else the platform's user cache dir."""
    # Resolving takes ~35 us, a tenth of mapping a small image: remember it for the environment
    # variables it depends on, which are read on every call.
    env = tuple(os.environ.get(v) for v in _DIR_VARS)
    d = _dirs.get(env)
    if d is None:
        if env[0]:
            d = Path(env[0]).expanduser()
        else:
            import platformdirs

            d = Path(platformdirs.user_cache_dir("palcli"))
        _dirs[env] = d
    return d


def cache_max() -> int | None:
    """$PALCLI_CACHE_MAX in bytes (read now; K, M, G suffixes allowed), None for no limit."""
    raw = os.environ.get("PALCLI_CACHE_MAX", "").strip().lower().removesuffix("ib").rstrip("b")
    if not raw:
        return DEFAULT_MAX
    m = re.fullmatch(r"([0-9]+)\s*([kmgt]?)", raw)
    if m is None:
        from .errors import PalcliWarning

        warnings.warn(f"PALCLI_CACHE_MAX={os.environ['PALCLI_CACHE_MAX']!r} is not a size; "
                      f"using {DEFAULT_MAX >> 20} MiB", PalcliWarning, stacklevel=2)
        return DEFAULT_MAX
    size = int(m.group(1)) * _UNITS[m.group(2)]
    return size or None


def cube_path(key: str, directory: Path | None = None) -> Path:
    return (cache_dir() if directory is None else directory) / f"{key}{SUFFIX}"


def file_dtype(k: int) -> np.dtype:
    """The index dtype of a cube file for k colours (files are little-endian)."""
    return np.dtype("|u1") if k <= 256 else np.dtype("<u2")


def read_cube(path: Path, key: str, k: int) -> np.ndarray | None:
    """The mapped, read-only cube at path when the file is whole and ours for key, else None."""
    dtype = file_dtype(k)
    mm = _map_regular(path)
    if mm is None:
        return None
    header = _parse_header(mm[:HEADER_SIZE])
    if (header is None or header.get("format") != FORMAT_VERSION or header.get("key") != key
            or header.get("dtype") != dtype.str or header.get("shape") != list(SHAPE)
            or len(mm) != HEADER_SIZE + int(np.prod(SHAPE)) * dtype.itemsize):
        mm.close()
        return None
    payload = memoryview(mm)[HEADER_SIZE:]
    cube = np.frombuffer(payload, dtype=dtype).reshape(SHAPE)
    # A valid checksum over indices the palette does not have is still a wrong cube.
    if _checksum(payload) != header.get("checksum") or int(cube.max()) >= k:
        del cube
        payload.release()
        mm.close()
        return None
    try:
        os.utime(path)  # used now: the least recently used cubes are evicted first
    except OSError:
        pass
    return cube  # the array keeps the mapping alive; the file may be replaced meanwhile


def write_cube(path: Path, cube: np.ndarray, *, key: str, palette: str, metric: str,
               colors: int) -> None:
    """Write cube to path atomically (temp file, then rename). OSError propagates.

    Concurrent writers each write their own temp file; the last rename wins and both files hold
    identical bytes. No fsync: a file cut short by a crash fails verification and is rebuilt.
    """
    header = _make_header(cube, key=key, palette=palette, metric=metric, colors=colors)

    def write(f):
        f.write(header)
        f.write(memoryview(np.ascontiguousarray(cube)).cast("B"))

    write_atomic(path, write, makedirs=True)
    remove_stale(path.parent)
    limit = cache_max()
    if limit is not None:
        evict(path.parent, limit, keep=path)


def evict(directory: Path, limit: int, keep: Path | None = None,
          older_than: float | None = None) -> list[Path]:
    """Remove the least recently used cubes until the directory's cubes fit in limit bytes (or,
    with older_than, every cube unused for that many seconds); never keep, and never a cube
    another process has open. Returns the files removed."""
    cubes = []
    for path in _own_files(directory):
        try:
            st = path.lstat()
        except OSError:
            continue
        if _NAME.fullmatch(path.name) and stat.S_ISREG(st.st_mode):
            cubes.append((st.st_mtime, st.st_size, path))
    cubes.sort()
    total = sum(size for _, size, _ in cubes)
    now = time.time()
    removed = []
    for mtime, size, path in cubes:
        wanted = now - mtime > older_than if older_than is not None else total > limit
        if not wanted or path == keep:
            continue
        if _remove_unused(path):
            total -= size
            removed.append(path)
    return removed


def _remove_unused(path: Path) -> bool:
    """Unlink path unless a process holds it (a shared lock while mapped)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.pread(fd, len(MAGIC), 0) != MAGIC:
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def cache_info(verify: bool = False) -> CacheInfo:
    """The cache dir and, for each cube file in it, its palette name, metric and size.

    verify: also check each payload's checksum (reads every cube whole).
    """
    d = cache_dir()
    cubes = []
    for path in _own_files(d):
        if is_temp(path.name):
            continue
        info = _describe(path, verify)
        if info is not None:
            cubes.append(info)
    return CacheInfo(d, cubes)


def clear_cache() -> tuple[int, list[tuple[Path, str]]]:
    """Delete palcli's cube files (and its stale temp files) in the cache dir.

    Returns the bytes freed and the files that could not be removed, with the reason. Only
    regular files named as palcli names them whose first bytes are palcli's magic are touched,
    so pointing PALCLI_CACHE_DIR at a shared directory is safe. Cubes already mapped by running
    processes stay valid for them.
    """
    freed, failed = 0, []
    for path in _own_files(cache_dir()):
        try:
            st = path.lstat()
            if stat.S_ISREG(st.st_mode) and _has_magic(path):
                path.unlink()
                freed += st.st_size
        except FileNotFoundError:
            pass
        except OSError as exc:
            failed.append((path, exc.strerror or str(exc)))
    return freed, failed


# -- file format ---------------------------------------------------------------------------------

def _own_files(d: Path) -> list[Path]:
    """Files in d named as palcli names cube files and their temp files, sorted."""
    try:
        names = sorted(os.listdir(d))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [d / n for n in names
            if _NAME.fullmatch(n) or (is_temp(n) and _NAME.fullmatch(temp_target(n)))]


def _map_regular(path: Path) -> mmap.mmap | None:
    # O_NONBLOCK: a FIFO planted at the path must not block the open; only regular files count.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size < HEADER_SIZE:
            return None
        # A shared lock, held by the mapping's own duplicate of fd for as long as it lives:
        # eviction skips a cube some process has mapped.
        fcntl.flock(fd, fcntl.LOCK_SH)  # an evictor holds its exclusive lock for an instant
        return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


def _has_magic(path: Path) -> bool:
    mm = _map_regular(path)
    if mm is None:
        return _is_short_temp(path)
    try:
        return mm[:len(MAGIC)] == MAGIC
    finally:
        mm.close()


def _is_short_temp(path: Path) -> bool:
    # A builder killed before its header was written leaves a temp file shorter than a header.
    try:
        st = path.lstat()
    except OSError:
        return False
    if not (stat.S_ISREG(st.st_mode) and is_temp(path.name) and st.st_size < HEADER_SIZE):
        return False
    with open(path, "rb") as f:
        head = f.read(len(MAGIC))
    return MAGIC.startswith(head)


def _describe(path: Path, verify: bool) -> CubeInfo | None:
    mm = _map_regular(path)
    if mm is None:
        try:
            size = path.lstat().st_size
        except OSError:
            return None  # vanished meanwhile
        return CubeInfo(path, None, None, None, size, False)
    try:
        header = _parse_header(mm[:HEADER_SIZE])
        if header is None:
            return CubeInfo(path, None, None, None, len(mm), False)
        ok = len(mm) == HEADER_SIZE + _payload_size(header)
        if ok and verify:
            ok = _checksum(memoryview(mm)[HEADER_SIZE:]) == header.get("checksum")
        return CubeInfo(path, str(header.get("palette")), str(header.get("metric")),
                        header.get("colors"), len(mm), ok)
    finally:
        mm.close()


def _payload_size(header: dict) -> int:
    try:
        return int(np.prod(header["shape"])) * np.dtype(header["dtype"]).itemsize
    except (KeyError, TypeError, ValueError):
        return -1


def _parse_header(raw: bytes) -> dict | None:
    if len(raw) < HEADER_SIZE or not raw.startswith(MAGIC):
        return None
    start = len(MAGIC) + 4
    n = int.from_bytes(raw[len(MAGIC):start], "little")
    if n > HEADER_SIZE - start:
        return None
    try:
        header = json.loads(bytes(raw[start:start + n]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return header if isinstance(header, dict) else None


def _checksum(payload) -> int:
    """CRC-32 of the weighted 64-bit word sums of each 4 KiB page (integer sums wrap, exactly)."""
    pages = np.frombuffer(payload, dtype="<u8").reshape(-1, _PAGE_WORDS)
    return zlib.crc32(np.einsum("ij,j->i", pages, _WEIGHTS).astype("<u8"))


def _make_header(cube: np.ndarray, *, key: str, palette: str, metric: str,
                 colors: int) -> bytes:
    fields = {"format": FORMAT_VERSION, "key": key, "dtype": cube.dtype.str,
              "shape": list(cube.shape), "checksum": _checksum(memoryview(cube).cast("B")),
              "palette": palette[:200], "metric": metric, "colors": colors}
    body = json.dumps(fields).encode("utf-8")
    return (MAGIC + len(body).to_bytes(4, "little") + body).ljust(HEADER_SIZE, b"\0")
