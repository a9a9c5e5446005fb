"""The on-disk cube cache: where it lives, the file format, atomic writes, verified loads.

A cube file is a 4096-byte header followed by the raw (256, 256, 256) array, so a verified file
is memory-mapped at a page-aligned offset and shared by every process through the page cache.

    header = MAGIC, 4-byte little-endian JSON length, JSON, zero padding to HEADER_SIZE
    JSON   = {"format", "key", "dtype", "shape", "checksum", "palette", "metric", "colors"}

A file is used only when its magic, format, key, dtype, shape, size and payload checksum all
match; anything else (truncated, corrupt, foreign, older format) is rebuilt and replaced.

The checksum must be cheap, since opening a cached cube should take a few milliseconds: CRC-32
of a 16 MiB payload took 5-10 ms here (32 MiB for uint16 cubes: 12-19 ms), while a numpy pass
that sums each 4 KiB page's 64-bit words with odd weights takes 1.5 ms (3 ms), and CRC-32 of those
page sums then covers the page order. Any change to one word changes its page's sum (the weights
are odd), swapped words or pages change the weighted sums or their CRC, and truncation is caught
by the size. The pass also faults the pages in, which the first lookup would otherwise pay for.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import threading
import warnings
import weakref
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import write_atomic
from .errors import PalcliWarning
from .metrics import DEFAULT_METRIC, check_metric
from .palette import Palette, load_palette

FORMAT_VERSION = 2  # bump whenever the layout or the meaning of a cube changes
MAGIC = b"PALCLI-CUBE\n"
HEADER_SIZE = 4096
SHAPE = (256, 256, 256)
SUFFIX = ".cube"
_PAGE_WORDS = 512  # 64-bit words in a 4 KiB page
# Odd weights (a Fibonacci-hashing multiplier): any change to a single word changes the page sum.
_WEIGHTS = np.arange(_PAGE_WORDS, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) | np.uint64(1)

_DIR_VARS = ("PALCLI_CACHE_DIR", "XDG_CACHE_HOME", "HOME", "LOCALAPPDATA")
_dirs: dict[tuple, Path] = {}
_keys: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Palette -> {metric: key}
_memo: dict[tuple[str, str], np.ndarray] = {}
_warned: set[str] = set()
_lock = threading.Lock()


@dataclass(frozen=True)
class CubeInfo:
    path: Path
    palette: str | None  # None when the header cannot be read
    metric: str | None
    colors: int | None
    size: int  # bytes on disk
    ok: bool  # header readable and the size matches (the checksum is checked on use)


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


def _cube_dtype(k: int) -> np.dtype:
    return np.dtype("|u1") if k <= 256 else np.dtype("<u2")  # files are little-endian


def cube_key(palette, metric: str = DEFAULT_METRIC) -> str:
    """Hash of everything a cube depends on: the colours in order, the metric, the format."""
    pal = load_palette(palette)
    check_metric(metric)
    keys = _keys.setdefault(pal, {})  # a Palette's colours are read-only: hash them once
    key = keys.get(metric)
    if key is None:
        h = hashlib.sha256(f"palcli cube {FORMAT_VERSION} {metric} {len(pal)}\n".encode())
        h.update(pal.colors.tobytes())
        key = keys[metric] = h.hexdigest()[:32]
    return key


def get_cube(palette, metric: str = DEFAULT_METRIC) -> np.ndarray:
    """The read-only (256, 256, 256) cube for (palette, metric): cached file, else built.

    Memoized per process and cache dir. When the cache dir cannot be written, the cube is kept
    in memory and one PalcliWarning names the directory.
    """
    pal = load_palette(palette)
    check_metric(metric)
    key = cube_key(pal, metric)
    d = cache_dir()
    memo_key = (str(d), key)
    cube = _memo.get(memo_key)
    if cube is not None:
        return cube
    with _lock:
        cube = _memo.get(memo_key)
        if cube is None:
            path = d / f"{key}{SUFFIX}"
            cube = _open_verified(path, key, len(pal))
            if cube is None:
                cube = _build_and_store(pal, metric, key, d)
            _memo[memo_key] = cube
    return cube


def cache_info() -> CacheInfo:
    """The cache dir and, for each cube file in it, its palette name, metric and size."""
    d = cache_dir()
    cubes = []
    for path in sorted(d.glob(f"*{SUFFIX}")) if d.is_dir() else []:
        try:
            size = path.stat().st_size
            with open(path, "rb") as f:
                header = _parse_header(f.read(HEADER_SIZE))
        except OSError:
            continue  # vanished or unreadable meanwhile
        if header is None:
            cubes.append(CubeInfo(path, None, None, None, size, False))
            continue
        expected = HEADER_SIZE + _payload_size(header)
        cubes.append(CubeInfo(path, str(header.get("palette")), str(header.get("metric")),
                              header.get("colors"), size, size == expected))
    return CacheInfo(d, cubes)


def clear_cache() -> int:
    """Delete the cube files (and stale temp files) in the cache dir; return bytes freed.

    Only files palcli names are touched, so pointing PALCLI_CACHE_DIR at a shared directory is
    safe. Cubes already mapped by running processes stay valid for them.
    """
    d = cache_dir()
    freed = 0
    if d.is_dir():
        for path in list(d.glob(f"*{SUFFIX}")) + list(d.glob(f".*{SUFFIX}*.tmp")):
            try:
                size = path.stat().st_size
                path.unlink()
                freed += size
            except FileNotFoundError:
                pass
    with _lock:
        for memo_key in [k for k in _memo if k[0] == str(d)]:
            del _memo[memo_key]
    return freed


# -- file format ---------------------------------------------------------------------------------

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
        header = json.loads(raw[start:start + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return header if isinstance(header, dict) else None


def _checksum(payload) -> int:
    """CRC-32 of the weighted 64-bit word sums of each 4 KiB page (integer sums wrap, exactly)."""
    pages = np.frombuffer(payload, dtype="<u8").reshape(-1, _PAGE_WORDS)
    return zlib.crc32(np.einsum("ij,j->i", pages, _WEIGHTS).astype("<u8"))


def _make_header(key: str, cube: np.ndarray, palette: Palette, metric: str) -> bytes:
    header = {"format": FORMAT_VERSION, "key": key, "dtype": cube.dtype.str,
              "shape": list(cube.shape), "checksum": _checksum(memoryview(cube).cast("B")),
              "palette": palette.name, "metric": metric, "colors": len(palette)}
    body = json.dumps(header).encode("utf-8")
    raw = MAGIC + len(body).to_bytes(4, "little") + body
    if len(raw) > HEADER_SIZE:  # a palette name of several kilobytes: keep the cube, drop the name
        return _make_header(key, cube, Palette(palette.name[:200], palette.colors), metric)
    return raw.ljust(HEADER_SIZE, b"\0")


def _open_verified(path: Path, key: str, k: int) -> np.ndarray | None:
    """The mapped cube when the file at path is complete and ours for key, else None."""
    dtype = _cube_dtype(k)
    try:
        with open(path, "rb") as f:
            header = _parse_header(f.read(HEADER_SIZE))
            if (header is None or header.get("format") != FORMAT_VERSION
                    or header.get("key") != key or header.get("dtype") != dtype.str
                    or header.get("shape") != list(SHAPE)):
                return None
            nbytes = int(np.prod(SHAPE)) * dtype.itemsize
            if os.fstat(f.fileno()).st_size != HEADER_SIZE + nbytes:
                return None
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    payload = memoryview(mm)[HEADER_SIZE:]
    ok = _checksum(payload) == header.get("checksum")
    if not ok:
        payload.release()
        mm.close()
        return None
    # The array keeps the mapping alive; the file may be replaced or deleted meanwhile.
    return np.frombuffer(payload, dtype=dtype).reshape(SHAPE)


def _build(colors: np.ndarray, metric: str) -> np.ndarray:
    from .cube import build_cube

    return build_cube(colors, metric)


def _build_and_store(palette: Palette, metric: str, key: str, d: Path) -> np.ndarray:
    cube = np.ascontiguousarray(_build(palette.colors, metric), dtype=_cube_dtype(len(palette)))
    if cube.shape != SHAPE:
        raise RuntimeError(f"cube builder returned {cube.dtype} {cube.shape}")  # a palcli bug
    try:
        _write_atomic(d / f"{key}{SUFFIX}", _make_header(key, cube, palette, metric), cube)
    except OSError as exc:
        _warn_unwritable(d, exc)
    cube.setflags(write=False)
    return cube


def _write_atomic(path: Path, header: bytes, cube: np.ndarray) -> None:
    """Temp file in the same dir, then os.replace: readers see the old file or the whole new one.

    Concurrent builders each write their own temp file; the last rename wins and both files hold
    identical bytes. No fsync: a file cut short by a crash fails verification and is rebuilt.
    """

    def write(f):
        f.write(header)
        f.write(memoryview(cube).cast("B"))

    write_atomic(path, write, makedirs=True)


def _warn_unwritable(d: Path, exc: OSError) -> None:
    if str(d) in _warned:
        return
    _warned.add(str(d))
    reason = exc.strerror or exc.__class__.__name__
    warnings.warn(f"cannot write the cube cache in {d} ({reason}); using an in-memory cube",
                  PalcliWarning, stacklevel=4)
