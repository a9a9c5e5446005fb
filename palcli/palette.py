"""Palette: a name, a (K, 3) uint8 array of colours in file order, and the colours' names."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import PaletteError

MAX_COLORS = 65536  # uint16 indices


def index_dtype(k: int) -> np.dtype:
    """The dtype of palette indices for k colours: uint8 up to 256, else uint16."""
    return np.dtype(np.uint8) if k <= 256 else np.dtype(np.uint16)


@dataclass(frozen=True, eq=False)
class Palette:
    name: str
    colors: np.ndarray  # (K, 3) uint8, read-only, duplicates kept in order
    # One entry per colour: its name from the file (.gpl, JSON, ASE, Paint.NET) or None.
    # Names never change what a colour maps to: the cube depends on the colours alone.
    names: tuple[str | None, ...] | None = None

    def __post_init__(self):
        colors = np.ascontiguousarray(self.colors, dtype=np.uint8)
        if colors.ndim != 2 or colors.shape[1] != 3:
            raise PaletteError(self.name, f"colours must have shape (K, 3), got {colors.shape}")
        # The one check of a palette's size: every reader, array and inline string ends here.
        if len(colors) == 0:
            raise PaletteError(self.name, "no colours found")
        if len(colors) > MAX_COLORS:
            raise PaletteError(self.name, f"{len(colors)} colours; at most {MAX_COLORS} are allowed")
        colors = colors.copy()
        colors.setflags(write=False)
        object.__setattr__(self, "colors", colors)
        object.__setattr__(self, "names", _check_names(self.names, len(colors), self.name))

    def __len__(self) -> int:
        return len(self.colors)

    @property
    def digest(self) -> str:
        """Hash of the colours in order: what a cube built from this palette depends on."""
        return hashlib.sha256(self.colors.tobytes()).hexdigest()

    def hex(self) -> list[str]:
        return ["#%02x%02x%02x" % tuple(int(v) for v in c) for c in self.colors]

    @property
    def has_names(self) -> bool:
        return any(n is not None for n in self.names)

    def __repr__(self) -> str:
        return f"Palette(name={self.name!r}, colors=<{len(self)} colours>)"


def _check_names(names, k: int, source: str) -> tuple[str | None, ...]:
    if names is None:
        return (None,) * k
    names = tuple(names)
    if len(names) != k:
        raise PaletteError(source, f"{len(names)} colour names for {k} colours")
    bad = next((n for n in names if n is not None and not isinstance(n, str)), None)
    if bad is not None:
        raise TypeError(f"colour names must be str or None, not {type(bad).__name__}")
    return tuple(n or None for n in names)  # an empty name is no name


def load_palette(spec, name: str | None = None) -> Palette:
    """A Palette from a Palette, a (K, 3) array, a file path, a built-in name or inline hex.

    Raises PaletteError (a ValueError) naming the file or name when it cannot be read.
    """
    if isinstance(spec, Palette):
        return spec
    if isinstance(spec, np.ndarray) or isinstance(spec, (list, tuple)):
        arr = np.asarray(spec)
        if arr.ndim != 2 or arr.shape[-1] != 3:
            raise TypeError(f"palette array must have shape (K, 3), got {arr.shape}")
        if arr.dtype != np.uint8:
            if not np.issubdtype(arr.dtype, np.integer) or (arr.size and (arr.min() < 0 or arr.max() > 255)):
                raise TypeError(f"palette array must be uint8 (or integers in 0..255), got {arr.dtype}")
        return Palette(name or "array", arr.astype(np.uint8))
    if isinstance(spec, os.PathLike):
        return _load_file(Path(spec), name)
    if not isinstance(spec, str):
        raise TypeError(f"palette must be a Palette, path, name, inline hex string or (K, 3) "
                        f"array; got {type(spec).__name__}")
    return _load_named(spec, name)


def _load_named(spec: str, name: str | None) -> Palette:
    """A palette named by a string: a built-in, a file, or inline hex colours."""
    from . import builtin
    from .formats.inline import looks_inline, read_inline

    if not spec.strip():
        raise PaletteError(repr(spec), "no palette given: a file, a built-in name (see 'palcli "
                                       "palette list') or inline hex colours '#000,#fff'")
    if builtin.exists(spec):
        return _load_file(builtin.path(spec), name or spec.lower())
    path = Path(spec)
    if _is_dir(path):
        raise PaletteError(spec, "is a directory, not a palette file")
    if path.suffix and (_exists(path) or os.sep in spec or "/" in spec):
        return _load_file(path, name)
    if looks_inline(spec):
        return Palette(name or "inline", read_inline(spec))
    if _exists(path):
        return _load_file(path, name)
    hint = _close_builtin(spec, builtin.names())
    raise PaletteError(spec, "no such palette file or built-in palette"
                             + (f"; did you mean {hint!r}?" if hint
                                else " (see 'palcli palette list')"))


def _close_builtin(spec: str, names: list[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(spec.lower(), names, n=1, cutoff=0.7)
    return close[0] if close else None


def save_palette(palette, path) -> None:
    """Write a palette (anything load_palette accepts) to path, in the format its suffix names.

    The write is atomic: on any error nothing is left at path (an old file stays as it was).
    """
    from .formats import write_palette_file

    write_palette_file(load_palette(palette), Path(path))


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _exists(path: Path) -> bool:
    # A long inline palette is no file name at all: stat() then fails with ENAMETOOLONG.
    try:
        return path.exists()
    except OSError:
        return False


def _load_file(path: Path, name: str | None) -> Palette:
    from .formats import read_palette_file

    data = read_palette_file(path)
    try:
        return Palette(name or data.name or path.stem, data.colors, data.names)
    except PaletteError as exc:  # name the file, not the palette's own name
        raise PaletteError(str(path), exc.reason) from None
