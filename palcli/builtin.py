"""Built-in palettes: the .gpl files shipped as the package palcli.palettes."""

from __future__ import annotations

from pathlib import Path


def directory() -> Path:
    try:
        from importlib.resources import files

        d = Path(str(files("palcli.palettes")))
        if d.is_dir():
            return d
    except (ModuleNotFoundError, TypeError):
        pass
    # Running from a source checkout without installing: palettes/ beside the package.
    return Path(__file__).resolve().parent.parent / "palettes"


def names() -> list[str]:
    return sorted(p.stem for p in directory().glob("*.gpl"))


def exists(name: str) -> bool:
    # Compared with the shipped names, not stat()ed: any string may arrive here (inline palettes
    # of 256 colours are longer than a file name may be).
    return name.lower() in names()


def path(name: str) -> Path:
    # Built-in names are lower case; '--palette NES' means the same palette.
    return directory() / f"{name.lower()}.gpl"
