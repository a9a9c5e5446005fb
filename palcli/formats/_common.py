"""Helpers shared by the palette format modules: text decoding, colour lists, atomic writes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..atomic import write_atomic
from ..errors import PaletteError

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def read_lines(path: Path) -> list[str]:
    """The file's lines without their endings (LF, CRLF or CR), decoded as UTF-8 or else Latin-1.

    Palette files from older tools are often Latin-1; every byte decodes there, so a name
    with an odd accent never makes an otherwise good palette unreadable.
    """
    data = read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise PaletteError(str(path), f"cannot read: {exc.strerror or exc}") from None


def as_colors(colors, source) -> np.ndarray:
    """(r, g, b) rows as a (K, 3) uint8 array (Palette checks the count, naming source)."""
    return np.array(colors, dtype=np.uint8).reshape(-1, 3)


_ASCII_DIGITS = re.compile(r"[0-9]{1,12}")


def parse_int(token: str) -> int | None:
    """A decimal integer of ASCII digits (at most 12 of them), else None. str.isdigit and int
    accept far more: superscripts, other scripts' digits, 4,300-digit numbers that int refuses."""
    return int(token) if _ASCII_DIGITS.fullmatch(token) else None


def parse_byte(token: str) -> int | None:
    """An integer 0..255 from a decimal token, else None."""
    value = parse_int(token)
    return value if value is not None and value <= 255 else None


def atomic_write(path: Path, data: bytes) -> None:
    """Write data to path atomically; an OSError becomes a PaletteError naming the file."""
    try:
        write_atomic(path, lambda f: f.write(data))
    except OSError as exc:
        raise PaletteError(str(path), f"cannot write: {exc.strerror or exc}") from None
