"""palcli: map images exactly onto a fixed palette.

    from palcli import load_palette, quantize, remap
    idx = quantize(img, "nes", metric="oklab")

Importing palcli imports neither numba nor Pillow.
"""

__version__ = "0.1.0"

from .errors import ImageError, PalcliError, PaletteError  # noqa: E402
from .palette import Palette, load_palette  # noqa: E402
from .quantize import quantize, remap  # noqa: E402

__all__ = ["Palette", "load_palette", "quantize", "remap", "PalcliError", "PaletteError",
           "ImageError", "__version__"]
