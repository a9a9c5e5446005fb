"""palcli: map images exactly onto a fixed palette.

    from palcli import load_palette, quantize, remap
    idx = quantize(img, "nes", metric="oklab")

Importing palcli imports neither numba nor Pillow (nor numpy, until a name below is used).
"""

__version__ = "0.1.0"

from .errors import ImageError, PalcliError, PaletteError  # noqa: E402

__all__ = ["Palette", "load_palette", "quantize", "remap", "PalcliError", "PaletteError",
           "ImageError", "__version__"]

_LAZY = {"Palette": "palette", "load_palette": "palette", "quantize": "mapping",
         "remap": "mapping"}


def __getattr__(name):
    # The API is imported on first use, so that the command line starts (and answers Ctrl-C)
    # before numpy is loaded.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'palcli' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
