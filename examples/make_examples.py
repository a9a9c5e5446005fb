"""Draws the example images in this directory (procedural, no outside sources).

    python examples/make_examples.py
    palcli convert examples/ out/ --palette pico-8

gradient.png  hue across, lightness down: every palette colour gets used somewhere
shapes.png    discs and bars on a transparent background (an indexed PNG with a tRNS entry)
plasma.jpg    smooth value noise, a photo-like JPEG
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
W, H = 192, 128


def gradient() -> Image.Image:
    yy, xx = np.mgrid[0:H, 0:W]
    hue = xx / W
    light = (yy / (H - 1))[..., None]
    # A hue wheel through the RGB cube, faded to white above and to black below.
    rgb = np.clip(np.abs((hue[..., None] * 6 + [0, 4, 2]) % 6 - 3) - 1, 0, 1)
    rgb = np.where(light < 0.5, 1 - (1 - rgb) * light * 2, rgb * (1 - light) * 2)
    return Image.fromarray((rgb * 255).round().astype(np.uint8), "RGB")


def shapes() -> Image.Image:
    im = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    draw.ellipse((10, 10, 80, 80), fill=(230, 60, 70, 255))
    draw.ellipse((60, 40, 140, 120), fill=(40, 120, 220, 255))
    draw.rectangle((120, 15, 180, 60), fill=(250, 210, 40, 255))
    draw.polygon([(150, 120), (185, 70), (110, 90)], fill=(60, 190, 90, 255))
    return im


def plasma(seed: int = 8) -> Image.Image:
    rng = np.random.default_rng(seed)
    out = np.zeros((H, W, 3))
    for octave in range(1, 6):  # sum of upsampled random grids: smooth, cloud-like
        n = 2 ** octave
        grid = rng.random((n + 1, n + 1, 3))
        small = Image.fromarray((grid * 255).astype(np.uint8), "RGB")
        out += np.asarray(small.resize((W, H), Image.Resampling.BICUBIC)) / 2 ** octave
    out = (out - out.min()) / (out.max() - out.min())
    return Image.fromarray((out * 255).astype(np.uint8), "RGB")


def main() -> None:
    gradient().save(HERE / "gradient.png", optimize=True)
    shapes().save(HERE / "shapes.png", optimize=True)
    plasma().save(HERE / "plasma.jpg", quality=88)


if __name__ == "__main__":
    main()
